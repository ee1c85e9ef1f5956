"""The two estimators that train nothing: template rules applied to the tasks' real examples.

- `rules`: each rule's per-example score (token F1 for extractive QA, accuracy for choices) against the gold
  answers, minus the task's chance rate.
- `rules-unlabeled`: the rules that map to a task vote on its examples, gold answers unread; the label model
  (`cookbook_hub.mix.label_model`) estimates each rule's accuracy, and the effect is that minus chance.

A template without a mapping for a task's kind gets no entry; the reason is kept in the matrix's `skipped`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cookbook_hub.align.mapping import SHORT_KIND_NAMES, mapped_templates, rule_answers
from cookbook_hub.errors import MixError
from cookbook_hub.eval.realtasks import RealTask, chance_rate, normalize_answer, token_f1
from cookbook_hub.mix.effects import Effect, EffectMatrix, effect_from_examples
from cookbook_hub.mix.label_model import MIN_VOTERS, bootstrap_accuracies
from cookbook_hub.mix.targets import Target, real_targets

Progress = Callable[[str], None]


def _rule_score(task: RealTask, rule: str, gold: str) -> float:
    return token_f1(rule, gold) if task.kind == "extractive" else float(rule == gold)


def _mapped(
    templates: Sequence[dict[str, Any]], task: RealTask, matrix: EffectMatrix, progress: Progress | None
) -> list[dict[str, Any]]:
    """The templates with a mapping for the task's kind; the others are recorded as skipped (and counted done)."""
    kinds = mapped_templates()
    fitting = []
    for entry in templates:
        if task.kind in kinds.get(entry["template"], ()):
            fitting.append(entry)
        else:
            reason = f"no mapping from {SHORT_KIND_NAMES[task.kind]} examples to its inputs"
            matrix.skipped.setdefault(entry["template"], {})[task.path.stem] = reason
            if progress:
                progress(f"{entry['template']} x {task.path.stem} (no mapping)")
    if not fitting:
        kind = SHORT_KIND_NAMES[task.kind]
        mapping = [name for name, kinds in mapped_templates().items() if task.kind in kinds]
        raise MixError(
            f"--tasks {task.path.name} is a {kind} task, and none of the base recipe's templates maps to {kind} "
            "examples, so no rule can be scored on it",
            fix=f"add one of {', '.join(mapping)} to the base recipe, drop the task, or use --estimator trained",
        )
    return fitting


def estimate_rules(
    matrix: EffectMatrix, targets: list[Target], limit: int | None = None, progress: Progress | None = None
) -> EffectMatrix:
    """Fill `matrix` with each mapped rule's score minus chance on each task's first `limit` examples."""
    for task in real_targets(targets, "rules"):
        examples = task.examples[:limit]
        chance = [0.0 if e.choices is None else 1 / len(e.choices) for e in examples]
        for entry in _mapped(matrix.templates, task, matrix, progress):
            answers = rule_answers(entry["template"], task, entry.get("params"))[: len(examples)]
            scores = [_rule_score(task, a, e.answer) for a, e in zip(answers, examples)]
            matrix.effects.setdefault(entry["template"], {})[task.path.stem] = effect_from_examples(scores, chance)
            if progress:
                progress(f"{entry['template']} x {task.path.stem}")
    return matrix


def vote_label(task: RealTask, example_choices: Sequence[str] | None, answer: str) -> str:
    """A vote as the label model reads it: the chosen choice's position for choice tasks (so every item shares
    the label set `0..K-1`), the normalised text for extractive QA."""
    if example_choices is None:
        return normalize_answer(answer)
    return str(list(example_choices).index(answer)) if answer in example_choices else answer


def estimate_rules_unlabeled(
    matrix: EffectMatrix,
    targets: list[Target],
    limit: int | None = None,
    progress: Progress | None = None,
    seed: int = 0,
) -> EffectMatrix:
    """Fill `matrix` with each mapped rule's label-free accuracy estimate minus chance (gold answers unread)."""
    for task in real_targets(targets, "rules-unlabeled"):
        examples = task.examples[:limit]
        fitting = _mapped(matrix.templates, task, matrix, progress)
        if len(fitting) < MIN_VOTERS:
            for entry in fitting:
                matrix.skipped.setdefault(entry["template"], {})[task.path.stem] = (
                    f"label-free estimation needs at least {MIN_VOTERS} voting templates; "
                    f"{len(fitting)} map to this task"
                )
                if progress:
                    progress(f"{entry['template']} x {task.path.stem} (too few voters)")
            continue
        votes = {
            entry["template"]: [
                vote_label(task, e.choices, a)
                for a, e in zip(rule_answers(entry["template"], task, entry.get("params")), examples)
            ]
            for entry in fitting
        }
        accuracy, stderr = bootstrap_accuracies(votes, seed)
        chance = chance_rate(task, examples)
        for entry in fitting:
            name = entry["template"]
            matrix.effects.setdefault(name, {})[task.path.stem] = Effect(
                effect=accuracy[name] - chance,
                stderr=stderr[name],
                score=accuracy[name],
                baseline=chance,
                n=len(examples),
            )
            if progress:
                progress(f"{name} x {task.path.stem}")
    return matrix
