"""The token never shows: every command that reads from the Hub, against a server on 127.0.0.1 that answers every
request with an error quoting the request's Authorization header, exits with code 2 and one clear error line, and
neither its output nor any file it writes holds the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TOKEN = "hf_EchoTestToken0123456789abcdefghij"  # shaped like a Hub token, valid nowhere
SERVER_LIFETIME_S = 120  # the server stops by itself after this long
COMMAND_TIMEOUT_S = 90
TINY_CONFIG = {  # enough for `--model` to pass its check, so `eval --adapter` goes on to fetch the adapter
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 32,
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
}


class EchoServer(ThreadingHTTPServer):
    """An HTTP server on a free loopback port whose every answer is HTTP `status` quoting the Authorization header."""

    daemon_threads = True

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), EchoAuthorization)
        self.status = status
        self.authorizations: list[str] = []

    @property
    def url(self) -> str:
        """The endpoint to give HF_ENDPOINT."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class EchoAuthorization(BaseHTTPRequestHandler):
    """Answers any request with the server's status, and a JSON body and X-Error-Message that quote the request's
    Authorization header, as a careless server or proxy might."""

    server: EchoServer
    timeout = 10  # seconds a connection may stay silent

    def answer(self) -> None:
        """Send the error (no body for HEAD); the connection closes after it (HTTP/1.0)."""
        authorization = self.headers.get("Authorization", "")
        self.server.authorizations.append(authorization)
        said = f"rejected Authorization: {authorization}"
        body = json.dumps({"error": said}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Error-Message", said)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `authorizations` instead."""


@contextmanager
def echo_server(status: int) -> Iterator[EchoServer]:
    """An EchoServer running in a thread: stopped at the end, or by itself after SERVER_LIFETIME_S."""
    server = EchoServer(status)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    timer = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
    timer.daemon = True
    thread.start()
    timer.start()
    try:
        yield server
    finally:
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_against(server: EchoServer, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `cookbook-hub ARGS` as a real process in `cwd`, online against `server`, with the token set, and every
    cache and settings folder under `cwd`."""
    env = {key: value for key, value in os.environ.items() if key != "HUGGING_FACE_HUB_TOKEN"}
    env |= {
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": TOKEN,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(cwd / "hf-home"),
        "XDG_CACHE_HOME": str(cwd / "xdg-cache"),
        "COOKBOOK_HUB_CACHE": str(cwd / "cache"),
        "HF_HUB_ETAG_TIMEOUT": "5",
        "HF_HUB_DOWNLOAD_TIMEOUT": "5",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )


CASES = {
    "eval-adapter": (
        400,
        ["eval", "--model", "tiny", "--adapter", "hf://me/x", "--tasks", "templates"],
        "fetching hf://me/x@main failed",
    ),
    "eval-model": (401, ["eval", "-m", "me/nonexistent-model", "-t", "templates"], "'me/nonexistent-model': HTTP 401"),
    "train-data": (400, ["train", "--data", "hf://me/x@v0.1.0", "--out", "adapter"], "fetching hf://me/x@v0.1.0"),
    "pull": (418, ["pull", "hf://me/x", "--revision", "v0.1.0", "--out", "pulled"], "(HTTP 418): rejected"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_remote_errors_never_show_the_token(tmp_path: Path, case: str) -> None:
    status, args, expected = CASES[case]
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "config.json").write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    with echo_server(status) as server:
        result = run_against(server, tmp_path, *args)
    assert f"Bearer {TOKEN}" in server.authorizations  # the server did echo the token
    output = result.stdout + result.stderr
    assert TOKEN not in output, output
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = result.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    error = lines[errors[0]]
    assert expected in error and "rejected Authorization: Bearer ***" in error, error
    assert lines[errors[0] + 1].startswith("  fix: ") and errors[0] + 2 == len(lines), result.stderr
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert all(TOKEN.encode() not in path.read_bytes() for path in written), written
