"""How worker processes start: forked where that is safe, spawned elsewhere.

A spawned worker is a fresh interpreter that imports the package before its first row (about 0.45 s here, the
largest cost of a 2-process build: benchmarks/README.md). A forked one starts in milliseconds with what this
process has imported. Forking is safe when no other Python thread runs (a fork copies other threads' locks in
whatever state they are in); the native pools of numpy's BLAS and of Arrow re-initialise themselves in a forked
child, as `datasets.Dataset.map(num_proc=...)` also relies on. So: "fork" on Linux in a process with one Python
thread, after stopping tqdm's monitor thread (it only tunes how often bars redraw; the next bar starts it
again); "spawn" elsewhere (macOS, Windows, a notebook kernel with its own threads).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from multiprocessing.context import BaseContext


def stop_tqdm_monitor() -> None:
    """Stop tqdm's monitor thread if one runs (tqdm starts a new one with its next bar)."""
    try:
        from tqdm._monitor import TMonitor
    except ImportError:
        return
    for thread in threading.enumerate():
        if isinstance(thread, TMonitor):
            thread.exit()


def worker_context() -> BaseContext:
    """The multiprocessing context to start worker processes with: "fork" where safe (module docstring), else
    "spawn"."""
    if sys.platform == "linux":
        stop_tqdm_monitor()
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
