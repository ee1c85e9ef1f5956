"""Builds in several jobs: `--shard K/N` jobs stage their Parquet files, `--assemble` checks them and writes the
folder, which equals a one-machine build byte for byte; missing, miscounted, corrupt or foreign shards are
refused by name and nothing appears under the final name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from digests import folder_digests
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.dataset.assemble import assemble, build_shard, parts_folder
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.parts import assign, plan_parts
from cookbook_hub.dataset.plan import plan_build
from cookbook_hub.errors import IntegrityError, ParameterError
from cookbook_hub.tokens.sampling import Shard

RECIPE = "gpt4all@0.1.0"
N = 3000  # train 2880 in three files of 960 rows, validation 60, test 60: five parts
ROWS = 1000
JOBS = 3


def run(*args: str) -> tuple[int, str]:
    """The CLI in this process: exit code and stderr."""
    result = CliRunner().invoke(app, [*args, "-q"])
    return result.exit_code, result.stderr


def shard_jobs(out: Path, jobs: range = range(JOBS), spec: str = RECIPE, n: int = N) -> None:
    for k in jobs:
        build_shard(spec, out, Shard(k, JOBS), n=n, max_shard_rows=ROWS, progress=False)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "gpt4all"
    build(RECIPE, out, n=N, max_shard_rows=ROWS, progress=False, finish=write_dataset_card)
    return out


def test_every_part_is_written_by_exactly_one_job() -> None:
    _, plans = plan_build("templates", 40)
    parts = plan_parts(plans, 16)  # 19 templates x (train 36 -> 3 files, validation 2, test 2)
    for count in (1, 2, 7, len(parts)):
        owned = [assign(parts, Shard(k, count)) for k in range(count)]
        assert sorted(p.rel for job in owned for p in job) == sorted(p.rel for p in parts)
        loads = [sum(len(p.positions) for p in job) for job in owned]
        assert max(loads) - min(loads) <= max(len(p.positions) for p in parts)


def test_shard_jobs_then_assemble_equal_the_local_build(local: Path, tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    for k in range(JOBS):
        code, err = run(
            "build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--shard", f"{k}/{JOBS}", "--out", str(out)
        )
        assert code == 0, err
        assert not out.exists()
    assert sorted(p.name for p in (parts_folder(out) / "gpt4all").glob("*.parquet")) == sorted(
        p.name for p in (local / "gpt4all").glob("*.parquet")
    )
    code, err = run("build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--assemble", "--out", str(out))
    assert code == 0, err
    assert folder_digests(out) == folder_digests(local)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt4all"]  # staging removed, no hidden siblings


def test_two_processes_build_the_same_bytes(local: Path, tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    build(RECIPE, out, n=N, num_proc=2, max_shard_rows=ROWS, progress=False, finish=write_dataset_card)
    assert folder_digests(out) == folder_digests(local)  # sizes in the manifest and card do not depend on --num-proc


def test_missing_shard_is_named_with_its_job(tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    shard_jobs(out, range(JOBS - 1))
    missing = [p.rel for p in assign(plan_parts(plan_build(RECIPE, N)[1], ROWS), Shard(JOBS - 1, JOBS))]
    with pytest.raises(IntegrityError, match=f"shards missing from {parts_folder(out)}") as info:
        assemble(RECIPE, out, n=N, max_shard_rows=ROWS)
    assert all(rel in str(info.value) for rel in missing)
    assert f"written by --shard {JOBS - 1}/{JOBS}" in str(info.value)
    assert not out.exists() and parts_folder(out).is_dir()
    shard_jobs(out, range(JOBS - 1, JOBS))  # the missing job, then assembly succeeds
    assemble(RECIPE, out, n=N, max_shard_rows=ROWS)
    assert out.is_dir() and not parts_folder(out).exists()


def test_shard_from_another_recipe_version_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    shard_jobs(out, range(JOBS - 1))
    shard_jobs(out, range(JOBS - 1, JOBS), spec="gpt4all@0.2.0")
    code, err = run("build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--assemble", "--out", str(out))
    assert code == 2
    first = err.splitlines()[0]
    assert f"(from --shard {JOBS - 1}/{JOBS}) was built from recipe gpt4all 0.2.0" in first
    assert "not gpt4all 0.1.0" in first and ".parquet" in first
    assert "Traceback" not in err and not out.exists()


def test_shard_built_with_another_size_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    shard_jobs(out, range(JOBS - 1))
    shard_jobs(out, range(JOBS - 1, JOBS), n=2700)  # the same file names, 864 train rows each
    with pytest.raises(IntegrityError, match=r"train-00002-of-00003.parquet .* with another -n or other recipe"):
        assemble(RECIPE, out, n=N, max_shard_rows=ROWS)
    assert not out.exists()


@pytest.mark.parametrize("damage", ["truncate", "foreign"])
def test_corrupt_staged_shard_is_refused_by_name(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "gpt4all"
    shard_jobs(out)
    staged = parts_folder(out) / "gpt4all"
    victim = staged / "validation-00000-of-00001.parquet"
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-100])
        problem = "is not a readable Parquet file"
    else:
        shutil.copyfile(staged / "test-00000-of-00001.parquet", victim)  # same rows, other content
        problem = "does not have the content the manifest records"
    with pytest.raises(IntegrityError, match=problem) as info:
        assemble(RECIPE, out, n=N, max_shard_rows=ROWS, finish=write_dataset_card)
    assert "gpt4all/validation-00000-of-00001.parquet" in str(info.value)
    assert "rerun the shard job" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt4all.parts"]


def test_shard_beyond_n_and_too_many_jobs_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "gpt4all"
    code, err = run("build", RECIPE, "-n", str(N), "--shard", "3/3", "--out", str(out))
    assert code == 2 and "shard index 3 is outside 0..2" in err
    code, err = run("build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--shard", "0/6", "--out", str(out))
    assert code == 2 and "this build has 5 Parquet files, so at most 5 shard jobs" in err
    assert list(tmp_path.iterdir()) == []


def test_shard_job_refuses_an_existing_output(local: Path) -> None:
    with pytest.raises(Exception, match="already exists"):
        build_shard(RECIPE, local, Shard(0, 2), n=N, max_shard_rows=ROWS, progress=False)
    assert not parts_folder(local).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "0/2", "--assemble"], "--shard and --assemble are separate steps"),
        (["--engine", "ray", "--shard", "0/2"], "--engine ray runs every shard"),
        (["--ray-address", "auto"], "--ray-address needs --engine ray"),
        (["--engine", "spark"], "--engine must be one of local, ray"),
    ],
)
def test_option_combinations_that_mean_nothing_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    code, err = run("build", RECIPE, "--out", str(tmp_path / "x"), *args)
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []


def test_assemble_without_shards_says_so(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="5 of 5 shards missing"):
        assemble(RECIPE, tmp_path / "gpt4all", n=N, max_shard_rows=ROWS)
    with pytest.raises(ParameterError, match="--shard-rows must be >= 1"):
        assemble(RECIPE, tmp_path / "gpt4all", n=N, max_shard_rows=0)
    assert list(tmp_path.iterdir()) == []


FAKE_SBATCH = """#!{python}
# A stand-in for Slurm's sbatch: runs an --array job's tasks, then a dependent job, in order, right away.
import os, subprocess, sys
opts, args = [], sys.argv[1:]
while args and args[0].startswith("--"):
    opts.append(args.pop(0))
env = dict(os.environ, SLURM_JOB_ID="7")
for opt in opts:
    if opt.startswith("--export=ALL,"):
        env.update(item.split("=", 1) for item in opt.split(",")[1:])
array = [o.split("=", 1)[1] for o in opts if o.startswith("--array=")]
first, last = map(int, array[0].split("-")) if array else (None, None)
for task in range(first, last + 1) if array else [None]:
    if task is not None:
        env["SLURM_ARRAY_TASK_ID"] = str(task)
    code = subprocess.run(["bash", *args], env=env, stdout=sys.stderr).returncode  # job output goes to its log
    if code:
        sys.exit(code)
with open(os.environ["SBATCH_LOG"], "a") as log:
    log.write(" ".join(opts) + "\\n")
print("7" if array else "8")
"""


def test_slurm_array_script_builds_what_the_local_engine_builds(local: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(python=sys.executable))
    (bin_dir / "sbatch").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "COOKBOOK_HUB": f"{sys.executable} -m cookbook_hub.cli",
        "SBATCH_LOG": str(tmp_path / "sbatch.log"),
    }
    env.pop("SLURM_JOB_ID", None)
    out = tmp_path / "shared" / "gpt4all"
    script = Path(__file__).parents[2] / "scripts" / "slurm" / "build_array.sbatch"
    args = ["bash", str(script), RECIPE, str(out), str(JOBS), "-n", str(N), "--shard-rows", str(ROWS)]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "submitted shard array 7 (3 tasks) and assemble job 8" in result.stdout
    submitted = (tmp_path / "sbatch.log").read_text().splitlines()
    assert "--array=0-2" in submitted[0] and "--dependency=afterok:7" in submitted[1]
    assert folder_digests(out) == folder_digests(local)
    bad = subprocess.run(["bash", str(script), RECIPE, str(out), "0"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "JOBS must be a positive number" in bad.stderr


@pytest.mark.parametrize("engine", [[], ["--shard", "0/2"], ["--assemble"]])
def test_a_url_output_needs_the_ray_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run("build", RECIPE, "-n", "300", "--out", "s3://bucket/gpt4all", *engine)
    assert code == 2 and "is a URL; only --engine ray writes to one" in err and "add --engine ray" in err
    assert list(tmp_path.iterdir()) == []
