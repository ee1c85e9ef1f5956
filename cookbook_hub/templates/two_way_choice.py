"""Two-way choice (PIQA style: a goal and two near-identical solutions)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import ChoiceTemplate, Inputs, RealExample, argmax_first, params_dataclass, words
from cookbook_hub.templates.registry import register


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

    real_kinds = ("choice", "yes_no")
    real_mapping = "context + question -> goal, choices -> solutions"

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        p = self.params
        goals = self.words(self.distinct_ids(rng, n, p.goal_len))
        bases = self.words(self.ids(rng, (n, p.solution_len)))
        wrong = self.words(self.ids(rng, (n, p.diff_len)))
        picks = rng.random((n, p.goal_len)).argsort(axis=1)[:, : p.diff_len].tolist()
        starts = rng.integers(0, p.solution_len - p.diff_len + 1, size=n).tolist()
        correct = rng.integers(0, 2, size=n).tolist()
        out = []
        for goal, base, bad, pick, start, c in zip(goals, bases, wrong, picks, starts, correct):
            good = base[:start] + [goal[i] for i in pick] + base[start + p.diff_len :]
            worse = base[:start] + bad + base[start + p.diff_len :]
            out.append({"question": goal, "options": [good, worse] if c == 0 else [worse, good]})
        return out

    def rule(self, inputs: Inputs) -> int:
        goal = set(inputs["question"])
        options = [set(option) for option in inputs["options"]]
        scores = []
        for i, option in enumerate(options):
            others = set().union(*(o for j, o in enumerate(options) if j != i))
            scores.append(len((option - others) & goal))
        return argmax_first(scores)

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Goal", " ".join(inputs["question"]))]

    def real_inputs(self, example: RealExample) -> Inputs:
        return {
            "question": words(f"{example.context} {example.question}"),
            "options": [words(choice) for choice in example.choices or ()],
        }
