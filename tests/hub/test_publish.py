"""publish/pull: local hub folders (real git repositories) and the Hub (an in-process fake of its HTTP API)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import ENDPOINT, FakeHub
from huggingface_hub import HfApi, constants
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.errors import IntegrityError, OutputExistsError, PublishError, TargetError
from cookbook_hub.hub import git, hf
from cookbook_hub.hub.git import GitRepo
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.pull import pull

TOKEN = "hf_SECRETtoken123"
ROWS_A = [{"prompt": "1 2 3", "completion": "3 2 1"}, {"prompt": "a b", "completion": "b a"}]
ROWS_B = [{"prompt": "x y z", "completion": "z y x"}]
CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# A test dataset
"""


def make_dataset(folder: Path, rows: list[dict]) -> Path:
    """A minimal Hub-layout dataset folder: one Parquet shard and a card with `configs:`."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "data" / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (outside .git) by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def stamps(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Contents and modification times, to show a folder was not touched."""
    return {rel: (data, (folder / rel).stat().st_mtime_ns) for rel, data in contents(folder).items()}


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def repo_state(repo: Path) -> tuple[str, str, str, int]:
    """HEAD, tags, status and commit count: equal before and after means the repo was left as it was."""
    head = git_out(repo, "rev-parse", "HEAD").strip()
    return head, git_out(repo, "tag", "--list"), git_out(repo, "status", "--porcelain"), commit_count(repo)


def commit_count(repo: Path) -> int:
    return int(git_out(repo, "rev-list", "--count", "HEAD"))


def load_rows(folder: Path, cache: Path) -> list[dict]:
    """Read a pulled folder the way users do: datasets.load_dataset(folder, config)."""
    return datasets.load_dataset(str(folder), "default", split="train", cache_dir=str(cache)).to_list()


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Hub access at all (for datasets and huggingface_hub) from here on."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "built", ROWS_A)


@pytest.fixture
def hub_root(tmp_path: Path) -> Path:
    return tmp_path / "hub"


# ------------------------------------------------------------------ local hub folders


def test_first_publish_creates_repo_with_one_commit(folder: Path, hub_root: Path) -> None:
    before = stamps(folder)
    result = publish(folder, str(hub_root / "local" / "ds"))
    repo = hub_root / "local" / "ds"
    assert (result.created_commit, result.repo_type, result.tag) == (True, "dataset", None)
    assert result.files == ["README.md", "data/train-00000-of-00001.parquet"]
    assert result.message == "Publish ds"
    assert result.commit == git_out(repo, "rev-parse", "HEAD").strip()
    assert git_out(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert commit_count(repo) == 1
    assert contents(repo) == contents(folder)
    assert git_out(repo, "status", "--porcelain") == ""
    assert stamps(folder) == before


def test_identical_republish_makes_no_commit(folder: Path, hub_root: Path) -> None:
    first = publish(folder, str(hub_root / "local" / "ds"))
    again = publish(folder, str(hub_root / "local" / "ds"))
    assert (again.created_commit, again.commit) == (False, first.commit)
    assert commit_count(hub_root / "local" / "ds") == 1


def test_changed_content_makes_exactly_one_more_commit(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    (folder / "notes.txt").write_text("draft")
    publish(folder, str(repo))
    (folder / "notes.txt").unlink()
    make_dataset(folder, ROWS_B)
    result = publish(folder, str(repo), message="Refresh rows")
    assert result.created_commit
    assert commit_count(repo) == 2
    assert git_out(repo, "log", "-1", "--format=%s").strip() == "Refresh rows"
    assert contents(repo) == contents(folder)  # notes.txt is gone from the tree and the working tree
    assert "notes.txt" not in git_out(repo, "ls-tree", "-r", "--name-only", "HEAD")


def test_pull_by_tag_returns_the_tagged_version(folder: Path, tmp_path: Path, hub_root: Path, offline: None) -> None:
    target = str(hub_root / "local" / "ds")
    publish(folder, target, tag="v0.1.0")
    make_dataset(folder, ROWS_B)
    publish(folder, target, tag="v0.2.0")
    old = pull(target, "v0.1.0", tmp_path / "old")
    assert not (old / ".git").exists()
    assert load_rows(old, tmp_path / "cache-old") == ROWS_A
    assert load_rows(pull(target, "main", tmp_path / "new"), tmp_path / "cache-new") == ROWS_B


def test_existing_tag_on_other_content_is_refused_and_repo_unchanged(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    publish(folder, str(repo), tag="v0.1.0")
    before = repo_state(repo)
    make_dataset(folder, ROWS_B)
    with pytest.raises(PublishError, match="tag v0.1.0 already exists") as info:
        publish(folder, str(repo), tag="v0.1.0")
    assert "new version tag" in str(info.value)
    assert repo_state(repo) == before


def test_existing_tag_on_same_content_is_a_no_op(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    first = publish(folder, str(repo), tag="v0.1.0")
    before = repo_state(repo)
    again = publish(folder, str(repo), tag="v0.1.0")
    assert (again.created_commit, again.commit) == (False, first.commit)
    assert repo_state(repo) == before


def test_tag_on_unchanged_content_tags_the_head(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    first = publish(folder, str(repo))
    tagged = publish(folder, str(repo), tag="v1.0.0")
    assert (tagged.created_commit, tagged.commit) == (False, first.commit)
    assert git_out(repo, "rev-parse", "v1.0.0^{commit}").strip() == first.commit


def test_dry_run_changes_nothing(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    result = publish(folder, str(repo), tag="v0.1.0", dry_run=True)
    assert (result.dry_run, result.commit, result.created_commit) == (True, None, False)
    assert result.files == ["README.md", "data/train-00000-of-00001.parquet"]
    assert result.message == "Publish ds v0.1.0"
    assert not hub_root.exists()
    publish(folder, str(repo))
    before = repo_state(repo)
    make_dataset(folder, ROWS_B)
    publish(folder, str(repo), dry_run=True)
    assert repo_state(repo) == before


@pytest.mark.parametrize(
    "files",
    [{}, {"data.parquet": "x"}, {"README.md": "# no front matter\n"}, {"README.md": "---\nlicense: mit\n---\n"}],
)
def test_folder_that_is_not_built_is_refused(tmp_path: Path, hub_root: Path, files: dict[str, str]) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    with pytest.raises(PublishError, match="not a built dataset or model folder") as info:
        publish(folder, str(hub_root / "local" / "ds"))
    assert "cookbook-hub build" in str(info.value)
    assert not hub_root.exists()


def test_missing_folder_and_bad_card_are_refused(tmp_path: Path, hub_root: Path) -> None:
    with pytest.raises(PublishError, match="does not exist"):
        publish(tmp_path / "nowhere", str(hub_root / "local" / "ds"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    with pytest.raises(IntegrityError, match="front matter: not valid YAML"):
        publish(tmp_path / "bad", str(hub_root / "local" / "ds"))


def test_model_folder_is_published_as_a_model(tmp_path: Path, hub_root: Path) -> None:
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "README.md").write_text("# adapter\n")
    (folder / "adapter_config.json").write_text("{}")
    assert publish(folder, str(hub_root / "local" / "adapter")).repo_type == "model"


@pytest.mark.parametrize("tag", ["0.1.0", "v1", "v1.2", "v01.2.3", "latest", "v1.2.3 ", "v1.2.3/x"])
def test_bad_tags_are_refused(folder: Path, hub_root: Path, tag: str) -> None:
    with pytest.raises(TargetError, match="not a version"):
        publish(folder, str(hub_root / "local" / "ds"), tag=tag)
    assert not hub_root.exists()


@pytest.mark.parametrize("to", ["hub/../ds", "hub/local/my data", "hf://a/b/c", "hf://name", "s3://a/b", "ds"])
def test_bad_targets_are_refused(folder: Path, to: str) -> None:
    with pytest.raises(TargetError, match="target"):
        publish(folder, to)


def test_pull_unknown_revision_lists_the_tags(folder: Path, tmp_path: Path, hub_root: Path) -> None:
    target = str(hub_root / "local" / "ds")
    publish(folder, target, tag="v0.1.0")
    make_dataset(folder, ROWS_B)
    publish(folder, target, tag="v0.2.0")
    with pytest.raises(PublishError, match="unknown revision 'v9.9.9'") as info:
        pull(target, "v9.9.9", tmp_path / "out")
    assert "v0.1.0, v0.2.0" in str(info.value)
    with pytest.raises(PublishError, match="unknown revision"):
        pull(target, "--output=/tmp/x", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_pull_refuses_an_existing_out_unless_overwrite(folder: Path, tmp_path: Path, hub_root: Path) -> None:
    target = str(hub_root / "local" / "ds")
    publish(folder, target, tag="v0.1.0")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        pull(target, "v0.1.0", out)
    assert (out / "keep.txt").read_text() == "mine"
    pull(target, "v0.1.0", out, overwrite=True)
    assert contents(out) == contents(folder)


def test_pull_from_a_missing_repo_is_refused(tmp_path: Path, hub_root: Path) -> None:
    with pytest.raises(PublishError, match="no hub repository"):
        pull(str(hub_root / "local" / "nothing"), "v0.1.0", tmp_path / "out")


def test_repo_with_local_edits_or_a_plain_folder_is_refused(folder: Path, hub_root: Path) -> None:
    repo = hub_root / "local" / "ds"
    publish(folder, str(repo))
    (repo / "README.md").write_text("edited by hand")
    with pytest.raises(PublishError, match="local changes"):
        publish(folder, str(repo))
    git_out(repo, "checkout", "-q", "--", "README.md")
    git_out(repo, "checkout", "-q", "--detach")
    with pytest.raises(PublishError, match="not on branch main"):
        publish(folder, str(repo))
    (hub_root / "local" / "plain").mkdir()
    (hub_root / "local" / "plain" / "file.txt").write_text("x")
    with pytest.raises(PublishError, match="not a git repository"):
        publish(folder, str(hub_root / "local" / "plain"))


def test_failure_midway_leaves_the_repo_as_it_was(
    folder: Path, hub_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise PublishError("disk full")

    monkeypatch.setattr(GitRepo, "finish", broken)
    with pytest.raises(PublishError, match="disk full"):
        publish(folder, str(hub_root / "local" / "ds"))
    assert not (hub_root / "local" / "ds").exists()
    monkeypatch.undo()
    repo = hub_root / "local" / "ds"
    publish(folder, str(repo), tag="v0.1.0")
    before = repo_state(repo)
    make_dataset(folder, ROWS_B)
    monkeypatch.setattr(GitRepo, "finish", broken)
    with pytest.raises(PublishError, match="disk full"):
        publish(folder, str(repo), tag="v0.2.0")
    assert repo_state(repo) == before


def test_git_failures_become_publish_errors(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PublishError, match="git no-such-command failed"):
        git.git(tmp_path, "no-such-command")
    monkeypatch.setattr(git, "GIT", ("no-such-git-binary",))
    with pytest.raises(PublishError, match="git is not installed"):
        publish(folder, str(tmp_path / "hub" / "local" / "ds"))


def test_cli_publish_and_pull(folder: Path, tmp_path: Path, hub_root: Path) -> None:
    runner = CliRunner()
    target = str(hub_root / "local" / "ds")
    dry = runner.invoke(app, ["publish", str(folder), "--to", target, "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.output and "README.md" in dry.output
    done = runner.invoke(app, ["publish", str(folder), "--to", target, "--tag", "v0.1.0"])
    assert done.exit_code == 0 and "published 2 files" in done.output
    same = runner.invoke(app, ["publish", str(folder), "--to", target])
    assert same.exit_code == 0 and "no changes" in same.output
    bad = runner.invoke(app, ["publish", str(folder), "--to", target, "--tag", "1.0"])
    assert bad.exit_code == 2 and "not a version" in bad.output
    pulled = runner.invoke(app, ["pull", target, "--revision", "v0.1.0", "--out", str(tmp_path / "out")])
    assert pulled.exit_code == 0 and contents(tmp_path / "out") == contents(folder)


# ------------------------------------------------------------------ the Hub, through the fake


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """The fake Hub at HF_ENDPOINT, HF_TOKEN writing namespaces `alice` and `team`; online for this test only."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    fake = FakeHub({TOKEN: ["alice", "team"], "hf_othertoken": ["bob"]})
    with fake.installed():
        yield fake
    assert fake.unexpected == []


def posts(fake: FakeHub, endpoint: str) -> int:
    return sum(r.method == "POST" and f"/{endpoint}/" in r.url.path for r in fake.requests)


def test_hub_publish_uploads_exactly_the_folder(hub: FakeHub, folder: Path) -> None:
    before = stamps(folder)
    result = publish(folder, "hf://alice/ds", tag="v0.1.0")
    stored = hub.files("alice/ds")
    assert stored.pop(".gitattributes")  # created with the repo, kept by every publish
    assert stored == contents(folder)
    history = hub.history("alice/ds")
    assert [c.message for c in history] == ["Publish ds v0.1.0", "initial commit"]
    assert result.commit == history[0].oid and result.created_commit
    assert hub.repo("alice/ds").tags == {"v0.1.0": result.commit}
    assert result.url == f"{ENDPOINT}/datasets/alice/ds"
    assert posts(hub, "commit") == 1
    assert not hub.repo("alice/ds").private
    assert stamps(folder) == before


def test_hub_repeat_publish_makes_no_commit(hub: FakeHub, folder: Path) -> None:
    first = publish(folder, "hf://alice/ds")
    again = publish(folder, "hf://alice/ds")
    assert (again.created_commit, again.commit) == (False, first.commit)
    assert len(hub.history("alice/ds")) == 2
    assert posts(hub, "commit") == 1 and posts(hub, "preupload") == 1


def test_hub_changed_content_makes_one_commit_with_deletions(hub: FakeHub, folder: Path) -> None:
    (folder / "notes.txt").write_text("draft")
    publish(folder, "hf://alice/ds")
    (folder / "notes.txt").unlink()
    make_dataset(folder, ROWS_B)
    result = publish(folder, "hf://alice/ds")
    assert result.created_commit and len(hub.history("alice/ds")) == 3
    stored = hub.files("alice/ds")
    assert ".gitattributes" in stored and "notes.txt" not in stored
    assert {k: v for k, v in stored.items() if k != ".gitattributes"} == contents(folder)


def test_hub_private_flag_reaches_create_repo(hub: FakeHub, folder: Path) -> None:
    publish(folder, "hf://team/secret-ds", private=True)
    assert hub.repo("team/secret-ds").private
    create = next(r for r in hub.requests if r.url.path == "/api/repos/create")
    assert json.loads(create.content)["visibility"] == "private"


def test_hub_model_folder_goes_to_a_model_repo(hub: FakeHub, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "README.md").write_text("# model\n")
    (folder / "config.json").write_text("{}")
    result = publish(folder, "hf://alice/tiny-model")
    assert result.repo_type == "model" and result.url == f"{ENDPOINT}/alice/tiny-model"
    assert hub.files("alice/tiny-model", repo_type="model")["config.json"] == b"{}"


def test_hub_existing_tag_on_other_content_is_refused(hub: FakeHub, folder: Path) -> None:
    publish(folder, "hf://alice/ds", tag="v0.1.0")
    history = hub.history("alice/ds")
    make_dataset(folder, ROWS_B)
    with pytest.raises(PublishError, match="tag v0.1.0 already exists in hf://alice/ds"):
        publish(folder, "hf://alice/ds", tag="v0.1.0")
    assert hub.history("alice/ds") == history and posts(hub, "commit") == 1


def test_hub_dry_run_sends_no_request(hub: FakeHub, folder: Path) -> None:
    result = publish(folder, "hf://alice/ds", tag="v0.1.0", dry_run=True)
    assert result.dry_run and result.files == ["README.md", "data/train-00000-of-00001.parquet"]
    assert hub.requests == []


def test_hub_offline_is_refused_before_any_request(
    hub: FakeHub, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE"):
        publish(folder, "hf://alice/ds")
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE"):
        pull("hf://alice/ds", "v0.1.0", tmp_path / "out")
    assert hub.requests == []


def test_hub_pull_by_tag(hub: FakeHub, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(folder, "hf://alice/ds", tag="v0.1.0")
    make_dataset(folder, ROWS_B)
    publish(folder, "hf://alice/ds", tag="v0.2.0")
    out = pull("hf://alice/ds", "v0.1.0", tmp_path / "old")
    assert sorted(contents(out)) == [".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]
    assert contents(out)[".gitattributes"] == hub.files("alice/ds")[".gitattributes"]
    go_offline(monkeypatch)
    assert load_rows(out, tmp_path / "cache") == ROWS_A


def test_hub_pull_unknown_revision_lists_the_tags(hub: FakeHub, folder: Path, tmp_path: Path) -> None:
    publish(folder, "hf://alice/ds", tag="v0.1.0")
    with pytest.raises(PublishError, match="unknown revision 'v2.0.0' in hf://alice/ds") as info:
        pull("hf://alice/ds", "v2.0.0", tmp_path / "out")
    assert "v0.1.0" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_hub_tag_failure_after_the_commit_says_so_and_a_rerun_tags(hub: FakeHub, folder: Path) -> None:
    hub.fail(500, on="/tag/")
    with pytest.raises(PublishError, match="Hub is unavailable") as info:
        publish(folder, "hf://alice/ds", tag="v0.1.0")
    commit = hub.history("alice/ds")[0].oid
    assert f"commit {commit} was made but tag v0.1.0 was not" in str(info.value)
    hub.failure = None
    result = publish(folder, "hf://alice/ds", tag="v0.1.0")
    assert (result.created_commit, result.commit) == (False, commit)
    assert hub.repo("alice/ds").tags == {"v0.1.0": commit}


ERROR_CASES = {
    "401": ("hf://alice/ds", None, "HF_TOKEN missing or invalid"),
    "403": ("hf://carol/ds", None, "no write access to namespace 'carol'"),
    "404": ("hf://alice/ds", (404, "/preupload/"), "not found"),
    "500": ("hf://alice/ds", (500, ""), "Hub is unavailable (HTTP 500)"),
    "500-retried": ("hf://alice/ds", (500, "/preupload/"), "Hub is unavailable (HTTP 500)"),
    "timeout": ("hf://alice/ds", ("timeout", ""), "Hub is unavailable (ReadTimeout)"),
    "timeout-commit": ("hf://alice/ds", ("timeout", "/commit/"), "Hub is unavailable (ReadTimeout)"),
    "400-card": ("hf://alice/ds", (400, "/validate-yaml"), "refused the request: Invalid metadata in README.md"),
    "412": ("hf://alice/ds", (412, "/commit/"), "the Hub refused the request (HTTP 412)"),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_hub_errors_name_the_repo_and_never_the_token(
    hub: FakeHub, folder: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    target, failure, expected = ERROR_CASES[case]
    publish(folder, "hf://alice/ds")
    history = hub.history("alice/ds")
    make_dataset(folder, ROWS_B)
    (folder / "README.md").write_text(CARD + "Second version.\n")
    before = stamps(folder)
    if case == "401":
        hub.tokens.pop(TOKEN)
    if failure:
        hub.fail(*failure)
    with pytest.raises(PublishError) as info:
        publish(folder, target, tag="v0.2.0")
    message = str(info.value)
    assert target in message and expected in message, message
    assert hub.history("alice/ds") == history and hub.repo("alice/ds").tags == {}
    assert stamps(folder) == before
    assert_no_token(info.value, caplog.text, folder, hub)


def test_hub_pull_of_a_missing_repo_is_a_404(hub: FakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PublishError, match="repository not found") as info:
        pull("hf://alice/missing", "v0.1.0", tmp_path / "out")
    assert "hf://alice/missing" in str(info.value)
    assert_no_token(info.value, caplog.text, tmp_path, hub)


def assert_no_token(error: BaseException, logs: str, folder: Path, hub: FakeHub) -> None:
    """The token appears in no exception of the chain, no log line, no local file and no stored file."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for exc in chain:
        assert TOKEN not in str(exc) and TOKEN not in repr(exc) and TOKEN not in str(exc.args)
    assert TOKEN not in logs
    assert all(TOKEN.encode() not in data for data in contents(folder).values())
    stored = (data for repo in hub.repos.values() for c in repo.commits.values() for data in c.files.values())
    assert all(TOKEN.encode() not in data for data in stored)


# ------------------------------------------------------------------ the real Hub (opt-in)


@pytest.mark.skipif(
    not (os.environ.get("HF_TOKEN") and os.environ.get("COOKBOOK_HUB_LIVE_NAMESPACE")),
    reason="set HF_TOKEN and COOKBOOK_HUB_LIVE_NAMESPACE to publish to the real Hub",
)
def test_live_publish_and_pull(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    repo_id = f"{os.environ['COOKBOOK_HUB_LIVE_NAMESPACE']}/cookbook-hub-live-test"
    api: HfApi = hf.hub_api()
    try:
        first = publish(folder, f"hf://{repo_id}", tag="v0.0.1", private=True)
        assert first.created_commit
        assert not publish(folder, f"hf://{repo_id}").created_commit
        out = pull(f"hf://{repo_id}", "v0.0.1", tmp_path / "out")
        assert (out / "data" / "train-00000-of-00001.parquet").read_bytes() == (
            folder / "data" / "train-00000-of-00001.parquet"
        ).read_bytes()
    finally:
        api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)


# ------------------------------------------------------------------ recipe versions


def built_recipe(tmp_path, name: str, description: str) -> Path:
    """Build a tiny one-template recipe under a fixed version."""
    from cookbook_hub.dataset.builder import build

    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(
        "name: tiny\nversion: 0.1.0\n"
        f"description: {description}\n"
        "templates: [{template: copy, weight: 1, params: {min_len: 2, max_len: 4}}]\nsize: 20\n",
        encoding="utf-8",
    )
    return build(str(recipe), tmp_path / name, progress=False, finish=write_dataset_card).path


@pytest.mark.parametrize("remote", [False, True], ids=["local", "hf"])
def test_changed_recipe_under_the_same_version_is_refused(tmp_path, remote, request):
    """A recipe whose content changed but whose version did not cannot replace the published one."""
    first = built_recipe(tmp_path, "first", "one")
    second = built_recipe(tmp_path, "second", "two")
    to = str(tmp_path / "hub" / "org" / "tiny")
    if remote:
        request.getfixturevalue("hub")  # goes online: after the builds, which read offline settings
        to = "hf://alice/tiny"
    published = publish(first, to, tag="v0.1.0")
    with pytest.raises(PublishError, match=r"recipe version 0\.1\.0 is already published with other content") as info:
        publish(second, to)
    assert "bump the recipe's version" in str(info.value)
    assert publish(first, to).commit == published.commit  # the published version is untouched


@pytest.mark.parametrize("remote", [False, True], ids=["local", "hf"])
def test_published_card_names_the_target_repo(tmp_path, remote, request):
    """The README uploaded for a built dataset has the target's load_dataset snippet; the folder is untouched."""
    folder = built_recipe(tmp_path, "built", "one")
    before = contents(folder)
    to = str(tmp_path / "hub" / "org" / "tiny")
    if remote:
        fake = request.getfixturevalue("hub")
        to = "hf://alice/tiny"
    published = publish(folder, to, tag="v0.1.0")
    assert contents(folder) == before
    if remote:
        readme = fake.files("alice/tiny", published.commit)["README.md"].decode()
        expected = 'load_dataset("alice/tiny", "tiny", revision="v0.1.0")'
    else:
        readme = git_out(Path(to), "show", f"{published.commit}:README.md")
        expected = 'load_dataset("org/tiny", "tiny", revision="v0.1.0")'
    assert expected in readme
    assert 'load_dataset("org/tiny"' not in before["README.md"].decode()
