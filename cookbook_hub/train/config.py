"""The training request: one dataclass whose fields are the `train` command's flags, one to one."""

from __future__ import annotations

from dataclasses import dataclass, field

from cookbook_hub.errors import TrainError
from cookbook_hub.models import DEFAULT_MODEL

ALL_LINEAR = "all-linear"


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
    config: str | None = field(default=None, metadata={"help": "Dataset config (default: the only one)."})
    model: str | None = field(
        default=None, metadata={"help": f"Base model folder, .gguf file or Hub id (default: {DEFAULT_MODEL})."}
    )
    steps: int | None = field(default=None, metadata={"help": "Optimizer steps (instead of --epochs)."})
    epochs: float | None = field(default=None, metadata={"help": "Passes over the data (default 1)."})
    lr: float = field(default=2e-4, metadata={"help": "Peak learning rate (linear decay)."})
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
    seed: int = field(default=0, metadata={"help": "Seed for the adapter init, data order and dropout."})
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint in OUT/checkpoints."})
    repo_id: str | None = field(default=None, metadata={"help": "Hub id used in the card's loading snippet."})

    def __post_init__(self) -> None:
        if self.steps is not None and self.epochs is not None:
            raise TrainError("--steps and --epochs were both given", fix="pass one of them")
        for name in ("steps", "batch_size", "grad_accum", "max_length", "lora_r", "save_steps", "logging_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TrainError(f"{flag(name)} must be >= 1, got {value}")
        for name in ("epochs", "lr", "lora_alpha"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise TrainError(f"{flag(name)} must be > 0, got {value}")
        if not 0 <= self.lora_dropout < 1:
            raise TrainError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if self.target_modules is not None:
            self.target_modules = [name for item in self.target_modules for name in item.split(",") if name]
