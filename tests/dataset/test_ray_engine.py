"""The Ray engine: one Ray task per Parquet file on a local Ray instance with 2 CPUs; the folder equals the local
engine's byte for byte, and an unreachable --ray-address is one clear error that writes nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from digests import folder_digests
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.ray_engine import build_ray
from cookbook_hub.errors import IntegrityError

ray = pytest.importorskip("ray")

RECIPE = "gpt4all@0.1.0"
N = 3000
ROWS = 1000  # five parts: three train files, validation, test


def test_ray_build_equals_the_local_build(local_ray: None, tmp_path: Path) -> None:
    build(RECIPE, tmp_path / "local", n=N, max_shard_rows=ROWS, progress=False, finish=write_dataset_card)
    out = tmp_path / "ray"
    args = ["build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--engine", "ray", "--out", str(out), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "gpt4all: train 2,880, validation 60, test 60" in result.stdout
    assert folder_digests(out) == folder_digests(tmp_path / "local")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local", "ray"]  # no staging left beside it


def test_a_failed_build_leaves_nothing(local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "ray"
    monkeypatch.setattr("cookbook_hub.dataset.ray_engine.assemble", _refuse)
    with pytest.raises(IntegrityError, match="refused"):
        build_ray(RECIPE, out, n=300, progress=False)
    assert list(tmp_path.iterdir()) == []


def _refuse(*args: object, **kwargs: object) -> None:
    raise IntegrityError("refused")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_address_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    out = tmp_path / "x"
    cmd = [sys.executable, "-m", "cookbook_hub.cli", "build", RECIPE, "-n", "300", "-q"]
    result = subprocess.run(
        [*cmd, "--engine", "ray", "--ray-address", address, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"error: cannot reach a Ray cluster at --ray-address {address!r}: Connection refused"
    )
    assert "ray start --head" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
