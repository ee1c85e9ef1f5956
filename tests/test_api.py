"""The flat Python API: `import cookbook_hub as cb` gives every stage's main function, imported on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import write_recipe

import cookbook_hub as cb
from cookbook_hub.templates import get_template

pytest_plugins = ["tiny_models", "eval_fixtures"]
REPO_ROOT = Path(__file__).resolve().parents[1]
NAMES = [
    "get_template", "build", "build_ray", "write_dataset_card", "publish", "pull", "train", "evaluate", "align",
    "TrainConfig",
]  # fmt: skip


def test_import_and_attribute_access_stay_torch_free():
    code = (
        "import sys, cookbook_hub as cb\n"
        f"for name in {NAMES!r}: getattr(cb, name)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'lm_eval', 'peft', 'trl') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="has no attribute 'trian'"):
        cb.trian  # noqa: B018
    assert set(NAMES) <= set(dir(cb))


def test_the_flat_api_is_the_stages_functions(tmp_path: Path, monkeypatch, tiny_llama: Path):
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    assert cb.get_template is get_template and cb.get_template("copy").sample(0, 0) == get_template("copy").sample(0, 0)
    built = cb.build(str(write_recipe(tmp_path, size=32)), tmp_path / "data", finish=cb.write_dataset_card).path
    hub = tmp_path / "hub" / "me" / "tiny"
    assert cb.publish(built, str(hub), tag="v0.1.0").tag == "v0.1.0"
    pulled = cb.pull(str(hub), out=tmp_path / "pulled")
    config = cb.TrainConfig(
        data=str(pulled), model=str(tiny_llama), out=str(tmp_path / "adapter"), steps=1, batch_size=2, max_length=64
    )
    result = cb.train(config)  # the subpackage, called
    assert result.metrics["global_step"] == 1 and (tmp_path / "adapter" / "adapter_config.json").is_file()
    import cookbook_hub.train.trainer  # noqa: F401 - binds the subpackage to cb.train, which stays callable

    assert callable(cb.train) and cb.train.__name__ == "cookbook_hub.train"


def test_evaluate_and_align_through_the_flat_api(tiny_model: Path, yes_no_file: Path):
    evaluation = cb.evaluate(str(tiny_model), None, str(yes_no_file), limit=2)
    assert evaluation.runs["base"]["results"]["real_yes_no_facts"]["acc,none"] is not None
    alignment = cb.align(yes_no_file, "containment", str(tiny_model), limit=2)
    assert alignment.report["examples"] == 2 and alignment.report["template"] == "containment"
