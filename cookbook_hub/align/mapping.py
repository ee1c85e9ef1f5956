"""How templates read real examples: which templates apply to a real task, and their rule's answers.

Each template that targets a real task kind declares its mapping itself (`real_kinds`, `real_mapping`,
`real_inputs` in its file); this module only looks them up and applies them.
"""

from __future__ import annotations

from typing import Any

from cookbook_hub.errors import CookbookError, TaskFileError
from cookbook_hub.eval.realtasks import RealTask, is_yes_no
from cookbook_hub.templates import REGISTRY, Template, get_template

KIND_NAMES = {"extractive": "extractive QA (choices null)", "choice": "multiple choice", "yes_no": "yes/no"}
SHORT_KIND_NAMES = {"extractive": "extractive QA", "choice": "multiple choice", "yes_no": "yes/no"}


def mapped_templates() -> dict[str, tuple[str, ...]]:
    """The templates that read real examples, with the task kinds each applies to, in registry order."""
    return {name: cls.real_kinds for name, cls in REGISTRY.items() if cls.real_kinds}


def templates_help() -> str:
    """One line per mapped template and its task kinds, for `--template` help and errors."""
    mapped = mapped_templates().items()
    return "; ".join(f"{name} ({', '.join(SHORT_KIND_NAMES[k] for k in kinds)})" for name, kinds in mapped)


def check_mapping(template: str, task: RealTask, params: dict[str, Any] | None = None) -> Template:
    """The template, refusing one without a mapping and a task of another kind (naming the line at fault)."""
    mapped = mapped_templates()
    if template not in mapped:
        fitting = [name for name, kinds in mapped.items() if task.kind in kinds]
        raise CookbookError(
            f"template {template!r} has no mapping from real examples to its inputs",
            fix=f"for {SHORT_KIND_NAMES[task.kind]} tasks use one of {', '.join(fitting)} (see docs/evaluation.md)",
        )
    kinds = mapped[template]
    if task.kind not in kinds:
        example = task.examples[0]
        wanted = " or ".join(KIND_NAMES[k] for k in kinds)
        if kinds == ("yes_no",) and example.choices is not None:
            example = next(e for e in task.examples if not is_yes_no(e))
        got = "null" if example.choices is None else f"{list(example.choices)}"
        fitting = [name for name, k in mapped.items() if task.kind in k]
        raise TaskFileError(
            f"{task.path} line {example.line}, field 'choices': {got}, "
            f"but template {template!r} needs {wanted} examples",
            fix=f"align {template} with a task file of kind {wanted}, or align this task with {', '.join(fitting)}",
        )
    return get_template(template, params)


def rule_answers(template_name: str, task: RealTask, params: dict[str, Any] | None = None) -> list[str]:
    """The rule's answer to each example: the span's words (extractive QA) or the chosen choice's text."""
    template = check_mapping(template_name, task, params)
    return [template.real_answer(example) for example in task.examples]
