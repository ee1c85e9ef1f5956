"""The training request like `trl sft`: a YAML --config file under the flags, warmup and schedule, evaluation on
the validation split during training, --report-to, the last logged loss, and absurd numbers refused up front."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml
from tiny_models import write_recipe
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import DataError, TrainError
from cookbook_hub.train.config import TrainConfig, config_file_values
from cookbook_hub.train.trainer import prepare

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")


def split_recipe(folder: Path) -> Path:
    """The tiny copy recipe with a validation split (a quarter of 128 rows)."""
    path = write_recipe(folder, name="tiny-split", size=128)
    recipe = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**recipe, "splits": {"train": 0.75, "validation": 0.25}}), encoding="utf-8")
    return path


def test_config_file_keys_are_flag_names_in_either_spelling(tmp_path: Path):
    path = tmp_path / "sft.yaml"
    path.write_text("batch-size: 4\nlr_scheduler_type: cosine\n--steps: 3\n", encoding="utf-8")
    assert config_file_values(path) == {"batch_size": 4, "lr_scheduler_type": "cosine", "steps": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: 3\nlearning_rate: 1e-3\n", "unknown key 'learning_rate'"),
        ("stepz: 3\n", "unknown key 'stepz'.*did you mean 'steps'"),
        ("- steps\n", "must be a mapping of flag names to values"),
        ("steps: [3\n", "is not valid YAML"),
    ],
)
def test_a_bad_config_file_is_refused_naming_the_key(tmp_path: Path, text: str, message: str):
    path = tmp_path / "sft.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TrainError, match=f"(?s){message}"):
        config_file_values(path)
    result = CliRunner().invoke(app, ["train", "--config", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and re.search(message, " ".join(result.output.split()))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr": float("inf")}, "--lr must be > 0 and at most 1, got inf"),
        ({"lr": float("nan")}, "--lr must be > 0 and at most 1, got nan"),
        ({"lr": 3.0}, "--lr must be > 0 and at most 1, got 3.0"),
        ({"epochs": float("inf")}, "--epochs must be > 0 and at most 1000, got inf"),
        ({"lora_alpha": float("nan")}, "--lora-alpha must be > 0"),
        ({"warmup_ratio": 1.0}, r"--warmup-ratio must be in \[0, 1\)"),
        ({"warmup_ratio": float("nan")}, r"--warmup-ratio must be in \[0, 1\)"),
        ({"lr_scheduler_type": "cosine_annealing"}, "unknown --lr-scheduler-type 'cosine_annealing'"),
        ({"report_to": "wandb"}, "unknown --report-to 'wandb'"),
        ({"eval_steps": 0}, "--eval-steps must be >= 1"),
        ({"streaming": True}, "--streaming needs --steps"),
    ],
)
def test_absurd_settings_are_refused_with_the_bound(overrides: dict, message: str):
    with pytest.raises(TrainError, match=message):
        TrainConfig(data="d", out="o", **overrides)


@pytest.mark.parametrize("reporter", ["tensorboard", "trackio"])
def test_report_to_needs_its_package(reporter: str):
    if importlib.util.find_spec(reporter) is None:
        with pytest.raises(TrainError, match=f"(?s)the {reporter} package is not installed.*pip install {reporter}"):
            TrainConfig(data="d", out="o", report_to=reporter)
    else:
        assert TrainConfig(data="d", out="o", report_to=reporter).report_to == reporter


def test_report_to_tensorboard_writes_the_runs_logs(tmp_path: Path, copy_data: Path, tiny_llama: Path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "adapter"
    args = ["train", "--data", str(copy_data), "--model", str(tiny_llama), "--out", str(out), "--steps", "2"]
    result = CliRunner().invoke(app, [*args, "--logging-steps", "1", "--report-to", "tensorboard"])
    assert result.exit_code == 0, result.output
    events = list(tmp_path.rglob("events.out.tfevents.*"))
    assert events and all(out / "runs" in event.parents for event in events)  # kept when the checkpoints go
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = EventAccumulator(str(events[0].parent)).Reload()
    assert [event.step for event in logged.Scalars("train/loss")] == [1, 2]
    from cookbook_hub.hub.publish import folder_files

    assert not any(rel.startswith("runs/") for rel in folder_files(out))  # they record local paths: not published


def test_schedulers_are_transformers_names():
    from transformers.trainer_utils import SchedulerType

    from cookbook_hub.train.config import SCHEDULERS

    assert set(SCHEDULERS) <= {s.value for s in SchedulerType}


def test_cli_reads_the_config_file_and_flags_override_it(tmp_path: Path, tiny_llama: Path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "adapter"
    settings = {
        "data": str(split_recipe(tmp_path)),
        "model": str(tiny_llama),
        "out": str(out),
        "steps": 99,  # overridden below
        "batch-size": 4,
        "max_length": 64,
        "lr": "2e-2",  # YAML reads this as a string: it is converted like the flag's value
        "lora-r": 4,
        "target_modules": ["all-linear"],
        "logging_steps": 1,
        "warmup_ratio": 0.5,
        "lr_scheduler_type": "constant_with_warmup",
        "eval_steps": 2,
    }
    path = tmp_path / "sft.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--steps", "4"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 4  # the flag won over the file
    history = metrics["log_history"]
    train_logs = [entry for entry in history if "loss" in entry]
    # two warmup steps rising from 0, then constant
    assert [entry["learning_rate"] for entry in train_logs] == pytest.approx([0.0, 1e-2, 2e-2, 2e-2])
    evals = [entry for entry in history if "eval_loss" in entry]
    assert [entry["step"] for entry in evals] == [2, 4]  # the validation split, every --eval-steps
    assert f"final loss {train_logs[-1]['loss']:.4f}" in result.output  # the last logged loss, not the average
    assert metrics["train_loss"] != pytest.approx(train_logs[-1]["loss"], abs=1e-4)
    args = json.loads((out / "training_args.json").read_text())
    assert args["trainer_args"]["lr_scheduler_type"] == "constant_with_warmup"
    assert args["trainer_args"]["report_to"] == [] or args["trainer_args"]["report_to"] == "none"


def test_eval_steps_need_a_validation_split(tmp_path: Path, copy_data: Path, tiny_llama: Path):
    config = TrainConfig(data=str(copy_data), model=str(tiny_llama), out=str(tmp_path / "a"), steps=2, eval_steps=1)
    with pytest.raises(DataError, match="--eval-steps: config 'tiny-copy' .* has no 'validation' split"):
        prepare(config)


def test_streaming_trains_on_only_the_rows_it_reads(tmp_path: Path, tiny_llama: Path, monkeypatch):
    from cookbook_hub.generation.sources import MixtureSource

    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    touched: set[int] = set()
    generate = MixtureSource.batch

    def counted(self, positions):
        touched.update(positions)
        return generate(self, positions)

    monkeypatch.setattr(MixtureSource, "batch", counted)
    out = tmp_path / "adapter"
    flags = ["--data", str(write_recipe(tmp_path, size=4096)), "--model", str(tiny_llama), "--out", str(out)]
    flags += ["--steps", "3", "--batch-size", "4", "--max-length", "64", "--streaming", "--logging-steps", "1"]
    result = CliRunner().invoke(app, ["train", *flags])
    assert result.exit_code == 0, result.output
    assert touched == set(range(12))  # 3 steps of 4 rows, of a recipe of 4096
    assert not (tmp_path / "cache" / "datasets").exists()  # nothing was built
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 3 and len([e for e in metrics["log_history"] if "loss" in e]) == 3
    data = json.loads((out / "training_args.json").read_text())["data"]
    assert (data["kind"], data["rows"]) == ("recipe-stream", 12)
    assert "| config / split | `tiny-copy` / `train` (12 rows" in (out / "README.md").read_text()  # the card says so


@pytest.mark.parametrize(("flags", "message"), [(["--packing"], "--packing"), (["--eval-steps", "2"], "--eval-steps")])
def test_streaming_refuses_what_it_cannot_do(flags: list[str], message: str):
    result = CliRunner().invoke(app, ["train", "--data", "d", "--out", "o", "--steps", "2", "--streaming", *flags])
    assert result.exit_code == 2 and f"--streaming cannot be used with {message}" in result.output


def test_the_script_reads_the_same_config_file(tmp_path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_script", Path(__file__).parents[2] / "scripts" / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = tmp_path / "sft.yaml"
    path.write_text("data: generative\nout: a\nsteps: 9\nlr: 1e-3\ntarget-modules: [q_proj, v_proj]\n")
    config = script.parse_config(["--config", str(path), "--steps", "5"])
    assert config == TrainConfig(data="generative", out="a", steps=5, lr=1e-3, target_modules=["q_proj", "v_proj"])
    path.write_text("data: generative\nout: a\nsteps_: 9\n", encoding="utf-8")
    assert script.main(["--config", str(path)]) == 2
