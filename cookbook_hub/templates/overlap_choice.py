"""Multiple-choice selection by overlap (ARC / OpenBookQA style)."""

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
    overlaps,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, overlap_counts


@params_dataclass
class OverlapChoiceParams:
    """Question length, option length, number of options and how many question tokens the answer holds."""

    question_len: PositiveInt = 16
    option_len: PositiveInt = 4
    num_options: PositiveInt = 4
    overlap: PositiveInt = 2

    @pydantic.model_validator(mode="after")
    def _check(self) -> OverlapChoiceParams:
        if self.num_options < 2 or self.num_options > 26:
            raise ValueError(f"num_options ({self.num_options}) must be between 2 and 26")
        if self.overlap > min(self.option_len, self.question_len):
            raise ValueError(f"overlap ({self.overlap}) must be <= option_len and question_len")
        return self


@register
class OverlapChoice(ChoiceTemplate):
    """Pick the option that shares the most tokens with the question.

    Rule: count the distinct tokens each option shares with the question; the answer is the
    option with the highest count (the first one on ties).
    Target: multiple-choice science QA (ARC-Easy, ARC-Challenge, OpenBookQA), where the right
    option often repeats words of the question.

    Example (qa style, `example_params`, sample 0):
        Question: fountain parties syll encourages startups vigorous
        Options:
        A. soldering stalls vin
        B. encourages litres syll
        C. irritants goose declining
        D. ornamental slaughter thicker
        Answer: B
    """

    name = "overlap_choice"
    version = 1
    family = "multiple_choice"
    target_task = "multiple-choice QA (ARC-E, ARC-C, OpenBookQA)"
    summary = "pick the option that shares the most tokens with the question"
    instruction = "Pick the option that shares the most words with the question."
    Params = OverlapChoiceParams
    fields = {"question": "tokens", "options": "token_lists"}
    example_params = {"question_len": 6, "option_len": 3, "num_options": 4, "overlap": 2}
    distinct_param = "question_len"
    section_fields = (("Question", "question"),)

    real_kinds = ("choice", "yes_no")
    real_mapping = "context + question -> question, choices -> options"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        questions = self.distinct_ids(rng, n, p.question_len)
        options = self.ids(rng, (n, p.num_options, p.option_len))
        correct = rng.integers(0, p.num_options, size=n)
        picks = rng.random((n, p.question_len)).argsort(axis=1)[:, : p.overlap]
        slots = rng.random((n, p.option_len)).argsort(axis=1)[:, : p.overlap]
        rows = np.arange(n)
        chosen = options[rows, correct]
        np.put_along_axis(chosen, slots, np.take_along_axis(questions, picks, axis=1), axis=1)
        options[rows, correct] = chosen
        return {"question": TokenIds(questions), "options": TokenIds(options)}

    def rule(self, inputs: Inputs) -> int:
        question = inputs["question"]
        return argmax_first(overlaps(question, inputs["options"]))

    def rule_block(self, block: Block) -> np.ndarray:
        question = block["question"]
        return overlap_counts(question.ids, question.valid, block["options"].ids).argmax(axis=1)

    def real_inputs(self, example: RealExample) -> Inputs:
        return {
            "question": words(f"{example.context} {example.question}"),
            "options": [words(choice) for choice in example.choices or ()],
        }
