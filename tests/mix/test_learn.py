"""`mix learn` and `mix show` with the rule estimators on the shared real-task files: the learned recipe, its
matrix, a build with the heatmap, and bad input refused with nothing written."""

from __future__ import annotations

import json
import math
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.mix.effects import load_matrix
from cookbook_hub.recipes.schema import load_recipe

pytest_plugins = ["eval_fixtures"]
runner = CliRunner()
FILES = ("extractive_qa_ropes.jsonl", "multiple_choice_social_iqa.jsonl", "choice_physical_intuition.jsonl")


@pytest.fixture
def tasks(shared_data_dir):
    return ",".join(str(shared_data_dir / name) for name in FILES)


def learn(*args: str):
    return runner.invoke(app, ["mix", "learn", *args])


def test_rules_learns_a_new_recipe_version_that_builds_with_its_heatmap(tmp_path, tasks):
    out = tmp_path / "gpt4all-learned.yaml"
    result = learn("--base", "gpt4all", "--tasks", tasks, "--estimator", "rules", "--out", str(out))
    assert result.exit_code == 0, result.output
    recipe, base = load_recipe(out), load_recipe("gpt4all")
    assert (recipe.name, recipe.version) == ("gpt4all", "0.3.0")  # minor bump of 0.2.0
    assert recipe.content_hash != base.content_hash
    source = recipe.provenance.learned_from
    assert recipe.provenance.kind == "learned" and recipe.provenance.method
    assert source["base_recipe"] == "gpt4all@0.2.0" and source["estimator"] == "rules"
    assert [t["name"] for t in source["tasks"]] == [f.removesuffix(".jsonl") for f in FILES]
    assert str(tmp_path) not in out.read_text()  # no local path in what may be shared
    # containment maps to no task here: no entry, a reason, and weight 0; span_qa is only measured on ROPES
    assert "containment" not in source["effects"] and "containment" in source["dropped"]
    assert set(source["effects"]["span_qa"]) == {"extractive_qa_ropes"}
    assert "no mapping" in source["skipped"]["span_qa"]["multiple_choice_social_iqa"]
    assert sum(recipe.weights.values()) == pytest.approx(1.0)
    # the matrix beside it holds the same effects
    matrix = load_matrix(tmp_path / "gpt4all-learned.effects.json")
    effect = matrix.get("overlap_choice", "choice_physical_intuition")
    assert source["effects"]["overlap_choice"]["choice_physical_intuition"]["effect"] == round(effect.effect, 4)
    assert 0 < effect.stderr < 0.2 and effect.n == 81 and effect.baseline == pytest.approx(0.2551, abs=1e-3)

    built = tmp_path / "built"
    assert runner.invoke(app, ["build", str(out), "-n", "200", "--out", str(built), "-q"]).exit_code == 0
    card = (built / "README.md").read_text()
    assert "How the weights were learned" in card and "`rules` estimator" in card
    assert "images/gpt4all-effects.png" in card and (built / "images" / "gpt4all-effects.png").stat().st_size > 0
    assert "| `containment` | – | – | – | 0.000 (no significantly positive effect on any task) |" in card

    repo = tmp_path / "hub" / "me" / "gpt4all-learned"
    published = runner.invoke(app, ["publish", str(built), "--to", str(repo), "--tag", "v0.3.0"])
    assert published.exit_code == 0, published.output
    tree = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "v0.3.0"], capture_output=True, text=True
    )
    assert "images/gpt4all-effects.png" in tree.stdout.split()

    shown = runner.invoke(app, ["mix", "show", str(out)])
    assert shown.exit_code == 0 and "learned weight" in shown.output and "gpt4all@0.2.0" in shown.output
    as_json = json.loads(runner.invoke(app, ["mix", "show", str(out), "--json"]).output)
    assert as_json["kind"] == "learned"

    # from the saved matrix: no estimation, the same weights; a higher temperature spreads them
    again = tmp_path / "again.yaml"
    matrix_file = str(tmp_path / "gpt4all-learned.effects.json")
    assert learn("--base", "gpt4all", "--from-matrix", matrix_file, "--out", str(again)).exit_code == 0
    assert load_recipe(again).weights == recipe.weights
    warm = tmp_path / "warm.yaml"
    args = ("--base", "gpt4all", "--from-matrix", matrix_file, "--temperature", "5", "--version", "1.0.0")
    assert learn(*args, "--out", str(warm)).exit_code == 0
    spread = load_recipe(warm)
    assert spread.version == "1.0.0" and max(spread.weights.values()) - min(spread.weights.values()) < 0.01


def test_rules_unlabeled_skips_tasks_with_too_few_voters(tmp_path, tasks):
    out = tmp_path / "u.yaml"
    result = learn("--base", "gpt4all", "--tasks", tasks, "--estimator", "rules-unlabeled", "--out", str(out))
    assert result.exit_code == 0, result.output
    source = load_recipe(out).provenance.learned_from
    assert "extractive_qa_ropes" not in source["effects"].get("span_qa", {})
    assert "at least 3 voting templates; 1 map" in source["skipped"]["span_qa"]["extractive_qa_ropes"]
    assert set(source["effects"]["overlap_choice"]) == {"multiple_choice_social_iqa", "choice_physical_intuition"}


def test_the_learned_recipe_refuses_to_replace_a_file(tmp_path, tasks):
    out = tmp_path / "keep.yaml"
    out.write_text("mine\n")
    result = learn("--base", "gpt4all", "--tasks", tasks, "--out", str(out))
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert out.read_text() == "mine\n" and not (tmp_path / "keep.effects.json").exists()


def bad_matrix(tmp_path, tasks):
    learn("--base", "gpt4all", "--tasks", tasks, "--out", str(tmp_path / "m.yaml"))
    data = json.loads((tmp_path / "m.effects.json").read_text())
    data["effects"]["overlap_choice"]["choice_physical_intuition"]["effect"] = math.inf
    path = tmp_path / "bad.effects.json"
    path.write_text(json.dumps(data))  # writes Infinity
    return str(path)


@pytest.mark.parametrize(
    ("case", "needles"),
    [
        ("unmapped task", ["yes_no_facts.jsonl is a yes/no task", "containment"]),
        ("empty templates", ["templates", "at least 1"]),
        ("non-finite entry", ["effects.overlap_choice.choice_physical_intuition.effect", "not a finite number"]),
        ("temperature 0", ["--temperature must be > 0"]),
        ("missing base", ["no-such-recipe"]),
        ("named task with rules", ["arc_easy", "not a task file"]),
        ("unknown estimator", ["--estimator 'magic'", "trained"]),
    ],
)
def test_bad_input_is_one_clear_error_and_nothing_is_written(tmp_path, tasks, yes_no_file, case, needles):
    out = tmp_path / "out.yaml"
    args = {
        "unmapped task": ["--base", "gpt4all@0.2.0", "--tasks", str(yes_no_file)],
        "non-finite entry": ["--base", "gpt4all", "--from-matrix", bad_matrix(tmp_path, tasks)]
        if case == "non-finite entry"
        else [],
        "temperature 0": ["--base", "gpt4all", "--tasks", tasks, "--temperature", "0"],
        "missing base": ["--base", "no-such-recipe", "--tasks", tasks],
        "named task with rules": ["--base", "gpt4all", "--tasks", "arc_easy"],
        "unknown estimator": ["--base", "gpt4all", "--tasks", tasks, "--estimator", "magic"],
    }.get(case)
    if case == "empty templates":
        empty = tmp_path / "empty.yaml"
        body = load_recipe("gpt4all").model_dump(mode="json") | {"templates": []}
        empty.write_text(yaml.safe_dump(body))
        args = ["--base", str(empty), "--tasks", tasks]
    if case == "unmapped task":  # a base recipe whose templates map to no yes/no task
        only_choice = tmp_path / "choice-only.yaml"
        body = load_recipe("gpt4all").model_dump(mode="json")
        body["templates"] = [t for t in body["templates"] if t["template"] in ("blank_fill", "span_qa")]
        only_choice.write_text(yaml.safe_dump(body))
        args = ["--base", str(only_choice), "--tasks", str(yes_no_file)]
        needles = ["yes_no_facts.jsonl is a yes/no task", "containment"]
    result = learn(*args, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output
    assert not out.exists() and not (tmp_path / "out.effects.json").exists()


def test_a_learned_recipe_that_records_something_else_builds_without_the_matrix(tmp_path):
    body = load_recipe("gpt4all").model_dump(mode="json")
    body["provenance"] = {"kind": "learned", "method": "by hand", "learned_from": {"notes": "a grid search", "n": 3}}
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(body))
    built = tmp_path / "built"
    result = runner.invoke(app, ["build", str(path), "-n", "100", "--out", str(built), "-q"])
    assert result.exit_code == 0, result.output
    card = (built / "README.md").read_text()
    assert "provenance: learned (by hand)" in card and "How the weights were learned" not in card
    assert not (built / "images" / "gpt4all-effects.png").exists()


def test_card_of_a_manifest_without_configs_is_one_clear_error(tmp_path):
    built = tmp_path / "built"
    assert runner.invoke(app, ["build", "gpt4all", "-n", "50", "--out", str(built), "-q"]).exit_code == 0
    (built / "cookbook_build.json").write_text("{}")
    result = runner.invoke(app, ["card", str(built)])
    assert result.exit_code == 2 and "lists no configs" in result.output and "Traceback" not in result.output
