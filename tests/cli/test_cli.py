"""The command line, run as a real process (`python -m cookbook_hub.cli`) and through typer's runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from cookbook_hub.cli import options as cli_options
from cookbook_hub.cli.app import app
from cookbook_hub.cli.options import user_errors
from cookbook_hub.errors import CookbookError
from cookbook_hub.generation.generate import batch_for
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.tokens.sampling import Shard

SMALL = '{"min_len": 2, "max_len": 4}'


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run the CLI in its own process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def run(*args: str):
    """Run the CLI in this process (faster; exceptions surface as `result.exception`)."""
    return CliRunner().invoke(app, list(args))


def assert_refused(result, *needles: str) -> None:
    """An in-process run (`run`) that ended as a user error: exit code 2, a clean exit, every needle said."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, result.output


def rows(path) -> pa.Table:
    return pq.read_table(path).replace_schema_metadata(None)


def assert_user_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert "error:" in result.stderr
    for needle in needles:
        assert needle in output, output


# --- listing and showing ---------------------------------------------------------------------------


def test_templates_json():
    result = run("templates", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert len(listed) >= 12
    assert [t["name"] for t in listed] == template_names()
    for entry in listed:
        assert {"name", "version", "family", "target", "rule"} <= set(entry)
        assert isinstance(entry["version"], int) and entry["version"] >= 1
        assert entry["target"] and entry["rule"]


def test_templates_table(monkeypatch):
    monkeypatch.setattr(cli_options.stdout, "width", 240)  # no wrapping of long names
    result = run("templates")
    assert result.exit_code == 0
    for name in template_names():
        assert name in result.stdout


@pytest.mark.parametrize("style", ["plain", "qa", "chat"])
def test_show(style):
    result = run("show", "key_value", "-n", "2", "--format", style, "--seed", "3")
    assert result.exit_code == 0, result.output
    template = get_template("key_value")
    samples = list(template.samples(0, 2, seed=3))
    for sample in samples:
        assert f"index {sample.index}" in result.stdout
        assert sample.answer in result.stdout
    assert "index 2" not in result.stdout
    if style == "qa":
        assert result.stdout.count("Answer:") == 2
    elif style == "chat":
        assert result.stdout.count("<user>") == 2 and result.stdout.count("<assistant>") == 2
    else:
        assert result.stdout.count(template.instruction) == 2


def test_the_answer_cue_ends_plain_prompts_and_is_refused_elsewhere(tmp_path):
    result = run("show", "key_value", "-n", "1", "--answer-cue")
    assert result.exit_code == 0, result.output
    assert "Answer:" in result.stdout and get_template("key_value").instruction in result.stdout
    refused = run("show", "key_value", "-n", "1", "--format", "qa", "--answer-cue")
    assert refused.exit_code == 2 and "the answer-cue option is for the plain format" in refused.output
    out = tmp_path / "kv.parquet"
    made = cli("generate", "key_value", "-n", "50", "--answer-cue", "--out", str(out), "-q")
    assert made.returncode == 0, made.stderr
    table = pq.read_table(out)
    assert all(p.endswith("\nAnswer:") for p in table.column("prompt").to_pylist())
    assert all(c.startswith(" ") for c in table.column("completion").to_pylist())
    meta = json.loads(table.schema.metadata[b"cookbook_hub"])
    assert (meta["format"], meta["answer_cue"]) == ("plain", True)
    assert "--answer-cue needs --style" in run("eval", "--tasks", "x.jsonl", "--answer-cue").output


def test_show_with_params():
    result = run("show", "copy", "-n", "1", "--params", SMALL)
    assert result.exit_code == 0, result.output
    assert get_template("copy", json.loads(SMALL)).sample(0).answer in result.stdout


# --- generating --------------------------------------------------------------------------------------


def test_generate_parquet_then_load(tmp_path):
    out = tmp_path / "kv.parquet"
    result = cli("generate", "key_value", "-n", "120", "--seed", "2", "--format", "qa", "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert "wrote 120 rows of key_value" in result.stdout
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 120
    assert ds.to_list() == batch_for(get_template("key_value"), range(120), 2, "qa").to_pylist()
    meta = json.loads(pq.read_schema(out).metadata[b"cookbook_hub"])
    assert (meta["template"], meta["seed"], meta["format"], meta["rows"]) == ("key_value", 2, "qa", 120)


def test_generate_jsonl_and_folder(tmp_path):
    result = run("generate", "sort", "-n", "30", "--params", SMALL, "--out", str(tmp_path / "s.jsonl"), "-q")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 30
    result = run("generate", "sort", "-n", "30", "--format", "chat", "--out", str(tmp_path / "folder"), "-q")
    assert result.exit_code == 0, result.output
    ds = datasets.load_from_disk(str(tmp_path / "folder"))
    assert ds.num_rows == 30 and "messages" in ds.column_names


@pytest.mark.slow
def test_generate_two_processes(tmp_path):
    n = "9000"
    one = run("generate", "copy", "-n", n, "--params", SMALL, "--out", str(tmp_path / "one.parquet"), "-q")
    assert one.exit_code == 0, one.output
    two = run("generate", "copy", "-n", n, "--params", SMALL, "--num-proc", "2", "--out", str(tmp_path / "two.parquet"))
    assert two.exit_code == 0, two.output
    assert rows(tmp_path / "two.parquet").equals(rows(tmp_path / "one.parquet"))


def test_generate_shards(tmp_path):
    whole = run("generate", "count", "-n", "301", "--out", str(tmp_path / "all.parquet"), "-q")
    assert whole.exit_code == 0, whole.output
    for k in (1, 0):
        part = run(
            "generate", "count", "-n", "301", "--shard", f"{k}/2", "--out", str(tmp_path / f"p{k}.parquet"), "-q"
        )
        assert part.exit_code == 0, part.output
        assert f"wrote {len(Shard(k, 2).range(301))} rows" in part.stdout
    joined = pa.concat_tables([rows(tmp_path / "p0.parquet"), rows(tmp_path / "p1.parquet")])
    assert joined.equals(rows(tmp_path / "all.parquet"))


def test_generate_with_a_token_list(tmp_path):
    words = sorted(w for w in get_template("copy").token_space.tokens if len(w) == 6)[:100]
    (tmp_path / "words.txt").write_text("\n".join(words), encoding="utf-8")
    out = tmp_path / "c.parquet"
    result = run("generate", "copy", "-n", "50", "--token-space", str(tmp_path / "words.txt"), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    used = {t for text in pq.read_table(out).column("answer").to_pylist() for t in text.split()}
    assert used <= set(words)
    meta = json.loads(pq.read_schema(out).metadata[b"cookbook_hub"])
    assert meta["token_space"]["name"] == "words" and meta["token_space"]["size"] == 100


# --- user errors: exit code 2, one message, no traceback ------------------------------------------------


def raised(error: CookbookError):
    """What a command that raises `error` prints and returns."""
    fails = typer.Typer()

    @fails.command()
    @user_errors
    def command() -> None:
        raise error

    return CliRunner().invoke(fails, [])


def test_error_messages_are_text_not_markup():
    assert_user_error(cli("show", "[/x]"), "unknown template '[/x]'")  # once a rich MarkupError traceback
    result = raised(CookbookError("no tokenizer support", fix="pip install 'cookbook-hub[tokenizers]'"))
    assert result.exit_code == 2 and "fix: pip install 'cookbook-hub[tokenizers]'" in result.output


@pytest.mark.parametrize("n", ["0", "-1"])
def test_show_refuses_no_samples(n):
    assert_user_error(cli("show", "copy", "-n", n), "-n must be >= 1 and <= 1,099,511,627,776 (rows)", f"got {n}")


@pytest.mark.parametrize(
    "command",
    [["show", "copy"], ["generate", "copy", "--out", "x.parquet"], ["build", "generative", "--out", "ds"]],
    ids=["show", "generate", "build"],
)
@pytest.mark.parametrize("n", ["1000000000000000", "0"])
def test_row_counts_are_bounded_up_front(tmp_path, command, n):
    """-n 10**15 once tried to allocate petabytes; now it is refused with the bound before anything runs."""
    result = cli(*command, "-n", n, cwd=tmp_path)
    assert_user_error(result, "-n must be >= 1 and <= 1,099,511,627,776 (rows)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ('{"max_len": 100000000000}', "parameter 'max_len' is 100,000,000,000, above the bound of 1,024"),
        ('{"max_len": NaN}', "NaN is not a number JSON allows"),
        ('{"max_len": 1e999}', "the number 1e999 is too large for a float"),
        ('{"max_len": ' + "[" * 3000 + "]" * 3000 + "}", "nested deeper than 32 levels"),
        ('{"max_len": ' + "9" * 5000 + "}", "--params is not valid JSON"),
    ],
    ids=["huge-length", "nan", "inf", "deep", "huge-int"],
)
def test_params_are_bounded(tmp_path, params, needle):
    """Each of these was a traceback (MemoryError, RecursionError, ValueError) or a hang."""
    out = str(tmp_path / "x.parquet")
    for command in (["show", "copy", "-n", "1"], ["generate", "copy", "-n", "5", "--out", out]):
        assert_refused(run(*command, "--params", params), needle)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "needle"),
    [
        ("a" * 300 + ".parquet", "is 308 bytes long, more than the 223 that fit in"),
        ("a-file/x.parquet", "'a-file' is a file, not a folder"),
        ("a-file/deeper/x.parquet", "'a-file' is a file, not a folder"),
        (".", "output '.' is the current folder or a folder above it"),
        ("..", "output '..' is the current folder or a folder above it"),
        ("sub/../..", "is the current folder or a folder above it"),
    ],
    ids=["too-long", "parent-is-a-file", "ancestor-is-a-file", "dot", "dotdot", "above"],
)
@pytest.mark.parametrize("command", [["generate", "copy"], ["build", "generative"]])
def test_outputs_that_cannot_be_written_are_refused_up_front(tmp_path, monkeypatch, command, out, needle):
    work = tmp_path / "work"
    work.mkdir()
    (work / "a-file").write_text("precious")
    monkeypatch.chdir(work)
    assert_refused(run(*command, "-n", "20", "--out", out, "--overwrite", "-q"), needle)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "work"]
    assert (work / "a-file").read_text() == "precious"


@pytest.mark.parametrize("out", ["x.parquet", "x.jsonl", "x", "sub/x.parquet"])
def test_a_read_only_folder_is_named(tmp_path, out):
    """Root may write to a folder whatever its mode, so the folder is a read-only mount."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a read-only tmpfs (needs root): {mounted.stderr.decode().strip()}")
    try:
        result = cli("generate", "copy", "-n", "5", "--out", str(folder / out), "-q")
        assert_user_error(result, f"cannot write {str(folder / out)!r}", "read-only file system")
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_unknown_template_suggests(tmp_path):
    result = cli("generate", "span", "-n", "5", "--out", str(tmp_path / "x.parquet"))
    assert_user_error(result, "unknown template 'span'", "did you mean 'span_qa'")
    assert not (tmp_path / "x.parquet").exists()
    shown = run("show", "revers")
    assert shown.exit_code == 2 and isinstance(shown.exception, SystemExit)
    assert "did you mean 'reverse'" in shown.output


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ('{"min_len": 4', "--params is not valid JSON"),
        ("[1, 2]", "--params must be a JSON object"),
        ('{"min_len": 0}', "invalid parameter 'min_len'"),
        ('{"min_len": 9, "max_len": 3}', "invalid parameter 'min_len'"),
        ('{"length": 3}', "unknown parameter 'length'"),
    ],
)
def test_bad_params(tmp_path, params, needle):
    result = run("generate", "copy", "-n", "5", "--params", params, "--out", str(tmp_path / "x.parquet"))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    assert needle in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_bad_params_in_a_real_process(tmp_path):
    """Every template's validation errors reach the user as one message (count has a float field)."""
    result = cli("generate", "count", "-n", "5", "--params", '{"rate": 1.5}', "--out", str(tmp_path / "x.parquet"))
    assert_user_error(result, "invalid parameter 'rate'", "fix:")
    assert not (tmp_path / "x.parquet").exists()


def test_existing_output_is_refused_and_kept(tmp_path):
    out = tmp_path / "x.parquet"
    out.write_bytes(b"precious")
    result = cli("generate", "copy", "-n", "5", "--out", str(out))
    assert_user_error(result, "already exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]
    again = run("generate", "copy", "-n", "5", "--out", str(out), "--overwrite", "-q")
    assert again.exit_code == 0, again.output
    assert rows(out).equals(pa.Table.from_batches([batch_for(get_template("copy"), range(5), 0, "plain")]))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "xml"], "unknown format 'xml'"),
        (["--shard", "2/2"], "shard index 2"),
        (["--shard", "x"], "invalid shard 'x'"),
        (["-n", "0"], "-n must be >= 1"),
        (["--num-proc", "0"], "num_proc must be >= 1"),
        (["--token-space", "/no/such/tokenizer"], "unknown token space"),
    ],
)
def test_bad_options(tmp_path, args, needle):
    out = tmp_path / "x.parquet"
    base = ["generate", "copy", "-n", "5", "--out", str(out), "-q"]
    result = run(*base, *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert needle in result.output
    assert not out.exists()


def test_bad_format_in_a_real_process(tmp_path):
    result = cli("generate", "copy", "-n", "5", "--format", "xml", "--out", str(tmp_path / "x.parquet"))
    assert_user_error(result, "unknown format 'xml'", "plain, qa, chat")
    assert list(tmp_path.iterdir()) == []


def test_bad_suffix(tmp_path):
    result = run("generate", "copy", "-n", "5", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "unsupported output" in result.output
    assert list(tmp_path.iterdir()) == []


def test_missing_required_option_is_a_usage_error():
    result = run("generate", "copy", "-n", "5")
    assert result.exit_code == 2
    assert "--out" in result.output


def test_eval_refuses_a_limit_below_one():
    result = run("eval", "--tasks", "templates", "--limit", "0")
    assert_refused(result, "Invalid value for '--limit'", "Input should be greater than or equal to")


@pytest.mark.parametrize(("text", "needle"), [("{bad", "is not a valid"), ("[]", "holds a list, not an object")])
def test_an_adapter_config_that_is_not_a_json_object_is_named(tmp_path, text, needle):
    (tmp_path / "adapter_config.json").write_text(text)
    result = run("eval", "--adapter", str(tmp_path), "--tasks", "templates", "--limit", "1")
    assert_refused(result, f"{str(tmp_path / 'adapter_config.json')!r} is not a valid", needle)


def test_a_token_space_name_too_long_for_the_filesystem_is_unknown():
    """Found by the fuzz suite: once an OSError traceback from the existence check."""
    assert_refused(run("show", "copy", "-n", "1", "--token-space", "a" * 300), "unknown token space 'aaaa")


def test_an_error_is_printed_on_one_line():
    """Found by the fuzz suite: a YAML error printed over six lines."""
    result = raised(CookbookError("README.md: invalid YAML:\n  in line 1\n    {\n     ^", fix="fix\nthe card"))
    assert result.exit_code == 2
    assert result.stderr == "error: README.md: invalid YAML: in line 1 { ^\n  fix: fix the card\n"


def test_spawned_workers_of_the_console_script_do_not_import_the_command_line(tmp_path: Path) -> None:
    """`build --num-proc 2` from a script made like the installed `cookbook-hub` one, in a process that runs a
    second thread, so that its worker is spawned, not forked: the worker imports what writes parts, not the
    script and the whole command line again (each Python process reports its imports to stderr)."""
    script = tmp_path / "cookbook-hub"
    script.write_text(
        "import sys\nimport threading\n"
        "threading.Thread(target=threading.Event().wait, daemon=True).start()  # workers are spawned\n"
        "from cookbook_hub.cli.app import main\n"
        "if __name__ == '__main__':\n    sys.exit(main())\n",
        encoding="utf-8",
    )
    args = ["build", "gpt4all@0.1.0", "-n", "3000", "--shard-rows", "1000", "-p", "2", "-q", "--out", "out"]
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    cmd = [sys.executable, str(script), *args]
    result = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    top_level = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| (\S+)$", result.stderr, re.MULTILINE)
    assert top_level.count("cookbook_hub.cli.app") == 1  # the command's own process only
    assert "cookbook_hub.dataset.local_engine" in top_level  # the worker's first import of ours
