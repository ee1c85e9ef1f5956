"""Parsing and validating publish targets and version tags; targets publishing refuses (a bare NS/NAME, a
repository inside another, a file instead of a folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import CookbookError, TargetError
from cookbook_hub.hub.git import GitRepo
from cookbook_hub.hub.targets import Target, check_publish_target, check_tag, parse_target


@pytest.mark.parametrize(
    ("value", "namespace", "name", "root"),
    [
        ("hf://my-org/cookbook-gpt4all", "my-org", "cookbook-gpt4all", None),
        ("hf://user_1/data.v2", "user_1", "data.v2", None),
        ("hub/local/cookbook-gpt4all", "local", "cookbook-gpt4all", Path("hub")),
        ("/abs/path/hub/ns/name", "ns", "name", Path("/abs/path/hub")),
        ("ns/name/", "ns", "name", Path(".")),
        ("a/" + "n" * 96, "a", "n" * 96, Path(".")),
    ],
)
def test_valid_targets(value: str, namespace: str, name: str, root: Path | None) -> None:
    target = parse_target(value)
    assert (target.namespace, target.name, target.root) == (namespace, name, root)
    assert target.repo_id == f"{namespace}/{name}"
    assert target.is_hub == (root is None)


def test_target_strings_and_paths() -> None:
    assert str(parse_target("hf://ns/name")) == "hf://ns/name"
    local = parse_target("hub/ns/name")
    assert local.path == Path("hub/ns/name") and str(local) == "hub/ns/name"
    with pytest.raises(TargetError, match="is a Hub repo"):
        _ = Target("ns", "name").path


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("hf://a/b/c", "exactly two parts"),
        ("hf://name", "exactly two parts"),
        ("hf://ns/name/", "exactly two parts"),
        ("hf:///name", "namespace '' in target 'hf:///name' is empty"),
        ("hf://ns/", "name '' in target 'hf://ns/' is empty"),
        ("hf://ns/my data", "may only use letters"),
        ("hf://ns/na..me", "may not contain '--' or '..'"),
        ("hf://ns/na--me", "may not contain '--' or '..'"),
        ("hf://-ns/name", "may not start or end"),
        ("hf://ns/name.", "may not start or end"),
        ("hf://ns/" + "n" * 97, "longer than 96"),
        ("hf://ns/name.git", "not a valid repo id"),
        ("hub/../name", "may not contain '--' or '..'"),
        ("hub/local/my data", "may only use letters"),
        ("hub/lo cal/name", "may only use letters"),
        ("name", "must end in <namespace>/<name>"),
        ("", "must end in <namespace>/<name>"),
        ("s3://bucket/name", "unsupported scheme"),
    ],
)
def test_invalid_targets_name_the_value_and_the_fix(value: str, problem: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(value)
    message = str(info.value)
    assert problem in message
    assert repr(value) in message
    assert "fix: write hf://<namespace>/<name>" in message
    assert isinstance(info.value, CookbookError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("tag", ["v0.1.0", "v1.2.3", "v10.20.30", "v1.0.0-rc.1", "v2.0.0-beta"])
def test_valid_tags(tag: str) -> None:
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["0.1.0", "v1", "v1.2", "v01.2.3", "v1.2.3.4", "V1.2.3", "v1.2.3-", "latest", ""])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(TargetError, match="is not a version") as info:
        check_tag(tag)
    assert "v<major>.<minor>.<patch>" in str(info.value)


@pytest.mark.parametrize("value", ["me/name", "me/name/"])
def test_a_bare_repo_id_is_refused_as_a_publish_target(value: str) -> None:
    with pytest.raises(TargetError) as info:
        check_publish_target(value)
    message = str(info.value)
    assert repr(value) in message and "hf://me/name" in message and "hub/me/name" in message


@pytest.mark.parametrize("value", ["hf://me/name", "hub/me/name", "./me/name", "/abs/me/name", "../me/name"])
def test_other_publish_targets_pass(value: str) -> None:
    check_publish_target(value)


def test_a_card_names_a_local_target_without_its_absolute_path() -> None:
    assert parse_target("hub/me/name").shown == "hub/me/name"
    assert parse_target("/home/someone/work/hub/me/name").shown == "hub/me/name"
    assert parse_target("hf://me/name").shown == "hf://me/name"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A folder as `cookbook-hub build` leaves it (the parts publishing reads)."""
    folder = tmp_path / "data"
    (folder / "c").mkdir(parents=True)
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: c\n  data_files: c/*.csv\n---\n# data\n")
    (folder / "c" / "train.csv").write_text("a\n1\n")
    return folder


def publish_cli(folder: Path, to: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """`cookbook-hub publish FOLDER --to TO` run in `cwd`: exit code and output on one line."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, ["publish", str(folder), "--to", to], env={"COLUMNS": "300"})
    return result.exit_code, " ".join(result.output.split())


def test_publish_refuses_a_bare_repo_id_and_writes_nothing(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    code, message = publish_cli(dataset, "me/name", tmp_path, monkeypatch)
    assert code == 2 and "hf://me/name" in message and "hub/me/name" in message
    assert not (tmp_path / "me").exists()


def test_publish_of_a_file_says_it_is_not_a_folder(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    code, message = publish_cli(dataset / "c" / "train.csv", "hub/me/name", tmp_path, monkeypatch)
    assert code == 2 and "is a file, not a folder" in message and "does not exist" not in message


def test_publish_into_another_hub_repository_is_refused(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    assert publish_cli(dataset, "hub/me/tiny", tmp_path, monkeypatch)[0] == 0
    before = GitRepo(tmp_path / "hub" / "me" / "tiny").head()
    code, message = publish_cli(dataset, "hub/me/tiny/c/x", tmp_path, monkeypatch)
    assert code == 2 and "inside the local hub repository" in message and "tiny" in message
    assert not (tmp_path / "hub" / "me" / "tiny" / "c" / "x").exists()
    assert GitRepo(tmp_path / "hub" / "me" / "tiny").head() == before
    assert subprocess.run(["git", "-C", "hub/me/tiny", "status", "--porcelain"], capture_output=True).stdout == b""


def test_a_hub_folder_inside_a_project_repository_is_allowed(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "-c", "user.name=me", "-c", "user.email=me@x", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)  # fmt: skip
    assert publish_cli(dataset, "hub/me/data", project, monkeypatch)[0] == 0
