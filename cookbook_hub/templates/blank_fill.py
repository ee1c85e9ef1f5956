"""Blank filling (WinoGrande style: a sentence with `_` and two options)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    EDGE_PUNCTUATION,
    Block,
    ChoiceTemplate,
    Inputs,
    RealExample,
    Tokens,
    argmax_first,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds

BLANK = "_"


@params_dataclass
class BlankFillParams:
    """Sentence length (without the blank) and number of options."""

    sentence_len: PositiveInt = 16
    num_options: PositiveInt = 2

    @pydantic.model_validator(mode="after")
    def _check(self) -> BlankFillParams:
        if self.num_options < 2 or self.num_options > 26:
            raise ValueError(f"num_options ({self.num_options}) must be between 2 and 26")
        if self.sentence_len < 2 * self.num_options + 2:
            raise ValueError(f"sentence_len ({self.sentence_len}) must be >= 2 * num_options + 2")
        return self


def context_match(sentence: Tokens, option: Tokens, before: str | None, after: str | None) -> int:
    """Best count, over the option's mentions, of neighbours equal to the blank's neighbours."""
    width, best = len(option), 0
    for i in range(len(sentence) - width + 1):
        if sentence[i : i + width] == option:
            left = sentence[i - 1] if i > 0 else None
            right = sentence[i + width] if i + width < len(sentence) else None
            best = max(best, int(left is not None and left == before) + int(right is not None and right == after))
    return best


def blank_words(text: str) -> Tokens:
    """A real text as words with its blanks kept: a word made only of punctuation that holds `_` (`_`, `___`,
    `_.`) becomes the blank token."""
    out: Tokens = []
    for token in text.split():
        out.extend([BLANK] if BLANK in token and not token.strip(EDGE_PUNCTUATION) else words(token))
    return out


@register
class BlankFill(ChoiceTemplate):
    """Fill the blank with the option whose mention sits in the same context as the blank.

    Rule: compare the tokens just before and after the blank `_` with the tokens around each
    option's mentions in the sentence; the answer is the option with the most matching neighbours
    (the first one on ties).
    Target: pronoun/coreference blank filling (WinoGrande).

    Example (qa style, `example_params`, sample 0):
        Sentence: cheat cp fem database snowfall grip ple habitat database _ grip
        Options:
        A. snowfall
        B. grip
        Answer: A
    """

    name = "blank_fill"
    version = 1
    family = "multiple_choice"
    target_task = "blank filling / coreference (WinoGrande)"
    summary = "fill `_` with the option whose mention has the same neighbours as the blank"
    instruction = "Fill the blank _ with the option that appears in the same surroundings as the blank."
    Params = BlankFillParams
    fields = {"context": "tokens", "options": "token_lists"}
    example_params = {"sentence_len": 8, "num_options": 2}
    distinct_param = "num_options"
    section_fields = (("Sentence", "context"),)
    extra_tokens = (BLANK,)

    real_kinds = ("choice",)
    real_mapping = "context + question -> sentence (`_` the blank, else one at the end), choices -> options"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        k = p.num_options
        sentences = self.ids(rng, (n, p.sentence_len))
        names = self.distinct_ids(rng, n, k)
        # mention slots: k distinct positions in 1..len-3 (a left neighbour, room for the blank after)
        slots = rng.random((n, p.sentence_len - 3)).argsort(axis=1)[:, :k] + 1
        correct = rng.integers(0, k, size=n)
        np.put_along_axis(sentences, slots, names, axis=1)
        pos = slots[np.arange(n), correct][:, None]
        blank = np.full((n, 1), self.blank_id)
        tail = [np.take_along_axis(sentences, pos - 1, axis=1), blank, np.take_along_axis(sentences, pos + 1, axis=1)]
        return {"context": TokenIds(np.hstack([sentences, *tail])), "options": TokenIds(names[:, :, None])}

    @property
    def blank_id(self) -> int:
        """The id of the blank marker (after the token space's ids)."""
        return len(self.token_space)

    def rule(self, inputs: Inputs) -> int:
        sentence, options = inputs["context"], inputs["options"]
        if BLANK not in sentence:
            raise ValueError(f"blank_fill: the sentence has no blank token {BLANK!r}")
        at = sentence.index(BLANK)
        before = sentence[at - 1] if at > 0 else None
        after = sentence[at + 1] if at + 1 < len(sentence) else None
        return argmax_first([context_match(sentence, option, before, after) for option in options])

    def rule_block(self, block: Block) -> np.ndarray:
        """`context_match` of every option, row by row, then the first best option."""
        sentence, options = block["context"].ids, block["options"].ids
        n, size = sentence.shape
        rows, width = np.arange(n), options.shape[2]
        at = (sentence == self.blank_id).argmax(axis=1)
        outside = np.full((n, 1), -1)  # a mention's missing neighbour equals no token, not even a missing one (-2)
        padded = np.hstack([outside, sentence, outside])
        before = np.where(at > 0, padded[rows, at], -2)
        after = np.where(at + 1 < size, padded[rows, at + 2], -2)
        room = size - width + 1
        scores = np.zeros(options.shape[:2], dtype=np.int64)
        for j in range(options.shape[1]):
            mention = np.ones((n, max(room, 0)), dtype=bool)
            for d in range(width):
                mention &= sentence[:, d : d + room] == options[:, j, d : d + 1]
            left = padded[:, :room] == before[:, None]
            right = padded[:, width + 1 : width + 1 + room] == after[:, None]
            scores[:, j] = np.where(mention, left.astype(np.int64) + right, 0).max(axis=1, initial=0)
        return scores.argmax(axis=1)

    def real_inputs(self, example: RealExample) -> Inputs:
        """The example's text is the sentence, its choices the options. A text without a blank gets one at its
        end (the choice completes it); a choice with no words is its raw text, which no sentence word equals."""
        sentence = blank_words(f"{example.context} {example.question}")
        if BLANK not in sentence:
            sentence.append(BLANK)
        return {"context": sentence, "options": [words(choice) or [choice] for choice in example.choices or ()]}
