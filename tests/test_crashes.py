"""Outputs of `build`, `generate` and `pull` under races, kills and a full disk, with real processes, real
SIGKILLs and a real filesystem that runs out of space.

After each: the previous output is intact, nothing is left beside it, and the next run succeeds with no
manual repair."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from crash_tools import Disk, MiB, cli, finish, hidden_siblings, kill_when, small_disk, start_cli

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


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    yield from small_disk(tmp_path)


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
