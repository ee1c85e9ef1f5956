"""The units of work of a build: one Parquet file ("part") per piece of a split, and which job writes which.

A build's layout depends only on its plan and `max_shard_rows`: each split of each config is cut into
`ceil(rows / max_shard_rows)` contiguous pieces, each written as `<config>/<split>-KKKKK-of-NNNNN.parquet`.
Every engine writes the same parts with `write_part`, so the local engine, `--shard K/N` jobs and Ray tasks
produce the same bytes. Jobs that run apart (`--shard`, Ray) also leave a record beside each part
(`stage_part`): its rows, sizes, sha256 and the recipe it was built from, which `--assemble` checks.
On one machine, `cookbook_hub.dataset.local_engine.write_parts` writes several parts at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cookbook_hub import __version__
from cookbook_hub.dataset.plan import ConfigPlan
from cookbook_hub.errors import ParameterError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import atomic_path, file_sha256, write_json
from cookbook_hub.generation.generate import iter_batches
from cookbook_hub.generation.sources import RowSource
from cookbook_hub.generation.writers import Progress, text_bytes, with_provenance
from cookbook_hub.tokens.sampling import Shard

MAX_SHARD_ROWS = 500_000
RECORD_SUFFIX = ".json"
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")


@dataclass(frozen=True)
class Part:
    """One Parquet file of a build: piece `index` of `count` of a config's split, holding `positions` of it."""

    config: str
    split: str
    index: int
    count: int
    positions: range

    @property
    def rel(self) -> str:
        """Its path inside the dataset folder."""
        return DatasetFolder.shard(self.config, self.split, self.index, self.count)

    @property
    def record(self) -> str:
        """The path of its record inside a folder of staged parts."""
        return self.rel.removesuffix(".parquet") + RECORD_SUFFIX


def local_out(out: str | Path) -> Path:
    """The output folder as a local path; a URL (`s3://`, `gs://`, ...) is refused: only the Ray engine writes to one
    (`cookbook_hub.dataset.url_output`), the others write to a local or mounted shared filesystem."""
    if URL.match(str(out)):
        raise ParameterError(
            f"--out {str(out)!r} is a URL; only --engine ray writes to one (a local, --shard or --assemble build "
            "writes to a local or shared, mounted filesystem)",
            fix="add --engine ray, or write to a folder every job sees (NFS, Lustre, a mounted bucket)",
        )
    return Path(out)


def plan_parts(plans: list[ConfigPlan], max_shard_rows: int = MAX_SHARD_ROWS) -> list[Part]:
    """Every part of a build, config by config, split by split, in file order."""
    if max_shard_rows < 1:
        raise ParameterError(f"--shard-rows must be >= 1, got {max_shard_rows}", fix="use a positive row count")
    parts = []
    for plan in plans:
        for split, rows in plan.split_rows.items():
            if rows:
                count = math.ceil(rows / max_shard_rows)
                parts += [Part(plan.name, split, k, count, Shard(k, count).range(rows)) for k in range(count)]
    return parts


def assign(parts: list[Part], job: Shard) -> list[Part]:
    """The parts job `job` (K of N) writes: largest first, each to the least-loaded job (ties to the lower K).

    Every job computes the same assignment, so N jobs together write each part exactly once.
    """
    if job.count > len(parts):
        raise ParameterError(
            f"--shard {job.index}/{job.count}: this build has {len(parts)} Parquet files, so at most {len(parts)} "
            "shard jobs",
            fix=f"use N <= {len(parts)}, or cut the splits into more files with a smaller --shard-rows",
        )
    loads = [0] * job.count
    mine = set()
    for i in sorted(range(len(parts)), key=lambda i: (-len(parts[i].positions), i)):
        k = min(range(job.count), key=lambda k: (loads[k], k))
        loads[k] += len(parts[i].positions)
        if k == job.index:
            mine.add(i)
    return [part for i, part in enumerate(parts) if i in mine]


def identity(plan: ConfigPlan) -> dict[str, Any]:
    """What a part was built from: generator, recipe (name, version, content hash), templates and token space."""
    recipe = plan.recipe
    return {
        "generator": __version__,
        "recipe": recipe.name,
        "recipe_version": recipe.version,
        "content_hash": recipe.content_hash,
        "templates": [[t.name, t.version] for t in plan.templates],
        "token_space": plan.templates[0].token_space.identity.sha256,
    }


def part_schema(plan: ConfigPlan, source: RowSource) -> pa.Schema:
    """The Arrow schema of a split's parts: the rows' columns with datasets' features and our provenance."""
    meta = {"generator": f"cookbook-hub {__version__}", "config": plan.name, **source.provenance()}
    return with_provenance(source.schema, meta)


def write_part(
    plan: ConfigPlan,
    part: Part,
    root: Path,
    *,
    source: RowSource | None = None,
    schema: pa.Schema | None = None,
    num_proc: int = 1,
    bar: Progress | None = None,
) -> dict[str, Any]:
    """Write one part under `root` (atomically); return its record: file, rows, sizes and sha256.

    `source` and `schema` (the split's rows and `part_schema`) are made here when not given."""
    source = source or plan.source(part.split)
    schema = schema or part_schema(plan, source)
    record: dict[str, Any] = {"file": part.rel, "num_examples": 0, "num_bytes": 0, "text_bytes": 0}
    path = root / part.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in iter_batches(source, part.positions, num_proc):
            writer.write_batch(batch)
            record["num_examples"] += batch.num_rows
            # the Arrow IPC size, not .nbytes: .nbytes counts validity bitmaps that a batch made in a worker
            # process no longer has, so it would depend on --num-proc
            record["num_bytes"] += pa.ipc.get_record_batch_size(batch)
            record["text_bytes"] += text_bytes(batch)
            if bar is not None:
                bar.update(batch.num_rows)
    record["sha256"] = file_sha256(path)
    return record


def stage_part(
    plan: ConfigPlan,
    part: Part,
    root: Path,
    *,
    job: Shard | None = None,
    num_proc: int = 1,
    bar: Progress | None = None,
    source: RowSource | None = None,
    schema: pa.Schema | None = None,
) -> dict[str, Any]:
    """Write one part and its record (what it was built from, and by which job) into a folder of staged parts.

    The old record goes first and the new one last, so a record always describes the file beside it or is absent.
    """
    (root / part.record).unlink(missing_ok=True)
    record = write_part(plan, part, root, source=source, schema=schema, num_proc=num_proc, bar=bar)
    record |= {"identity": identity(plan), "job": None if job is None else f"{job.index}/{job.count}"}
    with atomic_path(root / part.record, overwrite=True) as tmp:
        write_json(tmp, record)
    return record


@dataclass(frozen=True)
class PartJob:
    """How to write the parts of one call of `write_parts`: plainly (`write_part`) or staged with a record
    (`stage_part`, for shard jobs), and by which shard job."""

    stage: bool = False
    job: Shard | None = None

    def write(
        self,
        plan: ConfigPlan,
        part: Part,
        root: Path,
        source: RowSource,
        schema: pa.Schema,
        num_proc: int,
        bar: Progress | None,
    ) -> dict[str, Any]:
        """Write one part the way this job writes them; return its record."""
        common: dict[str, Any] = {"source": source, "schema": schema, "num_proc": num_proc, "bar": bar}
        if self.stage:
            return stage_part(plan, part, root, job=self.job, **common)
        return write_part(plan, part, root, **common)
