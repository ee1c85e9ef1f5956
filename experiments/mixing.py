"""Does a learned mixture help? Cookbook-Mix against uniform weights and the best single template.

SmolLM2-135M-Instruct on the shared real-task files (ROPES, Social IQa, physical_intuition). Every arm is a
recipe over gpt4all@0.2.0's templates with the same budget (its size, one epoch at the `train` defaults, the
matched chat style without the instruction, one-word span answers), built and trained as a user would
(`cookbook-hub build`, `cookbook-hub train`), then evaluated on all three tasks with base and adapter scored
on the same examples (paired bootstrap intervals). The arms:

- `learned-<estimator>`: `cookbook-hub mix learn --base gpt4all --estimator <estimator>` on the three files;
- `uniform`: the same six templates at equal weights;
- `single-<template>`: only the template that the rules estimate ranks first.

Each adapter's rule alignment (how often its answers equal each mapped template's rule) comes from the same
logged answers, with no second evaluation.

    python experiments/mixing.py --arms learned-rules uniform single
    python experiments/mixing.py --summarize       # rewrite summary.md from the saved runs

Results: experiments/results/mixing/<arm>.json, the learned recipes and matrices beside them, summary.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "mixing"
TASKS = {
    "extractive_qa_ropes.jsonl": "f1",
    "multiple_choice_social_iqa.jsonl": "acc",
    "choice_physical_intuition.jsonl": "acc",
}
BASE = "gpt4all@0.2.0"
RESAMPLES = 2000


def cli(*args: str) -> None:
    """Run `cookbook-hub ARGS` in a child process, as a user would."""
    print("$ cookbook-hub " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "cookbook_hub.cli", *args], check=True)


def task_files() -> str:
    """The three task files, comma-separated."""
    return ",".join(str(DATA_DIR / name) for name in TASKS)


def arm_recipe(arm: str) -> Path:
    """Write the arm's recipe into RESULTS and return its path."""
    from cookbook_hub.recipes.schema import load_recipe

    path = RESULTS / f"{arm}.yaml"
    if arm.startswith("learned-"):
        estimator = arm.removeprefix("learned-")
        cli(
            "mix",
            "learn",
            "--base",
            BASE,
            "--tasks",
            task_files(),
            "--estimator",
            estimator,
            "--out",
            str(path),
            "--overwrite",
        )
        return path
    base = load_recipe(BASE).model_dump(mode="json")
    if arm == "uniform":
        for entry in base["templates"]:
            entry["weight"] = 1.0
        base["provenance"] = {"kind": "hand-written", "notes": f"{BASE}'s templates at equal weights"}
    else:
        best = best_by_rules()
        base["templates"] = [dict(t, weight=1.0) for t in base["templates"] if t["template"] == best]
        base["provenance"] = {"kind": "hand-written", "notes": f"{best} alone, ranked first by the rules estimate"}
    base["name"] = f"gpt4all-{arm}"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    return path


def best_by_rules() -> str:
    """The template whose rule estimate has the highest task-averaged effect."""
    from cookbook_hub.mix.learn import estimate
    from cookbook_hub.mix.solve import solve
    from cookbook_hub.recipes.schema import load_recipe

    solution = solve(estimate(load_recipe(BASE), task_files(), "rules", progress=False), keep_all=True)
    return max(solution.gains, key=solution.gains.get)


def paired_interval(base: np.ndarray, adapter: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% paired bootstrap interval of mean(adapter) - mean(base) over the examples."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), size=(RESAMPLES, len(base)))
    low, high = np.percentile((adapter[picks] - base[picks]).mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def alignments(evaluation: Any, recipe: Path) -> dict[str, dict[str, float]]:
    """For each task, the adapter's (and base model's) alignment with each mapped template's rule of the recipe."""
    from cookbook_hub.align.mapping import mapped_templates, rule_answers
    from cookbook_hub.align.report import alignment_report
    from cookbook_hub.eval.runner import predictions
    from cookbook_hub.recipes.schema import load_recipe

    mapped = mapped_templates()
    out: dict[str, dict[str, float]] = {}
    for task in evaluation.real_tasks.values():
        base = predictions(evaluation.runs["base"], task)
        tuned = predictions(evaluation.runs["adapter"], task)
        for entry in load_recipe(recipe).templates:
            if task.kind in mapped.get(entry.template, ()):
                rule = rule_answers(entry.template, task, entry.params)
                report = alignment_report(task, entry.template, rule, base, tuned)
                out.setdefault(task.path.name, {})[entry.template] = {
                    "base": report["base"]["alignment"],
                    "adapter": report["adapter"]["alignment"],
                }
    return out


def run_arm(arm: str, work: Path) -> dict[str, Any]:
    """Build, train and evaluate one arm."""
    from cookbook_hub.eval.runner import evaluate
    from cookbook_hub.recipes.schema import load_recipe

    recipe = arm_recipe(arm)
    data, adapter = work / f"data-{arm}", work / f"adapter-{arm}"
    cli("build", str(recipe), "--out", str(data), "--overwrite", "-q")
    shutil.rmtree(adapter, ignore_errors=True)
    start = time.perf_counter()
    cli("train", "--data", str(data), "--out", str(adapter))
    trained = time.perf_counter() - start
    start = time.perf_counter()
    evaluation = evaluate(adapter=str(adapter), tasks=task_files(), log_samples=True)
    result: dict[str, Any] = {
        "arm": arm,
        "weights": load_recipe(recipe).weights,
        "train_seconds": trained,
        "eval_seconds": time.perf_counter() - start,
        "load_average": os.getloadavg(),
        "tasks": {},
        "alignment": alignments(evaluation, recipe),
    }
    for name, metric in TASKS.items():
        task = next(t for t in evaluation.real_tasks.values() if t.path.name == name)
        values = {}
        for run in ("base", "adapter"):
            samples = sorted(evaluation.runs[run]["samples"][task.name], key=lambda s: s["doc_id"])
            values[run] = np.array([float(s[metric]) for s in samples])
        low, high = paired_interval(values["base"], values["adapter"])
        result["tasks"][name] = {
            "metric": metric,
            "n": len(values["base"]),
            "base": float(values["base"].mean()),
            "adapter": float(values["adapter"].mean()),
            "delta_low": low,
            "delta_high": high,
            "per_example": {run: v.tolist() for run, v in values.items()},
        }
    return result


def summarize() -> str:
    """The markdown tables of every saved arm."""
    runs = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json")) if "effects" not in p.name
    ]
    lines = [
        "| arm | task | metric | n | base | adapter | Δ (95% paired bootstrap) |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    averages = [
        "",
        "| arm | mean Δ over the 3 tasks (95% bootstrap) | vs uniform (paired, 95%) | train s | load | weights |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    uniform = next((run for run in runs if run["arm"] == "uniform"), None)
    for run in runs:
        deltas = []
        for name, t in run["tasks"].items():
            d = 100 * (t["adapter"] - t["base"])
            lines.append(
                f"| {run['arm']} | {name} | {t['metric']} | {t['n']} | {100 * t['base']:.1f} "
                f"| {100 * t['adapter']:.1f} | {d:+.1f} [{100 * t['delta_low']:+.1f}, {100 * t['delta_high']:+.1f}] |"
            )
            deltas.append(np.array(t["per_example"]["adapter"]) - np.array(t["per_example"]["base"]))
        rng = np.random.default_rng(0)
        boot = [np.mean([d[rng.integers(0, len(d), len(d))].mean() for d in deltas]) for _ in range(RESAMPLES)]
        low, high = np.percentile(boot, [2.5, 97.5])
        mean = np.mean([d.mean() for d in deltas])
        load = "/".join(f"{x:.1f}" for x in run["load_average"])
        weights = ", ".join(f"{k} {v:.2f}" for k, v in run["weights"].items())
        versus = paired_versus(run, uniform) if uniform and run is not uniform else "–"
        averages.append(
            f"| {run['arm']} | {100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] | {versus} "
            f"| {run['train_seconds']:.0f} | {load} | {weights} |"
        )
    align = [
        "",
        "| arm | task | template rule | base alignment | adapter alignment |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for run in runs:
        for task, rules in run["alignment"].items():
            for template, a in rules.items():
                align.append(
                    f"| {run['arm']} | {task} | {template} | {100 * a['base']:.1f} | {100 * a['adapter']:.1f} |"
                )
    return "\n".join(lines + averages + align) + "\n"


def paired_versus(run: dict[str, Any], other: dict[str, Any]) -> str:
    """The mean over tasks of run's adapter minus other's adapter, per example (same examples, same base), with a
    95% bootstrap interval."""
    diffs = [
        np.array(t["per_example"]["adapter"]) - np.array(other["tasks"][name]["per_example"]["adapter"])
        for name, t in run["tasks"].items()
    ]
    rng = np.random.default_rng(0)
    boot = [np.mean([d[rng.integers(0, len(d), len(d))].mean() for d in diffs]) for _ in range(RESAMPLES)]
    low, high = np.percentile(boot, [2.5, 97.5])
    return f"{100 * np.mean([d.mean() for d in diffs]):+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", nargs="+", default=["learned-rules", "uniform", "single"])
    p.add_argument("--work", type=Path, default=ROOT / "out" / "mixing", help="build and adapter folders")
    p.add_argument("--summarize", action="store_true", help="only rewrite summary.md from the saved runs")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the arms (unless --summarize), then rewrite the summary."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        for arm in args.arms:
            result = run_arm(arm, args.work)
            (RESULTS / f"{arm}.json").write_text(json.dumps(result) + "\n", encoding="utf-8")
            (RESULTS / "summary.md").write_text(summarize(), encoding="utf-8")
    (RESULTS / "summary.md").write_text(summarize(), encoding="utf-8")
    print((RESULTS / "summary.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
