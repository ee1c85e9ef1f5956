"""Build benchmark: a 1-million-row `gpt4all` mixture built and published into a local hub folder.

    python benchmarks/build.py                 # 1,000,000 rows, 1 and 2 processes
    python benchmarks/build.py --rows 100000   # quicker

For each process count, one fresh child process builds the recipe (`cookbook_hub.dataset.builder.build`)
and publishes it to a local hub folder (`cookbook_hub.hub.publish.publish`, one git commit). It
reports wall time of each phase, rows/s and MB/s of formatted text (prompt + completion) for the
build, and peak RSS (the child's own and that of its largest worker process). Results go to
benchmarks/results/build.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MARK = "BUILD-RESULT "


def child(rows: int, num_proc: int, work: Path) -> dict[str, Any]:
    """Build and publish in this process; return the measurements."""
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.dataset.builder import build
    from cookbook_hub.folders import DatasetFolder
    from cookbook_hub.hub.publish import publish

    start = time.perf_counter()
    result = build(
        "gpt4all@0.1.0", work / "gpt4all", n=rows, num_proc=num_proc, progress=False, finish=write_dataset_card
    )
    built = time.perf_counter()
    published = publish(result.path, str(work / "hub" / "bench" / "cookbook-gpt4all"), tag="v0.1.0")
    done = time.perf_counter()
    manifest = DatasetFolder(result.path).manifest()
    splits = [s for c in manifest["configs"].values() for s in c["splits"].values()]
    text = sum(s["text_bytes"] for s in splits)
    parquet = sum((result.path / f).stat().st_size for s in splits for f in s["files"])
    return {
        "rows": sum(s["num_examples"] for s in splits),
        "num_proc": num_proc,
        "build_s": built - start,
        "publish_s": done - built,
        "text_mb": text / 1e6,
        "parquet_mb": parquet / 1e6,
        "commit": published.commit,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_child(rows: int, num_proc: int) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter and parse its result line."""
    with tempfile.TemporaryDirectory(prefix="cookbook-build-bench-") as work:
        cmd = [sys.executable, __file__, "--child", str(num_proc), "--rows", str(rows), "--work", work]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(MARK))
    return json.loads(line[len(MARK) :])


def table(results: list[dict[str, Any]]) -> str:
    """A markdown table of the runs, with the 2-process speedup."""
    lines = [
        "| processes | rows | build s | rows/s | text MB/s | parquet MB | publish s | peak RSS MB | worker RSS MB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['num_proc']} | {r['rows']:,} | {r['build_s']:.1f} | {r['rows'] / r['build_s']:,.0f} | "
            f"{r['text_mb'] / r['build_s']:.1f} | {r['parquet_mb']:.0f} | {r['publish_s']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {r['peak_worker_rss_mb']:.0f} |"
        )
    if len(results) == 2:
        lines.append(f"\nspeedup with 2 processes: {results[0]['build_s'] / results[1]['build_s']:.2f}x")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run as the parent (both configurations) or as one child."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--procs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(MARK + json.dumps(child(args.rows, args.child, args.work)), flush=True)
        return
    results = [run_child(args.rows, int(p)) for p in args.procs.split(",")]
    text = table(results)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    (RESULTS_DIR / "build.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=2) + "\n")
    load = "load average at the end: {:.1f}, {:.1f}, {:.1f}".format(*os.getloadavg())
    title = f"# Build benchmark ({meta['date']}, {meta['cpu_count']} cores)"
    (RESULTS_DIR / "build.md").write_text(f"{title}\n\n{text}\n\n{load}\n")


if __name__ == "__main__":
    main()
