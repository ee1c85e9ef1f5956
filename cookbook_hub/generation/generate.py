"""Generating a template's rows: ordered Arrow batches, in one or several processes, into an atomic output.

`generate(...)` writes `.parquet`, `.jsonl`, or a `save_to_disk` folder (the writers are in
`cookbook_hub.generation.writers`). The output appears only
when complete: rows go to a temporary path beside it, which is renamed into place at the end (and
removed on any error or interrupt).
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pyarrow as pa

from cookbook_hub.errors import ParameterError
from cookbook_hub.fs import atomic_path, check_output
from cookbook_hub.generation.formatting import Style
from cookbook_hub.generation.processes import worker_context
from cookbook_hub.generation.sources import RowSource, TemplateSource
from cookbook_hub.generation.writers import (
    output_kind,
    with_provenance,
    write_dataset_dir,
    write_jsonl,
    write_parquet,
)
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.sampling import BLOCK_SIZE, Shard, split_range

CHUNK_ROWS = 16 * BLOCK_SIZE
IN_FLIGHT = 2  # chunks asked of each worker ahead of the writer


@dataclass(frozen=True)
class GenerationResult:
    """What a `generate` call wrote."""

    path: Path
    rows: int
    text_bytes: int
    seconds: float


def chunks(indices: range, size: int = CHUNK_ROWS) -> list[range]:
    """Split an index range into pieces whose inner boundaries are multiples of `size`."""
    out, start = [], indices.start
    while start < indices.stop:
        stop = min(indices.stop, (start // size + 1) * size)
        out.append(range(start, stop))
        start = stop
    return out


def batch_for(template: Template, indices: range, seed: int, style: str | Style) -> pa.RecordBatch:
    """Samples `indices` of a template (train split) as one Arrow batch."""
    return TemplateSource(template, seed, style).batch(indices)


_WORKER: dict[str, RowSource] = {}


def _init_worker(source: RowSource) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler, which a forked worker inherits
    _WORKER["source"] = source


def _worker_batch(positions: range) -> pa.RecordBatch:
    return _WORKER["source"].batch(positions)


def iter_batches(source: RowSource, positions: range, num_proc: int = 1) -> Iterator[pa.RecordBatch]:
    """A source's rows at `positions` as ordered Arrow batches, generated in `num_proc` processes."""
    if num_proc < 1:
        raise ParameterError(f"num_proc must be >= 1, got {num_proc}", fix="use --num-proc 1 or more")
    pieces = chunks(positions)
    if num_proc == 1 or len(pieces) <= 1:
        for piece in pieces:
            yield source.batch(piece)
        return
    ctx = worker_context()
    workers = min(num_proc, len(pieces))
    with ctx.Pool(workers, initializer=_init_worker, initargs=(source,)) as pool:
        # at most IN_FLIGHT chunks per worker are asked for ahead of the consumer: workers that outpace the
        # writer wait instead of piling batches up in this process's memory
        todo = iter(pieces)
        pending = deque(pool.apply_async(_worker_batch, (piece,)) for piece in islice(todo, IN_FLIGHT * workers))
        while pending:
            batch = pending.popleft().get()
            for piece in islice(todo, 1):
                pending.append(pool.apply_async(_worker_batch, (piece,)))
            yield batch


def generate(
    template: Template,
    n: int,
    out: str | Path,
    *,
    seed: int = 0,
    style: str | Style = "plain",
    num_proc: int = 1,
    shard: Shard = Shard(),
    split: str = "train",
    overwrite: bool = False,
    progress: bool = True,
) -> GenerationResult:
    """Generate shard `shard` of `n` rows of `template` and write them atomically to `out`.

    `out` ends in `.parquet` or `.jsonl`, or names a folder for `Dataset.save_to_disk`.
    """
    out = Path(out)
    kind = output_kind(out)
    if n < 1:
        raise ParameterError(f"-n must be >= 1, got {n}", fix="ask for at least one row")
    check_output(out, overwrite)
    positions = shard.range(n)
    split_range(split, n)  # validates the split name and size
    source = TemplateSource(template, seed, style, split)
    meta = {
        "generator": "cookbook-hub",
        **source.provenance(),
        "shard": f"{shard.index}/{shard.count}",
        "rows": len(positions),
    }
    schema = with_provenance(source.schema, meta)
    from tqdm.auto import tqdm  # here: the worker processes of builds import this module, and need no bar

    start = time.perf_counter()
    batches = iter_batches(source, positions, num_proc)
    with (
        tqdm(total=len(positions), unit="rows", disable=not progress, desc=template.name) as bar,
        atomic_path(out, overwrite) as tmp,
    ):
        if kind == ".parquet":
            rows, nbytes = write_parquet(batches, schema, tmp, bar)
        elif kind == ".jsonl":
            rows, nbytes = write_jsonl(batches, tmp, bar)
        else:
            rows, nbytes = write_dataset_dir(batches, schema, tmp, bar)
    return GenerationResult(out, rows, nbytes, time.perf_counter() - start)
