"""The vectorised rules (`rule_block`) give, on many blocks, exactly what the per-row reference `rule` gives."""

from __future__ import annotations

import numpy as np
import pytest

from cookbook_hub.templates import ChoiceTemplate, get_template, template_names
from cookbook_hub.templates.base import Block, Template
from cookbook_hub.tokens.ids import TokenIds
from cookbook_hub.tokens.sampling import BLOCK_SIZE

NAMES = template_names()
BLOCKS = 24  # blocks per seed and params
# the smallest shapes each template allows: short rows, single tokens, few options (edges of every rule)
SMALL = {
    "blank_fill": {"sentence_len": 6, "num_options": 2},
    "containment": {"passage_min_len": 3, "passage_max_len": 4, "question_len": 3},
    "continuation_choice": {"context_len": 4, "ending_len": 2, "num_endings": 5},
    "copy": {"min_len": 1, "max_len": 3},
    "count": {"min_len": 1, "max_len": 3, "rate": 0.9},
    "entity_disambiguation": {"passage_len": 10, "num_candidates": 4, "description_len": 1, "window": 1, "clues": 1},
    "entity_match": {"num_attributes": 2, "value_len": 1},
    "key_value": {"min_pairs": 1, "max_pairs": 2},
    "overlap_choice": {"question_len": 2, "option_len": 2, "num_options": 3, "overlap": 2},
    "reverse": {"min_len": 1, "max_len": 2},
    "sort": {"min_len": 1, "max_len": 3},
    "span_qa": {"context_min_len": 5, "context_max_len": 9, "question_len": 1, "answer_len": 4},
    "two_way_choice": {"goal_len": 2, "solution_len": 2, "diff_len": 2},
}


def inputs_of(template: Template, block: Block) -> list[dict]:
    """The block's inputs as the token lists the reference rule reads."""
    columns = {name: ids.to_lists(template.vocabulary) for name, ids in block.items()}
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def assert_rule_matches(template: Template, block: Block) -> None:
    """`rule_block` (labels, or answer texts) equals `rule` row by row."""
    expected = [template.rule(inputs) for inputs in inputs_of(template, block)]
    if isinstance(template, ChoiceTemplate):
        assert template.rule_block(block).tolist() == expected
    else:
        assert template.answer_text(block).to_pylist() == [" ".join(answer) for answer in expected]


def crowded(template: Template, block: Block, rng: np.random.Generator) -> Block:
    """The block with a third of its ids replaced by ids from a handful of tokens: repeats, clashes and near misses
    that generated rows rarely hold (markers such as blank_fill's blank stay where they are)."""
    out = {}
    for name, ids in block.items():
        values = ids.ids.copy()
        hit = (rng.random(values.shape) < 1 / 3) & (values < len(template.token_space))
        values[hit] = rng.integers(0, 4, size=int(hit.sum()))
        out[name] = TokenIds(values, ids.lengths)
    return out


@pytest.mark.parametrize("small", [False, True], ids=["default", "small"])
@pytest.mark.parametrize("name", NAMES)
def test_vectorised_rule_equals_the_reference_on_many_blocks(name, small):
    template = get_template(name, SMALL[name] if small else None)
    assert template.columnar
    for seed in (0, 1):
        assert_rule_matches(template, template.block(0, BLOCKS * BLOCK_SIZE, seed))
    # a range that starts and ends inside blocks
    assert_rule_matches(template, template.block(BLOCK_SIZE // 3, 3 * BLOCK_SIZE + 17, 2))


@pytest.mark.parametrize("small", [False, True], ids=["default", "small"])
@pytest.mark.parametrize("name", NAMES)
def test_vectorised_rule_equals_the_reference_on_crowded_blocks(name, small):
    template = get_template(name, SMALL[name] if small else None)
    rng = np.random.default_rng(len(name))
    for seed in range(4):
        block = crowded(template, template.block(0, 4 * BLOCK_SIZE, seed), rng)
        assert_rule_matches(template, block)


def test_crowding_reaches_the_rules_rare_branches():
    """The crowded blocks hold cases generated rows almost never do (so the test above checks those branches)."""
    rng = np.random.default_rng(0)
    span = get_template("span_qa", SMALL["span_qa"])
    block = crowded(span, span.block(0, 4 * BLOCK_SIZE, 0), rng)
    short = span.answer_text(block).to_pylist()
    assert any(len(answer.split()) < 4 for answer in short)  # the span runs past the document's end
    entity = get_template("entity_disambiguation", SMALL["entity_disambiguation"])
    block = crowded(entity, entity.block(0, 4 * BLOCK_SIZE, 0), rng)
    passages, mentions = block["context"].ids, block["question"].ids
    assert (passages != mentions).all(axis=1).any()  # a mention missing from its passage


def test_draw_gives_the_token_lists_of_draw_block():
    template = get_template("blank_fill")
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    drawn = template.draw(rng_a, 5)
    block = template.draw_block(rng_b, 5)
    assert drawn == inputs_of(template, block)
    assert all(row["context"].count("_") == 1 for row in drawn)  # the extra token's id maps to the blank
