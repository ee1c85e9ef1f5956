"""From effects to weights: the simplex weights that maximise the predicted mean score, with an entropy term.

Under the linear mixing law (docs/mixing.md), a mixture with weights w on the simplex moves task k by
sum_t w_t E[t, k]. Maximising the task-weighted mean of that, plus temperature x the entropy of w,

    max_w  sum_t w_t g_t + T * H(w),    g_t = sum_k a_k E[t, k] / sum_k a_k,

has the closed-form answer w_t proportional to exp(g_t / T): as T -> 0 all weight goes to the best template,
as T grows the weights approach uniform. An unmeasured pair counts as no effect. Templates whose effect is not
significantly positive on any task (E - 1.645 stderr <= 0 everywhere: a one-sided 95% test) get weight 0
unless `keep_all`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cookbook_hub.errors import MixError
from cookbook_hub.mix.effects import EffectMatrix, task_weights

DEFAULT_TEMPERATURE = 0.05
SIGNIFICANCE_Z = 1.645  # one-sided 95%: is the effect above 0


@dataclass(frozen=True)
class Solution:
    """The learned weights (by template, summing to 1 over the kept ones), each template's objective gain
    g_t, which templates were dropped and why, and the predicted effect of the mixture on each task."""

    weights: dict[str, float]
    gains: dict[str, float]
    dropped: dict[str, str]
    predicted: dict[str, float]
    temperature: float


def check_temperature(temperature: float) -> float:
    """A finite temperature > 0."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not math.isfinite(temperature):
        raise MixError(f"--temperature {temperature!r} is not a finite number", fix="pass a number > 0, e.g. 0.05")
    if temperature <= 0:
        raise MixError(f"--temperature must be > 0, got {temperature}", fix="pass a number > 0, e.g. 0.05")
    return float(temperature)


def softmax_weights(gains: np.ndarray, temperature: float) -> np.ndarray:
    """argmax over the simplex of w.gains + temperature * H(w): exp(gains / temperature), normalised."""
    z = (gains - gains.max()) / temperature
    w = np.exp(z)
    return w / w.sum()


def significant(matrix: EffectMatrix, z: float = SIGNIFICANCE_Z) -> dict[str, bool]:
    """Whether each template has a significantly positive effect on at least one task."""
    values, errors = matrix.arrays()
    with np.errstate(invalid="ignore"):
        lower = values - z * errors
    return {name: bool(np.nan_to_num(lower[i], nan=-np.inf).max() > 0) for i, name in enumerate(matrix.template_names)}


def solve(
    matrix: EffectMatrix,
    temperature: float = DEFAULT_TEMPERATURE,
    weights_by_task: Mapping[str, float] | None = None,
    keep_all: bool = False,
) -> Solution:
    """The learned weights for a matrix (see the module docstring for the math)."""
    temperature = check_temperature(temperature)
    values, _ = matrix.arrays()
    if not np.isfinite(np.nan_to_num(values, nan=0.0)).all():
        raise MixError("the effect matrix holds a non-finite entry", fix="re-estimate it")
    if np.isnan(values).all():
        raise MixError(
            "the effect matrix has no measured entry: no template maps to any of the tasks",
            fix="choose tasks of a kind the templates map to (see docs/mixing.md)",
        )
    a = task_weights(matrix, weights_by_task)
    gains = np.nan_to_num(values, nan=0.0) @ a / a.sum()
    names = matrix.template_names
    dropped = {}
    if not keep_all:
        for name, ok in significant(matrix).items():
            if not ok:
                dropped[name] = "no significantly positive effect on any task"
    kept = [i for i, name in enumerate(names) if name not in dropped]
    if not kept:
        raise MixError(
            "no template has a significantly positive effect on any task",
            fix="pass --keep-all to weigh them anyway, or estimate with more examples (--limit) or steps",
        )
    w = np.zeros(len(names))
    w[kept] = softmax_weights(gains[kept], temperature)
    predicted = np.nan_to_num(values, nan=0.0).T @ w
    return Solution(
        weights={names[i]: float(w[i]) for i in kept},
        gains={name: float(g) for name, g in zip(names, gains)},
        dropped=dropped,
        predicted={task: float(p) for task, p in zip(matrix.task_names, predicted)},
        temperature=temperature,
    )
