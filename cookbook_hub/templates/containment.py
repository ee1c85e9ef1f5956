"""Yes/no containment (BoolQ style: a passage and a question)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    Block,
    ChoiceTemplate,
    Inputs,
    RangeChecks,
    RealExample,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds


@params_dataclass
class ContainmentParams(RangeChecks):
    """Passage length range, question length."""

    ranges = (("passage_min_len", "passage_max_len"),)

    passage_min_len: PositiveInt = 48
    passage_max_len: PositiveInt = 128
    question_len: PositiveInt = 3

    @pydantic.model_validator(mode="after")
    def _check(self) -> ContainmentParams:
        if self.question_len > self.passage_min_len:
            raise ValueError(f"question_len ({self.question_len}) must be <= passage_min_len")
        return self


@register
class Containment(ChoiceTemplate):
    """Answer yes if every question token appears in the passage, no otherwise.

    Rule: yes iff each token of the question occurs somewhere in the passage (any order).
    Target: yes/no reading comprehension (BoolQ).

    Example (qa style, `example_params`, sample 0):
        Passage: defiance landings residual opio fundament miniature mistaken knots rid bombers
        Question: knots opio
        Answer: yes
    """

    name = "containment"
    version = 1
    family = "yes_no"
    target_task = "yes/no reading comprehension (BoolQ)"
    summary = "yes iff every question token occurs in the passage"
    instruction = "Answer yes if every word of the question appears in the passage, otherwise no."
    Params = ContainmentParams
    fields = {"context": "tokens", "question": "tokens"}
    example_params = {"passage_min_len": 10, "passage_max_len": 12, "question_len": 2}
    lettered = False
    fixed_choices = ("no", "yes")
    section_fields = (("Passage", "context"), ("Question", "question"))

    real_kinds = ("yes_no",)
    real_mapping = "context -> passage, question -> question; yes/no"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        lengths = self.lengths(rng, p.passage_min_len, p.passage_max_len, n)
        passages = self.ids(rng, (n, p.passage_max_len))
        order = rng.random((n, p.passage_max_len)).argsort(axis=1)
        answers_no = rng.random(n) < 0.5
        intruders = self.ids(rng, n)
        swap_at = rng.integers(0, p.question_len, size=n)
        # the question: the passage's tokens at the first question_len positions of `order` inside the passage
        inside = np.argsort(order >= lengths[:, None], axis=1, kind="stable")[:, : p.question_len]
        question = np.take_along_axis(passages, np.take_along_axis(order, inside, axis=1), axis=1)
        rows = np.flatnonzero(answers_no)
        question[rows, swap_at[rows]] = intruders[rows]
        return {"context": TokenIds(passages, lengths), "question": TokenIds(question)}

    def rule(self, inputs: Inputs) -> int:
        passage = set(inputs["context"])
        return int(all(token in passage for token in inputs["question"]))

    def rule_block(self, block: Block) -> np.ndarray:
        """1 where every question token occurs in the passage, row by row."""
        passage = block["context"]
        found = (block["question"].ids[:, :, None] == passage.ids[:, None, :]) & passage.valid[:, None, :]
        return found.any(axis=2).all(axis=1).astype(np.int64)

    def real_inputs(self, example: RealExample) -> Inputs:
        return {"context": words(example.context), "question": words(example.question)}
