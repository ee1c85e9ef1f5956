"""The `datasets` builder: one config per template, real download_and_prepare, streaming, packaging."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import datasets
import pyarrow as pa
import pytest
from cookbook_hub._dataset_scripts.cookbook_templates import CookbookTemplates, CookbookTemplatesConfig

from cookbook_hub.errors import ParameterError, UnknownNameError
from cookbook_hub.generation.generate import CHUNK_ROWS, batch_for
from cookbook_hub.generation.rows import features
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.tokens.sampling import SPLIT_OFFSETS

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL_COPY = {"min_len": 2, "max_len": 4}
SIZES = {"train": 2 * CHUNK_ROWS + 808, "validation": 300, "test": 200}


def builder(cache_dir, name="copy", **kwargs) -> CookbookTemplates:
    return CookbookTemplates(config_name=name, cache_dir=str(cache_dir), **kwargs)


def prepare(b: CookbookTemplates, num_proc: int | None = None) -> datasets.DatasetDict:
    b.download_and_prepare(num_proc=num_proc)
    return b.as_dataset()


def split_table(template, split: str, n: int, seed: int = 0, style: str = "plain") -> pa.Table:
    """The rows a split must hold: samples SPLIT_OFFSETS[split] + 0..n-1."""
    start = SPLIT_OFFSETS[split]
    return pa.Table.from_batches([batch_for(template, range(start, start + n), seed, style)])


def data(ds: datasets.Dataset) -> pa.Table:
    return ds.data.table.replace_schema_metadata(None)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The copy template's three splits, prepared in one process."""
    cache = tmp_path_factory.mktemp("one")
    b = builder(
        cache,
        params=SMALL_COPY,
        train_size=SIZES["train"],
        validation_size=SIZES["validation"],
        test_size=SIZES["test"],
    )
    return b, prepare(b, num_proc=1)


def test_one_config_per_template():
    configs = {c.name: c for c in CookbookTemplates.BUILDER_CONFIGS}
    assert sorted(configs) == sorted(template_names())
    assert all(c.template == name for name, c in configs.items())
    assert CookbookTemplates.DEFAULT_CONFIG_NAME in configs
    assert all(isinstance(c, CookbookTemplatesConfig) for c in configs.values())


@pytest.mark.parametrize("name", template_names())
def test_config_info(name, tmp_path):
    b = builder(tmp_path, name)
    template = get_template(name)
    assert b.config.template == name
    assert b.info.features == features([template], "plain")
    assert f"{name} v{template.version}" in b.info.description
    assert b.info.license == "apache-2.0"
    assert b.template.sample(3) == template.sample(3)


def test_splits_hold_the_split_ranges(one_process):
    _, ds = one_process
    template = get_template("copy", SMALL_COPY)
    assert {split: ds[split].num_rows for split in ds} == SIZES
    for split, n in SIZES.items():
        assert data(ds[split]).equals(split_table(template, split, n)), split


def test_splits_never_share_an_index(one_process):
    _, ds = one_process
    indices = {split: set(ds[split]["index"]) for split in ds}
    assert all(len(indices[s]) == ds[s].num_rows for s in ds)
    for a, b in itertools.combinations(indices, 2):
        assert not indices[a] & indices[b], (a, b)


def test_declared_features_equal_the_data(one_process):
    b, ds = one_process
    for split in ds:
        assert ds[split].features == b.info.features
        assert ds[split].data.schema.remove_metadata() == b.info.features.arrow_schema.remove_metadata()


def test_two_processes_equal_one(one_process, tmp_path):
    _, ds1 = one_process
    b2 = builder(
        tmp_path,
        params=SMALL_COPY,
        train_size=SIZES["train"],
        validation_size=SIZES["validation"],
        test_size=SIZES["test"],
    )
    ds2 = prepare(b2, num_proc=2)
    assert set(ds2) == set(ds1)
    for split in ds1:
        assert data(ds2[split]).equals(data(ds1[split])), split


def test_kwargs_override_sizes_seed_format_and_params(tmp_path):
    b = builder(
        tmp_path,
        "overlap_choice",
        train_size=40,
        validation_size=0,
        test_size=10,
        seed=4,
        format="chat",
        params={"num_options": 3},
    )
    assert (b.config.train_size, b.config.validation_size, b.config.test_size) == (40, 0, 10)
    assert (b.config.seed, b.config.format, b.config.params) == (4, "chat", {"num_options": 3})
    ds = prepare(b)
    assert set(ds) == {"train", "test"}  # a size of 0 drops the split
    assert ds["train"].num_rows == 40 and ds["test"].num_rows == 10
    assert "messages" in ds["train"].column_names and "prompt" not in ds["train"].column_names
    template = get_template("overlap_choice", {"num_options": 3})
    assert data(ds["train"]).equals(split_table(template, "train", 40, seed=4, style="chat"))
    assert data(ds["test"]).equals(split_table(template, "test", 10, seed=4, style="chat"))
    assert set(ds["train"]["label"]) <= {0, 1, 2}
    assert ds["train"].features == b.info.features
    # the default config is untouched by the overrides
    default = builder(tmp_path / "default", "overlap_choice")
    assert (default.config.train_size, default.config.seed, default.config.format) == (10_000, 0, "plain")


def test_token_space_kwarg(tmp_path):
    words = sorted({w for w in get_template("copy").token_space.tokens if len(w) == 5})[:80]
    path = tmp_path / "words.txt"
    path.write_text("\n".join(words), encoding="utf-8")
    b = builder(tmp_path / "cache", train_size=30, validation_size=0, test_size=0, token_space=str(path))
    ds = prepare(b)
    assert b.template.token_space.identity.size == 80
    used = {t for row in ds["train"] for t in row["inputs"]["context"].split(" ")}
    assert used <= set(words)


def test_shards_concatenate_to_the_whole(tmp_path):
    kwargs = {"params": SMALL_COPY, "train_size": 1001, "validation_size": 101, "test_size": 0}
    whole = prepare(builder(tmp_path / "whole", **kwargs))
    parts = [prepare(builder(tmp_path / f"part{k}", shard=f"{k}/2", **kwargs)) for k in (1, 0)][::-1]
    for split in ("train", "validation"):
        assert parts[0][split].num_rows + parts[1][split].num_rows == whole[split].num_rows
        joined = pa.concat_tables([data(parts[0][split]), data(parts[1][split])])
        assert joined.equals(data(whole[split])), split


def test_streaming_yields_the_same_rows(tmp_path):
    b = builder(tmp_path, "span_qa", train_size=50, validation_size=5, test_size=5, format="qa")
    stream = b.as_streaming_dataset(split="train")
    rows = list(stream)
    template = get_template("span_qa")
    assert rows == split_table(template, "train", 50, style="qa").to_pylist()
    validation = list(b.as_streaming_dataset(split="validation"))
    assert [r["index"] for r in validation] == [SPLIT_OFFSETS["validation"] + i for i in range(5)]


def test_unbounded_train_split_streams_past_any_size(tmp_path):
    """An unbounded train split streams on and on; the rows are still the split's."""
    b = builder(tmp_path, unbounded=True, params=SMALL_COPY)
    first = list(itertools.islice(b.as_streaming_dataset(split="train"), 12_345))
    assert [r["index"] for r in first] == list(range(12_345))
    template = get_template("copy", SMALL_COPY)
    assert first[12_300:] == batch_for(template, range(12_300, 12_345), 0, "plain").to_pylist()
    with pytest.raises(ParameterError, match="unbounded"):
        b.download_and_prepare()


def test_unbounded_needs_the_flag(tmp_path):
    """Without `unbounded=True` the train split has its size, even streaming."""
    b = builder(tmp_path, train_size=20, params=SMALL_COPY)
    assert b.config.unbounded is False
    assert sum(1 for _ in b.as_streaming_dataset(split="train")) == 20


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"format": "xml"}, ParameterError, "unknown format 'xml'"),
        ({"shard": "3/2"}, ParameterError, "shard index 3"),
        ({"shard": "half"}, ParameterError, "invalid shard"),
        ({"validation_size": -1}, ParameterError, "validation_size must be >= 0"),
        ({"params": {"min_len": 0}}, ParameterError, "invalid parameter 'min_len'"),
        ({"params": {"width": 3}}, ParameterError, "unknown parameter 'width'"),
    ],
)
def test_bad_config_kwargs(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        builder(tmp_path, **kwargs)


def test_unknown_config_suggests(tmp_path):
    with pytest.raises(UnknownNameError) as info:
        builder(tmp_path, "span")
    assert "span_qa" in info.value.suggestions


@pytest.mark.slow
def test_wheel_ships_the_builder_and_the_default_tokens(tmp_path):
    """Build the wheel, then import the builder from the unpacked wheel alone (not the source tree)."""
    dist = tmp_path / "dist"
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO_ROOT)]
    result = subprocess.run([*base[:4], "--no-build-isolation", *base[4:]], capture_output=True, text=True)
    if result.returncode != 0:  # no setuptools/wheel in this env: let pip fetch the build backend
        result = subprocess.run(base, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = dist.glob("cookbook_hub-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "cookbook_hub/_dataset_scripts/cookbook_templates.py" in names
        assert "cookbook_hub/_dataset_scripts/__init__.py" in names
        assert "cookbook_hub/tokens/default_tokens.txt" in names
        assert "cookbook_hub/templates/span_qa.py" in names
        assert not any(n.startswith("tests/") for n in names)
        zf.extractall(tmp_path / "site")
    cache = str(tmp_path / "cache")
    code = (
        "import cookbook_hub, cookbook_hub._dataset_scripts.cookbook_templates as m;"
        "from cookbook_hub.tokens.space import default_token_space;"
        "b = m.CookbookTemplates(config_name='copy', train_size=3, validation_size=0, test_size=0,"
        f" cache_dir={cache!r});"
        "print(cookbook_hub.__file__); print(len(default_token_space()));"
        "print([r['index'] for r in b.as_streaming_dataset(split='train')])"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    where, size, indices = run.stdout.strip().splitlines()[-3:]
    assert where.startswith(str(tmp_path / "site"))
    assert int(size) == len(get_template("copy").token_space)
    assert indices == "[0, 1, 2]"
