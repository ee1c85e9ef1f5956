"""Sort: the text's tokens in alphabetical order."""

from __future__ import annotations

from cookbook_hub.templates.base import Inputs, Tokens
from cookbook_hub.templates.registry import register
from cookbook_hub.templates.sequence import SequenceTemplate


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
        return sorted(inputs["context"], key=lambda t: (t.lower(), t))
