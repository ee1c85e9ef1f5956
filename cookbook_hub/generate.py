"""Generating a template's rows: ordered Arrow batches (in one or several processes) and atomic writers.

`generate(...)` writes `.parquet`, `.jsonl`, or a `save_to_disk` folder. The output appears only
when complete: rows go to a temporary path beside it, which is renamed into place at the end (and
removed on any error or interrupt).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from cookbook_hub.errors import OutputExistsError, ParameterError
from cookbook_hub.sampling import BLOCK_SIZE, Shard, split_range
from cookbook_hub.sources import RowSource, TemplateSource
from cookbook_hub.templates.base import Template

CHUNK_ROWS = 16 * BLOCK_SIZE
OUTPUT_KINDS = (".parquet", ".jsonl")


@dataclass(frozen=True)
class GenerationResult:
    """What a `generate` call wrote."""

    path: Path
    rows: int
    text_bytes: int
    seconds: float


def chunks(indices: range, size: int = CHUNK_ROWS) -> list[range]:
    """Split an index range into pieces whose inner boundaries are multiples of `size`."""
    out, start = [], indices.start
    while start < indices.stop:
        stop = min(indices.stop, (start // size + 1) * size)
        out.append(range(start, stop))
        start = stop
    return out


def batch_for(template: Template, indices: range, seed: int, style: str) -> pa.RecordBatch:
    """Samples `indices` of a template (train split) as one Arrow batch."""
    return TemplateSource(template, seed, style).batch(indices)


_WORKER: dict[str, RowSource] = {}


def _init_worker(source: RowSource) -> None:
    _WORKER["source"] = source


def _worker_batch(positions: range) -> pa.RecordBatch:
    return _WORKER["source"].batch(positions)


def iter_batches(source: RowSource, positions: range, num_proc: int = 1) -> Iterator[pa.RecordBatch]:
    """A source's rows at `positions` as ordered Arrow batches, generated in `num_proc` processes."""
    if num_proc < 1:
        raise ParameterError(f"num_proc must be >= 1, got {num_proc}", fix="use --num-proc 1 or more")
    pieces = chunks(positions)
    if num_proc == 1 or len(pieces) <= 1:
        for piece in pieces:
            yield source.batch(piece)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(num_proc, len(pieces)), initializer=_init_worker, initargs=(source,)) as pool:
        yield from pool.imap(_worker_batch, pieces)


def with_provenance(schema: pa.Schema, meta: dict[str, Any]) -> pa.Schema:
    """The schema carrying datasets' features metadata and ours (`cookbook_hub` key, JSON)."""
    schema = datasets.Features.from_arrow_schema(schema).arrow_schema
    return schema.with_metadata({**(schema.metadata or {}), b"cookbook_hub": json.dumps(meta).encode()})


def text_bytes(batch: pa.RecordBatch) -> int:
    """UTF-8 bytes of formatted text in a batch (prompt + completion, or message contents)."""
    if "messages" in batch.schema.names:
        contents = pc.list_flatten(batch.column("messages")).field("content")
        return int(pc.sum(pc.binary_length(contents)).as_py() or 0)
    return sum(int(pc.sum(pc.binary_length(batch.column(c))).as_py() or 0) for c in ("prompt", "completion"))


def output_kind(out: Path) -> str:
    """'.parquet', '.jsonl', or 'dir' (a save_to_disk folder) for an output path."""
    if out.suffix in OUTPUT_KINDS:
        return out.suffix
    if out.suffix:
        raise ParameterError(
            f"unsupported output {str(out)!r}",
            fix="end --out with .parquet or .jsonl, or give a folder name without a suffix",
        )
    return "dir"


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an existing output unless overwriting."""
    if out.exists() and not overwrite:
        raise OutputExistsError(f"output {str(out)!r} already exists", fix="pass --overwrite or choose another path")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_runs(out: Path, kind: str) -> list[Path]:
    """`.NAME.KIND-PID` siblings of `out` whose process is gone."""
    found = []
    for path in out.parent.glob(f".{out.name}.{kind}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            found.append(path)
    return found


def recover_from_dead_runs(out: Path) -> None:
    """Clean up after runs that were killed (their PID is gone): delete their `.NAME.partial-PID` siblings, and
    put back a previous output they had moved aside (`.NAME.replaced-PID`) but not yet replaced."""
    for stale in _dead_runs(out, "partial"):
        _remove(stale)
    for moved in _dead_runs(out, "replaced"):
        if out.exists() or out.is_symlink():
            _remove(moved)
        else:
            moved.rename(out)


@contextmanager
def atomic_path(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling of `out`; on success move it into place, on failure delete it.

    The previous `out`, if any, stays intact until the new one is complete, and is put back if the swap
    itself is interrupted. A run killed with SIGKILL leaves only hidden siblings (`.NAME.partial-PID`,
    and during the swap `.NAME.replaced-PID`), which the next run removes or puts back.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_from_dead_runs(out)
    check_output(out, overwrite)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.replaced-{os.getpid()}")
            out.rename(old)
            try:
                tmp.rename(out)
            except BaseException:
                old.rename(out)
                raise
            _remove(old)
        else:
            tmp.rename(out)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_parquet(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, bar: tqdm) -> tuple[int, int]:
    """Stream batches into one Parquet file; returns (rows, text bytes)."""
    rows = nbytes = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows, nbytes = rows + batch.num_rows, nbytes + text_bytes(batch)
            bar.update(batch.num_rows)
    return rows, nbytes


def write_jsonl(batches: Iterator[pa.RecordBatch], path: Path, bar: tqdm) -> tuple[int, int]:
    """Stream batches into a JSON Lines file; returns (rows, text bytes)."""
    rows = nbytes = 0
    with path.open("w", encoding="utf-8") as fh:
        for batch in batches:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in batch.to_pylist())
            rows, nbytes = rows + batch.num_rows, nbytes + text_bytes(batch)
            bar.update(batch.num_rows)
    return rows, nbytes


def write_dataset_dir(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, bar: tqdm) -> tuple[int, int]:
    """Write a `save_to_disk` folder (through a Parquet file in a scratch folder)."""
    scratch = path.with_name(path.name + ".scratch")
    scratch.mkdir()
    try:
        rows, nbytes = write_parquet(batches, schema, scratch / "rows.parquet", bar)
        feats = datasets.Features.from_arrow_schema(schema)
        ds = datasets.Dataset.from_parquet(
            str(scratch / "rows.parquet"), features=feats, cache_dir=str(scratch / "cache")
        )
        ds.info.description = schema.metadata[b"cookbook_hub"].decode()
        ds.save_to_disk(str(path))
        del ds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows, nbytes


def generate(
    template: Template,
    n: int,
    out: str | Path,
    *,
    seed: int = 0,
    style: str = "plain",
    num_proc: int = 1,
    shard: Shard = Shard(),
    split: str = "train",
    overwrite: bool = False,
    progress: bool = True,
) -> GenerationResult:
    """Generate shard `shard` of `n` rows of `template` and write them atomically to `out`.

    `out` ends in `.parquet` or `.jsonl`, or names a folder for `Dataset.save_to_disk`.
    """
    out = Path(out)
    kind = output_kind(out)
    if n < 1:
        raise ParameterError(f"-n must be >= 1, got {n}", fix="ask for at least one row")
    check_output(out, overwrite)
    positions = shard.range(n)
    split_range(split, n)  # validates the split name and size
    source = TemplateSource(template, seed, style, split)
    meta = {
        "generator": "cookbook-hub",
        **source.provenance(),
        "shard": f"{shard.index}/{shard.count}",
        "rows": len(positions),
    }
    schema = with_provenance(source.schema, meta)
    start = time.perf_counter()
    batches = iter_batches(source, positions, num_proc)
    with (
        tqdm(total=len(positions), unit="rows", disable=not progress, desc=template.name) as bar,
        atomic_path(out, overwrite) as tmp,
    ):
        if kind == ".parquet":
            rows, nbytes = write_parquet(batches, schema, tmp, bar)
        elif kind == ".jsonl":
            rows, nbytes = write_jsonl(batches, tmp, bar)
        else:
            rows, nbytes = write_dataset_dir(batches, schema, tmp, bar)
    return GenerationResult(out, rows, nbytes, time.perf_counter() - start)
