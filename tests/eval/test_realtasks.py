"""Real-task files: loading the shared extracts, validation errors that name the line and field, prompts, scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cookbook_hub.errors import TaskFileError
from cookbook_hub.eval.realtasks import (
    answer_shares,
    balanced_accuracy,
    choice_prediction,
    exact_match,
    first_line,
    lm_eval_doc,
    load_task_file,
    normalize_answer,
    prompt,
    token_f1,
)

ROW = {"id": "r1", "context": "Bob went home.", "question": "Who went home?", "choices": None, "answer": "Bob"}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "kind", "rows"),
    [
        ("extractive_qa_ropes.jsonl", "extractive", 300),
        ("multiple_choice_social_iqa.jsonl", "choice", 300),
        ("choice_physical_intuition.jsonl", "choice", 81),
    ],
)
def test_shared_files_load(shared_data_dir, load_jsonl, name, kind, rows):
    task = load_task_file(shared_data_dir / name)
    assert (task.kind, len(task.examples)) == (kind, rows)
    raw = load_jsonl(name)
    for example, row in zip(task.examples, raw):
        assert example.id == row["id"] and example.answer == row["answer"]
        if kind == "choice":
            assert example.choices[example.label] == row["answer"]
        else:
            assert example.label is None
    assert task.name == "real_" + name.removesuffix(".jsonl")


def test_yes_no_files_are_detected(tmp_path):
    rows = [
        {**ROW, "choices": ["Yes", "No"], "answer": "No"},
        {**ROW, "id": "r2", "choices": ["no", "yes"], "answer": "yes"},
    ]
    task = load_task_file(write(tmp_path / "yn.jsonl", rows))
    assert task.kind == "yes_no"
    assert [e.label for e in task.examples] == [1, 1]
    mixed = load_task_file(write(tmp_path / "mc.jsonl", [*rows, {**ROW, "choices": ["yes", "maybe"], "answer": "yes"}]))
    assert mixed.kind == "choice"


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        ([ROW, {k: v for k, v in ROW.items() if k != "answer"}], ["line 2", "field 'answer'", "is missing"]),
        ([ROW, ROW, {**ROW, "answer": "  "}], ["line 3", "field 'answer'", "is empty"]),
        ([{**ROW, "question": ""}], ["line 1", "field 'question'", "is empty"]),
        ([{**ROW, "context": 3}], ["line 1", "field 'context'", "must be a string"]),
        ([{**ROW, "choices": ["a"], "answer": "a"}], ["line 1", "field 'choices'", "at least two"]),
        ([{**ROW, "choices": ["a", "b"], "answer": "c"}], ["line 1", "field 'answer'", "not one of the choices"]),
        ([{**ROW, "choices": ["a", "a"], "answer": "a"}], ["line 1", "field 'choices'", "same choice twice"]),
        ([ROW, "{not json"], ["line 2", "not valid JSON"]),
        ([ROW, "[1, 2]"], ["line 2", "must be a JSON object"]),
        ([ROW, {**ROW, "choices": ["a", "b"], "answer": "a"}], ["line 2", "field 'choices'", "separate files"]),
    ],
)
def test_bad_rows_name_the_line_and_field(tmp_path, rows, needles):
    path = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(TaskFileError) as err:
        load_task_file(path)
    for needle in [str(path), *needles]:
        assert needle in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(TaskFileError, match="does not exist"):
        load_task_file(tmp_path / "nope.jsonl")
    with pytest.raises(TaskFileError, match="no examples"):
        load_task_file(write(tmp_path / "empty.jsonl", ["", "  "]))


def test_prompts_follow_the_plain_style(tmp_path, shared_data_dir):
    ropes = load_task_file(shared_data_dir / "extractive_qa_ropes.jsonl")
    first = ropes.examples[0]
    assert prompt(ropes, first) == f"Document: {first.context}\nQuestion: {first.question}\n"
    siqa = load_task_file(shared_data_dir / "multiple_choice_social_iqa.jsonl")
    assert prompt(siqa, siqa.examples[0]) == f"Question: {siqa.examples[0].question}\n"
    yes_no = load_task_file(write(tmp_path / "yn.jsonl", [{**ROW, "choices": ["yes", "no"], "answer": "yes"}]))
    assert prompt(yes_no, yes_no.examples[0]) == "Passage: Bob went home.\nQuestion: Who went home?\n"
    doc = lm_eval_doc(siqa, siqa.examples[0])
    assert doc["choices"][doc["label"]] == doc["answer"] and doc["line"] == 1


def test_squad_scoring():
    assert normalize_answer("  The Specimen-B, ") == "specimenb"
    assert normalize_answer("an apple and the pear.") == "apple and pear"
    assert exact_match("Specimen B.", "specimen B") == 1.0
    assert exact_match("specimen A", "specimen B") == 0.0
    assert token_f1("specimen B", "specimen B") == 1.0
    assert token_f1("the specimen C", "specimen B") == pytest.approx(0.5)
    assert token_f1("specimen A", "specimen B") == pytest.approx(2 / 3)  # "a" is an article to SQuAD
    assert token_f1("big red dog", "red dog") == pytest.approx(0.8)
    assert token_f1("", "") == 1.0 and token_f1("a", "dog") == 0.0
    assert first_line(" specimen B\nQuestion: next") == "specimen B"


def test_choice_and_yes_no_scoring():
    # raw log-likelihood picks the short choice; per character, the long one
    assert choice_prediction([-4.0, -6.0], ["no", "absolutely"]) == (0, 1)
    assert choice_prediction([-1.0, -1.0], ["a", "b"]) == (0, 0)
    # always saying yes: accuracy follows the class balance (0.75 here), balanced accuracy stays at 0.5
    golds = ["yes", "yes", "yes", "no"]
    assert balanced_accuracy(golds, ["yes"] * 4) == 0.5
    assert balanced_accuracy(golds, ["no", "yes", "yes", "no"]) == pytest.approx((2 / 3 + 1) / 2)
    assert balanced_accuracy(golds, golds) == 1.0
    assert answer_shares(["Yes", "no", "yes", "yes"]) == {"yes": 0.75, "no": 0.25}
    assert balanced_accuracy([], []) == 0.0 and answer_shares([]) == {"yes": 0.0, "no": 0.0}
