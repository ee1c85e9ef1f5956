"""Pulling a published version back: into a plain folder (`pull`), or into the cache by commit (`fetch`).

`fetch` is how every stage gets a published artefact (training data, an adapter to evaluate): the same
`hub/<ns>/<name>[@revision]` or `hf://<ns>/<name>[@revision]` spec, the same cache layout, the same errors.
Both check every file path of the version before writing any (`cookbook_hub.hub.targets.check_repo_paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cookbook_hub.errors import PublishError
from cookbook_hub.fs import atomic_path, cache_dir
from cookbook_hub.hub.git import GitRepo
from cookbook_hub.hub.hf import HubRepo, hub_api, refuse_offline
from cookbook_hub.hub.repo import DATASET, MAIN, MODEL, unknown_revision
from cookbook_hub.hub.targets import HF_SCHEME, Target, check_repo_paths, parse_target, split_revision

KINDS = {"datasets": DATASET, "adapters": MODEL}


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
    repo = local_repo(target)
    commit = repo.resolve(revision)
    if commit is None:
        raise unknown_revision(target, revision, repo.tags())
    return write_commit(repo, commit, f"{target} at {revision}", out, overwrite)


def write_commit(repo: GitRepo, commit: str, where: str, out: Path, overwrite: bool) -> Path:
    """Write one commit of a local hub repository (`where`, for messages) into a plain folder `out`, once every
    file path of its tree is known to stay inside `out`; returns `out`."""
    check_repo_paths(repo.tree(commit), where)
    with atomic_path(out, overwrite) as tmp:
        tmp.mkdir()
        repo.materialise(commit, tmp)
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
