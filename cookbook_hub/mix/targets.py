"""The target tasks of a mixture: real-task JSONL files, `gpt4all`, or task names lm-eval knows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cookbook_hub.errors import MixError
from cookbook_hub.eval.gpt4all import GPT4ALL, GPT4ALL_TASKS
from cookbook_hub.eval.realtasks import RealTask, chance_rate, load_task_file
from cookbook_hub.mix.effects import TaskInfo

TASKS_FIX = "pass --tasks as task files (a.jsonl,b.jsonl), gpt4all, or task names lm-eval knows, comma-separated"


@dataclass(frozen=True)
class Target:
    """One target task: `spec` is what the evaluator is given; `real` the loaded file for a real task."""

    spec: str
    real: RealTask | None = None

    @property
    def name(self) -> str:
        """How the matrix names the task: a file by its stem, an lm-eval task by its name."""
        return self.real.path.stem if self.real else self.spec

    def metric(self) -> str:
        """The per-example metric effects are measured in: token F1 for extractive QA, else accuracy."""
        return "f1" if self.real is not None and self.real.kind == "extractive" else "acc"

    def info(self, limit: int | None = None) -> TaskInfo:
        """The task as the matrix records it (no local path: a file by its name)."""
        if self.real is None:
            return TaskInfo(self.name, self.spec, "lm-eval", self.metric())
        examples = self.real.examples[:limit]
        return TaskInfo(
            self.name,
            self.real.path.name,
            self.real.kind,
            self.metric(),
            len(examples),
            chance_rate(self.real, examples),
        )


def parse_targets(spec: str) -> list[Target]:
    """The targets of a comma-separated spec; task files are loaded and validated, names are kept as given."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items:
        raise MixError("--tasks is empty", fix=TASKS_FIX)
    targets: list[Target] = []
    for item in items:
        if item.endswith(".jsonl") or Path(item).is_file():
            targets.append(Target(item, load_task_file(item)))
        else:
            targets.extend(Target(name) for name in (GPT4ALL_TASKS if item == GPT4ALL else [item]))
    names = [t.name for t in targets]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MixError(f"--tasks names task {repeated[0]!r} twice", fix="list each task once")
    return targets


def real_targets(targets: list[Target], estimator: str) -> list[RealTask]:
    """The loaded files of targets that must all be real-task files (the rule estimators read real examples)."""
    named = [t.spec for t in targets if t.real is None]
    if named:
        raise MixError(
            f"--estimator {estimator} applies template rules to real examples, but {named[0]!r} is not a task file",
            fix="pass real-task .jsonl files (see docs/evaluation.md), or use --estimator trained",
        )
    return [t.real for t in targets if t.real is not None]
