"""Evaluation results: sanitized JSON, Hub metadata (model-index, .eval_results), the table, the card, publishing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard, parse_eval_result_entries
from typer.testing import CliRunner

from cookbook_hub.card.model_card import write_model_card
from cookbook_hub.cli.app import app
from cookbook_hub.errors import CookbookError
from cookbook_hub.eval.results import (
    FORMAT,
    comparison_table,
    eval_card_section,
    eval_result_entries,
    load_results,
    model_index,
    record,
    save_results,
    scores,
    write_eval_results,
)
from cookbook_hub.fs import sanitize
from cookbook_hub.hub.git import GitRepo

pytest_plugins = ["eval_fixtures"]


def lm_eval_run(arc: float, span: float) -> dict:
    """The parts of simple_evaluate's output the results code reads."""
    return {
        "results": {
            "arc_easy": {"alias": "arc_easy", "acc,none": arc, "acc_stderr,none": 0.1, "acc_norm,none": arc + 0.1},
            "cookbook_span_qa": {"alias": "cookbook_span_qa", "exact_match,none": span, "exact_match_stderr,none": 0.0},
        },
        "configs": {
            "arc_easy": {"output_type": "multiple_choice", "dataset_path": "parquet", "test_split": "test"},
            "cookbook_span_qa": {
                "output_type": "generate_until",
                "metadata": {"template": "span_qa"},
                "test_split": "test",
            },
        },
        "n-samples": {
            "arc_easy": {"original": 3, "effective": 3},
            "cookbook_span_qa": {"original": 100, "effective": 8},
        },
        "lm_eval_version": "0.4.13",
    }


@pytest.fixture
def document() -> dict:
    return {
        "format": FORMAT,
        "date": "2026-01-02T03:04:05+00:00",
        "model": "smollm2-135m-instruct",
        "adapter": "adapters/a",
        "tasks": "arc_easy,cookbook_span_qa",
        "limit": 8,
        "batch_size": 8,
        "runs": {"base": lm_eval_run(0.25, 0.0), "adapter": lm_eval_run(0.5, 0.375)},
    }


def test_sanitize_removes_local_paths_and_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_sEcReT0123456789abcdefXYZ")
    site = f"{os.sys.prefix}/lib/python3.11/site-packages/lm_eval/tasks/arc/arc_easy.yaml"
    raw = {
        "model": "/opt/models/tiny",
        "source": f"{tmp_path}/run/arc_easy.yaml",
        "yaml": site,
        f"{Path.home()}/key": ["token hf_sEcReT0123456789abcdefXYZ", "other hf_abcdefghijklmnopqrstuvwxyz12"],
        "url": "https://huggingface.co/datasets/allenai/ai2_arc",
        "numbers": [1, 2.5, None, True],
    }
    clean = sanitize(raw, {"/opt/models/tiny": "tiny-model"})
    assert clean == {
        "model": "tiny-model",
        "source": "arc_easy.yaml",
        "yaml": "lm_eval/tasks/arc/arc_easy.yaml",
        "key": ["token ***", "other hf_***"],
        "url": "https://huggingface.co/datasets/allenai/ai2_arc",
        "numbers": [1, 2.5, None, True],
    }


def test_scores_and_table(document):
    rows = {(s.task, s.metric): s for s in scores(document)}
    assert rows["arc_easy", "acc"].delta == pytest.approx(0.25) and rows["arc_easy", "acc"].samples == 3
    assert rows["arc_easy", "acc"].adapter_stderr == 0.1 and rows["arc_easy", "acc_norm"].adapter_stderr is None
    assert ("arc_easy", "acc_stderr") not in rows
    table = comparison_table(document)
    assert "| task | metric | n | base | adapter | Δ |" in table
    assert "| arc_easy | acc | 3 | 0.250 ± 0.100 | 0.500 ± 0.100 | +0.250 |" in table
    assert "| cookbook_span_qa | exact_match | 8 | 0.000 ± 0.000 | 0.375 ± 0.000 | +0.375 |" in table
    base_only = {**document, "runs": {"base": document["runs"]["base"]}}
    assert "| arc_easy | acc | 3 | 0.250 ± 0.100 |" in comparison_table(base_only)
    section = eval_card_section(document, "eval/results_x.json", "eval/results_x.png")
    assert "first 8 examples" in section and "eval/results_x.json" in section and "Δ is adapter minus base" in section
    assert "not benchmark results" in section and "![evaluation results](eval/results_x.png)" in section
    assert "not benchmark results" not in eval_card_section({**document, "limit": None})


def test_limited_runs_stay_out_of_the_hub_metadata(tmp_path, document):
    assert model_index(document) == [] and eval_result_entries(document) == {}  # --limit 8: a smoke test
    assert write_eval_results(tmp_path, document) == [] and not (tmp_path / ".eval_results").exists()


def test_model_index_and_eval_results_files_of_a_full_run(tmp_path, document):
    document = {**document, "limit": None}
    entries = model_index(document)
    arc = next(e for e in entries if e.dataset_name == "arc_easy" and e.metric_type == "acc")
    assert (arc.dataset_type, arc.dataset_config, arc.metric_value) == ("allenai/ai2_arc", "ARC-Easy", 0.5)
    assert arc.task_type == "multiple-choice" and arc.source_name == "lm-eval"
    assert {e.dataset_type for e in entries} == {"allenai/ai2_arc"}  # the template task has no Hub dataset
    hub = eval_result_entries(document)
    assert list(hub) == ["arc_easy"]  # only benchmarks on the Hub
    assert hub["arc_easy"].value == 0.6 and hub["arc_easy"].notes.startswith("acc_norm, n=3, ")
    (path,) = write_eval_results(tmp_path, document)
    assert path == tmp_path / ".eval_results" / "arc_easy.yaml"
    (parsed,) = parse_eval_result_entries(yaml.safe_load(path.read_text()))
    assert (parsed.dataset_id, parsed.task_id, parsed.value) == ("allenai/ai2_arc", "arc_easy", 0.6)


def test_results_round_trip(tmp_path, document):
    path = save_results(document, tmp_path)
    assert path == tmp_path / "eval" / "results_20260102T030405Z.json"
    assert load_results(path) == document
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(CookbookError, match="not a cookbook-hub results file"):
        load_results(path)


def test_record_then_render_shows_it_in_the_card(adapter_copy, document):
    recorded = record({**document, "limit": None}, adapter_copy)
    assert recorded.card_part.is_file()
    card = ModelCard.load(write_model_card(adapter_copy, repo_id="me/tiny-adapter"))
    assert "## Evaluation" in card.text
    assert "| arc_easy | acc | 3 | 0.250 ± 0.100 | 0.500 ± 0.100 | +0.250 |" in card.text
    assert card.data.model_name == "tiny-adapter"
    assert {(r.dataset_name, r.metric_type) for r in card.data.eval_results} == {
        ("arc_easy", "acc"),
        ("arc_easy", "acc_norm"),
    }
    assert "## Training data" in card.text  # still the training card, with the section added
    assert recorded.eval_results == [adapter_copy / ".eval_results" / "arc_easy.yaml"]
    assert "![evaluation results](eval/results_20260102T030405Z.png)" in card.text
    assert (adapter_copy / "eval" / "results_20260102T030405Z.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_command_records_and_publishes(tmp_path, portable_adapter, shared_data_dir):
    base, adapter = portable_adapter
    adapter = Path(shutil.copytree(adapter, tmp_path / "adapter"))
    hub = tmp_path / "hub" / "local" / "tiny-adapter"
    task = shared_data_dir / "choice_physical_intuition.jsonl"
    args = ["eval", "--model", str(base), "--adapter", str(adapter), "--tasks", str(task), "--limit", "3"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--publish", str(hub)])
    assert result.exit_code == 0, result.output
    assert "| real_choice_physical_intuition | acc | 3 |" in result.output
    (saved,) = (adapter / "eval").glob("results_*.json")
    text = saved.read_text()
    for local in (str(tmp_path), str(base), str(shared_data_dir), str(Path.home())):
        assert local not in text
    document = load_results(saved)
    assert document["tasks"] == "choice_physical_intuition.jsonl" and document["limit"] == 3
    assert set(document["runs"]) == {"base", "adapter"} and "samples" not in document["runs"]["base"]
    acc = next(s for s in document["scores"] if s["metric"] == "acc")  # every results file records n and stderr
    assert acc["samples"] == 3 and acc["adapter_stderr"] > 0 and acc["base_stderr"] > 0
    assert document["chance"] == {"real_choice_physical_intuition": 0.25}  # four choices each
    assert (tmp_path / "out" / "results.md").read_text() == comparison_table(document)
    repo = GitRepo(hub)
    files = repo.tree(repo.head())
    assert saved.relative_to(adapter).as_posix() in files and "adapter_model.safetensors" in files
    assert saved.with_suffix(".png").relative_to(adapter).as_posix() in files
    readme = (hub / "README.md").read_text()  # the hub folder checks out main
    assert "## Evaluation" in readme and "± " in readme and "not benchmark results" in readme
    assert ModelCard(readme).data.eval_results is None  # a limited run: no model-index ...
    assert not any(name.startswith(".eval_results/") for name in files)  # ... and no .eval_results


def test_publish_needs_an_adapter(tiny_model):
    result = CliRunner().invoke(app, ["eval", "--model", str(tiny_model), "--publish", "hub/me/x"])
    assert result.exit_code == 2 and "--publish needs --adapter" in result.output
