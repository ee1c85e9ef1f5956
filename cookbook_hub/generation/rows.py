"""Rows: the dataset schema of generated samples and the conversion of samples to Arrow batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import datasets
import pyarrow as pa

from cookbook_hub.generation.formatting import Style, as_style, format_sample
from cookbook_hub.templates.base import Sample, Template

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
