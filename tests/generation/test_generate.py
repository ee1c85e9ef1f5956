"""generate(): Parquet, JSON Lines and save_to_disk outputs, processes, shards, provenance, atomicity."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cookbook_hub.errors import OutputExistsError, ParameterError
from cookbook_hub.generation.generate import CHUNK_ROWS, IN_FLIGHT, batch_for, chunks, generate, iter_batches
from cookbook_hub.generation.rows import decode_inputs, features
from cookbook_hub.generation.sources import TemplateSource
from cookbook_hub.templates import get_template
from cookbook_hub.tokens.sampling import BLOCK_SIZE, SPLIT_OFFSETS, Shard

SMALL_COPY = {"min_len": 2, "max_len": 4}


@pytest.fixture
def small_copy():
    return get_template("copy", SMALL_COPY)


def read_parquet(path) -> pa.Table:
    return pq.read_table(path).replace_schema_metadata(None)


def expected_table(template, n, seed=0, style="plain") -> pa.Table:
    return pa.Table.from_batches([batch_for(template, range(n), seed, style)]).replace_schema_metadata(None)


def provenance(path) -> dict:
    return json.loads(pq.read_schema(path).metadata[b"cookbook_hub"])


def names_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- outputs, read back with datasets ------------------------------------------------------------


def test_parquet_round_trip_with_load_dataset(tmp_path):
    template = get_template("overlap_choice")
    out = tmp_path / "rows.parquet"
    result = generate(template, 700, out, seed=5, style="qa", progress=False)
    assert result.path == out and result.rows == 700
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 700
    assert ds.features == features([template], "qa")
    assert set(ds.features["inputs"]) == {"question", "options"}
    assert ds.features["inputs"]["options"] == datasets.List(datasets.Value("string"))
    expected = batch_for(template, range(700), 5, "qa").to_pylist()
    assert ds.to_list() == expected
    assert ds["index"] == list(range(700))
    # every stored row re-scores with the rule
    for row in ds.select(range(50)):
        assert template.rule(decode_inputs(row["inputs"], template.fields)) == row["label"]
    text = sum(len((r["prompt"] + r["completion"]).encode()) for r in expected)
    assert result.text_bytes == text


def test_jsonl_round_trip_with_load_dataset(tmp_path):
    template = get_template("entity_match")
    out = tmp_path / "rows.jsonl"
    result = generate(template, 300, out, seed=2, style="chat", progress=False)
    assert result.rows == 300
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    ds = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 300
    assert set(ds.column_names) == {"messages", "template", "template_version", "index", "answer", "label", "inputs"}
    assert set(ds.features["inputs"]) == {"attributes", "left", "right"}
    assert ds.to_list() == batch_for(template, range(300), 2, "chat").to_pylist()


def test_dataset_folder_round_trip_with_load_from_disk(tmp_path):
    template = get_template("span_qa", {"context_min_len": 16, "context_max_len": 32})
    out = tmp_path / "rows_folder"
    result = generate(template, 400, out, progress=False)
    assert result.rows == 400 and out.is_dir()
    ds = datasets.load_from_disk(str(out))
    assert ds.num_rows == 400
    assert ds.features == features([template], "plain")
    assert ds.to_list() == batch_for(template, range(400), 0, "plain").to_pylist()
    meta = json.loads(ds.info.description)
    assert meta["template"] == "span_qa" and meta["rows"] == 400
    assert names_in(tmp_path) == ["rows_folder"]  # no scratch or partial folders left


def test_split_rows_come_from_the_split_range(tmp_path, small_copy):
    out = tmp_path / "val.parquet"
    generate(small_copy, 50, out, split="validation", progress=False)
    table = pq.read_table(out)
    assert table.column("index").to_pylist() == [SPLIT_OFFSETS["validation"] + i for i in range(50)]
    assert provenance(out)["split"] == "validation"
    with pytest.raises(ParameterError, match="unknown split"):
        generate(small_copy, 50, tmp_path / "bad.parquet", split="dev", progress=False)
    assert not (tmp_path / "bad.parquet").exists()


# --- processes and shards -------------------------------------------------------------------------


def test_two_processes_give_the_same_rows_as_one(tmp_path, small_copy):
    n = 2 * CHUNK_ROWS + 808  # three chunks
    assert len(chunks(range(n))) == 3
    one = generate(small_copy, n, tmp_path / "one.parquet", num_proc=1, progress=False)
    two = generate(small_copy, n, tmp_path / "two.parquet", num_proc=2, progress=False)
    assert one.rows == two.rows == n
    assert one.text_bytes == two.text_bytes
    assert read_parquet(tmp_path / "two.parquet").equals(read_parquet(tmp_path / "one.parquet"))
    assert read_parquet(tmp_path / "one.parquet").equals(expected_table(small_copy, n))


class MarkingSource:
    """`copy`'s rows, leaving a file behind in `folder` for every chunk a worker is asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.inner = folder, TemplateSource(get_template("copy", {"min_len": 1, "max_len": 2}), 0, "plain")
        self.schema = self.inner.schema

    def batch(self, positions: range) -> pa.RecordBatch:
        (self.folder / str(positions.start)).touch()
        return self.inner.batch(positions)

    def provenance(self) -> dict:
        return self.inner.provenance()


def test_workers_run_only_a_few_chunks_ahead_of_the_writer(tmp_path):
    """Batches do not pile up in the writing process when the workers are faster than the writer."""
    pieces = 12
    batches = iter_batches(MarkingSource(tmp_path), range(pieces * CHUNK_ROWS), num_proc=2)
    first = next(batches)
    time.sleep(2)  # a slow writer: the workers, idle, must not have gone on
    assert len(list(tmp_path.iterdir())) <= IN_FLIGHT * 2 + 1 < pieces
    rest = list(batches)
    assert [b.num_rows for b in [first, *rest]] == [CHUNK_ROWS] * pieces
    assert len(list(tmp_path.iterdir())) == pieces


def test_shards_concatenate_to_the_single_run(tmp_path):
    template = get_template("key_value", {"min_pairs": 2, "max_pairs": 4})
    n = 5000
    generate(template, n, tmp_path / "all.parquet", seed=9, progress=False)
    count = 3
    for k in (2, 0, 1):  # generation order does not matter
        generate(template, n, tmp_path / f"part-{k}.parquet", seed=9, shard=Shard(k, count), progress=False)
    parts = [read_parquet(tmp_path / f"part-{k}.parquet") for k in range(count)]
    assert [p.num_rows for p in parts] == [len(Shard(k, count).range(n)) for k in range(count)]
    assert sum(p.num_rows for p in parts) == n
    assert pa.concat_tables(parts).equals(read_parquet(tmp_path / "all.parquet"))
    meta = provenance(tmp_path / "part-1.parquet")
    assert meta["shard"] == "1/3" and meta["rows"] == parts[1].num_rows


def test_shard_ranges_partition_the_run():
    for n in (1, 7, 1000, 4097):
        for count in (1, 2, 3, 8):
            covered = [i for k in range(count) for i in Shard(k, count).range(n)]
            assert covered == list(range(n))


def test_chunks_are_aligned():
    pieces = chunks(range(100, 3 * CHUNK_ROWS + 5))
    assert pieces[0] == range(100, CHUNK_ROWS)
    assert all(p.start % CHUNK_ROWS == 0 for p in pieces[1:])
    assert [i for p in pieces for i in p] == list(range(100, 3 * CHUNK_ROWS + 5))
    assert chunks(range(5, 5)) == []


def test_iter_batches_rejects_zero_processes(small_copy):
    with pytest.raises(ParameterError, match="num_proc must be >= 1"):
        next(iter_batches(TemplateSource(small_copy, 0, "plain"), range(10), num_proc=0))


# --- provenance -----------------------------------------------------------------------------------


def test_parquet_metadata_records_the_recipe(tmp_path):
    template = get_template("count", {"min_len": 4, "max_len": 9, "rate": 0.3})
    out = tmp_path / "count.parquet"
    generate(template, 100, out, seed=11, style="qa", progress=False)
    meta = provenance(out)
    assert meta["generator"] == "cookbook-hub"
    assert meta["template"] == "count"
    assert meta["template_version"] == template.version
    assert meta["params"] == {"min_len": 4, "max_len": 9, "rate": 0.3}
    assert meta["token_space"] == template.token_space.identity.as_dict()
    assert meta["token_space"]["name"] == "default" and len(meta["token_space"]["sha256"]) == 64
    assert meta["seed"] == 11
    assert meta["format"] == "qa"
    assert meta["shard"] == "0/1"
    assert meta["rows"] == 100
    # datasets' own features metadata is there too, so datasets restores the exact features
    assert b"huggingface" in pq.read_schema(out).metadata


# --- existing outputs and atomicity ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["old.parquet", "old.jsonl", "old_folder"])
def test_existing_output_is_refused_then_overwritten(tmp_path, small_copy, name):
    out = tmp_path / name
    if out.suffix:
        out.write_text("precious\n")
    else:
        out.mkdir()
        (out / "keep.txt").write_text("precious\n")
    before = names_in(tmp_path)
    with pytest.raises(OutputExistsError, match="already exists"):
        generate(small_copy, 20, out, progress=False)
    assert names_in(tmp_path) == before
    assert (out.read_text() if out.suffix else (out / "keep.txt").read_text()) == "precious\n"
    result = generate(small_copy, 20, out, overwrite=True, progress=False)
    assert result.rows == 20
    assert names_in(tmp_path) == before
    if out.suffix == ".parquet":
        assert read_parquet(out).equals(expected_table(small_copy, 20))
    elif out.suffix == ".jsonl":
        assert len(out.read_text().splitlines()) == 20
    else:
        assert not (out / "keep.txt").exists()
        assert datasets.load_from_disk(str(out)).num_rows == 20


def failing_draw(monkeypatch, template, exc: BaseException, folder):
    """Make the template fail after its first chunk; record the folder's content at that moment."""
    real = template.draw_block
    seen: dict[str, list[str]] = {}
    calls = [0]

    def draw_block(rng, n):
        calls[0] += 1
        if calls[0] > CHUNK_ROWS // BLOCK_SIZE:
            seen["during"] = names_in(folder)
            raise exc
        return real(rng, n)

    monkeypatch.setattr(template, "draw_block", draw_block)
    return seen


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk on fire")], ids=["interrupt", "error"])
@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl", "out_folder"])
def test_interrupted_run_leaves_nothing_on_a_new_path(tmp_path, monkeypatch, small_copy, exc, name):
    out = tmp_path / name
    seen = failing_draw(monkeypatch, small_copy, exc, tmp_path)
    with pytest.raises(type(exc)):
        generate(small_copy, 2 * CHUNK_ROWS, out, progress=False)
    assert any(n.startswith(f".{name}.") for n in seen["during"])  # a partial output existed
    assert names_in(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk on fire")], ids=["interrupt", "error"])
@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl"])
def test_interrupted_overwrite_keeps_the_old_output(tmp_path, monkeypatch, small_copy, exc, name):
    out = tmp_path / name
    generate(small_copy, 30, out, seed=1, progress=False)
    old = out.read_bytes()
    seen = failing_draw(monkeypatch, small_copy, exc, tmp_path)
    with pytest.raises(type(exc)):
        generate(small_copy, 2 * CHUNK_ROWS, out, overwrite=True, progress=False)
    assert any(n.startswith(f".{name}.") for n in seen["during"])
    assert out.read_bytes() == old
    assert names_in(tmp_path) == [name]


def test_stale_partials_of_dead_runs_are_removed(tmp_path, small_copy):
    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "rows.parquet"
    stale = tmp_path / f".rows.parquet.partial-{dead.pid}"
    stale.write_text("left by a killed run")
    live = tmp_path / f".rows.parquet.partial-{os.getppid()}"
    live.write_text("another run, still going")
    generate(small_copy, 10, out, progress=False)
    assert not stale.exists()
    assert live.exists()
    assert pq.read_table(out).num_rows == 10


def test_a_previous_output_moved_aside_by_a_killed_run_is_put_back(tmp_path, small_copy):
    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "rows.parquet"
    generate(small_copy, 10, out, progress=False)
    old = out.read_bytes()
    out.rename(tmp_path / f".rows.parquet.replaced-{dead.pid}")  # killed between the two renames of the swap
    with pytest.raises(OutputExistsError):
        generate(small_copy, 20, out, progress=False)  # the put-back output is protected like any other
    assert out.read_bytes() == old
    assert names_in(tmp_path) == ["rows.parquet"]


def test_an_interrupted_swap_puts_the_previous_output_back(tmp_path, monkeypatch, small_copy):
    out = tmp_path / "rows.parquet"
    generate(small_copy, 10, out, progress=False)
    old = out.read_bytes()
    real_rename = Path.rename

    def interrupted(self, target):
        if self.name.startswith(".rows.parquet.partial-"):
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(small_copy, 20, out, overwrite=True, progress=False)
    assert out.read_bytes() == old
    assert names_in(tmp_path) == ["rows.parquet"]


# --- argument errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rows.csv", "rows.txt", "rows.json"])
def test_unsupported_suffix(tmp_path, small_copy, name):
    with pytest.raises(ParameterError, match="unsupported output") as info:
        generate(small_copy, 10, tmp_path / name, progress=False)
    assert ".parquet" in str(info.value) and ".jsonl" in str(info.value)
    assert names_in(tmp_path) == []


@pytest.mark.parametrize("n", [0, -5])
def test_row_count_must_be_positive(tmp_path, small_copy, n):
    with pytest.raises(ParameterError, match=rf"-n must be >= 1, got {n}"):
        generate(small_copy, n, tmp_path / "rows.parquet", progress=False)
    assert names_in(tmp_path) == []


def test_zero_processes_refused_and_nothing_written(tmp_path, small_copy):
    with pytest.raises(ParameterError, match="num_proc"):
        generate(small_copy, 10, tmp_path / "rows.parquet", num_proc=0, progress=False)
    assert names_in(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3/2", "shard index 3 is outside 0..1"),
        ("2/2", "shard index 2 is outside 0..1"),
        ("0/0", "shard count must be >= 1"),
        ("x", "invalid shard 'x'"),
        ("1", "invalid shard '1'"),
        ("-1/2", "invalid shard '-1/2'"),
        ("1/2/3", "invalid shard"),
    ],
)
def test_shard_parse_errors(text, message):
    with pytest.raises(ParameterError, match=message) as info:
        Shard.parse(text)
    assert "fix:" in str(info.value)


def test_shard_parse_valid():
    assert Shard.parse("1/4") == Shard(1, 4)
    assert Shard.parse(" 2 / 5 ") == Shard(2, 5)
    assert Shard.parse("0/1") == Shard()
