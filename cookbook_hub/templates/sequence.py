"""Shared base of the sequence-transform templates (copy, sort, reverse): one text, one rule."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import Inputs, Template, check_range, params_dataclass


@params_dataclass
class SequenceParams:
    """Length range of the input text, in tokens."""

    min_len: PositiveInt = 8
    max_len: PositiveInt = 48

    @pydantic.model_validator(mode="after")
    def _check(self) -> SequenceParams:
        check_range("min_len", self.min_len, "max_len", self.max_len)
        return self


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
