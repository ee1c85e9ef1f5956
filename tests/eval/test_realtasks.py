"""Real-task files: loading the shared extracts, validation errors that name the line and field, prompts, scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cookbook_hub.errors import TaskFileError
from cookbook_hub.eval.realtasks import (
    Example,
    RealTask,
    answer_choices,
    answer_shares,
    balanced_accuracy,
    choice_prediction,
    exact_match,
    first_line,
    in_passage,
    lm_eval_doc,
    load_task_file,
    normalize_answer,
    prompt,
    token_f1,
)
from cookbook_hub.generation.formatting import STYLES, Style, format_sample
from cookbook_hub.templates import get_template

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
        ([ROW, '{"id": ' + "[" * 5000 + "]" * 5000 + "}"], ["line 2", "nested deeper than 32 levels"]),
        ([ROW, '{"id": ' + "9" * 5000 + "}"], ["line 2", "not valid JSON", "digits"]),
        ([{**ROW, "id": "r"}, '{"id": NaN}'], ["line 2", "NaN is not a number JSON allows"]),
    ],
)
def test_bad_rows_name_the_line_and_field(tmp_path, rows, needles):
    path = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(TaskFileError) as err:
        load_task_file(path)
    for needle in [str(path), *needles]:
        assert needle in str(err.value)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes((json.dumps(ROW) + "\n").encode() + '{"id": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(TaskFileError, match=r"latin1.jsonl line 2: not UTF-8 text \(invalid continuation byte"):
        load_task_file(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(TaskFileError, match="does not exist"):
        load_task_file(tmp_path / "nope.jsonl")
    with pytest.raises(TaskFileError, match="no examples"):
        load_task_file(write(tmp_path / "empty.jsonl", ["", "  "]))


def test_prompts_are_the_templates_parts(tmp_path, shared_data_dir):
    ropes = load_task_file(shared_data_dir / "extractive_qa_ropes.jsonl")
    first = ropes.examples[0]
    assert prompt(ropes, first) == f"Document: {first.context}\nQuestion: {first.question}\n"
    assert prompt(ropes, first, "qa") == f"Document: {first.context}\nQuestion: {first.question}\nAnswer:"
    assert prompt(ropes, first, "chat") == f"Document: {first.context}\nQuestion: {first.question}"
    cued = Style("plain", answer_cue=True)  # plain with the answer cue ends as qa does
    assert prompt(ropes, first, cued) == prompt(ropes, first, "qa")
    siqa = load_task_file(shared_data_dir / "multiple_choice_social_iqa.jsonl")
    example = siqa.examples[0]
    options = "".join(f"\n{letter}. {choice}" for letter, choice in zip("ABC", example.choices))
    assert prompt(siqa, example) == f"Question: {example.question}\nOptions:{options}\n"
    yes_no = load_task_file(write(tmp_path / "yn.jsonl", [{**ROW, "choices": ["yes", "no"], "answer": "yes"}]))
    assert prompt(yes_no, yes_no.examples[0]) == "Passage: Bob went home.\nQuestion: Who went home?\n"
    doc = lm_eval_doc(siqa, example)
    assert doc["choices"] == ["A", "B", "C"] and doc["options"][doc["label"]] == doc["answer"] and doc["line"] == 1
    assert lm_eval_doc(yes_no, yes_no.examples[0])["choices"] == ["yes", "no"]  # yes/no words, as containment's


def same_text_example(template_name: str, kind_choices: list[str] | None) -> tuple:
    """A template sample and a real example holding the same text in the same fields."""
    template = get_template(template_name)
    sample = template.sample(3)
    fields = dict(template.sections(sample.inputs))
    context = fields.get("Document") or fields.get("Passage") or ""
    choices = sample.options if sample.options else kind_choices
    example = Example(
        line=1,
        id="x",
        context=context,
        question=fields["Question"],
        choices=choices and tuple(choices),
        answer=(choices or [sample.answer])[0],
    )
    return template, sample, example


@pytest.mark.parametrize(
    ("template_name", "kind", "choices"),
    [("span_qa", "extractive", None), ("containment", "yes_no", ["no", "yes"]), ("overlap_choice", "choice", None)],
)
@pytest.mark.parametrize(("style", "cue"), [(name, None) for name in STYLES] + [("plain", True)])
def test_a_template_row_and_a_real_example_with_the_same_text_read_the_same(template_name, kind, choices, style, cue):
    template, sample, example = same_text_example(template_name, choices)
    task = RealTask(Path("same.jsonl"), kind, (example,))
    bare = Style(style, instruction=False, answer_cue=cue)
    row = format_sample(template, sample, bare)
    row_prompt = row["messages"][0]["content"] if style == "chat" else row["prompt"]
    assert prompt(task, example, bare) == row_prompt
    # the answer is scored among what the row's completion says: a letter, or the yes/no word
    completion = row["messages"][1]["content"] if style == "chat" else row["completion"].strip()
    assert completion in (answer_choices(task, example) or [sample.target])
    # with the instruction shown, only the row has one: a real example has no instruction of its own
    shown = Style(style, instruction=True, answer_cue=cue)
    shown_row = format_sample(template, sample, shown)
    assert template.instruction in str(shown_row) and template.instruction not in prompt(task, example, shown)


def test_answers_are_the_first_line_after_the_prompts_cue():
    assert first_line(" Answer: specimen B\nQuestion: next") == "specimen B"
    assert first_line("The answer is: Drake") == "The answer is: Drake"  # nothing more lenient
    assert first_line("\nDrake") == ""  # the first line is the answer, even when it is empty


def test_in_passage_is_the_answers_shape():
    assert in_passage("the Ozarks", "They hiked in the Ozarks last May.")
    assert not in_passage("Ozarks mountains", "They hiked in the Ozarks last May.")
    assert not in_passage("", "They hiked.")


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


@pytest.mark.parametrize(
    "style", [Style("plain"), Style("plain", False, True), Style("qa", True), Style("chat", instruction=False)]
)
def test_the_recorded_style_is_the_style(style):
    """What data and adapters record (`describe()`) gives the same style back, answer cue included."""
    assert Style.from_record(style.describe()) == style
    assert ("answer_cue" in style.describe()) == (style.answer_cue is not None)
