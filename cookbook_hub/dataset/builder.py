"""Build a Hub-ready dataset folder from a recipe or from the template set.

The layout is `cookbook_hub.folders.DatasetFolder`'s: Parquet shards per config and split, and the build
manifest; `load_dataset(folder, config)` and the Hub read it with no code of ours installed once the card
(`cookbook_hub.card.dataset_card`) is written. The folder is built beside its destination and moved into
place only when complete, card included: `build(..., finish=write_dataset_card)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm.auto import tqdm

from cookbook_hub import __version__
from cookbook_hub.dataset.plan import ConfigPlan, plan_build
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import atomic_path
from cookbook_hub.generation.generate import iter_batches
from cookbook_hub.generation.writers import text_bytes, with_provenance
from cookbook_hub.tokens.sampling import Shard

MAX_SHARD_ROWS = 500_000



def write_split(plan: ConfigPlan, split: str, folder: Path, num_proc: int, max_shard_rows: int, bar: tqdm) -> dict:
    """Write one split of a config as Parquet shards; return its manifest entry."""
    source = plan.source(split)
    rows = plan.split_rows[split]
    count = max(1, math.ceil(rows / max_shard_rows))
    meta = {"generator": f"cookbook-hub {__version__}", "config": plan.name, **source.provenance()}
    schema = with_provenance(source.schema, meta)
    entry: dict[str, Any] = {"num_examples": rows, "num_bytes": 0, "text_bytes": 0, "files": []}
    (folder / plan.name).mkdir(parents=True, exist_ok=True)
    for k in range(count):
        rel = DatasetFolder.shard(plan.name, split, k, count)
        with pq.ParquetWriter(folder / rel, schema, compression="zstd") as writer:
            for batch in iter_batches(source, Shard(k, count).range(rows), num_proc):
                writer.write_batch(batch)
                entry["num_bytes"] += batch.nbytes
                entry["text_bytes"] += text_bytes(batch)
                bar.update(batch.num_rows)
        entry["files"].append(rel)
    return entry


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
    """What `build` wrote."""

    path: Path
    kind: str
    configs: dict[str, dict[str, int]]


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
    out = Path(out)
    kind, plans = plan_build(spec, n)
    total = sum(sum(p.split_rows.values()) for p in plans)
    manifest: dict[str, Any] = {
        "generator": {"name": "cookbook-hub", "version": __version__},
        "kind": kind,
        "configs": {},
    }
    with atomic_path(out, overwrite) as tmp, tqdm(total=total, unit="rows", disable=not progress, desc="build") as bar:
        tmp.mkdir()
        for plan in plans:
            splits = {
                split: write_split(plan, split, tmp, num_proc, max_shard_rows, bar)
                for split, rows in plan.split_rows.items()
                if rows > 0
            }
            manifest["configs"][plan.name] = config_manifest(plan, splits)
        DatasetFolder(tmp).write_manifest(manifest)
        if finish is not None:
            finish(tmp)
    sizes = {name: {s: e["num_examples"] for s, e in c["splits"].items()} for name, c in manifest["configs"].items()}
    return BuildResult(out, kind, sizes)

