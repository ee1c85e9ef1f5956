"""pull like `hf download`: `main` by default, --include/--exclude globs, --json for scripts (publish too), on a
local hub folder (a real git repository) and on the Hub (the in-process fake of its HTTP API)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import FakeHub, online
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import PublishError
from cookbook_hub.hub.publish import publish
from cookbook_hub.hub.pull import pull, pull_version

TOKEN = "hf_pulltoken"
CARD = "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/*.parquet\n---\n# x\n"


def make_folder(folder: Path, rows: int) -> Path:
    """A dataset folder: a card, two Parquet shards and a figure."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for shard in range(2):
        table = pa.Table.from_pylist([{"prompt": f"{shard} {i}", "completion": str(i)} for i in range(rows)])
        pq.write_table(table, folder / "data" / f"train-{shard:05d}.parquet")
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "weights.png").write_bytes(b"\x89PNG not really")
    return folder


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


@pytest.fixture
def local_repo(tmp_path: Path) -> tuple[str, str]:
    """A local hub repository with v0.1.0 (2 rows a shard) and a newer, untagged main (3 rows); its main commit."""
    folder = make_folder(tmp_path / "built", 2)
    repo = str(tmp_path / "hub" / "me" / "data")
    publish(folder, repo, tag="v0.1.0")
    return repo, publish(make_folder(folder, 3), repo).commit


def test_pull_defaults_to_main_and_to_a_folder_named_after_the_repo(local_repo, tmp_path, monkeypatch):
    repo, main = local_repo
    monkeypatch.chdir(tmp_path)
    result = run("pull", repo)
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "data" / "data" / "train-00000.parquet").num_rows == 3  # main, not v0.1.0
    assert f"at main ({main[:12]})" in result.output
    old = pull(repo, "v0.1.0", tmp_path / "old")
    assert pq.read_table(old / "data" / "train-00000.parquet").num_rows == 2


def test_include_and_exclude_choose_the_files(local_repo, tmp_path):
    repo, _ = local_repo
    assert files_under(pull(repo, out=tmp_path / "a", include=["data/*"])) == [
        "data/train-00000.parquet",
        "data/train-00001.parquet",
    ]
    assert files_under(pull(repo, out=tmp_path / "b", exclude=["*.png", "*00001*"])) == [
        "README.md",
        "data/train-00000.parquet",
    ]
    result = run("pull", repo, "--out", str(tmp_path / "c"), "--include", "*.md", "--include", "*.png")
    assert result.exit_code == 0, result.output
    assert files_under(tmp_path / "c") == ["README.md", "weights.png"]
    with pytest.raises(PublishError, match=r"--include '\*.csv' select no file of .* at main"):
        pull(repo, out=tmp_path / "d", include=["*.csv"])
    assert not (tmp_path / "d").exists()


def test_pull_and_publish_print_one_json_object(local_repo, tmp_path):
    repo, main = local_repo
    result = run("pull", repo, "--revision", "v0.1.0", "--out", str(tmp_path / "p"), "--exclude", "*.png", "--json")
    assert result.exit_code == 0, result.output
    pulled = json.loads(result.output)
    assert pulled["revision"] == "v0.1.0" and pulled["commit"] != main and len(pulled["commit"]) == 40
    assert pulled["path"] == str(tmp_path / "p") and pulled["source"] == repo
    assert pulled["files"] == ["README.md", "data/train-00000.parquet", "data/train-00001.parquet"]
    folder = make_folder(tmp_path / "other", 4)
    result = run("publish", str(folder), "--to", repo, "--tag", "v0.2.0", "--json")
    assert result.exit_code == 0, result.output
    published = json.loads(result.output)
    assert published["created_commit"] is True and published["tag"] == "v0.2.0"
    assert published["commit"] == pull_version(repo, "v0.2.0", tmp_path / "q").commit
    assert "data/train-00001.parquet" in published["files"]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The fake Hub with a token for namespace `alice`; online for this test only."""
    with online(FakeHub({TOKEN: ["alice"]}), monkeypatch, tmp_path, TOKEN) as fake:
        yield fake


def test_hub_pull_defaults_to_main_with_patterns(hub, tmp_path, capsys):
    folder = make_folder(tmp_path / "built", 2)
    publish(folder, "hf://alice/data", tag="v0.1.0")
    main = publish(make_folder(folder, 3), "hf://alice/data").commit
    pulled = pull_version("hf://alice/data", out=tmp_path / "out", include=["data/*"], exclude=["*00001*"])
    assert (pulled.revision, pulled.commit, pulled.files) == ("main", main, ["data/train-00000.parquet"])
    assert files_under(tmp_path / "out") == ["data/train-00000.parquet"]
    assert pq.read_table(tmp_path / "out" / "data" / "train-00000.parquet").num_rows == 3
    with pytest.raises(PublishError, match="select no file"):
        pull("hf://alice/data", "v0.1.0", tmp_path / "none", exclude=["*"])
    assert not (tmp_path / "none").exists()


@pytest.fixture
def visible_bars(monkeypatch: pytest.MonkeyPatch):
    """Local transfer bars that show at once and move per file; huggingface_hub's switch restored afterwards."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    import cookbook_hub.hub.git as local_git

    monkeypatch.setattr(local_git, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(local_git, "HASH_GROUP_FILES", 1)
    was_disabled = are_progress_bars_disabled()
    enable_progress_bars()
    yield
    disable_progress_bars() if was_disabled else enable_progress_bars()


def test_local_transfers_show_byte_progress_that_quiet_turns_off(visible_bars, tmp_path, capsys):
    from huggingface_hub.utils import are_progress_bars_disabled

    folder = make_folder(tmp_path / "built", 50)
    repo = str(tmp_path / "hub" / "me" / "data")
    capsys.readouterr()
    publish(folder, repo, tag="v0.1.0")
    shown = capsys.readouterr().err
    assert "publish data" in shown and "100%" in shown and "B/s" in shown  # a bar over bytes
    pull(repo, out=tmp_path / "p")
    assert "pull data" in capsys.readouterr().err and files_under(tmp_path / "p") == files_under(folder)
    result = run("pull", repo, "--out", str(tmp_path / "q"), "-q")
    assert result.exit_code == 0, result.output
    assert are_progress_bars_disabled() and "pull data" not in result.output
