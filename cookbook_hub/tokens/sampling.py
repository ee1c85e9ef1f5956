"""Deterministic, index-addressable random streams and index ranges (splits, shards).

Sample `i` of a template is drawn from block `i // BLOCK_SIZE` of a counter-based Philox stream
keyed by (template name, version, params, token space, seed). Any index range can therefore be
generated anywhere, in any order, and gives the same rows; vectorised draws stay fast because a
whole block is drawn at once. BLOCK_SIZE is part of the output format: changing it changes data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cookbook_hub.errors import ParameterError

BLOCK_SIZE = 256
SPLIT_OFFSETS: dict[str, int] = {"train": 0, "validation": 1 << 40, "test": 2 << 40}
MAX_SPLIT_ROWS = 1 << 40


def stream_key(*parts: object) -> int:
    """A 128-bit Philox key from canonical JSON of the given parts."""
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    return int.from_bytes(hashlib.sha256(payload).digest()[:16], "little")


def block_rng(key: int, block: int) -> np.random.Generator:
    """The generator for one block: the block number sits in a high counter word, so blocks never overlap."""
    counter = np.array([0, 0, block, 0], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


def blocks_for(start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """Yield (block, first offset in block, stop offset in block) covering [start, stop)."""
    index = start
    while index < stop:
        block, offset = divmod(index, BLOCK_SIZE)
        end = min(BLOCK_SIZE, offset + (stop - index))
        yield block, offset, end
        index += end - offset


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` disjoint, contiguous pieces of a run (0-based, like `Dataset.shard`)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ParameterError(f"shard count must be >= 1, got {self.count}", fix="use --shard K/N with N >= 1")
        if not 0 <= self.index < self.count:
            raise ParameterError(
                f"shard index {self.index} is outside 0..{self.count - 1}",
                fix=f"use --shard K/{self.count} with 0 <= K < {self.count}",
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse 'K/N' (0 <= K < N)."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise ParameterError(f"invalid shard {text!r}", fix="write it as K/N, e.g. --shard 0/4")
        return cls(int(match.group(1)), int(match.group(2)))

    def range(self, n: int) -> range:
        """The rows [start, stop) of this shard among `n` rows."""
        return range(n * self.index // self.count, n * (self.index + 1) // self.count)


def split_range(split: str, n: int, shard: Shard = Shard()) -> range:
    """Global sample indices of a split: splits live in disjoint index ranges, so they never share one."""
    if split not in SPLIT_OFFSETS:
        raise ParameterError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLIT_OFFSETS)}")
    if not 0 <= n <= MAX_SPLIT_ROWS:
        raise ParameterError(f"split {split!r} size must be in 0..{MAX_SPLIT_ROWS}, got {n}")
    local = shard.range(n)
    return range(SPLIT_OFFSETS[split] + local.start, SPLIT_OFFSETS[split] + local.stop)
