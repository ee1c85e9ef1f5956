"""Worker processes are forked where that is safe (Linux, one Python thread) and spawned elsewhere; tqdm's
monitor thread does not prevent a fork. Each case runs in a fresh interpreter, whose threads are known."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork is chosen on Linux only")

CHOOSE = "from cookbook_hub.generation.processes import worker_context\n"
SHOW = "print(worker_context().get_start_method(), threading.active_count())\n"


def start_method(setup: str) -> str:
    """What `worker_context` chooses after `setup` runs, and how many threads are left, in a new interpreter."""
    code = "import threading\n" + CHOOSE + setup + SHOW
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_process_with_one_thread_forks() -> None:
    assert start_method("") == "fork 1"


def test_a_running_progress_bar_does_not_prevent_a_fork() -> None:
    bar = "import io\nfrom tqdm.auto import tqdm\nbar = tqdm(total=3, file=io.StringIO())\n"
    check = "assert any(t.name == 'tqdm_monitor' for t in threading.enumerate())\n"
    assert start_method(bar + check) == "fork 1"  # the monitor was stopped


def test_another_thread_means_spawn() -> None:
    thread = "event = threading.Event()\nthreading.Thread(target=event.wait, daemon=True).start()\n"
    assert start_method(thread) == "spawn 2"
