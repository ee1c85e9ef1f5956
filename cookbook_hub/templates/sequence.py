"""Shared base of the sequence-transform templates (copy, sort, reverse): one text, one rule."""

from __future__ import annotations

import numpy as np
from pydantic import PositiveInt

from cookbook_hub.templates.base import Inputs, RangeChecks, Template, params_dataclass


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

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        p = self.params
        lengths = self.lengths(rng, p.min_len, p.max_len, n)
        texts = self.words(self.ids(rng, (n, p.max_len)))
        return [{"context": text[:length]} for text, length in zip(texts, lengths)]

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Text", " ".join(inputs["context"]))]
