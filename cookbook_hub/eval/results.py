"""Evaluation results of an adapter: the saved lm-eval JSON, Hub metadata, a base-vs-adapter table and the card.

A results document (`eval/results_<timestamp>.json` in the adapter folder) holds lm-eval's output for
the base model and the adapter (`runs.base`, `runs.adapter`), with local paths and secrets removed.
From it come:

- `model_index(...)`: `huggingface_hub.EvalResult` entries, which the card's `model-index` is built from;
- `eval_result_entries(...)`: `huggingface_hub.EvalResultEntry` entries for the Hub's
  `.eval_results/<task>.yaml` files (benchmarks with a Hub dataset only);
- `comparison_table(...)`: a markdown table of base vs adapter with deltas, the card's Evaluation section.

`record` saves all of it into an adapter folder, with the evaluation's card part (its Evaluation section and
`model-index` entries); the card itself is rendered by `cookbook_hub.card.model_card` from the folder.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, EvalResultEntry, eval_result_entries_to_yaml

from cookbook_hub.errors import CookbookError
from cookbook_hub.eval.gpt4all import GPT4ALL_TASKS
from cookbook_hub.eval.runner import Evaluation
from cookbook_hub.folders import AdapterFolder, CardPart
from cookbook_hub.fs import sanitize

FORMAT = "cookbook-hub-eval/1"
EVALUATION = "Evaluation"
DROPPED = ("samples", "pretty_env_info")
LM_EVAL_URL = "https://github.com/EleutherAI/lm-evaluation-harness"
PRIMARY_METRICS = ("acc_norm", "acc", "exact_match", "f1")


def results_document(evaluation: Evaluation, date: dt.datetime | None = None) -> dict[str, Any]:
    """The JSON document saved for an evaluation: what was run, and lm-eval's output per run, sanitized."""
    date = date or dt.datetime.now(dt.timezone.utc)
    runs = {label: {k: v for k, v in run.items() if k not in DROPPED} for label, run in evaluation.runs.items()}
    return sanitize(
        {
            "format": FORMAT,
            "date": date.isoformat(timespec="seconds"),
            "model": evaluation.model,
            "adapter": evaluation.adapter,
            "tasks": evaluation.tasks,
            "limit": evaluation.limit,
            "batch_size": evaluation.batch_size,
            "style": evaluation.style.describe(),
            "runs": runs,
        },
        evaluation.local_paths,
    )


def save_results(document: Mapping[str, Any], folder: str | Path) -> Path:
    """Write the document as `<folder>/eval/results_<timestamp>.json`; returns its path."""
    stamp = dt.datetime.fromisoformat(document["date"]).strftime("%Y%m%dT%H%M%SZ")
    path = AdapterFolder(folder).results_file(stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path



def load_results(path: str | Path) -> dict[str, Any]:
    """Read a saved results document."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CookbookError(f"cannot read evaluation results {path}: {exc}") from None
    if document.get("format") != FORMAT:
        raise CookbookError(f"{path} is not a cookbook-hub results file (format {document.get('format')!r})")
    return document


# ------------------------------------------------------------------ scores


@dataclass(frozen=True)
class Score:
    """One metric of one task: base and adapter values (None where not run) and the sample count."""

    task: str
    metric: str
    base: float | None
    adapter: float | None
    samples: int | None

    @property
    def delta(self) -> float | None:
        """adapter - base, when both ran."""
        return None if self.base is None or self.adapter is None else self.adapter - self.base


def metric_values(run: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """task -> metric -> value from one lm-eval output (filter suffixes and stderrs dropped)."""
    out: dict[str, dict[str, float]] = {}
    for task, entries in run["results"].items():
        for key, value in entries.items():
            metric, _, _ = key.partition(",")
            if "," in key and not metric.endswith("_stderr") and isinstance(value, int | float):
                out.setdefault(task, {})[metric] = float(value)
    return out


def scores(document: Mapping[str, Any]) -> list[Score]:
    """Every task and metric of the document, base next to adapter."""
    runs = document["runs"]
    values = {label: metric_values(run) for label, run in runs.items()}
    first = runs.get("adapter") or runs["base"]
    out = []
    for task, metrics in metric_values(first).items():
        count = first.get("n-samples", {}).get(task, {}).get("effective")
        for metric in metrics:
            out.append(
                Score(
                    task,
                    metric,
                    values.get("base", {}).get(task, {}).get(metric),
                    values.get("adapter", {}).get(task, {}).get(metric),
                    count,
                )
            )
    return out


def format_score(value: float | None, signed: bool = False) -> str:
    """A score for a markdown table: 3 decimals (with a sign for deltas), `–` when missing."""
    return "–" if value is None else (f"{value:+.3f}" if signed else f"{value:.3f}")


def comparison_table(document: Mapping[str, Any]) -> str:
    """A markdown table: task, metric, n, base, adapter and adapter - base (just the values without an adapter)."""
    rows = scores(document)
    if "adapter" in document["runs"]:
        lines = ["| task | metric | n | base | adapter | Δ |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        lines += [
            f"| {s.task} | {s.metric} | {s.samples or ''} | {format_score(s.base)} | {format_score(s.adapter)} "
            f"| {format_score(s.delta, signed=True)} |"
            for s in rows
        ]
    else:
        lines = ["| task | metric | n | value |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {s.task} | {s.metric} | {s.samples or ''} | {format_score(s.base)} |" for s in rows]
    return "\n".join(lines) + "\n"


def style_note(style: Mapping[str, Any]) -> str:
    """A sentence on the prompt style of real tasks, for the card."""
    instruction = style.get("instruction")
    option = "" if instruction is None else (", with" if instruction else ", without") + " the instruction"
    return (
        f" Real-task prompts in the `{style['format']}` style{option}; `in_passage` is the share of extractive"
        " answers that are a span of the passage."
    )


def eval_card_section(document: Mapping[str, Any], results_file: str | None = None) -> str:
    """The card's Evaluation section: how it was run, then the comparison table."""
    runs = document["runs"]
    first = runs.get("adapter") or runs["base"]
    limit = f", the first {document['limit']} examples of each task" if document.get("limit") else ""
    saved = f" Full results: [`{results_file}`]({results_file})." if results_file else ""
    shape = style_note(document["style"]) if document.get("style") else ""
    intro = (
        f"Zero-shot with [lm-eval]({LM_EVAL_URL}) {first.get('lm_eval_version', '')} on {document['date'][:10]}"
        f"{limit}; tasks `{document['tasks']}`. Multiple choice compares the log-likelihood of each choice"
        " (`acc_norm`: per character); generation is greedy up to the first newline."
        f"{shape}{' Δ is adapter minus base.' if 'adapter' in runs else ''}{saved}"
    )
    return intro + "\n\n" + comparison_table(document)


# ------------------------------------------------------------------ Hub metadata


def dataset_of(task: str, config: Mapping[str, Any]) -> tuple[str, str | None]:
    """The dataset a task reads, as (Hub id or name, config): lm-eval's own for GPT4ALL tasks (also when read
    from local copies), `cookbook_templates` and the template for template tasks, the file for real tasks."""
    if task in GPT4ALL_TASKS:
        own = GPT4ALL_TASKS[task].config
        return own["dataset_path"], own.get("dataset_name")
    metadata = config.get("metadata") or {}
    if "template" in metadata:
        return "cookbook_templates", metadata["template"]
    if "file" in metadata:
        return metadata["file"], None
    return config.get("dataset_path") or task, config.get("dataset_name")


def _adapter_run(document: Mapping[str, Any]) -> Mapping[str, Any]:
    runs = document["runs"]
    return runs.get("adapter") or runs["base"]


def model_index(document: Mapping[str, Any]) -> list[EvalResult]:
    """`model-index` entries for every task and metric of the adapter (or, without one, the base model)."""
    run = _adapter_run(document)
    out = []
    for task, metrics in metric_values(run).items():
        config = run.get("configs", {}).get(task, {})
        dataset, name = dataset_of(task, config)
        for metric, value in metrics.items():
            out.append(
                EvalResult(
                    task_type="multiple-choice"
                    if config.get("output_type") == "multiple_choice"
                    else "text-generation",
                    dataset_type=dataset,
                    dataset_name=task,
                    dataset_config=name,
                    dataset_split=config.get("test_split") or config.get("validation_split"),
                    metric_type=metric,
                    metric_value=round(value, 4),
                    source_name="lm-eval",
                    source_url=LM_EVAL_URL,
                )
            )
    return out



def eval_result_entries(document: Mapping[str, Any]) -> dict[str, EvalResultEntry]:
    """One `.eval_results` entry per task whose dataset is on the Hub (`owner/name`): its primary metric
    (acc_norm, else acc, exact_match or f1), keyed by the task."""
    run = _adapter_run(document)
    limit = f", limit {document['limit']}" if document.get("limit") else ""
    out = {}
    for task, metrics in metric_values(run).items():
        dataset, _ = dataset_of(task, run.get("configs", {}).get(task, {}))
        metric = next((m for m in PRIMARY_METRICS if m in metrics), None)
        if "/" not in dataset or metric is None:
            continue
        out[task] = EvalResultEntry(
            dataset_id=dataset,
            task_id=task,
            value=round(metrics[metric], 4),
            date=document["date"],
            notes=f"{metric}, 0-shot, lm-eval {run.get('lm_eval_version', '')}{limit}",
        )
    return out


def write_eval_results(folder: str | Path, document: Mapping[str, Any]) -> list[Path]:
    """Write `.eval_results/<task>.yaml` (the Hub's format: a list of entries) for each Hub benchmark."""
    paths = []
    for task, entry in eval_result_entries(document).items():
        path = AdapterFolder(folder).eval_results_file(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(eval_result_entries_to_yaml([entry]), sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


# ------------------------------------------------------------------ the adapter folder


@dataclass(frozen=True)
class Recorded:
    """What recording an evaluation in an adapter folder wrote."""

    results: Path
    eval_results: list[Path]
    card_part: Path


def record(document: Mapping[str, Any], folder: str | Path) -> Recorded:
    """Save the results, the `.eval_results` files and the evaluation's card part into an adapter folder
    (re-rendering the card is the caller's next step)."""
    results = save_results(document, folder)
    rel = results.relative_to(folder).as_posix()
    part = CardPart(
        section=EVALUATION,
        markdown=eval_card_section(document, rel),
        model_index=[asdict(result) for result in model_index(document)],
    )
    card_part = AdapterFolder(folder).write_card_part(rel, part)
    return Recorded(results, write_eval_results(folder, document), card_part)
