"""Training throughput: our trainer against a plain TRL `SFTTrainer` with its default settings, in the same run.

Run from the repository root:

    python benchmarks/train_throughput.py                      # CPU: SmolLM2-135M, 20 steps, batch 4, ~10 min
    python benchmarks/train_throughput.py --steps 10 --configs ours,trl-default
    python benchmarks/train_throughput.py --gpu-shape llama-8b --batch-size 16   # on a GPU: random Llama-3-8B shape

Configurations (`--configs`, comma-separated; each runs in a fresh child process, so start-up, memory and
caches do not carry over):

- `ours`: `cookbook_hub.train.trainer.prepare(TrainConfig(...)).trainer`, exactly as `cookbook-hub train` builds it;
- `trl-default`: `SFTTrainer(model=PATH, args=SFTConfig(...), train_dataset=..., peft_config=...)` with SFTConfig
  defaults except the shared knobs. On TRL 1.x that means activation checkpointing, an fp32 model and bf16
  autocast. Without a GPU, `SFTConfig()` refuses bf16 ("Your setup doesn't support bf16/gpu"), so on CPU this
  baseline sets `bf16=False` (its only other change from the defaults);
- `trl-bf16-cpu` (CPU only): the defaults made to run on CPU the other way, `use_cpu=True`, keeping bf16 autocast.
  Without native bf16 (AVX2 only) every step is ~40x slower, so it runs only `--bf16-cpu-steps` steps (not run
  by default);
- `ours-padding-free`: ours with TRL's `padding_free=True` set on the SFTConfig that
  `cookbook_hub.train.trainer.sft_config`
  returns, with `max_length=None` as TRL requires (a setting the trainer does not expose; patched in for this
  measurement): the same batches as ours,
  flattened into one row without padding (position ids restart per example, so SDPA gets a block-diagonal mask);
- `ours-packing`: ours with `--packing` (TRL's best-fit-decreasing packing; padding-free batches of several
  examples per `--max-length` row, so a step holds more examples and the loss curve is over other batches);
- `trl-fp32`: trl-default with `gradient_checkpointing=False` too (what ours sets on CPU), to attribute the
  difference (not run by default).

Shared knobs: model (weights and path), data rows (`load_training_data` + `sft_examples`, as ours reads them;
by default the shipped `doc-qa` recipe resized to `--rows` rows, so tokenizing the data does not dominate),
max length, batch size, steps, learning rate, seed, the LoRA config (`cookbook_hub.train.trainer.lora_config`), plus
`logging_steps=1` (for the loss curves) and `report_to="none"`.

Measured on the `trainer.train()` call only (model and data loading excluded):

- tokens = non-padding input tokens of every forward pass (`attention_mask.sum()`, or the flattened length of a
  padding-free batch): prompt, completion, EOS and template tokens, whether or not they carry loss;
- tokens/s = tokens / wall time of `trainer.train()` (includes data loading, optimizer steps, logging and the
  final checkpoint); median-step tokens/s = tokens per step / the median step time after the first `--warmup`
  steps, which bursts of other work on a shared machine move much less;
- peak memory = the child's `ru_maxrss` on CPU (model, data and training together), `torch.cuda.max_memory_allocated`
  during training on a GPU;
- model FLOPs per token = 4 x (weights of frozen linear layers, output head included) + 6 x (trainable LoRA weights):
  forward 2N, backward 2N for the activation gradients through the frozen weights, and weight gradients only for
  LoRA. Attention-score FLOPs are left out (about L / 6d of the total: ~1% at 256 tokens for d = 4096), and so
  is the recomputation of activation checkpointing (model FLOPs, not hardware FLOPs).
  MFU = model FLOPs/s / `--peak-flops`. (The 6N-per-token convention of full fine-tuning would read 1.5x higher.)

On a GPU the model is a Llama config with random weights (`--gpu-shape`), written once in bf16 to a scratch folder
with the SmolLM2 tokenizer (vocabulary 49,152, so `llama-8b` has ~7.5B parameters, not 8.0B).
Results: benchmarks/results/train_throughput.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULT_MARK = "@@RESULT "
CONFIGS = ("ours", "trl-default", "ours-padding-free", "ours-packing", "trl-bf16-cpu", "trl-fp32")
DEFAULT_CONFIGS = "ours,trl-default,ours-padding-free,ours-packing"
BASELINE, OURS = "trl-default", "ours"
H100_BF16_PEAK = 989e12
SPEEDUP_TARGET, MFU_TARGET, LOSS_TOLERANCE = 1.2, 0.40, 0.05
GPU_SHAPES: dict[str, dict[str, Any]] = {
    "llama-8b": {  # Llama-3-8B
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
    },
    "llama-1b": {  # Llama-3.2-1B
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "rope_theta": 500000.0,
        "tie_word_embeddings": True,
    },
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated, among {', '.join(CONFIGS)}")
    p.add_argument("--data", default="doc-qa", help="training data spec, as `cookbook-hub train --data` takes")
    p.add_argument("--rows", type=int, default=2000, help="resize a recipe --data to this many rows (0: as is)")
    p.add_argument("--model", default=None, help="base model on CPU (default: the offline SmolLM2-135M-Instruct)")
    p.add_argument("--gpu-shape", default="llama-8b", choices=sorted(GPU_SHAPES), help="random-weight model on GPU")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=3, help="steps left out of the median step time")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads in each child (0: torch's default)")
    p.add_argument("--bf16-cpu-steps", type=int, default=2, help="steps of trl-bf16-cpu (slow without native bf16)")
    p.add_argument("--peak-flops", type=float, default=H100_BF16_PEAK, help="peak bf16 FLOP/s of one GPU (H100)")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--render", action="store_true", help="only re-render the .md and .png from the saved .json")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ------------------------------------------------------------------ inside a child process


class TokenCounter:
    """Counts the non-padding input tokens of every forward pass of a model (a forward pre-hook)."""

    def __init__(self, model: Any) -> None:
        self.total = self.positions = 0
        self.handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module: Any, args: tuple, kwargs: dict[str, Any]) -> None:
        mask = kwargs.get("attention_mask")
        ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
        self.total += int(mask.sum()) if mask is not None and mask.dim() == 2 else ids.numel()
        self.positions += ids.numel()


def step_timer(counter: TokenCounter) -> Any:
    """A TrainerCallback recording, at the end of every optimizer step, the time and the tokens counted so far."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Wall-clock time and cumulative tokens at each step end."""

        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.marks.append((time.perf_counter(), counter.total))

    return StepTimer()


def train_config(spec: dict[str, Any]) -> Any:
    """Our TrainConfig for the shared knobs."""
    from cookbook_hub.train.config import TrainConfig

    return TrainConfig(
        data=spec["data"],
        out=spec["out"],
        model=spec["model"],
        steps=spec["steps"],
        lr=spec["lr"],
        batch_size=spec["batch_size"],
        max_length=spec["max_length"],
        lora_r=spec["lora_r"],
        lora_alpha=spec["lora_alpha"],
        lora_dropout=spec["lora_dropout"],
        packing=spec["config"] == "ours-packing",
        logging_steps=1,
        seed=spec["seed"],
    )


def baseline_trainer(spec: dict[str, Any]) -> Any:
    """A plain TRL SFTTrainer: SFTConfig defaults except the shared knobs; TRL loads the model from its path.

    Without a GPU, SFTConfig's default `bf16=True` is refused unless `use_cpu=True` is passed: `trl-default` then
    sets `bf16=False`, `trl-bf16-cpu` sets `use_cpu=True` (bf16 autocast on the CPU)."""
    import torch
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from cookbook_hub.models import resolve_base_model
    from cookbook_hub.train.data import load_training_data, sft_examples
    from cookbook_hub.train.trainer import lora_config

    config = train_config(spec)
    base = resolve_base_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base.path)
    examples = sft_examples(load_training_data(config.data).dataset, tokenizer)
    extra: dict[str, Any] = {}
    if not torch.cuda.is_available():  # SFTConfig's default bf16=True is refused on a CPU-only machine
        extra = {"use_cpu": True} if spec["config"] == "trl-bf16-cpu" else {"bf16": False}
    if spec["config"] == "trl-fp32":
        extra |= {"bf16": False, "gradient_checkpointing": False}
    args = SFTConfig(
        output_dir=spec["out"],
        max_steps=config.steps,
        learning_rate=config.lr,
        per_device_train_batch_size=config.batch_size,
        max_length=config.max_length,
        seed=config.seed,
        logging_steps=1,
        report_to="none",
        **extra,
    )
    return SFTTrainer(model=base.path, args=args, train_dataset=examples, peft_config=lora_config(config, base))


def patch_padding_free() -> None:
    """Make `cookbook_hub.train.trainer.sft_config` return its SFTConfig with `padding_free=True` (this process only).

    TRL refuses `padding_free` without packing unless `max_length=None` (it would not truncate): the rows here
    are all shorter than `--max-length` (the trainer checks the prompts; the completions are a few tokens)."""
    from cookbook_hub.train import trainer

    original = trainer.sft_config

    def padding_free_config(config: Any, hardware: Any) -> Any:
        args = original(config, hardware)
        args.padding_free, args.max_length = True, None
        return args

    trainer.sft_config = padding_free_config


def flops_per_token(model: Any) -> tuple[float, int, int]:
    """Model FLOPs per trained token (4 x frozen linear weights + 6 x trainable weights) and the two counts."""
    import torch

    frozen = sum(
        m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) and not m.weight.requires_grad
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 4.0 * frozen + 6.0 * trainable, frozen, trainable


def child_main(spec: dict[str, Any]) -> None:
    """Build one configuration's trainer, train it, and print its measurements as one JSON line."""
    import torch

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if spec["config"].startswith("ours"):
        from cookbook_hub.train.trainer import prepare

        if spec["config"] == "ours-padding-free":
            patch_padding_free()
        trainer = prepare(train_config(spec)).trainer
    else:
        trainer = baseline_trainer(spec)
    gpu = torch.cuda.is_available()
    counter = TokenCounter(trainer.model)
    timer = step_timer(counter)
    trainer.add_callback(timer)
    per_token, frozen, trainable = flops_per_token(trainer.model)
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    peak_mb = torch.cuda.max_memory_allocated() / 2**20 if gpu else maxrss_mb()
    args = trainer.args
    result = {
        "wall_s": wall,
        "torch_threads": torch.get_num_threads(),
        "tokens": counter.total,
        "positions": counter.positions,
        "tokens_seen_by_trainer": trainer.state.num_input_tokens_seen,
        "steps": trainer.state.global_step,
        "marks": [(t - start, n) for t, n in timer.marks],
        "losses": [[e["step"], e["loss"]] for e in trainer.state.log_history if "loss" in e],
        "peak_memory_mb": peak_mb,
        "flops_per_token": per_token,
        "frozen_linear_params": frozen,
        "trainable_params": trainable,
        "settings": {
            "model_dtype": str(next(trainer.model.parameters()).dtype).removeprefix("torch."),
            "bf16_autocast": args.bf16,
            "activation_checkpointing": args.activation_checkpointing,
            "attention": trainer.model.config._attn_implementation,
            "padding_free": bool(getattr(trainer, "padding_free", False)),
            "packing": args.packing,
            "dataloader_num_workers": args.dataloader_num_workers,
            "dataloader_pin_memory": args.dataloader_pin_memory,
            "include_num_input_tokens_seen": str(args.include_num_input_tokens_seen),
        },
    }
    print(RESULT_MARK + json.dumps(result), flush=True)


def maxrss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_random_model(spec: dict[str, Any]) -> None:
    """Write a random-weight Llama of the given shape (bf16) with the SmolLM2 tokenizer into spec['out']."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from cookbook_hub.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(None))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **GPU_SHAPES[spec["shape"]],
    )
    torch.manual_seed(0)
    with torch.device("cuda"):  # initialised on the GPU, directly in bf16 (~15 GB for llama-8b)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(spec["out"])
    tokenizer.save_pretrained(spec["out"])
    print(RESULT_MARK + json.dumps({"parameters": model.num_parameters()}), flush=True)


# ------------------------------------------------------------------ the parent


def data_spec(spec: str, rows: int, scratch: Path) -> str:
    """The data to train on: a recipe (name or file) resized to `rows` rows (written to `scratch`), else `spec`."""
    from cookbook_hub.recipes.schema import load_recipe, recipe_names

    if not rows or not (spec in recipe_names() or spec.endswith((".yaml", ".yml"))):
        return spec
    recipe = load_recipe(spec)
    resized = recipe.model_copy(update={"name": f"{recipe.name}-bench", "size": rows})
    path = scratch / f"{resized.name}.yaml"
    path.write_text(resized.to_yaml(), encoding="utf-8")
    return str(path)


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one child (a configuration, or writing the random model) in a fresh interpreter; return its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # its progress bars go to our stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed (exit code {proc.returncode}) for {spec}")
    return json.loads(lines[-1][len(RESULT_MARK) :])


def derive(name: str, raw: dict[str, Any], warmup: int, peak_flops: float | None) -> dict[str, Any]:
    """Throughput, median-step throughput, achieved FLOP/s and MFU from a child's raw measurements."""
    marks = raw["marks"]
    rate = raw["tokens"] / raw["wall_s"]
    times = [0.0] + [t for t, _ in marks]
    durations = [b - a for a, b in zip(times, times[1:])][warmup:]
    median = statistics.median(durations) if durations else None
    achieved = raw["flops_per_token"] * rate
    return {
        "config": name,
        **{k: v for k, v in raw.items() if k != "marks"},
        "seconds_per_step": raw["wall_s"] / raw["steps"],
        "tokens_per_step": raw["tokens"] / raw["steps"],
        "padding_share": 1 - raw["tokens"] / raw["positions"] if raw["positions"] else None,
        "tokens_per_s": rate,
        "median_step_s": median,
        "median_step_tokens_per_s": raw["tokens"] / raw["steps"] / median if median else None,
        "model_flops_per_s": achieved,
        "mfu": achieved / peak_flops if peak_flops else None,
        "step_marks": marks,
    }


def loss_gap(ours: dict[str, Any], base: dict[str, Any]) -> float | None:
    """Mean absolute per-step loss difference over the common steps, relative to the baseline's mean loss."""
    theirs = dict(map(tuple, base["losses"]))
    pairs = [(loss, theirs[step]) for step, loss in ours["losses"] if step in theirs]
    if not pairs:
        return None
    return sum(abs(a - b) for a, b in pairs) / len(pairs) / (sum(b for _, b in pairs) / len(pairs))


def verdict(ok: bool | None) -> str:
    """PASS, MISS, or NOT RUN when the check does not apply on this hardware."""
    return "NOT RUN" if ok is None else ("PASS" if ok else "MISS")


def check_targets(rows: dict[str, dict[str, Any]], gpu: bool, shape: str | None) -> list[dict[str, Any]]:
    """The issue's targets: >= 1.2x the baseline's tokens/s with a matching loss curve, and MFU >= 40% (GPU)."""
    ours, base = rows.get(OURS), rows.get(BASELINE)
    ratio = ours["tokens_per_s"] / base["tokens_per_s"] if ours and base else None
    gap = loss_gap(ours, base) if ours and base else None
    matches = gap is not None and gap <= LOSS_TOLERANCE
    seven_b = shape == "llama-8b"
    mfu = ours["mfu"] if ours else None
    return [
        {
            "target": f"GPU: ours >= {SPEEDUP_TARGET}x the baseline's tokens/s, loss curve within {LOSS_TOLERANCE:.0%}",
            "value": f"{ratio:.2f}x, loss gap {gap:.1%}" if ratio is not None and gap is not None else "n/a",
            "verdict": verdict((ratio >= SPEEDUP_TARGET and matches) if gpu and ratio is not None else None),
        },
        {
            "target": f"GPU: MFU >= {MFU_TARGET:.0%} for LoRA on a 7B-class model",
            "value": f"{mfu:.1%}" if mfu is not None else "n/a",
            "verdict": verdict((mfu >= MFU_TARGET) if gpu and seven_b and mfu is not None else None),
        },
        {
            "target": "CPU: report ours / baseline tokens/s (no target)",
            "value": f"{ratio:.2f}x, loss gap {gap:.1%}" if ratio is not None and gap is not None else "n/a",
            "verdict": "REPORTED" if not gpu and ratio is not None else "NOT RUN",
        },
    ]


def machine_info() -> dict[str, Any]:
    """Hardware, library versions, date and load average."""
    import platform

    from cookbook_hub.train.hardware import detect_hardware, framework_versions

    hardware = detect_hardware()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "accelerator": hardware.accelerator,
        "device": hardware.device,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": framework_versions(),
        "load_average_at_start": list(os.getloadavg()),
    }


def fmt(value: float | None, spec: str = ",.0f") -> str:
    """A number for the table, or a dash."""
    return "-" if value is None else format(value, spec)


def times(value: float | None) -> str:
    """A ratio such as 1.23x, or a dash."""
    return "-" if value is None else f"{value:.2f}x"


def table(report: dict[str, Any]) -> str:
    """The markdown table of every configuration."""
    base = report["rows"].get(BASELINE)
    header = (
        "| config | tokens/s | median-step tokens/s | vs trl-default | s/step | tokens/step | peak memory MiB "
        "| model GFLOP/s | MFU | final loss | dtype / autocast / act. ckpt / padding-free |"
    )
    lines = [header, "|" + " --- |" * 11]
    for name, row in report["rows"].items():
        s = row["settings"]
        vs = row["tokens_per_s"] / base["tokens_per_s"] if base else None
        median = row["median_step_tokens_per_s"]
        vs_median = median / base["median_step_tokens_per_s"] if base and median else None
        final = sum(loss for _, loss in row["losses"][-5:]) / len(row["losses"][-5:]) if row["losses"] else None
        mfu = fmt(row["mfu"] * 100, ".1f") + " %" if row["mfu"] is not None else "-"
        lines.append(
            f"| {name} | {fmt(row['tokens_per_s'])} | {fmt(median)} | {times(vs)} ({times(vs_median)}) "
            f"| {row['seconds_per_step']:.2f} | {row['tokens_per_step']:.0f} | {row['peak_memory_mb']:,.0f} "
            f"| {row['model_flops_per_s'] / 1e9:,.1f} | {mfu} | {fmt(final, '.3f')} "
            f"| {s['model_dtype']} / {'bf16' if s['bf16_autocast'] else 'off'} "
            f"/ {'on' if s['activation_checkpointing'] else 'off'} / {'on' if s['padding_free'] else 'off'} |"
        )
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """The results page: setup, table, targets, notes."""
    m, a = report["machine"], report["args"]
    threads = sorted({row["torch_threads"] for row in report["rows"].values()})
    targets = "\n".join(f"| {t['target']} | {t['value']} | {t['verdict']} |" for t in report["targets"])
    return "\n".join(
        [
            f"# Training throughput ({m['device']}, {m['date']})",
            "",
            f"Model `{report['model']}`, data `{a['data']}` ({a['rows'] or 'all'} rows), {a['steps']} steps, "
            f"batch {a['batch_size']}, max length {a['max_length']}, LoRA r={a['lora_r']} alpha={a['lora_alpha']} "
            f"dropout={a['lora_dropout']} (peft's default targets), lr {a['lr']}, seed {a['seed']}. "
            f"Load average at start / end: {', '.join(f'{x:.2f}' for x in m['load_average_at_start'])} / "
            f"{', '.join(f'{x:.2f}' for x in report['load_average_at_end'])} on {m['cpu_count']} CPUs.",
            "",
            "tokens = non-padding input tokens of all forward passes (prompt + completion + special tokens); "
            "tokens/s = tokens / wall time of `trainer.train()`; median-step = tokens per step / median step time "
            f"after the first {a['warmup']} steps; vs trl-default = tokens/s ratio (median-step ratio in brackets). "
            f"Torch CPU threads per run: {', '.join(map(str, threads))}. Peak memory: child process max RSS on CPU, "
            "`torch.cuda.max_memory_allocated` on GPU. Model FLOPs/token = 4 x frozen linear + 6 x LoRA weights.",
            "",
            table(report),
            "",
            "| target | value | verdict |",
            "| --- | --- | --- |",
            targets,
            "",
            *[f"- {note}" for note in report.get("notes", [])],
            "",
            "![loss curves](train_throughput.png)",
            "",
        ]
    )


def plot(report: dict[str, Any], path: Path) -> None:
    """Loss per step of every configuration side by side, and their tokens/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    for name, row in report["rows"].items():
        steps, losses = zip(*row["losses"]) if row["losses"] else ((), ())
        left.plot(steps, losses, marker=".", label=name)
    left.set(xlabel="step", ylabel="training loss", title=f"Loss per step ({report['model']})")
    left.legend()
    names = list(report["rows"])
    right.bar(names, [report["rows"][n]["tokens_per_s"] for n in names], color="tab:gray")
    right.set(ylabel="non-padding tokens / s", title="Throughput")
    right.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rounded(value: Any) -> Any:
    """Floats rounded to 5 significant digits, recursively (a readable JSON file)."""
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def notes(report: dict[str, Any]) -> list[str]:
    """What the numbers say, derived from them (and what was not run)."""
    rows = report["rows"]
    out = []
    if report["machine"]["accelerator"] != "cuda":
        out.append(
            "**GPU path not run**: this run had no CUDA GPU, so the GPU targets are NOT RUN; the GPU code "
            "(random-weight Llama, bf16, MFU) has only been checked by reading. The CPU ratio does not carry "
            "over: on a GPU both trainers use activation checkpointing, and what differs is the model dtype "
            "(ours loads bf16 weights, TRL's default loads fp32 weights and runs under bf16 autocast), flash "
            "attention (ours, when flash-attn is installed) and 4 dataloader workers (ours)."
        )
        out.append(
            "On a CPU-only machine `SFTConfig()` with its defaults refuses to start (bf16=True needs a GPU or "
            "use_cpu=True), so trl-default here is the defaults with bf16=False; what still differs from ours is "
            "TRL's default activation checkpointing (the forward pass is recomputed in the backward pass)."
        )
    if "trl-bf16-cpu" in rows and BASELINE in rows:
        row = rows["trl-bf16-cpu"]
        r = row["tokens_per_s"] / rows[BASELINE]["tokens_per_s"]
        out.append(
            f"trl-bf16-cpu (defaults + use_cpu=True, bf16 autocast on a CPU without native bf16), {row['steps']} "
            f"step(s): {row['seconds_per_step']:.0f} s/step, {r:.3f}x trl-default's tokens/s."
        )
    if OURS in rows and "trl-fp32" in rows:
        r = rows[OURS]["tokens_per_s"] / rows["trl-fp32"]["tokens_per_s"]
        out.append(
            f"ours / trl-fp32 (TRL defaults with bf16 and activation checkpointing off) = {r:.2f}x: "
            "with those settings equal, the two trainers run the same loop."
        )
    if OURS in rows and "ours-padding-free" in rows:
        row = rows["ours-padding-free"]
        r = row["tokens_per_s"] / rows[OURS]["tokens_per_s"]
        gap = loss_gap(row, rows[OURS])
        out.append(
            f"ours-padding-free / ours = {r:.2f}x on the same batches (loss gap {gap:.1%}): padding was "
            f"{rows[OURS]['padding_share']:.0%} of the positions ours computed. TRL's fused LM head "
            "(`add_fused_lm_head`) projects every position, padding included, on devices without Triton, "
            "so padding costs in the LM head as well as in the layers."
        )
    if OURS in rows and "ours-packing" in rows:
        r = rows["ours-packing"]["tokens_per_s"] / rows[OURS]["tokens_per_s"]
        out.append(
            f"ours-packing / ours = {r:.2f}x. Padding was {rows[OURS]['padding_share']:.0%} of the positions "
            f"ours computed and {rows['ours-packing']['padding_share']:.0%} with packing (padding-free rows); "
            "packing also puts several examples in each row, so a step trains more tokens, and its loss curve "
            "is over different batches."
        )
    return out


def write_results(report: dict[str, Any], directory: Path) -> None:
    """Write train_throughput.md (with the notes derived from the figures) and the loss plot."""
    report["notes"] = notes(report)
    (directory / "train_throughput.md").write_text(render_markdown(report))
    plot(report, directory / "train_throughput.png")


def main(argv: list[str] | None = None) -> None:
    """Run every configuration in its own child process, print the table and targets, write the results."""
    args = parse_args(argv)
    if args.child is not None:
        spec = json.loads(args.child)
        (make_random_model if spec.get("kind") == "model" else child_main)(spec)
        return
    import torch

    from cookbook_hub.train.data import load_training_data

    if args.render:
        write_results(json.loads((args.results_dir / "train_throughput.json").read_text()), args.results_dir)
        return
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        sys.exit(f"unknown config(s) {', '.join(unknown)}: choose among {', '.join(CONFIGS)}")
    gpu = torch.cuda.is_available()
    if gpu and "trl-bf16-cpu" in names:
        names.remove("trl-bf16-cpu")
    machine = machine_info()
    scratch = Path(tempfile.mkdtemp(prefix="cookbook-train-bench-"))
    try:
        data = data_spec(args.data, args.rows, scratch)
        load_training_data(data)  # build the recipe into the cache once, before any clock starts
        model, shape = args.model, None
        if gpu:
            shape, model = args.gpu_shape, str(scratch / "model")
            print(f"writing a random-weight {shape} to {model}", file=sys.stderr, flush=True)
            params = run_child({"kind": "model", "shape": shape, "out": model})["parameters"]
            print(f"  {params / 1e9:.2f}B parameters", file=sys.stderr, flush=True)
        shared = {k: getattr(args, k) for k in ("steps", "batch_size", "max_length", "lr", "seed")}
        shared |= {k: getattr(args, k) for k in ("lora_r", "lora_alpha", "lora_dropout")}
        shared |= {"model": model, "data": data, "threads": args.threads}
        rows = {}
        for name in names:
            steps = min(args.steps, args.bf16_cpu_steps) if name == "trl-bf16-cpu" else args.steps
            print(f"training {name} ({steps} steps) ...", file=sys.stderr, flush=True)
            raw = run_child({**shared, "steps": steps, "config": name, "out": str(scratch / name)})
            rows[name] = derive(name, raw, args.warmup, args.peak_flops if gpu else None)
            print(f"  {rows[name]['tokens_per_s']:,.0f} tokens/s in {raw['wall_s']:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report: dict[str, Any] = {
        "model": f"random-weight {shape} (bf16)" if gpu else (args.model or "SmolLM2-135M-Instruct (offline default)"),
        "args": {k: v for k, v in vars(args).items() if k not in ("child", "results_dir")},
        "machine": machine,
        "rows": rows,
        "load_average_at_end": list(os.getloadavg()),
    }
    report["targets"] = check_targets(rows, gpu, shape)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_results(report, args.results_dir)
    (args.results_dir / "train_throughput.json").write_text(json.dumps(rounded(report), indent=2) + "\n")
    print(table(report))
    for t in report["targets"]:
        print(f"{t['verdict']:>8}  {t['target']}: {t['value']}")


if __name__ == "__main__":
    main()
