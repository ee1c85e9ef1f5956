"""Alignment reports: the rule's accuracy on a real task (and, without a model, its answer distribution), each
model's accuracy and alignment with the rule; as JSON, markdown and a plot, and as an adapter's card part."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.eval.realtasks import RealTask, chance_rate, exact_match
from cookbook_hub.eval.results import format_score
from cookbook_hub.folders import AdapterFolder, CardPart
from cookbook_hub.plots import grouped_bars
from cookbook_hub.templates import template_class

SECTION = "Template alignment"
SECTION_INTRO = (
    "Whether the model's answers on real tasks follow a Cookbook template's rule, for the base model and "
    "with this adapter. The rule's answer is the template's rule applied to the example's words; rule "
    "accuracy is how often that answer is the gold one; alignment is how often the model's answer equals "
    "the rule's; accuracy is then split between the examples where the rule is right and where it is wrong, "
    "and the adapter's accuracy gain is attributed to the rule-correct examples or not."
)


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


def rule_summary(task: RealTask, template: str, rule: Sequence[str]) -> tuple[dict[str, Any], list[bool]]:
    """What every report says of the rule on the first len(rule) examples (task, template, mapping, how often
    the rule is right), and whether it is right on each."""
    examples = task.examples[: len(rule)]
    rule_ok = [same_answer(task, r, e.answer) for r, e in zip(rule, examples)]
    summary = {
        "task": task.path.name,
        "kind": task.kind,
        "template": template,
        "mapping": template_class(template).real_mapping,
        "examples": len(examples),
        "rule_correct": sum(rule_ok),
        "rule_accuracy": _mean(rule_ok) or 0.0,
        "chance": chance_rate(task, examples),
    }
    return summary, rule_ok


def alignment_report(
    task: RealTask, template: str, rule: Sequence[str], base: Sequence[str], adapter: Sequence[str] | None = None
) -> dict[str, Any]:
    """The alignment report for the first len(base) examples (the evaluated ones)."""
    examples = task.examples[: len(base)]
    rule = list(rule[: len(base)])
    summary, rule_ok = rule_summary(task, template, rule)
    gain = share = None
    if adapter is not None:
        delta = [
            int(same_answer(task, a, e.answer)) - int(same_answer(task, b, e.answer))
            for a, b, e in zip(adapter, base, examples)
        ]
        gain = sum(delta) / len(delta)
        share = sum(d for d, ok in zip(delta, rule_ok) if ok) / sum(delta) if sum(delta) else None
    return {
        **summary,
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
    """Bar chart PNG: each model's accuracy, alignment and accuracy split by rule correctness, with one binomial
    standard error as error bars; the rule's accuracy as a dashed line and the task's chance level dotted over the
    accuracy bars."""
    models = [m for m in ("base", "adapter") if report[m]]
    n, right = report["examples"], report["rule_correct"]
    sizes = [n, n, right, n - right]

    def stderr(p: float | None, size: int) -> float:
        return (p * (1 - p) / size) ** 0.5 if p is not None and size else 0.0

    chance = report.get("chance")
    return grouped_bars(
        path,
        f"{report['template']} on {report['task']} ({n} examples)",
        ["accuracy", "alignment", "acc | rule right", "acc | rule wrong"],
        {model: [report[model][key] or 0.0 for _, key in ROWS] for model in models},
        line=("rule accuracy", report["rule_accuracy"]),
        errors={m: [stderr(report[m][key], size) for (_, key), size in zip(ROWS, sizes)] for m in models},
        chance=[chance, None, chance, chance],
    )


def write_report(report: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write `alignment.json`, `alignment.png` and `alignment.md` into `out` (keys `json`, `png`, `markdown`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = AdapterFolder.alignment_files(out)
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if "base" in report:
        paths["markdown"].write_text(markdown_table(report), encoding="utf-8")
        plot(report, paths["png"])
    else:
        paths["markdown"].write_text(rule_only_markdown(report), encoding="utf-8")
        distribution_plot(report, paths["png"])
    return paths


# ------------------------------------------------------------------ the adapter folder and its card


def record_alignment(report: dict[str, Any], folder: str | Path) -> str:
    """Save the report and its card part into an adapter folder (replacing an earlier one for the same task
    and template); returns the report's folder relative to the adapter folder. Re-rendering the card is the
    caller's next step."""
    adapter = AdapterFolder(folder)
    rel = adapter.alignment_dir(report["task"], report["template"])
    write_report(report, adapter / rel)
    markdown = (
        f"### `{report['template']}` on `{report['task']}`\n\n{markdown_table(report)}\n"
        f"![alignment]({rel}/{AdapterFolder.ALIGNMENT_FILES['png']})"
    )
    adapter.write_card_part(rel, CardPart(section=SECTION, markdown=markdown, intro=SECTION_INTRO))
    return rel


# ------------------------------------------------------------------ the rule alone


def answer_label(task: RealTask, example_choices: Sequence[str] | None, answer: str) -> str:
    """How an answer is counted in a distribution: yes/no by its word, other choices by their position
    (`choice 1`, ...), extractive answers by their length in words."""
    if task.kind == "yes_no":
        return answer.strip().lower()
    if task.kind == "choice":
        return f"choice {list(example_choices or ()).index(answer) + 1}"
    length = len(answer.split())
    return "empty" if length == 0 else f"{length} word{'s' if length > 1 else ''}"


def shares(labels: Sequence[str]) -> dict[str, float]:
    """Each label's share of the list, in sorted label order."""
    counts = Counter(labels)
    return {label: counts[label] / len(labels) for label in sorted(counts)}


def rule_only_report(task: RealTask, template: str, rule: Sequence[str]) -> dict[str, Any]:
    """The rule's accuracy on the first len(rule) labelled examples, the chance rate, and the distributions of
    the rule's and the gold answers: what the rule alone says about the task, with no model loaded."""
    examples = task.examples[: len(rule)]
    summary, _ = rule_summary(task, template, rule)
    return {
        **summary,
        "rule_answers": shares([answer_label(task, e.choices, r) for r, e in zip(rule, examples)]),
        "gold_answers": shares([answer_label(task, e.choices, e.answer) for e in examples]),
        "per_example": [{"id": e.id, "gold": e.answer, "rule": r} for e, r in zip(examples, rule)],
    }


def rule_only_markdown(report: dict[str, Any]) -> str:
    """A rule-only report as markdown: the headline numbers, then the rule's and gold answer distributions."""
    n, right = report["examples"], report["rule_correct"]
    lines = [
        f"Template `{report['template']}` on `{report['task']}` ({report['kind']}, {n} examples; "
        f"mapping: {report['mapping']}).",
        f"Rule accuracy: {format_score(report['rule_accuracy'])} (right on {right}, wrong on {n - right}); "
        f"chance: {format_score(report['chance'])}; rule accuracy - chance: "
        f"{format_score(report['rule_accuracy'] - report['chance'], signed=True)}.",
        "",
        "| answer | rule | gold |",
        "| --- | ---: | ---: |",
    ]
    labels = sorted(set(report["rule_answers"]) | set(report["gold_answers"]))
    lines += [
        f"| {label} | {format_score(report['rule_answers'].get(label, 0.0))} "
        f"| {format_score(report['gold_answers'].get(label, 0.0))} |"
        for label in labels
    ]
    return "\n".join(lines) + "\n"


def distribution_plot(report: dict[str, Any], path: Path) -> Path:
    """Bar chart PNG of a rule-only report: the share of each answer, the rule's next to the gold ones."""
    labels = sorted(set(report["rule_answers"]) | set(report["gold_answers"]))
    return grouped_bars(
        path,
        f"{report['template']} on {report['task']}: rule accuracy {report['rule_accuracy']:.3f}",
        labels,
        {side: [report[f"{side}_answers"].get(label, 0.0) for label in labels] for side in ("rule", "gold")},
    )
