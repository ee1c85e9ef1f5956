"""Entity disambiguation (a mention in a passage, several candidate entities)."""

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
    anchor_word,
    argmax_first,
    find_span,
    overlaps,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, overlap_counts, span_matches


@params_dataclass
class EntityDisambiguationParams:
    """Passage length, candidate count and description length, context window and clue count."""

    passage_len: PositiveInt = 48
    num_candidates: PositiveInt = 3
    description_len: PositiveInt = 6
    window: PositiveInt = 4
    clues: PositiveInt = 2

    @pydantic.model_validator(mode="after")
    def _check(self) -> EntityDisambiguationParams:
        if self.num_candidates < 2 or self.num_candidates > 26:
            raise ValueError(f"num_candidates ({self.num_candidates}) must be between 2 and 26")
        if self.clues > min(self.window, self.description_len):
            raise ValueError(f"clues ({self.clues}) must be <= window and description_len")
        if self.passage_len < 4 * self.window + 2:
            raise ValueError(f"passage_len ({self.passage_len}) must be >= 4 * window + 2")
        return self


def mention_window(passage: Tokens, mention: Tokens, window: int) -> Tokens:
    """The `window` tokens on each side of the mention's first occurrence (empty if absent)."""
    at = find_span(passage, mention)
    if at < 0:
        return []
    return passage[max(0, at - window) : at] + passage[at + len(mention) : at + len(mention) + window]


@register
class EntityDisambiguation(ChoiceTemplate):
    """Pick the candidate whose description shares the most tokens with the mention's surroundings.

    Rule: take the `window` tokens on each side of the mention's first occurrence in the passage;
    the answer is the candidate whose description shares the most of them (the first on ties).
    Distractor descriptions share tokens with other, farther parts of the passage, so only the
    local context decides.
    Target: entity disambiguation / linking, and word-sense choice in context.

    Example (qa style, `example_params`, sample 0):
        Passage: predictive phenomen parades producer assertion crystall feminine gothic castle free bewild
          moral compar purchased swept mania low unicode biopsies dire
        Mention: feminine
        Options:
        A. gothic crystall fungal
        B. monoclonal biopsies unicode
        C. toy low compar
        Answer: A
    """

    name = "entity_disambiguation"
    version = 1
    family = "entity"
    target_task = "entity disambiguation / linking"
    summary = "pick the candidate sharing the most tokens with the mention's local context"
    instruction = "Pick the candidate whose description best matches the words around the mention."
    Params = EntityDisambiguationParams
    fields = {"context": "tokens", "question": "tokens", "options": "token_lists"}
    example_params = {"passage_len": 20, "num_candidates": 3, "description_len": 3, "window": 2, "clues": 2}
    section_fields = (("Passage", "context"), ("Mention", "question"))

    real_kinds = ("choice",)
    real_mapping = "context -> passage, question -> mention (itself or its rarest word there), choices -> candidates"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        passages = self.ids(rng, (n, p.passage_len))
        mentions = self.ids(rng, (n, 1))
        descriptions = self.ids(rng, (n, p.num_candidates, p.description_len))
        # the mention sits in the first half; distractor clues come from the far second half
        at = rng.integers(p.window, p.passage_len // 2 - p.window, size=n)
        correct = rng.integers(0, p.num_candidates, size=n)
        near = rng.random((n, 2 * p.window)).argsort(axis=1)
        far = rng.integers(p.passage_len // 2 + p.window, p.passage_len, size=(n, p.num_candidates, p.clues))
        slot = rng.random((n, p.num_candidates, p.description_len)).argsort(axis=2)[:, :, : p.clues]
        rows = np.arange(n)
        passages[rows, at] = mentions[:, 0]
        sides = np.concatenate([np.arange(-p.window, 0), np.arange(1, p.window + 1)])
        around = np.take_along_axis(passages, at[:, None] + sides, axis=1)
        clues = passages[rows[:, None, None], far]
        clues[rows, correct] = np.take_along_axis(around, near[:, : p.clues], axis=1)
        np.put_along_axis(descriptions, slot, clues, axis=2)
        return {"context": TokenIds(passages), "question": TokenIds(mentions), "options": TokenIds(descriptions)}

    def rule(self, inputs: Inputs) -> int:
        around = mention_window(inputs["context"], inputs["question"], self.params.window)
        return argmax_first(overlaps(around, inputs["options"]))

    def rule_block(self, block: Block) -> np.ndarray:
        """`mention_window` row by row (no mention: no window), then the first option with the most overlap."""
        passage, mention, w = block["context"], block["question"].ids, self.params.window
        starts = span_matches(passage, mention)
        at, end = starts.argmax(axis=1)[:, None], starts.argmax(axis=1)[:, None] + mention.shape[1]
        places = np.arange(passage.ids.shape[1])
        window = ((places >= at - w) & (places < at)) | ((places >= end) & (places < end + w))
        window &= starts.any(axis=1)[:, None] & passage.valid
        return overlap_counts(passage.ids, window, block["options"].ids).argmax(axis=1)

    def real_inputs(self, example: RealExample) -> Inputs:
        """The context is the passage and the choices the candidates' descriptions; the mention is the question
        when the passage holds it word for word, else the question's word the passage holds the fewest times
        (none shared: no mention, so no surroundings, and the first candidate wins)."""
        passage, mention = words(example.context), words(example.question)
        if find_span(passage, mention) < 0:
            anchor = anchor_word(passage, mention)
            mention = [anchor] if anchor else []
        return {"context": passage, "question": mention, "options": [words(choice) for choice in example.choices or ()]}
