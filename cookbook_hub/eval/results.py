"""Evaluation results of an adapter: the saved lm-eval JSON, Hub metadata, a base-vs-adapter table and the card.

A results document (`eval/results_<timestamp>.json` in the adapter folder) holds lm-eval's output for
the base model and the adapter (`runs.base`, `runs.adapter`), with local paths and secrets removed, and a
`scores` summary: each task and metric with its n, value and standard error, beside the run's `limit`.
From it come:

- `model_index(...)`: `huggingface_hub.EvalResult` entries, which the card's `model-index` is built from;
- `eval_result_entries(...)`: `huggingface_hub.EvalResultEntry` entries for the Hub's
  `.eval_results/<task>.yaml` files;
- `comparison_table(...)`: a markdown table of base vs adapter (value ± standard error, n) with deltas, the
  card's Evaluation section, and `results_plot(...)`, the same as bars with error bars and chance levels.

Only benchmark results enter the Hub's metadata: full tasks (no `limit`) whose dataset is on the Hub (a real
`owner/name` id). A limited run is a smoke test, shown in the card's tables with its n and standard errors only.

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
from cookbook_hub.eval.realtasks import chance_rate
from cookbook_hub.eval.runner import Evaluation
from cookbook_hub.folders import AdapterFolder, CardPart
from cookbook_hub.fs import sanitize
from cookbook_hub.models import looks_like_hub_id
from cookbook_hub.plots import grouped_bars

FORMAT = "cookbook-hub-eval/1"
EVALUATION = "Evaluation"
DROPPED = ("samples", "pretty_env_info")
LM_EVAL_URL = "https://github.com/EleutherAI/lm-evaluation-harness"
PRIMARY_METRICS = ("acc_norm", "acc", "exact_match", "f1")


def results_document(evaluation: Evaluation, date: dt.datetime | None = None) -> dict[str, Any]:
    """The JSON document saved for an evaluation: what was run, and lm-eval's output per run, sanitized."""
    date = date or dt.datetime.now(dt.timezone.utc)
    runs = {label: {k: v for k, v in run.items() if k not in DROPPED} for label, run in evaluation.runs.items()}
    document = {
        "format": FORMAT,
        "date": date.isoformat(timespec="seconds"),
        "model": evaluation.model,
        "adapter": evaluation.adapter,
        "tasks": evaluation.tasks,
        "limit": evaluation.limit,
        "batch_size": evaluation.batch_size,
        "style": evaluation.style.describe(),
        "chance": chance_levels(evaluation),
        "runs": runs,
    }
    document["scores"] = [asdict(score) for score in scores(document)]
    return sanitize(document, evaluation.local_paths)


def chance_levels(evaluation: Evaluation) -> dict[str, float]:
    """The score of a uniform random pick on each real choice task, over the examples evaluated."""
    return {
        name: chance_rate(task, task.examples[: evaluation.limit])
        for name, task in evaluation.real_tasks.items()
        if task.kind != "extractive"
    }


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
    """One metric of one task: base and adapter values and standard errors (None where not run or not
    computed) and the sample count."""

    task: str
    metric: str
    base: float | None
    adapter: float | None
    samples: int | None
    base_stderr: float | None = None
    adapter_stderr: float | None = None

    @property
    def delta(self) -> float | None:
        """adapter - base, when both ran."""
        return None if self.base is None or self.adapter is None else self.adapter - self.base


def metric_values(run: Mapping[str, Any], stderr: bool = False) -> dict[str, dict[str, float]]:
    """task -> metric -> value from one lm-eval output (filter suffixes dropped); with `stderr`, the metrics'
    standard errors instead (lm-eval's `<metric>_stderr`; `N/A` ones left out)."""
    out: dict[str, dict[str, float]] = {}
    for task, entries in run["results"].items():
        for key, value in entries.items():
            metric, _, _ = key.partition(",")
            if "," in key and metric.endswith("_stderr") == stderr and isinstance(value, int | float):
                out.setdefault(task, {})[metric.removesuffix("_stderr") if stderr else metric] = float(value)
    return out


def scores(document: Mapping[str, Any]) -> list[Score]:
    """Every task and metric of the document, base next to adapter, with standard errors."""
    runs = document["runs"]
    values = {label: metric_values(run) for label, run in runs.items()}
    errors = {label: metric_values(run, stderr=True) for label, run in runs.items()}
    first = runs.get("adapter") or runs["base"]

    def get(table: dict[str, dict[str, dict[str, float]]], label: str, task: str, metric: str) -> float | None:
        return table.get(label, {}).get(task, {}).get(metric)

    out = []
    for task, metrics in metric_values(first).items():
        count = first.get("n-samples", {}).get(task, {}).get("effective")
        for metric in metrics:
            out.append(
                Score(
                    task,
                    metric,
                    get(values, "base", task, metric),
                    get(values, "adapter", task, metric),
                    count,
                    get(errors, "base", task, metric),
                    get(errors, "adapter", task, metric),
                )
            )
    return out


def format_score(value: float | None, signed: bool = False, stderr: float | None = None) -> str:
    """A score for a markdown table: 3 decimals (with a sign for deltas, `± stderr` when given), `–` when
    missing."""
    if value is None:
        return "–"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text if stderr is None else f"{text} ± {stderr:.3f}"


def comparison_table(document: Mapping[str, Any]) -> str:
    """A markdown table: task, metric, n, base, adapter (each ± its standard error) and adapter - base (just the
    values without an adapter)."""
    rows = scores(document)
    if "adapter" in document["runs"]:
        lines = ["| task | metric | n | base | adapter | Δ |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        lines += [
            f"| {s.task} | {s.metric} | {s.samples or ''} | {format_score(s.base, stderr=s.base_stderr)} "
            f"| {format_score(s.adapter, stderr=s.adapter_stderr)} | {format_score(s.delta, signed=True)} |"
            for s in rows
        ]
    else:
        lines = ["| task | metric | n | value |", "| --- | --- | ---: | ---: |"]
        lines += [
            f"| {s.task} | {s.metric} | {s.samples or ''} | {format_score(s.base, stderr=s.base_stderr)} |"
            for s in rows
        ]
    return "\n".join(lines) + "\n"


def primary_metric(metrics: Mapping[str, Any]) -> str | None:
    """The metric a task is reported by: acc_norm, else acc, exact_match or f1 (None when it has none)."""
    return next((m for m in PRIMARY_METRICS if m in metrics), None)


def results_plot(document: Mapping[str, Any], path: Path) -> Path | None:
    """Bars of each task's primary metric, base next to adapter, with ± 1 standard error bars and the task's
    chance level as a dashed mark; None when no task has a primary metric."""
    first = {(s.task, s.metric): s for s in scores(document)}
    tasks = {task: primary_metric(metrics) for task, metrics in metric_values(_adapter_run(document)).items()}
    shown = [(task, first[task, metric]) for task, metric in tasks.items() if metric is not None]
    if not shown:
        return None
    labels = [f"{task}\n{score.metric}" for task, score in shown]
    groups, errors = {}, {}
    for label in ("base", "adapter"):
        if label in document["runs"]:
            groups[label] = [getattr(score, label) or 0.0 for _, score in shown]
            errors[label] = [getattr(score, f"{label}_stderr") or 0.0 for _, score in shown]
    chance = [document.get("chance", {}).get(task) for task, _ in shown]
    limit = f", first {document['limit']} examples" if document.get("limit") else ""
    title = f"lm-eval {document['date'][:10]}{limit}: ± 1 standard error"
    return grouped_bars(path, title, labels, groups, errors=errors, chance=chance)


def style_note(style: Mapping[str, Any]) -> str:
    """A sentence on the prompt style of real tasks, for the card."""
    instruction, cue = style.get("instruction"), style.get("answer_cue")
    option = "" if instruction is None else (", with" if instruction else ", without") + " the instruction"
    option += "" if cue is None else (", ending with 'Answer:'" if cue else ", without an answer cue")
    return (
        f" Real-task prompts in the `{style['format']}` style{option}; `in_passage` is the share of extractive"
        " answers that are a span of the passage."
    )


def eval_card_section(document: Mapping[str, Any], results_file: str | None = None, plot: str | None = None) -> str:
    """The card's Evaluation section: how it was run, then the comparison table (and the plot at repo path
    `plot`)."""
    runs = document["runs"]
    first = runs.get("adapter") or runs["base"]
    limit = (
        f", the first {document['limit']} examples of each task (a limited run: not benchmark results, so kept"
        " out of the model-index)"
        if document.get("limit")
        else ""
    )
    saved = f" Full results: [`{results_file}`]({results_file})." if results_file else ""
    shape = style_note(document["style"]) if document.get("style") else ""
    intro = (
        f"Zero-shot with [lm-eval]({LM_EVAL_URL}) {first.get('lm_eval_version', '')} on {document['date'][:10]}"
        f"{limit}; tasks `{document['tasks']}`. Multiple choice compares the log-likelihood of each choice"
        " (`acc_norm`: per character); generation is greedy up to the first newline."
        f"{shape}{' Δ is adapter minus base.' if 'adapter' in runs else ''}{saved}"
    )
    shown = f"\n![evaluation results]({plot})\n" if plot else ""
    return intro + " Values are ± one standard error.\n\n" + comparison_table(document) + shown


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


def benchmark_tasks(document: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The tasks of the adapter's run (or, without one, the base model's) that are benchmark results, with their
    metrics: none for a limited run, and only tasks whose dataset is on the Hub (a real `owner/name` id)."""
    if document.get("limit") is not None:
        return {}
    run = _adapter_run(document)
    return {
        task: metrics
        for task, metrics in metric_values(run).items()
        if looks_like_hub_id(dataset_of(task, run.get("configs", {}).get(task, {}))[0])
    }


def model_index(document: Mapping[str, Any]) -> list[EvalResult]:
    """`model-index` entries for every metric of the benchmark tasks (`benchmark_tasks`)."""
    run = _adapter_run(document)
    out = []
    for task, metrics in benchmark_tasks(document).items():
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
    """One `.eval_results` entry per benchmark task (`benchmark_tasks`): its primary metric, keyed by the task;
    the notes give the metric, n and standard error."""
    run = _adapter_run(document)
    errors = metric_values(run, stderr=True)
    out = {}
    for task, metrics in benchmark_tasks(document).items():
        dataset, _ = dataset_of(task, run.get("configs", {}).get(task, {}))
        metric = primary_metric(metrics)
        if metric is None:
            continue
        count = run.get("n-samples", {}).get(task, {}).get("effective")
        stderr = errors.get(task, {}).get(metric)
        spread = f" ± {stderr:.4f} (standard error)" if stderr is not None else ""
        out[task] = EvalResultEntry(
            dataset_id=dataset,
            task_id=task,
            value=round(metrics[metric], 4),
            date=document["date"],
            notes=f"{metric}{spread}, n={count}, 0-shot, lm-eval {run.get('lm_eval_version', '')}",
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
    plot = results_plot(document, AdapterFolder.results_plot(results))
    part = CardPart(
        section=EVALUATION,
        markdown=eval_card_section(document, rel, plot and plot.relative_to(folder).as_posix()),
        model_index=[asdict(result) for result in model_index(document)],
    )
    card_part = AdapterFolder(folder).write_card_part(rel, part)
    return Recorded(results, write_eval_results(folder, document), card_part)
