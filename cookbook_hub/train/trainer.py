"""LoRA fine-tuning on Cookbook data with TRL's SFTTrainer (transformers Trainer + peft + accelerate).

`train(TrainConfig(...))` is what `cookbook-hub train` and `scripts/train.py` run:

1. `prepare` checks everything that can be wrong before a step is taken (output folder, data, config,
   model, target modules, max length) and builds the trainer;
2. the trainer fits a LoRA adapter with the loss on the completion only, writing checkpoints to
   `OUT/checkpoints` (`--resume` continues from the last one);
3. `save_adapter` writes the adapter (its `adapter_config.json` names the base model by its Hub id when it has
   one, so the adapter loads anywhere), the tokenizer, training_args.json and metrics.json (without local
   paths), loss.png and the model card into a hidden sibling of OUT, then swaps it into place: the previous
   adapter stays intact if anything fails, and the checkpoints go with the swap.

A run that is killed or meets a full disk leaves the previous adapter intact. The next run first removes
what it left (`clean_out`): a half-saved adapter folder, half-written checkpoints, and the checkpoints of a
run that had reached its last step, so that the same command starts over instead of asking for --resume.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cookbook_hub.card.model_card import write_model_card
from cookbook_hub.errors import OutputExistsError, TrainError
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.fs import atomic_path, is_disk_full, recover_from_dead_runs, sanitize
from cookbook_hub.models import BaseModel, resolve_base_model
from cookbook_hub.train.config import ALL_LINEAR, TrainConfig
from cookbook_hub.train.data import (
    DataProvenance,
    check_prompt_lengths,
    load_training_data,
    sft_examples,
    stream_training_data,
)
from cookbook_hub.train.hardware import (
    GPU_DATALOADER_WORKERS,
    Hardware,
    detect_hardware,
    framework_versions,
    process_state,
)

LOW_SPACE = 1 << 20  # bytes: below this, a half-written checkpoint is taken as a full disk


def check_out(out: Path, resume: bool, overwrite: bool = False) -> str | None:
    """Check the output folder (an existing adapter is replaced only with `overwrite` or `resume`); return the
    checkpoint to resume from (None for a fresh run)."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = AdapterFolder(out).checkpoints
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if resume:
        if last is None:
            raise TrainError(f"--resume: no checkpoint in {checkpoints}", fix="run without --resume to start over")
        return last
    if last is not None:
        raise TrainError(
            f"{out} holds the checkpoints of an unfinished run",
            fix=f"pass --resume to continue it, or delete {checkpoints} to start over",
        )
    if out.exists():
        others = {p.name for p in out.iterdir()} - {checkpoints.name} if out.is_dir() else {out.name}
        if others and not AdapterFolder(out).is_adapter:
            raise TrainError(f"{out} exists and is not an adapter folder", fix="choose a new --out folder")
        if others and not overwrite:
            raise OutputExistsError(
                f"{out} already holds an adapter (with any eval and alignment results recorded in it)",
                fix="pass --overwrite to replace it, or choose another --out folder",
            )
    return None


def clean_out(out: Path, resume: bool) -> None:
    """Remove what killed or failed runs left in and beside OUT: a half-saved adapter folder (or put back the
    previous one it had moved aside), checkpoints that were never completely written, and, unless resuming,
    the checkpoints of a run that had reached its last step (only its adapter save was lost: the run starts
    over)."""
    recover_from_dead_runs(out)
    folder = AdapterFolder(out).checkpoints
    if not folder.is_dir():
        return
    if drop_incomplete_checkpoints(folder) and not resume:
        shutil.rmtree(folder, ignore_errors=True)
    if not any(checkpoint_steps(folder)):
        shutil.rmtree(folder, ignore_errors=True)


def checkpoint_steps(folder: Path) -> dict[Path, int]:
    """The checkpoint folders in `folder`, with their step."""
    found = (re.fullmatch(r"checkpoint-(\d+)", path.name) for path in folder.glob("checkpoint-*") if path.is_dir())
    return {folder / match.group(0): int(match.group(1)) for match in found if match}


def trainer_state(checkpoint: Path) -> dict[str, Any] | None:
    """The trainer state of a checkpoint (the file the trainer writes last), None when missing or unreadable."""
    from transformers.trainer import TRAINER_STATE_NAME

    try:
        state = json.loads((checkpoint / TRAINER_STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("max_steps"), int) else None


def drop_incomplete_checkpoints(folder: Path) -> bool:
    """Delete the checkpoints without a trainer state; return whether the run had reached its last step (it had
    begun writing its final checkpoint) or left no complete checkpoint."""
    steps = checkpoint_steps(folder)
    max_steps = []
    for path in steps:
        state = trainer_state(path)
        if state is None:
            shutil.rmtree(path, ignore_errors=True)
        else:
            max_steps.append(state["max_steps"])
    return not max_steps or max(steps.values()) >= min(max_steps)


def load_tokenizer(path: str) -> tuple[Any, bool]:
    """The base model's tokenizer and whether it was changed (a pad token set to the EOS token)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.eos_token is None:
        raise TrainError(f"the tokenizer of {path} has no EOS token", fix="use a model whose tokenizer defines one")
    if tokenizer.pad_token is not None:
        return tokenizer, False
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, True


def load_model(path: str, hardware: Hardware) -> Any:
    """The base model in bf16 (GPUs that support it) or fp32, with flash attention or SDPA."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if hardware.bf16 else torch.float32
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=hardware.attention)


def adaptable_modules(model: Any) -> list[str]:
    """Names of the layers LoRA can adapt: the linear layers, without the output head."""
    import torch
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings()
    return [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear | Conv1D) and m is not head]


def check_target_modules(model: Any, targets: list[str] | None) -> None:
    """Refuse target module names that match no adaptable layer (peft matches a name or a dotted suffix)."""
    if not targets or targets == [ALL_LINEAR]:
        return
    names = adaptable_modules(model)
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        available = sorted({n.rsplit(".", 1)[-1] for n in names})
        raise TrainError(
            f"--target-modules {', '.join(missing)}: no such layer in the model",
            fix=f"choose among its layers: {', '.join(available)} (or {ALL_LINEAR})",
        )


def lora_config(config: TrainConfig, base: BaseModel) -> Any:
    """The LoRA config (`save_adapter` sets its `base_model_name_or_path` to the base's Hub id)."""
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=ALL_LINEAR if config.target_modules == [ALL_LINEAR] else config.target_modules,
        task_type="CAUSAL_LM",
        base_model_name_or_path=base.path,
    )


def sft_config(config: TrainConfig, hardware: Hardware) -> Any:
    """The resolved trainer arguments: completion-only loss; on GPUs bf16, activation checkpointing, data workers."""
    from trl import SFTConfig

    workers = min(GPU_DATALOADER_WORKERS, os.cpu_count() or 1) if hardware.gpu else 0
    return SFTConfig(
        output_dir=str(AdapterFolder(config.out).checkpoints),
        max_steps=config.steps or -1,
        num_train_epochs=config.epochs or 1.0,
        learning_rate=config.lr,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_ratio,  # transformers reads a value below 1 as a fraction of the steps
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        eval_strategy="steps" if config.eval_steps else "no",
        eval_steps=config.eval_steps,
        gradient_accumulation_steps=config.grad_accum,
        max_length=config.max_length,
        packing=config.packing,
        completion_only_loss=True,
        seed=config.seed,
        save_steps=config.save_steps,
        save_total_limit=2,
        logging_steps=min(config.logging_steps, max(1, config.steps // 4)) if config.steps else config.logging_steps,
        include_num_input_tokens_seen="non_padding",
        use_cpu=not hardware.gpu,
        bf16=hardware.bf16,
        activation_checkpointing=hardware.gpu,
        ddp_find_unused_parameters=False,  # every LoRA weight takes part in every step
        dataloader_num_workers=workers,
        dataloader_persistent_workers=workers > 0,
        dataloader_pin_memory=hardware.gpu,
        report_to=config.report_to,
        disable_tqdm=False,  # the run's progress bar stays when the libraries' logs are quiet (`cookbook-hub train`)
    )


def run_callbacks() -> tuple[Any, Any]:
    """Two transformers callbacks (defined on first use, so importing this module does not import transformers):
    a progress bar showing the latest loss, and a record of where the run started (after a resumed checkpoint)."""
    from transformers import ProgressCallback, TrainerCallback

    class LossProgressCallback(ProgressCallback):
        """The Trainer's progress bar with the latest loss on it (instead of a printed line per log)."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if self.training_bar is not None and logs and "loss" in logs:
                self.training_bar.set_postfix(loss=f"{logs['loss']:.4f}")

    class RunStart(TrainerCallback):
        """The step and token count this run started from (after a resumed checkpoint's state is loaded)."""

        step = tokens = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.step, self.tokens = state.global_step, state.num_input_tokens_seen

    return LossProgressCallback(), RunStart()


def local_names(config: TrainConfig, base: BaseModel, data: DataProvenance) -> dict[str, str]:
    """What each local path of a run is called in its records: the base model by its Hub id (else its name),
    the output, data and model paths by their last part."""
    names = {}
    for value in (config.out, config.data, config.model, data.source, data.location):
        if value and Path(value).exists():
            names[str(Path(value).resolve())] = names[str(Path(value).absolute())] = Path(value).resolve().name
    if Path(base.path).exists():
        names[str(Path(base.path).resolve())] = base.hub_id or base.card_id
    return names


def template_rows(data: Any) -> dict[str, int]:
    """Rows per template in the training split (empty for data without a `template` column or streamed data)."""
    import datasets

    dataset = data.dataset
    if not isinstance(dataset, datasets.Dataset) or "template" not in dataset.column_names:
        return {}
    return dict(sorted(Counter(dataset["template"]).items()))


@dataclass
class TrainingRun:
    """A checked, ready-to-train run: the trainer and what the adapter folder records about it."""

    config: TrainConfig
    trainer: Any
    tokenizer: Any
    tokenizer_changed: bool
    data: DataProvenance
    base: BaseModel
    hardware: Hardware
    resume_from: str | None
    start: Any
    templates: dict[str, int] = field(default_factory=dict)

    def training_args(self) -> dict[str, Any]:
        """training_args.json: our config, the resolved trainer and LoRA arguments, base model, data and the rows
        of each template, without local paths (see `local_names`)."""
        peft_config = self.trainer.model.peft_config["default"]
        trainable, total = self.trainer.model.get_nb_trainable_parameters()
        record = {
            "train_config": asdict(self.config),
            "base_model": asdict(self.base),
            "data": self.data.as_dict(),
            "templates": self.templates,
            "lora": {
                "r": peft_config.r,
                "lora_alpha": peft_config.lora_alpha,
                "lora_dropout": peft_config.lora_dropout,
                "target_modules": sorted({name.rsplit(".", 1)[-1] for name in peft_config.target_modules}),
                "trainable_parameters": trainable,
                "total_parameters": total,
            },
            "tokenizer_saved": True,
            "pad_token_added": self.tokenizer_changed,
            "precision": {  # the launcher's mixed precision (`accelerate launch`) applies when the args set none
                "weights": str(next(self.trainer.model.parameters()).dtype).removeprefix("torch."),
                "autocast": self.trainer.accelerator.mixed_precision,
            },
            "trainer_args": json.loads(self.trainer.args.to_json_string()),
        }
        return sanitize(record, local_names(self.config, self.base, self.data))

    def metrics(self, train_metrics: dict[str, float]) -> dict[str, Any]:
        """metrics.json: the log history, wall time, tokens seen and throughput, hardware and versions."""
        state = self.trainer.state
        runtime = train_metrics["train_runtime"]
        steps = state.global_step - self.start.step
        tokens = state.num_input_tokens_seen - self.start.tokens
        return {
            "global_step": state.global_step,
            "epoch": None if self.config.streaming else state.epoch,  # a stream is as long as the run
            "steps_this_run": steps,
            "train_loss": train_metrics["train_loss"],
            "train_runtime": runtime,
            "seconds_per_step": runtime / steps if steps else None,
            "tokens_seen": state.num_input_tokens_seen,
            "tokens_per_second": tokens / runtime if runtime else None,
            "resumed_from": Path(self.resume_from).name if self.resume_from else None,
            "hardware": asdict(self.hardware),
            "versions": framework_versions(),
            "log_history": state.log_history,
        }


def prepare(config: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainingRun:
    """Check the request (output, data, config, model, target modules, max length) and build the trainer."""
    from transformers import ProgressCallback
    from trl import SFTTrainer

    hardware = detect_hardware()
    with process_state().main_process_first():  # one process cleans up after killed runs
        clean_out(Path(config.out), config.resume)
    resume_from = check_out(Path(config.out), config.resume, config.overwrite)
    with process_state().main_process_first():  # one process builds, pulls or converts into the cache
        if config.streaming:  # rows generated as they are read, one device batch at a time, up to the last step's
            needed = config.steps * config.batch_size * config.grad_accum * process_state().num_processes
            data = stream_training_data(config.data, config.dataset_config, config.batch_size, needed)
        else:
            data = load_training_data(config.data, config.dataset_config, validation=config.eval_steps is not None)
        base = resolve_base_model(config.model, config.base_model_id)
    tokenizer, changed = load_tokenizer(base.path)
    examples = sft_examples(data.dataset, tokenizer)
    first = examples.take(config.batch_size) if config.streaming else examples  # a stream: the rows of step 1
    check_prompt_lengths(first, tokenizer, config.max_length)
    validation = sft_examples(data.validation, tokenizer) if data.validation is not None else None
    model = load_model(base.path, hardware)
    check_target_modules(model, config.target_modules)
    progress, start = run_callbacks()
    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, hardware),
        train_dataset=examples,
        eval_dataset=validation,
        processing_class=tokenizer,
        peft_config=lora_config(config, base),
        callbacks=[start, *callbacks],
    )
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(progress)
    return TrainingRun(
        config, trainer, tokenizer, changed, data.provenance, base, hardware, resume_from, start, template_rows(data)
    )


def save_adapter(run: TrainingRun, metrics: dict[str, Any]) -> Path:
    """Write the adapter folder beside OUT and swap it into place; on failure OUT is left as it was."""
    trainer, out = run.trainer, Path(run.config.out)
    state_dict = trainer.accelerator.get_state_dict(trainer.model) if trainer.is_fsdp_enabled else None
    if trainer.accelerator.is_main_process:
        try:
            with atomic_path(out, overwrite=True) as tmp:
                tmp.mkdir()
                # peft records the path the base was loaded from; a Hub id makes the adapter load anywhere
                trainer.model.peft_config["default"].base_model_name_or_path = run.base.hub_id or run.base.path
                trainer.model.save_pretrained(tmp, state_dict=state_dict)
                run.tokenizer.save_pretrained(tmp)
                logs = AdapterFolder(out).checkpoints / AdapterFolder.RUNS  # TensorBoard's, beside the checkpoints
                if logs.is_dir():
                    shutil.copytree(logs, AdapterFolder(tmp).runs)
                AdapterFolder(tmp).write_training_records(run.training_args(), metrics)
                write_model_card(tmp)
        except OSError as exc:
            reason = f"no space left on {out.parent}: {os.strerror(errno.ENOSPC)}" if is_disk_full(exc) else exc
            raise TrainError(
                f"saving the adapter to {out} failed ({reason}); the previous contents of {out} are intact",
                fix="free disk space, then run the same command again with --resume",
            ) from None
    trainer.accelerator.wait_for_everyone()
    return out


def fit(run: TrainingRun) -> dict[str, float]:
    """Run the trainer; a checkpoint that a full disk cut short is deleted, and the failure is a TrainError."""
    out = Path(run.config.out)
    checkpoints = AdapterFolder(out).checkpoints
    try:
        return run.trainer.train(resume_from_checkpoint=run.resume_from).metrics
    except Exception as exc:
        if not cut_short_by_full_disk(exc, checkpoints):
            raise
        if run.trainer.accelerator.is_main_process:
            clean_out(out, resume=True)
        again = "again with --resume" if checkpoint_steps(checkpoints) else "again"
        raise TrainError(
            f"training stopped: no space left on {out.parent} for the checkpoints in {checkpoints}; "
            f"the previous contents of {out} are intact",
            fix=f"free disk space, then run the same command {again}",
        ) from None


def cut_short_by_full_disk(exc: Exception, checkpoints: Path) -> bool:
    """Whether training failed on a full disk: the error says so, or (torch's checkpoint writer does not) it left
    a checkpoint half-written on a disk with less than LOW_SPACE bytes free."""
    if is_disk_full(exc):
        return True
    half_written = [path for path in checkpoint_steps(checkpoints) if trainer_state(path) is None]
    return bool(half_written) and shutil.disk_usage(checkpoints).free < LOW_SPACE


@dataclass(frozen=True)
class TrainResult:
    """What `train` produced: the adapter folder, its metrics, and the trained model (a PeftModel).

    Under `accelerate launch` every process returns one; `main_process` is true for the one that wrote OUT."""

    out: Path
    metrics: dict[str, Any]
    model: Any
    tokenizer: Any
    main_process: bool


def train(config: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Fine-tune a LoRA adapter as `config` says and write the adapter folder (see the module docstring)."""
    run = prepare(config, callbacks)
    metrics = run.metrics(fit(run))
    out = save_adapter(run, metrics)
    return TrainResult(out, metrics, run.trainer.model, run.tokenizer, run.trainer.accelerator.is_main_process)
