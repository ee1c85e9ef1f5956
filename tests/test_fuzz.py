"""Property-based fuzzing of what users hand the tool: command-line arguments, recipe YAML, real-task files and
built folders (mutated before they are published to a local hub folder).

Every run must end with exit code 0, or exit code 2 with one `error:` line (and its `fix:`) or a usage error, and
no traceback; it must write nothing outside the output it names, leave no hidden `.NAME.*` sibling, and leave
nothing under the output's name unless it succeeded (then the output is complete). A run still going after
HANG_S seconds is a hang. Corrupt data that publishes anyway is a wrong success.

Profiles (HYPOTHESIS_PROFILE): `ci` (the default: 198 derandomized examples, 10 to 35 s) and `long` (thousands of
random examples; `make fuzz`). With FUZZ_STATS=PATH the outcome counts are written there as JSON.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from crash_tools import save_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.recipes.schema import recipe_names
from cookbook_hub.templates import template_names
from cookbook_hub.tokens.sampling import Shard

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
LONG_FACTOR = 20  # the long profile runs this many times the ci profile's examples
HANG_S = 60
quiet = list(HealthCheck)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, suppress_health_check=quiet)
settings.register_profile("long", deadline=None, suppress_health_check=quiet)
BASE = settings.get_profile(PROFILE if PROFILE in ("ci", "long") else "ci")
OUTCOMES: collections.Counter = collections.Counter()


def examples(ci: int) -> settings:
    """The fuzz settings: `ci` examples in the ci profile, LONG_FACTOR times as many in the long one."""
    return settings(BASE, max_examples=ci if PROFILE != "long" else ci * LONG_FACTOR)


@pytest.fixture(scope="module", autouse=True)
def record_outcomes() -> Iterator[None]:
    yield
    save_counts(OUTCOMES, "FUZZ_STATS")


# ------------------------------------------------------------------ running a command and judging it


class Hang(Exception):
    """A command still running after HANG_S seconds."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def workplace() -> Iterator[Path]:
    """A fresh folder as the working directory, with the cache inside it; a file `f` is there from the start."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, contextlib.chdir(tmp), pytest.MonkeyPatch.context() as mp:
        mp.setenv("COOKBOOK_HUB_CACHE", str(Path(tmp) / "cache"))
        Path(tmp, "f").write_text("a file, not a folder")
        yield Path(tmp)


def entries(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def invoke(kind: str, args: list[str]) -> Any:
    """Run the CLI in this process; a hang is raised, every outcome counted under `kind`."""
    with watchdog(HANG_S):
        result = CliRunner().invoke(app, args)
    if isinstance(result.exception, Hang):
        OUTCOMES[f"{kind}: hang"] += 1
        raise AssertionError(f"hang: cookbook-hub {args!r}")
    return result


def judge(kind: str, args: list[str], code: int, stderr: str, exception: BaseException | None = None) -> bool:
    """Assert exit 0, or exit 2 with one error line (or a usage error) and no traceback; True on success."""
    shown = f"cookbook-hub {' '.join(map(repr, args))}"
    if code == 0:
        OUTCOMES[f"{kind}: exit 0"] += 1
        return True
    OUTCOMES[f"{kind}: exit {code}"] += 1
    assert code == 2, f"{shown}: exit {code} ({exception!r})\n{stderr}"
    assert exception is None or isinstance(exception, SystemExit), f"{shown}: {exception!r}"
    assert "Traceback" not in stderr, f"{shown}:\n{stderr}"
    lines = stderr.splitlines()
    if lines and lines[0].startswith("Usage:"):
        assert "Error" in stderr, f"{shown}:\n{stderr}"
        return False
    assert len(lines) in (1, 2) and lines[0].startswith("error: "), f"{shown}: not one error line:\n{stderr}"
    assert len(lines) == 1 or lines[1].startswith("  fix: "), f"{shown}:\n{stderr}"
    return False


def in_a_process(args: list[str]) -> tuple[int, str]:
    """Run the CLI as a user would, in its own process: exit code and stderr."""
    env = {**os.environ, "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "cookbook_hub.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_S * 2, env=env)
    return done.returncode, done.stderr


def run_and_judge(
    kind: str, root: Path, args: list[str], out: str | None, allowed: tuple[str, ...] = (), process: bool = False
) -> bool:
    """Invoke, judge, then check what was written: nothing outside `out` (and `allowed`), no hidden sibling of
    `out`, and nothing under its name after a failure."""
    before = entries(root)
    existed = bool(out) and os.path.lexists(root / out)
    if process:
        ok = judge(kind, args, *in_a_process(args))
    else:
        result = invoke(kind, args)
        ok = judge(kind, args, result.exit_code, result.stderr, result.exception)
    made = entries(root) - before
    keep = tuple(x for x in (out, *allowed, "cache") if x)
    stray = sorted(p for p in made if not any(p == k or p.startswith(f"{k}/") for k in keep))
    stray = [p for p in stray if not (out and Path(out).is_relative_to(p))]  # the folders the output goes into
    assert not stray, f"{args!r} wrote outside its output: {stray}"
    if out and not ok:
        assert existed or not os.path.lexists(root / out), f"{args!r} failed but left {out}"
    return ok


# ------------------------------------------------------------------ command-line arguments

weird = st.sampled_from(
    [
        "",
        " ",
        "-",
        "--",
        "0",
        "-1",
        "1e15",
        "nan",
        "inf",
        "[/x]",
        "[bold]x",
        "é",
        "日本",
        "\u202e",
        "a" * 300,
        ".",
        "..",
    ]
)
counts = st.integers(1, 30).map(str) | st.sampled_from(["0", "-1", "1e15", "1000000000000000", "9" * 30, "x"]) | weird
seeds = st.integers(-(2**70), 2**70).map(str) | weird
names = st.sampled_from(template_names()) | st.text(max_size=12) | weird
param_values = (
    st.integers(-5, 70)
    | st.sampled_from([0, 2**40, 10**30, -(2**63), 1.5, 1e308, "4", None, True, [], {}])
    | st.text(max_size=5)
)
param_names = st.sampled_from(["min_len", "max_len", "num_options", "context_max_len", "answer_len", "rate"])
params_json = (
    st.dictionaries(param_names | st.text(max_size=6), param_values, max_size=3).map(json.dumps)
    | st.sampled_from(['{"max_len": NaN}', '{"max_len": 1e999}', "[1]", "{", '{"a": ' + "[" * 2000 + "]" * 2000 + "}"])
    | st.text(max_size=20)
)
outs = st.sampled_from(
    ["x.parquet", "x.jsonl", "x", "sub/x.parquet", "f/x.parquet", ".", "..", "x.csv", "ü.parquet", "[x].jsonl"]
) | st.just("a" * 250 + ".parquet")
common = st.fixed_dictionaries(
    {},
    optional={
        "--seed": seeds,
        "--format": st.sampled_from(["plain", "qa", "chat"]) | weird,
        "--params": params_json,
        "--token-space": st.sampled_from(["default", "f", "nope.txt", "."]) | weird,
    },
)


def options(chosen: dict[str, str]) -> list[str]:
    return [part for key, value in chosen.items() for part in (key, value)]


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], str | None]:
    """A command with arguments drawn from valid and hostile values, and the output it names (if any)."""
    command = draw(st.sampled_from(["generate", "build", "show", "recipe validate", "recipe show", "templates"]))
    if command == "generate":
        out = draw(outs)
        extra = draw(st.lists(st.sampled_from(["--overwrite", "--instruction", "--shard", "--num-proc"]), unique=True))
        args = ["generate", draw(names), "-n", draw(counts), "--out", out, "-q", *options(draw(common))]
        for flag in extra:
            value = {"--shard": st.sampled_from(["0/1", "1/2", "2/2", "x", "0/0", "-1/2"]), "--num-proc": counts}.get(
                flag
            )
            args += (
                [flag, draw(value.filter(lambda v: v not in ("1e15",) and len(v) < 4))] if value is not None else [flag]
            )
        return args, out
    if command == "build":
        out = draw(outs)
        spec = draw(st.sampled_from([*recipe_names(), "templates", "gpt4all@0.1.0", "gpt4all@9.9.9", "f"]) | weird)
        n = draw(st.integers(1, 20).map(str) | st.sampled_from(["0", "-1", "1000000000000000"]))
        repo = draw(st.none() | st.sampled_from(["me/x", "../../x", "a\nb", "x"]))
        return ["build", spec, "-n", n, "--out", out, "-q", *(["--repo-id", repo] if repo else [])], out
    if command == "show":
        return ["show", draw(names), "-n", draw(counts.filter(lambda v: not v.isdigit() or int(v) < 50))] + options(
            draw(common)
        ), None
    if command == "recipe validate":
        return ["recipe", "validate", draw(st.sampled_from(["f", "nope.yaml", ".", "/"]) | weird)], None
    if command == "recipe show":
        return ["recipe", "show", draw(st.sampled_from(recipe_names()) | st.text(max_size=10) | weird)], None
    return [draw(st.sampled_from(["templates", "recipes"])), *draw(st.sampled_from([[], ["--json"], ["--x"]]))], None


def check_complete(root: Path, args: list[str], out: str) -> None:
    """A successful run's output is complete: its rows can be read back (generate) or its manifest (build)."""
    path = root / out
    if args[0] == "build":
        assert DatasetFolder(path).manifest()["configs"], args
        return
    rows = int(args[args.index("-n") + 1])
    if "--shard" in args:  # generate --shard K/N writes shard K's rows of the -n
        rows = len(Shard.parse(args[args.index("--shard") + 1]).range(rows))
    if path.suffix == ".parquet":
        assert pq.read_metadata(path).num_rows == rows, args
    elif path.suffix == ".jsonl":
        assert len(path.read_text(encoding="utf-8").splitlines()) == rows, args


@examples(ci=80)
@given(command_lines())
def test_command_line_arguments(line: tuple[list[str], str | None]) -> None:
    args, out = line
    with workplace() as root:
        if run_and_judge("arguments", root, args, out) and out and args[0] in ("generate", "build"):
            check_complete(root, args, out)


@examples(ci=3)
@given(command_lines())
def test_command_line_arguments_in_a_real_process(line: tuple[list[str], str | None]) -> None:
    args, out = line
    if not any("\0" in a for a in args):  # a process's arguments cannot hold NUL
        with workplace() as root:
            run_and_judge("arguments (process)", root, args, out, process=True)


# ------------------------------------------------------------------ recipes

numbers = st.sampled_from([1, 0, -1, 0.5, 1e-320, 1e308, 2**64, 10**400, float("inf"), float("nan"), -0.0, True])
leaves = st.none() | st.booleans() | numbers | st.text(max_size=8) | st.integers()
plain_data = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


def nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def recipe_texts(draw: st.DrawFn) -> str:
    """A recipe YAML document: a small valid recipe with hostile changes, some made in the text itself."""
    data: dict[str, Any] = {
        "name": "fuzz",
        "version": "0.1.0",
        "templates": [{"template": "copy", "weight": 1, "params": {"max_len": 8}}, {"template": "sort", "weight": 2}],
        "size": 20,
    }
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(["weight", "size", "seed", "name", "description", "params", "learned", "deep"]))
        if field == "weight":
            data["templates"][draw(st.integers(0, 1))]["weight"] = draw(numbers)
        elif field in ("size", "seed"):
            data[field] = draw(numbers | st.integers(-(2**70), 2**70))
        elif field in ("name", "description"):
            data[field] = draw(st.text(max_size=30))
        elif field == "params":
            data["templates"][0]["params"] = draw(st.dictionaries(param_names | st.text(max_size=4), param_values))
        elif field == "learned":
            data["provenance"] = {
                "kind": "learned",
                "learned_from": draw(st.dictionaries(st.text(max_size=5), plain_data)),
            }
        else:
            data[draw(st.sampled_from(["description", "splits", "size"]))] = nested("x", draw(st.integers(1, 80)))
    text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)
    trick = draw(st.sampled_from(["none", "none", "bomb", "alias", "recursive", "garbage", "bytes"]))
    if trick == "bomb":
        depth = draw(st.integers(2, 9))
        laughs = [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "lol"] * 9) + "]" for i in range(depth)]
        text += "notes_bomb:\n" + "\n".join(laughs) + "\n"
    elif trick == "alias":
        text = text.replace("weight: 1\n", "weight: &w 1\n", 1) + "seed: *w\n"
    elif trick == "recursive":
        text += "provenance: {kind: learned, learned_from: &a {x: *a}}\n"
    elif trick == "garbage":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=10)) + text[at:]
    return text


@examples(ci=50)
@given(recipe_texts(), st.booleans())
def test_recipe_documents(text: str, build_it: bool) -> None:
    with workplace() as root:
        (root / "r.yaml").write_text(text, encoding="utf-8")
        valid = run_and_judge("recipes", root, ["recipe", "validate", "r.yaml"], None)
        if valid and build_it:
            assert run_and_judge("recipes", root, ["build", "r.yaml", "-n", "12", "--out", "ds", "-q"], "ds"), text


# ------------------------------------------------------------------ real-task files

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_FILES = sorted(SHARED_DATA.glob("*.jsonl"))
ROW = {"id": "1", "context": "the cat sat on the mat", "question": "where did the cat sit", "choices": None}
rows = st.fixed_dictionaries(
    {
        "id": st.text(max_size=4) | st.integers(),
        "context": st.text(max_size=30),
        "question": st.text(max_size=20),
        "choices": st.none() | st.lists(st.text(max_size=6), max_size=4),
        "answer": st.text(max_size=8),
    }
).map(lambda row: {**row, "answer": row["choices"][0] if row["choices"] and len(row["answer"]) % 2 else row["answer"]})
lines = (
    rows.map(lambda row: json.dumps(row).encode())
    | st.just(json.dumps({**ROW, "answer": "the mat"}).encode())
    | st.sampled_from([b"{", b"[]", b'{"id": NaN}', b'{"id": 1e999}', b"\xff\xfe", b'{"id": ' + b"9" * 5000 + b"}"])
    | st.integers(1, 3000).map(lambda depth: b'{"id": ' + b"[" * depth + b"]" * depth + b"}")
    | st.binary(max_size=20)
)


def real_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()[:6]


real_files = st.sampled_from(SHARED_FILES).map(real_lines) if SHARED_FILES else st.just([])
task_files = (
    st.lists(lines, max_size=6)
    | real_files
    | st.tuples(real_files, st.lists(lines, max_size=2)).map(lambda parts: parts[0] + parts[1])
)
templates = st.sampled_from(["span_qa", "overlap_choice", "two_way_choice", "containment", "copy", "x"])


@examples(ci=40)
@given(task_files, templates)
def test_task_files(content: list[bytes], template: str) -> None:
    with workplace() as root:
        (root / "task.jsonl").write_bytes(b"\n".join(content))
        args = ["align", "--task", "task.jsonl", "--template", template, "--rule-only", "--out", "report"]
        run_and_judge("task files", root, args, "report")


# ------------------------------------------------------------------ built folders, mutated, then published

CORRUPTING = ("truncate a shard", "delete a shard", "swap a shard", "recount rows")


@pytest.fixture(scope="module")
def built() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-built-") as tmp:
        result = CliRunner().invoke(app, ["build", "generative", "-n", "40", "--out", f"{tmp}/ds", "-q"])
        assert result.exit_code == 0, result.output
        yield Path(tmp) / "ds"


def mutate(folder: Path, how: str, value: Any) -> None:
    """Change a built folder as a user, a bad copy or a bad disk might."""
    manifest = folder / DatasetFolder.MANIFEST
    shards = sorted(folder.rglob("*.parquet"))
    data = json.loads(manifest.read_text())
    if how == "truncate a shard":
        shards[0].write_bytes(shards[0].read_bytes()[: len(shards[0].read_bytes()) // 2])
    elif how == "delete a shard":
        shards[-1].unlink()
    elif how == "swap a shard":
        shutil.copy(shards[0], shards[-1])
    elif how == "recount rows":
        config = next(iter(data["configs"].values()))
        split = next(iter(config["splits"].values())) if "splits" in config else config
        split["num_examples"] = split.get("num_examples", 0) + 7
        manifest.write_text(json.dumps(data))
    elif how == "manifest key":
        data[value[0]] = value[1]
        manifest.write_text(json.dumps(data))
    elif how == "manifest text":
        manifest.write_text(value)
    elif how == "readme text":
        (folder / "README.md").write_text(value)
    elif how == "front matter":
        readme = (folder / "README.md").read_text()
        (folder / "README.md").write_text(f"---\n{value}\n---\n" + readme.split("---\n", 2)[-1])


readme_values = st.sampled_from(
    [
        "configs: [{config_name: default}]",
        "configs: 3",
        "configs: []",
        "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b]",
        "configs: " + "[" * 200 + "]" * 200,
        "{",
        "- a list",
    ]
) | st.text(max_size=40)
mutations = st.one_of(
    st.tuples(st.sampled_from(CORRUPTING), st.none()),
    st.tuples(st.just("manifest key"), st.tuples(st.sampled_from(["configs", "kind", "recipe", "x"]), plain_data)),
    st.tuples(st.just("manifest text"), st.sampled_from(["{}", "[]", "", "{", "null", '"x"']) | st.text(max_size=20)),
    st.tuples(st.just("readme text"), st.text(max_size=40)),
    st.tuples(st.just("front matter"), readme_values),
)


@examples(ci=25)
@given(mutation=mutations, tag=st.sampled_from([None, "v0.1.0", "bad tag", "v1"]))
def test_built_folders_mutated_before_publishing(built: Path, mutation: tuple[str, Any], tag: str | None) -> None:
    how, value = mutation
    with workplace() as root:
        shutil.copytree(built, root / "ds")
        mutate(root / "ds", how, value)
        args = ["publish", "ds", "--to", "hub/me/x", *(["--tag", tag] if tag else [])]
        ok = run_and_judge("built folders", root, args, "hub/me/x", allowed=("hub/me/.x.lock", "hub/me", "hub"))
        if ok:
            OUTCOMES["built folders: wrong success"] += how in CORRUPTING
            assert how not in CORRUPTING, f"corrupt data published: {how}"
            status = subprocess.run(["git", "-C", "hub/me/x", "status", "--porcelain"], capture_output=True, text=True)
            assert status.returncode == 0 and status.stdout == "", status
