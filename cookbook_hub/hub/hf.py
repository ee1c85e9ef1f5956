"""The Hugging Face Hub as a publish target, through `huggingface_hub.HfApi`.

`HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE` are honoured; no error message carries the token.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    GitRefs,
    HfApi,
    RepoFile,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

from cookbook_hub.errors import PublishError
from cookbook_hub.fs import one_line
from cookbook_hub.hub.repo import (
    MAIN,
    MODEL,
    NO_COMMIT,
    Blob,
    Plan,
    PublishResult,
    publish_to,
    same_blob,
    unknown_revision,
)
from cookbook_hub.hub.targets import Target, check_repo_paths

SHA = re.compile(r"[0-9a-f]{40}")
HUB_ERRORS = (httpx2.HTTPError, OfflineModeIsEnabled, LocalEntryNotFoundError, ValueError)
T = TypeVar("T")


# ------------------------------------------------------------------ the Hugging Face Hub


def hub_api() -> HfApi:
    """An HfApi for HF_ENDPOINT (or the default endpoint) with HF_TOKEN (or the stored login)."""
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or None
    return HfApi(endpoint=endpoint, token=os.environ.get("HF_TOKEN") or None)


def hub_url(target: Target, repo_type: str) -> str:
    """The web address of a Hub repo."""
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or constants.ENDPOINT
    return f"{endpoint}/{constants.REPO_TYPES_URL_PREFIXES.get(repo_type, '')}{target.repo_id}"


def refuse_offline(action: str) -> None:
    """Refuse to reach the Hub when HF_HUB_OFFLINE is set, before any request."""
    if constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in constants.ENV_VARS_TRUE_VALUES:
        raise PublishError(
            f"{action}: HF_HUB_OFFLINE is set, so the Hub cannot be reached",
            fix="unset HF_HUB_OFFLINE, or use a local hub folder such as hub/local/<name>",
        )


def hub_error(action: str, target: Target, exc: Exception, after: str) -> PublishError:
    """A PublishError naming the repo, the cause and what to do, for an error raised by huggingface_hub."""
    status = exc.response.status_code if isinstance(exc, HfHubHTTPError) else None
    if status == 401:
        reason, fix = "HF_TOKEN missing or invalid (HTTP 401)", "set HF_TOKEN to a token with write access"
    elif status == 403:
        reason = f"no write access to namespace {target.namespace!r} (HTTP 403)"
        fix = f"use a token with write access to {target.namespace!r}, or publish under your own namespace"
    elif status == 404:
        reason = "repository not found (HTTP 404)"
        fix = "check the namespace and name; for a private repo, set HF_TOKEN to a token that can read it"
    elif status is None and isinstance(exc, ValueError):
        reason = f"the Hub client refused the request: {one_line(str(exc))}"
        fix = f"fix the folder and try again; {after}"
    elif status is None or status >= 500 or status == 429:
        detail = f"HTTP {status}" if status else type(exc).__name__
        reason, fix = f"the Hub is unavailable ({detail})", f"retry later; {after}"
    else:
        reason = f"the Hub refused the request (HTTP {status}): {one_line(exc.server_message or str(exc))}"
        fix = f"check the message above; {after}"
    return PublishError(one_line(f"{action} failed: {reason}"), fix=one_line(fix))


class HubRepo:
    """A Hub repo seen through HfApi; every call's errors become PublishErrors without the token."""

    kept = frozenset({".gitattributes"})  # the Hub creates it, and never deletes it on upload

    def __init__(self, api: HfApi, target: Target, repo_type: str, action: str, after: str = NO_COMMIT) -> None:
        self.api, self.target, self.repo_type = api, target, repo_type
        self.action, self.after = action, after

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `method(repo_id, *args, repo_type=..., **kwargs)`, raising its errors as PublishErrors (unchained)."""
        try:
            return method(self.target.repo_id, *args, repo_type=self.repo_type, **kwargs)
        except HUB_ERRORS as exc:
            error = hub_error(self.action, self.target, exc, self.after)
        raise error

    @cached_property
    def refs(self) -> GitRefs:
        """Branches and tags of the repo (fetched once)."""
        return self.call(self.api.list_repo_refs)

    def head(self) -> str | None:
        """The commit of `main`, None for a repo without one."""
        return next((ref.target_commit for ref in self.refs.branches if ref.name == MAIN), None)

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag names, None when there is no such tag."""
        return next((ref.target_commit for ref in self.refs.tags if ref.name == tag), None)

    def tags(self) -> list[str]:
        """All tag names."""
        return sorted(ref.name for ref in self.refs.tags)

    def resolve(self, revision: str) -> str | None:
        """The commit a branch, tag or full commit sha names, or None."""
        named = next((r.target_commit for r in [*self.refs.branches, *self.refs.tags] if r.name == revision), None)
        if named or not SHA.fullmatch(revision):
            return named
        return revision if self.call(self.api.revision_exists, revision) else None

    def tree(self, commit: str) -> dict[str, Blob]:
        """The files of a commit, with sha256 for LFS files."""
        entries = self.call(
            lambda *args, **kw: list(self.api.list_repo_tree(*args, **kw)), recursive=True, revision=commit
        )
        return {
            entry.path: Blob(entry.size, entry.blob_id, entry.lfs.sha256 if entry.lfs else None)
            for entry in entries
            if isinstance(entry, RepoFile)
        }

    def read(self, commit: str, path: str) -> str:
        """The text of one file of a commit, downloaded into a scratch folder."""
        with tempfile.TemporaryDirectory() as scratch:
            local = self.call(
                hf_hub_download,
                path,
                revision=commit,
                local_dir=scratch,
                endpoint=self.api.endpoint,
                token=self.api.token,
            )
            return Path(local).read_text(encoding="utf-8")

    def commit(self, plan: Plan, head: str | None, remote: dict[str, Blob]) -> str:
        """One create_commit: changed files added, files gone from the folder deleted, guarded by `head`."""
        deletions = sorted(remote.keys() - plan.manifest.keys() - self.kept)
        operations: list[Any] = [CommitOperationDelete(path_in_repo=path) for path in deletions]
        operations += [
            CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(plan.files[rel]))
            for rel, blob in plan.manifest.items()
            if rel not in remote or not same_blob(blob, remote[rel])
        ]
        self.after = "running the same command again is safe: it makes no commit if this one went through"
        info = self.call(self.api.create_commit, operations, commit_message=plan.message, parent_commit=head)
        self.after = f"commit {info.oid} was made but tag {plan.tag} was not: run the same command again to add it"
        return info.oid

    def finish(self, plan: Plan, head: str | None, commit: str) -> None:
        """Add the tag (create_commit has already moved `main`)."""
        if plan.tag:
            self.call(self.api.create_tag, tag=plan.tag, revision=commit)

    def download(
        self,
        revision: str,
        dest: Path,
        asked: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
    ) -> str:
        """snapshot_download a revision into `dest` (a dataset repo, else a model repo) with huggingface_hub's
        progress bars, without download metadata, once every file path of its listing is known to stay inside
        `dest`; only the files `include` matches and `exclude` does not (glob patterns). `asked` is the revision
        the user named (default `revision`), for messages. Returns the commit."""
        if not self.call(self.api.repo_exists):
            self.repo_type = MODEL
        if not self.call(self.api.revision_exists, revision):
            raise unknown_revision(self.target, revision, self.tags())
        commit = self.resolve(revision) or revision
        check_repo_paths(self.tree(commit), f"{self.target} at {asked or revision}")
        self.call(
            snapshot_download,
            revision=commit,
            local_dir=dest,
            endpoint=self.api.endpoint,
            token=self.api.token,
            allow_patterns=list(include) if include else None,
            ignore_patterns=list(exclude) if exclude else None,
        )
        shutil.rmtree(dest / ".cache" / "huggingface", ignore_errors=True)
        with contextlib.suppress(OSError):
            (dest / ".cache").rmdir()
        return commit


def publish_hub(plan: Plan, private: bool) -> PublishResult:
    """Publish to a Hub repo, creating it first if needed (`private` applies to a new repo only)."""
    action = f"publishing to {plan.target}"
    refuse_offline(action)
    repo = HubRepo(hub_api(), plan.target, plan.repo_type, action)
    repo.call(repo.api.create_repo, private=private, exist_ok=True)
    return publish_to(repo, plan)
