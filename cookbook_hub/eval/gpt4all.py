"""The GPT4ALL suite as lm-eval defines it, and runtime task YAMLs that point it at local copies."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.errors import EvalDataError

GPT4ALL = "gpt4all"
DATA_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


@dataclass(frozen=True)
class Gpt4AllTask:
    """Where lm-eval defines a GPT4ALL task, and the columns its documents need."""

    yaml: str
    columns: str

    @property
    def path(self) -> Path:
        """lm-eval's YAML file of the task."""
        import lm_eval

        return Path(lm_eval.__file__).resolve().parent / "tasks" / self.yaml

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        """lm-eval's config of the task (includes resolved, functions left unresolved)."""
        from lm_eval.tasks._yaml_loader import load_yaml

        return load_yaml(self.path, resolve_func=False)

    def eval_split(self) -> str:
        """The split lm-eval evaluates: test when the task has one, else validation."""
        config = self.config
        return config.get("test_split") or config["validation_split"]

    def source(self) -> str:
        """The Hub dataset (and config) the task reads."""
        config = self.config
        return " ".join(filter(None, (config["dataset_path"], config.get("dataset_name"))))


GPT4ALL_TASKS: dict[str, Gpt4AllTask] = {
    "arc_easy": Gpt4AllTask("arc/arc_easy.yaml", "question, choices {text, label}, answerKey"),
    "arc_challenge": Gpt4AllTask("arc/arc_challenge.yaml", "question, choices {text, label}, answerKey"),
    "boolq": Gpt4AllTask("super_glue/boolq/default.yaml", "passage, question, label"),
    "hellaswag": Gpt4AllTask("hellaswag/hellaswag.yaml", "activity_label, ctx_a, ctx_b, endings, label"),
    "openbookqa": Gpt4AllTask("openbookqa/openbookqa.yaml", "question_stem, choices {text, label}, answerKey"),
    "piqa": Gpt4AllTask("piqa/piqa.yaml", "goal, sol1, sol2, label"),
    "winogrande": Gpt4AllTask("winogrande/default.yaml", "sentence, option1, option2, answer"),
}


def local_data_files(folder: Path, task: Gpt4AllTask) -> tuple[str, dict[str, str]] | None:
    """The datasets builder and split files of a task's local copy, or None without its evaluation split."""
    eval_split = task.eval_split()
    for suffix, builder in DATA_FORMATS.items():
        if (folder / f"{eval_split}{suffix}").is_file():
            splits = (task.config.get(key) for key in ("training_split", "validation_split", "test_split"))
            files = {s: folder / f"{s}{suffix}" for s in splits if s}
            return builder, {s: str(path.resolve()) for s, path in files.items() if path.is_file()}
    return None


def gpt4all_config(name: str, data_dir: Path | None) -> dict[str, Any]:
    """The runtime YAML of a GPT4ALL task: lm-eval's own, pointed at local files when `data_dir` has them."""
    task = GPT4ALL_TASKS[name]
    config: dict[str, Any] = {"include": str(task.path), "task": name}
    local = local_data_files(data_dir / name, task) if data_dir else None
    if local:
        builder, files = local
        config.update(dataset_path=builder, dataset_name=None, dataset_kwargs={"data_files": files})
        for key in ("training_split", "validation_split", "test_split"):
            if task.config.get(key) not in files:
                config[key] = None
    return config


def missing_data_error(missing: dict[str, str], data_dir: Path | None) -> EvalDataError:
    """One error for every task without data, saying which files to provide (GPT4ALL tasks) or where to get it."""
    root = data_dir or Path("DATA")
    lines = [
        f"  {root / name / GPT4ALL_TASKS[name].eval_split()}.parquet  "
        f"({GPT4ALL_TASKS[name].source()}; columns: {GPT4ALL_TASKS[name].columns})"
        if name in GPT4ALL_TASKS
        else f"  {name}: not a GPT4ALL task, so only the datasets cache can provide it"
        for name in missing
    ]
    reasons = "; ".join(f"{name}: {reason}" for name, reason in missing.items())
    where = f"not in --data-dir {data_dir}" if data_dir else "no --data-dir given"
    return EvalDataError(
        f"no data for task(s) {', '.join(missing)}: {where} and not in the datasets cache ({reasons})",
        fix="put each task's evaluation split in a folder named after the task (.parquet, .jsonl or .json, "
        "with the Hub dataset's columns; train/validation files are optional) and pass --data-dir:\n"
        + "\n".join(lines)
        + "\n  or run once with network access to fill the datasets cache",
    )
