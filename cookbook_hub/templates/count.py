"""Count: how many times a token occurs in the text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import Block, Inputs, RangeChecks, Template, Tokens, params_dataclass
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, span_matches


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
    section_fields = (("Text", "context"), ("Query", "question"))

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        lengths = self.lengths(rng, p.min_len, p.max_len, n)
        texts = self.ids(rng, (n, p.max_len))
        queries = self.ids(rng, (n, 1))
        hits = rng.random((n, p.max_len)) < p.rate
        return {"context": TokenIds(np.where(hits, queries, texts), lengths), "question": TokenIds(queries)}

    def rule(self, inputs: Inputs) -> Tokens:
        return [str(count_span(inputs["context"], inputs["question"]))]

    def rule_block(self, block: Block) -> np.ndarray:
        """The number of (possibly overlapping) occurrences of each row's query in its text."""
        return span_matches(block["context"], block["question"].ids).sum(axis=1)

    def answer_text(self, block: Block) -> pa.StringArray:
        return pa.array(self.rule_block(block)).cast(pa.string())
