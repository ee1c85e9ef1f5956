"""Model cards: valid metadata, the facts of the run, and re-rendering from the adapter folder with extra sections."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import EvalResult, ModelCard

from cookbook_hub.errors import ParameterError
from cookbook_hub.model_card import TAGS, CardSection, render_model_card, write_model_card
from cookbook_hub.publisher import publish
from cookbook_hub.trainer import TRAINING_ARGS, TrainConfig, train

pytest_plugins = ["tiny_models"]
pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory, copy_data: Path, tiny_llama: Path) -> Iterator[Path]:
    """A tiny adapter trained for 3 steps on the copy data published to (and pulled from) a local hub folder."""
    root = tmp_path_factory.mktemp("card")
    hub = root / "hub" / "local" / "tiny-copy"
    publish(copy_data, str(hub), tag="v0.1.0")
    config = TrainConfig(
        data=f"{hub}@v0.1.0",
        model=str(tiny_llama),
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
        "base_model": "tiny-llama0",
        "library_name": "peft",
        "datasets": ["local/tiny-copy"],
        "license": "apache-2.0",
        "tags": TAGS,
        "pipeline_tag": "text-generation",
    }


def test_card_states_the_facts_of_the_run(adapter: Path, tiny_llama: Path):
    text = (adapter / "README.md").read_text()
    for fact in [
        "| repository | `local/tiny-copy` |",  # training data: repo, revision, recipe version
        "| revision | `v0.1.0` (commit ",
        "| recipe | `tiny-copy` version 0.1.0, content hash ",
        "| rank `r` | 4 |",  # LoRA and training hyperparameters
        "| alpha | 8 |",
        "| learning rate | 0.001 (linear schedule) |",
        "| steps | 3 |",
        "| hardware | 1 × ",  # hardware and wall time
        "| wall time | ",
        "![training loss](loss.png)",
        "## Intended use and limitations",
        f'PeftModel.from_pretrained(base, "{adapter}")',  # how to load it
        f'AutoModelForCausalLM.from_pretrained("{tiny_llama}")',  # a local base: by its path
    ]:
        assert fact in text, fact
    for framework in ("torch", "transformers", "peft", "trl", "datasets", "cookbook-hub"):
        assert f"\n- {framework} " in text
    assert (adapter / "loss.png").stat().st_size > 0


def test_rerendering_is_stable_and_takes_extra_sections(adapter: Path, tmp_path: Path):
    folder = Path(shutil.copytree(adapter, tmp_path / "copy"))
    assert str(render_model_card(folder)) == (adapter / "README.md").read_text()
    results = [
        EvalResult(
            task_type="text-generation",
            dataset_type="cookbook",
            dataset_name="copy",
            metric_type="acc",
            metric_value=0.5,
        )
    ]
    path = write_model_card(
        folder,
        repo_id="me/tiny-adapter",
        extra_sections=[CardSection("Evaluation", "| task | acc |\n| --- | --- |\n| copy | 0.50 |")],
        metadata={"eval_results": results, "model_name": "me/tiny-adapter"},
    )
    card = ModelCard.load(path)
    assert card.data.eval_results[0].metric_value == 0.5 and card.data.base_model == "tiny-llama0"
    assert "## Evaluation\n\n| task | acc |" in card.text
    assert 'PeftModel.from_pretrained(base, "me/tiny-adapter")' in card.text
    assert card.text.index("## Evaluation") < card.text.index("## Intended use")


def test_a_folder_without_training_args_is_refused(adapter: Path, tmp_path: Path):
    folder = Path(shutil.copytree(adapter, tmp_path / "copy"))
    (folder / TRAINING_ARGS).unlink()
    with pytest.raises(ParameterError, match="not an adapter folder written by `cookbook-hub train`"):
        render_model_card(folder)
