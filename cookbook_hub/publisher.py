"""Publishing a built dataset (or model) folder as a versioned repository, and pulling a version back.

One interface, two targets (see `cookbook_hub.targets`):

- a local hub folder `<root>/<namespace>/<name>`: a git repository on branch `main`;
- `hf://<namespace>/<name>`: a Hugging Face Hub repo, through `huggingface_hub.HfApi`
  (`HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE` are honoured).

Every publish first compares the folder with the target: identical content makes no commit, other
content makes exactly one commit whose tree is the folder (files gone from the folder are deleted).
A version tag that already names different content is refused before anything is written. The
folder itself is only read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import httpx2
import yaml
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
from huggingface_hub.repocard import metadata_load
from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

from cookbook_hub.build import MANIFEST
from cookbook_hub.errors import PublishError
from cookbook_hub.generate import atomic_path
from cookbook_hub.targets import Target, check_tag, parse_target

DATASET, MODEL = "dataset", "model"
MAIN = "main"
MODEL_FILES = ("adapter_config.json", "config.json")
BUILD_FIX = "run `cookbook-hub build` first and publish the folder it wrote"
HASH_CHUNK = 1 << 20
GIT = (
    "git",
    *("-c", "user.name=cookbook-hub", "-c", "user.email=cookbook-hub@localhost"),
    *("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false"),
)
NO_COMMIT = "no commit was made"
HUB_ERRORS = (httpx2.HTTPError, OfflineModeIsEnabled, LocalEntryNotFoundError, ValueError)
T = TypeVar("T")


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


# ------------------------------------------------------------------ the folder


def folder_kind(folder: Path) -> str:
    """'dataset' for a built dataset (README.md with `configs:`), 'model' for a model or adapter folder."""
    readme = folder / "README.md"
    if not folder.is_dir():
        raise PublishError(f"folder {str(folder)!r} does not exist", fix=BUILD_FIX)
    if readme.is_file():
        configs = card_metadata(readme).get("configs")
        if isinstance(configs, list) and configs:
            return DATASET
        if any((folder / name).is_file() for name in MODEL_FILES):
            return MODEL
    raise PublishError(
        f"not a built dataset or model folder: {str(folder)!r} is missing README.md with `configs:` "
        f"(a dataset), or README.md with {' or '.join(MODEL_FILES)} (a model)",
        fix=BUILD_FIX,
    )


def card_metadata(readme: Path) -> dict[str, Any]:
    """The YAML front matter of a README.md ({} when there is none)."""
    try:
        return metadata_load(readme) or {}
    except (yaml.YAMLError, ValueError) as exc:
        raise PublishError(
            f"{readme}: invalid YAML front matter: {exc}", fix="fix the card or rebuild the folder"
        ) from None


def folder_files(folder: Path) -> dict[str, Path]:
    """Files to publish, by POSIX path relative to `folder`, sorted; `.git` and `.cache/huggingface` are left out."""
    found = {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*")) if path.is_file()}
    return {rel: found[rel] for rel in filter_repo_objects(found, ignore_patterns=DEFAULT_IGNORE_PATTERNS)}


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


# ------------------------------------------------------------------ publish


def publish(
    folder: str | Path,
    to: str,
    *,
    tag: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    message: str | None = None,
) -> PublishResult:
    """Publish a built folder to `to` (`hf://ns/name` or a hub folder) as at most one commit, optionally tagged."""
    folder = Path(folder)
    target = parse_target(to)
    if tag is not None:
        check_tag(tag)
    repo_type = folder_kind(folder)
    with tempfile.TemporaryDirectory(prefix="cookbook-hub-card-") as scratch:
        files = folder_files(folder)
        card = card_for_target(folder, repo_type, files, target, Path(scratch))
        if card is not None:
            files["README.md"] = card
        plan = Plan(
            target=target,
            repo_type=repo_type,
            files=files,
            tag=tag,
            message=message or " ".join(filter(None, ("Publish", target.name, tag))),
            url=hub_url(target, repo_type) if target.is_hub else target.path.resolve().as_uri(),
        )
        if dry_run:
            return plan.result(commit=None, created=False)
        if target.is_hub:
            return publish_hub(plan, private)
        return publish_local(plan)


def card_for_target(
    folder: Path, repo_type: str, files: Mapping[str, Path], target: Target, scratch: Path
) -> Path | None:
    """The card re-rendered to name the target (in `scratch`; the folder's own card is left as it is): for a
    dataset built by `cookbook-hub build`, and for an adapter trained by `cookbook-hub train`, whose loading
    snippet then loads the Hub repo, or the local hub folder. None for other folders (their card goes as is)."""
    from cookbook_hub.cards import render_dataset_card
    from cookbook_hub.model_card import render_model_card, trained_here

    if repo_type == DATASET and MANIFEST in files:
        card = str(render_dataset_card(folder, target.repo_id))
    elif repo_type == MODEL and trained_here(folder):
        card = str(render_model_card(folder, repo_id=target.repo_id if target.is_hub else str(target.path)))
    else:
        return None
    path = scratch / "README.md"
    path.write_text(card, encoding="utf-8")
    return path


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
    if head and MANIFEST in plan.files and MANIFEST in remote:
        check_recipe_versions(plan, json.loads(repo.read(head, MANIFEST)))
    commit = repo.commit(plan, head, remote)
    repo.finish(plan, head, commit)
    return plan.result(commit=commit, created=True)


def check_recipe_versions(plan: Plan, published: dict[str, Any]) -> None:
    """Refuse a dataset whose recipe changed (content hash) while keeping the published version."""
    local = json.loads(plan.files[MANIFEST].read_text(encoding="utf-8"))
    for name, config in local.get("configs", {}).items():
        old = published.get("configs", {}).get(name)
        if old and old["recipe_version"] == config["recipe_version"] and old["content_hash"] != config["content_hash"]:
            raise PublishError(
                f"config {name!r} of {plan.target}: recipe version {config['recipe_version']} is already published "
                f"with other content (content hash {old['content_hash'][:12]}, now {config['content_hash'][:12]}); "
                "nothing was changed",
                fix="bump the recipe's version (e.g. its patch number), rebuild, and publish again",
            )


# ------------------------------------------------------------------ local hub folders (git)


def git(
    repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, out: IO | None = None
) -> str:
    """Run git in `repo` and return its output; a failure becomes a PublishError with git's message."""
    proc = run_git(repo, *args, stdin=stdin, env=env, out=out)
    if proc.returncode:
        raise PublishError(
            f"git {args[0]} failed in {repo}: {proc.stderr.decode(errors='replace').strip()}",
            fix="check the hub repository with `git status` and `git log` there",
        )
    return proc.stdout.decode() if proc.stdout is not None else ""


def run_git(
    repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, out: IO | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `repo`, isolated from GIT_* variables of the calling environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        return subprocess.run(
            [*GIT, "-C", str(repo), *args],
            input=stdin,
            stdout=out or subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**clean, **(env or {})},
            check=False,
        )
    except FileNotFoundError:
        raise PublishError("git is not installed", fix="install git to publish to a local hub folder") from None


class GitRepo:
    """A local hub repository: a git repository whose `main` holds the published versions."""

    kept: frozenset[str] = frozenset()

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def exists(self) -> bool:
        """Whether the git repository has been created."""
        return (self.path / ".git").is_dir()

    def check(self) -> None:
        """Refuse a folder that is not a hub repository, or one with local edits or another branch checked out."""
        if not self.exists:
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise PublishError(
                    f"{self.path} exists and is not a git repository", fix="publish to another target or remove it"
                )
            return
        branch = run_git(self.path, "symbolic-ref", "-q", "HEAD").stdout.decode().strip()
        if branch != f"refs/heads/{MAIN}" or git(self.path, "status", "--porcelain"):
            raise PublishError(
                f"hub repository {self.path} has local changes or is not on branch {MAIN}",
                fix=f"commit or discard them and check out {MAIN} (see `git -C {self.path} status`)",
            )

    def resolve(self, revision: str) -> str | None:
        """The commit a tag, branch or sha names, or None."""
        if not self.exists:
            return None
        proc = run_git(self.path, "rev-parse", "-q", "--verify", "--end-of-options", f"{revision}^{{commit}}")
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def tags(self) -> list[str]:
        """All tag names."""
        return git(self.path, "tag", "--list").split() if self.exists else []

    def head(self) -> str | None:
        """The commit of `main`, None before the first publish."""
        return self.resolve(f"refs/heads/{MAIN}")

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag names, None when there is no such tag."""
        return self.resolve(f"refs/tags/{tag}")

    def tree(self, commit: str) -> dict[str, Blob]:
        """The files of a commit."""
        blobs = {}
        for record in filter(None, git(self.path, "ls-tree", "-r", "-l", "-z", commit).split("\0")):
            meta, path = record.split("\t", 1)
            _, kind, oid, size = meta.split()
            if kind == "blob":
                blobs[path] = Blob(int(size), oid)
        return blobs

    def read(self, commit: str, path: str) -> str:
        """The text of one file of a commit."""
        return git(self.path, "show", f"{commit}:{path}")

    def commit(self, plan: Plan, head: str | None, remote: dict[str, Blob]) -> str:
        """Write the folder's files as blobs and one commit object; no ref moves yet."""
        if not self.exists:
            self.path.mkdir(parents=True, exist_ok=True)
            git(self.path, "init", "-q", "-b", MAIN)
        paths = "\n".join(str(path.resolve()) for path in plan.files.values())
        oids = git(self.path, "hash-object", "-w", "--no-filters", "--stdin-paths", stdin=paths.encode()).split()
        entries = "".join(f"100644 {oid}\t{rel}\0" for oid, rel in zip(oids, plan.files, strict=True))
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            git(self.path, "update-index", "--add", "-z", "--index-info", stdin=entries.encode(), env=env)
            tree = git(self.path, "write-tree", env=env).strip()
        parents = ("-p", head) if head else ()
        return git(self.path, "commit-tree", tree, *parents, "-m", plan.message).strip()

    def finish(self, plan: Plan, head: str | None, commit: str) -> None:
        """Move `main` and add the tag in one atomic ref transaction, then check out the new tree."""
        updates = [f"update refs/heads/{MAIN} {commit} {head or '0' * 40}\n"] if commit != head else []
        if plan.tag:
            updates.append(f"create refs/tags/{plan.tag} {commit}\n")
        if updates:
            git(self.path, "update-ref", "--stdin", stdin="".join(updates).encode())
        if commit != head:
            git(self.path, "reset", "-q", "--hard")

    def materialise(self, commit: str, dest: Path) -> None:
        """Write the files of a commit into `dest`, byte for byte."""
        for rel, blob in self.tree(commit).items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                git(self.path, "cat-file", "blob", blob.oid, out=fh)


def publish_local(plan: Plan) -> PublishResult:
    """Publish to a local hub repository; a repository created by a failed first publish is removed."""
    repo = GitRepo(plan.target.path)
    repo.check()
    new = not repo.path.exists()
    try:
        return publish_to(repo, plan)
    except BaseException:
        if new:
            shutil.rmtree(repo.path, ignore_errors=True)
        raise


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


def scrub(text: str) -> str:
    """Remove the HF_TOKEN value from a text."""
    token = os.environ.get("HF_TOKEN")
    return text.replace(token, "***") if token else text


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
    elif isinstance(exc, ValueError):
        reason, fix = (
            f"the Hub client refused the request: {str(exc).strip()}",
            f"fix the folder and try again; {after}",
        )
    elif status is None or status >= 500 or status == 429:
        detail = f"HTTP {status}" if status else type(exc).__name__
        reason, fix = f"the Hub is unavailable ({detail})", f"retry later; {after}"
    else:
        reason = f"the Hub refused the request (HTTP {status}): {exc.server_message or exc}"
        fix = f"check the message above; {after}"
    return PublishError(scrub(f"{action} failed: {reason}"), fix=scrub(fix))


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

    def download(self, revision: str, dest: Path) -> None:
        """snapshot_download a revision into `dest` (a dataset repo, else a model repo), without download metadata."""
        if not self.call(self.api.repo_exists):
            self.repo_type = MODEL
        if not self.call(self.api.revision_exists, revision):
            raise unknown_revision(self.target, revision, self.tags())
        self.call(
            snapshot_download, revision=revision, local_dir=dest, endpoint=self.api.endpoint, token=self.api.token
        )
        shutil.rmtree(dest / ".cache" / "huggingface", ignore_errors=True)
        with contextlib.suppress(OSError):
            (dest / ".cache").rmdir()


def publish_hub(plan: Plan, private: bool) -> PublishResult:
    """Publish to a Hub repo, creating it first if needed (`private` applies to a new repo only)."""
    action = f"publishing to {plan.target}"
    refuse_offline(action)
    repo = HubRepo(hub_api(), plan.target, plan.repo_type, action)
    repo.call(repo.api.create_repo, private=private, exist_ok=True)
    return publish_to(repo, plan)


# ------------------------------------------------------------------ pull


def unknown_revision(target: Target, revision: str, tags: list[str]) -> PublishError:
    """The error for a revision that names nothing, listing the tags that exist."""
    fix = f"use one of the tags: {', '.join(tags)}" if tags else "the repository has no tags yet: use main or a sha"
    return PublishError(f"unknown revision {revision!r} in {target}", fix=fix)


def pull(source: str, revision: str, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write one version (tag, branch or sha) of a published repo into a plain folder `out`; returns `out`."""
    target = parse_target(source)
    out = Path(out)
    if target.is_hub:
        refuse_offline(f"pulling {target}")
        repo = HubRepo(hub_api(), target, DATASET, f"pulling {target}", after="nothing was written")
        with atomic_path(out, overwrite) as tmp:
            repo.download(revision, tmp)
        return out
    repo = GitRepo(target.path)
    if not repo.exists:
        raise PublishError(f"no hub repository at {target.path}", fix="publish to it first with `cookbook-hub publish`")
    commit = repo.resolve(revision)
    if commit is None:
        raise unknown_revision(target, revision, repo.tags())
    with atomic_path(out, overwrite) as tmp:
        tmp.mkdir()
        repo.materialise(commit, tmp)
    return out
