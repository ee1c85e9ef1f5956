"""The output of learning: a new version of the base recipe with the learned weights and their provenance."""

from __future__ import annotations

from typing import Any

from cookbook_hub import __version__
from cookbook_hub.errors import MixError
from cookbook_hub.mix.effects import EffectMatrix
from cookbook_hub.mix.solve import Solution
from cookbook_hub.recipes.schema import SEMVER, Recipe, parse_recipe

METHOD = "cookbook-mix: softmax of the task-averaged effect (linear mixing law, entropy temperature)"
DIGITS = 4


def next_minor(version: str) -> str:
    """The next minor version: 0.2.0 -> 0.3.0 (a pre-release suffix is dropped)."""
    major, minor, _ = version.split("-")[0].split(".")
    return f"{major}.{int(minor) + 1}.0"


def check_version(version: str) -> str:
    """A semantic version, for `--version`."""
    if not SEMVER.match(version):
        raise MixError(f"--version {version!r} is not a semantic version", fix="write MAJOR.MINOR.PATCH, e.g. 0.3.0")
    return version


def learned_from(matrix: EffectMatrix, solution: Solution, base: Recipe, task_weights: dict[str, float] | None) -> dict:
    """What the weights were learned from, as the recipe records it: inputs, the matrix with standard errors,
    the solver settings, the templates dropped and the package version."""
    effects: dict[str, Any] = {
        template: {
            task: {"effect": round(e.effect, DIGITS), "stderr": round(e.stderr, DIGITS)} for task, e in row.items()
        }
        for template, row in matrix.effects.items()
    }
    return {
        "base_recipe": f"{base.name}@{base.version}",
        "base_weights": {name: round(w, DIGITS) for name, w in base.weights.items()},
        "estimator": matrix.estimator,
        "base_model": matrix.base_model,
        "budget": matrix.budget,
        "templates": matrix.template_names,
        "tasks": [
            {"name": t.name, "source": t.source, "kind": t.kind, "metric": t.metric, "n": t.n} for t in matrix.tasks
        ],
        "effects": effects,
        "skipped": matrix.skipped,
        "temperature": solution.temperature,
        "task_weights": task_weights,
        "dropped": solution.dropped,
        "predicted_effects": {task: round(p, DIGITS) for task, p in solution.predicted.items()},
        "package_version": __version__,
    }


def learned_recipe(
    base: Recipe,
    matrix: EffectMatrix,
    solution: Solution,
    version: str | None = None,
    task_weights: dict[str, float] | None = None,
) -> Recipe:
    """The base recipe with the learned weights (templates at weight 0 left out), provenance `learned`, and
    the next minor version unless `version` is given."""
    params = {t["template"]: t.get("params") or {} for t in matrix.templates}
    weights = {name: round(w, DIGITS) for name, w in solution.weights.items()}
    rounded_away = [name for name, w in weights.items() if w <= 0]
    solution.dropped.update({name: f"learned weight below {10**-DIGITS}" for name in rounded_away})
    body = base.model_dump(mode="json")
    body["version"] = check_version(version) if version else next_minor(base.version)
    tasks = ", ".join(matrix.task_names)
    body["description"] = f"{base.name} with weights learned for {tasks} ({matrix.estimator} estimator)."
    body["templates"] = [
        {"template": name, "weight": w, **({"params": params[name]} if params[name] else {})}
        for name, w in weights.items()
        if w > 0
    ]
    body["provenance"] = {
        "kind": "learned",
        "method": METHOD,
        "learned_from": learned_from(matrix, solution, base, task_weights),
    }
    return parse_recipe(body, f"learned {base.name} recipe")
