"""Where training runs (CUDA GPUs or the CPU), the settings that follow from it, and the library versions
that shape a result."""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cookbook_hub import __version__
from cookbook_hub.errors import TrainError

FRAMEWORKS = ("torch", "transformers", "peft", "trl", "accelerate", "datasets")
GPU_DATALOADER_WORKERS = 4


@dataclass(frozen=True)
class Hardware:
    """Where training runs, and the settings that follow from it."""

    accelerator: str
    device: str
    count: int
    processes: int
    bf16: bool
    attention: str

    @property
    def gpu(self) -> bool:
        """Whether training runs on CUDA GPUs."""
        return self.accelerator == "cuda"


def process_state() -> Any:
    """This process's accelerate state. Without CUDA it is a CPU state, so that processes launched together
    (`accelerate launch`, `torchrun`) train data-parallel over gloo instead of as independent copies."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def detect_hardware() -> Hardware:
    """CUDA GPUs (bf16 when supported, flash attention when installed, else SDPA) or the CPU (fp32, SDPA)."""
    import torch
    from transformers.utils import is_flash_attn_2_available

    processes = process_state().num_processes
    if not torch.cuda.is_available():
        if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
            raise TrainError(
                "FSDP shards the model over CUDA GPUs and this machine has none",
                fix="on the CPU, launch with scripts/accelerate/ddp.yaml and --mixed_precision no",
            )
        return Hardware("cpu", f"{cpu_name()} ({os.cpu_count()} cores)", 1, processes, False, "sdpa")
    attention = "flash_attention_2" if is_flash_attn_2_available() else "sdpa"
    name, count = torch.cuda.get_device_name(0), torch.cuda.device_count()
    return Hardware("cuda", name, count, processes, torch.cuda.is_bf16_supported(), attention)


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux), else the machine type."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def framework_versions() -> dict[str, str]:
    """Versions of the libraries that shape the result."""
    return {name: version(name) for name in FRAMEWORKS} | {"cookbook-hub": __version__}
