"""Writers of generated rows: Parquet, JSON Lines and `save_to_disk` folders, with our provenance metadata."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cookbook_hub.errors import ParameterError

OUTPUT_KINDS = (".parquet", ".jsonl")


class Progress(Protocol):
    """What a writer reports written rows to: a tqdm bar, or a counter shared with another process."""

    def update(self, n: int) -> object: ...


def with_provenance(schema: pa.Schema, meta: dict[str, Any]) -> pa.Schema:
    """The schema carrying datasets' features metadata and ours (`cookbook_hub` key, JSON)."""
    import datasets  # here, not at the top: worker processes that only make rows never load `datasets`

    schema = datasets.Features.from_arrow_schema(schema).arrow_schema
    return schema.with_metadata({**(schema.metadata or {}), b"cookbook_hub": json.dumps(meta).encode()})


def text_bytes(batch: pa.RecordBatch) -> int:
    """UTF-8 bytes of formatted text in a batch (prompt + completion, or message contents)."""
    if "messages" in batch.schema.names:
        contents = pc.list_flatten(batch.column("messages")).field("content")
        return int(pc.sum(pc.binary_length(contents)).as_py() or 0)
    return sum(int(pc.sum(pc.binary_length(batch.column(c))).as_py() or 0) for c in ("prompt", "completion"))


def output_kind(out: Path) -> str:
    """'.parquet', '.jsonl', or 'dir' (a save_to_disk folder) for an output path."""
    if out.suffix in OUTPUT_KINDS:
        return out.suffix
    if out.suffix:
        raise ParameterError(
            f"unsupported output {str(out)!r}",
            fix="end --out with .parquet or .jsonl, or give a folder name without a suffix",
        )
    return "dir"


def write_parquet(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, bar: Progress) -> tuple[int, int]:
    """Stream batches into one Parquet file; returns (rows, text bytes)."""
    rows = nbytes = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows, nbytes = rows + batch.num_rows, nbytes + text_bytes(batch)
            bar.update(batch.num_rows)
    return rows, nbytes


def write_jsonl(batches: Iterator[pa.RecordBatch], path: Path, bar: Progress) -> tuple[int, int]:
    """Stream batches into a JSON Lines file; returns (rows, text bytes)."""
    rows = nbytes = 0
    with path.open("w", encoding="utf-8") as fh:
        for batch in batches:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in batch.to_pylist())
            rows, nbytes = rows + batch.num_rows, nbytes + text_bytes(batch)
            bar.update(batch.num_rows)
    return rows, nbytes


def write_dataset_dir(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, bar: Progress
) -> tuple[int, int]:
    """Write a `save_to_disk` folder (through a Parquet file in a scratch folder)."""
    import datasets

    scratch = path.with_name(path.name + ".scratch")
    scratch.mkdir()
    try:
        rows, nbytes = write_parquet(batches, schema, scratch / "rows.parquet", bar)
        feats = datasets.Features.from_arrow_schema(schema)
        ds = datasets.Dataset.from_parquet(
            str(scratch / "rows.parquet"), features=feats, cache_dir=str(scratch / "cache")
        )
        ds.info.description = schema.metadata[b"cookbook_hub"].decode()
        ds.save_to_disk(str(path))
        del ds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows, nbytes
