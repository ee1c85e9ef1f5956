"""The two estimators that train: one small adapter per template, evaluated with the project's evaluator.

- `trained`: E[t, k] = the adapter's per-example score on task k minus the base model's on the same examples
  (token F1 for extractive QA, accuracy otherwise), with a paired bootstrap standard error.
- `trained-unlabeled`: the base model and the adapters answer each task's examples, gold answers unread; the
  label model estimates each one's accuracy, and E = the adapter's minus the base model's.

Everything is cached in a work folder by a hash of its configuration: an adapter by its template, params,
base recipe settings, model and budget (`adapters/<template>-<key>/`), an evaluation by its adapter, the task
file's content and the limit (`evals/<template>-<task>-<key>.json`). An interrupted run resumes where it
stopped, and adding a task trains nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.folders import AdapterFolder
from cookbook_hub.fs import atomic_path
from cookbook_hub.mix.effects import Effect, EffectMatrix, effect_from_examples
from cookbook_hub.mix.label_model import MIN_VOTERS, bootstrap_accuracies
from cookbook_hub.mix.rules import vote_label
from cookbook_hub.mix.targets import Target, real_targets
from cookbook_hub.models import model_identity
from cookbook_hub.recipes.schema import Recipe

Progress = Callable[[str], None]
BASE = "base"


@dataclass(frozen=True)
class Budget:
    """What each per-template adapter gets: optimizer steps, batch size, learning rate, seed; how many examples
    of each task are evaluated (`limit`, None for all), and where lm-eval tasks find local data (`data_dir`)."""

    steps: int = 100
    batch_size: int = 8
    lr: float = 2e-4
    seed: int = 0
    limit: int | None = None
    data_dir: str | None = None


def key(data: Any) -> str:
    """A short stable hash of a JSON-able configuration."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def single_template_recipe(base: Recipe, entry: dict[str, Any]) -> Recipe:
    """The base recipe with only one of its templates (same params, size, splits, seed and style)."""
    body = base.model_dump(mode="json")
    body["name"] = f"{base.name}-{entry['template'].replace('_', '-')}"[:64]
    body["templates"] = [{"template": entry["template"], "weight": 1.0, "params": entry.get("params") or {}}]
    body["provenance"] = {"kind": "hand-written", "notes": f"one template of {base.name}@{base.version}"}
    return Recipe.model_validate(body)


def write_text(path: Path, text: str) -> None:
    """Write a cache file whole or not at all (`fs.atomic_path`), so an interrupted run leaves no torn entry."""
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


def train_adapter(work: Path, base: Recipe, entry: dict[str, Any], model: str | None, budget: Budget) -> Path:
    """The adapter for one template: from the work folder's cache, else trained now (and cached)."""
    from cookbook_hub.train.config import TrainConfig
    from cookbook_hub.train.trainer import train

    recipe = single_template_recipe(base, entry)
    settings = {
        "recipe": recipe.content_hash,
        "model": model_identity(model),
        "steps": budget.steps,
        "batch_size": budget.batch_size,
        "lr": budget.lr,
        "seed": budget.seed,
    }
    out = work / "adapters" / f"{entry['template']}-{key(settings)}"
    if AdapterFolder(out).is_adapter:
        return out
    recipe_file = work / "recipes" / f"{recipe.name}-{key(settings)}.yaml"
    write_text(recipe_file, recipe.to_yaml())
    config = TrainConfig(
        data=str(recipe_file),
        out=str(out),
        model=model,
        steps=budget.steps,
        batch_size=budget.batch_size,
        lr=budget.lr,
        seed=budget.seed,
    )
    train(config)
    return out


def _task_key(target: Target) -> str:
    if target.real is None:
        return target.spec
    return hashlib.sha256(target.real.path.read_bytes()).hexdigest()


def evaluate_adapter(
    work: Path, template: str, adapter: Path, target: Target, model: str | None, budget: Budget
) -> dict:
    """The base model's and the adapter's per-example scores (and, for real tasks, answers) on a task: from the
    work folder's cache, else evaluated now (and cached)."""
    from cookbook_hub.eval.runner import evaluate, predictions

    task_key = [adapter.name, _task_key(target), budget.limit, budget.data_dir if target.real is None else None]
    cached = work / "evals" / f"{template}-{target.name}-{key(task_key)}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    evaluation = evaluate(
        model, str(adapter), target.spec, limit=budget.limit, data_dir=budget.data_dir, log_samples=True
    )
    task_name = target.real.name if target.real else target.spec
    metric = target.metric()
    record: dict[str, Any] = {"metric": metric}
    for run in (BASE, "adapter"):
        samples = sorted(evaluation.runs[run]["samples"][task_name], key=lambda s: s["doc_id"])
        record[run] = [float(s[metric]) for s in samples]
        if target.real is not None:
            record[f"{run}_answers"] = predictions(evaluation.runs[run], target.real)
    write_text(cached, json.dumps(record) + "\n")
    return record


def estimate_trained(
    matrix: EffectMatrix,
    base: Recipe,
    targets: list[Target],
    work: Path,
    model: str | None,
    budget: Budget,
    progress: Progress | None = None,
    *,
    unlabeled: bool = False,
) -> EffectMatrix:
    """Fill `matrix` with each adapter's paired gain over the base model on each task; with `unlabeled`, with the
    label-free estimate of that gain (the base model and the adapters vote; real-task files only)."""
    if unlabeled:
        real_targets(targets, "trained-unlabeled")
    records = {}
    for entry in matrix.templates:  # train (or reuse) each adapter, evaluate it (or reuse that) on each task
        adapter = train_adapter(work, base, entry, model, budget)
        for target in targets:
            records[entry["template"], target.name] = evaluate_adapter(
                work, entry["template"], adapter, target, model, budget
            )
            if progress:
                progress(f"{entry['template']} x {target.name}")
    if not unlabeled:
        for (template, task), record in records.items():
            matrix.effects.setdefault(template, {})[task] = effect_from_examples(
                record["adapter"], record[BASE], budget.seed
            )
        return matrix
    for target in targets:
        fill_unlabeled(matrix, target, records, budget.seed)
    return matrix


def fill_unlabeled(matrix: EffectMatrix, target: Target, records: dict, seed: int) -> None:
    """The label-free gains of every adapter on one real task, from the base model's and the adapters' answers."""
    task = target.real
    votes = {BASE: records[matrix.template_names[0], target.name][f"{BASE}_answers"]}
    for template in matrix.template_names:
        votes[template] = records[template, target.name]["adapter_answers"]
    if len(votes) < MIN_VOTERS:
        for template in matrix.template_names:
            matrix.skipped.setdefault(template, {})[target.name] = (
                f"label-free estimation needs at least {MIN_VOTERS} voters (the base model and "
                f"{MIN_VOTERS - 1} adapters); {len(votes)} voted"
            )
        return
    examples = task.examples[: len(votes[BASE])]
    labels = {
        voter: [vote_label(task, e.choices, a) for a, e in zip(answers, examples)] for voter, answers in votes.items()
    }
    accuracy, stderr = bootstrap_accuracies(labels, seed, minus=BASE)
    for template in matrix.template_names:
        matrix.effects.setdefault(template, {})[target.name] = Effect(
            effect=accuracy[template] - accuracy[BASE],
            stderr=stderr[template],
            score=accuracy[template],
            baseline=accuracy[BASE],
            n=len(examples),
        )
