"""Shared base of the sequence-transform templates (copy, sort, reverse): one text, one rule."""

from __future__ import annotations

import numpy as np
from pydantic import PositiveInt

from cookbook_hub.templates.base import Block, RangeChecks, Template, params_dataclass
from cookbook_hub.tokens.ids import TokenIds


@params_dataclass
class SequenceParams(RangeChecks):
    """Length range of the input text, in tokens."""

    ranges = (("min_len", "max_len"),)

    min_len: PositiveInt = 8
    max_len: PositiveInt = 48


class SequenceTemplate(Template):
    """A template whose input is one random text and whose rule transforms it."""

    family = "generative"
    Params = SequenceParams
    fields = {"context": "tokens"}
    example_params = {"min_len": 4, "max_len": 6}
    section_fields = (("Text", "context"),)

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        lengths = self.lengths(rng, p.min_len, p.max_len, n)
        return {"context": TokenIds(self.ids(rng, (n, p.max_len)), lengths)}

    def rule_block(self, block: Block) -> TokenIds:
        """Each row's tokens, reordered by `order_keys` (ties keep their order)."""
        context = block["context"]
        keys = np.where(context.valid, self.order_keys(context), np.iinfo(np.int64).max)
        order = np.argsort(keys, axis=1, kind="stable")
        return TokenIds(np.take_along_axis(context.ids, order, axis=1), context.lengths)

    def order_keys(self, context: TokenIds) -> np.ndarray:
        """(n, width) keys whose ascending order is the answer's order of each row's tokens."""
        raise NotImplementedError
