"""Peak RSS of a process tree, sampled from outside it.

    python benchmarks/rss_sampler.py ROOT_PID EVERY_S

polls the RSS of ROOT_PID and its descendants (itself left out) every EVERY_S seconds until its standard input
is closed, then prints the largest sum seen, in bytes. It runs as its own process, with nothing imported but
the standard library: a sampling thread inside the measured process would change what is measured (the
library forks its workers only from a process with one Python thread: `cookbook_hub.generation.processes`).
"""

from __future__ import annotations

import os
import select
import sys


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, RSS in bytes) for every visible process (Linux /proc)."""
    table: dict[int, tuple[int, int]] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), int(fields[21]) * page)
    return table


def tree_rss_bytes(root: int, leave_out: int) -> int:
    """Current RSS of `root` plus all its descendants, except the process `leave_out` (and its own)."""
    table = proc_table()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid == leave_out:
            continue
        total += table.get(pid, (0, 0))[1]
        todo.extend(child for child, (parent, _) in table.items() if parent == pid)
    return total


def main() -> None:
    """Sample until standard input closes; print the peak."""
    root, every = int(sys.argv[1]), float(sys.argv[2])
    peak = 0
    while True:
        peak = max(peak, tree_rss_bytes(root, os.getpid()))
        ready, _, _ = select.select([sys.stdin], [], [], every)
        if ready and not sys.stdin.read(1):
            break
    print(peak, flush=True)


if __name__ == "__main__":
    main()
