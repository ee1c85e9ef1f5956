"""Evaluation throughput: examples per second for each task type, with `--batch-size auto` and 1.

Run from the repository root:

    python benchmarks/eval_throughput.py                         # SmolLM2 offline, ~4 min on 2 CPU cores
    python benchmarks/eval_throughput.py --gen-limit 8 --choice-limit 24 --repeats 1

Task types: generation (the ROPES extract, greedy up to the first newline), multiple choice (the
Social IQa extract, log-likelihood of 3 choices) and yes/no (`cookbook_containment_mc`, 2 choices).
The model is loaded once per batch size; each measurement times one `lm_eval.simple_evaluate` call on
one task (request building, model calls and scoring, not model loading). Measurements are repeated
round-robin over task types and batch sizes (`--repeats`), so load from other processes falls on all
of them alike; the table shows the median (and the range) of the repeats. On CPU, `auto` is a fixed
batch of `cookbook_hub.eval.runner.CPU_AUTO_BATCH_SIZE` (see docs/evaluation.md).
Results go to benchmarks/results/eval_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHARED = ROOT.parent / "shared" / "data"
BATCH_SIZES: tuple[str | int, ...] = ("auto", 1)


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model folder or Hub id (default: the offline SmolLM2)")
    p.add_argument("--gen-limit", type=int, default=24, help="generation examples per run")
    p.add_argument("--choice-limit", type=int, default=48, help="multiple-choice and yes/no examples per run")
    p.add_argument("--repeats", type=int, default=3, help="measurements of each task type and batch size")
    p.add_argument("--data", type=Path, default=SHARED, help="folder of the real-task extracts")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return p.parse_args()


def run_one(lm: Any, spec: str, limit: int) -> float:
    """Seconds for one simple_evaluate call of `lm` on the task `spec`."""
    from lm_eval import simple_evaluate

    from cookbook_hub.eval.runner import load_tasks, plan_tasks, task_manager

    with tempfile.TemporaryDirectory() as include_dir:
        plan = plan_tasks(spec, Path(include_dir))
        manager = task_manager(plan)
        loaded = load_tasks(plan, manager)
        start = time.perf_counter()
        simple_evaluate(model=lm, tasks=loaded, limit=limit, task_manager=manager, log_samples=False)
        return time.perf_counter() - start


def machine() -> dict[str, Any]:
    """Where the benchmark ran."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in ("torch", "transformers", "lm_eval")},
        "load_average_at_start": os.getloadavg(),
    }


def row(task_type: str, spec: str, limit: int, batch_size: str | int, lm: Any, seconds: list[float]) -> dict[str, Any]:
    """One table row: the median of the repeats, with every repeat kept."""
    median = statistics.median(seconds)
    return {
        "task_type": task_type,
        "task": Path(spec).name,
        "examples": limit,
        "batch_size": str(batch_size),
        "effective_batch_size": lm.batch_size,
        "seconds": median,
        "seconds_each": seconds,
        "examples_per_s": limit / median,
        "examples_per_s_range": [limit / max(seconds), limit / min(seconds)],
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as a markdown table, with the speed-up of auto over batch size 1."""
    rate = {(r["task_type"], r["batch_size"]): r["examples_per_s"] for r in report["rows"]}
    lines = [
        f"# Evaluation throughput ({report['model']}, {report['machine']['device']}, {report['date'][:10]})",
        "",
        "| task type | task | examples | batch size | seconds (median) | examples/s | range | vs batch 1 |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in report["rows"]:
        speedup = r["examples_per_s"] / rate[r["task_type"], "1"]
        label = f"auto ({r['effective_batch_size']})" if r["batch_size"] == "auto" else r["batch_size"]
        lines.append(
            f"| {r['task_type']} | `{r['task']}` | {r['examples']} | {label} | {r['seconds']:.1f} "
            f"| {r['examples_per_s']:.2f} | {r['examples_per_s_range'][0]:.2f}-{r['examples_per_s_range'][1]:.2f} "
            f"| {speedup:.2f}× |"
        )
    m = report["machine"]
    lines += [
        "",
        f"{m['cpus']} CPUs, {m['torch_threads']} torch threads, load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}, at end "
        f"{', '.join(f'{x:.1f}' for x in report['load_average_at_end'])}; torch {m['versions']['torch']}, "
        f"transformers {m['versions']['transformers']}, lm_eval {m['versions']['lm_eval']}.",
        f"Each measurement is one `simple_evaluate` call (requests, model calls, scoring; not model loading); "
        f"median and range of {report['repeats']} round-robin repeats.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every task type at every batch size, print the table and write the results."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from cookbook_hub.eval.runner import load_lm
    from cookbook_hub.models import DEFAULT_MODEL, resolve_model

    args = parse_args()
    tasks = [
        ("generation", str(args.data / "extractive_qa_ropes.jsonl"), args.gen_limit),
        ("multiple choice", str(args.data / "multiple_choice_social_iqa.jsonl"), args.choice_limit),
        ("yes/no", "cookbook_containment_mc", args.choice_limit),
    ]
    report: dict[str, Any] = {
        "model": args.model or DEFAULT_MODEL,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "rows": [],
    }
    model_path = resolve_model(args.model)
    lms = {batch_size: load_lm(model_path, batch_size=batch_size) for batch_size in BATCH_SIZES}
    seconds: dict[tuple[str, str | int], list[float]] = {}
    for repeat in range(args.repeats):
        for task_type, spec, limit in tasks:
            for batch_size, lm in lms.items():
                took = run_one(lm, spec, limit)
                seconds.setdefault((task_type, batch_size), []).append(took)
                print(f"repeat {repeat + 1}: {task_type}, batch size {batch_size}: {limit / took:.2f} examples/s")
    report["repeats"] = args.repeats
    report["load_average_at_end"] = os.getloadavg()
    for task_type, spec, limit in tasks:
        for batch_size, lm in lms.items():
            report["rows"].append(row(task_type, spec, limit, batch_size, lm, seconds[task_type, batch_size]))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "eval_throughput.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown(report)
    (args.results_dir / "eval_throughput.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
