"""Two-way choice (PIQA style: a goal and two near-identical solutions)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    Block,
    ChoiceTemplate,
    Inputs,
    RealExample,
    argmax_first,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, contains, distinct


@params_dataclass
class TwoWayChoiceParams:
    """Goal length, solution length and how many tokens differ between the two solutions."""

    goal_len: PositiveInt = 12
    solution_len: PositiveInt = 10
    diff_len: PositiveInt = 2

    @pydantic.model_validator(mode="after")
    def _check(self) -> TwoWayChoiceParams:
        if self.diff_len > min(self.solution_len, self.goal_len):
            raise ValueError(f"diff_len ({self.diff_len}) must be <= solution_len and goal_len")
        return self


@register
class TwoWayChoice(ChoiceTemplate):
    """Of two solutions that differ in a few tokens, pick the one whose differing tokens are in the goal.

    Rule: for each solution take the tokens the other solution lacks; the answer is the solution
    with more of those tokens in the goal (the first one on ties).
    Target: physical commonsense two-way choice (PIQA), where solutions differ in a word or two.

    Example (qa style, `example_params`, sample 0):
        Goal: proximal rend lichen mater bom achieving
        Options:
        A. abolition mater rid begg twinkling
        B. abolition reload rid begg twinkling
        Answer: A
    """

    name = "two_way_choice"
    version = 1
    family = "multiple_choice"
    target_task = "two-way commonsense choice (PIQA)"
    summary = "pick the solution whose distinguishing tokens appear in the goal"
    instruction = "Pick the solution whose differing words appear in the goal."
    Params = TwoWayChoiceParams
    fields = {"question": "tokens", "options": "token_lists"}
    example_params = {"goal_len": 6, "solution_len": 5, "diff_len": 1}
    distinct_param = "goal_len"
    section_fields = (("Goal", "question"),)

    real_kinds = ("choice", "yes_no")
    real_mapping = "context + question -> goal, choices -> solutions"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        goals = self.distinct_ids(rng, n, p.goal_len)
        bases = self.ids(rng, (n, p.solution_len))
        wrong = self.ids(rng, (n, p.diff_len))
        picks = rng.random((n, p.goal_len)).argsort(axis=1)[:, : p.diff_len]
        starts = rng.integers(0, p.solution_len - p.diff_len + 1, size=n)
        correct = rng.integers(0, 2, size=n)
        cols = starts[:, None] + np.arange(p.diff_len)
        good, worse = bases.copy(), bases
        np.put_along_axis(good, cols, np.take_along_axis(goals, picks, axis=1), axis=1)
        np.put_along_axis(worse, cols, wrong, axis=1)
        first = (correct == 0)[:, None]
        options = np.stack([np.where(first, good, worse), np.where(first, worse, good)], axis=1)
        return {"question": TokenIds(goals), "options": TokenIds(options)}

    def rule(self, inputs: Inputs) -> int:
        goal = set(inputs["question"])
        options = [set(option) for option in inputs["options"]]
        scores = []
        for i, option in enumerate(options):
            others = set().union(*(o for j, o in enumerate(options) if j != i))
            scores.append(len((option - others) & goal))
        return argmax_first(scores)

    def rule_block(self, block: Block) -> np.ndarray:
        """Per option, its distinct tokens that no other option has and the goal has; the first best option."""
        goal, options = block["question"], block["options"].ids
        n, k = options.shape[:2]
        others = ~np.eye(k, dtype=bool)
        scores = np.zeros((n, k), dtype=np.int64)
        for i in range(k):
            option, first = distinct(options[:, i])
            rest = options[:, others[i]].reshape(n, -1)
            shared = contains(rest, np.ones(rest.shape, dtype=bool), option)
            scores[:, i] = (contains(goal.ids, goal.valid, option) & first & ~shared).sum(axis=1)
        return scores.argmax(axis=1)

    def real_inputs(self, example: RealExample) -> Inputs:
        return {
            "question": words(f"{example.context} {example.question}"),
            "options": [words(choice) for choice in example.choices or ()],
        }
