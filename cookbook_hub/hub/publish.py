"""Publishing a built dataset (or model) folder as a versioned repository.

One interface, two targets (see `cookbook_hub.hub.targets`):

- a local hub folder `<root>/<namespace>/<name>`: a git repository on branch `main` (`cookbook_hub.hub.git`);
- `hf://<namespace>/<name>`: a Hugging Face Hub repo, through `huggingface_hub.HfApi` (`cookbook_hub.hub.hf`).

Every publish first compares the folder with the target: identical content makes no commit, other
content makes exactly one commit whose tree is the folder (files gone from the folder are deleted).
A version tag that already names different content is refused before anything is written. The
folder itself is only read, and only its own files are published: a symbolic link (or a file that
resolves outside the folder) is refused, since publishing it would publish what it points to.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

from cookbook_hub.card.dataset_card import render_dataset_card, shareable_manifest
from cookbook_hub.card.model_card import render_model_card
from cookbook_hub.dataset.verify import front_matter, verify_folder
from cookbook_hub.errors import PublishError
from cookbook_hub.folders import README, AdapterFolder, DatasetFolder, RepoFolder
from cookbook_hub.hub.git import publish_local
from cookbook_hub.hub.hf import hub_url, publish_hub
from cookbook_hub.hub.repo import DATASET, MODEL, Plan, PublishResult
from cookbook_hub.hub.shareable import check_not_nested, check_shareable
from cookbook_hub.hub.targets import Target, check_publish_target, check_tag, parse_target

BUILD_FIX = "run `cookbook-hub build` first and publish the folder it wrote"


# ------------------------------------------------------------------ the folder


def folder_kind(folder: Path) -> str:
    """'dataset' for a built dataset (README.md with `configs:`), 'model' for a model or adapter folder."""
    readme = folder / README
    if folder.is_file():
        raise PublishError(f"{str(folder)!r} is a file, not a folder", fix=f"publish its folder; {BUILD_FIX}")
    if not folder.is_dir():
        raise PublishError(f"folder {str(folder)!r} does not exist", fix=BUILD_FIX)
    if readme.is_file():
        configs = front_matter(readme).get("configs")
        if isinstance(configs, list) and configs:
            return DATASET
        if any((folder / name).is_file() for name in AdapterFolder.MODEL_FILES):
            return MODEL
    raise PublishError(
        f"not a built dataset or model folder: {str(folder)!r} is missing README.md with `configs:` "
        f"(a dataset), or README.md with {' or '.join(AdapterFolder.MODEL_FILES)} (a model)",
        fix=BUILD_FIX,
    )


def folder_files(folder: Path) -> dict[str, Path]:
    """Files to publish, by POSIX path relative to `folder`, sorted; `.git`, `.cache/huggingface` and an adapter's
    TensorBoard logs (`runs/`, which record local paths) are left out.
    A symbolic link, or a file that resolves outside the folder, is refused."""
    found = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() or path.is_symlink()
    }
    ignored = [*DEFAULT_IGNORE_PATTERNS, *AdapterFolder.LOCAL_ONLY]
    files = {rel: found[rel] for rel in filter_repo_objects(found, ignore_patterns=ignored)}
    root = folder.resolve()
    for rel, path in files.items():
        if path.is_symlink() or not path.resolve().is_relative_to(root):
            raise PublishError(
                f"{rel!r} in {str(folder)!r} is a symbolic link (or lies outside the folder): publishing it would "
                "publish what it points to; nothing was published",
                fix="replace the link with a copy of the file it points to, or remove it",
            )
    return files


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
    check_publish_target(to)
    target = parse_target(to)
    check_not_nested(target)
    if tag is not None:
        check_tag(tag)
    repo_type = folder_kind(folder)
    if repo_type == DATASET:
        verify_folder(folder)  # every shard against the manifest, the card's data files: before anything is written
    with tempfile.TemporaryDirectory(prefix="cookbook-hub-card-") as scratch:
        files = folder_files(folder)
        card = card_for_target(folder, repo_type, files, target, Path(scratch), tag)
        if card is not None:
            files[README] = card
        manifest = manifest_for_target(folder, repo_type, files, Path(scratch))
        if manifest is not None:
            files[DatasetFolder.MANIFEST] = manifest
        plan = Plan(
            target=target,
            repo_type=repo_type,
            files=files,
            tag=tag,
            message=message or " ".join(filter(None, ("Publish", target.name, tag))),
            url=hub_url(target, repo_type) if target.is_hub else target.path.resolve().as_uri(),
        )
        check_shareable(files, folder)
        if dry_run:
            return plan.result(commit=None, created=False)
        if target.is_hub:
            return publish_hub(plan, private)
        return publish_local(plan)


def card_for_target(
    folder: Path, repo_type: str, files: Mapping[str, Path], target: Target, scratch: Path, tag: str | None = None
) -> Path | None:
    """The card re-rendered to name the target (in `scratch`; the folder's own card is left as it is): for a
    dataset built by `cookbook-hub build`, and for an adapter trained by `cookbook-hub train`, whose loading
    snippet then loads the Hub repo, or the local hub folder. None for other folders (their card goes as is)."""
    if repo_type == DATASET and DatasetFolder.MANIFEST in files:
        card = str(render_dataset_card(folder, target.repo_id))
    elif repo_type == MODEL and AdapterFolder(folder).trained_here:
        local_hub = None if target.is_hub else target.shown
        card = str(render_model_card(folder, repo_id=target.repo_id, revision=tag or "main", local_hub=local_hub))
    else:
        return None
    return RepoFolder(scratch).write_readme(card)


def manifest_for_target(folder: Path, repo_type: str, files: Mapping[str, Path], scratch: Path) -> Path | None:
    """The build manifest as published, in `scratch`, when the folder's own names a token space by a local path
    (`cookbook_hub.card.dataset_card.shareable_manifest`); None when it can go as it is."""
    if repo_type != DATASET or DatasetFolder.MANIFEST not in files:
        return None
    manifest = DatasetFolder(folder).manifest()
    shared = shareable_manifest(manifest)
    return None if shared == manifest else DatasetFolder(scratch).write_manifest(shared)
