"""Entity matching (two records -> yes/no)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import Block, ChoiceTemplate, Inputs, RealExample, Tokens, params_dataclass, words
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, join_flat

FIELD_BREAK = re.compile(r"[|;\n]")


@params_dataclass
class EntityMatchParams:
    """Number of attributes per record and tokens per attribute value."""

    num_attributes: PositiveInt = 4
    value_len: PositiveInt = 2

    @pydantic.model_validator(mode="after")
    def _check(self) -> EntityMatchParams:
        if self.num_attributes < 2:
            raise ValueError(f"num_attributes ({self.num_attributes}) must be >= 2")
        return self


def render_record(attributes: Tokens, values: list[Tokens]) -> str:
    """`name: v v | city: v v` rendering of a record."""
    return " | ".join(f"{a}: {' '.join(v)}" for a, v in zip(attributes, values))


def record_fields(text: str) -> dict[str, Tokens]:
    """A real record's field values by attribute: fields are split on `|`, `;` or line breaks; a field
    `name: value` is filed under its name, one without a name under its position (`field 2`); a field with no
    words is skipped, and a repeated name keeps its first value."""
    fields: dict[str, Tokens] = {}
    for position, field in enumerate((f for f in FIELD_BREAK.split(text) if words(f)), start=1):
        name, colon, value = field.partition(":")
        key = " ".join(words(name)) if colon else ""
        fields.setdefault(key or f"field {position}", words(value) if colon else words(field))
    return fields


@register
class EntityMatch(ChoiceTemplate):
    """Answer yes if the two records agree on most attributes, no otherwise.

    Rule: yes iff more than half of the attributes have identical values in both records.
    Target: entity matching / record linkage (e.g. the Magellan benchmarks), and paraphrase-style
    same-or-different judgements.

    Example (qa style, `example_params`, sample 0):
        Record 1: far: credited | icon: las | delves: merging
        Record 2: far: credited | icon: aqu | delves: fre
        Answer: no
    """

    name = "entity_match"
    version = 1
    family = "entity"
    target_task = "entity matching / record linkage"
    summary = "yes iff more than half of the attributes have equal values"
    instruction = "Answer yes if the two records describe the same entity (most fields equal), otherwise no."
    Params = EntityMatchParams
    fields = {"attributes": "tokens", "left": "token_lists", "right": "token_lists"}
    example_params = {"num_attributes": 3, "value_len": 1}
    distinct_param = "num_attributes"
    lettered = False
    fixed_choices = ("no", "yes")

    real_kinds = ("yes_no",)
    real_mapping = "context -> record 1, question -> record 2 (`name: value` fields split on `|`, `;`, lines); yes/no"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        k = p.num_attributes
        attributes = self.distinct_ids(rng, n, k)
        left = self.ids(rng, (n, k, p.value_len))
        right = self.ids(rng, (n, k, p.value_len))
        is_match = rng.random(n) < 0.5
        # a match keeps a strict majority equal; a non-match at most half
        majority = k // 2 + 1
        kept_match = rng.integers(majority, k + 1, size=n)
        kept_other = rng.integers(0, k - majority + 1, size=n)
        order = rng.random((n, k)).argsort(axis=1)
        # the attributes at the first `kept` places of `order` get the left record's value
        copied = np.zeros((n, k), dtype=bool)
        kept = np.where(is_match, kept_match, kept_other)
        np.put_along_axis(copied, order, np.arange(k) < kept[:, None], axis=1)
        right[copied] = left[copied]
        return {"attributes": TokenIds(attributes), "left": TokenIds(left), "right": TokenIds(right)}

    def rule(self, inputs: Inputs) -> int:
        equal = sum(a == b for a, b in zip(inputs["left"], inputs["right"]))
        return int(equal * 2 > len(inputs["attributes"]))

    def rule_block(self, block: Block) -> np.ndarray:
        equal = (block["left"].ids == block["right"].ids).all(axis=2).sum(axis=1)
        return (equal * 2 > block["attributes"].ids.shape[1]).astype(np.int64)

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        attrs = inputs["attributes"]
        return [("Record 1", render_record(attrs, inputs["left"])), ("Record 2", render_record(attrs, inputs["right"]))]

    def section_columns(self, block: Block, inputs: dict[str, pa.Array]) -> list[tuple[str, pa.StringArray]]:
        """`render_record` for a whole block."""
        attributes = block["attributes"].ids
        names = self.vocabulary_arrow.take(attributes.reshape(-1))
        offsets = np.arange(len(attributes) + 1) * attributes.shape[1]
        records = []
        for label, side in (("Record 1", "left"), ("Record 2", "right")):
            fields = pc.binary_join_element_wise(names, inputs[side].values, ": ")  # one value text per attribute
            records.append((label, join_flat(fields, offsets, " | ")))
        return records

    def real_inputs(self, example: RealExample) -> Inputs:
        """The context and the question are the two records, compared attribute by attribute over the names
        either one has (a value only one record gives differs); with no fields at all the answer is no."""
        left, right = record_fields(example.context), record_fields(example.question)
        names = list(dict.fromkeys([*left, *right]))
        return {
            "attributes": names,
            "left": [left.get(name, []) for name in names],
            "right": [right.get(name, []) for name in names],
        }
