"""What may be published, and where: no local path in any file, no repository inside another.

A published file that names a path of the machine it was made on (the home folder, the temp folder, the
working folder, the Python installation, or the published folder itself) leaks that machine's layout and
points readers at files they do not have: `check_shareable` refuses the publish and names the file. Text
files are read whole; Parquet files by their metadata (schema and key-value pairs) and safetensors files by
their JSON header, the parts of those formats that carry text; other binary files (images) are not read, and
neither is a tokenizer's vocabulary (tokens such as `/tmp` are words, not paths).

A local hub repository inside another (`hub/me/tiny/images/x`) would put its files into the outer one's
working tree: `check_not_nested` refuses such a target.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from pathlib import Path

from cookbook_hub.errors import PublishError
from cookbook_hub.folders import AdapterFolder
from cookbook_hub.fs import sanitize
from cookbook_hub.hub.git import GIT, run_git
from cookbook_hub.hub.targets import Target

GIT_USER = next(arg.split("=", 1)[1] for arg in GIT if arg.startswith("user.name="))  # who makes hub commits
TEXT_LIMIT = 64 << 20  # bytes: larger files are data, not text records
VOCABULARY_FILES = ("vocab.json", "merges.txt", "vocab.txt")  # a tokenizer's tokens, nothing else
TOKENIZER_FILE = "tokenizer.json"  # its `model` holds the vocabulary; the rest is settings
WORD = re.compile(r"[^\s\"'`,;()\[\]{}<>|=]+")
ADAPTER_FIX = (
    "train with --base-model-id <namespace>/<name> (the base model's Hub id), or set base_model_name_or_path "
    "in adapter_config.json to it"
)
RECORD_FIX = "remove the path from the file, or rebuild the folder with the current cookbook-hub"


def readable_text(path: Path) -> str | None:
    """The parts of a file that can hold text: a text file whole, a Parquet file's metadata, a safetensors
    file's header; None for other binary files."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        pairs = [key + b" " + value for key, value in (meta.metadata or {}).items()]
        return "\n".join([str(meta.schema), *(pair.decode(errors="replace") for pair in pairs)])
    if path.name in VOCABULARY_FILES:
        return None
    if path.name == TOKENIZER_FILE:
        settings = json.loads(path.read_text(encoding="utf-8"))
        return json.dumps({key: value for key, value in settings.items() if key != "model"}, ensure_ascii=False)
    if path.suffix == ".safetensors":
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            return fh.read(min(size, TEXT_LIMIT)).decode(errors="replace")
    if path.stat().st_size > TEXT_LIMIT:
        return None
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def local_path_in(text: str, folder: Path) -> str | None:
    """The first local path (or Hub token) in `text`, None when there is none (`cookbook_hub.fs.sanitize`
    decides what is local, with `folder` added)."""
    known = {str(folder.resolve()): "<folder>", str(folder.absolute()): "<folder>"}
    if sanitize(text, known) == text:
        return None
    return next((word for word in WORD.findall(text) if sanitize(word, known) != word), "a local path")


def check_shareable(files: Mapping[str, Path], folder: Path) -> None:
    """Refuse to publish `files` (repo path -> the file to publish) when one names a local path; the error
    names the file and the path."""
    for rel, path in files.items():
        text = readable_text(path)
        found = None if text is None else local_path_in(text, folder)
        if found is not None:
            raise PublishError(
                f"{rel!r} in {str(folder)!r} holds the local path {found!r}, which would not exist on the "
                "reader's machine; nothing was published",
                fix=ADAPTER_FIX if rel == AdapterFolder.ADAPTER_CONFIG else RECORD_FIX,
            )


def hub_repository_above(path: Path) -> Path | None:
    """The local hub repository (a git repository whose last commit cookbook-hub made) holding `path`, if any."""
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            proc = run_git(parent, "log", "-1", "--format=%cn")
            if proc.returncode == 0 and proc.stdout.decode().strip() == GIT_USER:
                return parent
    return None


def check_not_nested(target: Target) -> None:
    """Refuse a local target inside another local hub repository."""
    outer = None if target.is_hub else hub_repository_above(target.path)
    if outer is not None:
        raise PublishError(
            f"target {str(target)!r} lies inside the local hub repository {str(outer)!r}: its files would be "
            "mixed into that repository's; nothing was published",
            fix="publish to a folder outside it, e.g. hub/<namespace>/<name>",
        )
