"""Evaluation through lm-eval: task plans, local GPT4ALL data, clear errors, and real runs (tiny model, SmolLM2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import (
    CookbookError,
    EvalDataError,
    ModelError,
    PublishError,
    TaskFileError,
    UnknownNameError,
)
from cookbook_hub.eval.gpt4all import GPT4ALL_TASKS
from cookbook_hub.eval.lm_eval_tasks import GROUP, TASKS_DIR
from cookbook_hub.eval.realtasks import exact_match, prompt
from cookbook_hub.eval.results import results_document
from cookbook_hub.eval.runner import (
    check_adapter_base,
    display_name,
    evaluate,
    load_tasks,
    model_identity,
    plan_tasks,
    predictions,
    prompt_style,
    resolve_adapter,
    task_manager,
)
from cookbook_hub.generation.formatting import Style
from cookbook_hub.models import DEFAULT_MODEL, SMOLLM2_HUB_ID

pytest_plugins = ["eval_fixtures"]

ROPES, SIQA, PHYSICS = (
    "extractive_qa_ropes.jsonl",
    "multiple_choice_social_iqa.jsonl",
    "choice_physical_intuition.jsonl",
)


def load_yaml(path: Path) -> dict:
    from lm_eval.tasks._yaml_loader import load_yaml as lm_eval_load

    return lm_eval_load(path, resolve_func=False)


# ------------------------------------------------------------------ plans and errors (no model)


def test_gpt4all_tasks_are_lm_evals_own():
    assert list(GPT4ALL_TASKS) == [
        "arc_easy",
        "arc_challenge",
        "boolq",
        "hellaswag",
        "openbookqa",
        "piqa",
        "winogrande",
    ]
    for name, task in GPT4ALL_TASKS.items():
        assert task.config["task"] == name
        assert task.eval_split() in ("test", "validation")
    assert GPT4ALL_TASKS["boolq"].source() == "aps/super_glue boolq"


def test_plan_writes_runtime_yamls(tmp_path, shared_data_dir, gpt4all_data):
    ropes = shared_data_dir / ROPES
    plan = plan_tasks(f"gpt4all, templates,cookbook_span_qa,{ropes},arc_easy", tmp_path, gpt4all_data)
    assert plan.names == [*GPT4ALL_TASKS, GROUP, "real_extractive_qa_ropes"]
    assert sorted(p.stem for p in tmp_path.glob("*.yaml")) == sorted([*GPT4ALL_TASKS, "real_extractive_qa_ropes"])
    arc = load_yaml(tmp_path / "arc_easy.yaml")
    assert arc["dataset_path"] == "parquet" and arc["dataset_name"] is None
    assert arc["dataset_kwargs"] == {
        "data_files": {"test": str((gpt4all_data / "arc_easy" / "test.parquet").resolve())}
    }
    assert arc["training_split"] is None and arc["validation_split"] is None and arc["test_split"] == "test"
    assert arc["doc_to_choice"] == "{{choices.text}}"  # the rest comes from lm-eval's own YAML
    boolq = load_yaml(tmp_path / "boolq.yaml")
    assert boolq["dataset_path"] == "json" and list(boolq["dataset_kwargs"]["data_files"]) == ["validation"]
    assert load_yaml(tmp_path / "hellaswag.yaml")["dataset_path"] == "Rowan/hellaswag"  # no local copy
    real = load_yaml(tmp_path / "real_extractive_qa_ropes.yaml")
    assert real["output_type"] == "generate_until" and real["dataset_kwargs"]["task_file"] == str(ropes.resolve())


def test_plan_errors(tmp_path):
    with pytest.raises(CookbookError, match="no tasks given"):
        plan_tasks(" , ", tmp_path)
    with pytest.raises(EvalDataError, match="not a folder"):
        plan_tasks("arc_easy", tmp_path, tmp_path / "missing")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "context": "", "question": "q", "choices": null}\n')
    with pytest.raises(TaskFileError, match="line 1, field 'answer': is missing"):
        plan_tasks(f"templates,{bad}", tmp_path)


def test_unknown_task_lists_close_names(tmp_path):
    from lm_eval.tasks import TaskManager

    plan = plan_tasks("cookbook_span_q", tmp_path)
    manager = TaskManager(include_path=[str(TASKS_DIR), str(tmp_path)], include_defaults=False)
    with pytest.raises(UnknownNameError) as err:
        load_tasks(plan, manager)
    assert "cookbook_span_qa" in err.value.suggestions and "did you mean" in str(err.value)


def test_missing_gpt4all_data_says_what_to_provide(tmp_path, gpt4all_data):
    plan = plan_tasks("arc_easy,hellaswag,piqa", tmp_path, gpt4all_data)
    with pytest.raises(EvalDataError) as err:
        load_tasks(plan, task_manager(plan), gpt4all_data)
    message = str(err.value)
    assert "no data for task(s) hellaswag, piqa" in message
    assert str(gpt4all_data / "hellaswag" / "validation.parquet") in message
    assert "activity_label, ctx_a, ctx_b, endings, label" in message and "baber/piqa" in message


def test_model_identity(tmp_path, monkeypatch, tiny_model):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path))
    converted = tmp_path / "models" / DEFAULT_MODEL
    converted.mkdir(parents=True)
    assert {model_identity(None), model_identity(DEFAULT_MODEL), model_identity(str(converted))} == {SMOLLM2_HUB_ID}
    assert model_identity(str(tiny_model)) == str(tiny_model.resolve())
    assert model_identity("org/model") == "org/model"
    assert display_name(str(tiny_model)) == tiny_model.name and display_name("org/model") == "org/model"
    assert display_name(None) == DEFAULT_MODEL


def write_adapter_config(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "peft_type": "LORA"}))
    (folder / "README.md").write_text("---\nlibrary_name: peft\n---\n# adapter\n")
    return folder


def test_adapter_for_another_base_is_refused(tmp_path, tiny_model):
    foreign = write_adapter_config(tmp_path / "foreign", "someone/other-model")
    with pytest.raises(ModelError, match="trained on base model 'someone/other-model'"):
        check_adapter_base(foreign, str(tiny_model))
    check_adapter_base(write_adapter_config(tmp_path / "ours", str(tiny_model)), str(tiny_model))
    flags = ["--model", str(tiny_model), "--adapter", str(foreign), "--tasks", "templates", "--limit", "1"]
    result = CliRunner().invoke(app, ["eval", *flags])
    assert result.exit_code == 2, result.output
    assert "someone/other-model" in result.output and "fix: pass --model someone/other-model" in result.output


def test_resolve_adapter(tmp_path, monkeypatch):
    from cookbook_hub.hub.publish import publish

    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    folder = write_adapter_config(tmp_path / "adapter", "org/base")
    assert resolve_adapter(str(folder)) == folder
    with pytest.raises(ModelError, match="no adapter_config.json"):
        resolve_adapter(str(tmp_path))
    published = publish(folder, str(tmp_path / "hub" / "me" / "adapter"))
    copy = resolve_adapter(str(tmp_path / "hub" / "me" / "adapter"))
    assert copy == tmp_path / "cache" / "adapters" / "hub" / "me" / f"adapter-{published.commit}"
    assert (copy / "adapter_config.json").read_text() == (folder / "adapter_config.json").read_text()
    (copy / "recorded.json").write_text("{}")
    assert not (resolve_adapter(str(tmp_path / "hub" / "me" / "adapter")) / "recorded.json").exists()  # fresh
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE is set"):  # the tests run offline
        resolve_adapter("hf://me/absent")


# ------------------------------------------------------------------ runs


@pytest.fixture(scope="module")
def tiny_run(tiny_model, trained_adapter, gpt4all_data, shared_data_dir, yes_no_file):
    """Every task type in one evaluation of the tiny model and its adapter (base and adapter runs)."""
    files = [str(shared_data_dir / name) for name in (ROPES, SIQA, PHYSICS)] + [str(yes_no_file)]
    tasks = ",".join(["arc_easy", "boolq", *files, "cookbook_span_qa", "cookbook_containment_mc"])
    return evaluate(
        str(tiny_model), str(trained_adapter), tasks, limit=4, data_dir=gpt4all_data, batch_size=2, log_samples=True
    )


EXPECTED_METRICS = {
    "arc_easy": {"acc", "acc_norm"},
    "boolq": {"acc"},
    "real_extractive_qa_ropes": {"exact_match", "f1", "in_passage"},
    "real_multiple_choice_social_iqa": {"acc", "acc_norm"},
    "real_choice_physical_intuition": {"acc", "acc_norm"},
    "real_yes_no_facts": {"acc", "acc_norm", "balanced_acc", "share_yes", "share_no"},
    "cookbook_span_qa": {"exact_match"},
    "cookbook_containment_mc": {"acc", "acc_norm"},
}


def metrics_of(run: dict, task: str) -> dict[str, float]:
    return {k.split(",")[0]: v for k, v in run["results"][task].items() if "," in k and "_stderr" not in k}


def test_tiny_model_runs_every_task_type(tiny_run):
    assert list(tiny_run.runs) == ["base", "adapter"] and tiny_run.batch_size == 2
    assert tiny_run.local_paths[str(tiny_run.adapter_dir)] == tiny_run.adapter_dir.name
    for run in tiny_run.runs.values():
        assert set(run["results"]) == set(EXPECTED_METRICS)
        for task, names in EXPECTED_METRICS.items():
            values = metrics_of(run, task)
            assert set(values) == names, task
            assert all(0.0 <= v <= 1.0 for v in values.values()), (task, values)
        assert run["n-samples"]["arc_easy"]["effective"] == 3 and run["n-samples"]["boolq"]["effective"] == 2
        assert run["n-samples"]["real_extractive_qa_ropes"]["effective"] == 4
        shares = metrics_of(run, "real_yes_no_facts")
        assert shares["share_yes"] + shares["share_no"] == pytest.approx(1.0)


def test_predictions_agree_with_lm_evals_metrics(tiny_run):
    run = tiny_run.runs["adapter"]
    for name, task in tiny_run.real_tasks.items():
        answers = predictions(run, task)
        gold = [e.answer for e in task.examples[:4]]
        assert len(answers) == 4
        if task.kind == "extractive":
            em = sum(exact_match(a, g) for a, g in zip(answers, gold)) / 4
            assert em == pytest.approx(metrics_of(run, name)["exact_match"])
        else:
            assert all(a in e.choices for a, e in zip(answers, task.examples))
            acc = sum(a == g for a, g in zip(answers, gold)) / 4
            assert acc == pytest.approx(metrics_of(run, name)["acc"])


def test_base_run_has_the_adapter_disabled(tiny_run):
    def loglikelihoods(label: str) -> list:
        return [s["resps"] for s in tiny_run.runs[label]["samples"]["real_multiple_choice_social_iqa"]]

    assert loglikelihoods("base") != loglikelihoods("adapter")


def test_every_gpt4all_task_runs_offline_on_local_copies(tiny_model, gpt4all_local_copies):
    evaluation = evaluate(
        str(tiny_model), tasks="gpt4all", data_dir=gpt4all_local_copies, batch_size=2, log_samples=True
    )
    run = evaluation.runs["base"]
    assert set(run["results"]) == set(GPT4ALL_TASKS)
    for task in GPT4ALL_TASKS:
        assert run["n-samples"][task]["effective"] == 2, task
        assert 0.0 <= metrics_of(run, task)["acc"] <= 1.0, task
    # the gold answers lm-eval read from the local files are the ones written there
    targets = {task: sorted(s["target"] for s in run["samples"][task]) for task in ("hellaswag", "arc_challenge")}
    assert targets == {"hellaswag": [1, 3], "arc_challenge": [1, 2]}


def test_smollm2_on_the_shared_files(shared_data_dir):
    files = ",".join(str(shared_data_dir / name) for name in (ROPES, SIQA, PHYSICS))
    evaluation = evaluate(None, tasks=files, limit=8)
    run = evaluation.runs["base"]
    ropes = metrics_of(run, "real_extractive_qa_ropes")
    assert 0.0 <= ropes["exact_match"] <= ropes["f1"] <= 1.0
    for task in ("real_multiple_choice_social_iqa", "real_choice_physical_intuition"):
        values = metrics_of(run, task)
        assert 0.0 <= values["acc"] <= 1.0 and 0.0 <= values["acc_norm"] <= 1.0
    assert evaluation.model == DEFAULT_MODEL and evaluation.batch_size == 8  # auto on CPU
    assert all(run["n-samples"][task]["effective"] == 8 for task in run["results"])


def test_real_tasks_are_prompted_in_the_adapters_training_style(tiny_run):
    assert tiny_run.style == Style("plain")  # the adapter was trained on rows of a plain recipe
    for name in ("real_extractive_qa_ropes", "real_multiple_choice_social_iqa"):
        task = tiny_run.real_tasks[name]
        for label in ("base", "adapter"):
            for sample in tiny_run.runs[label]["samples"][name]:
                assert sample["doc"]["prompt"] == prompt(task, task.examples[sample["doc_id"]], "plain")
    assert results_document(tiny_run)["style"] == {"format": "plain"}


def test_the_prompt_style_is_asked_for_trained_with_or_the_models(tiny_model, trained_adapter, tmp_path):
    from transformers import AutoTokenizer

    assert prompt_style(Style("qa", True), str(tiny_model), trained_adapter) == Style("qa", True)  # asked for
    assert prompt_style(None, str(tiny_model), trained_adapter) == Style("plain")  # what the adapter learned
    model = Path(shutil.copytree(tiny_model, tmp_path / "model"))
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    tokenizer.save_pretrained(model)
    assert prompt_style(None, str(model), None) == Style("chat")  # a base model with a chat template
    (model / "chat_template.jinja").unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(model)
    assert AutoTokenizer.from_pretrained(model).chat_template is None
    assert prompt_style(None, str(model), None) == Style("qa")  # without one: the explicit `Answer:` cue


# ------------------------------------------------------------------ lm_eval's conventions


def test_tasks_are_required_and_the_error_lists_what_can_be_given(tiny_model):
    result = CliRunner().invoke(app, ["eval", "--model", str(tiny_model)], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "--tasks is required" in text
    assert all(name in text for name in ("gpt4all", "arc_easy", "templates", "cookbook_span_qa", ".jsonl"))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--log-samples"], "--log-samples needs --out"),
        (["--gen-kwargs", "temperature"], "--gen-kwargs 'temperature': every item must be KEY=VALUE"),
        (["--num-fewshot", "-1"], "--num-fewshot must be >= 0"),
    ],
)
def test_bad_lm_eval_options_are_refused(tiny_model, flags, message):
    result = CliRunner().invoke(app, ["eval", "--model", str(tiny_model), "--tasks", "templates", *flags])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_generation_run_logs_samples_with_fewshot_and_gen_kwargs(tiny_model, shared_data_dir, tmp_path):
    from transformers import AutoTokenizer

    flags = ["--model", str(tiny_model), "--tasks", str(shared_data_dir / ROPES), "--limit", "2"]
    flags += ["--out", str(tmp_path), "--num-fewshot", "1", "--log-samples"]
    flags += ["--gen-kwargs", "max_gen_toks=3,do_sample=false"]
    result = CliRunner().invoke(app, ["eval", *flags])
    assert result.exit_code == 0, result.output
    (saved,) = (tmp_path / "eval").glob("results_*.json")
    document = json.loads(saved.read_text())
    import torch

    if not torch.cuda.is_available():
        assert document["batch_size"] == 1  # a generation-only run on CPU: one example at a time
    assert document["runs"]["base"]["config"]["gen_kwargs"] == {"max_gen_toks": 3, "do_sample": False}
    (samples_file,) = (tmp_path / "samples" / "base").glob("samples_real_extractive_qa_ropes_*.jsonl")
    samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
    assert [s["doc_id"] for s in samples] == [0, 1]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for sample in samples:
        prompt_text = sample["arguments"]["gen_args_0"]["arg_0"]
        assert prompt_text.count("Question:") == 2  # one worked example, then the question
        assert prompt_text.endswith(sample["doc"]["prompt"])
        (response,) = sample["filtered_resps"]
        assert len(tokenizer(response, add_special_tokens=False).input_ids) <= 3
        assert {"exact_match", "f1"} <= sample.keys()  # the per-example scores


def test_loglikelihood_runs_keep_the_cpu_batch(tiny_model, yes_no_file):
    import torch

    if torch.cuda.is_available():
        pytest.skip("auto is lm-eval's probe on a GPU")
    evaluation = evaluate(str(tiny_model), None, str(yes_no_file), limit=2)
    assert evaluation.batch_size == 8
