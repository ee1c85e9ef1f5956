"""The shipped lm-eval task folder: up to date, found by lm-eval's TaskManager, scored by the templates' own rules."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
import tomllib

from cookbook_hub.eval import lm_eval_tasks
from cookbook_hub.eval.lm_eval_tasks import (
    GROUP,
    SAMPLES_PER_TEMPLATE,
    TASKS_DIR,
    aggregate_balanced_accuracy,
    held_out_docs,
    load_samples,
    score_template_generation,
    score_yes_no,
    task_files,
    template_task_name,
    template_task_names,
    write_task_files,
)
from cookbook_hub.generation.formatting import Style, format_sample
from cookbook_hub.templates import REGISTRY, ChoiceTemplate, get_template
from cookbook_hub.tokens.sampling import SPLIT_OFFSETS

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


def test_shipped_files_are_up_to_date():
    expected = task_files()
    shipped = {
        p.relative_to(TASKS_DIR).as_posix(): p.read_text(encoding="utf-8")
        for p in TASKS_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    stale = sorted(name for name in expected.keys() | shipped.keys() if expected.get(name) != shipped.get(name))
    assert not stale, f"run make regen (out of date: {stale})"


def test_write_task_files_regenerates_and_prunes(tmp_path):
    (tmp_path / "cookbook_gone.yaml").write_text("task: cookbook_gone\n")
    changed = write_task_files(tmp_path, n=2)
    assert "cookbook_gone.yaml" in changed and not (tmp_path / "cookbook_gone.yaml").exists()
    assert (tmp_path / "samples" / "span_qa.jsonl").read_text().count("\n") == 2
    assert write_task_files(tmp_path, n=2) == []


def test_package_data_ships_the_folder():
    patterns = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for path in TASKS_DIR.rglob("*.*"):
        rel = path.relative_to(REPO_ROOT / "cookbook_hub").as_posix()
        assert any(fnmatch.fnmatch(rel, p) for p in patterns["cookbook_hub"]), rel


def test_task_manager_finds_every_template_task(manager):
    names = template_task_names()
    assert len(names) == len(REGISTRY) + sum(issubclass(c, ChoiceTemplate) for c in REGISTRY.values())
    assert {"cookbook_span_qa", "cookbook_overlap_choice_mc", "cookbook_containment_mc"} <= set(names)
    assert set(names) <= set(manager.all_subtasks)
    assert GROUP in manager.all_groups
    assert not any(name.startswith("_") for name in manager.all_tasks)  # base configs are not tasks
    loaded = manager.load([GROUP])
    assert sorted(loaded["tasks"]) == sorted(names)


def test_generation_task_is_scored_by_the_template(manager):
    task = manager.load(["cookbook_span_qa"])["tasks"]["cookbook_span_qa"]
    docs = list(task.eval_docs)
    assert len(docs) == SAMPLES_PER_TEMPLATE
    assert all(doc["index"] >= SPLIT_OFFSETS["test"] for doc in docs)
    template = get_template("span_qa")
    sample = template.sample(docs[0]["index"])
    assert task.doc_to_text(docs[0]).startswith(template.instruction)
    assert docs[0]["answer"] == sample.answer and task.doc_to_target(docs[0]) == sample.target
    assert task.config.generation_kwargs["until"] == ["\n"]
    assert score_template_generation(docs[0], [f" {sample.answer}."]) == {"exact_match": 1.0}
    assert score_template_generation(docs[0], ["not it"]) == {"exact_match": 0.0}


def test_lettered_generation_accepts_the_letter():
    doc = held_out_docs(get_template("overlap_choice"), n=1)[0]
    assert score_template_generation(doc, [doc["target"]]) == {"exact_match": 1.0}
    assert score_template_generation(doc, [doc["answer"]]) == {"exact_match": 1.0}


@pytest.mark.parametrize(
    ("template", "choices"), [("overlap_choice", ["A", "B", "C", "D"]), ("containment", ["no", "yes"])]
)
def test_multiple_choice_task_scores_what_a_row_completes_with(manager, template, choices):
    name = template_task_name(template, multiple_choice=True)
    task = manager.load([name])["tasks"][name]
    doc = next(iter(task.eval_docs))
    tpl = get_template(template)
    sample = tpl.sample(doc["index"])
    assert task.doc_to_choice(doc) == choices  # the letters of a lettered template, else its words
    assert (
        task.doc_to_choice(doc)[task.doc_to_target(doc)]
        == sample.target
        == format_sample(tpl, sample, "plain")["completion"]
    )
    assert task.OUTPUT_TYPE == "multiple_choice"


@pytest.mark.parametrize("style", [Style("plain"), Style("qa"), Style("chat", instruction=False)])
def test_template_tasks_read_in_the_runs_style(style):
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=style.describe())
    name = template_task_name("overlap_choice", multiple_choice=True)
    task = manager.load([name])["tasks"][name]
    doc = next(iter(task.eval_docs))
    tpl = get_template("overlap_choice")
    row = format_sample(tpl, tpl.sample(doc["index"]), style)
    prompt = row["messages"][0]["content"] if style.is_chat else row["prompt"]
    completion = row["messages"][1]["content"] if style.is_chat else row["completion"]
    assert task.doc_to_text(doc) == prompt  # the training row's prompt, in every style
    assert task.doc_to_choice(doc)[task.doc_to_target(doc)] == completion


def test_load_samples_reads_the_shipped_file():
    dataset = load_samples("count.jsonl", version=1.0, config_source="ignored")
    assert list(dataset) == ["test"] and len(dataset["test"]) == SAMPLES_PER_TEMPLATE


def test_yes_no_scoring_hooks():
    doc = {"choices": ["yes", "no"], "label": 1}
    said_yes = score_yes_no(doc, [(-1.0, True), (-3.0, False)])
    assert said_yes == {"acc": 0.0, "acc_norm": 0.0, "balanced_acc": ("no", "yes"), "share_yes": 1.0, "share_no": 0.0}
    assert aggregate_balanced_accuracy([("yes", "yes"), ("yes", "yes"), ("no", "yes")]) == 0.5


def test_function_references_resolve():
    text = (TASKS_DIR / "_real_yes_no.yaml").read_text()
    for name in ("score_yes_no", "aggregate_balanced_accuracy"):
        assert f"cookbook_hub.eval.lm_eval_tasks.{name}" in text and callable(getattr(lm_eval_tasks, name))
