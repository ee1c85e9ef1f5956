"""Local hub repositories: a git repository per Hub repo, branch `main`, a tag per version.

One publish at a time writes to a repository: it holds a lock file beside the repository folder
(`.NAME.lock`, outside the working tree) from its first check to its last write. Its objects go into a
quarantine folder in `.git` and join the object store only once the new tree is checked out; `main` and
the tag move last, in one ref transaction. A publish that fails puts the working tree back and deletes its
quarantined objects; one that was killed leaves a marker in `.git` from which the next publish, before
anything else, puts the repository back as the last complete publish left it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from filelock import FileLock, Timeout
from huggingface_hub.utils import tqdm as hub_tqdm

from cookbook_hub.errors import PublishError
from cookbook_hub.fs import HASH_CHUNK, is_disk_full, no_space, write_json
from cookbook_hub.hub.repo import MAIN, Blob, Plan, PublishResult, publish_to

GIT = (
    "git",
    *("-c", "user.name=cookbook-hub", "-c", "user.email=cookbook-hub@localhost"),
    *("-c", "core.autocrlf=false", "-c", "commit.gpgsign=false"),
)
LOCK_TIMEOUT = 600.0
INCOMING = "cookbook-hub-incoming"  # in .git: the objects of a publish whose refs have not moved yet
PENDING = "cookbook-hub-pending.json"  # in .git: the checkout of a publish whose refs have not moved yet
PROGRESS_DELAY_S = 2.0  # a progress bar shows only once the copying has taken this long (large folders)
HASH_GROUP_BYTES = 64 << 20  # files handed to one `git hash-object` call, by size ...
HASH_GROUP_FILES = 256  # ... and by count: the progress bar moves between calls


def byte_bar(total: int, desc: str) -> hub_tqdm:
    """A progress bar over bytes for copies into or out of a local hub repository, as the Hub's own transfers
    show: it appears only for copies that take more than PROGRESS_DELAY_S, and huggingface_hub's switch
    (`HF_HUB_DISABLE_PROGRESS_BARS=1`, `disable_progress_bars()`, `pull/publish -q`) turns it off with theirs."""
    return hub_tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, delay=PROGRESS_DELAY_S)


def size_groups(sized: list[tuple[Path, int]]) -> Iterator[tuple[list[Path], int]]:
    """Files (with their sizes) in order, cut into groups of at most HASH_GROUP_FILES files or about
    HASH_GROUP_BYTES bytes; each group with its bytes."""
    group: list[Path] = []
    size = 0
    for path, length in sized:
        group.append(path)
        size += length
        if size >= HASH_GROUP_BYTES or len(group) >= HASH_GROUP_FILES:
            yield group, size
            group, size = [], 0
    if group:
        yield group, size


def git(repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    """Run git in `repo` and return its output; a failure becomes a PublishError with git's message (a
    NoSpaceError when the disk is full)."""
    proc = run_git(repo, *args, stdin=stdin, env=env)
    if proc.returncode:
        error = PublishError(
            f"git {args[0]} failed in {repo}: {proc.stderr.decode(errors='replace').strip()}",
            fix="check the hub repository with `git status` and `git log` there",
        )
        if is_disk_full(error):
            raise no_space(repo, f"git {args[0]} failed and nothing was published") from error
        raise error
    return proc.stdout.decode()


def run_git(
    repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `repo`, isolated from GIT_* variables of the calling environment."""
    with start_git(repo, args, env, stdin=subprocess.PIPE if stdin is not None else None) as proc:
        out, err = proc.communicate(stdin)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def start_git(
    repo: Path, args: tuple[str, ...], env: dict[str, str] | None = None, stdin: int | None = None
) -> subprocess.Popen[bytes]:
    """Start git in `repo` with its output piped, isolated from GIT_* variables of the calling environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        return subprocess.Popen(
            [*GIT, "-C", str(repo), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**clean, **(env or {})},
        )
    except FileNotFoundError:
        raise PublishError("git is not installed", fix="install git to publish to a local hub folder") from None


def copy_blob(repo: Path, oid: str, dest: Path, bar: hub_tqdm | None = None) -> None:
    """Write one blob into the file `dest` through this process, so that a failed write raises its OSError; `bar`
    counts the bytes."""
    with start_git(repo, ("cat-file", "blob", oid)) as proc:
        with dest.open("wb") as fh:
            while chunk := proc.stdout.read(HASH_CHUNK):
                fh.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        error = proc.stderr.read().decode(errors="replace").strip()
    if proc.returncode:
        raise PublishError(f"git cat-file failed in {repo}: {error}", fix="check the hub repository with `git fsck`")


def remove_file(root: Path, rel: str) -> None:
    """Delete the file `root/rel` if it is there, and the folders it leaves empty up to `root`."""
    path = root / rel
    with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
        path.unlink()
    for parent in path.parents:
        if parent == root:
            break
        try:
            parent.rmdir()
        except OSError:
            break


# ------------------------------------------------------------------ local hub folders (git)


class GitRepo:
    """A local hub repository: a git repository whose `main` holds the published versions."""

    kept: frozenset[str] = frozenset()

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def git_dir(self) -> Path:
        """The repository's `.git` folder."""
        return self.path / ".git"

    @property
    def exists(self) -> bool:
        """Whether the git repository has been created."""
        return self.git_dir.is_dir()

    @property
    def incoming(self) -> Path:
        """Where a publish writes its objects until its refs move."""
        return self.git_dir / INCOMING

    @property
    def pending(self) -> Path:
        """The marker of a checkout whose refs have not moved yet: the files it adds."""
        return self.git_dir / PENDING

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the repository's lock (`.NAME.lock` beside it), having first put back what a killed publish left."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path.parent / f".{self.path.name}.lock")
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout:
            raise PublishError(
                f"another publish to {self.path} has held {lock.lock_file} for {LOCK_TIMEOUT:.0f} s",
                fix="wait for it to finish, then publish again",
            ) from None
        try:
            self.recover()
            yield
        finally:
            lock.release()

    def recover(self) -> None:
        """Undo a publish that was killed before its refs moved (or just after): put the working tree and index
        back to `main`, and delete the objects it had not moved into the object store."""
        if self.pending.is_file():
            (self.git_dir / "index.lock").unlink(missing_ok=True)  # left by its killed checkout
            self.undo_checkout()
        shutil.rmtree(self.incoming, ignore_errors=True)

    def check(self) -> None:
        """Refuse a folder that is not a hub repository, one with local edits or another branch checked out, and
        one another git command is writing to."""
        if not self.exists:
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise PublishError(
                    f"{self.path} exists and is not a git repository", fix="publish to another target or remove it"
                )
            return
        index_lock = self.git_dir / "index.lock"
        if index_lock.exists():
            raise PublishError(
                f"{index_lock} exists: another git command is using {self.path}, or one was killed; "
                "nothing was changed",
                fix=f"wait for it to finish; if none is running, delete {index_lock} and publish again",
            )
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
        """Write the folder's files as blobs and one commit object into the quarantine; no ref moves yet."""
        if not self.exists:
            self.path.mkdir(parents=True, exist_ok=True)
            git(self.path, "init", "-q", "-b", MAIN)
        self.incoming.mkdir(exist_ok=True)
        objects = {
            "GIT_OBJECT_DIRECTORY": str(self.incoming.resolve()),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str((self.git_dir / "objects").resolve()),
        }
        sized = [(path, plan.manifest[rel].size) for rel, path in plan.files.items()]
        oids: list[str] = []
        with byte_bar(sum(size for _, size in sized), f"publish {plan.target.name}") as bar:
            for group, size in size_groups(sized):
                paths = "\n".join(str(path.resolve()) for path in group).encode()
                hashed = git(self.path, "hash-object", "-w", "--no-filters", "--stdin-paths", stdin=paths, env=objects)
                oids += hashed.split()
                bar.update(size)
        entries = "".join(f"100644 {oid}\t{rel}\0" for oid, rel in zip(oids, plan.files, strict=True))
        with tempfile.TemporaryDirectory() as scratch:
            env = {**objects, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
            git(self.path, "update-index", "--add", "-z", "--index-info", stdin=entries.encode(), env=env)
            tree = git(self.path, "write-tree", env=env).strip()
        parents = ("-p", head) if head else ()
        return git(self.path, "commit-tree", tree, *parents, "-m", plan.message, env=objects).strip()

    def finish(self, plan: Plan, head: str | None, commit: str) -> None:
        """Check out a new commit, move its objects into the store, then move `main` and add the tag in one ref
        transaction: the refs move last, and a failure before they move puts the working tree back."""
        updates = [f"update refs/heads/{MAIN} {commit} {head or '0' * 40}\n"] if commit != head else []
        if plan.tag:
            updates.append(f"create refs/tags/{plan.tag} {commit}\n")
        if commit == head:
            if updates:
                git(self.path, "update-ref", "--stdin", stdin="".join(updates).encode())
            return
        old = self.tree(head) if head else {}
        added = sorted(set(plan.files) - set(old))
        changed = [blob for rel, blob in plan.manifest.items() if rel not in old or old[rel].oid != blob.oid]
        write_json(self.incoming / PENDING, {"added": added}).replace(self.pending)
        try:
            self.checkout(commit, sum(blob.size for blob in changed))
            self.move_objects_in()
            git(self.path, "update-ref", "--stdin", stdin="".join(updates).encode())
        except BaseException:
            with contextlib.suppress(Exception):  # if this fails too, the marker stays for the next publish
                self.undo_checkout()
            raise
        self.pending.unlink()

    def checkout(self, commit: str, size: int) -> None:
        """Write a commit's tree into the working tree and index (its objects still in quarantine). `size` is what
        its new files take: a failure while the disk has less room than that is a full disk (git does not say)."""
        alternates = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.incoming.resolve())}
        try:
            git(self.path, "read-tree", "--reset", "-u", commit, env=alternates)
        except PublishError as exc:
            if shutil.disk_usage(self.path).free < size:
                raise no_space(self.path, "checking out the new version failed and nothing was published") from exc
            raise

    def move_objects_in(self) -> None:
        """Move the quarantined objects into the object store (pack indexes after their packs), then drop the
        quarantine."""
        store = self.git_dir / "objects"
        files = [path for path in self.incoming.rglob("*") if path.is_file()]
        for path in sorted(files, key=lambda path: path.suffix == ".idx"):
            target = store / path.relative_to(self.incoming)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
        shutil.rmtree(self.incoming)

    def undo_checkout(self) -> None:
        """Put the working tree and index back to `main` after a checkout whose publish did not finish: delete the
        files it added, restore the others, then drop its marker."""
        for rel in json.loads(self.pending.read_text(encoding="utf-8"))["added"]:
            remove_file(self.path, rel)
        if self.head():
            git(self.path, "reset", "-q", "--hard")
        else:
            (self.git_dir / "index").unlink(missing_ok=True)
        self.pending.unlink()

    def materialise(self, commit: str, dest: Path, only: Collection[str] | None = None) -> None:
        """Write the files of a commit (those in `only`, when given) into `dest`, byte for byte."""
        chosen = {rel: blob for rel, blob in self.tree(commit).items() if only is None or rel in only}
        with byte_bar(sum(blob.size for blob in chosen.values()), f"pull {self.path.name}") as bar:
            for rel, blob in chosen.items():
                path = dest / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                copy_blob(self.path, blob.oid, path, bar)


def publish_local(plan: Plan) -> PublishResult:
    """Publish to a local hub repository, one publish at a time; a failed publish removes only what it created:
    its objects, and the repository (or its `.git`) when this publish made it."""
    repo = GitRepo(plan.target.path)
    with repo.writing():
        repo.check()
        created = None if repo.exists else repo.git_dir if repo.path.exists() else repo.path
        try:
            return publish_to(repo, plan)
        except BaseException:
            shutil.rmtree(repo.incoming, ignore_errors=True)
            if created is not None:
                shutil.rmtree(created, ignore_errors=True)
            raise
