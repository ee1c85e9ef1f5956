"""Outputs of `build`, `generate`, `publish` and `pull` under races, kills and a full disk, with real processes,
real SIGKILLs and a real filesystem that runs out of space.

After each: the previous output is intact (or the new one complete), nothing is left beside it, and the next run
succeeds with no manual repair. The kills at random moments run KILLS times per command (HYPOTHESIS_PROFILE=long:
LONG_KILLS); with CRASH_STATS=PATH their outcomes are written there as JSON."""

from __future__ import annotations

import collections
import hashlib
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from crash_tools import (
    KILLS,
    Disk,
    MiB,
    cli,
    finish,
    hidden_siblings,
    kill_after,
    kill_when,
    save_counts,
    small_disk,
    start_cli,
    took,
)

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.builder import build
from cookbook_hub.generation.generate import generate
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.pull import pull
from cookbook_hub.templates import get_template

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.bin
---
# A test dataset
"""


KILL_OUTCOMES: collections.Counter = collections.Counter()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    yield from small_disk(tmp_path)


@pytest.fixture(scope="module", autouse=True)
def record_kill_outcomes() -> Iterator[None]:
    yield
    save_counts(KILL_OUTCOMES, "CRASH_STATS")


def digests(out: Path) -> dict[str, str]:
    """sha256 of a file, or of every file under a folder, by relative path."""
    found = [out] if out.is_file() else sorted(p for p in out.rglob("*") if p.is_file())
    return {str(p.relative_to(out.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in found}


def rows_of(out: Path) -> int:
    """Rows in an output of `generate` (a file or a save_to_disk folder), or train rows of a `build` folder."""
    if out.suffix == ".parquet":
        return pq.read_metadata(out).num_rows
    if out.suffix == ".jsonl":
        return len(out.read_text(encoding="utf-8").splitlines())
    if (out / "state.json").is_file():
        return datasets.load_from_disk(str(out)).num_rows
    return sum(pq.read_metadata(p).num_rows for p in out.rglob("train-*.parquet"))


def command(out: Path, n: int, *flags: str) -> list[str]:
    """`build` of the gpt4all recipe at n rows when `out` has the name `ds`, else `generate` of n copy rows."""
    if out.name == "ds":
        return ["build", "gpt4all@0.1.0", "-n", str(n), "--out", str(out), "-q", *flags]
    return ["generate", "copy", "-n", str(n), "--out", str(out), "-q", *flags]


def write(out: Path, n: int, overwrite: bool = False) -> None:
    """What `command` runs, in this process."""
    if out.name == "ds":
        build("gpt4all@0.1.0", out, n=n, overwrite=overwrite, progress=False, finish=write_dataset_card)
    else:
        generate(get_template("copy"), n, out, overwrite=overwrite, progress=False)


# ------------------------------------------------------------------ two runs to one new output


@pytest.mark.parametrize("name", ["ds", "rows.parquet", "rows"])
def test_two_runs_to_one_new_output_exactly_one_wins(tmp_path: Path, name: str) -> None:
    """Two runs started together without --overwrite both pass the first existence check; the output is the
    winner's, and the loser exits 2 with 'already exists' and leaves nothing behind."""
    out = tmp_path / name
    sizes = (3000, 3100) if name == "ds" else (40_000, 40_100)  # long enough for the two runs to overlap
    results = [finish(proc) for proc in [start_cli(*command(out, n)) for n in sizes]]
    codes = [code for code, _, _ in results]
    assert sorted(codes) == [0, 2], results
    loser = results[codes.index(2)][2]
    assert "already exists" in loser and "Traceback" not in loser
    winner = sizes[codes.index(0)]
    assert rows_of(out) == (round(winner * 0.96) if name == "ds" else winner)
    assert [p.name for p in tmp_path.iterdir()] == [name]


# ------------------------------------------------------------------ killed runs


def test_a_killed_save_to_disk_leaves_nothing_the_next_run_keeps(tmp_path: Path) -> None:
    """SIGKILL while `generate` writes a save_to_disk folder: the previous folder is intact, and the next run
    removes the partial folder and the scratch folder beside it."""
    out = tmp_path / "rows"
    write(out, 100)
    before = digests(out)
    proc = start_cli(*command(out, 50_000, "--overwrite"))
    partial = out.with_name(f".rows.partial-{proc.pid}")
    kill_when(proc, partial.exists)
    assert digests(out) == before
    assert hidden_siblings(out) == sorted([partial.name, f"{partial.name}.scratch"])
    write(out, 200, overwrite=True)
    assert hidden_siblings(out) == [] and rows_of(out) == 200


def expected_rows(name: str, n: int) -> int:
    """What `rows_of` counts for a run of `command` at n rows (a build's train split holds 96%)."""
    return round(n * 0.96) if name == "ds" else n


@pytest.mark.parametrize(("name", "n"), [("ds", 3000), ("rows.parquet", 40_000), ("rows", 40_000)])
def test_kills_at_random_moments_lose_nothing(tmp_path: Path, name: str, n: int) -> None:
    """SIGKILL `build` or `generate --overwrite` at a random moment of its run (seeded fractions of how long it
    takes here): the output is the previous one, intact, or the new one, complete; the next run leaves nothing
    beside it."""
    out, rng = tmp_path / name, random.Random(name)
    whole = took(command(out, n))
    write(out, 100, overwrite=True)
    for k in range(KILLS):
        before = digests(out)  # a save_to_disk folder's state.json differs from run to run
        moment = rng.uniform(0.05, 1.1) * whole
        rows = n + 25 * k  # a build's splits of these sizes are exact: 96% train
        killed = kill_after(start_cli(*command(out, rows, "--overwrite")), moment)
        intact = digests(out) == before
        assert intact or rows_of(out) == expected_rows(name, rows), (k, moment)
        KILL_OUTCOMES[
            f"{name}: {'killed' if killed else 'ended'}, {'previous intact' if intact else 'new complete'}"
        ] += 1
        write(out, 100, overwrite=True)
        assert hidden_siblings(out) == [] and rows_of(out) == expected_rows(name, 100), (k, moment)
        KILL_OUTCOMES[f"{name}: next run succeeded"] += 1


def test_publishes_killed_at_random_moments_are_undone_or_done(tmp_path: Path) -> None:
    """SIGKILL `publish --tag v0.2.0` at a random moment: the refs are all where they were or all moved together,
    `git fsck --strict` finds no error, and the same publish then succeeds with the tree clean."""
    repo, rng = tmp_path / "hub" / "local" / "ds", random.Random("publish")
    v1, v2 = tmp_path / "v1" / "ds", tmp_path / "v2" / "ds"  # `write` builds a folder named ds
    write(v1, 1000)
    shutil.copytree(v1, v2)
    (v2 / "extra.bin").write_bytes(random.Random(0).randbytes(8 * MiB))  # the new version: one more, large file
    publish(v1, str(repo), tag="v0.1.0")
    first = refs(repo)
    whole = took(["publish", str(v2), "--to", str(repo), "--tag", "v0.2.0"])
    undo_v2(repo, first)
    for k in range(KILLS):
        moment = rng.uniform(0.05, 1.1) * whole
        killed = kill_after(start_cli("publish", str(v2), "--to", str(repo), "--tag", "v0.2.0"), moment)
        now = refs(repo)
        moved = now != first
        assert not moved or now["refs/tags/v0.2.0"] == now["refs/heads/main"] != first["refs/heads/main"], (k, now)
        assert now["refs/tags/v0.1.0"] == first["refs/tags/v0.1.0"]
        fsck = subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        KILL_OUTCOMES[
            f"publish: {'killed' if killed else 'ended'}, refs {'moved' if moved else 'where they were'}"
        ] += 1
        publish(v2, str(repo), tag="v0.2.0")
        assert (
            subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout
            == ""
        )
        KILL_OUTCOMES["publish: next publish succeeded"] += 1
        undo_v2(repo, first)


def undo_v2(repo: Path, first: dict[str, str]) -> None:
    """Put the repository back at its first version, so the next kill starts where this one did."""
    subprocess.run(["git", "-C", str(repo), "tag", "-d", "v0.2.0"], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(repo), "reset", "-q", "--hard", first["refs/heads/main"]], check=True)


def refs(repo: Path) -> dict[str, str]:
    """Every branch and tag of a local hub repository, with its commit."""
    shown = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split() for line in shown.stdout.splitlines())


# ------------------------------------------------------------------ a full disk


@pytest.mark.parametrize(
    ("name", "n"),
    [("ds", 8_000), ("rows.parquet", 20_000), ("rows.jsonl", 20_000), ("rows", 20_000), ("rows", 2_500)],
)
def test_a_full_disk_says_so_and_keeps_the_previous_output(disk: Disk, name: str, n: int) -> None:
    """On a 2 MiB disk, replacing a small output with one that does not fit (for a save_to_disk folder: its
    Parquet scratch, or only its Arrow file) exits 2 with 'no space left on DIR', no traceback, the previous
    output intact and nothing beside it; once there is room, the same command succeeds."""
    out = disk.path / name
    write(out, 200)
    before = digests(out)
    result = cli(*command(out, n, "--overwrite"))
    assert result.returncode == 2, result.stderr
    assert f"no space left on {disk.path}" in result.stderr and "Traceback" not in result.stderr
    assert digests(out) == before and hidden_siblings(out) == []
    disk.resize(64 * MiB)
    write(out, n, overwrite=True)
    assert rows_of(out) == (round(n * 0.96) if name == "ds" else n) and hidden_siblings(out) == []


def test_a_pull_onto_a_full_disk_says_so_and_keeps_the_previous_folder(tmp_path: Path, disk: Disk) -> None:
    folder, hub = tmp_path / "folder", tmp_path / "hub" / "local" / "ds"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "data" / "a.bin").write_bytes(b"small")
    publish(folder, str(hub), tag="v0.1.0")
    (folder / "data" / "a.bin").write_bytes(os.urandom(3 * MiB))
    publish(folder, str(hub), tag="v0.2.0")
    out = disk.path / "pulled"
    pull(str(hub), "v0.1.0", out)
    before = digests(out)
    result = cli("pull", str(hub), "--revision", "v0.2.0", "--out", str(out), "--overwrite")
    assert result.returncode == 2, result.stderr
    assert f"no space left on {disk.path}" in result.stderr and "Traceback" not in result.stderr
    assert digests(out) == before and hidden_siblings(out) == []
    disk.resize(64 * MiB)
    pull(str(hub), "v0.2.0", out, overwrite=True)
    assert (out / "data" / "a.bin").read_bytes() == (folder / "data" / "a.bin").read_bytes()
