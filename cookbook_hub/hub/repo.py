"""The publish algorithm both targets share: content identity, the `Repo` protocol, and `publish_to`.

Every publish first compares the folder with the target: identical content makes no commit, other
content makes exactly one commit whose tree is the folder (files gone from the folder are deleted).
A version tag that already names different content is refused before anything is written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from cookbook_hub.errors import PublishError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import HASH_CHUNK
from cookbook_hub.hub.targets import Target

DATASET, MODEL = "dataset", "model"
MAIN = "main"
NO_COMMIT = "no commit was made"


@dataclass(frozen=True)
class Blob:
    """One file's content identity: size, git blob oid, and sha256 (local files, and LFS files on the Hub)."""

    size: int
    oid: str
    sha256: str | None = None


@dataclass(frozen=True)
class PublishResult:
    """What a publish did or, on a dry run, would do."""

    target: str
    repo_type: str
    commit: str | None
    created_commit: bool
    tag: str | None
    files: list[str]
    url: str
    message: str
    dry_run: bool = False


@dataclass(frozen=True)
class Plan:
    """A checked publish request: the folder's files, where they go, and the commit message."""

    target: Target
    repo_type: str
    files: dict[str, Path]
    tag: str | None
    message: str
    url: str

    @cached_property
    def manifest(self) -> dict[str, Blob]:
        """Size and hashes of every file, keyed by its path in the repository."""
        return {rel: hash_file(path) for rel, path in self.files.items()}

    def result(self, commit: str | None, created: bool) -> PublishResult:
        """The PublishResult for this plan."""
        return PublishResult(
            target=str(self.target),
            repo_type=self.repo_type,
            commit=commit,
            created_commit=created,
            tag=self.tag,
            files=list(self.files),
            url=self.url,
            message=self.message,
            dry_run=commit is None,
        )


def hash_file(path: Path) -> Blob:
    """Size, git blob oid and sha256 of a file, in one read."""
    size = path.stat().st_size
    sha1 = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    sha256 = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
            sha1.update(chunk)
            sha256.update(chunk)
    return Blob(size, sha1.hexdigest(), sha256.hexdigest())


def same_blob(local: Blob, remote: Blob) -> bool:
    """Whether a remote file holds the local content (by sha256 for LFS files, else by git oid)."""
    if local.size != remote.size:
        return False
    return local.sha256 == remote.sha256 if remote.sha256 else local.oid == remote.oid


def same_content(local: Mapping[str, Blob], remote: Mapping[str, Blob], kept: frozenset[str] = frozenset()) -> bool:
    """Whether a remote tree holds exactly the local files; `kept` remote files are ignored when not local."""
    remote = {path: blob for path, blob in remote.items() if path in local or path not in kept}
    return remote.keys() == local.keys() and all(same_blob(blob, remote[path]) for path, blob in local.items())


class Repo(Protocol):
    """What publishing needs from a target repository."""

    kept: frozenset[str]

    def head(self) -> str | None:
        """The commit of `main`, None before the first publish."""

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag names, None when there is no such tag."""

    def tree(self, commit: str) -> dict[str, Blob]:
        """The files of a commit."""

    def read(self, commit: str, path: str) -> str:
        """The text of one file of a commit."""

    def commit(self, plan: Plan, head: str | None, remote: dict[str, Blob]) -> str:
        """Make one commit holding the plan's files on top of `head` (whose files are `remote`)."""

    def finish(self, plan: Plan, head: str | None, commit: str) -> None:
        """Point `main` at `commit` and add the plan's tag."""


def publish_to(repo: Repo, plan: Plan) -> PublishResult:
    """The publish steps both targets share: compare, refuse a moved tag, commit when needed, tag."""
    tagged = repo.tag_commit(plan.tag) if plan.tag else None
    if tagged is not None:
        if not same_content(plan.manifest, repo.tree(tagged), repo.kept):
            raise PublishError(
                f"tag {plan.tag} already exists in {plan.target} on different content; nothing was changed",
                fix="publish this content under a new version tag, e.g. the next patch version",
            )
        return plan.result(commit=tagged, created=False)
    head = repo.head()
    remote = repo.tree(head) if head else {}
    if head and same_content(plan.manifest, remote, repo.kept):
        repo.finish(plan, head, head)
        return plan.result(commit=head, created=False)
    manifest = DatasetFolder.MANIFEST
    if head and manifest in plan.files and manifest in remote:
        check_recipe_versions(plan, json.loads(repo.read(head, manifest)))
    commit = repo.commit(plan, head, remote)
    repo.finish(plan, head, commit)
    return plan.result(commit=commit, created=True)


def check_recipe_versions(plan: Plan, published: dict[str, Any]) -> None:
    """Refuse a dataset whose recipe changed (content hash) while keeping the published version."""
    local = json.loads(plan.files[DatasetFolder.MANIFEST].read_text(encoding="utf-8"))
    for name, config in local.get("configs", {}).items():
        old = published.get("configs", {}).get(name)
        if old and old["recipe_version"] == config["recipe_version"] and old["content_hash"] != config["content_hash"]:
            raise PublishError(
                f"config {name!r} of {plan.target}: recipe version {config['recipe_version']} is already published "
                f"with other content (content hash {old['content_hash'][:12]}, now {config['content_hash'][:12]}); "
                "nothing was changed",
                fix="bump the recipe's version (e.g. its patch number), rebuild, and publish again",
            )


# ------------------------------------------------------------------ pull


def unknown_revision(target: Target, revision: str, tags: list[str]) -> PublishError:
    """The error for a revision that names nothing, listing the tags that exist."""
    fix = f"use one of the tags: {', '.join(tags)}" if tags else "the repository has no tags yet: use main or a sha"
    return PublishError(f"unknown revision {revision!r} in {target}", fix=fix)
