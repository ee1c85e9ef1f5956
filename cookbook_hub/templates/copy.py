"""Copy: repeat the text."""

from __future__ import annotations

from cookbook_hub.templates.base import Block, Inputs, Tokens
from cookbook_hub.templates.registry import register
from cookbook_hub.templates.sequence import SequenceTemplate
from cookbook_hub.tokens.ids import TokenIds


@register
class Copy(SequenceTemplate):
    """Repeat the text exactly.

    Rule: the answer is the input tokens, unchanged.
    Target: faithful reproduction (quoting, extraction of long spans, format following).

    Example (qa style, `example_params`, sample 0):
        Text: companion cad kindly filepath
        Answer: companion cad kindly filepath
    """

    name = "copy"
    version = 1
    target_task = "faithful copying / quoting"
    summary = "the answer is the text, unchanged"
    instruction = "Repeat the text exactly."

    def rule(self, inputs: Inputs) -> Tokens:
        return list(inputs["context"])

    def rule_block(self, block: Block) -> TokenIds:
        return block["context"]
