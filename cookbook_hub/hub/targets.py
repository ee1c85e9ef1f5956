"""Where a dataset is published: `hf://<namespace>/<name>` on the Hub, or a local hub folder.

A local target is a path whose last two components are `<namespace>/<name>`; the part before is the
hub root (`hub/local/cookbook-gpt4all` is namespace `local`, name `cookbook-gpt4all` under `hub`).
Namespaces and names follow the Hub's rules, and version tags look like `v1.2.3`. The file paths of a
published version are checked before any is written: each must stay inside the folder it is written to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from huggingface_hub.utils import HFValidationError, validate_repo_id

from cookbook_hub.errors import PublishError, TargetError

HF_SCHEME = "hf://"
MAX_PART_LEN = 96
PART_RE = re.compile(r"[A-Za-z0-9_.-]+")
TAG_RE = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
TARGET_FIX = "write hf://<namespace>/<name> or a folder path ending in <namespace>/<name>, e.g. hub/local/my-data"
REPO_ID_FIX = "write --repo-id as <namespace>/<name>, e.g. my-org/cookbook-gpt4all"


@dataclass(frozen=True)
class Target:
    """A parsed target: a Hub repo (`root` is None) or a git repository at `root/namespace/name`."""

    namespace: str
    name: str
    root: Path | None = None

    @property
    def is_hub(self) -> bool:
        """True for an `hf://` target."""
        return self.root is None

    @property
    def repo_id(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    @property
    def path(self) -> Path:
        """The local repository folder (local targets only)."""
        if self.root is None:
            raise TargetError(f"{self} is a Hub repo, not a local folder")
        return self.root / self.namespace / self.name

    @property
    def shown(self) -> str:
        """The target as a published card names it: `hf://ns/name`, a relative local path as given, an absolute
        one by its last three parts (`hub/ns/name`), so no card names a folder of the machine it was made on."""
        if self.root is None or not self.path.is_absolute():
            return str(self)
        return f"{self.root.name or 'hub'}/{self.repo_id}"

    def __str__(self) -> str:
        return f"{HF_SCHEME}{self.repo_id}" if self.root is None else str(self.path)


def parse_target(value: str) -> Target:
    """Parse `hf://namespace/name` or a local `.../namespace/name` path, validating both parts."""
    if value.startswith(HF_SCHEME):
        parts = value[len(HF_SCHEME) :].split("/")
        if len(parts) != 2:
            raise TargetError(f"target {value!r} must have exactly two parts after hf://", fix=TARGET_FIX)
        return _checked(value, Target(parts[0], parts[1]), "target", TARGET_FIX)
    if "://" in value:
        raise TargetError(f"target {value!r} uses an unsupported scheme", fix=TARGET_FIX)
    path = Path(value)
    if not value.strip() or len(path.parts) < 2:
        raise TargetError(f"target {value!r} must end in <namespace>/<name>", fix=TARGET_FIX)
    return _checked(value, Target(path.parent.name, path.name, path.parent.parent), "target", TARGET_FIX)


def check_publish_target(value: str) -> None:
    """Refuse a bare `NS/NAME` as a publish target: it reads as a Hub id but names a local folder `./NS/NAME`."""
    bare = value.rstrip("/")
    if bare.count("/") == 1 and not value.startswith(("/", ".", "~")) and "://" not in value:
        raise TargetError(
            f"target {value!r} is ambiguous: a Hub repo id, or a folder {bare!r} here?",
            fix=f"write hf://{bare} for the Hub, or hub/{bare} for a local hub folder (./{bare} for a folder here)",
        )


def check_repo_id(value: str) -> str:
    """Check a Hub repo id `<namespace>/<name>` (the `--repo-id` a card names) by the rules of targets; returns it."""
    parts = value.split("/")
    if len(parts) != 2:
        raise TargetError(f"--repo-id {value!r} must be exactly <namespace>/<name>", fix=REPO_ID_FIX)
    _checked(value, Target(parts[0], parts[1]), "--repo-id", REPO_ID_FIX)
    return value


def _checked(value: str, target: Target, kind: str, fix: str) -> Target:
    for what, part in (("namespace", target.namespace), ("name", target.name)):
        check_part(value, what, part, kind, fix)
    try:
        validate_repo_id(target.repo_id)
    except HFValidationError as exc:
        raise TargetError(f"{kind} {value!r} is not a valid repo id: {exc}", fix=fix) from None
    return target


def check_part(value: str, what: str, part: str, kind: str, fix: str) -> None:
    """Check a namespace or name against the Hub's rules; `value` is the whole `kind` (a target), for the message."""
    problem = None
    if not part:
        problem = "is empty"
    elif len(part) > MAX_PART_LEN:
        problem = f"is longer than {MAX_PART_LEN} characters"
    elif not PART_RE.fullmatch(part):
        problem = "may only use letters, digits, '-', '_' and '.'"
    elif "--" in part or ".." in part:
        problem = "may not contain '--' or '..'"
    elif part[0] in "-." or part[-1] in "-.":
        problem = "may not start or end with '-' or '.'"
    if problem:
        raise TargetError(f"{what} {part!r} in {kind} {value!r} {problem}", fix=fix)


def split_revision(spec: str) -> tuple[str, str | None]:
    """`name@rev` -> (`name`, `rev`); `name` -> (`name`, None)."""
    base, sep, revision = spec.rpartition("@")
    if not sep:
        return spec, None
    if not base or not revision:
        raise TargetError(
            f"{spec!r}: write the revision as NAME@REVISION, e.g. hub/me/data@v0.1.0",
            fix="put a tag, branch or commit after the @",
        )
    return base, revision


def check_tag(tag: str) -> str:
    """Check that a version tag looks like `v1.2.3` (optionally `v1.2.3-rc.1`); returns it."""
    if not TAG_RE.fullmatch(tag):
        raise TargetError(f"tag {tag!r} is not a version", fix="write tags as v<major>.<minor>.<patch>, e.g. v0.1.0")
    return tag


def path_problem(path: str) -> str | None:
    """Why a file path of a repository cannot be written inside a folder as it is, or None when it can."""
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or PureWindowsPath(path).drive:
        return "is an absolute path"
    if ".." in parts:
        return "climbs out of the folder with '..'"
    if any(part.casefold() == ".git" for part in parts):
        return "has a '.git' part"
    if "" in parts or "." in parts:
        return "is not a plain relative path"
    return None


def check_repo_paths(paths: Iterable[str], where: str) -> None:
    """Refuse a version (`where`, for the message) with a file path that could be written outside the output folder
    or into a `.git` folder: absolute, with a `..` or `.git` part."""
    for path in paths:
        problem = path_problem(path)
        if problem:
            raise PublishError(
                f"{where} holds the file {path!r}, which {problem}; nothing was written",
                fix="pull another revision, and ask the repository's owner to remove that file",
            )
