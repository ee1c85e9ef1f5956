"""Shared test setup: no network, and the real-task data files from shared/data."""

from __future__ import annotations

import os

# Set before anything imports huggingface_hub or datasets: tests never reach the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder of real-task JSONL extracts (skips the test where it is missing)."""
    if not (SHARED_DATA / "extractive_qa_ropes.jsonl").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def load_jsonl(shared_data_dir: Path):
    """Read one of the shared JSONL files by name into a list of dicts."""

    def load(name: str) -> list[dict]:
        with (shared_data_dir / name).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    return load


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a wheel or starts processes (still part of the suite)")
