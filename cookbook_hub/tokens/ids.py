"""Token ids of a whole block of samples, and their text assembled straight into Arrow string arrays.

A `TokenIds` holds one input field over a block of rows: an (n, width) id array for a token list per row
(cut to `lengths[i]` tokens where rows are ragged), or an (n, items, width) array for a fixed number of
token lists per row. `join` turns ids into space-joined text without a Python loop per row: Arrow gathers
the token strings (`take`) and joins each row's tokens (`binary_join`) in its own buffers.

The functions at the end answer what vectorised template rules ask of id arrays: where a span starts
(`span_matches`), which ids a row holds (`contains`), which ids of a list are distinct (`distinct`,
`overlap_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class TokenIds:
    """Token ids of one field over n rows: (n, width) or (n, items, width); `lengths` (n,) cuts ragged rows."""

    ids: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """A mask the shape of `ids`: the ids inside each row (all of them where rows are not ragged)."""
        if self.lengths is None:
            return np.ones(self.ids.shape, dtype=bool)
        return np.arange(self.ids.shape[-1]) < self.lengths[:, None]

    def rows(self, start: int, stop: int) -> TokenIds:
        """Rows [start, stop)."""
        return self.rows_at(slice(start, stop))

    def rows_at(self, where: slice | np.ndarray) -> TokenIds:
        """The rows a slice or an index array selects."""
        return TokenIds(self.ids[where], None if self.lengths is None else self.lengths[where])

    @staticmethod
    def concat(parts: Sequence[TokenIds]) -> TokenIds:
        """The rows of several blocks of the same field, in order."""
        ids = np.concatenate([p.ids for p in parts])
        ragged = parts[0].lengths is not None
        return TokenIds(ids, np.concatenate([p.lengths for p in parts]) if ragged else None)

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(the ids of every string in order, each string's start in them plus the end): one string per row
        of an (n, width) field, one per item of an (n, items, width) field."""
        if self.lengths is None:
            count = int(np.prod(self.ids.shape[:-1]))
            return self.ids.reshape(-1), np.arange(count + 1, dtype=np.int32) * self.ids.shape[-1]
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int32)
        np.cumsum(self.lengths, out=offsets[1:])
        return self.ids[self.valid], offsets

    def to_lists(self, table: np.ndarray) -> list:
        """The token strings as nested Python lists (`table`: an object array of the strings by id)."""
        words = table[self.ids].tolist()
        if self.lengths is None:
            return words
        return [row[:length] for row, length in zip(words, self.lengths.tolist())]


def join(table: pa.StringArray, tokens: TokenIds, sep: str = " ") -> pa.StringArray:
    """Each string of `tokens` (see `TokenIds.flat`) as its token texts joined by `sep`."""
    ids, offsets = tokens.flat()
    return join_flat(table.take(pa.array(ids)), offsets, sep)


def join_flat(values: pa.StringArray, offsets: np.ndarray, sep: str) -> pa.StringArray:
    """values[offsets[i]:offsets[i + 1]] joined by `sep`, for every i."""
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
    return pc.binary_join(lists, sep)


def nest(values: pa.Array, items: int) -> pa.ListArray:
    """A flat array of n * items values as n lists of `items` values each."""
    offsets = np.arange(len(values) // items + 1, dtype=np.int32) * items
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def span_matches(text: TokenIds, query: np.ndarray) -> np.ndarray:
    """`find_span` over a block: an (n, width) mask, True where row i's `query[i]` (an (n, m) id array, m >= 1)
    starts inside the row's text."""
    width, room = query.shape[1], text.ids.shape[1] - query.shape[1] + 1
    found = np.zeros(text.ids.shape, dtype=bool)
    if room < 1:
        return found
    starts = text.valid[:, width - 1 :].copy()  # the span ends inside the row
    for d in range(width):
        starts &= text.ids[:, d : d + room] == query[:, d : d + 1]
    found[:, :room] = starts
    return found


def contains(reference: np.ndarray, valid: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Membership over a block: for ids `tokens` of shape (n, ...), whether row i's `reference[i]` (an (n, r) id
    array, `valid` its (n, r) mask) holds each of them."""
    found = np.zeros(tokens.shape, dtype=bool)
    spread = (slice(None),) + (None,) * (tokens.ndim - 1)
    for j in range(reference.shape[1]):  # a loop over the narrow axis beats broadcasting with numpy's reductions
        found |= (tokens == reference[:, j][spread]) & valid[:, j][spread]
    return found


def distinct(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each list along the last axis of `ids` sorted, and a mask of its first occurrences (`set` semantics)."""
    ordered = np.sort(ids, axis=-1)
    first = np.ones(ids.shape, dtype=bool)
    first[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    return ordered, first


def overlap_counts(reference: np.ndarray, valid: np.ndarray, options: np.ndarray) -> np.ndarray:
    """`overlaps` over a block: (n, k) counts of the distinct tokens of each option (`options`: (n, k, width))
    that row i's `reference[i]` holds (`valid`: its mask)."""
    ordered, first = distinct(options)
    return (contains(reference, valid, ordered) & first).sum(axis=-1)
