"""Reverse: the text's tokens in reverse order."""

from __future__ import annotations

import numpy as np

from cookbook_hub.templates.base import Inputs, Tokens
from cookbook_hub.templates.registry import register
from cookbook_hub.templates.sequence import SequenceTemplate
from cookbook_hub.tokens.ids import TokenIds


@register
class Reverse(SequenceTemplate):
    """Write the text's tokens backwards.

    Rule: the answer is the tokens in reverse order.
    Target: sequence manipulation and attention to position (BIG-bench word-order tasks).

    Example (qa style, `example_params`, sample 0):
        Text: diagnosing hover taxpayer project mitochond vascul
        Answer: vascul mitochond project taxpayer hover diagnosing
    """

    name = "reverse"
    version = 1
    target_task = "sequence manipulation"
    summary = "the answer is the tokens in reverse order"
    instruction = "Write the words of the text in reverse order."

    def rule(self, inputs: Inputs) -> Tokens:
        return list(reversed(inputs["context"]))

    def order_keys(self, context: TokenIds) -> np.ndarray:
        return np.broadcast_to(-np.arange(context.ids.shape[1]), context.ids.shape)
