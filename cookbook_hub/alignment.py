"""Template alignment: how much of a model's (and an adapter's) behaviour on a real task follows a template's rule.

Each real example is mapped to the template's inputs (its text split into words, see `words`), the
template's `rule` gives the rule's answer, and the model's answers come from lm-eval (see
`cookbook_hub.evaluate.predictions`). Reported (definitions in docs/evaluation.md):

- rule accuracy: how often the rule's answer is the gold answer;
- per model: accuracy, alignment (how often its answer equals the rule's), and accuracy on the
  examples where the rule is right and where it is wrong;
- the share of the adapter's accuracy gain over the base that falls on rule-correct examples.

Run on an adapter folder, the report is also recorded in it (`alignment/<task>.<template>/`) and the
adapter's card shows it in its Template alignment section (see `cookbook_hub.model_card`).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.errors import CookbookError
from cookbook_hub.eval_results import format_score, sanitize
from cookbook_hub.evaluate import evaluate, predictions
from cookbook_hub.realtasks import (
    Example,
    RealTask,
    TaskFileError,
    TaskKind,
    exact_match,
    is_yes_no,
    load_task_file,
)
from cookbook_hub.templates import ChoiceTemplate, get_template
from cookbook_hub.templates.base import Inputs

EDGE_PUNCTUATION = string.punctuation + "“”‘’«»…"
ALIGNMENT_DIR = "alignment"
REPORT_FILES = {"json": "alignment.json", "png": "alignment.png", "markdown": "alignment.md"}


def words(text: str) -> list[str]:
    """A real text as template tokens: split on whitespace, lowercased, punctuation stripped from both
    ends of each word (inner punctuation such as `don't` or `3.5` stays); words left empty are dropped."""
    return [w for w in (token.strip(EDGE_PUNCTUATION).lower() for token in text.split()) if w]


@dataclass(frozen=True)
class TemplateMapping:
    """How a template reads a real example: which task kinds it applies to, and the inputs it builds."""

    kinds: tuple[TaskKind, ...]
    inputs: Callable[[Example], Inputs]
    description: str


def _document_question(example: Example) -> Inputs:
    return {"context": words(example.context), "question": words(example.question)}


def _question_options(example: Example) -> Inputs:
    return {
        "question": words(f"{example.context} {example.question}"),
        "options": [words(choice) for choice in example.choices or ()],
    }


MAPPINGS: dict[str, TemplateMapping] = {
    "span_qa": TemplateMapping(
        ("extractive",), _document_question, "context -> document, question -> question; answer: the span's words"
    ),
    "overlap_choice": TemplateMapping(
        ("choice", "yes_no"), _question_options, "context + question -> question, choices -> options"
    ),
    "two_way_choice": TemplateMapping(
        ("choice", "yes_no"), _question_options, "context + question -> goal, choices -> solutions"
    ),
    "containment": TemplateMapping(("yes_no",), _document_question, "context -> passage, question -> question; yes/no"),
}
KIND_NAMES = {"extractive": "extractive QA (choices null)", "choice": "multiple choice", "yes_no": "yes/no"}


def check_mapping(template: str, task: RealTask) -> TemplateMapping:
    """The mapping of `template`, refusing templates without one and tasks of another kind (naming the line)."""
    if template not in MAPPINGS:
        raise CookbookError(
            f"template {template!r} has no mapping from real examples to its inputs",
            fix=f"use one of {', '.join(MAPPINGS)} (see docs/evaluation.md)",
        )
    mapping = MAPPINGS[template]
    if task.kind not in mapping.kinds:
        example = task.examples[0]
        wanted = " or ".join(KIND_NAMES[k] for k in mapping.kinds)
        if mapping.kinds == ("yes_no",) and example.choices is not None:
            example = next(e for e in task.examples if not is_yes_no(e))
        got = "null" if example.choices is None else f"{list(example.choices)}"
        raise TaskFileError(
            f"{task.path} line {example.line}, field 'choices': {got}, "
            f"but template {template!r} needs {wanted} examples",
            fix=f"align {template} with a {wanted} task file",
        )
    return mapping


def rule_answers(template_name: str, task: RealTask, params: dict[str, Any] | None = None) -> list[str]:
    """The rule's answer to each example: the span's words (span_qa) or the chosen choice's text."""
    mapping = check_mapping(template_name, task)
    template = get_template(template_name, params)
    answers = []
    for example in task.examples:
        result = template.rule(mapping.inputs(example))
        if not isinstance(template, ChoiceTemplate):
            answers.append(" ".join(result))
        elif template.lettered:
            answers.append((example.choices or ())[result])
        else:
            said = template.fixed_choices[result]
            answers.append(next(c for c in example.choices or () if c.strip().lower() == said))
    return answers


# ------------------------------------------------------------------ the report


def _mean(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass(frozen=True)
class ModelAlignment:
    """One model's accuracy, alignment with the rule, and accuracy where the rule is right and wrong."""

    accuracy: float
    alignment: float
    accuracy_rule_correct: float | None
    accuracy_rule_wrong: float | None


def same_answer(task: RealTask, a: str, b: str) -> bool:
    """Whether two answers agree: exact match after SQuAD normalisation (extractive QA), else equal choices."""
    return bool(exact_match(a, b)) if task.kind == "extractive" else a == b


def model_alignment(
    task: RealTask, answers: Sequence[str], rule: Sequence[str], rule_ok: Sequence[bool]
) -> ModelAlignment:
    """The statistics of one model's answers."""
    gold = [e.answer for e in task.examples]
    correct = [same_answer(task, a, g) for a, g in zip(answers, gold)]
    return ModelAlignment(
        accuracy=_mean(correct) or 0.0,
        alignment=_mean([same_answer(task, a, r) for a, r in zip(answers, rule)]) or 0.0,
        accuracy_rule_correct=_mean([c for c, ok in zip(correct, rule_ok) if ok]),
        accuracy_rule_wrong=_mean([c for c, ok in zip(correct, rule_ok) if not ok]),
    )


def alignment_report(
    task: RealTask, template: str, rule: Sequence[str], base: Sequence[str], adapter: Sequence[str] | None = None
) -> dict[str, Any]:
    """The alignment report for the first len(base) examples (the evaluated ones)."""
    examples = task.examples[: len(base)]
    rule = list(rule[: len(base)])
    rule_ok = [same_answer(task, r, e.answer) for r, e in zip(rule, examples)]
    gain = share = None
    if adapter is not None:
        delta = [
            int(same_answer(task, a, e.answer)) - int(same_answer(task, b, e.answer))
            for a, b, e in zip(adapter, base, examples)
        ]
        gain = sum(delta) / len(delta)
        share = sum(d for d, ok in zip(delta, rule_ok) if ok) / sum(delta) if sum(delta) else None
    return {
        "task": task.path.name,
        "kind": task.kind,
        "template": template,
        "mapping": MAPPINGS[template].description,
        "examples": len(examples),
        "rule_correct": sum(rule_ok),
        "rule_accuracy": _mean(rule_ok) or 0.0,
        "base": asdict(model_alignment(task, base, rule, rule_ok)),
        "adapter": asdict(model_alignment(task, adapter, rule, rule_ok)) if adapter is not None else None,
        "accuracy_gain": gain,
        "gain_share_rule_correct": share,
        "per_example": [
            {"id": e.id, "gold": e.answer, "rule": r, "base": b, **({"adapter": adapter[i]} if adapter else {})}
            for i, (e, r, b) in enumerate(zip(examples, rule, base))
        ],
    }


ROWS = (
    ("accuracy", "accuracy"),
    ("alignment (answer = rule's answer)", "alignment"),
    ("accuracy where the rule is right", "accuracy_rule_correct"),
    ("accuracy where the rule is wrong", "accuracy_rule_wrong"),
)


def markdown_table(report: dict[str, Any]) -> str:
    """The report as markdown for the model card: a table per model and the headline numbers."""
    base, adapter = report["base"], report["adapter"]
    header = "| | base | adapter | Δ |\n| --- | ---: | ---: | ---: |" if adapter else "| | base |\n| --- | ---: |"
    lines = [header]
    for label, key in ROWS:
        if adapter:
            delta = None if base[key] is None or adapter[key] is None else adapter[key] - base[key]
            lines.append(
                f"| {label} | {format_score(base[key])} | {format_score(adapter[key])} | {format_score(delta, True)} |"
            )
        else:
            lines.append(f"| {label} | {format_score(base[key])} |")
    n, right = report["examples"], report["rule_correct"]
    notes = [
        f"Template `{report['template']}` on `{report['task']}` ({report['kind']}, {n} examples; "
        f"mapping: {report['mapping']}).",
        f"Rule accuracy: {format_score(report['rule_accuracy'])} (right on {right}, wrong on {n - right}).",
    ]
    if adapter:
        notes.append(
            f"Share of the adapter's accuracy gain ({format_score(report['accuracy_gain'], True)}) "
            f"on rule-correct examples: {format_score(report['gain_share_rule_correct'])}."
        )
    return "\n".join(notes) + "\n\n" + "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> Path:
    """Bar chart PNG: each model's accuracy, alignment and accuracy split by rule correctness;
    the rule's accuracy as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in ("base", "adapter") if report[m]]
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        values = [report[model][key] or 0.0 for _, key in ROWS]
        ax.bar([x + i * width for x in range(len(ROWS))], values, width, label=model)
    ax.axhline(report["rule_accuracy"], color="black", linestyle="--", linewidth=1, label="rule accuracy")
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(ROWS))])
    ax.set_xticklabels(["accuracy", "alignment", "acc | rule right", "acc | rule wrong"])
    ax.set_ylim(0, 1)
    ax.set_title(f"{report['template']} on {report['task']} ({report['examples']} examples)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class Alignment:
    """The report of one alignment run, and the local adapter folder it scored (None without an adapter)."""

    report: dict[str, Any]
    adapter_dir: Path | None


def align(
    task_file: str | Path,
    template: str,
    model: str | None = None,
    adapter: str | None = None,
    *,
    limit: int | None = None,
    batch_size: str | int = "auto",
    params: dict[str, Any] | None = None,
) -> Alignment:
    """Score the template's rule on a real task and the alignment of the model (and adapter) with it; the
    report's `evaluated` names the model and adapter as given, local paths removed (as in evaluation results)."""
    task = load_task_file(task_file)
    rule = rule_answers(template, task, params)
    evaluation = evaluate(model, adapter, str(task.path), limit=limit, batch_size=batch_size, log_samples=True)
    runs = evaluation.runs
    adapter_answers = predictions(runs["adapter"], task) if "adapter" in runs else None
    report = alignment_report(task, template, rule, predictions(runs["base"], task), adapter_answers)
    evaluated = sanitize({"model": evaluation.model, "adapter": adapter}, evaluation.local_paths)
    return Alignment({"evaluated": evaluated, **report}, evaluation.adapter_dir)


def write_report(report: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write `alignment.json`, `alignment.png` and `alignment.md` into `out` (keys `json`, `png`, `markdown`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in REPORT_FILES.items()}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown_table(report), encoding="utf-8")
    plot(report, paths["png"])
    return paths


# ------------------------------------------------------------------ the adapter folder and its card


def report_folder(report: dict[str, Any]) -> str:
    """Where a report is kept in an adapter folder: `alignment/<task file stem>.<template>` (one per pair)."""
    return f"{ALIGNMENT_DIR}/{Path(report['task']).stem}.{report['template']}"


def record_alignment(report: dict[str, Any], folder: str | Path, repo_id: str | None = None) -> Path | None:
    """Save the report into an adapter folder (replacing an earlier one for the same task and template) and
    re-render its card; returns the card, or None for an adapter not trained by `cookbook-hub train`."""
    from cookbook_hub.model_card import refresh_model_card

    write_report(report, Path(folder) / report_folder(report))
    return refresh_model_card(folder, repo_id)


def saved_reports(folder: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(report folder relative to `folder`, report) of every alignment report recorded in the folder, by name."""
    paths = sorted((Path(folder) / ALIGNMENT_DIR).glob(f"*/{REPORT_FILES['json']}"))
    return [(path.parent.relative_to(folder).as_posix(), json.loads(path.read_text("utf-8"))) for path in paths]


def alignment_section(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """The card's Template alignment section: what it measures, then each report's table and plot."""
    parts = [
        "Whether the model's answers on real tasks follow a Cookbook template's rule, for the base model and "
        "with this adapter. The rule's answer is the template's rule applied to the example's words; rule "
        "accuracy is how often that answer is the gold one; alignment is how often the model's answer equals "
        "the rule's; accuracy is then split between the examples where the rule is right and where it is wrong, "
        "and the adapter's accuracy gain is attributed to the rule-correct examples or not."
    ]
    for folder, report in reports:
        parts.append(
            f"### `{report['template']}` on `{report['task']}`\n\n{markdown_table(report)}\n"
            f"![alignment]({folder}/{REPORT_FILES['png']})"
        )
    return "\n\n".join(parts) + "\n"
