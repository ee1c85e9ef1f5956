"""Template alignment: how much of a model's (and an adapter's) behaviour on a real task follows a template's rule.

Each real example is mapped to the template's inputs (its text split into words, see
`cookbook_hub.templates.base.words`, by the template's own `real_inputs`), the
template's `rule` gives the rule's answer, and the model's answers come from lm-eval (see
`cookbook_hub.eval.runner.predictions`). Reported (definitions in docs/evaluation.md):

- rule accuracy: how often the rule's answer is the gold answer;
- per model: accuracy, alignment (how often its answer equals the rule's), and accuracy on the
  examples where the rule is right and where it is wrong;
- the share of the adapter's accuracy gain over the base that falls on rule-correct examples.

Run on an adapter folder, the report is also recorded in it (`alignment/<task>.<template>/`) with its card
part, and the adapter's card shows it in its Template alignment section (see `cookbook_hub.card.model_card`).
`align_rule_only` scores the rule alone on labelled examples, with no model loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.align.mapping import rule_answers
from cookbook_hub.align.report import alignment_report, rule_only_report
from cookbook_hub.eval.realtasks import load_task_file
from cookbook_hub.eval.runner import evaluate, predictions
from cookbook_hub.fs import sanitize
from cookbook_hub.generation.formatting import Style

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
    style: str | Style | None = None,
) -> Alignment:
    """Score the template's rule on a real task and the alignment of the model (and adapter) with it; the
    report's `evaluated` names the model and adapter as given, local paths removed (as in evaluation results)."""
    task = load_task_file(task_file)
    rule = rule_answers(template, task, params)
    evaluation = evaluate(
        model, adapter, str(task.path), limit=limit, batch_size=batch_size, style=style, log_samples=True
    )
    runs = evaluation.runs
    adapter_answers = predictions(runs["adapter"], task) if "adapter" in runs else None
    report = alignment_report(task, template, rule, predictions(runs["base"], task), adapter_answers)
    evaluated = sanitize({"model": evaluation.model, "adapter": adapter}, evaluation.local_paths)
    return Alignment({"evaluated": evaluated, **report}, evaluation.adapter_dir)


def align_rule_only(
    task_file: str | Path, template: str, *, limit: int | None = None, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The rule-only report of a template on the (first `limit`) labelled examples of a real task; no model."""
    task = load_task_file(task_file)
    return rule_only_report(task, template, rule_answers(template, task, params)[:limit])
