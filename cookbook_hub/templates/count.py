"""Count: how many times a token occurs in the text."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import Inputs, RangeChecks, Template, Tokens, params_dataclass
from cookbook_hub.templates.registry import register


@params_dataclass
class CountParams(RangeChecks):
    """Text length range and the chance that each position holds the queried token."""

    ranges = (("min_len", "max_len"),)

    min_len: PositiveInt = 16
    max_len: PositiveInt = 48
    rate: float = pydantic.Field(default=0.15, gt=0.0, lt=1.0)


def count_span(text: Tokens, query: Tokens) -> int:
    """Number of (possibly overlapping) occurrences of `query` in `text`."""
    width = len(query)
    if width == 0:
        return 0
    return sum(text[i : i + width] == query for i in range(len(text) - width + 1))


@register
class Count(Template):
    """Count how many times the query occurs in the text.

    Rule: the answer is the number of occurrences of the query tokens in the text, in digits.
    Target: counting (BIG-bench letter/word counting, simple arithmetic reading).

    Example (qa style, `example_params`, sample 0):
        Text: landlords exclusive woodlands agreements disinf rubrics actually diver
        Query: exclusive
        Answer: 1
    """

    name = "count"
    version = 1
    family = "generative"
    target_task = "counting"
    summary = "the answer is how many times the query occurs in the text"
    instruction = "Count how many times the query word occurs in the text."
    Params = CountParams
    fields = {"context": "tokens", "question": "tokens"}
    example_params = {"min_len": 8, "max_len": 10, "rate": 0.3}

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        p = self.params
        lengths = self.lengths(rng, p.min_len, p.max_len, n)
        texts = self.words(self.ids(rng, (n, p.max_len)))
        queries = self.words(self.ids(rng, n))
        hits = (rng.random((n, p.max_len)) < p.rate).tolist()
        out = []
        for text, length, query, hit in zip(texts, lengths, queries, hits):
            text = [query if h else t for t, h in zip(text[:length], hit)]
            out.append({"context": text, "question": [query]})
        return out

    def rule(self, inputs: Inputs) -> Tokens:
        return [str(count_span(inputs["context"], inputs["question"]))]

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Text", " ".join(inputs["context"])), ("Query", " ".join(inputs["question"]))]
