"""Continuation choice (HellaSwag style: a context and several endings)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    Block,
    ChoiceTemplate,
    Inputs,
    RealExample,
    Tokens,
    argmax_first,
    overlaps,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, overlap_counts


@params_dataclass
class ContinuationChoiceParams:
    """Context length, ending length and number of endings."""

    context_len: PositiveInt = 32
    ending_len: PositiveInt = 4
    num_endings: PositiveInt = 4

    @pydantic.model_validator(mode="after")
    def _check(self) -> ContinuationChoiceParams:
        if self.num_endings < 2 or self.num_endings > 26:
            raise ValueError(f"num_endings ({self.num_endings}) must be between 2 and 26")
        if self.context_len < self.ending_len + 2:
            raise ValueError(f"context_len ({self.context_len}) must be >= ending_len + 2")
        return self


def copied_continuation(context: Tokens, length: int) -> Tokens | None:
    """What followed the latest earlier occurrence of the context's last token, or None."""
    last = context[-1]
    for j in range(len(context) - 2, -1, -1):
        if context[j] == last:
            return context[j + 1 : j + 1 + length]
    return None


@register
class ContinuationChoice(ChoiceTemplate):
    """Pick the ending that continues the context the way it went before (copy the earlier pattern).

    Rule: find the latest earlier occurrence of the context's last token; the answer is the ending
    that matches, position by position, the most tokens of what followed it (the first one on
    ties). With no earlier occurrence, the ending sharing the most tokens with the context wins.
    Target: sentence continuation (HellaSwag), where the right ending continues the context's story.

    Example (qa style, `example_params`, sample 0):
        Context: misguided trains eyewitness science ages illusion cleared poker subdued eyewitness
        Options:
        A. science ages
        B. duties outsider
        C. flight seal
        Answer: A
    """

    name = "continuation_choice"
    version = 1
    family = "multiple_choice"
    target_task = "continuation choice (HellaSwag)"
    summary = "pick the ending that repeats what followed the context's last token before"
    instruction = "Pick the ending that continues the text the way it went the last time its final word appeared."
    Params = ContinuationChoiceParams
    fields = {"context": "tokens", "options": "token_lists"}
    example_params = {"context_len": 10, "ending_len": 2, "num_endings": 3}
    section_fields = (("Context", "context"),)

    real_kinds = ("choice",)
    real_mapping = "context + question -> context, choices -> endings"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        contexts = self.ids(rng, (n, p.context_len))
        endings = self.ids(rng, (n, p.num_endings, p.ending_len))
        anchors = rng.integers(0, p.context_len - p.ending_len - 1, size=n)
        correct = rng.integers(0, p.num_endings, size=n)
        rows = np.arange(n)
        contexts[:, -1] = contexts[rows, anchors]
        endings[rows, correct] = np.take_along_axis(contexts, anchors[:, None] + 1 + np.arange(p.ending_len), axis=1)
        return {"context": TokenIds(contexts), "options": TokenIds(endings)}

    def rule(self, inputs: Inputs) -> int:
        context, options = inputs["context"], inputs["options"]
        width = max(len(option) for option in options)
        follow = copied_continuation(context, width)
        if follow is None:
            return argmax_first(overlaps(context, options))
        return argmax_first([sum(a == b for a, b in zip(option, follow)) for option in options])

    def rule_block(self, block: Block) -> np.ndarray:
        """`copied_continuation` row by row, each option's matches against it (or, without one, the overlap),
        then the first best option."""
        context, options = block["context"], block["options"].ids
        ids, size, width = context.ids, context.ids.shape[1], options.shape[2]
        earlier = ids[:, :-1] == ids[:, -1:]
        found = earlier.any(axis=1)
        latest = size - 2 - earlier[:, ::-1].argmax(axis=1)
        cols = latest[:, None] + 1 + np.arange(width)
        follow = np.where(cols < size, np.take_along_axis(ids, np.minimum(cols, size - 1), axis=1), -1)
        copied = (options == follow[:, None, :]).sum(axis=2)
        overlap = overlap_counts(ids, context.valid, options)
        return np.where(found[:, None], copied, overlap).argmax(axis=1)

    def real_inputs(self, example: RealExample) -> Inputs:
        """The example's text is the context to continue, its choices the endings. A text with no words is one
        empty word, which nothing repeats or shares: the first ending wins."""
        context = words(f"{example.context} {example.question}")
        return {"context": context or [""], "options": [words(choice) for choice in example.choices or ()]}
