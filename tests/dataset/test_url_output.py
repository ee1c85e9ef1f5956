"""Ray builds written to a URL: to S3 (a real S3 server, moto's, on localhost, reached by s3fs and by the Ray
tasks through --storage-options) and to a file:// URL. The folder equals the local build byte for byte; an
existing output, a missing bucket, a bucket's root, a missing backend and a failure while placing are clear
errors that leave nothing under the output's name and no staging beside it; credentials are never shown."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from digests import folder_digests
from typer.testing import CliRunner

from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.cli.app import app
from cookbook_hub.dataset import url_output
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.ray_engine import build_ray
from cookbook_hub.errors import OutputPathError, ParameterError

ray = pytest.importorskip("ray")
moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")

RECIPE = "gpt4all@0.1.0"
N = 3000
ROWS = 1000  # five parts: three train files, validation, test
SECRET = "s3cr3t-do-not-print-7f3a"
BUILD = ["build", RECIPE, "-n", str(N), "--shard-rows", str(ROWS), "--engine", "ray", "-q"]


def digests(fs: object, root: str) -> dict[str, str]:
    """sha256 of every file under `root` on an fsspec filesystem, by path inside it."""
    return {p[len(root) + 1 :]: hashlib.sha256(fs.cat_file(p)).hexdigest() for p in sorted(fs.find(root))}


@pytest.fixture(scope="module")
def s3() -> Iterator[dict]:
    """An S3 server on localhost with an empty bucket `bucket`; yields the storage options that reach it."""
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "endpoint_url": f"http://{host}:{port}",
        "key": "testing",
        "secret": SECRET,
        "client_kwargs": {"region_name": "us-east-1"},
    }
    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id="testing",
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="bucket")
    yield options
    server.stop()


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "gpt4all"
    build(RECIPE, out, n=N, max_shard_rows=ROWS, progress=False, finish=write_dataset_card)
    return out


def bucket(options: dict) -> object:
    fs = s3fs.S3FileSystem(**options)
    fs.invalidate_cache()
    return fs


def test_an_s3_build_equals_the_local_build(local_ray: None, s3: dict, local_build: Path) -> None:
    url = "s3://bucket/datasets/gpt4all"
    result = CliRunner().invoke(app, [*BUILD, "--out", url, "--storage-options", json.dumps(s3)])
    assert result.exit_code == 0, result.stderr
    assert "gpt4all: train 2,880, validation 60, test 60" in result.stdout
    assert f"built recipe into {url}" in result.stdout
    fs = bucket(s3)
    assert digests(fs, "bucket/datasets/gpt4all") == folder_digests(local_build)
    assert fs.ls("bucket/datasets", detail=False) == ["bucket/datasets/gpt4all"]  # no staging left beside it
    published = "".join(fs.cat_file(p).decode() for p in fs.find("bucket") if p.endswith((".md", ".json")))
    assert SECRET not in published and s3["endpoint_url"] not in published

    again = CliRunner().invoke(app, [*BUILD, "--out", url, "--storage-options", json.dumps(s3)])
    assert again.exit_code == 2
    assert again.stderr.startswith(f"error: output '{url}' already exists")
    assert SECRET not in again.stderr + again.stdout

    fs.pipe_file("bucket/datasets/.gpt4all.partial-0ld/gpt4all/train-00000-of-00003.parquet", b"a killed build's")
    smaller = ["build", RECIPE, "-n", "300", "--engine", "ray", "-q", "--out", url, "--overwrite"]
    replaced = CliRunner().invoke(app, [*smaller, "--storage-options", json.dumps(s3)])
    assert replaced.exit_code == 0, replaced.stderr
    assert replaced.stderr.startswith("warning: s3://bucket/datasets/.gpt4all.partial-0ld holds the staged files")
    assert bucket(s3).exists("bucket/datasets/.gpt4all.partial-0ld")  # left: its build may still run elsewhere
    manifest = json.loads(bucket(s3).cat_file("bucket/datasets/gpt4all/cookbook_build.json"))
    assert manifest["configs"]["gpt4all"]["splits"]["train"]["files"] == ["gpt4all/train-00000-of-00001.parquet"]
    assert [p.rsplit("/", 1)[1] for p in bucket(s3).find("bucket/datasets/gpt4all/gpt4all")] == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]  # the old build's files are gone


def test_a_missing_bucket_and_a_bucket_root_are_refused(local_ray: None, s3: dict) -> None:
    options = json.dumps(s3)
    missing = CliRunner().invoke(app, [*BUILD, "--out", "s3://no-such-bucket/x", "--storage-options", options])
    assert missing.exit_code == 2
    first = missing.stderr.splitlines()[0]
    assert first == "error: cannot write 's3://no-such-bucket/x': s3://no-such-bucket does not exist"
    root = CliRunner().invoke(app, [*BUILD, "--out", "s3://bucket", "--storage-options", options])
    assert root.exit_code == 2 and "names the root of a bucket or store" in root.stderr
    assert SECRET not in missing.stderr + root.stderr
    assert not bucket(s3).exists("no-such-bucket")  # not created by the build


def test_storage_options_are_checked_without_echoing_them(tmp_path: Path) -> None:
    bad = CliRunner().invoke(app, [*BUILD, "--out", "s3://bucket/x", "--storage-options", '{"secret": "' + SECRET])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --storage-options is not valid JSON")
    assert SECRET not in bad.stderr
    local = CliRunner().invoke(app, ["build", RECIPE, "--out", str(tmp_path / "x"), "--storage-options", "{}"])
    assert local.exit_code == 2 and "--storage-options needs --engine ray" in local.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed here")
def test_a_store_without_an_installed_backend_names_it() -> None:
    with pytest.raises(ParameterError, match="gcsfs") as error:
        build_ray(RECIPE, "gs://bucket/gpt4all", n=300, progress=False)
    assert "pip install" in error.value.fix


def test_a_failure_while_placing_leaves_nothing(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = url_output.upload

    def fail_on_manifest(fs: object, local: Path, path: str) -> None:
        if path.endswith("cookbook_build.json"):
            raise OSError("the store went away")
        real(fs, local, path)

    monkeypatch.setattr(url_output, "upload", fail_on_manifest)
    url = f"file://{tmp_path}/out"
    with pytest.raises(OutputPathError, match=f"cannot write {url}: the store went away"):
        build_ray(RECIPE, url, n=300, progress=False, finish=write_dataset_card)
    assert list(tmp_path.iterdir()) == []  # neither the output nor the staging folder


def test_a_file_url_build_with_a_failing_card_leaves_nothing(local_ray: None, tmp_path: Path) -> None:
    def refuse(folder: Path, **where: object) -> None:
        assert isinstance(where["data"], url_output.UrlFolder)  # the card reads the staged files
        raise ParameterError("card refused", fix="none")

    with pytest.raises(ParameterError, match="card refused"):
        build_ray(RECIPE, f"file://{tmp_path}/out", n=300, progress=False, finish=refuse)
    assert list(tmp_path.iterdir()) == []
