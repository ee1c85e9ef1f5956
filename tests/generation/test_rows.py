"""Rows built column by column from blocks of ids equal the rows built sample by sample (the reference)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pytest

from cookbook_hub.generation.formatting import Style
from cookbook_hub.generation.generate import generate
from cookbook_hub.generation.rows import arrow_schema, block_batch, reference_batch, template_batch, to_batch
from cookbook_hub.generation.sources import MixtureSource, TemplateSource
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.templates.base import Inputs, Template
from cookbook_hub.templates.sequence import SequenceParams
from cookbook_hub.tokens.sampling import BLOCK_SIZE, SPLIT_OFFSETS

NAMES = template_names()
STYLES = [
    "plain",
    "qa",
    "chat",
    Style("qa", instruction=True),
    Style("chat", instruction=False),
    Style("plain", answer_cue=True),
    Style("plain", instruction=False, answer_cue=False),
]


def assert_same(got: pa.RecordBatch, want: pa.RecordBatch) -> None:
    """Equal batches; on a difference, the first differing column and row."""
    assert got.schema == want.schema
    for name in want.schema.names:
        a, b = got.column(name).to_pylist(), want.column(name).to_pylist()
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
        assert first is None, f"column {name!r} row {first}: {a[first]!r} != {b[first]!r}"
    assert got.equals(want)


class Echo(Template):
    """A template written the short way: token lists drawn row by row, no vectorised rule.

    Rule: the answer is the first token. Target: tests. Example: none.
    """

    name = "echo"
    version = 1
    family = "generative"
    target_task = "tests"
    summary = "the first token"
    instruction = "Say the first word."
    Params = SequenceParams
    fields: ClassVar = {"context": "tokens"}

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        ids = rng.integers(0, len(self.token_space), size=(n, 3)).tolist()
        return [{"context": [self.token_space.tokens[i] for i in row]} for row in ids]

    def rule(self, inputs: Inputs) -> list[str]:
        return inputs["context"][:1]

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Text", " ".join(inputs["context"]))]


@pytest.mark.parametrize("style", STYLES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_block_batch_equals_the_reference(name, style):
    template = get_template(name)
    schema = arrow_schema([template], style)
    for indices in (range(0, 2 * BLOCK_SIZE + 45), range(SPLIT_OFFSETS["test"] + 1000, SPLIT_OFFSETS["test"] + 1001)):
        want = reference_batch(template, indices, 11, style, schema)
        assert_same(block_batch(template, indices, 11, style, schema), want)


def test_template_batch_goes_column_by_column_only_where_the_template_allows_it(monkeypatch):
    copy = get_template("copy")  # any columnar template
    assert copy.columnar
    short = Echo()
    assert not short.columnar
    schema = arrow_schema([short], "qa")
    rows = template_batch(short, range(300), 0, "qa", schema)  # no draw_block: the reference path
    assert rows.column("answer").to_pylist() == [p.split()[1] for p in rows.column("prompt").to_pylist()]
    with pytest.raises(NotImplementedError, match="'echo'"):
        block_batch(short, range(3), 0, "qa", schema)
    called = []
    monkeypatch.setattr(type(copy), "rule", lambda self, inputs: called.append(1) or inputs["context"])
    template_batch(copy, range(10), 0, "qa", arrow_schema([copy], "qa"))
    assert not called  # the columnar path does not go through the per-row rule


def old_mixture_batch(source: MixtureSource, positions: range) -> pa.RecordBatch:
    """A mixture's rows sample by sample, in the permutation's order (how mixtures were built before blocks)."""
    labels = source.labels[positions.start : positions.stop]
    before = np.bincount(source.labels[: positions.start], minlength=len(source.templates))
    streams = [
        iter(t.samples(source.offset + int(b), source.offset + len(source.labels), source.seed))
        for t, b in zip(source.templates, before, strict=True)
    ]
    pairs = [(source.templates[t], next(streams[t])) for t in labels.tolist()]
    return to_batch(pairs, source.style, source.schema)


@pytest.mark.parametrize("style", ["plain", "chat"])
def test_mixtures_interleave_columnar_and_row_by_row_templates_like_the_reference(style):
    templates = [get_template("span_qa"), Echo(), get_template("entity_match"), get_template("blank_fill")]
    source = MixtureSource(templates, [300, 200, 150, 50], 4, style, "validation")
    for positions in (range(0, 700), range(123, 456), range(699, 700)):
        assert_same(source.batch(positions), old_mixture_batch(source, positions))
    assert set(source.batch(range(0, 700)).column("template").to_pylist()) == {t.name for t in templates}


def test_generated_parquet_holds_the_reference_rows(tmp_path):
    import pyarrow.parquet as pq

    template = get_template("two_way_choice")
    generate(template, 5000, tmp_path / "rows.parquet", style="qa", progress=False)
    table = pq.read_table(tmp_path / "rows.parquet")
    source = TemplateSource(template, 0, "qa")
    want = reference_batch(template, range(5000), 0, "qa", source.schema)
    assert table.num_rows == 5000
    assert table.to_pylist() == want.to_pylist()
