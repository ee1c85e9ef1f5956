"""Quiet output: `train` and `eval` print no git probe messages, no deprecation warnings from our own code, and no
progress bars of preparation steps; only the bars of the real work (training steps, lm-eval's requests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tiny_models", "eval_fixtures"]


def run_cli(args: list[str], cwd: Path) -> str:
    """Run the CLI in a fresh process outside any git repository, with deprecation warnings shown; its stderr."""
    env = {**os.environ, "COOKBOOK_HUB_CACHE": str(cwd / "cache"), "PYTHONWARNINGS": "always::DeprecationWarning"}
    command = [sys.executable, "-m", "cookbook_hub.cli", *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stderr.replace("\r", "\n")


def progress_bars(stderr: str) -> list[str]:
    """The progress-bar lines of some output."""
    return [line.strip() for line in stderr.splitlines() if "%|" in line]


def assert_quiet(stderr: str) -> None:
    """No git probe message, no warning raised by our own code."""
    assert "not a git repository" not in stderr
    assert not re.search(r"cookbook_hub/\S+:\d+: \w*Warning", stderr), stderr
    assert "FutureWarning" not in stderr, stderr


@pytest.mark.slow
def test_eval_shows_only_the_requests_bars(tiny_model: Path, shared_data_dir: Path, tmp_path: Path):
    tasks = f"{shared_data_dir / 'extractive_qa_ropes.jsonl'},cookbook_copy"
    stderr = run_cli(["eval", "-m", str(tiny_model), "-t", tasks, "--limit", "2"], tmp_path)
    assert_quiet(stderr)
    bars = progress_bars(stderr)
    assert bars and all(bar.startswith("Running generate_until requests:") for bar in bars), bars
    assert "Ignoring clean_up_tokenization_spaces" not in stderr  # transformers' log, quiet unless --verbose


@pytest.mark.slow
def test_train_shows_only_the_steps_bar(tiny_llama: Path, copy_data: Path, tmp_path: Path):
    flags = ["--data", str(copy_data), "--model", str(tiny_llama), "--out", str(tmp_path / "adapter")]
    stderr = run_cli(["train", *flags, "--steps", "2", "--batch-size", "2", "--max-length", "64"], tmp_path)
    assert_quiet(stderr)
    bars = progress_bars(stderr)
    assert bars and all(re.match(r"\d+%\|.*\| \d/2 ", bar) for bar in bars), bars  # no labelled preparation bars
