"""Local hub repositories: a git repository per Hub repo, branch `main`, a tag per version."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from cookbook_hub.errors import PublishError
from cookbook_hub.hub.repo import MAIN, Blob, Plan, PublishResult, publish_to

GIT = (
    "git",
    *("-c", "user.name=cookbook-hub", "-c", "user.email=cookbook-hub@localhost"),
    *("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false"),
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
