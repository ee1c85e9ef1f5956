"""Key-value lookup (associative recall)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    Block,
    Inputs,
    RangeChecks,
    RealExample,
    Template,
    Tokens,
    anchor_word,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, join_flat


@params_dataclass
class KeyValueParams(RangeChecks):
    """Number of key-value pairs (range)."""

    ranges = (("min_pairs", "max_pairs"),)

    min_pairs: PositiveInt = 8
    max_pairs: PositiveInt = 24


@register
class KeyValue(Template):
    """Look up the value stored under the queried key.

    Rule: the answer is the value paired with the first key equal to the query.
    Target: closed-book fact lookup from context (associative recall, table QA).

    Example (qa style, `example_params`, sample 0):
        Pairs: compressor: giant; bulld: salv; adop: viz; eroded: accel
        Query: eroded
        Answer: accel
    """

    name = "key_value"
    version = 1
    family = "document_qa"
    target_task = "lookup / associative recall (table QA)"
    summary = "the answer is the value paired with the query key"
    instruction = "Answer with the value stored under the query key."
    Params = KeyValueParams
    fields = {"keys": "tokens", "values": "tokens", "question": "tokens"}
    example_params = {"min_pairs": 3, "max_pairs": 4}
    distinct_param = "max_pairs"

    real_kinds = ("extractive",)
    real_mapping = "context -> pairs (word: next word), question -> query (its rarest word there); answer: the value"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        counts = self.lengths(rng, p.min_pairs, p.max_pairs, n)
        keys = self.distinct_ids(rng, n, p.max_pairs)
        values = self.ids(rng, (n, p.max_pairs))
        asked = (rng.random(n) * counts).astype(np.int64)
        question = np.take_along_axis(keys, asked[:, None], axis=1)
        return {"keys": TokenIds(keys, counts), "values": TokenIds(values, counts), "question": TokenIds(question)}

    def rule(self, inputs: Inputs) -> Tokens:
        keys, query = inputs["keys"], inputs["question"]
        return [inputs["values"][keys.index(query[0])]] if query and query[0] in keys else []

    def rule_block(self, block: Block) -> TokenIds:
        """The value under the first key equal to the query, row by row (none where no key is)."""
        keys, values = block["keys"], block["values"]
        equal = (keys.ids == block["question"].ids[:, :1]) & keys.valid
        value = np.take_along_axis(values.ids, equal.argmax(axis=1)[:, None], axis=1)
        return TokenIds(value, equal.any(axis=1).astype(np.int64))

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        pairs = "; ".join(f"{k}: {v}" for k, v in zip(inputs["keys"], inputs["values"]))
        return [("Pairs", pairs), ("Query", " ".join(inputs["question"]))]

    def section_columns(self, block: Block, inputs: dict[str, pa.Array]) -> list[tuple[str, pa.StringArray]]:
        keys, values = block["keys"], block["values"]
        key_ids, offsets = keys.flat()
        pairs = pc.binary_join_element_wise(
            self.vocabulary_arrow.take(key_ids), self.vocabulary_arrow.take(values.flat()[0]), ": "
        )
        return [("Pairs", join_flat(pairs, offsets, "; ")), ("Query", inputs["question"])]

    def real_inputs(self, example: RealExample) -> Inputs:
        """Each context word is a key whose value is the word after it; the query is the question's word that
        the fewest keys equal (none shared: no query, so an empty answer)."""
        passage = words(example.context)
        keys, values = passage[:-1], passage[1:]
        query = anchor_word(keys, words(example.question))
        return {"keys": keys, "values": values, "question": [query] if query else []}
