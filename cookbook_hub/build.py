"""Build a Hub-ready dataset folder from a recipe or from the template set.

Layout (what `load_dataset(folder, config)` and the Hub read, with no code of ours installed):

    README.md                                  card; YAML `configs:` and `dataset_info`
    cookbook_build.json                        manifest: recipes, counts, hashes, files
    images/<config>-weights.png                recipe weights chart
    <config>/<split>-00000-of-00001.parquet    data

The folder is built beside its destination and moved into place only when complete.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm.auto import tqdm

from cookbook_hub import __version__
from cookbook_hub.errors import ParameterError
from cookbook_hub.generate import atomic_path, iter_batches, text_bytes, with_provenance
from cookbook_hub.jsonfile import read_json
from cookbook_hub.recipe import Recipe, TemplateEntry, load_recipe
from cookbook_hub.sampling import Shard
from cookbook_hub.sources import MixtureSource, largest_remainder
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.templates.base import Template
from cookbook_hub.token_space import resolve_token_space

MANIFEST = "cookbook_build.json"
MAX_SHARD_ROWS = 500_000
TEMPLATE_SET = "templates"
TEMPLATE_SET_ROWS = 10_000


@dataclass
class ConfigPlan:
    """One dataset config: its recipe, template instances and exact rows per split and template."""

    name: str
    recipe: Recipe
    templates: list[Template]
    split_rows: dict[str, int]
    counts: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_recipe(cls, recipe: Recipe, name: str | None = None) -> ConfigPlan:
        """Plan a recipe: split sizes, then per-template counts, both by largest remainder."""
        space = resolve_token_space(recipe.token_space)
        templates = [get_template(e.template, e.params, space) for e in recipe.templates]
        splits = list(recipe.splits)
        rows = dict(zip(splits, largest_remainder(recipe.size, [recipe.splits[s] for s in splits])))
        weights = [e.weight for e in recipe.templates]
        counts = {s: largest_remainder(n, weights) for s, n in rows.items()}
        return cls(name or recipe.name, recipe, templates, rows, counts)

    def source(self, split: str) -> MixtureSource:
        """The row source of one split."""
        return MixtureSource(self.templates, self.counts[split], self.recipe.seed, self.recipe.format, split)


def template_set_recipe(template: str, size: int) -> Recipe:
    """The one-template recipe behind a config of the template set."""
    return Recipe(
        name=template.replace("_", "-"),
        version=__version__,
        description=f"Template {template} alone.",
        templates=[TemplateEntry(template=template, weight=1.0)],
        size=size,
    )


def plan_build(spec: str, n: int | None = None) -> tuple[str, list[ConfigPlan]]:
    """('recipe' | 'templates', plans) for a recipe name/path or the word 'templates'."""
    if n is not None and n < 1:
        raise ParameterError(f"-n must be >= 1, got {n}", fix="ask for at least one row")
    if spec == TEMPLATE_SET:
        size = n or TEMPLATE_SET_ROWS
        return "templates", [ConfigPlan.from_recipe(template_set_recipe(t, size), t) for t in template_names()]
    recipe = load_recipe(spec)
    if n is not None:
        recipe = recipe.model_copy(update={"size": n})
    return "recipe", [ConfigPlan.from_recipe(recipe)]


def shard_name(split: str, k: int, count: int) -> str:
    """Hub-style shard file name."""
    return f"{split}-{k:05d}-of-{count:05d}.parquet"


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
        rel = f"{plan.name}/{shard_name(split, k, count)}"
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
    from cookbook_hub.rows import features

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
) -> BuildResult:
    """Build a recipe (name or YAML path) or the template set (`"templates"`) into a Hub-ready folder."""
    from cookbook_hub.cards import write_dataset_card

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
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        write_dataset_card(tmp)
    sizes = {name: {s: e["num_examples"] for s, e in c["splits"].items()} for name, c in manifest["configs"].items()}
    return BuildResult(out, kind, sizes)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The build manifest of a built dataset folder."""
    return read_json(
        Path(folder) / MANIFEST,
        what="build manifest",
        missing=f"{str(folder)!r} is not a built dataset: no {MANIFEST}",
        fix="build it with `cookbook-hub build RECIPE --out DIR` (add --overwrite to rebuild)",
    )
