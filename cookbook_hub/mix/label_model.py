"""Voter accuracies without labels: crowd-kit's one-coin Dawid-Skene model over the voters' answers.

Each voter (a template's rule, or an adapter) answers each unlabelled item; the one-coin model assumes a voter
is right with probability s (its accuracy) and otherwise picks one of the other answers uniformly, and
estimates every s by EM (Zhang, Chen, Zhou and Jordan, 2016). Why this model and this library: docs/mixing.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from cookbook_hub.errors import MixError

MIN_VOTERS = 3
EM_ITERATIONS = 100
UNLABELED_RESAMPLES = 50


def _frame(votes: Mapping[str, Sequence[Hashable]], items: Sequence[int]):  # noqa: ANN202 (a pandas DataFrame)
    import pandas as pd

    rows = [
        (position, voter, str(answers[item]))
        for voter, answers in votes.items()
        for position, item in enumerate(items)
        if answers[item] is not None
    ]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def voter_accuracies(votes: Mapping[str, Sequence[Hashable]], items: Sequence[int] | None = None) -> dict[str, float]:
    """Each voter's estimated accuracy from its answers alone (`votes[voter][item]`; None abstains), over
    `items` (default: all; repeated items count as often as listed, as in a bootstrap resample)."""
    try:
        from crowdkit.aggregation import OneCoinDawidSkene
    except ImportError:
        raise MixError(
            "the label-free estimators need crowd-kit, which is not installed",
            fix="pip install 'cookbook-hub[mix]'",
        ) from None

    if len(votes) < MIN_VOTERS:
        raise MixError(
            f"label-free estimation needs at least {MIN_VOTERS} voters, got {len(votes)}",
            fix="add templates that map to the task, or use an estimator with labels (rules, trained)",
        )
    lengths = {len(answers) for answers in votes.values()}
    if len(lengths) != 1:
        raise MixError("every voter must answer the same items")
    items = list(range(lengths.pop())) if items is None else list(items)
    with warnings.catch_warnings():  # crowd-kit's own pandas calls are deprecated in pandas 3; nothing of ours
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        skills = OneCoinDawidSkene(n_iter=EM_ITERATIONS).fit(_frame(votes, items)).skills_
    return {voter: float(skills.get(voter, np.nan)) for voter in votes}


def bootstrap_accuracies(
    votes: Mapping[str, Sequence[Hashable]],
    seed: int = 0,
    resamples: int = UNLABELED_RESAMPLES,
    minus: str | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """The estimated accuracies, and bootstrap standard errors from the label model refitted on resampled items:
    of each accuracy, or with `minus` (a voter's name) of each accuracy minus that voter's (a paired gain)."""
    estimate = voter_accuracies(votes)
    n = len(next(iter(votes.values())))
    rng = np.random.default_rng(seed)
    draws = [voter_accuracies(votes, rng.integers(0, n, size=n)) for _ in range(resamples)]
    stderr = {
        voter: float(np.nanstd([d[voter] - (d[minus] if minus else 0.0) for d in draws], ddof=1)) for voter in votes
    }
    return estimate, stderr
