"""The local engine: a build's parts written by this process and `num_proc - 1` worker processes at once.

Every process takes the next unwritten part (largest first) from one shared counter and writes that whole
Parquet file itself, so nothing but row counts and records crosses processes, and the work scales with the
processes. This process writes parts too: the workers' start-up (a fork, or where forking is not safe a fresh
interpreter importing the package: `cookbook_hub.generation.processes`) overlaps with real work instead of
delaying it. The files are the same bytes whatever `num_proc` is.

A failed or interrupted build stops every worker at its next batch; a worker whose parent was killed exits
within a second; a worker that dies (killed, out of memory) fails the build with a WorkerError.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from cookbook_hub.dataset.parts import Part, PartJob, part_schema
from cookbook_hub.dataset.plan import ConfigPlan
from cookbook_hub.errors import ParameterError, WorkerError
from cookbook_hub.generation.processes import worker_context
from cookbook_hub.generation.sources import RowSource
from cookbook_hub.generation.writers import Progress

POLL_S = 0.2  # how often this process looks at the workers once it has no part left to write
ORPHAN_CHECK_S = 0.5  # how often a worker checks that the process that started it is still there


class BuildAbandoned(Exception):
    """Raised in a worker whose build failed or was interrupted in another process."""


@dataclass
class Sync:
    """What the processes of one build share: the next part to take, the rows written, the stop flag and
    the queue of finished parts' records. Handed to each worker when it starts (the only way to share them)."""

    parent: int
    next_part: Any
    rows: Any
    stop: Any
    records: Any


class SplitRows:
    """The plans of a build, and each split's row source and part schema, made once per split on first use.

    Pickled (for a worker process), it keeps the schemas made so far, so that a worker given them never imports
    `datasets`, and drops the sources: each process makes its own, whose first batch warms caches up."""

    def __init__(self, plans: dict[str, ConfigPlan]) -> None:
        self.plans = plans
        self.schemas: dict[tuple[str, str], pa.Schema] = {}
        self.sources: dict[tuple[str, str], RowSource] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "sources": {}}

    def source(self, part: Part) -> RowSource:
        """The row source of a part's split."""
        key = (part.config, part.split)
        if key not in self.sources:
            self.sources[key] = self.plans[part.config].source(part.split)
        return self.sources[key]

    def schema(self, part: Part) -> pa.Schema:
        """The Arrow schema of a part's split (`part_schema`)."""
        key = (part.config, part.split)
        if key not in self.schemas:
            self.schemas[key] = part_schema(self.plans[part.config], self.source(part))
        return self.schemas[key]

    def write(self, how: PartJob, part: Part, root: Path, num_proc: int, bar: Any) -> dict[str, Any]:
        """Write one part the way `how` says, from its split's source and schema; return its record."""
        return how.write(self.plans[part.config], part, root, self.source(part), self.schema(part), num_proc, bar)


@dataclass
class Shared:
    """What every process of one build sees: the splits' rows, the parts in the order they are taken, and `sync`.

    The plans go to each worker with its task, not at its start: a start whose arguments fill the pipe to
    the new process would hold this process until the worker has imported the package."""

    splits: SplitRows
    order: list[Part]
    root: str
    how: PartJob
    sync: Sync

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "sync": None}

    def take(self) -> Part | None:
        """The next part nobody has taken, or None when all are taken."""
        with self.sync.next_part.get_lock():
            i = self.sync.next_part.value
            if i >= len(self.order):
                return None
            self.sync.next_part.value = i + 1
        return self.order[i]

    def drain(self, progress: Any) -> None:
        """Write parts until none is left, putting each one's record on the shared queue."""
        while (part := self.take()) is not None:
            self.sync.records.put(self.splits.write(self.how, part, Path(self.root), 1, progress))

    def add_rows(self, n: int) -> int:
        """Count `n` more rows written; return the total so far."""
        with self.sync.rows.get_lock():
            self.sync.rows.value += n
            return self.sync.rows.value


class WorkerProgress:
    """A worker's progress report, which is also where it learns that its build is over."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def update(self, n: int) -> None:
        """Count rows; raise BuildAbandoned if the build stopped."""
        if self.shared.sync.stop.is_set():
            raise BuildAbandoned("the build was stopped")
        self.shared.add_rows(n)


class ParentProgress:
    """This process's progress report: moves the bar by everyone's rows and raises a worker's failure."""

    def __init__(self, shared: Shared, bar: Progress | None, workers: list[Future]) -> None:
        self.shared, self.bar, self.workers, self.shown = shared, bar, workers, 0

    def update(self, n: int) -> None:
        """Count this process's rows and show everyone's."""
        self.show(self.shared.add_rows(n))
        for future in self.workers:
            if future.done() and future.exception() is not None:
                future.result()

    def show(self, total: int | None = None) -> None:
        """Move the bar to `total` rows (everyone's rows so far when None)."""
        total = self.shared.sync.rows.value if total is None else total
        if self.bar is not None:
            self.bar.update(total - self.shown)
        self.shown = total


_SYNC: list[Sync] = []


def _init_worker(sync: Sync) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the command's handler: a SIGTERM
    _SYNC[:] = [sync]  # ends it as it ends a spawned one (and the build fails with a WorkerError)
    threading.Thread(target=_exit_with_parent, args=(sync.parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker soon after its parent is gone (killed): an orphan would otherwise write on, or wait
    forever for its next task. What it leaves is inside the build's partial folder, which the next run removes."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def _started() -> None:
    """A worker's first task: nothing, so that it starts (and imports what it needs) early."""


def _drain_in_worker(shared: Shared) -> None:
    shared.sync = _SYNC[0]
    shared.drain(WorkerProgress(shared))


def write_parts(
    plans: list[ConfigPlan],
    parts: list[Part],
    root: Path,
    *,
    num_proc: int = 1,
    bar: Progress | None = None,
    how: PartJob = PartJob(),
) -> dict[str, dict[str, Any]]:
    """Write `parts` under `root` in `num_proc` processes (this one included); return their records by file.

    With one process, or one part, everything is written here (a lone part with `num_proc` > 1 still gets
    that many generating workers: `cookbook_hub.generation.generate.iter_batches`).
    """
    if num_proc < 1:
        raise ParameterError(f"num_proc must be >= 1, got {num_proc}", fix="use --num-proc 1 or more")
    splits = SplitRows({plan.name: plan for plan in plans})
    if num_proc == 1 or len(parts) == 1:
        return {part.rel: splits.write(how, part, root, num_proc, bar) for part in parts}
    return _write_in_processes(splits, parts, root, min(num_proc, len(parts)), bar, how)


def _write_in_processes(
    splits: SplitRows, parts: list[Part], root: Path, procs: int, bar: Progress | None, how: PartJob
) -> dict[str, dict[str, Any]]:
    ctx = worker_context()
    sync = Sync(os.getpid(), ctx.Value("q", 0), ctx.Value("q", 0), ctx.Event(), ctx.Queue())
    pool = ProcessPoolExecutor(procs - 1, mp_context=ctx, initializer=_init_worker, initargs=(sync,))
    try:
        for _ in range(procs - 1):  # start the workers now: they import the package while this process
            pool.submit(_started)  # makes the schemas below (importing `datasets`), not after
        for part in parts:  # made here, once: the workers then never import `datasets`, much of their start-up
            splits.schema(part)
        shared = Shared(
            splits=splits,
            order=sorted(parts, key=lambda p: -len(p.positions)),  # largest first: the last to finish are small
            root=str(root),
            how=how,
            sync=sync,
        )
        workers = [pool.submit(_drain_in_worker, shared) for _ in range(procs - 1)]
        progress = ParentProgress(shared, bar, workers)
        shared.drain(progress)
        found: list[dict[str, Any]] = []
        while len(found) < len(parts):
            try:
                found.append(shared.sync.records.get(timeout=POLL_S))
            except queue.Empty:
                progress.update(0)  # raises a worker's error
        progress.show()
    except BrokenProcessPool:
        raise WorkerError(
            "a build worker process died (killed by a signal, or out of memory); nothing was written to --out",
            fix="run the build again; if memory ran out, use a smaller --num-proc",
        ) from None
    finally:
        sync.stop.set()  # after a failure or interrupt, workers stop at their next batch
        pool.shutdown(wait=True, cancel_futures=True)  # no worker outlives the call
    by_file = {record["file"]: record for record in found}
    return {part.rel: by_file[part.rel] for part in parts}
