"""Template alignment: word mapping, the rules on real examples, the statistics, refusals, and a full run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cookbook_hub.align.mapping import check_mapping, mapped_templates, rule_answers
from cookbook_hub.align.report import alignment_report, markdown_table, write_report
from cookbook_hub.cli.app import app
from cookbook_hub.errors import CookbookError, TaskFileError
from cookbook_hub.eval.realtasks import load_task_file
from cookbook_hub.hub.git import GitRepo
from cookbook_hub.templates.base import words

pytest_plugins = ["eval_fixtures"]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_task_file(path)


def test_words_normalisation():
    assert words('  "Specimen A," he said -- don\'t stop (3.5 m). ') == [
        "specimen",
        "a",
        "he",
        "said",
        "don't",
        "stop",
        "3.5",
        "m",
    ]
    assert words("") == []


def test_span_qa_rule_on_real_text(tmp_path, shared_data_dir):
    task = write(
        tmp_path / "qa.jsonl",
        [
            {
                "id": "1",
                "context": "The capital of France is Paris, a big city.",
                "question": "The capital of France is",
                "choices": None,
                "answer": "Paris",
            },
        ],
    )
    assert rule_answers("span_qa", task) == ["paris a big"]
    assert rule_answers("span_qa", task, {"answer_len": 1, "context_min_len": 8}) == ["paris"]
    ropes = load_task_file(shared_data_dir / "extractive_qa_ropes.jsonl")
    answers = rule_answers("span_qa", ropes)
    assert len(answers) == 300 and all(len(a.split()) <= 3 for a in answers)


def test_choice_rules_pick_a_choice(tmp_path, shared_data_dir, yes_no_file):
    siqa = load_task_file(shared_data_dir / "multiple_choice_social_iqa.jsonl")
    for template in ("overlap_choice", "two_way_choice"):
        assert all(a in e.choices for a, e in zip(rule_answers(template, siqa), siqa.examples))
    task = write(
        tmp_path / "mc.jsonl",
        [
            {
                "id": "1",
                "context": "",
                "question": "Where do fish live?",
                "choices": ["in trees", "fish live in water"],
                "answer": "fish live in water",
            }
        ],
    )
    assert rule_answers("overlap_choice", task) == ["fish live in water"]
    yes_no = load_task_file(yes_no_file)
    # containment: yes iff every question word is in the passage (none of these questions is)
    assert rule_answers("containment", yes_no) == ["no"] * len(yes_no.examples)
    contained = write(
        tmp_path / "yn.jsonl",
        [
            {
                "id": "1",
                "context": "The mat is red.",
                "question": "Is the mat blue?",
                "choices": ["Yes", "No"],
                "answer": "No",
            },
            {
                "id": "2",
                "context": "Is the mat red?",
                "question": "the mat is red",
                "choices": ["No", "Yes"],
                "answer": "Yes",
            },
        ],
    )
    assert rule_answers("containment", contained) == ["No", "Yes"]


def test_templates_without_a_mapping_are_refused(shared_data_dir):
    ropes = load_task_file(shared_data_dir / "extractive_qa_ropes.jsonl")
    with pytest.raises(CookbookError) as err:
        check_mapping("copy", ropes)
    extractive = [name for name, kinds in mapped_templates().items() if "extractive" in kinds]
    assert "no mapping" in str(err.value) and all(name in str(err.value) for name in extractive)


@pytest.mark.parametrize(
    ("template", "file", "needles"),
    [
        ("overlap_choice", "extractive_qa_ropes.jsonl", ["line 1, field 'choices': null", "multiple choice"]),
        ("span_qa", "multiple_choice_social_iqa.jsonl", ["line 1, field 'choices'", "extractive QA"]),
        ("containment", "multiple_choice_social_iqa.jsonl", ["line 1, field 'choices'", "yes/no"]),
    ],
)
def test_task_of_the_wrong_kind_names_line_and_field(shared_data_dir, template, file, needles):
    with pytest.raises(TaskFileError) as err:
        rule_answers(template, load_task_file(shared_data_dir / file))
    assert all(needle in str(err.value) for needle in needles), str(err.value)


def test_containment_names_the_first_line_that_is_not_yes_no(tmp_path):
    rows = [
        {"id": "1", "context": "c", "question": "q", "choices": ["yes", "no"], "answer": "yes"},
        {"id": "2", "context": "c", "question": "q", "choices": ["yes", "maybe"], "answer": "yes"},
    ]
    with pytest.raises(TaskFileError, match="line 2, field 'choices'"):
        rule_answers("containment", write(tmp_path / "t.jsonl", rows))


def test_report_statistics(tmp_path):
    rows = [
        {"id": str(i), "context": "", "question": "q", "choices": ["a", "b"], "answer": gold}
        for i, gold in enumerate("aabb")
    ]
    task = write(tmp_path / "t.jsonl", rows)
    rule = ["a", "b", "b", "a"]  # right on examples 0 and 2
    base = ["b", "b", "b", "b"]  # right on 2 and 3
    adapter = ["a", "a", "b", "b"]  # right on all four: gains on 0 (rule right) and 1 (rule wrong)
    report = alignment_report(task, "overlap_choice", rule, base, adapter)
    assert report["rule_accuracy"] == 0.5 and report["rule_correct"] == 2 and report["chance"] == 0.5
    assert report["base"] == {
        "accuracy": 0.5,
        "alignment": 0.5,
        "accuracy_rule_correct": 0.5,
        "accuracy_rule_wrong": 0.5,
    }
    assert report["adapter"]["accuracy"] == 1.0 and report["adapter"]["alignment"] == 0.5
    assert report["accuracy_gain"] == 0.5 and report["gain_share_rule_correct"] == 0.5
    assert report["per_example"][1] == {"id": "1", "gold": "a", "rule": "b", "base": "b", "adapter": "a"}
    table = markdown_table(report)
    assert "| alignment (answer = rule's answer) | 0.500 | 0.500 | +0.000 |" in table
    assert "on rule-correct examples: 0.500" in table
    no_gain = alignment_report(task, "overlap_choice", rule, base, base)
    assert no_gain["gain_share_rule_correct"] is None and no_gain["accuracy_gain"] == 0
    only_base = alignment_report(task, "overlap_choice", rule, base[:2])
    assert only_base["examples"] == 2 and only_base["adapter"] is None
    assert "| | base |" in markdown_table(only_base)
    paths = write_report(report, tmp_path / "out")
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert json.loads(paths["json"].read_text())["gain_share_rule_correct"] == 0.5


def test_align_command_end_to_end(tmp_path, portable_adapter, shared_data_dir):
    tiny_model, adapter_copy = portable_adapter[0], Path(shutil.copytree(portable_adapter[1], tmp_path / "adapter"))
    out, hub = tmp_path / "align", tmp_path / "hub" / "me" / "tiny-adapter"
    args = [
        "align",
        "--task",
        str(shared_data_dir / "multiple_choice_social_iqa.jsonl"),
        "--template",
        "overlap_choice",
    ]
    args += ["--model", str(tiny_model), "--adapter", str(adapter_copy), "--limit", "5", "--out", str(out)]
    args += ["--publish", str(hub)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "alignment.json").read_text())
    assert report["examples"] == 5 and report["template"] == "overlap_choice"
    assert (
        set(report["base"])
        == set(report["adapter"])
        == {
            "accuracy",
            "alignment",
            "accuracy_rule_correct",
            "accuracy_rule_wrong",
        }
    )
    siqa = load_task_file(shared_data_dir / "multiple_choice_social_iqa.jsonl")
    for row, example in zip(report["per_example"], siqa.examples):
        assert row["base"] in example.choices and row["adapter"] in example.choices and row["gold"] == example.answer
    assert (out / "alignment.png").is_file() and "| accuracy |" in (out / "alignment.md").read_text()
    assert "Rule accuracy" in result.output
    assert report["evaluated"] == {"model": tiny_model.name, "adapter": adapter_copy.name}  # no local paths
    # Recorded in the adapter folder, shown in its card, and published with it in one commit.
    recorded = adapter_copy / "alignment" / "multiple_choice_social_iqa.overlap_choice"
    assert json.loads((recorded / "alignment.json").read_text()) == report
    card = (adapter_copy / "README.md").read_text()
    assert "## Template alignment" in card and "### `overlap_choice` on `multiple_choice_social_iqa.jsonl`" in card
    assert (out / "alignment.md").read_text() in card
    repo = GitRepo(hub)
    assert "alignment/multiple_choice_social_iqa.overlap_choice/alignment.png" in repo.tree(repo.head())
    assert "## Template alignment" in (hub / "README.md").read_text()
    message = subprocess.run(["git", "-C", str(hub), "log", "-1", "--format=%s"], capture_output=True, text=True)
    assert message.stdout.strip() == "Add template alignment report"


def test_align_refuses_before_loading_a_model(shared_data_dir):
    args = ["align", "--task", str(shared_data_dir / "extractive_qa_ropes.jsonl"), "--template", "sort"]
    result = CliRunner().invoke(app, [*args, "--model", "no/such-model"])
    assert result.exit_code == 2 and "has no mapping" in result.output
    args[-1] = "span_qa"
    result = CliRunner().invoke(app, [*args, "--model", "no/such-model", "--publish", "hub/me/x"])
    assert result.exit_code == 2 and "--publish needs --adapter" in result.output
