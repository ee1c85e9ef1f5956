"""Files and folders every stage writes: atomic outputs, JSON records, the cache folder, secret scrubbing.

`atomic_path` is how every output appears only when complete; `read_json`/`write_json` read and write
the JSON records our folders carry; `cache_dir` is where converted models, built recipes and fetched
repositories live; `scrub` and `sanitize` keep tokens and local paths out of logs and published files.
"""

from __future__ import annotations

import errno
import hashlib
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

from cookbook_hub.errors import CookbookError, NoSpaceError, OutputExistsError, OutputPathError

SECRET = re.compile(r"\bhf_[A-Za-z0-9]{20,}")
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
ONE_LINE_MAX = 500
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_TEXT = tuple(os.strerror(code) for code in NO_SPACE)
SIBLING_ROOM = 32  # bytes a hidden sibling's name adds to the output's: `.NAME.partial-PID.scratch`


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_runs(out: Path, kind: str) -> list[Path]:
    """`.NAME.KIND-PID` siblings of `out` (and their `.NAME.KIND-PID.SUFFIX` scratch folders) whose process is gone."""
    run = re.compile(rf"\.{re.escape(out.name)}\.{kind}-(\d+)(?:\.[^/]+)?")
    found = []
    for path in out.parent.iterdir():
        match = run.fullmatch(path.name)
        if match and not _pid_alive(int(match.group(1))):
            found.append(path)
    return sorted(found)


def recover_from_dead_runs(out: Path) -> None:
    """Clean up after runs that were killed (their PID is gone): delete their `.NAME.partial-PID` siblings (and
    the `.NAME.partial-PID.SUFFIX` scratch folders beside them), and put back a previous output they had moved
    aside (`.NAME.replaced-PID`) but not yet replaced."""
    if not out.parent.is_dir():
        return
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

    Without `overwrite`, the move refuses to replace whatever appeared at `out` meanwhile (another run's
    output): the check and the move are one step, and the loser gets OutputExistsError. With `overwrite`,
    the previous `out` stays intact until the new one is complete, and is put back if the swap itself is
    interrupted. A run killed with SIGKILL leaves only hidden siblings (`.NAME.partial-PID`, and during
    the swap `.NAME.replaced-PID`), which the next run removes or puts back. A full disk raises
    NoSpaceError naming the folder; any other failure to write there (a read-only folder, ...) an
    OutputPathError naming the output.
    """
    check_output_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out, exc) from None
    recover_from_dead_runs(out)
    check_output(out, overwrite)
    existed = out.exists()
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if overwrite:
            _replace(tmp, out)
        else:
            _move_new(tmp, out)
    except Exception as exc:
        if _about_output(exc, out) and not is_disk_full(exc):
            raise _cannot_write(out, exc) from exc
        if not is_disk_full(exc) or isinstance(exc, NoSpaceError):
            raise
        kept = f"; the previous {out.name} is intact" if existed else ""
        raise no_space(out.parent, f"writing {out.name} failed and nothing of it was kept{kept}") from exc
    finally:
        _remove(tmp)


def check_output_path(out: Path) -> None:
    """Refuse an output path no run could write, before anything is written: the current folder or one above it,
    a path with a NUL byte, a parent path that is a file, a name longer than its folder allows (with room for the
    hidden sibling's suffix)."""
    if "\0" in str(out):
        raise OutputPathError(f"output {str(out)!r} holds a NUL byte", fix="choose another path")
    if out.name in ("", ".", "..") or Path.cwd().is_relative_to(out.resolve()):
        raise OutputPathError(
            f"output {str(out)!r} is the current folder or a folder above it",
            fix="name a new folder, e.g. --out data/x",
        )
    existing = next(parent for parent in out.parents if parent.exists() or parent == Path(parent.anchor or "."))
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: {str(existing)!r} is a file, not a folder")
    limit = os.pathconf(existing, "PC_NAME_MAX") - SIBLING_ROOM
    for name in out.relative_to(existing).parts:
        if len(os.fsencode(name)) > limit:
            raise OutputPathError(
                f"cannot write {str(out)[:80]!r}...: the name {name[:40]!r}... is {len(os.fsencode(name))} bytes "
                f"long, more than the {limit} that fit in {str(existing)!r}",
                fix="choose a shorter name",
            )


def _about_output(exc: Exception, out: Path) -> bool:
    """Whether `exc` is a system error (not one of ours) about `out`: a path inside it, a folder above it, or one of
    its hidden siblings (`.NAME.*`, and what is inside them)."""
    if not isinstance(exc, OSError) or isinstance(exc, CookbookError):
        return False
    out = out.absolute()
    hidden = re.compile(rf"{re.escape(str(out.parent))}/\.{re.escape(out.name)}\.[^/]+(?:/.*)?")
    # pyarrow names the file only in its message: `Failed to open local file 'DIR/.NAME.partial-PID'`
    named = [exc.filename, exc.filename2] if exc.filename else re.findall(r"'([^']+)'", str(exc))
    named = [Path(os.path.abspath(os.fsdecode(n))) for n in named if isinstance(n, str | bytes)]
    return any(n.is_relative_to(out) or out.is_relative_to(n) or hidden.fullmatch(str(n)) for n in named)


def _cannot_write(out: Path, exc: OSError) -> OutputPathError:
    """The error for an output that the system refused to write (other than for a full disk)."""
    reason = (exc.strerror or str(exc)).lower()
    return OutputPathError(f"cannot write {str(out)!r}: {reason}", fix="write somewhere you can write to")


def _replace(tmp: Path, out: Path) -> None:
    """Move `tmp` to `out`, swapping out a previous `out` (put back if the second rename fails)."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)
        raise
    _remove(old)


def _move_new(tmp: Path, out: Path) -> None:
    """Move `tmp` to `out` in one step that refuses to replace anything there: a file is hard-linked (which
    fails on any existing name), a folder renamed (which fails on a file or a non-empty folder)."""
    try:
        if tmp.is_dir():
            tmp.rename(out)
        else:
            _link_or_rename(tmp, out)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise _exists(out) from None
        raise


def _link_or_rename(tmp: Path, out: Path) -> None:
    """Hard-link `tmp` as `out`; on a filesystem without hard links, rename it after one more existence check."""
    try:
        os.link(tmp, out)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP):
            raise
        check_output(out, overwrite=False)
        tmp.rename(out)


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an output path no run could write (`check_output_path`), and an existing output unless overwriting."""
    check_output_path(out)
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise _exists(out)


def _exists(out: Path) -> OutputExistsError:
    """The error for an output that exists."""
    return OutputExistsError(f"output {str(out)!r} already exists", fix="pass --overwrite or choose another path")


def _remove(path: Path) -> None:
    """Delete a file or folder if it is there (what cannot be deleted is left)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------ full disks


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error, or one it was raised from or while handling, is a full disk (ENOSPC or EDQUOT, by
    number, or by message for libraries that report it only in text, like safetensors and git)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "errno", None) in NO_SPACE or any(text in str(current) for text in NO_SPACE_TEXT):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def no_space(path: Path, what: str) -> NoSpaceError:
    """The error for a write under `path` that failed on a full disk; `what` says what failed and what was kept."""
    return NoSpaceError(
        f"no space left on {path}: {what}",
        fix="free space on that disk (or write somewhere else), then run the command again",
    )


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


# ------------------------------------------------------------------ remote errors, in one line without tokens


def one_line(text: str) -> str:
    """A message on one line (its lines joined, at most ONE_LINE_MAX characters), without Hub tokens (`scrub`)."""
    joined = scrub(" ".join(line.strip() for line in text.splitlines() if line.strip()))
    return joined if len(joined) <= ONE_LINE_MAX else joined[: ONE_LINE_MAX - 3] + "..."


def remote_error(exc: BaseException) -> str:
    """One line, without tokens, on why a request for remote files failed: `HTTP <status>: <what the server said>`
    for an HTTP error in the chain of `exc`, else the first line of the message of `exc`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    http = next((error for error in chain if getattr(getattr(error, "response", None), "status_code", None)), None)
    if http is None:
        return one_line(str(exc).strip().partition("\n")[0]) or type(exc).__name__
    status = f"HTTP {http.response.status_code}"
    said = one_line(getattr(http, "server_message", None) or str(http))
    return f"{status}: {said}" if said else status


HASH_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
