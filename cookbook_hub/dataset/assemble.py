"""Builds in several jobs: `--shard K/N` jobs stage their parts, `--assemble` checks them and makes the folder.

A shard job writes its parts (`cookbook_hub.dataset.parts.assign`) and their records into the staging
folder `DIR.parts` beside the output `DIR`, which it does not touch. `assemble` checks that every part of
the plan is there, built from the same recipe (version and content hash), templates and token space with
the rows the plan gives it; links the parts into a new folder, writes the manifest and the card, verifies
the whole folder (`cookbook_hub.dataset.verify.verify_folder`: rows and sha256 of every file), and only then
moves it into place as `DIR` and removes `DIR.parts`. The result equals a one-machine build byte for byte.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from cookbook_hub.bounded import read_json
from cookbook_hub.dataset.builder import BuildResult, write_manifest
from cookbook_hub.dataset.local_engine import write_parts
from cookbook_hub.dataset.parts import (
    MAX_SHARD_ROWS,
    Part,
    PartJob,
    assign,
    identity,
    local_out,
    plan_parts,
)
from cookbook_hub.dataset.plan import ConfigPlan, plan_build
from cookbook_hub.dataset.verify import verify_folder
from cookbook_hub.errors import IntegrityError, ParameterError
from cookbook_hub.fs import atomic_path, check_output
from cookbook_hub.tokens.sampling import Shard

SHOWN = 4
FOREIGN = "rerun that shard job with the recipe and -n being assembled, or assemble the build it belongs to"
RERUN = "rerun the shard jobs named (cookbook-hub build RECIPE --shard K/N --out DIR), then --assemble again"


def parts_folder(out: Path) -> Path:
    """Where shard jobs stage the parts of the build whose output is `out`: `out` + `.parts`, beside it."""
    return out.with_name(out.name + ".parts")


@dataclass(frozen=True)
class ShardResult:
    """What a shard job wrote: its parts (repo paths) and rows, into the staging folder `parts`."""

    parts: Path
    files: list[str]
    rows: int


def build_shard(
    spec: str,
    out: str | Path,
    job: Shard,
    *,
    n: int | None = None,
    num_proc: int = 1,
    max_shard_rows: int = MAX_SHARD_ROWS,
    overwrite: bool = False,
    progress: bool = True,
) -> ShardResult:
    """Write the parts that shard job `job` (K of N) owns into `out`'s staging folder (rewriting its own)."""
    out = local_out(out)
    _, plans = plan_build(spec, n)
    mine = assign(plan_parts(plans, max_shard_rows), job)
    check_output(out, overwrite)
    root = parts_folder(out)
    root.mkdir(parents=True, exist_ok=True)
    rows = sum(len(p.positions) for p in mine)
    with tqdm(total=rows, unit="rows", disable=not progress, desc=f"shard {job.index}/{job.count}") as bar:
        write_parts(plans, mine, root, num_proc=num_proc, bar=bar, how=PartJob(stage=True, job=job))
    return ShardResult(root, [p.rel for p in mine], rows)


def shown(names: list[str]) -> str:
    """At most SHOWN names, then how many more."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def job_count(job: object) -> int | None:
    """N of a record's 'K/N' job, None when it has none (a Ray task) or it is unreadable."""
    try:
        return Shard.parse(job).count if isinstance(job, str) else None
    except ParameterError:
        return None


def read_records(root: Path, plans: list[ConfigPlan], parts: list[Part]) -> dict[str, dict[str, Any]]:
    """The record of every part, by file; refused when one is missing, from another recipe version or build,
    or holds other rows than the plan gives its part. Errors name the shard (and the jobs to rerun)."""
    records: dict[str, dict[str, Any]] = {}
    missing = []
    for part in parts:
        path = root / part.record
        if not path.is_file() or not (root / part.rel).is_file():
            missing.append(part)
            continue
        record = read_json(path, what="shard record", missing=f"shard record {path} is missing", fix=RERUN)
        if not isinstance(record, dict):
            raise IntegrityError(f"shard record {path} is not a JSON object", fix=RERUN)
        records[part.rel] = record
    if missing:
        counts = {job_count(r.get("job")) for r in records.values()} - {None}
        owners = ""
        if len(counts) == 1:
            count = counts.pop()
            if count <= len(parts):
                ks = [k for k in range(count) if set(assign(parts, Shard(k, count))) & set(missing)]
                owners = f" (written by --shard {', '.join(f'{k}/{count}' for k in ks)})"
        raise IntegrityError(
            f"{len(missing)} of {len(parts)} shards missing from {root}: {shown([p.rel for p in missing])}{owners}",
            fix=RERUN,
        )
    check_records(records, plans, parts, str(root))
    return records


def check_records(records: dict[str, dict[str, Any]], plans: list[ConfigPlan], parts: list[Part], root: str) -> None:
    """Refuse a part's record (by file) from another recipe version or build, or with other rows than the plan
    gives its part; `root` names where the parts were staged."""
    for plan in plans:
        wanted = identity(plan)
        for part in (p for p in parts if p.config == plan.name):
            record = records[part.rel]
            got = record.get("identity") or {}
            where = f"shard {part.rel} in {root}" + (f" (from --shard {record['job']})" if record.get("job") else "")
            if got != wanted:
                raise IntegrityError(f"{where} was built from {built_from(got, wanted)}", fix=FOREIGN)
            if record.get("num_examples") != len(part.positions):
                raise IntegrityError(
                    f"{where} has {record.get('num_examples')} rows, this build plans {len(part.positions)} for it",
                    fix="assemble with the -n and --shard-rows the shard jobs used, or rerun them",
                )


def built_from(got: dict[str, Any], wanted: dict[str, Any]) -> str:
    """How the build a shard came from differs from the one being assembled, in words."""
    name = f"recipe {got.get('recipe')} {got.get('recipe_version')}"
    if (got.get("recipe"), got.get("recipe_version")) != (wanted["recipe"], wanted["recipe_version"]):
        return f"{name}, not {wanted['recipe']} {wanted['recipe_version']}"
    if got.get("content_hash") != wanted["content_hash"]:
        return f"{name} with another -n or other recipe contents (content hash {str(got.get('content_hash'))[:12]})"
    return f"{name} with other template versions, token space or cookbook-hub version than this assembly"


def link(src: Path, dst: Path) -> None:
    """Hard-link `src` as `dst` (a copy where the filesystem has no hard links)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def assemble(
    spec: str,
    out: str | Path,
    *,
    n: int | None = None,
    max_shard_rows: int = MAX_SHARD_ROWS,
    overwrite: bool = False,
    finish: Callable[[Path], object] | None = None,
    root: Path | None = None,
    planned: tuple[str, list[ConfigPlan]] | None = None,
) -> BuildResult:
    """Check the staged parts of a build (in `root`, default `parts_folder(out)`), then write the folder `out`:
    parts, manifest, and what `finish` adds (the card), verified as a whole before it is moved into place.
    `planned` is `plan_build(spec, n)` when the caller has it already."""
    out = local_out(out)
    kind, plans = planned or plan_build(spec, n)
    parts = plan_parts(plans, max_shard_rows)
    check_output(out, overwrite)
    root = root or parts_folder(out)
    records = read_records(root, plans, parts)
    with atomic_path(out, overwrite) as tmp:
        tmp.mkdir()
        for part in parts:
            link(root / part.rel, tmp / part.rel)
        manifest = write_manifest(tmp, kind, plans, parts, records)
        if finish is not None:
            finish(tmp)
        verify_folder(tmp, fix=f"rerun the shard job that wrote that file into {root}, then --assemble again")
    shutil.rmtree(root, ignore_errors=True)
    return BuildResult.of(out, manifest)
