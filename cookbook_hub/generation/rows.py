"""Rows: the dataset schema of generated samples and their Arrow batches.

A template with a vectorised rule (`Template.columnar`) makes its batches column by column from whole blocks of
token ids (`block_batch`); any other template, and the reference the columnar path is tested against, goes
sample by sample (`to_batch`). Both give equal batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from cookbook_hub.generation.formatting import Style, as_style, format_columns, format_sample
from cookbook_hub.templates.base import Sample, Template

if TYPE_CHECKING:
    import datasets

# Input fields are stored with their tokens joined by single spaces (tokens never contain
# whitespace), so a row stays readable and cheap to write; `decode_inputs` restores token lists.
_KIND_TYPES = {"tokens": pa.string(), "token_lists": pa.list_(pa.string())}
_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def input_fields(templates: Sequence[Template]) -> dict[str, str]:
    """The union of the templates' input fields (name -> kind), sorted by name."""
    fields: dict[str, str] = {}
    for template in templates:
        for name, kind in template.fields.items():
            if fields.setdefault(name, kind) != kind:
                raise TypeError(f"input field {name!r} has two kinds: {fields[name]} and {kind}")
    return dict(sorted(fields.items()))


def arrow_schema(templates: Sequence[Template], style: str | Style) -> pa.Schema:
    """The Arrow schema of rows from these templates in this format style."""
    inputs = pa.struct([(name, _KIND_TYPES[kind]) for name, kind in input_fields(templates).items()])
    text = (
        [("messages", _MESSAGES)]
        if as_style(style).is_chat
        else [
            ("prompt", pa.string()),
            ("completion", pa.string()),
        ]
    )
    return pa.schema(
        [
            *text,
            ("template", pa.string()),
            ("template_version", pa.int32()),
            ("index", pa.int64()),
            ("answer", pa.string()),
            ("label", pa.int32()),
            ("inputs", inputs),
        ]
    )


def features(templates: Sequence[Template], style: str | Style) -> datasets.Features:
    """The `datasets.Features` matching `arrow_schema`."""
    import datasets  # here, not at the top: worker processes build rows without loading `datasets`

    return datasets.Features.from_arrow_schema(arrow_schema(templates, style))


def encode_inputs(inputs: dict, field_names: Iterable[str]) -> dict:
    """Inputs as stored in a row: token lists joined by spaces; fields the template lacks are None."""
    out = {}
    for name in field_names:
        value = inputs.get(name)
        if value is not None:
            value = [" ".join(v) for v in value] if value and isinstance(value[0], list) else " ".join(value)
        out[name] = value
    return out


def decode_inputs(row_inputs: dict, kinds: dict[str, str]) -> dict:
    """Token lists back from a row's stored inputs (only the fields in `kinds`, i.e. `template.fields`)."""

    def split(text: str) -> list[str]:
        return text.split(" ") if text else []

    return {
        name: split(row_inputs[name]) if kind == "tokens" else [split(v) for v in row_inputs[name]]
        for name, kind in kinds.items()
    }


def to_record(template: Template, sample: Sample, style: str | Style, field_names: Iterable[str]) -> dict:
    """One row as a dict (fields a template lacks are None)."""
    record = format_sample(template, sample, style)
    record.update(
        template=sample.template,
        template_version=sample.template_version,
        index=sample.index,
        answer=sample.answer,
        label=sample.label,
        inputs=encode_inputs(sample.inputs, field_names),
    )
    return record


def to_batch(pairs: Iterable[tuple[Template, Sample]], style: str | Style, schema: pa.Schema) -> pa.RecordBatch:
    """An Arrow record batch of rows from (template, sample) pairs, built column by column."""
    field_names = schema.field("inputs").type.names
    pairs = list(pairs)
    samples = [s for _, s in pairs]
    texts = [format_sample(t, s, style) for t, s in pairs]
    columns = {key: [text[key] for text in texts] for key in (texts[0] if texts else {})}
    columns.update(
        template=[s.template for s in samples],
        template_version=[s.template_version for s in samples],
        index=[s.index for s in samples],
        answer=[s.answer for s in samples],
        label=[s.label for s in samples],
        inputs=[encode_inputs(s.inputs, field_names) for s in samples],
    )
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def block_batch(template: Template, indices: range, seed: int, style: str | Style, schema: pa.Schema) -> pa.RecordBatch:
    """Samples `indices` (global) of a columnar template as one Arrow batch, built column by column."""
    rows = template.block_rows(indices.start, indices.stop, seed)
    n = len(indices)
    kinds = schema.field("inputs").type
    inputs = [rows.inputs[f.name] if f.name in rows.inputs else pa.nulls(n, f.type) for f in kinds]
    columns = {
        **format_columns(rows, template.instruction, style),
        "template": pa.repeat(pa.scalar(template.name, pa.string()), n),
        "template_version": pa.repeat(pa.scalar(template.version, pa.int32()), n),
        "index": pa.array(np.arange(indices.start, indices.stop, dtype=np.int64)),
        "answer": rows.answer,
        "label": pa.nulls(n, pa.int32()) if rows.label is None else pa.array(rows.label, pa.int32()),
        "inputs": pa.StructArray.from_arrays(inputs, fields=list(kinds)),
    }
    return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


def reference_batch(
    template: Template, indices: range, seed: int, style: str | Style, schema: pa.Schema
) -> pa.RecordBatch:
    """Samples `indices` (global) as one Arrow batch, sample by sample through `rule` and `format_sample`."""
    samples = template.samples(indices.start, indices.stop, seed)
    return to_batch(((template, s) for s in samples), style, schema)


def template_batch(
    template: Template, indices: range, seed: int, style: str | Style, schema: pa.Schema
) -> pa.RecordBatch:
    """Samples `indices` (global) as one Arrow batch: column by column where the template allows it."""
    make = block_batch if template.columnar else reference_batch
    return make(template, indices, seed, style, schema)
