"""Build benchmark: a `gpt4all` mixture built by the local engine and by the Ray engine, then published.

    python benchmarks/build.py                 # 1,000,000 rows: local 1 and 2 processes, Ray 1 and 2 workers,
                                               # and Ray 2 workers writing to a URL (file://)
    python benchmarks/build.py --rows 100000   # quicker
    python benchmarks/build.py --engines local:1,ray:2

Each configuration runs in one fresh child process that builds the recipe into a folder cut into Parquet files
of `--shard-rows` rows (default: rows / 8, so about ten parts) and publishes it to a local hub folder (one git
commit). The local engine (`cookbook_hub.dataset.builder.build`) writes `W` parts at once, each in its own
process; the Ray engine (`cookbook_hub.dataset.ray_engine.build_ray`) runs one task per part on a local Ray
instance with `W` CPUs, started before the clock (its start-up is reported apart); `ray-url` is the Ray engine
writing to a `file://` URL, the path of an `s3://` build (staging, upload, copy into place:
`cookbook_hub.dataset.url_output`) without a network. Reported: wall time of the build and of the publish,
rows/s, MB/s of formatted text, peak RSS, and the overhead per part: (build s x W - local 1-process build s) /
parts, the CPU-seconds each part costs beyond the single-process work. Every build's manifest digest is printed:
all engines must agree. Results go to benchmarks/results/build.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
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
RECIPE = "gpt4all@0.1.0"


def child(engine: str, workers: int, rows: int, shard_rows: int, work: Path) -> dict[str, Any]:
    """Build and publish in this process with one engine; return the measurements."""
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.dataset.builder import build
    from cookbook_hub.folders import DatasetFolder
    from cookbook_hub.hub.publish import publish

    ray_start = 0.0
    out = work / "gpt4all"
    if engine.startswith("ray"):
        import ray

        from cookbook_hub.dataset.ray_engine import build_ray

        begin = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - begin
    common = {"n": rows, "max_shard_rows": shard_rows, "progress": False, "finish": write_dataset_card}
    start = time.perf_counter()
    if engine == "ray":
        build_ray(RECIPE, out, **common)
    elif engine == "ray-url":
        build_ray(RECIPE, f"file://{out}", **common)
    else:
        build(RECIPE, out, num_proc=workers, **common)
    built = time.perf_counter()
    published = publish(out, str(work / "hub" / "bench" / "cookbook-gpt4all"), tag="v0.1.0")
    done = time.perf_counter()
    manifest = DatasetFolder(out).manifest()
    splits = [s for c in manifest["configs"].values() for s in c["splits"].values()]
    return {
        "engine": engine,
        "workers": workers,
        "rows": sum(s["num_examples"] for s in splits),
        "parts": sum(len(s["files"]) for s in splits),
        "ray_start_s": ray_start,
        "build_s": built - start,
        "publish_s": done - built,
        "text_mb": sum(s["text_bytes"] for s in splits) / 1e6,
        "parquet_mb": sum((out / f).stat().st_size for s in splits for f in s["files"]) / 1e6,
        "manifest_sha256": hashlib.sha256((out / DatasetFolder.MANIFEST).read_bytes()).hexdigest(),
        "commit": published.commit,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_child(engine: str, workers: int, rows: int, shard_rows: int) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter and parse its result line."""
    with tempfile.TemporaryDirectory(prefix="cookbook-build-bench-") as work:
        cmd = [sys.executable, __file__, "--child", f"{engine}:{workers}", "--rows", str(rows)]
        cmd += ["--shard-rows", str(shard_rows), "--work", work]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(MARK))
    return json.loads(line[len(MARK) :])


def overhead(run: dict[str, Any], base: dict[str, Any] | None) -> str:
    """CPU-seconds per part beyond the 1-process local build: (build s x workers - base build s) / parts."""
    if base is None:
        return "-"
    return f"{(run['build_s'] * run['workers'] - base['build_s']) / run['parts']:+.2f}"


def table(results: list[dict[str, Any]]) -> str:
    """A markdown table of the runs, with the overhead per part against the 1-process local build."""
    base = next((r for r in results if (r["engine"], r["workers"]) == ("local", 1)), None)
    lines = [
        "| engine | workers | rows | parts | Ray start s | build s | rows/s | text MB/s | overhead s/part "
        "| publish s | peak RSS MB | worker RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['engine']} | {r['workers']} | {r['rows']:,} | {r['parts']} | {r['ray_start_s']:.1f} | "
            f"{r['build_s']:.1f} | {r['rows'] / r['build_s']:,.0f} | {r['text_mb'] / r['build_s']:.1f} | "
            f"{overhead(r, base)} | {r['publish_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['peak_worker_rss_mb']:.0f} |"
        )
    same = len({r["manifest_sha256"] for r in results}) == 1
    lines.append(f"\nmanifests of all builds identical: {'yes' if same else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run as the parent (every configuration) or as one child."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    engines = "local:1,local:2,ray:1,ray:2,ray-url:2"
    parser.add_argument("--engines", default=engines, help="ENGINE:WORKERS, comma-separated")
    parser.add_argument("--shard-rows", type=int, help="rows per Parquet file (default: rows / 8)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    shard_rows = args.shard_rows or max(1, args.rows // 8)
    if args.child is not None:
        engine, workers = args.child.split(":")
        print(MARK + json.dumps(child(engine, int(workers), args.rows, shard_rows, args.work)), flush=True)
        return
    configs = [(e, int(w)) for e, w in (item.split(":") for item in args.engines.split(","))]
    load_start = os.getloadavg()
    results = [run_child(engine, workers, args.rows, shard_rows) for engine, workers in configs]
    text = table(results)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "shard_rows": shard_rows,
        "load_average_at_start": load_start,
        "load_average_at_end": load,
    }
    (RESULTS_DIR / "build.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=2) + "\n")
    title = f"# Build benchmark ({meta['date']}, {meta['cpu_count']} cores, {shard_rows:,} rows per part)"
    fmt = ", ".join(["{:.1f}"] * 3)
    loadline = f"load average (1, 5, 15 min) at the start: {fmt.format(*load_start)}; at the end: {fmt.format(*load)}"
    (RESULTS_DIR / "build.md").write_text(f"{title}\n\n{text}\n\n{loadline}\n")


if __name__ == "__main__":
    main()
