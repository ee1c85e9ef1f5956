"""The solver: closed-form weights equal a numerical optimum, a planted optimum is recovered, drops and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from cookbook_hub.errors import MixError
from cookbook_hub.mix.effects import Effect, EffectMatrix, TaskInfo
from cookbook_hub.mix.solve import solve


def matrix_of(values: np.ndarray, errors: np.ndarray | None = None) -> EffectMatrix:
    """An EffectMatrix over templates t0.. and tasks k0.. (NaN = unmeasured)."""
    errors = np.full(values.shape, 0.01) if errors is None else errors
    templates = [{"template": f"t{i}", "params": {}} for i in range(values.shape[0])]
    tasks = [TaskInfo(f"k{j}", f"k{j}.jsonl", "choice", "acc", 100, 0.25) for j in range(values.shape[1])]
    m = EffectMatrix("rules", templates, tasks)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if not np.isnan(values[i, j]):
                m.effects.setdefault(f"t{i}", {})[f"k{j}"] = Effect(values[i, j], errors[i, j], 0.5, 0.25, 100)
    return m


def numerical_optimum(gains: np.ndarray, temperature: float) -> np.ndarray:
    """The maximiser of w.g + T H(w) on the simplex, found by SLSQP (independent of the closed form)."""

    def objective(w: np.ndarray) -> float:
        w = np.clip(w, 1e-12, 1)
        return -(w @ gains - temperature * (w * np.log(w)).sum())

    n = len(gains)
    result = minimize(
        objective,
        np.full(n, 1 / n),
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    return result.x


@pytest.mark.parametrize("temperature", [0.02, 0.1, 1.0])
def test_closed_form_is_the_optimum(temperature):
    rng = np.random.default_rng(1)
    values = rng.uniform(0.01, 0.3, size=(5, 3))
    solution = solve(matrix_of(values), temperature, keep_all=True)
    w = np.array([solution.weights[f"t{i}"] for i in range(5)])
    np.testing.assert_allclose(w, numerical_optimum(values.mean(axis=1), temperature), atol=2e-3)
    assert w.sum() == pytest.approx(1.0)


def test_recovers_a_planted_optimum_with_and_without_noise():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.0, 0.05, size=(6, 4))
    truth[2] += 0.2  # template 2 helps every task most
    for noise in (0.0, 0.01):
        values = truth + rng.normal(0, noise, size=truth.shape)
        solution = solve(matrix_of(values), temperature=0.02)
        assert max(solution.weights, key=solution.weights.get) == "t2"
        assert solution.weights["t2"] > 0.9
    # a lower temperature moves weight towards the planted best; a higher one towards uniform
    cold, warm = solve(matrix_of(truth), 0.01), solve(matrix_of(truth), 10.0)
    assert cold.weights["t2"] > warm.weights["t2"]
    assert max(warm.weights.values()) - min(warm.weights.values()) < 0.02


def test_task_weights_change_the_answer():
    values = np.array([[0.3, 0.0], [0.0, 0.3]])
    assert solve(matrix_of(values), 0.05, {"k0": 1, "k1": 0}).weights["t0"] > 0.99
    assert solve(matrix_of(values), 0.05, {"k0": 0, "k1": 1}).weights["t1"] > 0.99
    with pytest.raises(MixError, match="'k9', which is not a task"):
        solve(matrix_of(values), 0.05, {"k9": 1})


def test_templates_without_a_significant_effect_are_dropped_unless_keep_all():
    values = np.array([[0.2, np.nan], [0.01, -0.05], [np.nan, np.nan]])
    errors = np.array([[0.02, 0.0], [0.05, 0.02], [0.0, 0.0]])
    solution = solve(matrix_of(values, errors), 0.05)
    assert set(solution.weights) == {"t0"}
    assert solution.dropped == {
        "t1": "no significantly positive effect on any task",
        "t2": "no significantly positive effect on any task",
    }
    assert set(solve(matrix_of(values, errors), 0.05, keep_all=True).weights) == {"t0", "t1", "t2"}
    # the predicted effect of the mixture on each task, unmeasured pairs counting 0
    assert solution.predicted == pytest.approx({"k0": 0.2, "k1": 0.0})


@pytest.mark.parametrize("temperature", [0, -1, float("inf"), float("nan")])
def test_temperature_must_be_positive_and_finite(temperature):
    with pytest.raises(MixError, match="--temperature"):
        solve(matrix_of(np.array([[0.1]])), temperature)


def test_nothing_significant_or_nothing_measured_is_refused():
    with pytest.raises(MixError, match="no template has a significantly positive effect.*\n.*--keep-all"):
        solve(matrix_of(np.array([[0.0, -0.1]]), np.array([[0.1, 0.1]])))
    with pytest.raises(MixError, match="no measured entry"):
        solve(matrix_of(np.array([[np.nan]])))
