"""Token ids of whole blocks, and their text assembled in Arrow buffers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cookbook_hub.tokens.ids import TokenIds, join, join_flat, nest

WORDS = ("alpha", "beta", "gamma", "délta", "ε", "zeta")
TABLE = pa.array(WORDS, pa.string())
VOCAB = np.array(WORDS, dtype=object)


def test_join_ragged_rows_equals_python_joins_including_empty_rows():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, len(WORDS), size=(200, 7))
    lengths = rng.integers(0, 8, size=200)
    lengths[:3] = [0, 7, 1]
    tokens = TokenIds(ids, lengths)
    expected = [" ".join(WORDS[i] for i in row[:n]) for row, n in zip(ids.tolist(), lengths.tolist(), strict=True)]
    got = join(TABLE, tokens)
    assert got.type == pa.string()
    assert got.to_pylist() == expected
    assert got.to_pylist()[0] == ""
    assert tokens.to_lists(VOCAB) == [[WORDS[i] for i in row[:n]] for row, n in zip(ids, lengths, strict=True)]


def test_join_token_lists_gives_one_text_per_item_and_nest_groups_them_by_row():
    ids = np.array([[[0, 1], [2, 3], [4, 5]], [[5, 5], [0, 0], [1, 2]]])
    texts = join(TABLE, TokenIds(ids), sep="+")
    assert texts.to_pylist() == ["alpha+beta", "gamma+délta", "ε+zeta", "zeta+zeta", "alpha+alpha", "beta+gamma"]
    nested = nest(texts, 3)
    assert nested.type == pa.list_(pa.string())
    assert nested.to_pylist() == [["alpha+beta", "gamma+délta", "ε+zeta"], ["zeta+zeta", "alpha+alpha", "beta+gamma"]]
    assert TokenIds(ids).to_lists(VOCAB)[1] == [["zeta", "zeta"], ["alpha", "alpha"], ["beta", "gamma"]]


def test_rows_and_concat_round_trip_and_keep_lengths():
    ids = np.arange(40).reshape(10, 4) % len(WORDS)
    tokens = TokenIds(ids, np.arange(10) % 5)
    parts = [tokens.rows(0, 3), tokens.rows(3, 3), tokens.rows(3, 10)]
    joined = TokenIds.concat(parts)
    assert np.array_equal(joined.ids, ids) and np.array_equal(joined.lengths, tokens.lengths)
    assert join(TABLE, joined).equals(join(TABLE, tokens))
    assert TokenIds.concat([TokenIds(ids[:2]), TokenIds(ids[2:])]).lengths is None


def test_valid_mask_and_flat_offsets():
    tokens = TokenIds(np.array([[1, 2, 3], [4, 5, 0]]), np.array([1, 3]))
    assert tokens.valid.tolist() == [[True, False, False], [True, True, True]]
    flat, offsets = tokens.flat()
    assert flat.tolist() == [1, 4, 5, 0] and offsets.tolist() == [0, 1, 4]
    assert TokenIds(np.zeros((2, 3), dtype=int)).valid.all()
    flat, offsets = TokenIds(np.zeros((2, 3, 2), dtype=int)).flat()
    assert len(flat) == 12 and offsets.tolist() == [0, 2, 4, 6, 8, 10, 12]


def test_join_flat_joins_each_slice():
    values = pa.array(["a", "b", "c", "d"])
    assert join_flat(values, np.array([0, 1, 1, 4]), ", ").to_pylist() == ["a", "", "b, c, d"]
