"""Tools for the crash tests: commands run as real processes, kills at observed on-disk states, and a small
real disk (a tmpfs) to fill up.

A test module makes its disk fixture with `yield from small_disk(tmp_path)`. Mounting needs root
(CAP_SYS_ADMIN); where that is not allowed, the disk-full tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

MiB = 1 << 20


def cli_env() -> dict[str, str]:
    """The environment the commands run in: the test session's (offline), without colours."""
    return {**os.environ, "NO_COLOR": "1"}


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `cookbook-hub ARGS` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(),
        timeout=timeout,
    )


def start_cli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    """Start `cookbook-hub ARGS` in its own process group (so that a kill reaches its git children too)."""
    return subprocess.Popen(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=cli_env(),
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a started command; its exit code, stdout and stderr."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 60) -> None:
    """SIGKILL a started command and its children as soon as `ready()` holds (polled every millisecond)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"the command ended ({proc.returncode}) before the state to kill it in: {err}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError("the state to kill the command in never came")
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reaped: its PID is gone


def hidden_siblings(out: Path) -> list[str]:
    """What a run may leave beside `out`: `.NAME.*` partial, replaced or scratch siblings."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


class Disk:
    """A mounted tmpfs: a real filesystem that runs out of space at a chosen size."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resize(self, size: int) -> None:
        """Grow (or shrink) the filesystem to `size` bytes."""
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True, capture_output=True)

    def free(self) -> int:
        """Bytes still free."""
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave: int) -> Path:
        """Write a filler file that leaves about `leave` bytes free; returns it (delete it to free the space)."""
        filler = self.path / "filler"
        filler.write_bytes(b"\0" * max(0, self.free() - leave))
        return filler


def small_disk(tmp_path: Path) -> Iterator[Disk]:
    """A 2 MiB tmpfs mounted in the test's folder, unmounted afterwards (the test is skipped where mounting is
    not allowed)."""
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={2 * MiB}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def save_counts(counts: Mapping[str, int], variable: str) -> None:
    """Write outcome counts as JSON to the path the environment variable `variable` names, if it is set."""
    if os.environ.get(variable):
        path = Path(os.environ[variable])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(sorted(counts.items())), indent=2) + "\n")


LONG_KILLS = 16  # kills at random moments per command in the long profile (HYPOTHESIS_PROFILE=long)
KILLS = LONG_KILLS if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL a started command (its whole process group) after `seconds`; False if it had ended by then."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        return True


def took(args: list[str]) -> float:
    """Seconds a command takes here, run to its end (the kills' moments are drawn within it)."""
    start = time.monotonic()
    code, _, err = finish(start_cli(*args))
    assert code == 0, err
    return time.monotonic() - start
