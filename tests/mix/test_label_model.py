"""The label-free estimator: crowd-kit's one-coin model recovers simulated voter accuracies without labels."""

from __future__ import annotations

import numpy as np
import pytest

from cookbook_hub.errors import MixError
from cookbook_hub.mix.label_model import bootstrap_accuracies, voter_accuracies


def simulated_votes(accuracies: list[float], items: int, classes: int, seed: int = 0) -> dict[str, list[str]]:
    """Voters right with their accuracy, else uniformly on one of the other classes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    votes = {}
    for v, accuracy in enumerate(accuracies):
        right = rng.random(items) < accuracy
        wrong = (truth + rng.integers(1, classes, items)) % classes
        votes[f"v{v}"] = [str(x) for x in np.where(right, truth, wrong)]
    return votes


@pytest.mark.parametrize(
    ("accuracies", "classes"), [([0.85, 0.7, 0.55], 3), ([0.9, 0.75, 0.6, 0.45, 0.35], 4), ([0.9, 0.8, 0.7, 0.6], 2)]
)
def test_recovers_simulated_accuracies_within_0_05(accuracies, classes):
    estimated = voter_accuracies(simulated_votes(accuracies, 2000, classes))
    for v, accuracy in enumerate(accuracies):
        assert estimated[f"v{v}"] == pytest.approx(accuracy, abs=0.05)


def test_bootstrap_gives_standard_errors_and_paired_gains():
    votes = simulated_votes([0.85, 0.7, 0.55], 300, 3)
    estimate, stderr = bootstrap_accuracies(votes, resamples=8)
    assert all(0 < stderr[v] < 0.1 for v in votes)
    _, gain_stderr = bootstrap_accuracies(votes, resamples=8, minus="v0")
    assert gain_stderr["v0"] == 0.0 and gain_stderr["v2"] > 0
    assert estimate["v0"] > estimate["v1"] > estimate["v2"]


def test_needs_three_voters_answering_the_same_items():
    with pytest.raises(MixError, match="at least 3 voters, got 2"):
        voter_accuracies({"a": ["1"], "b": ["1"]})
    with pytest.raises(MixError, match="the same items"):
        voter_accuracies({"a": ["1"], "b": ["1"], "c": ["1", "2"]})
