"""The training request: one dataclass whose fields are the `train` command's flags, one to one."""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from cookbook_hub.errors import TrainError
from cookbook_hub.models import DEFAULT_MODEL

ALL_LINEAR = "all-linear"
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")
REPORTERS = {"none": None, "tensorboard": "tensorboard", "trackio": "trackio"}  # --report-to: the package it needs
COUNTS = ("steps", "batch_size", "grad_accum", "max_length", "lora_r", "save_steps", "logging_steps", "eval_steps")
BOUNDS = {"lr": 1.0, "epochs": 1000.0, "lora_alpha": 1e4, "steps": 1e7}  # above these a value is a typo, not a setting


def flag(name: str) -> str:
    """The command-line flag of a TrainConfig field: `batch_size` -> `--batch-size`."""
    return "--" + name.replace("_", "-")


@dataclass
class TrainConfig:
    """Everything `cookbook-hub train` takes: one field per command-line flag (`grad_accum` is `--grad-accum`)."""

    data: str = field(
        metadata={
            "help": "Recipe name or YAML, built folder, hub/NS/NAME or hf://NS/NAME (add @REVISION for a version)."
        }
    )
    out: str = field(metadata={"help": "Adapter folder to write (replaced atomically when the run succeeds)."})
    dataset_config: str | None = field(default=None, metadata={"help": "Dataset config (default: the only one)."})
    model: str | None = field(
        default=None, metadata={"help": f"Base model folder, .gguf file or Hub id (default: {DEFAULT_MODEL})."}
    )
    steps: int | None = field(default=None, metadata={"help": "Optimizer steps (instead of --epochs)."})
    epochs: float | None = field(default=None, metadata={"help": "Passes over the data (default 1)."})
    lr: float = field(default=2e-4, metadata={"help": "Peak learning rate (see --lr-scheduler-type)."})
    lr_scheduler_type: str = field(
        default="linear", metadata={"help": f"Learning-rate schedule after warmup: {', '.join(SCHEDULERS)}."}
    )
    warmup_ratio: float = field(
        default=0.0, metadata={"help": "Fraction of the steps over which the learning rate rises from 0, in [0, 1)."}
    )
    batch_size: int = field(default=8, metadata={"help": "Examples per device and step."})
    grad_accum: int = field(default=1, metadata={"help": "Gradient accumulation steps."})
    max_length: int = field(default=512, metadata={"help": "Tokens per example (longer ones are truncated)."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scaling = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    target_modules: list[str] | None = field(
        default=None,
        metadata={"help": "Module names to adapt, e.g. q_proj,v_proj or all-linear (default: peft's for the model)."},
    )
    packing: bool = field(default=False, metadata={"help": "Pack several examples into each max-length sequence."})
    save_steps: int = field(default=500, metadata={"help": "Write a checkpoint every N steps (and at the end)."})
    logging_steps: int = field(
        default=10, metadata={"help": "Log the loss every N steps (at most steps/4, so short runs get a loss curve)."}
    )
    eval_steps: int | None = field(
        default=None, metadata={"help": "Evaluate the loss on the validation split every N steps (default: never)."}
    )
    report_to: str = field(
        default="none",
        metadata={"help": f"Where to log metrics: {', '.join(REPORTERS)} (the package must be installed)."},
    )
    streaming: bool = field(
        default=False,
        metadata={"help": "Train on a recipe's rows as they are generated (no dataset build); needs --steps."},
    )
    seed: int = field(default=0, metadata={"help": "Seed for the adapter init, data order and dropout."})
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint in OUT/checkpoints."})
    overwrite: bool = field(
        default=False, metadata={"help": "Replace an existing adapter folder at --out (and its eval results)."}
    )
    base_model_id: str | None = field(
        default=None,
        metadata={"help": "Hub id of a local --model, for adapter_config.json (default: the id its config names)."},
    )
    repo_id: str | None = field(default=None, metadata={"help": "Hub id used in the card's loading snippet."})

    def __post_init__(self) -> None:
        if self.steps is not None and self.epochs is not None:
            raise TrainError("--steps and --epochs were both given", fix="pass one of them")
        for name in COUNTS:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TrainError(f"{flag(name)} must be >= 1, got {value}")
        for name, bound in BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not 0 < value <= bound:  # also refuses nan and inf
                raise TrainError(f"{flag(name)} must be > 0 and at most {bound:g}, got {value}")
        if not 0 <= self.warmup_ratio < 1:
            raise TrainError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.lr_scheduler_type not in SCHEDULERS:
            raise TrainError(
                f"unknown --lr-scheduler-type {self.lr_scheduler_type!r}", fix=f"use {', '.join(SCHEDULERS)}"
            )
        check_reporter(self.report_to)
        if self.streaming and self.steps is None:
            raise TrainError("--streaming needs --steps: a stream has no epochs", fix="pass --steps N")
        streamed = [flag(name) for name in ("eval_steps", "packing") if self.streaming and getattr(self, name)]
        if streamed:
            raise TrainError(f"--streaming cannot be used with {streamed[0]}", fix=f"drop --streaming or {streamed[0]}")
        if not 0 <= self.lora_dropout < 1:
            raise TrainError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if self.target_modules is not None:
            self.target_modules = [name for item in self.target_modules for name in item.split(",") if name]


def check_reporter(report_to: str) -> None:
    """Refuse an unknown --report-to, and one whose package is not installed."""
    if report_to not in REPORTERS:
        raise TrainError(f"unknown --report-to {report_to!r}", fix=f"use {', '.join(REPORTERS)}")
    package = REPORTERS[report_to]
    if package and importlib.util.find_spec(package) is None:
        raise TrainError(
            f"--report-to {report_to}: the {package} package is not installed",
            fix=f"pip install {package}, or pass --report-to none",
        )


def field_name(key: str) -> str:
    """The TrainConfig field a flag or config-file key names: `--batch-size`, `batch-size` and `batch_size` alike."""
    return key.lstrip("-").replace("-", "_")


def config_file_values(path: str | Path) -> dict[str, Any]:
    """The settings of a training config file (YAML, keys are flag names as in `trl sft --config`), by field name;
    an unknown key is an error naming it."""
    path = Path(path)
    fix = "write a YAML mapping of flag names to values, e.g. `steps: 200`"
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainError(f"{path}: cannot read it ({exc.strerror})", fix="pass a YAML file") from None
    except yaml.YAMLError as exc:
        raise TrainError(f"{path} is not valid YAML: {' '.join(str(exc).split())}", fix=fix) from None
    if not isinstance(values, dict):
        raise TrainError(f"{path} must be a mapping of flag names to values", fix=fix)
    known = {spec.name for spec in fields(TrainConfig)}
    settings = {field_name(str(key)): value for key, value in values.items()}
    unknown = [str(key) for key in values if field_name(str(key)) not in known]
    if unknown:
        close = difflib.get_close_matches(field_name(unknown[0]), known, n=1)
        raise TrainError(
            f"{path}: unknown key {unknown[0]!r}",
            fix=f"did you mean {close[0]!r}?" if close else "use the flag names of `cookbook-hub train --help`",
        )
    return settings
