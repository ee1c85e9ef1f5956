"""Pulling a published version back: into a plain folder (`pull`), or into the cache by commit (`fetch`).

`pull` is `hf download` for both targets: the revision defaults to `main`, `include`/`exclude` glob patterns
choose files (huggingface_hub's `filter_repo_objects`, the same matching as `hf download --include/--exclude`),
and a Hub download shows huggingface_hub's progress bars.

`fetch` is how every stage gets a published artefact (training data, an adapter to evaluate): the same
`hub/<ns>/<name>[@revision]` or `hf://<ns>/<name>[@revision]` spec, the same cache layout, the same errors.
Both check every file path of the version before writing any (`cookbook_hub.hub.targets.check_repo_paths`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub.utils import filter_repo_objects

from cookbook_hub.errors import PublishError
from cookbook_hub.fs import atomic_path, cache_dir
from cookbook_hub.hub.git import GitRepo
from cookbook_hub.hub.hf import HubRepo, hub_api, refuse_offline
from cookbook_hub.hub.repo import DATASET, MAIN, MODEL, unknown_revision
from cookbook_hub.hub.targets import HF_SCHEME, Target, check_repo_paths, parse_target, split_revision

KINDS = {"datasets": DATASET, "adapters": MODEL}


@dataclass(frozen=True)
class Pulled:
    """What a pull wrote: the folder, the repo, the revision asked (or `main`), its commit and the files written."""

    path: Path
    source: str
    revision: str
    commit: str
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The pull as a JSON-ready dict (what `pull --json` prints)."""
        return {**asdict(self), "path": str(self.path)}


def pull(source: str, revision: str | None = None, out: str | Path | None = None, **options: Any) -> Path:
    """Write one version (tag, branch or sha; default `main`) of a published repo into a plain folder `out`
    (default: the repo's name in the current folder); returns `out`. `options` are `pull_version`'s: `overwrite`,
    and `include`/`exclude` glob patterns choosing the files (as `hf download`)."""
    return pull_version(source, revision, out, **options).path


def pull_version(
    source: str,
    revision: str | None = None,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> Pulled:
    """`pull`, returning what was written (see `Pulled`): `include` and `exclude` are glob patterns (huggingface_hub's
    `filter_repo_objects`), and patterns that select no file are refused."""
    target = parse_target(source)
    revision = revision or MAIN
    out = Path(out) if out is not None else Path(target.name)
    where = f"{target} at {revision}"
    if target.is_hub:
        refuse_offline(f"pulling {target}")
        repo = HubRepo(hub_api(), target, DATASET, f"pulling {target}", after="nothing was written")
        with atomic_path(out, overwrite) as tmp:
            commit = repo.download(revision, tmp, include=include, exclude=exclude)
            files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
            check_selection(files, where, include, exclude)
        return Pulled(out, source, revision, commit, files)
    local = local_repo(target)
    commit = local.resolve(revision)
    if commit is None:
        raise unknown_revision(target, revision, local.tags())
    files = selected(local.tree(commit), include, exclude)
    check_selection(files, where, include, exclude)
    write_commit(local, commit, where, out, overwrite, files)
    return Pulled(out, source, revision, commit, files)


def selected(paths: Sequence[str], include: Sequence[str] | None, exclude: Sequence[str] | None) -> list[str]:
    """The paths `include` matches (all when None) and `exclude` does not, in order."""
    return list(filter_repo_objects(paths, allow_patterns=include or None, ignore_patterns=exclude or None))


def check_selection(files: list[str], where: str, include: Sequence[str] | None, exclude: Sequence[str] | None) -> None:
    """Refuse patterns that select no file (the folder would be empty)."""
    if not files:
        patterns = " ".join(
            [*(f"--include {p!r}" for p in include or ()), *(f"--exclude {p!r}" for p in exclude or ())]
        )
        raise PublishError(f"{patterns} select no file of {where}", fix="check the patterns (globs such as 'data/*')")


def write_commit(
    repo: GitRepo, commit: str, where: str, out: Path, overwrite: bool, files: Sequence[str] | None = None
) -> Path:
    """Write one commit of a local hub repository (`where`, for messages) into a plain folder `out` (only `files`,
    when given), once every file path of its tree is known to stay inside `out`; returns `out`."""
    check_repo_paths(repo.tree(commit), where)
    with atomic_path(out, overwrite) as tmp:
        tmp.mkdir()
        repo.materialise(commit, tmp, files)
    return out


def local_repo(target: Target) -> GitRepo:
    """The local hub repository of a target, which must exist."""
    repo = GitRepo(target.path)
    if not repo.exists:
        raise PublishError(f"no hub repository at {target.path}", fix="publish to it first with `cookbook-hub publish`")
    return repo


def is_published(spec: str) -> bool:
    """Whether `spec` names a published repo: `hf://...`, or a local hub repository (a git folder), with an
    optional `@revision`."""
    base = spec.rpartition("@")[0] if "@" in spec else spec
    return spec.startswith(HF_SCHEME) or GitRepo(Path(base)).exists


@dataclass(frozen=True)
class Fetched:
    """One published version in the cache: its folder, the repo it came from, the revision asked and its commit."""

    path: Path
    target: Target
    revision: str
    commit: str


def fetch(spec: str, kind: str = "datasets", *, fresh: bool = False) -> Fetched:
    """Bring one version of a published repo (`hub/ns/name[@rev]` or `hf://ns/name[@rev]`; default `main`) into
    the cache, keyed by commit: `$COOKBOOK_HUB_CACHE/<kind>/<hub|hf>/<ns>/<name>-<commit>`. A version already
    there is reused, unless `fresh` (a working copy that records will be added to). `kind` is `datasets` or
    `adapters` (a Hub model repo)."""
    base, revision = split_revision(spec)
    revision = revision or MAIN
    target = parse_target(base)
    if target.is_hub:
        action = f"fetching {target}@{revision}"
        refuse_offline(action)
        repo: HubRepo | GitRepo = HubRepo(hub_api(), target, KINDS[kind], action, after="nothing was written")
    else:
        repo = local_repo(target)
    commit = repo.resolve(revision)
    if commit is None:
        raise unknown_revision(target, revision, repo.tags())
    where = "hf" if target.is_hub else "hub"
    folder = cache_dir() / kind / where / target.namespace / f"{target.name}-{commit}"
    if fresh or not folder.is_dir():
        if isinstance(repo, HubRepo):
            with atomic_path(folder, overwrite=True) as tmp:
                repo.download(commit, tmp, asked=revision)
        else:
            write_commit(repo, commit, f"{target} at {revision}", folder, overwrite=True)
    return Fetched(folder, target, revision, commit)
