"""Evaluating a model (and optionally a LoRA adapter) with lm-eval's `simple_evaluate` and `HFLM`.

Task specs (comma-separated, mixed freely):

- `gpt4all`: lm-eval's arc_easy, arc_challenge, boolq, hellaswag, openbookqa, piqa and winogrande;
- `templates`: the group `cookbook_templates` (see `cookbook_hub.eval.lm_eval_tasks`);
- a `.jsonl` real-task file (see `cookbook_hub.eval.realtasks`);
- any task, group or tag name lm-eval knows, including `cookbook_<template>[_mc]`.

Every run writes task YAMLs into a temporary include folder: one per real-task file (including the
shipped base config for its kind) and one per GPT4ALL task (including lm-eval's own YAML). With
`data_dir`, a GPT4ALL task whose folder `<data_dir>/<task>/` holds its evaluation split reads
those local files instead of the Hub (`dataset_path: parquet` or `json`); otherwise its data must
be in the datasets cache (or reachable online). Missing data is reported for all tasks at once,
with the files to provide.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from cookbook_hub.errors import CookbookError, EvalDataError, ModelError, UnknownNameError
from cookbook_hub.eval.gpt4all import GPT4ALL, GPT4ALL_TASKS, gpt4all_config, missing_data_error
from cookbook_hub.eval.lm_eval_tasks import GROUP, TASKS_DIR, real_task_config, template_task_names, write_yaml
from cookbook_hub.eval.realtasks import RealTask, choice_prediction, first_line, load_task_file
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.fs import remote_error
from cookbook_hub.generation.formatting import Style, as_style
from cookbook_hub.hub.pull import fetch, is_published
from cookbook_hub.models import DEFAULT_MODEL, check_causal_lm, model_identity, resolve_model

log = logging.getLogger(__name__)
TEMPLATES = "templates"
CPU_AUTO_BATCH_SIZE = 8
CPU_GENERATION_BATCH_SIZE = 1  # measured faster than 8 for generate_until tasks on CPU (benchmarks/eval_throughput.py)
GENERATE = "generate_until"
SAMPLES_DIR = "samples"


def tasks_fix() -> str:
    """What --tasks takes, for errors."""
    return (
        f"pass --tasks with any of {GPT4ALL} ({', '.join(GPT4ALL_TASKS)}), {TEMPLATES} (every template task) or one "
        "(cookbook_<template>[_mc], e.g. cookbook_span_qa), a real-task .jsonl file, an lm-eval task; comma-separated"
    )


# ------------------------------------------------------------------ task plans


@dataclass
class TaskPlan:
    """What to load: task names for lm-eval, the include folder with their runtime YAMLs, and the real tasks."""

    include_dir: Path
    names: list[str] = field(default_factory=list)
    real_tasks: dict[str, RealTask] = field(default_factory=dict)
    output_types: set[str] = field(default_factory=set)

    @property
    def generation_only(self) -> bool:
        """Whether every loaded task generates text (no log-likelihood requests)."""
        return self.output_types == {GENERATE}

    def add(self, name: str) -> None:
        """Add a task name once."""
        if name not in self.names:
            self.names.append(name)

    @property
    def own_tasks(self) -> set[str]:
        """The names this package defines: the template tasks, their group and the run's real tasks."""
        return {GROUP, *template_task_names(), *self.real_tasks}


def plan_tasks(spec: str, include_dir: Path, data_dir: str | Path | None = None) -> TaskPlan:
    """Parse a task spec, validate real-task files and write the runtime YAMLs into `include_dir`."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items:
        raise CookbookError("no tasks given", fix=tasks_fix())
    data = Path(data_dir) if data_dir else None
    if data is not None and not data.is_dir():
        raise EvalDataError(
            f"--data-dir {str(data)!r} is not a folder", fix="pass the folder holding <task>/<split> files"
        )
    plan = TaskPlan(include_dir)
    for item in items:
        if item.endswith(".jsonl") or Path(item).is_file():
            task = load_task_file(item)
            if task.name in plan.real_tasks and plan.real_tasks[task.name].path.resolve() != task.path.resolve():
                raise CookbookError(f"two task files are both named {task.name}", fix="rename one of them")
            plan.real_tasks[task.name] = task
            write_yaml(include_dir / f"{task.name}.yaml", real_task_config(task))
            plan.add(task.name)
            continue
        for name in GPT4ALL_TASKS if item == GPT4ALL else [item]:
            if name in GPT4ALL_TASKS:
                write_yaml(include_dir / f"{name}.yaml", gpt4all_config(name, data))
            plan.add(GROUP if name == TEMPLATES else name)
    if GROUP in plan.names:
        plan.names = [n for n in plan.names if n not in template_task_names()]
    return plan


def task_manager(plan: TaskPlan, style: str | Style = "plain") -> Any:
    """lm-eval's TaskManager over the shipped tasks and the run's YAMLs (and lm-eval's own only when needed); the
    style goes to our tasks' document loaders through the metadata every task receives."""
    from lm_eval.tasks import TaskManager

    defaults = any(name not in plan.own_tasks | set(GPT4ALL_TASKS) for name in plan.names)
    return TaskManager(
        include_path=[str(TASKS_DIR), str(plan.include_dir)],
        include_defaults=defaults,
        metadata=as_style(style).describe(),
    )


def unknown_task(name: str, known: list[str]) -> UnknownNameError:
    """The error for a task name nobody defines, with the closest names lm-eval knows."""
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    return UnknownNameError("task", name, close or [GPT4ALL, TEMPLATES, *template_task_names()])


def load_tasks(plan: TaskPlan, manager: Any, data_dir: str | Path | None = None) -> list[Any]:
    """Build every planned task or group with lm-eval (this loads their data); an unknown name, or
    data that is neither local nor cached, raises one clear error. Records the tasks' output types in the plan."""
    for name in plan.names:
        if name not in manager.all_tasks:
            raise unknown_task(name, [GPT4ALL, TEMPLATES, *manager.all_tasks])
    loaded, missing = [], {}
    for name in plan.names:
        try:
            built = manager.load([name])
        except Exception as exc:  # datasets raises many types for absent data; all are reported below
            if name in plan.own_tasks:
                raise
            missing[name] = remote_error(exc)
            continue
        plan.output_types.update(task.OUTPUT_TYPE for task in built["tasks"].values())
        loaded.extend(built["groups"].values() if name in built["groups"] else built["tasks"].values())
    if missing:
        raise missing_data_error(missing, Path(data_dir) if data_dir else None)
    return loaded


# ------------------------------------------------------------------ models and adapters


def resolve_adapter(spec: str) -> Path:
    """A local adapter folder for `spec`: the folder itself, or a fresh working copy of a published adapter
    (`hub/ns/name[@rev]` or `hf://ns/name[@rev]`) fetched into the cache (see `cookbook_hub.hub.pull.fetch`)."""
    fix = "pass a LoRA adapter folder, a local hub repository (hub/ns/name) or hf://ns/name"
    if is_published(spec):
        path = fetch(spec, "adapters", fresh=True).path
    elif not Path(spec).is_dir():
        raise ModelError(f"adapter {spec!r} not found: no such folder", fix=fix)
    else:
        path = Path(spec)
    if not AdapterFolder(path).is_adapter:
        raise ModelError(f"{spec!r} is not an adapter folder: no {AdapterFolder.ADAPTER_CONFIG}", fix=fix)
    return path


def check_adapter_base(adapter: Path, model: str | None) -> None:
    """Refuse an adapter whose base model is not `model`: neither the path in its adapter_config.json nor
    (for an adapter trained by `cookbook-hub train`) the base model id its training_args.json records."""
    folder = AdapterFolder(adapter)
    base = folder.adapter_config().get("base_model_name_or_path")
    names = [base]
    if folder.has(AdapterFolder.TRAINING_ARGS):
        names.append(folder.training_args()["base_model"]["card_id"])
    if base and model_identity(model) not in {model_identity(name) for name in names}:
        raise ModelError(
            f"adapter {adapter} was trained on base model {base!r}, not on --model {model or DEFAULT_MODEL!r}",
            fix=f"pass --model {base} (or the folder holding that model)",
        )


def load_lm(
    model_path: str,
    adapter: Path | None = None,
    batch_size: str | int = "auto",
    max_batch_size: int = 64,
    generation_only: bool = False,
) -> Any:
    """lm-eval's HFLM for a model (with `peft=` for an adapter). On CPU, `auto` is a fixed batch of
    CPU_AUTO_BATCH_SIZE (CPU_GENERATION_BATCH_SIZE when every task only generates): lm-eval's probe looks for
    the largest batch that does not run out of GPU memory, running forward passes at the model's full context
    length, which takes minutes on CPU."""
    import torch
    from lm_eval.models.huggingface import HFLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if batch_size == "auto" and device == "cpu":
        batch_size = min(CPU_GENERATION_BATCH_SIZE if generation_only else CPU_AUTO_BATCH_SIZE, max_batch_size)
    return HFLM(
        pretrained=model_path,
        peft=str(adapter) if adapter else None,
        batch_size=batch_size,
        max_batch_size=max_batch_size,
        device=device,
    )


def display_name(spec: str | None) -> str:
    """How a model or adapter is named in saved results: a local path by its folder name, anything else as given."""
    if spec is None:
        return DEFAULT_MODEL
    path = Path(spec)
    return path.resolve().name if path.exists() else spec


def parse_batch_size(value: str | int) -> str | int:
    """`auto` or a positive integer."""
    if value == "auto" or (isinstance(value, int) and value > 0):
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise CookbookError(f"invalid batch size {value!r}", fix="use auto or a positive integer")


def parse_gen_kwargs(text: str | None) -> dict[str, Any] | None:
    """lm-eval's generation arguments string (`temperature=0,max_gen_toks=32`) as a dict, None when empty."""
    from lm_eval.utils import simple_parse_args_string

    if not text:
        return None
    fix = "write them like lm_eval's --gen_kwargs: temperature=0,max_gen_toks=32"
    if any("=" not in item for item in text.split(",") if item.strip()):
        raise CookbookError(f"--gen-kwargs {text!r}: every item must be KEY=VALUE", fix=fix)
    try:
        return simple_parse_args_string(text) or None
    except ValueError as exc:
        raise CookbookError(f"--gen-kwargs {text!r}: {exc}", fix=fix) from None


def check_num_fewshot(value: int | None) -> None:
    """Refuse a negative number of few-shot examples."""
    if value is not None and value < 0:
        raise CookbookError(f"--num-fewshot must be >= 0, got {value}", fix="pass 0 for zero-shot")


# ------------------------------------------------------------------ running


@dataclass
class Evaluation:
    """The lm-eval results of one evaluation: `runs` maps `base` (and `adapter`) to simple_evaluate's output;
    `adapter_dir` is the local adapter folder (a working copy for a published adapter)."""

    model: str
    adapter: str | None
    adapter_dir: Path | None
    tasks: str
    limit: int | None
    batch_size: int | str
    runs: dict[str, dict[str, Any]]
    real_tasks: dict[str, RealTask]
    style: Style = Style("plain")
    local_paths: dict[str, str] = field(default_factory=dict)


def evaluate(
    model: str | None = None,
    adapter: str | None = None,
    tasks: str = TEMPLATES,
    *,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    batch_size: str | int = "auto",
    max_batch_size: int = 64,
    style: str | Style | None = None,
    log_samples: bool = False,
    num_fewshot: int | None = None,
    gen_kwargs: str | None = None,
) -> Evaluation:
    """Evaluate `model` (default: offline SmolLM2) on `tasks`; with `adapter`, evaluate the base model and
    the adapter on the same tasks (one model load: the base run disables the adapter). Real-task prompts are
    rendered in `style`, by default the adapter's training style (see `prompt_style`). `num_fewshot` and
    `gen_kwargs` (lm-eval's `temperature=0,max_gen_toks=32` syntax) are passed to lm-eval's simple_evaluate;
    `log_samples` keeps each example's inputs, responses and scores in the runs (see `save_samples`)."""
    from lm_eval import simple_evaluate

    batch_size = parse_batch_size(batch_size)
    check_num_fewshot(num_fewshot)
    generation = parse_gen_kwargs(gen_kwargs)
    model_path = resolve_model(model)
    check_causal_lm(model_path)
    adapter_dir = resolve_adapter(adapter) if adapter else None
    if adapter_dir is not None:
        check_adapter_base(adapter_dir, model)
    style = prompt_style(style, model_path, adapter_dir)
    with tempfile.TemporaryDirectory(prefix="cookbook-eval-") as include_dir:
        plan = plan_tasks(tasks, Path(include_dir), data_dir)
        manager = task_manager(plan, style)
        loaded = load_tasks(plan, manager, data_dir)
        lm = load_lm(model_path, adapter_dir, batch_size, max_batch_size, plan.generation_only)

        def run() -> dict[str, Any]:
            return simple_evaluate(
                model=lm,
                tasks=loaded,
                limit=limit,
                task_manager=manager,
                log_samples=log_samples,
                apply_chat_template=style.is_chat,
                num_fewshot=num_fewshot,
                gen_kwargs=generation,
            )

        runs = {}
        with quiet_lm_eval_internals():
            if adapter_dir is None:
                runs["base"] = run()
            else:
                with lm.model.disable_adapter():
                    runs["base"] = run()
                runs["adapter"] = run()
    local = {include_dir: "<tasks>", str(TASKS_DIR): "<cookbook_hub tasks>"}
    for given, loaded_from in ((model, model_path), (adapter, adapter_dir)):
        if loaded_from is not None:
            local[str(loaded_from)] = local[str(Path(loaded_from).resolve())] = display_name(given)
        if given and Path(given).exists():
            local[given] = display_name(given)
    if data_dir:
        local[str(Path(data_dir).resolve())] = "<data-dir>"
    for task in plan.real_tasks.values():
        local[str(task.path)] = local[str(task.path.resolve())] = task.path.name
    return Evaluation(
        model or DEFAULT_MODEL, adapter, adapter_dir, tasks, limit, lm.batch_size, runs, plan.real_tasks, style, local
    )


def git_describe() -> str | None:
    """`git describe --always` in the current folder, as lm-eval records it, with git's messages discarded (outside
    a repository git prints `fatal: not a git repository`); None outside one."""
    try:
        done = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


@contextlib.contextmanager
def quiet_lm_eval_internals() -> Iterator[None]:
    """Run lm-eval without its stray output: its git probe quiet (`git_describe`), and no progress bar over
    building each task's requests (instant, before the real work; the bar over running them stays)."""
    import lm_eval.api.task
    import lm_eval.evaluator
    from tqdm import tqdm

    with (
        mock.patch.object(lm_eval.evaluator, "get_git_commit_hash", git_describe),
        mock.patch.object(lm_eval.api.task, "tqdm", functools.partial(tqdm, disable=True)),
    ):
        yield


def has_chat_template(model_path: str) -> bool:
    """Whether the model's tokenizer defines a chat template."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path).chat_template is not None


def prompt_style(style: str | Style | None, model_path: str, adapter_dir: Path | None) -> Style:
    """The style real-task prompts are rendered in: `style` when given; else the one the adapter was trained
    with (recorded in its training_args.json); else `chat` for a model with a chat template, `qa` without."""
    if style is not None:
        return as_style(style)
    if adapter_dir is not None and AdapterFolder(adapter_dir).trained_here:
        trained = AdapterFolder(adapter_dir).training_args()["data"].get("style")
        if trained:
            return Style.from_record(trained)
    return Style("chat") if has_chat_template(model_path) else Style("qa")


def predictions(results: dict[str, Any], task: RealTask) -> list[str]:
    """The model's answer to each evaluated example of a real task, in file order, from lm-eval's logged
    samples: the first generated line (extractive QA) or the choice with the highest log-likelihood, as the
    file writes it (the option a letter names, for multiple choice)."""
    answers = []
    for sample in sorted(results["samples"][task.name], key=lambda s: s["doc_id"]):
        if task.kind == "extractive":
            answers.append(first_line(sample["filtered_resps"][0]))
        else:
            doc = sample["doc"]
            pred, _ = choice_prediction([float(r[0]) for r in sample["filtered_resps"]], doc["choices"])
            answers.append(doc["options"][pred])
    return answers


def save_samples(evaluation: Evaluation, out: str | Path) -> list[Path]:
    """Write each run's per-example records (the document, the model's inputs, its responses and per-example
    scores) with lm-eval's EvaluationTracker: `out/samples/<base|adapter>/samples_<task>_<time>.jsonl`."""
    import copy
    import datetime as dt

    from lm_eval.loggers import EvaluationTracker

    written = []
    stamp = dt.datetime.now().isoformat().replace(":", "-")  # lm-eval's own file-name time
    for run, results in evaluation.runs.items():
        if "samples" not in results:
            raise CookbookError("the evaluation kept no samples", fix="evaluate with log_samples=True")
        tracker = EvaluationTracker(output_path=str(Path(out) / SAMPLES_DIR))
        tracker.general_config_tracker.model_name_sanitized, tracker.date_id = run, stamp
        for task, samples in results["samples"].items():
            tracker.save_results_samples(task_name=task, samples=copy.deepcopy(samples))  # it rewrites them
            path = Path(out) / SAMPLES_DIR / run / f"samples_{task}_{stamp}.jsonl"
            if not path.is_file():  # the tracker logs its errors instead of raising them
                raise CookbookError(f"could not write {path}", fix=f"check that {out} is a writable folder")
            written.append(path)
    return written
