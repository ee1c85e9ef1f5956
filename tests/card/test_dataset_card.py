"""Dataset cards: valid Hub metadata and a body that documents the data (statement, rules, targets,
examples, recipe and weights chart, token space, sizes, hash, load snippet, license, citation);
`cookbook-hub card` re-renders identically and refuses folders that are not builds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from cookbook_hub._dataset_scripts.cookbook_templates import CITATION
from huggingface_hub import DatasetCard
from PIL import Image

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.builder import build
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.recipes.schema import load_recipe
from cookbook_hub.templates import REGISTRY, template_names
from cookbook_hub.tokens.space import resolve_token_space

N = 600  # gpt4all: 576 / 12 / 12
SPLIT_ROWS = {"train": 576, "validation": 12, "test": 12}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=300,
    )


def template_section(body: str, name: str) -> str:
    """The `### name` section of the card body, up to the next heading."""
    match = re.search(rf"^### `{name}` \(version \d+\)\n(.*?)(?=^##)", body + "\n## end", flags=re.M | re.S)
    assert match, f"no section for template {name}"
    return match.group(1)


def first_rows(folder: Path, config: str, template: str, k: int = 2) -> list[dict]:
    files = sorted((folder / config).glob("train-*.parquet"))
    table = pa.concat_tables(pq.read_table(f) for f in files)
    return [row for row in table.to_pylist() if row["template"] == template][:k]


@pytest.fixture(scope="module")
def gpt4all(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cards") / "gpt4all"
    build("gpt4all@0.1.0", out, n=N, progress=False, finish=write_dataset_card)
    write_dataset_card(out, repo_id="org/name")
    return out


@pytest.fixture(scope="module")
def card(gpt4all: Path) -> DatasetCard:
    return DatasetCard.load(gpt4all / "README.md")


# --- metadata ----------------------------------------------------------------------------------
def test_card_metadata(card: DatasetCard, gpt4all: Path) -> None:
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0"
    assert "synthetic" in data["tags"]
    assert data["size_categories"] == ["n<1K"]
    (config,) = data["configs"]
    assert config["config_name"] == "gpt4all"
    assert config["data_files"] == [{"split": s, "path": f"gpt4all/{s}-*.parquet"} for s in SPLIT_ROWS]
    info = data["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == SPLIT_ROWS
    assert [f["name"] for f in info["features"]] == pq.read_schema(
        gpt4all / "gpt4all/train-00000-of-00001.parquet"
    ).names


# --- body --------------------------------------------------------------------------------------
def test_no_human_or_llm_text_statement(card: DatasetCard) -> None:
    assert "**No human- or LLM-written text is inside.**" in card.text
    assert "Python template" in card.text


def test_each_template_has_rule_target_and_two_examples(card: DatasetCard, gpt4all: Path) -> None:
    for entry in load_recipe("gpt4all@0.1.0").templates:
        cls = REGISTRY[entry.template]
        section = template_section(card.text, entry.template)
        assert f"- **Rule:** {cls.summary}." in section
        assert f"- **Targets:** {cls.target_task}." in section
        examples = re.findall(r"<summary>example (\d) \(index (\d+)\)</summary>\n\n```text\n(.*?)\n```", section, re.S)
        rows = first_rows(gpt4all, "gpt4all", entry.template)
        assert len(examples) == len(rows) == 2
        for (number, index, text), row, k in zip(examples, rows, (1, 2)):
            assert int(number) == k
            assert int(index) == row["index"]
            assert text == row["prompt"] + row["completion"]


def test_recipe_section_and_weights_table(card: DatasetCard, gpt4all: Path) -> None:
    recipe = load_recipe("gpt4all@0.1.0")
    body = card.text
    assert f"## Recipe `gpt4all` {recipe.version}" in body
    manifest = DatasetFolder(gpt4all).manifest()["configs"]["gpt4all"]
    totals = dict.fromkeys(SPLIT_ROWS, 0)
    for t in manifest["templates"]:
        rows = " / ".join(f"{t['rows'][s]:,}" for s in SPLIT_ROWS)
        params = json.dumps(REGISTRY[t["template"]]().params_dict(), sort_keys=True, separators=(", ", ": "))
        line = f"| `{t['template']}` v1 | {recipe.weights[t['template']]:.3f} | {rows} | `{params}` |"
        assert line in body
        for s in SPLIT_ROWS:
            totals[s] += t["rows"][s]
    assert totals == SPLIT_ROWS
    assert "| `overlap_choice` v1 | 0.250 |" in body
    # the recipe YAML shown in the card is the recipe that was built
    shown = re.search(r"```yaml\n(.*?)```", body, re.S).group(1)
    assert yaml.safe_load(shown) == recipe.model_copy(update={"size": N}).model_dump(mode="json")


def test_weights_chart_is_linked_and_is_a_png(card: DatasetCard, gpt4all: Path) -> None:
    assert "![weights of gpt4all](images/gpt4all-weights.png)" in card.text
    png = gpt4all / "images" / "gpt4all-weights.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > 100 and height > 100
        assert len(image.convert("L").getcolors(maxcolors=1 << 16)) > 2  # something is drawn


def test_token_space_is_identified(card: DatasetCard) -> None:
    identity = resolve_token_space("default").identity
    assert f"token space `{identity.name}`: {identity.size:,} word-like tokens" in card.text
    assert f"sha256 `{identity.sha256}`" in card.text
    assert identity.size > 1000 and "," in f"{identity.size:,}"


def test_sizes_and_content_hash(card: DatasetCard, gpt4all: Path) -> None:
    content_hash = load_recipe("gpt4all@0.1.0").model_copy(update={"size": N}).content_hash
    assert DatasetFolder(gpt4all).manifest()["configs"]["gpt4all"]["content_hash"] == content_hash
    assert f"| `gpt4all` | 0.1.0 | 576 | 12 | 12 | `{content_hash[:16]}` |" in card.text


def test_load_snippet_uses_the_repo_id(card: DatasetCard) -> None:
    assert 'ds = load_dataset("org/name", "gpt4all", revision="v0.1.0")' in card.text
    assert "your-namespace/your-dataset" not in card.text


def test_license_and_citation(card: DatasetCard) -> None:
    assert "released under the Apache-2.0 license" in card.text
    assert CITATION in card.text
    assert "@inproceedings{narayan2024cookbook," in card.text
    assert "Narayan et al., COLM 2024" in card.text


# --- re-rendering ------------------------------------------------------------------------------
def test_card_command_is_idempotent(tmp_path: Path) -> None:
    out = tmp_path / "doc"
    result = cli("build", "doc-qa@0.1.0", "-n", "200", "--out", str(out), "--repo-id", "acme/cookbook-doc-qa", "-q")
    assert result.returncode == 0, result.stderr
    readme = (out / "README.md").read_bytes()
    chart = (out / "images" / "doc-qa-weights.png").read_bytes()
    assert b'ds = load_dataset("acme/cookbook-doc-qa", "doc-qa", revision="v0.1.0")' in readme
    result = cli("card", str(out))  # the repo id given to `build` is remembered
    assert result.returncode == 0, result.stderr
    assert "README.md" in result.stdout
    assert (out / "README.md").read_bytes() == readme
    assert (out / "images" / "doc-qa-weights.png").read_bytes() == chart


def test_card_command_with_repo_id(tmp_path: Path) -> None:
    out = tmp_path / "doc"
    build("doc-qa@0.1.0", out, n=200, progress=False, finish=write_dataset_card)
    plain = (out / "README.md").read_text(encoding="utf-8")
    assert 'load_dataset("your-namespace/your-dataset", "doc-qa", revision="v0.1.0")' in plain
    write_dataset_card(out)
    assert (out / "README.md").read_text(encoding="utf-8") == plain
    result = cli("card", str(out), "--repo-id", "org/name")
    assert result.returncode == 0, result.stderr
    with_id = (out / "README.md").read_text(encoding="utf-8")
    assert 'ds = load_dataset("org/name", "doc-qa", revision="v0.1.0")' in with_id
    assert with_id.replace("org/name", "your-namespace/your-dataset") == plain
    assert DatasetFolder(out).manifest()["repo_id"] == "org/name"
    write_dataset_card(out)  # a later render without a repo id keeps it
    assert (out / "README.md").read_text(encoding="utf-8") == with_id


def test_card_renders_from_the_folder_alone(gpt4all: Path, tmp_path: Path) -> None:
    copy = tmp_path / "moved"
    shutil.copytree(gpt4all, copy)
    (copy / "README.md").unlink()
    shutil.rmtree(copy / "images")
    write_dataset_card(copy)
    assert (copy / "README.md").read_bytes() == (gpt4all / "README.md").read_bytes()
    chart = "images/gpt4all-weights.png"
    assert (copy / chart).read_bytes() == (gpt4all / chart).read_bytes()


# --- refusals ----------------------------------------------------------------------------------
def test_card_on_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n", encoding="utf-8")
    result = cli("card", str(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"'{folder}' is not a built dataset: no {DatasetFolder.MANIFEST}" in result.stderr
    assert "cookbook-hub build" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_card_on_a_file_or_a_broken_manifest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cookbook_hub.cli.app import app

    a_file = tmp_path / "data.parquet"
    a_file.write_bytes(b"PAR1")
    result = CliRunner().invoke(app, ["card", str(a_file)])
    assert result.exit_code == 2, result.exception
    assert "is not a built dataset" in result.stderr

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / DatasetFolder.MANIFEST).write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["card", str(broken)])
    assert result.exit_code == 2, result.exception
    assert "not a valid build manifest" in result.stderr
    assert "--overwrite" in result.stderr
    assert not (broken / "README.md").exists()


# --- other builds ------------------------------------------------------------------------------
def test_template_set_card(tmp_path: Path) -> None:
    out = tmp_path / "set"
    build("templates", out, n=30, progress=False, finish=write_dataset_card)
    card = DatasetCard.load(out / "README.md")
    body = card.text
    names = template_names()
    assert f"{len(names)} Cookbook templates, one config each." in body
    assert "## Recipe" not in body  # one-template configs have no recipe section or chart
    assert not (out / "images").exists()
    assert f"All {len(names)} configs: " in body
    for name in names:
        section = template_section(body, name)
        assert f"- **Rule:** {REGISTRY[name].summary}." in section
        assert f"- **Targets:** {REGISTRY[name].target_task}." in section
        assert section.count("<summary>example") == 2
        assert f"| `{name}` | " in body
    assert sorted(c["config_name"] for c in card.data.to_dict()["configs"]) == sorted(names)


def test_chat_format_card(tmp_path: Path) -> None:
    recipe = {
        "name": "chatty",
        "version": "2.0.1",
        "templates": [{"template": "copy", "weight": 1}, {"template": "sort", "weight": 3}],
        "size": 80,
        "format": "chat",
        "splits": {"train": 0.9, "test": 0.1},
    }
    path = tmp_path / "chatty.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    build(str(path), tmp_path / "out", progress=False, finish=write_dataset_card)
    body = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "| `messages` |" in body and "| `prompt` |" not in body
    assert "## Recipe `chatty` 2.0.1" in body
    assert "| `sort` v1 | 0.750 | 54 / 6 |" in body
    assert "| config | version | train | test | content hash |" in body
    assert template_section(body, "copy").count("<assistant>") == 2
