"""The trained estimators end to end on tiny models: one adapter per template, evaluated on two task files; the
learned recipe validates, builds and trains; a rerun (and one with a task added) trains nothing new."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.recipes.schema import load_recipe

pytest_plugins = ["eval_fixtures"]
runner = CliRunner()


@pytest.fixture
def base_recipe(tmp_path):
    body = {
        "name": "tiny-mix",
        "version": "0.1.0",
        "templates": [
            {"template": "overlap_choice", "weight": 1, "params": {"question_len": 4, "option_len": 2}},
            {
                "template": "span_qa",
                "weight": 1,
                "params": {"context_min_len": 8, "context_max_len": 12, "answer_len": 1},
            },
        ],
        "size": 32,
        "splits": {"train": 1.0},
        "format": "plain",
    }
    path = tmp_path / "tiny-mix.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


@pytest.fixture
def ropes_head(tmp_path, shared_data_dir):
    path = tmp_path / "ropes_head.jsonl"
    lines = (shared_data_dir / "extractive_qa_ropes.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def learn(*args: str):
    return runner.invoke(app, ["mix", "learn", *args], catch_exceptions=False)


def test_trained_estimator_end_to_end_with_its_cache(
    tmp_path, base_recipe, ropes_head, yes_no_file, tiny_model, gpt4all_data
):
    work, out = tmp_path / "work", tmp_path / "learned.yaml"
    common = ["--base", str(base_recipe), "--model", str(tiny_model), "--steps", "2", "--limit", "3"]
    common += ["--work", str(work), "--estimator", "trained", "--keep-all"]
    result = learn(*common, "--tasks", f"{ropes_head},{yes_no_file}", "--out", str(out))
    assert result.exit_code == 0, result.output
    adapters = sorted((work / "adapters").iterdir())
    assert [a.name.split("-")[0] for a in adapters] == ["overlap_choice", "span_qa"]
    assert all(AdapterFolder(a).is_adapter for a in adapters)
    assert len(list((work / "evals").glob("*.json"))) == 4

    effects = json.loads((tmp_path / "learned.effects.json").read_text())
    assert effects["estimator"] == "trained" and effects["budget"]["steps"] == 2 and effects["budget"]["limit"] == 3
    for template in ("overlap_choice", "span_qa"):
        for task in ("ropes_head", "yes_no_facts"):
            entry = effects["effects"][template][task]
            assert entry["n"] == 3 and entry["stderr"] >= 0
            assert entry["effect"] == pytest.approx(entry["score"] - entry["baseline"])
    assert str(tmp_path) not in out.read_text() and str(tmp_path) not in json.dumps(effects)

    recipe = load_recipe(out)
    assert recipe.provenance.kind == "learned" and recipe.version == "0.2.0"
    built = tmp_path / "built"
    assert runner.invoke(app, ["build", str(out), "--out", str(built), "-q"]).exit_code == 0
    trained = runner.invoke(
        app,
        ["train", "--data", str(built), "--out", str(tmp_path / "adapter"), "--model", str(tiny_model), "--steps", "1"],
    )
    assert trained.exit_code == 0, trained.output

    # a rerun, and a rerun with one more task: no adapter is trained again, only the new task is evaluated
    stamps = {a.name: (a / AdapterFolder.ADAPTER_CONFIG).stat().st_mtime_ns for a in adapters}
    evals_before = {p.name for p in (work / "evals").glob("*.json")}
    rerun = learn(*common, "--tasks", f"{ropes_head},{yes_no_file}", "--out", str(out), "--overwrite")
    assert rerun.exit_code == 0
    assert {p.name for p in (work / "evals").glob("*.json")} == evals_before
    more = ["--data-dir", str(gpt4all_data), "--tasks", f"{ropes_head},{yes_no_file},arc_easy"]  # an lm-eval task
    added = learn(*common, *more, "--out", str(tmp_path / "more.yaml"))
    assert added.exit_code == 0, added.output
    arc = json.loads((tmp_path / "more.effects.json").read_text())["effects"]["span_qa"]["arc_easy"]
    assert 1 <= arc["n"] <= 3 and 0 <= arc["score"] <= 1
    assert {a.name: (a / AdapterFolder.ADAPTER_CONFIG).stat().st_mtime_ns for a in adapters} == stamps
    assert len({p.name for p in (work / "evals").glob("*.json")} - evals_before) == 2

    # trained-unlabeled votes with the same adapters and evaluations (the base model and two adapters)
    unlabeled = tmp_path / "unlabeled.yaml"
    result = learn(*[a if a != "trained" else "trained-unlabeled" for a in common], "--tasks",
                   f"{ropes_head},{yes_no_file}", "--out", str(unlabeled))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {a.name: (a / AdapterFolder.ADAPTER_CONFIG).stat().st_mtime_ns for a in adapters} == stamps
    source = load_recipe(unlabeled).provenance.learned_from
    assert source["estimator"] == "trained-unlabeled"
    entry = source["effects"]["span_qa"]["yes_no_facts"]
    assert -1 <= entry["effect"] <= 1 and entry["stderr"] >= 0
