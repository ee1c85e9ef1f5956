"""The effect matrix: how much training on each template moves each target task, with standard errors.

`EffectMatrix` is what every estimator returns and what `effects.json` holds (schema in docs/mixing.md):
the templates (with their params), the tasks (with their kind, metric, size and chance rate), the estimator,
the base model and budgets, and one entry per measured (template, task) pair. A pair an estimator cannot
measure (a template without a mapping for the task's kind) has no entry, and the reason is kept in `skipped`,
so a missing effect never reads as a measured zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cookbook_hub.errors import MixError

SCHEMA = "cookbook-hub/effects@1"
ESTIMATORS = ("trained", "rules", "rules-unlabeled", "trained-unlabeled")
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Effect:
    """One measured pair: the effect on the task's metric, its standard error, and the scores it compares."""

    effect: float
    stderr: float
    score: float
    baseline: float
    n: int


@dataclass(frozen=True)
class TaskInfo:
    """A target task as the matrix records it: its name, where it came from, its kind and metric."""

    name: str
    source: str
    kind: str
    metric: str
    n: int | None = None
    chance: float | None = None


@dataclass
class EffectMatrix:
    """Effects E[template][task] with standard errors, and everything needed to say how they were measured."""

    estimator: str
    templates: list[dict[str, Any]]
    tasks: list[TaskInfo]
    effects: dict[str, dict[str, Effect]] = field(default_factory=dict)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)
    base_recipe: str | None = None
    base_model: str | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    package_version: str | None = None

    @property
    def template_names(self) -> list[str]:
        """The templates' names, in matrix order."""
        return [t["template"] for t in self.templates]

    @property
    def task_names(self) -> list[str]:
        """The tasks' names, in matrix order."""
        return [t.name for t in self.tasks]

    def get(self, template: str, task: str) -> Effect | None:
        """The entry for a pair, or None when it was not measured."""
        return self.effects.get(template, {}).get(task)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(effects, standard errors) as (templates, tasks) arrays; unmeasured pairs are NaN."""
        shape = (len(self.templates), len(self.tasks))
        values, errors = np.full(shape, np.nan), np.full(shape, np.nan)
        for i, template in enumerate(self.template_names):
            for j, task in enumerate(self.task_names):
                entry = self.get(template, task)
                if entry is not None:
                    values[i, j], errors[i, j] = entry.effect, entry.stderr
        return values, errors

    def to_json(self) -> dict[str, Any]:
        """The matrix as the JSON document `effects.json` holds."""
        return {
            "schema": SCHEMA,
            "estimator": self.estimator,
            "base_recipe": self.base_recipe,
            "base_model": self.base_model,
            "budget": self.budget,
            "package_version": self.package_version,
            "templates": self.templates,
            "tasks": [asdict(t) for t in self.tasks],
            "effects": {t: {k: asdict(e) for k, e in row.items()} for t, row in self.effects.items()},
            "skipped": self.skipped,
        }

    def save(self, path: str | Path) -> Path:
        """Write the matrix as JSON to `path`."""
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MixError(f"{where}: {value!r} is not a finite number", fix="re-estimate the matrix or fix the entry")
    return float(value)


def parse_matrix(data: Any, source: str = "effects.json") -> EffectMatrix:
    """Validate an effects document: known schema and estimator, templates and tasks named once, every entry of
    a listed pair and finite (a standard error >= 0). Errors name the field."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise MixError(f"{source}: not an effects matrix (field 'schema' must be {SCHEMA!r})")
    if data.get("estimator") not in ESTIMATORS:
        raise MixError(f"{source}: field 'estimator' is {data.get('estimator')!r}; use one of {', '.join(ESTIMATORS)}")
    try:
        templates = [dict(t) for t in data["templates"]]
        names = [t["template"] for t in templates]
        tasks = [TaskInfo(**t) for t in data["tasks"]]
    except (KeyError, TypeError) as exc:
        raise MixError(f"{source}: fields 'templates' and 'tasks' are malformed ({exc})") from None
    if not names:
        raise MixError(f"{source}: field 'templates' is empty", fix="estimate effects for at least one template")
    task_names = [t.name for t in tasks]
    for what, listed in (("templates", names), ("tasks", task_names)):
        if len(set(listed)) != len(listed):
            raise MixError(f"{source}: field {what!r} lists a name twice")
    effects: dict[str, dict[str, Effect]] = {}
    for template, row in (data.get("effects") or {}).items():
        for task, entry in (row or {}).items():
            where = f"{source}: effects.{template}.{task}"
            if template not in names or task not in task_names:
                raise MixError(f"{where}: names a template or task that the matrix does not list")
            if not isinstance(entry, dict):
                raise MixError(f"{where}: must be an object with effect, stderr, score, baseline and n")
            values = {
                key: _finite(entry.get(key), f"{where}.{key}") for key in ("effect", "stderr", "score", "baseline")
            }
            if values["stderr"] < 0:
                raise MixError(f"{where}.stderr: {values['stderr']} is negative")
            effects.setdefault(template, {})[task] = Effect(**values, n=int(_finite(entry.get("n"), f"{where}.n")))
    return EffectMatrix(
        estimator=data["estimator"],
        templates=templates,
        tasks=tasks,
        effects=effects,
        skipped=data.get("skipped") or {},
        base_recipe=data.get("base_recipe"),
        base_model=data.get("base_model"),
        budget=data.get("budget") or {},
        package_version=data.get("package_version"),
    )


def load_matrix(path: str | Path) -> EffectMatrix:
    """Read and validate `effects.json`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MixError(f"cannot read effects matrix {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MixError(f"effects matrix {str(path)!r} is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=lambda name: name)  # NaN/Infinity become strings, then refused
    except (ValueError, RecursionError) as exc:
        raise MixError(f"effects matrix {str(path)!r} is not valid JSON: {exc}") from None
    return parse_matrix(data, str(path))


def bootstrap_stderr(
    values: Sequence[float] | np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> float:
    """The bootstrap standard error of the mean of per-example values (for a paired difference, pass the
    per-example differences)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return 0.0
    picks = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    return float(values[picks].mean(axis=1).std(ddof=1))


def effect_from_examples(score: Sequence[float], baseline: Sequence[float], seed: int = 0) -> Effect:
    """The effect of per-example scores over per-example baselines (paired), with its bootstrap standard error."""
    score, baseline = np.asarray(score, dtype=float), np.asarray(baseline, dtype=float)
    return Effect(
        effect=float((score - baseline).mean()),
        stderr=bootstrap_stderr(score - baseline, seed),
        score=float(score.mean()),
        baseline=float(baseline.mean()),
        n=len(score),
    )


def task_weights(matrix: EffectMatrix, weights: Mapping[str, float] | None) -> np.ndarray:
    """Each task's weight in the objective (1 each by default); a weight for a task the matrix lacks, or a
    negative or non-finite one, is refused."""
    if not weights:
        return np.ones(len(matrix.tasks))
    unknown = sorted(set(weights) - set(matrix.task_names))
    if unknown:
        raise MixError(
            f"task weight for {unknown[0]!r}, which is not a task of the matrix",
            fix=f"name one of {', '.join(matrix.task_names)}",
        )
    out = np.array([_finite(weights.get(name, 1.0), f"task weight {name!r}") for name in matrix.task_names])
    if (out < 0).any() or out.sum() <= 0:
        raise MixError("task weights must be >= 0 and not all 0")
    return out
