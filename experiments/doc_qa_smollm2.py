"""Does it help? Fine-tune SmolLM2-135M-Instruct on the document-QA template and score real extractive QA.

One run = (optionally) a LoRA fine-tune with `cookbook_hub.train.trainer.train` on chat rows of a recipe built from the
flags (span_qa, optionally mixed with other templates), then greedy evaluation of the resulting model on

- the ROPES extract (`shared/data/extractive_qa_ropes.jsonl`): exact match and token F1 (`cookbook_hub.eval.realtasks`),
  answer = the completion up to its first newline;
- fresh span_qa samples from the test split (indices from 2^41, never trained on), with the run's span_qa params:
  exact match by the template's own `score`.

Prompt shapes match: every example is one user turn rendered with the model's chat template (its default system
prompt included), and the answer is the assistant turn. With `--prompt bare` (default) the user turn is
`Document: ...\\nQuestion: ...` for both the template rows and ROPES (`realtasks.prompt`, checked to be the same
text); with `--prompt instruction` both start with span_qa's instruction line (the library's chat format).

Run from the repository root:

    python experiments/doc_qa_smollm2.py --name base --steps 0          # the untrained model
    python experiments/doc_qa_smollm2.py --name light                   # 100 steps, batch 8, r16 q/k/v/o, lr 1e-3
    python experiments/doc_qa_smollm2.py --name mix --mix key_value=0.3 --answer-len 2
    python experiments/doc_qa_smollm2.py --summarize                    # rewrite summary.md / summary.png only

Each run writes experiments/results/<name>.json and rewrites summary.md and summary.png from every run there.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TASK_FILE = "extractive_qa_ropes.jsonl"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TEMPLATE = "span_qa"
PROMPTS = ("bare", "instruction")
LIGHT_TARGETS = "q_proj,k_proj,v_proj,o_proj"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (the defaults are the light run)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="light", help="run name: results go to RESULTS_DIR/NAME.json")
    p.add_argument("--steps", type=int, default=100, help="optimizer steps; 0 evaluates the untrained model")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--target-modules", default=LIGHT_TARGETS, help="comma-separated, or all-linear")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--context-min-len", type=int, default=16, help="span_qa document length (tokens), low")
    p.add_argument("--context-max-len", type=int, default=64, help="span_qa document length (tokens), high")
    p.add_argument("--question-len", type=int, default=4)
    p.add_argument("--answer-len", type=int, default=3)
    p.add_argument(
        "--mix", default="", help="other templates and weights beside span_qa (weight 1), e.g. key_value=0.3,copy=0.1"
    )
    p.add_argument("--prompt", choices=PROMPTS, default="bare", help="user turn with or without the instruction")
    p.add_argument("--data", type=Path, default=DATA_DIR, help=f"folder holding {TASK_FILE}")
    p.add_argument("--eval-limit", type=int, default=None, help="first N ROPES rows (default: all)")
    p.add_argument("--template-eval", type=int, default=100, help="fresh span_qa test samples to score")
    p.add_argument("--eval-batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--note", default="", help="one line saved with the run (what it tries)")
    p.add_argument("--summarize", action="store_true", help="only rewrite summary.md and summary.png")
    return p.parse_args(argv)


# ------------------------------------------------------------------ prompts


def span_params(args: argparse.Namespace) -> dict[str, int]:
    """The span_qa params of the run."""
    return {
        "context_min_len": args.context_min_len,
        "context_max_len": args.context_max_len,
        "question_len": args.question_len,
        "answer_len": args.answer_len,
    }


def user_turn(template: Any, content: str, style: str) -> str:
    """A chat row's user turn in the run's prompt style (`bare` drops the template's instruction paragraph)."""
    return content.removeprefix(template.instruction + "\n\n") if style == "bare" else content


def task_user_turn(task: Any, example: Any, style: str) -> str:
    """The user turn for a real-task example: `realtasks.prompt`, after span_qa's instruction for `instruction`."""
    from cookbook_hub.eval.realtasks import prompt
    from cookbook_hub.templates import get_template

    body = prompt(task, example).rstrip("\n")
    return body if style == "bare" else get_template(TEMPLATE).instruction + "\n\n" + body


def check_prompt_shapes(task: Any, params: dict[str, int], style: str) -> None:
    """Refuse to run unless a span_qa row and a real example with the same text give the same user turn."""
    from cookbook_hub.eval.realtasks import Example
    from cookbook_hub.generation.formatting import format_sample
    from cookbook_hub.templates import get_template

    template = get_template(TEMPLATE, params)
    sample = template.sample(0)
    row = user_turn(template, format_sample(template, sample, "chat")["messages"][0]["content"], style)
    text = {k: " ".join(sample.inputs[k]) for k in ("context", "question")}
    example = Example(line=0, id="check", choices=None, answer=sample.answer, **text)
    if row != task_user_turn(task, example, style):
        raise SystemExit(f"prompt shapes differ:\n{row!r}\n{task_user_turn(task, example, style)!r}")


# ------------------------------------------------------------------ training


def parse_mix(spec: str) -> dict[str, float]:
    """`key_value=0.3,copy=0.1` -> {"key_value": 0.3, "copy": 0.1}."""
    mix = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, weight = item.partition("=")
        mix[name.strip()] = float(weight or 1)
    return mix


def recipe_for(args: argparse.Namespace) -> dict[str, Any]:
    """The run's training mixture as a recipe (validated by `cookbook_hub.recipes.schema.parse_recipe`)."""
    from cookbook_hub.recipes.schema import parse_recipe

    entries = [{"template": TEMPLATE, "weight": 1.0, "params": span_params(args)}]
    entries += [{"template": name, "weight": w} for name, w in parse_mix(args.mix).items()]
    recipe = {
        "name": f"doc-qa-exp-{args.name}".lower(),
        "version": "0.1.0",
        "description": "span_qa experiment mixture (experiments/doc_qa_smollm2.py)",
        "templates": entries,
        "size": args.steps * args.batch_size,
        "splits": {"train": 1.0},
        "seed": args.seed,
        "format": "chat",
    }
    return parse_recipe(recipe, "experiment recipe").model_dump(mode="json")


def training_folder(recipe: dict[str, Any], style: str, folder: Path) -> str:
    """The data spec to train on: the recipe file itself, or (style `bare`) its rows without the instruction."""
    import yaml

    from cookbook_hub.templates import get_template
    from cookbook_hub.train.data import load_training_data

    recipe_file = folder / f"{recipe['name']}.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    if style == "instruction":
        return str(recipe_file)
    rows = load_training_data(str(recipe_file)).dataset
    templates = {name: get_template(name) for name in set(rows["template"])}

    def strip(row: dict[str, Any]) -> dict[str, Any]:
        user, answer = row["messages"]
        user = {**user, "content": user_turn(templates[row["template"]], user["content"], style)}
        return {"messages": [user, answer]}

    out = folder / "rows"
    rows.map(strip, desc="bare user turns").to_parquet(str(out / "train-00000-of-00001.parquet"))
    return str(out)


def fine_tune(args: argparse.Namespace, scratch: Path) -> tuple[Any, Any, dict[str, Any]]:
    """Train the LoRA adapter with the library trainer; returns the model, tokenizer and a training record."""
    from cookbook_hub.train.config import TrainConfig
    from cookbook_hub.train.trainer import train

    recipe = recipe_for(args)
    data = training_folder(recipe, args.prompt, scratch)
    config = TrainConfig(
        data=data,
        out=str(scratch / "adapter"),
        steps=args.steps,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        target_modules=[args.target_modules],
        logging_steps=5,
        save_steps=max(args.steps, 1),
        seed=args.seed,
    )
    result = train(config)
    m = result.metrics
    losses = [[e["step"], e["loss"]] for e in m["log_history"] if "loss" in e]
    record = {
        "recipe": recipe,
        "train_runtime_s": m["train_runtime"],
        "train_loss": m["train_loss"],
        "tokens_seen": m["tokens_seen"],
        "losses": losses,
    }
    return result.model, result.tokenizer, record


def base_model() -> tuple[Any, Any]:
    """The untrained base model (fp32, as the trainer loads it on CPU) and its tokenizer."""
    from cookbook_hub.models import resolve_base_model
    from cookbook_hub.train.hardware import detect_hardware
    from cookbook_hub.train.trainer import load_model, load_tokenizer

    base = resolve_base_model(None)
    return load_model(base.path, detect_hardware()), load_tokenizer(base.path)[0]


# ------------------------------------------------------------------ evaluation


def generate(model: Any, tokenizer: Any, turns: list[str], batch_size: int, max_new_tokens: int) -> list[str]:
    """Greedy completions (up to the first newline) of chat prompts, batched by length with left padding."""
    import torch

    from cookbook_hub.eval.realtasks import first_line

    messages = [[{"role": "user", "content": t}] for t in turns]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    encoded = encoded["input_ids"]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    tokenizer.padding_side = "left"
    model.eval()
    out: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
        with torch.inference_mode():
            gen = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                stop_strings=["\n"],
                tokenizer=tokenizer,
            )
        texts = tokenizer.batch_decode(gen[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        out.update({i: first_line(t) for i, t in zip(idx, texts)})
    return [out[i] for i in range(len(turns))]


@dataclass
class Scores:
    """Mean scores and the predictions behind them."""

    scores: dict[str, float]
    predictions: list[dict[str, Any]]


def evaluate_ropes(model: Any, tokenizer: Any, task: Any, args: argparse.Namespace) -> Scores:
    """Exact match and token F1 on the real extractive-QA examples."""
    from cookbook_hub.eval.realtasks import exact_match, token_f1

    examples = task.examples[: args.eval_limit]
    turns = [task_user_turn(task, e, args.prompt) for e in examples]
    preds = generate(model, tokenizer, turns, args.eval_batch_size, args.max_new_tokens)
    em = [exact_match(p, e.answer) for p, e in zip(preds, examples)]
    f1 = [token_f1(p, e.answer) for p, e in zip(preds, examples)]
    n = len(examples)
    rows = [
        {"id": e.id, "answer": e.answer, "prediction": p, "em": a, "f1": b}
        for e, p, a, b in zip(examples, preds, em, f1)
    ]
    words = sum(len(p.split()) for p in preds) / n
    return Scores({"em": 100 * sum(em) / n, "f1": 100 * sum(f1) / n, "n": n, "mean_answer_words": words}, rows)


def evaluate_template(model: Any, tokenizer: Any, args: argparse.Namespace) -> Scores:
    """Exact match (the template's own score) on fresh span_qa samples from the test split."""
    from cookbook_hub.generation.formatting import format_sample
    from cookbook_hub.templates import get_template
    from cookbook_hub.tokens.sampling import split_range

    template = get_template(TEMPLATE, span_params(args))
    indices = split_range("test", args.template_eval)
    samples = list(template.samples(indices.start, indices.stop, seed=args.seed))
    turns = [
        user_turn(template, format_sample(template, s, "chat")["messages"][0]["content"], args.prompt) for s in samples
    ]
    preds = generate(model, tokenizer, turns, args.eval_batch_size, args.max_new_tokens)
    em = [template.score(p, s) for p, s in zip(preds, samples)]
    rows = [{"index": s.index, "answer": s.answer, "prediction": p, "em": e} for s, p, e in zip(samples, preds, em)]
    return Scores({"em": 100 * sum(em) / len(em), "n": len(em)}, rows)


# ------------------------------------------------------------------ one run


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train (unless --steps 0), evaluate, and return the run's record."""
    import torch

    from cookbook_hub.eval.realtasks import load_task_file

    if args.threads:
        torch.set_num_threads(args.threads)
    task = load_task_file(args.data / TASK_FILE)
    check_prompt_shapes(task, span_params(args), args.prompt)
    load_start = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="doc-qa-exp-") as scratch:
        if args.steps > 0:
            model, tokenizer, training = fine_tune(args, Path(scratch))
        else:
            (model, tokenizer), training = base_model(), None
        train_wall = time.perf_counter() - started
        eval_start = time.perf_counter()
        ropes = evaluate_ropes(model, tokenizer, task, args)
        template = evaluate_template(model, tokenizer, args)
        eval_wall = time.perf_counter() - eval_start
    return {
        "name": args.name,
        "note": args.note,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "summarize"},
        "training": training,
        "train_wall_s": train_wall if training else 0.0,
        "eval_wall_s": eval_wall,
        "load_average_start": list(load_start),
        "load_average_end": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "ropes": ropes.scores,
        "template": template.scores,
        "ropes_predictions": ropes.predictions,
        "template_predictions": template.predictions,
    }


# ------------------------------------------------------------------ summary


def load_runs(directory: Path) -> list[dict[str, Any]]:
    """Every run record in the results folder, untrained first, then by date."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]
    runs = [r for r in runs if "ropes" in r]
    return sorted(runs, key=lambda r: (r["training"] is not None, r["date"]))


def describe(r: dict[str, Any], seed: bool = True) -> str:
    """The run's knobs in a few words (`seed=False`: without the seed, to group runs of one setting)."""
    a = r["args"]
    if not r["training"]:
        return "untrained"
    parts = [
        f"{a['steps']} steps",
        f"lr {a['lr']:g}",
        f"batch {a['batch_size']}",
        f"r{a['lora_r']} {a['target_modules'].replace('_proj', '')}",
        f"doc {a['context_min_len']}-{a['context_max_len']}",
        f"q{a['question_len']} a{a['answer_len']}",
        f"prompt {a['prompt']}",
    ]
    if a["mix"]:
        parts.append(f"mix span_qa=1,{a['mix']}")
    if seed:
        parts.append(f"seed {a['seed']}")
    return ", ".join(parts)


def by_setting(runs: list[dict[str, Any]]) -> list[str]:
    """Table rows for the settings run with several seeds: mean and range of each score over the seeds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(describe(r, seed=False), []).append(r)
    rows = []
    for setting, members in groups.items():
        if len(members) < 2:
            continue
        cells = []
        for key in (("ropes", "em"), ("ropes", "f1"), ("template", "em")):
            values = [m[key[0]][key[1]] for m in members]
            cells.append(f"{sum(values) / len(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        names = ", ".join(m["name"] for m in members)
        rows.append(f"| {setting} | {len(members)} ({names}) | " + " | ".join(cells) + " |")
    return rows


def summary_markdown(runs: list[dict[str, Any]]) -> str:
    """The results table and per-run notes."""
    lines = [
        "# Document-QA fine-tuning of SmolLM2-135M-Instruct: ROPES vs the template's own rule",
        "",
        "ROPES = the extract in shared/data/extractive_qa_ropes.jsonl (greedy, answer = first line, SQuAD "
        "normalisation). Template EM = span_qa exact match on fresh test-split samples with the run's span_qa params.",
        "",
        "| run | steps | ROPES EM | ROPES F1 | ROPES rows | answer words | template EM | final loss | train s "
        "| eval s | load avg | knobs |",
        "|" + " --- |" * 12,
    ]
    for r in runs:
        t = r["training"]
        final = sum(x for _, x in t["losses"][-2:]) / len(t["losses"][-2:]) if t and t["losses"] else None
        load = max(r["load_average_start"][0], r["load_average_end"][0])
        lines.append(
            f"| {r['name']} | {r['args']['steps'] if t else 0} | {r['ropes']['em']:.1f} | {r['ropes']['f1']:.1f} "
            f"| {r['ropes']['n']} | {r['ropes']['mean_answer_words']:.1f} | {r['template']['em']:.1f} "
            f"| {'-' if final is None else f'{final:.2f}'} | {r['train_wall_s']:.0f} | {r['eval_wall_s']:.0f} "
            f"| {load:.1f} | {describe(r)} |"
        )
    seeded = by_setting(runs)
    if seeded:
        lines += [
            "",
            "Settings run with several seeds (the seed sets the adapter init, the data order and rows, and the "
            "fresh template samples): mean (min-max).",
            "",
            "| setting | seeds | ROPES EM | ROPES F1 | template EM |",
            "| --- | --- | --- | --- | --- |",
            *seeded,
        ]
    lines += ["", "Notes per run:", ""]
    lines += [f"- **{r['name']}**: {r['note'] or describe(r)}" for r in runs]
    lines += ["", "![scores and loss](summary.png)", ""]
    return "\n".join(lines)


def summary_plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Bars of ROPES EM/F1 and template EM per run; ROPES F1 against template EM (the trade-off between
    learning the rule and transferring); the training loss curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig = plt.figure(figsize=(14, 9))
    grid = fig.add_gridspec(2, 2)
    bars, trade, curves = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    names = [r["name"] for r in runs]
    x = np.arange(len(runs))
    for k, (label, key) in enumerate([("ROPES EM", ("ropes", "em")), ("ROPES F1", ("ropes", "f1"))]):
        bars.bar(x + (k - 1) * 0.27, [r[key[0]][key[1]] for r in runs], 0.27, label=label)
    bars.bar(x + 0.27, [r["template"]["em"] for r in runs], 0.27, label="template EM (fresh)")
    bars.set_xticks(x, names, rotation=20, ha="right")
    bars.set(ylabel="score (%)", title="Real task vs template rule")
    bars.legend()
    for r in runs:
        trade.scatter(r["template"]["em"], r["ropes"]["f1"], color="C1" if r["training"] else "C7")
        trade.annotate(
            r["name"], (r["template"]["em"], r["ropes"]["f1"]), fontsize=8, xytext=(4, 3), textcoords="offset points"
        )
    trade.set(
        xlabel="template EM on fresh span_qa samples (%)",
        ylabel="ROPES F1 (%)",
        title="Learning the rule vs transferring",
    )
    for r in runs:
        if r["training"] and r["training"]["losses"]:
            steps, losses = zip(*r["training"]["losses"])
            curves.plot(steps, losses, marker=".", label=r["name"])
    curves.set(xlabel="step", ylabel="training loss (answer tokens)", title="Training loss")
    curves.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_summary(directory: Path) -> None:
    """Rewrite summary.md and summary.png from every run record in `directory`."""
    runs = load_runs(directory)
    if runs:
        (directory / "summary.md").write_text(summary_markdown(runs), encoding="utf-8")
        summary_plot(runs, directory / "summary.png")


def main(argv: Sequence[str] | None = None) -> None:
    """Run one configuration (or only the summary) and write the results."""
    args = parse_args(argv)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        record = run(args)
        path = args.results_dir / f"{args.name}.json"
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        r, t = record["ropes"], record["template"]
        print(f"{args.name}: ROPES EM {r['em']:.1f} F1 {r['f1']:.1f} (n={r['n']}), template EM {t['em']:.1f}")
    write_summary(args.results_dir)


if __name__ == "__main__":
    main()
