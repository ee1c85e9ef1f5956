"""The local engine: parts written by several processes at once, each its own file, with the same bytes as one
process, a progress bar that counts every process's rows, and failures that stop every worker."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from tqdm.auto import tqdm

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.assemble import assemble, build_shard
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.local_engine import write_parts
from cookbook_hub.dataset.parts import plan_parts
from cookbook_hub.dataset.plan import plan_build
from cookbook_hub.errors import OutputPathError, WorkerError
from cookbook_hub.tokens.sampling import Shard

RECIPE = "gpt4all@0.1.0"
N = 5000  # train 4800 / validation 100 / test 100
SHARD_ROWS = 1300  # train in 4 parts of 1200 rows, so 6 parts of two sizes in all


def files(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_workers_left() -> bool:
    """Whether every worker process this test process started has exited (after a short grace)."""
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


@pytest.mark.parametrize(("num_proc", "start"), [(2, "fork"), (3, "fork"), (2, "spawn")])
def test_several_processes_write_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, num_proc: int, start: str
) -> None:
    started = []

    def context() -> multiprocessing.context.BaseContext:
        started.append(start)
        return multiprocessing.get_context(start)

    monkeypatch.setattr("cookbook_hub.dataset.local_engine.worker_context", context)
    common = dict(n=N, max_shard_rows=SHARD_ROWS, progress=False, finish=write_dataset_card)
    build(RECIPE, tmp_path / "one", num_proc=1, **common)
    build(RECIPE, tmp_path / "many", num_proc=num_proc, **common)
    one = files(tmp_path / "one")
    assert sum(name.endswith(".parquet") for name in one) == 6
    assert files(tmp_path / "many") == one
    assert started == [start]
    assert no_workers_left()


def test_shard_jobs_with_several_processes_assemble_to_the_same_folder(tmp_path: Path) -> None:
    common = dict(n=N, max_shard_rows=SHARD_ROWS, progress=False)
    build(RECIPE, tmp_path / "local", num_proc=1, finish=write_dataset_card, **common)
    out = tmp_path / "sharded"
    for k in range(2):
        staged = build_shard(RECIPE, out, Shard(k, 2), num_proc=2, **common)
        assert len(staged.files) == 3
    assemble(RECIPE, out, n=N, max_shard_rows=SHARD_ROWS, finish=write_dataset_card)
    assert files(out) == files(tmp_path / "local")


def test_the_bar_counts_the_rows_of_every_process(tmp_path: Path) -> None:
    _, plans = plan_build(RECIPE, N)
    parts = plan_parts(plans, SHARD_ROWS)
    (tmp_path / "root").mkdir()
    with tqdm(total=N, file=io.StringIO()) as bar:
        records = write_parts(plans, parts, tmp_path / "root", num_proc=2, bar=bar)
        assert bar.n == N
    assert list(records) == [p.rel for p in parts]  # in file order, whoever wrote them
    assert sum(r["num_examples"] for r in records.values()) == N


def test_a_failing_part_fails_the_build_and_stops_every_worker(tmp_path: Path) -> None:
    _, plans = plan_build(RECIPE, N)
    parts = plan_parts(plans, SHARD_ROWS)
    root = tmp_path / "root"
    root.mkdir()
    (root / "gpt4all").write_text("a file where the config's folder goes")
    with pytest.raises((OutputPathError, OSError)):
        write_parts(plans, parts, root, num_proc=2)
    assert no_workers_left()


def test_a_killed_worker_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "big"
    killed: list[int] = []

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for child in multiprocessing.active_children():
                time.sleep(0.5)  # let it start writing
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)
                break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    try:
        with pytest.raises(WorkerError, match="worker process died") as err:
            build(RECIPE, out, n=400_000, num_proc=2, max_shard_rows=100_000, progress=False)
    finally:
        killer.join()
    assert killed
    assert "--num-proc" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert no_workers_left()
