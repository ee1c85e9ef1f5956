"""Training over a previous adapter when the run is killed while saving, or meets a full disk: the previous
adapter stays intact, nothing half-written is left, and the same command then succeeds without --resume
or any manual repair. Real `cookbook-hub train` processes, real SIGKILLs, a real filesystem that fills up.
"""

from __future__ import annotations

import collections
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_tools import KILLS, Disk, hidden_siblings, kill_after, kill_when, save_counts, small_disk, start_cli, took

from cookbook_hub.errors import TrainError
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.train.config import TrainConfig
from cookbook_hub.train.trainer import train

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")

CHECKPOINTS = AdapterFolder.CHECKPOINTS
WEIGHTS = "adapter_model.safetensors"
KiB = 1 << 10


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    yield from small_disk(tmp_path)


def flags(data: Path, model: Path, out: Path, seed: int) -> list[str]:
    """The `train` flags of a quick run of the tiny model over OUT: 2 steps of 4 examples, all linear layers."""
    return [
        *("--data", str(data), "--model", str(model), "--out", str(out), "--seed", str(seed), "--overwrite"),
        *("--steps", "2", "--batch-size", "4", "--max-length", "64", "--lr", "0.02", "--lora-r", "4"),
        *("--lora-dropout", "0", "--target-modules", "all-linear", "--logging-steps", "1"),
    ]


def config(data: Path, model: Path, out: Path, seed: int) -> TrainConfig:
    """The TrainConfig of the same run."""
    return TrainConfig(
        data=str(data), model=str(model), out=str(out), seed=seed, steps=2, batch_size=4, max_length=64, lr=2e-2,
        lora_r=4, lora_dropout=0.0, target_modules=["all-linear"], logging_steps=1, overwrite=True,
    )  # fmt: skip


def saved(out: Path) -> dict[str, bytes]:
    """The adapter folder's files (its checkpoints aside), by name."""
    return {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory, copy_data: Path, tiny_llama: Path) -> Path:
    """An adapter folder written by `train` (seed 0), to train over."""
    return train(config(copy_data, tiny_llama, tmp_path_factory.mktemp("previous") / "adapter", seed=0)).out


@pytest.mark.parametrize("moment", ["final checkpoint", "adapter save"])
def test_a_kill_while_saving_does_not_block_the_same_command(
    tmp_path: Path, copy_data: Path, tiny_llama: Path, previous: Path, moment: str
) -> None:
    out = shutil.copytree(previous, tmp_path / "adapter")
    before = saved(out)
    proc = start_cli("train", *flags(copy_data, tiny_llama, out, seed=1))
    partial = out.with_name(f".adapter.partial-{proc.pid}")
    final = out / CHECKPOINTS / "checkpoint-2"
    kill_when(proc, final.exists if moment == "final checkpoint" else partial.exists)
    assert saved(out) == before  # the previous adapter is intact ...
    assert (out / CHECKPOINTS).is_dir()  # ... next to what the killed run left
    result = train(config(copy_data, tiny_llama, out, seed=1))  # the same command, again
    assert result.metrics["resumed_from"] is None and result.metrics["steps_this_run"] == 2
    assert not (out / CHECKPOINTS).exists() and hidden_siblings(out) == []
    assert saved(out)[WEIGHTS] != before[WEIGHTS]


def test_trains_killed_at_random_moments_keep_the_previous_adapter_or_write_the_new_one(
    tmp_path: Path, copy_data: Path, tiny_llama: Path, previous: Path
) -> None:
    """SIGKILL `train --overwrite` over an adapter at a random moment (seeded fractions of how long the run takes
    here, KILLS times; 16 in the long profile): the folder holds the previous adapter, intact, or the new one,
    complete; the same command then succeeds without --resume and leaves no checkpoints or hidden siblings."""
    out, rng = shutil.copytree(previous, tmp_path / "adapter"), random.Random("train")
    whole = took(["train", *flags(copy_data, tiny_llama, out, seed=1)])
    outcomes: collections.Counter = collections.Counter()
    for k in range(KILLS):
        before = saved(out)
        moment = rng.uniform(0.05, 1.1) * whole
        killed = kill_after(start_cli("train", *flags(copy_data, tiny_llama, out, seed=2 + k)), moment)
        after = saved(out)
        complete = AdapterFolder(out).is_adapter and after.keys() >= before.keys() and after[WEIGHTS] != before[WEIGHTS]
        assert after == before or complete, (k, moment)
        outcomes[
            f"train: {'killed' if killed else 'ended'}, {'previous intact' if after == before else 'new complete'}"
        ] += 1
        result = train(config(copy_data, tiny_llama, out, seed=1))  # the same command, with no repair
        assert result.metrics["resumed_from"] is None and hidden_siblings(out) == []
        assert not (out / CHECKPOINTS).exists(), (k, moment)
        outcomes["train: next run succeeded"] += 1
    save_counts(outcomes, "TRAIN_CRASH_STATS")


@pytest.mark.parametrize("room", [16 * KiB, 128 * KiB, 256 * KiB])
def test_a_full_disk_says_so_and_the_same_command_succeeds_once_there_is_room(
    copy_data: Path, tiny_llama: Path, previous: Path, disk: Disk, room: int
) -> None:
    """With `room` bytes left, the disk fills up (with today's file sizes) in the first file of the final
    checkpoint, in torch's checkpoint writer (which reports no errno), or only when the adapter is saved."""
    out = shutil.copytree(previous, disk.path / "adapter")
    before = saved(out)
    filler = disk.fill(room)
    with pytest.raises(TrainError, match=f"no space left on {disk.path}"):
        train(config(copy_data, tiny_llama, out, seed=1))
    assert saved(out) == before and hidden_siblings(out) == []
    for checkpoint in (out / CHECKPOINTS).glob("checkpoint-*"):
        assert (checkpoint / "trainer_state.json").is_file()  # only complete checkpoints are kept
    filler.unlink()
    train(config(copy_data, tiny_llama, out, seed=1))
    assert not (out / CHECKPOINTS).exists() and hidden_siblings(out) == []
    assert saved(out)[WEIGHTS] != before[WEIGHTS]
