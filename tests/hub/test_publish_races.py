"""Publishing to a local hub folder under races, kills, a locked index and a full disk: real git repositories,
real `cookbook-hub publish` processes, real SIGKILLs and a real filesystem that runs out of space.

After each: the tags are where they were (or all moved together), `git fsck` finds nothing wrong or left
over, and the next publish succeeds with no manual repair."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from crash_tools import Disk, MiB, finish, kill_when, small_disk, start_cli

from cookbook_hub.errors import NoSpaceError, PublishError
from cookbook_hub.hub.git import INCOMING, PENDING
from cookbook_hub.hub.publish import publish

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# A test dataset
"""


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    yield from small_disk(tmp_path)


def make_dataset(folder: Path, rows: list[dict], extra: bytes = b"") -> Path:
    """A minimal Hub-layout dataset folder; `extra` goes into data/extra.bin when given."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "data" / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    if extra:
        (folder / "data" / "extra.bin").write_bytes(extra)
    return folder


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def files(folder: Path) -> dict[str, bytes]:
    """Every file under a folder outside .git, by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def refs(repo: Path) -> dict[str, str]:
    """Every branch and tag with its commit."""
    lines = git_out(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
    return dict(line.split() for line in lines)


def tree_files(repo: Path, rev: str) -> list[str]:
    return git_out(repo, "ls-tree", "-r", "--name-only", rev).split()


def assert_sound(repo: Path) -> None:
    """On main, clean, nothing left over by an unfinished publish, and `git fsck` finds no error or stray object."""
    assert git_out(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git_out(repo, "status", "--porcelain") == ""
    assert not (repo / ".git" / INCOMING).exists() and not (repo / ".git" / PENDING).exists()
    assert not (repo / ".git" / "index.lock").exists()
    fsck = subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0 and "dangling" not in fsck.stdout + fsck.stderr, fsck.stdout + fsck.stderr


# ------------------------------------------------------------------ two publishes at once


@pytest.mark.parametrize("content", ["different", "same"])
def test_two_first_publishes_at_once_are_serialised(tmp_path: Path, content: str) -> None:
    """Two processes publish to a repository that does not exist yet; both exit 0, one after the other: other
    content becomes a second commit, the same content (and tag) a no-op."""
    a = make_dataset(tmp_path / "a", [{"p": "a"}], extra=os.urandom(4 * MiB))
    b = a if content == "same" else make_dataset(tmp_path / "b", [{"p": "b"}], extra=os.urandom(4 * MiB))
    tags = ("v0.2.0", "v0.2.0" if content == "same" else "v0.3.0")
    for round_ in range(2):
        repo = tmp_path / "hub" / f"round{round_}" / "ds"
        procs = [start_cli("publish", str(f), "--to", str(repo), "--tag", tag) for f, tag in zip((a, b), tags)]
        results = [finish(proc) for proc in procs]
        assert [code for code, _, _ in results] == [0, 0], results
        assert_sound(repo)
        outputs = "".join(out for _, out, _ in results)
        if content == "same":
            assert outputs.count("published 3 files") == 1 and outputs.count("no changes") == 1
            assert git_out(repo, "rev-list", "--count", "main").strip() == "1"
            assert refs(repo)["refs/tags/v0.2.0"] == refs(repo)["refs/heads/main"]
        else:
            assert outputs.count("published 3 files") == 2
            assert git_out(repo, "rev-list", "--count", "main").strip() == "2"
            first, second = git_out(repo, "rev-list", "--reverse", "main").split()
            assert {refs(repo)["refs/tags/v0.2.0"], refs(repo)["refs/tags/v0.3.0"]} == {first, second}
        assert files(repo) in (files(a), files(b))


# ------------------------------------------------------------------ a publish killed half-way


def test_a_publish_killed_while_checking_out_is_undone_by_the_next(tmp_path: Path) -> None:
    """SIGKILL (the command and its git) while the new version's files are being written into the hub folder:
    the refs have not moved, and the next publish puts the folder back, then publishes."""
    repo = tmp_path / "hub" / "local" / "ds"
    v1 = make_dataset(tmp_path / "v1", [{"p": "1"}])
    publish(v1, str(repo), tag="v0.1.0")
    before = refs(repo)
    v2 = make_dataset(tmp_path / "v2", [{"p": "2"}], extra=os.urandom(8 * MiB))
    proc = start_cli("publish", str(v2), "--to", str(repo), "--tag", "v0.2.0")
    kill_when(proc, lambda: (repo / "data" / "extra.bin").exists())
    after_kill = refs(repo)
    assert after_kill == before  # the refs move last: not yet
    result = publish(v2, str(repo), tag="v0.2.0")
    assert result.created_commit
    assert_sound(repo)
    assert files(repo) == files(v2)
    assert refs(repo)["refs/tags/v0.1.0"] == before["refs/tags/v0.1.0"]
    assert refs(repo)["refs/tags/v0.2.0"] == refs(repo)["refs/heads/main"] == result.commit


def test_a_locked_index_fails_the_publish_before_anything_moves(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "local" / "ds"
    v1 = make_dataset(tmp_path / "v1", [{"p": "1"}])
    publish(v1, str(repo), tag="v0.1.0")
    before, contents = refs(repo), files(repo)
    lock = repo / ".git" / "index.lock"
    lock.touch()
    v2 = make_dataset(tmp_path / "v2", [{"p": "2"}])
    with pytest.raises(PublishError, match="index.lock exists"):
        publish(v2, str(repo), tag="v0.2.0")
    assert refs(repo) == before and files(repo) == contents and lock.exists()
    lock.unlink()
    publish(v2, str(repo), tag="v0.2.0")
    assert_sound(repo)
    assert files(repo) == files(v2)


# ------------------------------------------------------------------ a full disk


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(os.urandom(3 * MiB), id="objects-do-not-fit"),
        pytest.param(b"0123456789abcdef" * (3 * MiB // 16), id="files-do-not-fit"),
    ],
)
def test_a_full_disk_publishes_nothing_and_leaves_nothing(tmp_path: Path, disk: Disk, extra: bytes) -> None:
    """A hub folder on a 2 MiB disk: a version whose objects (random bytes), or only whose checked-out files
    (compressible bytes), do not fit fails with 'no space left', with the repository as it was and no stray
    object; once there is room, the same publish succeeds."""
    repo = disk.path / "hub" / "local" / "ds"
    v1 = make_dataset(tmp_path / "v1", [{"p": "1"}])
    publish(v1, str(repo), tag="v0.1.0")
    before, contents = refs(repo), files(repo)
    objects = git_out(repo, "count-objects")
    v2 = make_dataset(tmp_path / "v2", [{"p": "2"}], extra=extra)
    with pytest.raises(NoSpaceError, match=f"no space left on {repo}"):
        publish(v2, str(repo), tag="v0.2.0")
    assert refs(repo) == before and files(repo) == contents
    assert git_out(repo, "count-objects") == objects
    assert_sound(repo)
    disk.resize(32 * MiB)
    assert publish(v2, str(repo), tag="v0.2.0").created_commit
    assert_sound(repo)
    assert files(repo) == files(v2) and tree_files(repo, "v0.2.0") == sorted(files(v2))
