"""Sort: the text's tokens in alphabetical order."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from cookbook_hub.templates.base import Inputs, Tokens
from cookbook_hub.templates.registry import register
from cookbook_hub.templates.sequence import SequenceTemplate
from cookbook_hub.tokens.ids import TokenIds


@register
class Sort(SequenceTemplate):
    """Sort the text's tokens alphabetically.

    Rule: the answer is the tokens sorted case-insensitively (ties by the exact string).
    Target: list manipulation and ordering (BIG-bench word_sorting).

    Example (qa style, `example_params`, sample 0):
        Text: trying coron suspension shots sm kilometer
        Answer: coron kilometer shots sm suspension trying
    """

    name = "sort"
    version = 1
    target_task = "ordering (word sorting)"
    summary = "the answer is the tokens in alphabetical order"
    instruction = "Sort the words of the text in alphabetical order."

    def rule(self, inputs: Inputs) -> Tokens:
        return sorted(inputs["context"], key=sort_key)

    @cached_property
    def ranks(self) -> np.ndarray:
        """Each token id's place in the vocabulary sorted by `sort_key`."""
        order = sorted(range(len(self.vocabulary)), key=lambda i: sort_key(self.vocabulary[i]))
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order))
        return ranks

    def order_keys(self, context: TokenIds) -> np.ndarray:
        return self.ranks[context.ids]


def sort_key(token: str) -> tuple[str, str]:
    """Case-insensitive order, ties by the exact string."""
    return token.lower(), token
