"""Paths that must stay where they belong: a pulled version's files inside `--out` (and the cache), a published
folder's own files only, a card's Parquet files inside its folder, no local path in a card or published manifest,
and a `--repo-id` that is a Hub repo id."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import ENDPOINT, FakeHub, seed_repo
from huggingface_hub import constants
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.dataset.builder import build
from cookbook_hub.errors import CookbookError, PublishError
from cookbook_hub.eval.runner import resolve_adapter
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.pull import fetch, pull
from cookbook_hub.hub.targets import path_problem
from cookbook_hub.tokens.space import default_token_space, resolve_token_space
from cookbook_hub.train.data import load_training_data

CARD = "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n---\n"
ROWS = [{"prompt": "1 2 3", "completion": "3 2 1"}]
TOKEN = "hf_PathsTestToken0123456789abcdef"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `cookbook-hub ARGS` as a real process in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COOKBOOK_HUB_CACHE": str(cwd / "cache")},
        timeout=120,
    )


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in `repo` and return its output, stripped."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout.strip()


def make_dataset(folder: Path) -> Path:
    """A minimal Hub-layout dataset folder: one Parquet shard and a card with `configs:`."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "data" / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    return folder


def files_under(root: Path) -> list[str]:
    """Every file (or link) under `root`, outside `.git` folders, by relative path."""
    if not root.exists():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if (p.is_file() or p.is_symlink()) and ".git" not in p.relative_to(root).parts
    )


# ------------------------------------------------------------------ the rule


@pytest.mark.parametrize("path", ["README.md", "data/train-00000-of-00001.parquet", ".gitattributes", "a.b/..c/d"])
def test_plain_relative_paths_are_accepted(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../escaped.txt", "'..'"),
        ("data/../../escaped.txt", "'..'"),
        ("data\\..\\..\\escaped.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/x", "absolute"),
        (".git/hooks/post-checkout", "'.git'"),
        ("data/.GIT/config", "'.git'"),
        ("data//x", "plain relative"),
        ("./x", "plain relative"),
        ("", "plain relative"),
    ],
)
def test_paths_that_leave_the_folder_are_refused(path: str, problem: str) -> None:
    assert problem in path_problem(path)


# ------------------------------------------------------------------ pulling a local hub repository


def git_tree(repo: Path, entries: dict) -> str:
    """Write a tree with git's plumbing (`hash-object`, `mktree`): text becomes a blob, a dict a subtree; names are
    written as given, `..` and `.git` included."""
    lines = []
    for name, content in entries.items():
        if isinstance(content, str):
            lines.append(f"100644 blob {git(repo, 'hash-object', '-w', '--stdin', stdin=content)}\t{name}\n")
        else:
            lines.append(f"040000 tree {git_tree(repo, content)}\t{name}\n")
    return git(repo, "mktree", stdin="".join(lines))


EVIL_TREES = {
    "dotdot": ({"..": {"escaped.txt": "escaped\n"}}, "../escaped.txt"),
    "nested-dotdot": ({"data": {"..": {"..": {"escaped.txt": "escaped\n"}}}}, "data/../../escaped.txt"),
    "dot-git": ({".git": {"hooks": {"post-checkout": "#!/bin/sh\n"}}}, ".git/hooks/post-checkout"),
}


def evil_repo(root: Path, entries: dict) -> Path:
    """A local hub repository `root/evil/repo`: v0.1.0 published as usual, then v0.2.0 a commit made with git's
    plumbing whose tree holds `entries` besides the card (names git's porcelain would never write)."""
    repo = root / "evil" / "repo"
    publish(make_dataset(root.parent / "honest"), str(repo), tag="v0.1.0")
    commit = git(repo, "commit-tree", git_tree(repo, {"README.md": CARD, **entries}), "-p", "HEAD", "-m", "evil")
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "tag", "v0.2.0", commit)
    return repo


def test_cli_pull_refuses_a_tree_that_climbs_out_of_out(tmp_path: Path) -> None:
    evil_repo(tmp_path / "hub", EVIL_TREES["dotdot"][0])
    result = cli(tmp_path, "pull", "hub/evil/repo", "--revision", "v0.2.0", "--out", "work/pulled")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "hub/evil/repo at v0.2.0 holds the file '../escaped.txt'" in result.stderr
    assert "nothing was written" in result.stderr and "fix: pull another revision" in result.stderr
    assert not (tmp_path / "work").exists()
    assert "escaped.txt" not in " ".join(files_under(tmp_path))
    honest = cli(tmp_path, "pull", "hub/evil/repo", "--revision", "v0.1.0", "--out", "work/pulled")
    assert honest.returncode == 0, honest.stderr
    assert files_under(tmp_path / "work") == ["pulled/README.md", "pulled/data/train-00000-of-00001.parquet"]


@pytest.mark.parametrize("case", EVIL_TREES)
def test_pull_and_fetch_check_every_path_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    entries, path = EVIL_TREES[case]
    repo = evil_repo(tmp_path / "hub", entries)
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    spec = f"{repo}@v0.2.0"
    attempts = [
        lambda: pull(str(repo), "v0.2.0", tmp_path / "work" / "pulled"),
        lambda: fetch(spec),
        lambda: load_training_data(spec),  # train --data
        lambda: resolve_adapter(spec),  # eval --adapter
    ]
    for attempt in attempts:
        with pytest.raises(PublishError, match="nothing was written") as info:
            attempt()
        assert f"{repo} at v0.2.0 holds the file {path!r}" in str(info.value)
    assert not (tmp_path / "work").exists()
    assert files_under(tmp_path / "cache") == []
    assert "escaped.txt" not in " ".join(files_under(tmp_path))
    assert files_under(repo) == ["README.md", "data/train-00000-of-00001.parquet"]  # the repo's own checkout


# ------------------------------------------------------------------ pulling from the Hub


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The fake Hub at HF_ENDPOINT, HF_TOKEN writing namespace `alice`; online for this test only."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("COOKBOOK_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    fake = FakeHub({TOKEN: ["alice"]})
    with fake.installed():
        yield fake
    assert fake.unexpected == []


@pytest.mark.parametrize("path", ["../escaped.txt", "data/../../escaped.txt", "/tmp/escaped.txt", ".git/config"])
def test_hub_pull_and_fetch_check_the_listing_before_downloading(hub: FakeHub, tmp_path: Path, path: str) -> None:
    seed_repo(hub, "alice/evil", {"README.md": CARD.encode(), path: b"escaped\n"}, tag="v0.2.0")
    for attempt in (
        lambda: pull("hf://alice/evil", "v0.2.0", tmp_path / "work" / "pulled"),
        lambda: fetch("hf://alice/evil@v0.2.0"),
    ):
        with pytest.raises(PublishError, match="nothing was written") as info:
            attempt()
        assert f"hf://alice/evil at v0.2.0 holds the file {path!r}" in str(info.value)
    assert not any("/resolve/" in request.url.path for request in hub.requests)  # no file was downloaded
    assert files_under(tmp_path / "work") == [] and files_under(tmp_path / "cache") == []


def test_hub_pull_of_plain_paths_still_works(hub: FakeHub, tmp_path: Path) -> None:
    seed_repo(hub, "alice/plain", {"README.md": CARD.encode(), "data/x.txt": b"x\n"}, tag="v0.1.0")
    assert files_under(pull("hf://alice/plain", "v0.1.0", tmp_path / "out")) == ["README.md", "data/x.txt"]


# ------------------------------------------------------------------ publishing a folder with links


def link_file(folder: Path, outside: Path) -> str:
    """A link in the folder to a file outside it."""
    (folder / "data" / "hostname").symlink_to(outside)
    return "data/hostname"


def link_folder(folder: Path, outside: Path) -> str:
    """A link in the folder to a folder outside it."""
    (folder / "extra").symlink_to(outside.parent, target_is_directory=True)
    return "extra"


@pytest.mark.parametrize("make_link", [link_file, link_folder])
def test_publish_refuses_links_and_changes_nothing(tmp_path: Path, make_link) -> None:
    outside = tmp_path / "private" / "hostname"
    outside.parent.mkdir()
    outside.write_text("private-host\n")
    folder = make_dataset(tmp_path / "data" / "x")
    repo = tmp_path / "hub" / "me" / "ds"
    published = publish(folder, str(repo), tag="v0.1.0")
    rel = make_link(folder, outside)
    for target in (str(repo), str(tmp_path / "hub" / "me" / "new")):
        for dry_run in (True, False):
            with pytest.raises(PublishError, match="is a symbolic link") as info:
                publish(folder, target, tag="v0.2.0", dry_run=dry_run)
            assert repr(rel) in str(info.value) and "nothing was published" in str(info.value)
    assert git(repo, "rev-parse", "HEAD") == published.commit and git(repo, "tag", "--list") == "v0.1.0"
    assert git(repo, "status", "--porcelain") == ""
    assert not (tmp_path / "hub" / "me" / "new").exists()


def test_cli_publish_refuses_a_link(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / "data" / "x")
    (tmp_path / "secret.txt").write_text("private-host\n")
    (folder / "data" / "hostname").symlink_to(tmp_path / "secret.txt")
    result = cli(tmp_path, "publish", "data/x", "--to", "hub/me/sym")
    assert result.returncode == 2, result.stderr
    assert "'data/hostname' in 'data/x' is a symbolic link" in result.stderr
    assert "fix: replace the link with a copy" in result.stderr
    assert not (tmp_path / "hub").exists()


def test_hub_publish_refuses_a_link_before_any_request(hub: FakeHub, tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / "data" / "x")
    (folder / "data" / "hostname").symlink_to("/etc/hostname")
    with pytest.raises(PublishError, match="'data/hostname' .* is a symbolic link"):
        publish(folder, "hf://alice/sym")
    assert hub.requests == []


# ------------------------------------------------------------------ built folders: files, token spaces, repo ids


def write_recipe(folder: Path, token_space: str = "default") -> Path:
    """A one-template recipe of 20 rows, `folder/tiny.yaml`."""
    recipe = folder / "tiny.yaml"
    recipe.write_text(
        f"name: tiny\nversion: 0.1.0\ntoken_space: {json.dumps(token_space)}\n"
        "templates: [{template: copy, weight: 1, params: {min_len: 2, max_len: 4}}]\nsize: 20\n",
        encoding="utf-8",
    )
    return recipe


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny recipe built once (tests work on copies)."""
    root = tmp_path_factory.mktemp("built")
    return build(str(write_recipe(root)), root / "tiny", progress=False, finish=write_dataset_card).path


def manifest_files(folder: Path, files: list[str]) -> None:
    """Point the train split of the build manifest at `files`."""
    manifest = DatasetFolder(folder).manifest()
    manifest["configs"]["tiny"]["splits"]["train"]["files"] = files
    DatasetFolder(folder).write_manifest(manifest)


@pytest.mark.parametrize("entry", ["../../outside/other.parquet", "ABSOLUTE", "tiny/link.parquet"])
def test_card_refuses_manifest_files_outside_the_folder(built: Path, tmp_path: Path, entry: str) -> None:
    folder = tmp_path / "data" / "x"
    shutil.copytree(built, folder)
    outside = tmp_path / "outside" / "other.parquet"
    outside.parent.mkdir()
    pq.write_table(pq.read_table(folder / "tiny" / "train-00000-of-00001.parquet").slice(0, 2), outside)
    (folder / "tiny" / "link.parquet").symlink_to(outside)
    entry = str(outside) if entry == "ABSOLUTE" else entry
    manifest_files(folder, [entry])
    before = {rel: (folder / rel).read_bytes() for rel in ("README.md", DatasetFolder.MANIFEST)}
    with pytest.raises(CookbookError, match="points outside the folder") as info:
        write_dataset_card(folder)
    assert f"configs.tiny.splits.train.files entry {entry!r}" in str(info.value)
    assert "rebuild it with `cookbook-hub build" in str(info.value)
    result = CliRunner().invoke(app, ["card", str(folder)])
    assert result.exit_code == 2 and "points outside the folder" in result.stderr
    assert {rel: (folder / rel).read_bytes() for rel in before} == before


def test_card_refuses_a_missing_file_and_publish_writes_nothing(built: Path, tmp_path: Path) -> None:
    folder = tmp_path / "x"
    shutil.copytree(built, folder)
    manifest_files(folder, ["tiny/train-00009-of-00010.parquet"])
    with pytest.raises(CookbookError, match="names a file that does not exist"):
        publish(folder, str(tmp_path / "hub" / "me" / "x"))
    manifest_files(folder, ["../../outside/other.parquet"])
    with pytest.raises(CookbookError, match="points outside the folder"):
        publish(folder, str(tmp_path / "hub" / "me" / "x"))
    assert not (tmp_path / "hub").exists()


def test_a_token_space_path_is_never_recorded_nor_published(tmp_path: Path) -> None:
    private = tmp_path / "private-folder"
    private.mkdir()
    tokens = private / "tokens.txt"
    tokens.write_text("\n".join(default_token_space().tokens[:200]) + "\n", encoding="utf-8")
    identity = resolve_token_space(str(tokens)).identity
    folder = build(str(write_recipe(tmp_path, str(tokens))), tmp_path / "x", progress=False, finish=write_dataset_card)
    manifest = DatasetFolder(folder.path).manifest()["configs"]["tiny"]
    assert manifest["token_space"] == identity.as_dict() == {"name": "tokens", "size": 200, "sha256": identity.sha256}
    assert manifest["recipe"]["token_space"] == "tokens.txt"
    readme = (folder.path / "README.md").read_text(encoding="utf-8")
    assert "token_space: tokens.txt" in readme and f"sha256 `{identity.sha256}`" in readme
    for path in folder.path.rglob("*"):
        if path.is_file():
            assert b"private-folder" not in path.read_bytes(), path
    # a folder built before cards dropped the path: its manifest still names it; the folder is only read
    recorded = DatasetFolder(folder.path).manifest()
    recorded["configs"]["tiny"]["recipe"]["token_space"] = str(tokens)
    DatasetFolder(folder.path).write_manifest(recorded)
    before = (folder.path / DatasetFolder.MANIFEST).read_bytes()
    repo = tmp_path / "hub" / "me" / "x"
    publish(folder.path, str(repo), tag="v0.1.0")
    assert (folder.path / DatasetFolder.MANIFEST).read_bytes() == before
    for rel in git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
        blob = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{rel}"], capture_output=True, check=True).stdout
        assert b"private-folder" not in blob, rel
    published = json.loads(git(repo, "show", f"HEAD:{DatasetFolder.MANIFEST}"))
    assert published["configs"]["tiny"]["recipe"]["token_space"] == "tokens.txt"
    assert published["configs"]["tiny"]["token_space"] == identity.as_dict()


@pytest.mark.parametrize(
    ("repo_id", "problem"),
    [
        ("../x", "may not contain '--' or '..'"),
        ("../../x", "must be exactly <namespace>/<name>"),
        ("org/na\nme", "may only use letters"),
        ("org/name/extra", "must be exactly <namespace>/<name>"),
        ("name", "must be exactly <namespace>/<name>"),
        ("org/name.git", "is not a valid repo id"),
        ("", "must be exactly <namespace>/<name>"),
    ],
)
def test_repo_id_is_checked_before_anything_is_written(built: Path, tmp_path: Path, repo_id: str, problem: str) -> None:
    folder = tmp_path / "x"
    shutil.copytree(built, folder)
    before = {rel: (folder / rel).read_bytes() for rel in files_under(folder)}
    runner = CliRunner()
    carded = runner.invoke(app, ["card", str(folder), "--repo-id", repo_id])
    out = tmp_path / "new"
    built_again = runner.invoke(
        app, ["build", str(write_recipe(tmp_path)), "--out", str(out), "--repo-id", repo_id, "-q"]
    )
    for result in (carded, built_again):
        assert result.exit_code == 2, result.output
        assert problem in result.stderr and f"{repo_id!r}" in result.stderr
        assert "fix: write --repo-id as <namespace>/<name>" in result.stderr
    assert {rel: (folder / rel).read_bytes() for rel in files_under(folder)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml", "x"]
