"""The Ray engine: every part of a build (one Parquet file of one split) is a Ray task.

The driver plans the build, puts each config's plan in Ray's object store once, and runs one task per part;
each task writes its part and record into a staging folder beside the output (on a filesystem every node
sees, for a cluster of several machines). When all have finished, the driver assembles the folder with the
same step as `--assemble` (`cookbook_hub.dataset.assemble.assemble`): the result equals a local build byte
for byte. The output can also be an fsspec URL (`s3://bucket/prefix/NAME`): the nodes then share no
filesystem, and `cookbook_hub.dataset.url_output` stages, checks and places the files through the store.
Ray is optional: `pip install "cookbook-hub[ray]"`.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm.auto import tqdm

from cookbook_hub.dataset.assemble import assemble, check_records
from cookbook_hub.dataset.builder import BuildResult, write_manifest
from cookbook_hub.dataset.parts import MAX_SHARD_ROWS, Part, plan_parts, stage_part
from cookbook_hub.dataset.plan import ConfigPlan, plan_build
from cookbook_hub.dataset.url_output import (
    UrlFolder,
    check_url_output,
    leftover_staging,
    place,
    remove,
    stage_at_url,
    url_folder,
)
from cookbook_hub.errors import ClusterError, CookbookError, CookbookWarning, ParameterError
from cookbook_hub.fs import check_output, remote_error

CONNECT_TIMEOUT_S = 5.0
RAY_FIX = "start a cluster with `ray start --head` (then use --ray-address auto on its nodes), or check HOST:PORT"


def import_ray() -> ModuleType:
    """The `ray` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ParameterError(
            "--engine ray needs Ray, which is not installed", fix="pip install 'cookbook-hub[ray]'"
        ) from None
    return ray


def probe(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a HOST:PORT address where nothing accepts connections (Ray itself would retry for minutes);
    'auto', 'local' and `ray://` client addresses are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or address.startswith("ray://"):
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(
            f"cannot reach a Ray cluster at --ray-address {address!r}: {exc.strerror or exc}", fix=RAY_FIX
        ) from None


@contextmanager
def ray_session(ray: ModuleType, address: str | None, workers: int | None) -> Iterator[None]:
    """Connect to the Ray cluster at `address` (or start a local one with `workers` CPUs) for the duration;
    a session the caller already opened is used as it is. An unreachable address is a ClusterError naming it."""
    if ray.is_initialized():
        yield
        return
    if address is not None:
        probe(address)
    try:
        ray.init(
            address=address,
            num_cpus=workers if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"--ray-address {address!r}" if address else "a local Ray instance"
        raise ClusterError(f"cannot connect to {where}: {remote_error(exc)}", fix=RAY_FIX) from None
    try:
        yield
    finally:
        ray.shutdown()


def _write(plan: ConfigPlan, part: Part, root: str | UrlFolder) -> dict[str, Any]:
    """The body of one Ray task: stage one part (one process, no inner pool) in a folder or at a URL."""
    if isinstance(root, UrlFolder):
        return stage_at_url(plan, part, root)
    return stage_part(plan, part, Path(root))


def run_tasks(
    ray: ModuleType, plans: list[ConfigPlan], parts: list[Part], root: Path | UrlFolder, bar: tqdm
) -> dict[str, dict[str, Any]]:
    """Run one task per part and wait for all; return their records by file. A failed task's error is raised
    here (ours as it is)."""
    refs = {plan.name: ray.put(plan) for plan in plans}
    task = ray.remote(num_cpus=1, max_retries=1)(_write)
    where = root if isinstance(root, UrlFolder) else str(root)
    pending = {task.remote(refs[part.config], part, where): part for part in parts}
    records = {}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        part = pending.pop(done[0])
        try:
            records[part.rel] = ray.get(done[0])
        except ray.exceptions.RayError as exc:  # a task's own error, or a lost worker or node
            for ref in pending:
                ray.cancel(ref)
            cause = getattr(exc, "cause", None)
            if isinstance(cause, CookbookError):
                raise cause from None
            raise ClusterError(
                f"the Ray task writing {part.rel} failed: {remote_error(cause or exc)}",
                fix="see the Ray logs of that task (or run the build again: finished parts are written anew)",
            ) from None
        bar.update(len(part.positions))
    return records


def rows_bar(parts: list[Part], progress: bool) -> tqdm:
    """The build's progress bar over the rows of all its parts (made once the output is checked, so that a
    refused output prints no bar)."""
    return tqdm(total=sum(len(p.positions) for p in parts), unit="rows", disable=not progress, desc="build")


def build_ray(
    spec: str,
    out: str | Path,
    *,
    address: str | None = None,
    workers: int | None = None,
    n: int | None = None,
    max_shard_rows: int = MAX_SHARD_ROWS,
    overwrite: bool = False,
    progress: bool = True,
    finish: Callable[..., object] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> BuildResult:
    """Build like `cookbook_hub.dataset.builder.build`, one Ray task per part, on the cluster at `address` (a
    local Ray instance with `workers` CPUs when None); the same folder, byte for byte. `out` may be an fsspec URL
    (`s3://bucket/prefix/NAME`, reached with `storage_options`); `finish(folder, data=...)` is then given the
    local folder of the manifest and the URL where the staged Parquet files are."""
    ray = import_ray()
    target = url_folder(out, storage_options)
    planned = plan_build(spec, n)
    parts = plan_parts(planned[1], max_shard_rows)
    if target is not None:
        return build_at_url(ray, target, planned, parts, progress, address, workers, overwrite, finish)
    out = Path(out)
    check_output(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    root = out.with_name(f".{out.name}.partial-{os.getpid()}.ray")  # a killed run's is removed by the next
    try:
        with ray_session(ray, address, workers), rows_bar(parts, progress) as bar:
            run_tasks(ray, planned[1], parts, root, bar)
        return assemble(
            spec, out, max_shard_rows=max_shard_rows, overwrite=overwrite, finish=finish, root=root, planned=planned
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_at_url(
    ray: ModuleType,
    out: UrlFolder,
    planned: tuple[str, list[ConfigPlan]],
    parts: list[Part],
    progress: bool,
    address: str | None,
    workers: int | None,
    overwrite: bool,
    finish: Callable[..., object] | None,
) -> BuildResult:
    """`build_ray` to a URL: tasks upload their parts into a staging folder beside `out`; the driver checks their
    records, writes the manifest and card locally, and places everything at `out` (`url_output.place`)."""
    kind, plans = planned
    check_url_output(out, overwrite)
    for left in leftover_staging(out):  # not removed: the build that wrote it may still run elsewhere
        warnings.warn(
            f"{left} holds the staged files of an earlier build of {out.url} that did not end; delete it once no "
            "other build of that output runs",
            CookbookWarning,
            stacklevel=2,
        )
    staging = out.staging()
    try:
        with ray_session(ray, address, workers), rows_bar(parts, progress) as bar:
            records = run_tasks(ray, plans, parts, staging, bar)
        check_records(records, plans, parts, staging.url)
        with tempfile.TemporaryDirectory(prefix="cookbook-build-") as tmp:
            meta = Path(tmp)
            manifest = write_manifest(meta, kind, plans, parts, records)
            if finish is not None:
                finish(meta, data=staging)
            place(out, staging, meta, parts, records, overwrite)
        return BuildResult.of(out.url, manifest)
    finally:
        remove(staging)
