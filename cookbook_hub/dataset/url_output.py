"""Builds written to an fsspec URL (`s3://bucket/prefix/NAME`, `gs://...`, `file://...`) by the Ray engine.

Object stores have no folders to rename, so a build at a URL goes in three steps:

1. every Ray task writes its part in a local temporary folder on its node, uploads it into the staging prefix
   `PARENT/.NAME.partial-<id>` beside the output, and checks the upload's size (`stage_at_url`);
2. the driver checks the records (the checks of `--assemble`), then writes the manifest and the card into a local
   folder; the card reads its example rows from the staged files (`UrlFolder` is what it reads them through);
3. `place` copies the parts to the output (server-side where the store can), checks every copy's size, uploads
   the card and its charts, and the manifest last; then the staging prefix is removed.

A build that fails or is killed before step 3 leaves nothing under the output's name; a failure in step 3
removes what it had copied. A reader can take the folder as complete once its manifest, `cookbook_build.json`,
exists. Credentials come from the usual places of the store's fsspec backend (environment, config files, the
node's role) or from `storage_options`, which are passed to every task and never printed.
"""

from __future__ import annotations

import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cookbook_hub.dataset.parts import URL, Part, stage_part
from cookbook_hub.dataset.plan import ConfigPlan
from cookbook_hub.errors import OutputExistsError, OutputPathError, ParameterError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import remote_error

CHECK_ACCESS = "check the URL, that its bucket exists, and the credentials of that store on every node"


@dataclass(frozen=True)
class UrlFolder:
    """A folder at an fsspec URL, reached with `storage_options` (credentials, endpoint; never shown)."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def protocol(self) -> str:
        """The URL's scheme (`s3`, `gs`, `file`, ...)."""
        return self.url.split(":", 1)[0]

    def filesystem(self) -> tuple[Any, str]:
        """The fsspec filesystem and the folder's path on it; a clear error where the backend is missing."""
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(self.url, **self.storage_options)
        except ImportError as exc:
            raise ParameterError(
                f"--out {self.url!r}: reading and writing {self.protocol}:// needs an fsspec backend: {exc}",
                fix="install the backend fsspec names (for s3://: pip install s3fs) on the driver and every node",
            ) from None
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"--out {self.url!r}: {remote_error(exc)}", fix=CHECK_ACCESS) from None
        return fs, path.rstrip("/")

    def child(self, rel: str) -> str:
        """The store path of the file `rel` inside this folder."""
        return posixpath.join(self.filesystem()[1], rel)

    def isfile(self, rel: str) -> bool:
        """Whether the folder holds the file `rel`."""
        return bool(self.filesystem()[0].isfile(self.child(rel)))

    def open(self, rel: str) -> BinaryIO:
        """The file `rel`, open for reading (the store fetches the ranges read)."""
        return self.filesystem()[0].open(self.child(rel), "rb")

    def staging(self) -> UrlFolder:
        """A new staging folder beside this one: `PARENT/.NAME.partial-<id>`."""
        parent, _, name = self.url.rstrip("/").rpartition("/")
        return UrlFolder(f"{parent}/.{name}.partial-{uuid.uuid4().hex[:12]}", self.storage_options)


def url_folder(out: str | Path, storage_options: dict[str, Any] | None = None) -> UrlFolder | None:
    """`out` as a UrlFolder when it is a URL, else None. A bucket's root is refused: a build is one folder."""
    text = str(out)
    if not URL.match(text):
        if storage_options:
            raise ParameterError("--storage-options applies to a URL --out only", fix="drop it, or write to a URL")
        return None
    if "://" not in text:
        raise ParameterError(f"--out {text!r} is not a URL of the form PROTOCOL://PATH", fix="write it as s3://B/P")
    folder = UrlFolder(text.rstrip("/"), dict(storage_options or {}))
    _, path = folder.filesystem()
    if "/" not in path.strip("/"):
        raise ParameterError(
            f"--out {text!r} names the root of a bucket or store; a build writes one folder inside it",
            fix=f"add a folder name, e.g. {folder.url}/NAME",
        )
    return folder


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn a store's error (no access, no bucket, a lost connection) into one line naming `what` failed."""
    try:
        yield
    except (OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, OutputExistsError | OutputPathError | ParameterError):
            raise
        raise OutputPathError(f"{what}: {remote_error(exc)}", fix=CHECK_ACCESS) from None


def check_url_output(out: UrlFolder, overwrite: bool) -> None:
    """Refuse an existing output without `overwrite`, and an output whose bucket (or top folder) does not exist."""
    fs, path = out.filesystem()
    with store_errors(f"cannot read {out.url}"):
        if fs.exists(path) and not overwrite:
            raise OutputExistsError(f"output {out.url!r} already exists", fix="pass --overwrite or choose another URL")
        top = path.strip("/").split("/")[0]
        root = "/" + top if path.startswith("/") else top  # the bucket, or the top folder of a filesystem
        if not fs.exists(root):
            raise OutputPathError(f"cannot write {out.url!r}: {out.protocol}://{top} does not exist", fix=CHECK_ACCESS)


def leftover_staging(out: UrlFolder) -> list[str]:
    """The staging folders of earlier builds of `out` that did not end (a killed driver's), as URLs."""
    fs, path = out.filesystem()
    parent, _, name = path.rpartition("/")
    with store_errors(f"cannot read {out.url}"):
        fs.invalidate_cache(parent)
        found = fs.glob(f"{parent}/.{name}.partial-*")
    base = out.url.rpartition("/")[0]
    return [f"{base}/{entry.rpartition('/')[2]}" for entry in sorted(found)]


def upload(fs: Any, local: Path, path: str) -> None:
    """Upload one file to `path` and check the store holds all its bytes."""
    fs.makedirs(posixpath.dirname(path), exist_ok=True)  # real folders where the store has them; else no-op
    fs.put_file(str(local), path)
    fs.invalidate_cache(posixpath.dirname(path))
    if fs.size(path) != local.stat().st_size:
        raise OSError(f"{path} holds {fs.size(path)} bytes after upload, {local.stat().st_size} were sent")


def stage_at_url(plan: ConfigPlan, part: Part, staging: UrlFolder) -> dict[str, Any]:
    """The body of a Ray task of a URL build: write one part locally (`stage_part`), upload it into `staging`;
    return its record with the file's size."""
    fs, _ = staging.filesystem()
    with tempfile.TemporaryDirectory(prefix="cookbook-part-") as tmp:
        record = stage_part(plan, part, Path(tmp))
        local = Path(tmp) / part.rel
        with store_errors(f"cannot upload {part.rel} to {staging.url}"):
            upload(fs, local, staging.child(part.rel))
        return record | {"size": local.stat().st_size}


def place(
    out: UrlFolder,
    staging: UrlFolder,
    meta: Path,
    parts: list[Part],
    records: dict[str, dict[str, Any]],
    overwrite: bool,
) -> None:
    """Move a checked build into place at `out`: the parts from `staging` (each copy's size checked), then the
    files of the local folder `meta` (card, charts), the manifest last. What was copied is removed on failure."""
    fs, path = out.filesystem()
    _, source = staging.filesystem()
    with store_errors(f"cannot write {out.url}"):
        if overwrite and fs.exists(path):
            fs.rm(posixpath.join(path, DatasetFolder.MANIFEST))  # first: the old folder reads as incomplete
            fs.rm(path, recursive=True)
        try:
            for part in parts:
                target = posixpath.join(path, part.rel)
                fs.makedirs(posixpath.dirname(target), exist_ok=True)
                fs.copy(posixpath.join(source, part.rel), target)
            fs.invalidate_cache()
            for part in parts:
                if fs.size(posixpath.join(path, part.rel)) != records[part.rel]["size"]:
                    raise OSError(f"the copy of {part.rel} at {out.url} does not have the size that was written")
            files = sorted(p for p in meta.rglob("*") if p.is_file())
            for local in sorted(files, key=lambda p: p.name == DatasetFolder.MANIFEST):
                upload(fs, local, posixpath.join(path, local.relative_to(meta).as_posix()))
        except BaseException:
            fs.invalidate_cache()
            if fs.exists(path):
                fs.rm(path, recursive=True)
            raise


def remove(folder: UrlFolder) -> None:
    """Remove a folder at a URL and all it holds, if it is there (best effort: a store error is not raised)."""
    try:
        fs, path = folder.filesystem()
        fs.invalidate_cache()
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except (OSError, ValueError, RuntimeError):
        pass
