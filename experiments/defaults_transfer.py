"""Do the defaults deliver the effect? The README's walk-through, run as a user would, scored with intervals.

For each seed: `cookbook-hub build RECIPE`, `cookbook-hub train --data <it> --seed S` (every other setting at its
default), then the evaluation `cookbook-hub eval --adapter <it> --tasks FILES` runs (base and adapter, prompts in
the adapter's training style), here through the same library call with the per-example scores kept, so that the
adapter-minus-base difference gets a paired bootstrap interval. Also reported: the share of answers with the
task's shape (`in_passage`: a span of the passage, for extractive QA).

    python experiments/defaults_transfer.py --recipe doc-qa --seeds 0 1
    python experiments/defaults_transfer.py --summarize          # rewrite the table from the saved runs
    python experiments/defaults_transfer.py --recipe doc-qa --seeds 0 --train-flags "--target-modules all-linear"

`--train-flags` measures one setting away from the defaults: the flags go to `cookbook-hub train` as they are,
and the runs are saved and shown under the recipe's label followed by the flags.

Each run writes experiments/results/defaults/<recipe>-seed<S>.json; the table goes to
experiments/results/defaults/summary.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "defaults"
TASKS = {
    "extractive_qa_ropes.jsonl": ("exact_match", "f1", "in_passage"),
    "multiple_choice_social_iqa.jsonl": ("acc",),
    "choice_physical_intuition.jsonl": ("acc",),
}
RESAMPLES = 2000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="doc-qa", help="a recipe: NAME, NAME@VERSION or a YAML file")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--tasks", nargs="+", default=["extractive_qa_ropes.jsonl"], help=f"files of {DATA_DIR}")
    p.add_argument("--work", type=Path, default=ROOT / "out" / "defaults", help="build and adapter folders")
    p.add_argument("--summarize", action="store_true", help="only rewrite summary.md from the saved runs")
    p.add_argument("--train-flags", default="", help="extra `cookbook-hub train` flags, as one quoted string")
    return p.parse_args(argv)


def label(spec: str) -> str:
    """A recipe (NAME, NAME@VERSION or a YAML file) as NAME@VERSION."""
    from cookbook_hub.recipes.schema import load_recipe

    recipe = load_recipe(spec)
    return f"{recipe.name}@{recipe.version}"


def cli(*args: str) -> None:
    """Run `cookbook-hub ARGS` in a child process, as a user would."""
    print("$ cookbook-hub " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "cookbook_hub.cli", *args], check=True)


def per_example(run: dict[str, Any], task: str, metric: str) -> np.ndarray:
    """One metric's per-example values from lm-eval's logged samples, in document order."""
    samples = sorted(run["samples"][task], key=lambda s: s["doc_id"])
    return np.array([float(s[metric]) for s in samples])


def paired_interval(base: np.ndarray, adapter: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% paired bootstrap interval of mean(adapter) - mean(base) over the examples."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), size=(RESAMPLES, len(base)))
    deltas = (adapter[picks] - base[picks]).mean(axis=1)
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(low), float(high)


def run_label(args: argparse.Namespace) -> str:
    """NAME@VERSION, then the extra train flags when there are any (`doc-qa@0.2.0 --target-modules all-linear`)."""
    return " ".join([label(args.recipe), *shlex.split(args.train_flags)])


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Train with the defaults (and `--train-flags`) at one seed and score base and adapter on the task files."""
    from cookbook_hub.eval.runner import evaluate

    data = args.work / label(args.recipe).replace("@", "-")
    if not (data / "README.md").is_file():
        cli("build", args.recipe, "--out", str(data), "--overwrite", "-q")
    adapter = args.work / f"adapter-{slug(run_label(args)).replace('@', '-')}-seed{seed}"
    start = time.perf_counter()
    shutil.rmtree(adapter, ignore_errors=True)
    cli("train", "--data", str(data), "--out", str(adapter), "--seed", str(seed), *shlex.split(args.train_flags))
    trained = time.perf_counter() - start
    files = ",".join(str(DATA_DIR / name) for name in args.tasks)
    start = time.perf_counter()
    evaluation = evaluate(adapter=str(adapter), tasks=files, log_samples=True)
    scored = time.perf_counter() - start
    out: dict[str, Any] = {
        "recipe": run_label(args),
        "train_flags": args.train_flags,
        "seed": seed,
        "style": evaluation.style.describe(),
        "train_seconds": trained,
        "eval_seconds": scored,
        "load_average": os.getloadavg(),
        "tasks": {},
    }
    for name in args.tasks:
        task = next(t for t in evaluation.real_tasks.values() if t.path.name == name)
        scores = {}
        for metric in TASKS[name]:
            base = per_example(evaluation.runs["base"], task.name, metric)
            tuned = per_example(evaluation.runs["adapter"], task.name, metric)
            low, high = paired_interval(base, tuned)
            scores[metric] = {"base": base.mean(), "adapter": tuned.mean(), "delta_low": low, "delta_high": high}
        out["tasks"][name] = {"n": len(task.examples), "scores": scores}
    return out


def slug(text: str) -> str:
    """A run label as a file name: spaces and the dashes after them become one `+` each
    (`doc-qa@0.2.0+target-modules+all-linear`)."""
    return re.sub(r"\s+-*", "+", text)


def summarize() -> str:
    """The markdown table of every saved run."""
    lines = [
        "| recipe | seed | task | metric | n | base | adapter | Δ (95% paired bootstrap) | train s | load |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for path in sorted(RESULTS.glob("*-seed*.json")):
        run = json.loads(path.read_text(encoding="utf-8"))
        load = "/".join(f"{x:.1f}" for x in run["load_average"])
        for task, entry in run["tasks"].items():
            for metric, s in entry["scores"].items():
                delta = 100 * (s["adapter"] - s["base"])
                lines.append(
                    f"| {run['recipe']} | {run['seed']} | {task} | {metric} | {entry['n']} | {100 * s['base']:.1f} "
                    f"| {100 * s['adapter']:.1f} | {delta:+.1f} [{100 * s['delta_low']:+.1f}, "
                    f"{100 * s['delta_high']:+.1f}] | {run['train_seconds']:.0f} | {load} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the seeds (unless --summarize), then rewrite the summary."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        for seed in args.seeds:
            result = run_seed(args, seed)
            path = RESULTS / f"{slug(run_label(args))}-seed{seed}.json"
            path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "summary.md").write_text(summarize(), encoding="utf-8")
    print((RESULTS / "summary.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
