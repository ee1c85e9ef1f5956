"""Training data: every kind of data spec gives the built dataset's rows and records where they came from."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import datasets
import pytest
import yaml
from tiny_models import write_recipe

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.builder import build
from cookbook_hub.errors import DataError, PublishError, TargetError
from cookbook_hub.hub.publish import publish
from cookbook_hub.recipes.schema import load_recipe
from cookbook_hub.templates import get_template
from cookbook_hub.train.data import (
    check_prompt_lengths,
    load_training_data,
    prompt_lengths,
    sft_examples,
    stream_training_data,
)

pytest_plugins = ["tiny_models"]


def rows(dataset: datasets.Dataset) -> list[dict]:
    """The rows of a dataset as plain dicts."""
    return dataset.to_list()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cookbook-hub cache for recipe builds and pulled hub versions."""
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_recipe_file_is_built_once_into_the_cache_with_the_built_rows(copy_recipe: Path, cache: Path, copy_data: Path):
    recipe_file = copy_recipe
    data = load_training_data(str(recipe_file))
    assert rows(data.dataset) == rows(datasets.load_dataset(str(copy_data), "tiny-copy")["train"])
    recipe = load_recipe(recipe_file)
    p = data.provenance
    assert (p.kind, p.config, p.split, p.rows, p.format) == ("recipe", "tiny-copy", "train", 256, "prompt-completion")
    assert (p.recipe, p.recipe_version, p.content_hash) == ("tiny-copy", "0.1.0", recipe.content_hash)
    (built,) = (cache / "datasets").iterdir()
    stamp = built.stat().st_mtime_ns
    assert rows(load_training_data(str(recipe_file)).dataset) == rows(data.dataset)
    assert built.stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_built_folder_with_its_only_config(copy_data: Path):
    data = load_training_data(str(copy_data))
    p = data.provenance
    assert (p.kind, p.location, p.config, p.recipe, p.revision) == (
        "folder",
        str(copy_data),
        "tiny-copy",
        "tiny-copy",
        None,
    )
    assert data.dataset.column_names[:2] == ["prompt", "completion"]


def test_config_the_dataset_lacks_is_refused_with_the_configs(copy_data: Path):
    with pytest.raises(DataError, match="no config 'nope'") as info:
        load_training_data(str(copy_data), "nope")
    assert "tiny-copy" in str(info.value)


def test_several_configs_need_a_choice(tmp_path: Path):
    folder = build("templates", tmp_path / "set", n=4, progress=False, finish=write_dataset_card).path
    with pytest.raises(DataError, match="configs and none was chosen") as info:
        load_training_data(str(folder))
    assert "span_qa" in str(info.value) and "copy" in str(info.value)
    data = load_training_data(str(folder), "copy")
    assert (data.provenance.config, data.provenance.rows) == ("copy", 4)


def test_hub_folder_at_a_tag_is_pulled_by_commit(tmp_path: Path, cache: Path, copy_data: Path):
    hub = tmp_path / "hub" / "local" / "tiny-copy"
    published = publish(copy_data, str(hub), tag="v0.1.0")
    data = load_training_data(f"{hub}@v0.1.0")
    assert rows(data.dataset) == rows(load_training_data(str(copy_data)).dataset)
    p = data.provenance
    assert (p.kind, p.repo_id, p.revision, p.commit) == ("hub", "local/tiny-copy", "v0.1.0", published.commit)
    assert (p.recipe, p.recipe_version) == ("tiny-copy", "0.1.0")
    assert load_training_data(str(hub)).provenance.revision == "main"
    with pytest.raises(PublishError, match="unknown revision 'v9.9.9'") as info:
        load_training_data(f"{hub}@v9.9.9")
    assert "v0.1.0" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("no/such/folder", DataError, "no training data at 'no/such/folder'"),
        ("gpt4al", DataError, "did you mean the recipe 'gpt4all'"),
        ("hf://nobody/nothing", PublishError, "HF_HUB_OFFLINE is set"),  # the tests run offline
        ("hub/x@", TargetError, "NAME@REVISION"),
    ],
)
def test_missing_data_is_a_clear_error(spec: str, error: type[Exception], message: str):
    with pytest.raises(error, match=message):
        load_training_data(spec)


def test_unreadable_data_is_a_clear_error(tmp_path: Path, copy_data: Path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "train.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read"):
        load_training_data(str(broken))
    with pytest.raises(DataError, match="is a folder, not a hub repository"):
        load_training_data(f"{copy_data}@v0.1.0")


def test_chat_rows_become_conversational_examples(chat_data: Path, tokenizer):
    data = load_training_data(str(chat_data))
    assert data.provenance.format == "chat"
    example = sft_examples(data.dataset, tokenizer)[0]
    messages = data.dataset[0]["messages"]
    assert example == {"prompt": messages[:1], "completion": messages[1:]}


def test_chat_rows_without_a_chat_template_are_the_plain_text(chat_data: Path, copy_data: Path, tokenizer):
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.chat_template = None
    flat = sft_examples(load_training_data(str(chat_data)).dataset, tokenizer)
    plain = sft_examples(load_training_data(str(copy_data)).dataset, tokenizer)
    assert rows(flat) == rows(plain)


def test_prompt_lengths_count_the_chat_template(chat_data: Path, copy_data: Path, tokenizer):
    chat = sft_examples(load_training_data(str(chat_data)).dataset, tokenizer).select(range(8))
    plain = sft_examples(load_training_data(str(copy_data)).dataset, tokenizer).select(range(8))
    chat_lengths, plain_lengths = prompt_lengths(chat, tokenizer), prompt_lengths(plain, tokenizer)
    assert all(c > p for c, p in zip(chat_lengths, plain_lengths))  # role markers and the generation prompt
    check_prompt_lengths(plain, tokenizer, max(plain_lengths) + 1)
    with pytest.raises(DataError, match=f"prompts are up to {max(plain_lengths)} tokens long"):
        check_prompt_lengths(plain, tokenizer, max(plain_lengths))


def test_the_rows_style_is_recorded_with_the_data(tmp_path: Path, cache: Path):
    path = tmp_path / "bare-chat.yaml"
    recipe = {**yaml.safe_load(write_recipe(tmp_path, fmt="chat").read_text()), "name": "bare-chat"}
    path.write_text(yaml.safe_dump({**recipe, "instruction": False}), encoding="utf-8")
    data = load_training_data(str(path))
    assert data.provenance.style == {"format": "chat", "instruction": False}
    instruction = get_template("copy").instruction
    assert all(instruction not in row["messages"][0]["content"] for row in rows(data.dataset))
    assert load_training_data(str(write_recipe(tmp_path))).provenance.style == {"format": "plain"}


def test_a_kept_recipe_version_is_training_data(cache: Path):
    data = load_training_data("doc-qa@0.1.0")
    p = data.provenance
    assert (p.kind, p.recipe, p.recipe_version, p.style) == ("recipe", "doc-qa", "0.1.0", {"format": "plain"})
    assert load_recipe("doc-qa@0.1.0").content_hash == p.content_hash


def test_a_folder_whose_name_holds_an_at_sign_is_a_folder(tmp_path: Path, copy_data: Path):
    folder = Path(shutil.copytree(copy_data, tmp_path / "tiny-copy@0.1.0"))
    data = load_training_data(str(folder))
    assert (data.provenance.kind, data.provenance.rows) == ("folder", 256)


def test_a_recipe_streams_the_built_rows_without_building(tmp_path: Path, cache: Path, copy_data: Path):
    recipe = write_recipe(tmp_path)
    data = stream_training_data(str(recipe), piece=3, limit=10)
    assert isinstance(data.dataset, datasets.IterableDataset)
    built = rows(load_training_data(str(copy_data)).dataset.select(range(10)))
    assert list(data.dataset) == built  # the same rows, in the same order, as a build's train split
    p = data.provenance
    assert (p.kind, p.config, p.rows, p.recipe) == ("recipe-stream", "tiny-copy", 10, "tiny-copy")
    assert p.format == "prompt-completion"
    assert p.content_hash == load_recipe(recipe).content_hash
    assert not (cache / "datasets").exists()  # nothing was built
    assert stream_training_data(str(recipe)).provenance.rows == 256


@pytest.mark.parametrize("kind", ["folder", "hub", "name"])
def test_streaming_needs_a_recipe(tmp_path: Path, cache: Path, copy_data: Path, kind: str):
    spec = {"folder": str(copy_data), "hub": str(tmp_path / "hub" / "me" / "x"), "name": "no-such-recipe"}[kind]
    if kind == "hub":
        publish(copy_data, spec)
    with pytest.raises(DataError, match=f"--streaming: {spec!r} is not a recipe"):
        stream_training_data(spec)
