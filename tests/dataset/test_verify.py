"""Verifying built folders: every shard against the manifest (exists, rows, sha256), the card's `configs:`
against the files, and a front matter that is a small plain mapping; publish refuses a folder that fails,
with one line naming the file, before anything is written."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.verify import front_matter, verify_folder
from cookbook_hub.errors import IntegrityError
from cookbook_hub.folders import DatasetFolder

VALIDATION = "gpt4all/validation-00000-of-00001.parquet"
TEST = "gpt4all/test-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "gpt4all"
    build("gpt4all@0.1.0", out, n=500, progress=False, finish=write_dataset_card)  # validation: 10 rows
    return out


@pytest.fixture
def folder(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data" / "gpt4all"
    shutil.copytree(built, copy)
    return copy


def edit_manifest(folder: Path, edit) -> None:
    manifest = DatasetFolder(folder).manifest()
    edit(manifest["configs"]["gpt4all"]["splits"]["validation"])
    DatasetFolder(folder).write_manifest(manifest)


def test_a_fresh_build_verifies(built: Path) -> None:
    verify_folder(built)
    shards = DatasetFolder(built).manifest()["configs"]["gpt4all"]["splits"]["validation"]["shards"]
    assert [s["file"] for s in shards] == [VALIDATION] and shards[0]["num_examples"] == 10
    assert len(shards[0]["sha256"]) == 64


def truncate(folder: Path) -> str:
    path = folder / VALIDATION
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return f"{VALIDATION} is not a readable Parquet file"


def delete(folder: Path) -> str:
    (folder / VALIDATION).unlink()
    return f"configs.gpt4all.splits.validation.files entry {VALIDATION!r} names a file that does not exist"


def foreign(folder: Path) -> str:
    shutil.copyfile(folder / TEST, folder / VALIDATION)  # a real shard with the same row count, other rows
    return f"{VALIDATION} does not have the content the manifest records"


def wrong_rows(folder: Path) -> str:
    def edit(split: dict) -> None:
        split["num_examples"] = 11
        split["shards"][0]["num_examples"] = 11

    edit_manifest(folder, edit)
    return f"{VALIDATION} has 10 rows, the manifest records 11"


def wrong_total(folder: Path) -> str:
    edit_manifest(folder, lambda split: split.update(num_examples=12))
    return "configs.gpt4all.splits.validation.num_examples is 12, its files hold 10 rows"


def unlisted(folder: Path) -> str:
    pq.write_table(pq.read_table(folder / VALIDATION), folder / "gpt4all/validation-extra.parquet")
    return "gpt4all/validation-extra.parquet is loaded by the card's configs"


@pytest.mark.parametrize("damage", [truncate, delete, foreign, wrong_rows, wrong_total, unlisted])
def test_publish_refuses_a_folder_that_does_not_match_its_manifest(folder: Path, tmp_path: Path, damage) -> None:
    problem = damage(folder)
    with pytest.raises(IntegrityError) as info:
        verify_folder(folder)
    assert problem in str(info.value)
    repo = tmp_path / "hub" / "me" / "gpt4all"
    result = CliRunner().invoke(app, ["publish", str(folder), "--to", str(repo), "--tag", "v0.1.0"])
    assert result.exit_code == 2
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: ") and problem in first
    assert all(line.startswith("  fix: ") for line in rest) and "Traceback" not in result.stderr
    assert not repo.exists()


def test_publish_of_a_corrupt_new_version_commits_nothing(folder: Path, tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "me" / "gpt4all"
    assert CliRunner().invoke(app, ["publish", str(folder), "--to", str(repo), "--tag", "v0.1.0"]).exit_code == 0
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    foreign(folder)
    result = CliRunner().invoke(app, ["publish", str(folder), "--to", str(repo), "--tag", "v0.2.0"])
    assert result.exit_code == 2 and VALIDATION in result.stderr
    after = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    tags = subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True).stdout.split()
    assert after == head and tags == ["v0.1.0"]


def test_a_manifest_without_shard_records_is_checked_by_rows(folder: Path) -> None:
    def drop(split: dict) -> None:
        del split["shards"]

    edit_manifest(folder, drop)
    verify_folder(folder)  # folders built before shards were recorded still verify
    edit_manifest(folder, lambda split: split.update(num_examples=9))
    with pytest.raises(IntegrityError, match="num_examples is 9, its files hold 10 rows"):
        verify_folder(folder)


@pytest.mark.parametrize("manifest", [{}, {"configs": {"gpt4all": {}}}, {"configs": {"c": {"splits": {"train": 1}}}}])
def test_a_manifest_of_the_wrong_shape_is_refused(folder: Path, manifest: dict) -> None:
    (folder / DatasetFolder.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="lists no configs|lists no splits|needs `num_examples`"):
        verify_folder(folder)


BOMB = "".join(f"{n}: &{n} [{', '.join([f'*{p}' if p else 'x'] * 10)}]\n" for p, n in zip(["", *"abcdefg"], "abcdefgh"))


@pytest.mark.parametrize(
    ("front", "problem"),
    [
        (BOMB, "expands to more than 100,000 values"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than 32"),
        ("- a\n- b\n", "front matter is a list, not a mapping"),
        ("configs: [unclosed\n", "front matter: not valid YAML"),
        ("configs:\n- config_name: default\n", "configs[0] has no data files"),
        (
            "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: nothere/*.parquet\n",
            "configs data_files 'nothere/*.parquet' matches no file in the folder",
        ),
        (
            "configs:\n- config_name: default\n  data_files: ../*/gpt4all/*.parquet\n",
            "configs data_files '../*/gpt4all/*.parquet' matches no file in the folder",
        ),
    ],
)
def test_card_front_matter_that_is_not_a_small_plain_mapping_is_refused(
    folder: Path, tmp_path: Path, front: str, problem: str
) -> None:
    (folder / "README.md").write_text(f"---\n{front}---\n# card\n", encoding="utf-8")
    with pytest.raises(IntegrityError, match="README.md: ") as info:
        verify_folder(folder)
    assert problem in str(info.value)


def test_a_foreign_dataset_without_manifest_gets_the_card_checks_only(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), folder / "data" / "train-00000-of-00001.parquet")
    card = (
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n---\n"
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    verify_folder(folder)
    (folder / "data" / "train-00000-of-00001.parquet").unlink()
    with pytest.raises(IntegrityError, match="'data/train-\\*.parquet' matches no file"):
        verify_folder(folder)
    (tmp_path / "plain.md").write_text("# no front matter\n", encoding="utf-8")
    assert front_matter(tmp_path / "plain.md") == {}
