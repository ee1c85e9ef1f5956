"""Files and folders every stage writes: atomic outputs, JSON records, the cache folder, secret scrubbing.

`atomic_path` is how every output appears only when complete; `read_json`/`write_json` read and write
the JSON records our folders carry; `cache_dir` is where converted models, built recipes and fetched
repositories live; `scrub` and `sanitize` keep tokens and local paths out of logs and published files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cookbook_hub.errors import OutputExistsError, ParameterError

SECRET = re.compile(r"\bhf_[A-Za-z0-9]{20,}")
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_runs(out: Path, kind: str) -> list[Path]:
    """`.NAME.KIND-PID` siblings of `out` whose process is gone."""
    found = []
    for path in out.parent.glob(f".{out.name}.{kind}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            found.append(path)
    return found


def recover_from_dead_runs(out: Path) -> None:
    """Clean up after runs that were killed (their PID is gone): delete their `.NAME.partial-PID` siblings, and
    put back a previous output they had moved aside (`.NAME.replaced-PID`) but not yet replaced."""
    for stale in _dead_runs(out, "partial"):
        _remove(stale)
    for moved in _dead_runs(out, "replaced"):
        if out.exists() or out.is_symlink():
            _remove(moved)
        else:
            moved.rename(out)


@contextmanager
def atomic_path(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling of `out`; on success move it into place, on failure delete it.

    The previous `out`, if any, stays intact until the new one is complete, and is put back if the swap
    itself is interrupted. A run killed with SIGKILL leaves only hidden siblings (`.NAME.partial-PID`,
    and during the swap `.NAME.replaced-PID`), which the next run removes or puts back.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_from_dead_runs(out)
    check_output(out, overwrite)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.replaced-{os.getpid()}")
            out.rename(old)
            try:
                tmp.rename(out)
            except BaseException:
                old.rename(out)
                raise
            _remove(old)
        else:
            tmp.rename(out)
    finally:
        _remove(tmp)


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an existing output unless overwriting."""
    if out.exists() and not overwrite:
        raise OutputExistsError(f"output {str(out)!r} already exists", fix="pass --overwrite or choose another path")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def read_json(path: Path, *, what: str, missing: str, fix: str) -> Any:
    """Parse a JSON file (`what` it is, for messages); a missing file raises ParameterError(`missing`)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ParameterError(missing, fix=fix) from None
    except ValueError as exc:  # invalid JSON or not UTF-8
        raise ParameterError(f"{str(path)!r} is not a valid {what}: {exc}", fix=fix) from None


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (indented, with a trailing newline); returns the path."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def cache_dir() -> Path:
    """Where converted models, built recipes and fetched repositories live: $COOKBOOK_HUB_CACHE or
    ~/.cache/cookbook_hub."""
    return Path(os.environ.get("COOKBOOK_HUB_CACHE", Path.home() / ".cache" / "cookbook_hub"))


# ------------------------------------------------------------------ secrets and local paths


def scrub(text: str) -> str:
    """The text without Hub tokens: the values of HF_TOKEN and HUGGING_FACE_HUB_TOKEN become `***`, anything
    else shaped like a token `hf_***`."""
    for name in TOKEN_VARIABLES:
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return SECRET.sub("hf_***", text)


def _local_roots() -> list[str]:
    roots = {str(Path.home()), tempfile.gettempdir(), os.getcwd(), sys.prefix, sys.base_prefix}
    return sorted((r.rstrip("/") for r in roots if r not in ("", "/")), key=len, reverse=True)


def _strip_path(match: re.Match[str]) -> str:
    path = match.group(0)
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1]
    return path.rstrip("/").rsplit("/", 1)[-1] or "<local>"


def sanitize(value: Any, replacements: Mapping[str, str]) -> Any:
    """A copy of JSON-like `value` without local paths or secrets: each path in `replacements` becomes its
    given name; other paths under the home, temp, working or Python folders become their file name (or
    their part after `site-packages/`); Hub tokens become `hf_***`."""
    known = sorted(replacements.items(), key=lambda item: len(item[0]), reverse=True)
    roots = re.compile("(?:" + "|".join(map(re.escape, _local_roots())) + r")(?![\w.-])(?:/[^\s\"',;)\]]*)?")

    def clean(text: str) -> str:
        for path, name in known:
            text = text.replace(path, name)
        return roots.sub(_strip_path, scrub(text))

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return clean(item)
        if isinstance(item, Mapping):
            return {clean(str(k)): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        if item is None or isinstance(item, bool | int | float):
            return item
        return clean(str(item))

    return walk(value)

