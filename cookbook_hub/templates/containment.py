"""Yes/no containment (BoolQ style: a passage and a question)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import ChoiceTemplate, Inputs, RangeChecks, RealExample, params_dataclass, words
from cookbook_hub.templates.registry import register


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

    real_kinds = ("yes_no",)
    real_mapping = "context -> passage, question -> question; yes/no"

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        p = self.params
        lengths = self.lengths(rng, p.passage_min_len, p.passage_max_len, n)
        passages = self.words(self.ids(rng, (n, p.passage_max_len)))
        order = rng.random((n, p.passage_max_len)).argsort(axis=1).tolist()
        answers_no = (rng.random(n) < 0.5).tolist()
        intruders = self.words(self.ids(rng, n))
        swap_at = rng.integers(0, p.question_len, size=n).tolist()
        out = []
        for passage, length, perm, no, intruder, at in zip(passages, lengths, order, answers_no, intruders, swap_at):
            passage = passage[:length]
            question = [passage[i] for i in perm if i < length][: p.question_len]
            if no:
                question[at] = intruder
            out.append({"context": passage, "question": question})
        return out

    def rule(self, inputs: Inputs) -> int:
        passage = set(inputs["context"])
        return int(all(token in passage for token in inputs["question"]))

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Passage", " ".join(inputs["context"])), ("Question", " ".join(inputs["question"]))]

    def real_inputs(self, example: RealExample) -> Inputs:
        return {"context": words(example.context), "question": words(example.question)}
