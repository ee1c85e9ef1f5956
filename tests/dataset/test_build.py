"""Building Hub-ready folders: shard layout, README metadata that `datasets` checks, loading with
none of our code importable, the template set, atomic replacement when a build is killed, and the
CLI's refusals."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets.exceptions import NonMatchingSplitsSizesError
from datasets.info import DatasetInfosDict
from digests import folder_digests
from huggingface_hub import DatasetCard

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.builder import build
from cookbook_hub.errors import OutputExistsError, ParameterError, RecipeError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.templates import template_names

N = 3000  # gpt4all splits 0.96/0.02/0.02: 2880 / 60 / 60
SPLIT_ROWS = {"train": 2880, "validation": 60, "test": 60}
SHARD_ROWS = 1000  # forces three train shards of 960 rows


def siblings(out: Path) -> list[str]:
    """Hidden partial/replaced siblings a build may leave beside `out`."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=timeout,
    )


def readme_metadata(folder: Path) -> dict:
    return DatasetCard.load(folder / "README.md").data.to_dict()


def as_list(value: dict | list) -> list[dict]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sharded") / "gpt4all"
    result = build("gpt4all@0.1.0", out, n=N, max_shard_rows=SHARD_ROWS, progress=False, finish=write_dataset_card)
    assert result.configs == {"gpt4all": SPLIT_ROWS}
    return out


@pytest.fixture(scope="module")
def template_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("templates") / "set"
    build("templates", out, n=50, progress=False, finish=write_dataset_card)
    return out


# --- layout ------------------------------------------------------------------------------------
def test_shard_names() -> None:
    assert DatasetFolder.shard("c", "train", 0, 1) == "c/train-00000-of-00001.parquet"
    assert DatasetFolder.shard("c", "validation", 11, 12) == "c/validation-00011-of-00012.parquet"


def test_layout_with_several_shards(sharded: Path) -> None:
    files = set(folder_digests(sharded))
    expected = {
        "README.md",
        DatasetFolder.MANIFEST,
        "images/gpt4all-weights.png",
        "gpt4all/train-00000-of-00003.parquet",
        "gpt4all/train-00001-of-00003.parquet",
        "gpt4all/train-00002-of-00003.parquet",
        "gpt4all/validation-00000-of-00001.parquet",
        "gpt4all/test-00000-of-00001.parquet",
    }
    assert files == expected
    for k in range(3):
        assert pq.ParquetFile(sharded / f"gpt4all/train-{k:05d}-of-00003.parquet").metadata.num_rows == 960
    manifest = DatasetFolder(sharded).manifest()["configs"]["gpt4all"]["splits"]
    assert manifest["train"]["files"] == [f"gpt4all/train-{k:05d}-of-00003.parquet" for k in range(3)]
    assert {s: e["num_examples"] for s, e in manifest.items()} == SPLIT_ROWS


def test_all_shards_load_in_order(sharded: Path, tmp_path: Path) -> None:
    ds = datasets.load_dataset(str(sharded), "gpt4all", cache_dir=str(tmp_path / "cache"))
    assert {s: d.num_rows for s, d in ds.items()} == SPLIT_ROWS
    shards = [pq.read_table(sharded / f"gpt4all/train-{k:05d}-of-00003.parquet") for k in range(3)]
    expected = pa.concat_tables(shards)
    assert ds["train"]["index"] == expected.column("index").to_pylist()
    assert ds["train"][1234] == expected.slice(1234, 1).to_pylist()[0]
    assert ds["validation"].features == datasets.Features.from_arrow_schema(shards[0].schema)


def test_readme_metadata_matches_the_files(sharded: Path) -> None:
    meta = readme_metadata(sharded)
    files = [p for p in folder_digests(sharded) if p.endswith(".parquet")]
    (config,) = meta["configs"]
    assert config["config_name"] == "gpt4all"
    matched = []
    for entry in config["data_files"]:
        hits = sorted(f for f in files if fnmatch.fnmatch(f, entry["path"]))
        assert hits, entry
        assert all(Path(h).name.startswith(entry["split"] + "-") for h in hits)
        matched += hits
    assert sorted(matched) == sorted(files)  # every file in exactly one split

    (info,) = as_list(meta["dataset_info"])
    rows = {
        split: sum(pq.ParquetFile(sharded / f).metadata.num_rows for f in files if Path(f).name.startswith(split + "-"))
        for split in SPLIT_ROWS
    }
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == rows == SPLIT_ROWS
    infos = DatasetInfosDict.from_dataset_card_data(DatasetCard.load(sharded / "README.md").data)
    schema = pq.read_schema(sharded / "gpt4all/test-00000-of-00001.parquet")
    assert infos["gpt4all"].features == datasets.Features.from_arrow_schema(schema)
    assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])


def test_wrong_num_examples_is_caught_by_datasets(sharded: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(sharded, folder)
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8")
    broken = text.replace("num_examples: 2880", "num_examples: 2881")
    assert broken != text
    readme.write_text(broken, encoding="utf-8")
    with pytest.raises(NonMatchingSplitsSizesError):
        datasets.load_dataset(str(folder), "gpt4all", cache_dir=str(tmp_path / "cache1"))
    readme.write_text(text, encoding="utf-8")  # the intact card loads from a fresh cache
    ds = datasets.load_dataset(str(folder), "gpt4all", cache_dir=str(tmp_path / "cache2"))
    assert ds["train"].num_rows == 2880


OFFLINE_LOADER = r"""
import json, sys
cfg = json.loads(sys.argv[1])
sys.path.extend(cfg["site"])
if cfg["block"]:  # cookbook_hub installed into site-packages itself: hide it
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("cookbook_hub", "dataset_scripts", "cards"):
                raise ModuleNotFoundError(name)
    sys.meta_path.insert(0, Block())
try:
    import cookbook_hub  # noqa: F401
except ImportError:
    importable = False
else:
    importable = True
import datasets
out = {"importable": importable, "offline": datasets.config.HF_HUB_OFFLINE}
out["names"] = datasets.get_dataset_config_names(cfg["folder"])
loaded = {}
for name in cfg["configs"]:
    ds = datasets.load_dataset(cfg["folder"], name, cache_dir=cfg["cache"])
    loaded[name] = {"rows": {s: d.num_rows for s, d in ds.items()}, "first": ds["train"][0]}
out["loaded"] = loaded
out["ours"] = sorted(m for m in sys.modules if m.split(".")[0] in ("cookbook_hub", "dataset_scripts", "cards"))
print(json.dumps(out))
"""


def load_offline_without_cookbook_hub(folder: Path, configs: list[str], tmp_path: Path) -> dict:
    """Load a built folder in a fresh, isolated interpreter that cannot import cookbook_hub."""
    site_dirs = [d for d in [*site.getsitepackages(), site.getusersitepackages()] if Path(d).is_dir()]
    block = any((Path(d) / "cookbook_hub").is_dir() for d in site_dirs)
    cfg = {"site": site_dirs, "block": block, "folder": str(folder), "configs": configs, "cache": str(tmp_path / "c")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HF_"))}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # -I: no PYTHONPATH, no cwd or user site on sys.path; -S: no .pth files (the editable-install hook)
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", OFFLINE_LOADER, json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["importable"] is False
    assert out["ours"] == []
    assert out["offline"] is True
    return out


def test_loads_offline_without_cookbook_hub(sharded: Path, tmp_path: Path) -> None:
    out = load_offline_without_cookbook_hub(sharded, ["gpt4all"], tmp_path)
    assert out["names"] == ["gpt4all"]
    assert out["loaded"]["gpt4all"]["rows"] == SPLIT_ROWS
    first = pq.read_table(sharded / "gpt4all/train-00000-of-00003.parquet").slice(0, 1).to_pylist()[0]
    assert out["loaded"]["gpt4all"]["first"] == first


def test_template_set_has_one_config_per_template(template_set: Path, tmp_path: Path) -> None:
    assert sorted(datasets.get_dataset_config_names(str(template_set))) == sorted(template_names())
    manifest = DatasetFolder(template_set).manifest()
    assert manifest["kind"] == "templates"
    assert list(manifest["configs"]) == template_names()
    for name in template_names():
        table = pq.read_table(template_set / name / "train-00000-of-00001.parquet")
        assert set(table.column("template").to_pylist()) == {name}
        assert table.num_rows == 49
    meta = readme_metadata(template_set)
    assert sorted(c["config_name"] for c in meta["configs"]) == sorted(template_names())
    assert sorted(i["config_name"] for i in as_list(meta["dataset_info"])) == sorted(template_names())
    ds = datasets.load_dataset(str(template_set), "key_value", cache_dir=str(tmp_path / "cache"))
    assert {s: d.num_rows for s, d in ds.items()} == {"train": 49, "validation": 1}


def test_template_set_loads_offline_without_cookbook_hub(template_set: Path, tmp_path: Path) -> None:
    configs = ["span_qa", "entity_match", "sort"]
    out = load_offline_without_cookbook_hub(template_set, configs, tmp_path)
    assert sorted(out["names"]) == sorted(template_names())
    for name in configs:
        assert out["loaded"][name]["rows"] == {"train": 49, "validation": 1}
        assert out["loaded"][name]["first"]["template"] == name


# --- the build function's refusals -------------------------------------------------------------
def test_build_refuses_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build("doc-qa@0.1.0", out, n=40, progress=False, finish=write_dataset_card)
    before = folder_digests(out)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build("doc-qa@0.1.0", out, n=50, progress=False, finish=write_dataset_card)
    assert folder_digests(out) == before
    result = build("doc-qa@0.1.0", out, n=50, overwrite=True, progress=False, finish=write_dataset_card)
    assert sum(result.configs["doc-qa"].values()) == 50
    assert folder_digests(out) != before
    assert siblings(out) == []


@pytest.mark.parametrize("n", [0, -5])
def test_build_rejects_bad_size(tmp_path: Path, n: int) -> None:
    with pytest.raises(ParameterError, match="-n must be >= 1"):
        build("doc-qa@0.1.0", tmp_path / "out", n=n, progress=False, finish=write_dataset_card)
    assert list(tmp_path.iterdir()) == []


def test_build_bad_recipe_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RecipeError):
        build(str(_bad_recipe(tmp_path)), tmp_path / "out", progress=False, finish=write_dataset_card)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


# --- CLI ---------------------------------------------------------------------------------------
def _bad_recipe(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    data = {"name": "bad", "version": "0.1.0", "templates": [{"template": "copy", "weight": -1}], "size": 10}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_cli_build_matches_the_library(tmp_path: Path) -> None:
    result = cli("build", "doc-qa@0.1.0", "-n", "600", "--out", str(tmp_path / "cli"), "-q")
    assert result.returncode == 0, result.stderr
    assert "doc-qa: train 540, validation 30, test 30" in result.stdout
    build("doc-qa@0.1.0", tmp_path / "lib", n=600, progress=False, finish=write_dataset_card)
    assert folder_digests(tmp_path / "cli") == folder_digests(tmp_path / "lib")


def test_cli_build_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build("doc-qa@0.1.0", out, n=40, progress=False, finish=write_dataset_card)
    before = folder_digests(out)
    result = cli("build", "doc-qa@0.1.0", "-n", "60", "--out", str(out), "-q")
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--overwrite" in result.stderr
    assert "Traceback" not in result.stderr
    assert folder_digests(out) == before
    result = cli("build", "doc-qa@0.1.0", "-n", "60", "--out", str(out), "-q", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert DatasetFolder(out).manifest()["configs"]["doc-qa"]["splits"]["train"]["num_examples"] == 54
    assert siblings(out) == []


def test_cli_build_bad_recipe_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    recipe = _bad_recipe(tmp_path)
    result = cli("build", str(recipe), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "templates.0.weight" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_cli_build_bad_size_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cookbook_hub.cli.app import app

    result = CliRunner().invoke(app, ["build", "doc-qa", "-n", "0", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.exception
    assert "-n must be >= 1" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- interrupted builds ------------------------------------------------------------------------
def start_big_build(out: Path, num_proc: int = 1) -> tuple[subprocess.Popen, Path]:
    """Start a build over `out` that runs for a long time (in `num_proc` processes, parts of 100,000 rows);
    return it once it is writing Parquet."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cookbook_hub.cli",
            "build",
            "gpt4all",
            "-n",
            "400000",
            "--num-proc",
            str(num_proc),
            "--shard-rows",
            "100000",
            "--out",
            str(out),
            "--overwrite",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    partial = out.with_name(f".{out.name}.partial-{proc.pid}")
    deadline = time.monotonic() + 120
    while not list(partial.glob("gpt4all/train-*.parquet")):
        if proc.poll() is not None:
            raise AssertionError(f"build ended early ({proc.returncode}): {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError("the build never started writing")
        time.sleep(0.05)
    return proc, partial


def children_of(pid: int) -> list[int]:
    """The PIDs of a process's live children (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def workers_of(proc: subprocess.Popen) -> list[int]:
    """The part-writing workers of a `--num-proc 2` build, once they run: children forked from it (its command
    line) or spawned (`spawn_main`), not helpers such as multiprocessing's resource tracker."""
    deadline = time.monotonic() + 60
    parent = Path(f"/proc/{proc.pid}/cmdline").read_text()
    while time.monotonic() < deadline:
        found = []
        for pid in children_of(proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_text()
            except OSError:
                continue
            if cmdline == parent or "spawn_main" in cmdline:
                found.append(pid)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the build started no worker")


def gone(pids: list[int], within: float = 30) -> bool:
    """Whether all `pids` have exited within `within` seconds."""
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("num_proc", [1, 2])
def test_sigterm_keeps_the_old_folder_and_cleans_up(tmp_path: Path, num_proc: int) -> None:
    out = tmp_path / "gpt4all"
    build("gpt4all@0.1.0", out, n=300, progress=False, finish=write_dataset_card)
    before = folder_digests(out)
    proc, partial = start_big_build(out, num_proc)
    workers = workers_of(proc) if num_proc > 1 else []
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert gone(workers)
    assert proc.returncode == 128 + signal.SIGTERM, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert not partial.exists()
    assert siblings(out) == []
    assert folder_digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt4all"]


@pytest.mark.parametrize("num_proc", [1, 2])
def test_sigkill_keeps_the_old_folder_and_the_next_build_cleans_up(tmp_path: Path, num_proc: int) -> None:
    out = tmp_path / "gpt4all"
    build("gpt4all@0.1.0", out, n=300, progress=False, finish=write_dataset_card)
    before = folder_digests(out)
    proc, partial = start_big_build(out, num_proc)
    workers = workers_of(proc) if num_proc > 1 else []
    proc.kill()
    proc.communicate(timeout=60)  # reaped: its PID is gone
    assert proc.returncode == -signal.SIGKILL
    assert gone(workers)  # orphaned workers stop at their next batch instead of writing on
    assert partial.is_dir()  # SIGKILL cannot clean up ...
    assert siblings(out) == [partial.name]
    assert folder_digests(out) == before  # ... but the old folder was never touched
    ds = datasets.load_dataset(str(out), "gpt4all", cache_dir=str(tmp_path / "cache"))
    assert ds["train"].num_rows == 288
    # the next build removes the leftover
    build("gpt4all@0.1.0", out, n=200, overwrite=True, progress=False, finish=write_dataset_card)
    assert siblings(out) == []
    assert DatasetFolder(out).manifest()["configs"]["gpt4all"]["splits"]["train"]["num_examples"] == 192
