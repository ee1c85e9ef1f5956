"""Row sources: what generates the rows of one split, batch by batch, for any position range.

A source is picklable (sent once to each worker process) and deterministic: `batch(positions)`
depends only on the positions, so shards and processes can split the work freely.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from cookbook_hub.generation.formatting import Style, as_style
from cookbook_hub.generation.rows import arrow_schema, template_batch
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.sampling import SPLIT_OFFSETS, block_rng, stream_key


class RowSource(Protocol):
    """Anything that turns a range of positions into an Arrow batch."""

    schema: pa.Schema

    def batch(self, positions: range) -> pa.RecordBatch:
        """Rows at `positions` (0-based within the split)."""
        ...

    def provenance(self) -> dict[str, Any]:
        """What determines the rows (recorded in output metadata)."""
        ...


class TemplateSource:
    """One template's rows of one split: position p is sample SPLIT_OFFSETS[split] + p."""

    def __init__(self, template: Template, seed: int, style: str | Style, split: str = "train") -> None:
        self.template, self.seed, self.style, self.split = template, seed, style, split
        self.offset = SPLIT_OFFSETS[split]
        self.schema = arrow_schema([template], style)

    def batch(self, positions: range) -> pa.RecordBatch:
        indices = range(self.offset + positions.start, self.offset + positions.stop)
        return template_batch(self.template, indices, self.seed, self.style, self.schema)

    def provenance(self) -> dict[str, Any]:
        t = self.template
        return {
            "template": t.name,
            "template_version": t.version,
            "params": t.params_dict(),
            "token_space": t.token_space.identity.as_dict(),
            "seed": self.seed,
            **as_style(self.style).describe(),
            "split": self.split,
        }


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integer counts summing to `total`, proportional to `weights` (largest-remainder rounding;
    ties go to the earlier entry)."""
    norm = sum(weights)
    quotas = [total * w / norm for w in weights]
    counts = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class MixtureSource:
    """A split of a mixture: exact per-template counts, rows interleaved by a seeded permutation.

    The k-th row of template t in the split is that template's sample SPLIT_OFFSETS[split] + k,
    so every row is traceable to (template, template_version, index).
    """

    def __init__(self, templates: list[Template], counts: list[int], seed: int, style: str | Style, split: str) -> None:
        self.templates, self.counts, self.seed, self.style, self.split = templates, counts, seed, style, split
        self.offset = SPLIT_OFFSETS[split]
        self.schema = arrow_schema(templates, style)
        labels = np.repeat(np.arange(len(templates), dtype=np.int16), counts)
        key = stream_key("mixture", [t.name for t in templates], counts, seed, split)
        self.labels = block_rng(key, 0).permutation(labels)

    def batch(self, positions: range) -> pa.RecordBatch:
        labels = self.labels[positions.start : positions.stop]
        before = np.bincount(self.labels[: positions.start], minlength=len(self.templates))
        wanted = np.bincount(labels, minlength=len(self.templates))
        parts = [
            template_batch(t, range(self.offset + int(b), self.offset + int(b + w)), self.seed, self.style, self.schema)
            for t, b, w in zip(self.templates, before, wanted)
            if w
        ]
        # the parts hold each template's rows in order; row j of the batch is the next row of template labels[j]
        grouped = np.argsort(labels, kind="stable")
        where = np.empty_like(grouped)
        where[grouped] = np.arange(len(grouped))
        return pa.concat_batches(parts).take(where)

    def provenance(self) -> dict[str, Any]:
        return {
            "templates": [
                {"template": t.name, "template_version": t.version, "params": t.params_dict(), "rows": c}
                for t, c in zip(self.templates, self.counts)
            ],
            "token_space": self.templates[0].token_space.identity.as_dict(),
            "seed": self.seed,
            **as_style(self.style).describe(),
            "split": self.split,
        }
