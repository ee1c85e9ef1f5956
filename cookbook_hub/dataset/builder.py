"""Build a Hub-ready dataset folder from a recipe or from the template set.

The layout is `cookbook_hub.folders.DatasetFolder`'s: Parquet shards per config and split, and the build
manifest; `load_dataset(folder, config)` and the Hub read it with no code of ours installed once the card
(`cookbook_hub.card.dataset_card`) is written. The folder is built beside its destination and moved into
place only when complete, card included: `build(..., finish=write_dataset_card)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from cookbook_hub import __version__
from cookbook_hub.dataset.local_engine import write_parts
from cookbook_hub.dataset.parts import MAX_SHARD_ROWS, Part, local_out, plan_parts
from cookbook_hub.dataset.plan import ConfigPlan, plan_build
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import atomic_path


def split_entry(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest entry of one split from the records of its parts, in file order."""
    return {
        "num_examples": sum(r["num_examples"] for r in records),
        "num_bytes": sum(r["num_bytes"] for r in records),
        "text_bytes": sum(r["text_bytes"] for r in records),
        "files": [r["file"] for r in records],
        "shards": [{"file": r["file"], "num_examples": r["num_examples"], "sha256": r["sha256"]} for r in records],
    }


def config_manifest(plan: ConfigPlan, splits: dict[str, dict]) -> dict[str, Any]:
    """The manifest entry of one config."""
    from cookbook_hub.generation.rows import features

    recipe = plan.recipe
    return {
        "recipe": recipe.model_dump(mode="json"),
        "recipe_version": recipe.version,
        "content_hash": recipe.content_hash,
        "templates": [
            {
                "template": t.name,
                "template_version": t.version,
                "family": t.family,
                "target": t.target_task,
                "rule": t.summary,
                "params": t.params_dict(),
                "weight": recipe.weights[t.name],
                "rows": {s: plan.counts[s][i] for s in splits},
            }
            for i, t in enumerate(plan.templates)
        ],
        "token_space": plan.templates[0].token_space.identity.as_dict(),
        "features": features(plan.templates, recipe.format).to_dict(),
        "splits": splits,
    }


@dataclass(frozen=True)
class BuildResult:
    """What `build` wrote: its folder (a URL for a Ray build written to one), kind and rows by config and split."""

    path: Path | str
    kind: str
    configs: dict[str, dict[str, int]]

    @classmethod
    def of(cls, path: Path | str, manifest: dict[str, Any]) -> BuildResult:
        """The result of a build whose manifest is `manifest`."""
        configs = manifest["configs"]
        sizes = {name: {s: e["num_examples"] for s, e in c["splits"].items()} for name, c in configs.items()}
        return cls(path, manifest["kind"], sizes)


def build(
    spec: str,
    out: str | Path,
    *,
    n: int | None = None,
    num_proc: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    max_shard_rows: int = MAX_SHARD_ROWS,
    finish: Callable[[Path], object] | None = None,
) -> BuildResult:
    """Build a recipe (name or YAML path) or the template set (`"templates"`) into the folder `out`.

    `finish(folder)` runs on the complete folder before it is moved into place: the commands pass
    `cookbook_hub.card.dataset_card.write_dataset_card`, so the folder appears with its card or not at all.
    """
    out = local_out(out)
    kind, plans = plan_build(spec, n)
    parts = plan_parts(plans, max_shard_rows)
    total = sum(len(p.positions) for p in parts)
    with atomic_path(out, overwrite) as tmp, tqdm(total=total, unit="rows", disable=not progress, desc="build") as bar:
        tmp.mkdir()
        records = write_parts(plans, parts, tmp, num_proc=num_proc, bar=bar)
        manifest = write_manifest(tmp, kind, plans, parts, records)
        if finish is not None:
            finish(tmp)
    return BuildResult.of(out, manifest)


def write_manifest(
    folder: Path, kind: str, plans: list[ConfigPlan], parts: list[Part], records: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Write the build manifest of a folder whose parts are all written (`records` by file); return it."""
    manifest: dict[str, Any] = {
        "generator": {"name": "cookbook-hub", "version": __version__},
        "kind": kind,
        "configs": {},
    }
    for plan in plans:
        splits = {
            split: split_entry([records[p.rel] for p in parts if (p.config, p.split) == (plan.name, split)])
            for split, rows in plan.split_rows.items()
            if rows > 0
        }
        manifest["configs"][plan.name] = config_manifest(plan, splits)
    DatasetFolder(folder).write_manifest(manifest)
    return manifest
