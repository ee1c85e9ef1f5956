"""Dataset cards: rendered from `cards/dataset_card.md.j2` through huggingface_hub's DatasetCard.

The card is derived from a built folder alone (its manifest and Parquet files), so
`cookbook-hub card DIR` re-renders it at any time; the YAML metadata (`configs:`, `dataset_info`)
is produced by datasets' own helpers, the ones `push_to_hub` uses. The manifest is read as data: the
Parquet files it names must lie inside the folder, and a token space it names by a local path is shown
(and, by `write_dataset_card`, recorded) without the path's folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from cookbook_hub._dataset_scripts.cookbook_templates import CITATION
from cookbook_hub.card.render import render_card_template
from cookbook_hub.dataset.url_output import UrlFolder
from cookbook_hub.dataset.verify import inside, split_shards
from cookbook_hub.errors import CookbookError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.plots import heatmap, weights_plot
from cookbook_hub.recipes.schema import Recipe, shareable_token_space

EXAMPLES_PER_TEMPLATE = 2
SPLIT_ORDER = ("train", "validation", "test")


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket for a row count."""
    for limit, label in [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ]:
        if rows < limit:
            return label
    return "100M<n<1B"


def card_data(manifest: dict[str, Any], pretty_name: str) -> DatasetCardData:
    """Validated card metadata: license, tags, and `configs:`/`dataset_info` matching the files."""
    configs = manifest["configs"]
    total = sum(s["num_examples"] for c in configs.values() for s in c["splits"].values())
    data = DatasetCardData(
        license="apache-2.0",
        language=["en"],
        pretty_name=pretty_name,
        size_categories=[size_category(total)],
        task_categories=["text-generation", "question-answering", "multiple-choice"],
        tags=["synthetic", "cookbook", "instruction-tuning", "templates"],
    )
    MetadataConfigs(
        {
            name: {"data_files": [{"split": s, "path": DatasetFolder.split_pattern(name, s)} for s in c["splits"]]}
            for name, c in configs.items()
        }
    ).to_dataset_card_data(data)
    infos = {}
    for name, c in configs.items():
        splits = datasets.SplitDict()
        for split, entry in c["splits"].items():
            splits.add(datasets.SplitInfo(name=split, num_bytes=entry["num_bytes"], num_examples=entry["num_examples"]))
        infos[name] = datasets.DatasetInfo(
            features=datasets.Features.from_dict(c["features"]),
            splits=splits,
            dataset_size=sum(e["num_bytes"] for e in c["splits"].values()),
            download_size=None,
        )
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def shareable_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with each config's recipe naming its token space without local folders
    (`cookbook_hub.recipes.schema.shareable_token_space`): what cards show and what is published."""
    configs = {}
    for name, config in manifest["configs"].items():
        recipe = config["recipe"]
        configs[name] = {**config, "recipe": {**recipe, "token_space": shareable_token_space(recipe["token_space"])}}
    return {**manifest, "configs": configs}


def data_file(folder: Path, config: str, split: str, rel: str, data: UrlFolder | None = None) -> Path | str:
    """The Parquet file a manifest `files` entry names, refused unless it is a file inside the folder (or, for a
    build written to a URL, in `data`, where its data files are: then `rel` itself is returned)."""
    path = folder / rel
    if not inside(folder, rel):
        problem = "points outside the folder"
    elif not (data.isfile(rel) if data is not None else path.is_file()):
        problem = "names a file that does not exist"
    else:
        return rel if data is not None else path
    raise CookbookError(
        f"{str(folder / DatasetFolder.MANIFEST)!r}: configs.{config}.splits.{split}.files entry {rel!r} {problem}",
        fix="a built folder names only its own Parquet files: rebuild it with "
        "`cookbook-hub build RECIPE --out DIR --overwrite`",
    )


def split_files(
    folder: Path, config: str, splits: dict[str, Any], data: UrlFolder | None = None
) -> dict[str, list[Path | str]]:
    """The Parquet files of every split of a config, each checked by `data_file`."""
    return {split: [data_file(folder, config, split, rel, data) for rel in s["files"]] for split, s in splits.items()}


def example_rows(
    files: list[Path | str], template: str, k: int = EXAMPLES_PER_TEMPLATE, data: UrlFolder | None = None
) -> list[dict]:
    """The first `k` rows of `template` in the given Parquet files (in `data` where given), as display text (read
    batch by batch)."""
    out: list[dict] = []
    for path in files:
        parquet = pq.ParquetFile(data.open(str(path)) if data is not None else path)
        text_columns = [c for c in ("prompt", "completion", "messages") if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=1024, columns=["template", "index", *text_columns]):
            for row in batch.filter(pc.equal(batch.column("template"), template)).slice(0, k - len(out)).to_pylist():
                if "messages" in row:
                    text = "\n".join(f"<{m['role']}>\n{m['content']}" for m in row["messages"])
                else:
                    text = row["prompt"] + row["completion"]
                out.append({"index": row["index"], "text": text})
            if len(out) >= k:
                return out
    return out


def has_plot(config: dict[str, Any]) -> bool:
    """Whether a config gets a weights chart (it mixes several templates, or its weights were learned)."""
    return len(config["templates"]) > 1 or learned_from(config) is not None


def learned_from(config: dict[str, Any]) -> dict[str, Any] | None:
    """What a config's weights were learned from, as `cookbook-hub mix learn` records it (its templates, tasks,
    effects, estimator, ...); None for a hand-written recipe, or a learned one that records something else (its
    card then shows the provenance as written, without the matrix)."""
    provenance = config["recipe"].get("provenance") or {}
    source = provenance.get("learned_from") if provenance.get("kind") == "learned" else None
    shapes = {
        "base_recipe": str, "base_weights": dict, "estimator": str, "budget": dict, "templates": list,
        "tasks": list, "effects": dict, "dropped": dict, "temperature": (int, float), "package_version": str,
    }  # fmt: skip
    if not isinstance(source, dict) or not all(isinstance(source.get(k), t) for k, t in shapes.items()):
        return None
    tasks_ok = all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in source["tasks"])
    effects_ok = all(
        isinstance(row, dict) and all(isinstance(e, dict) and _numbers(e, ("effect", "stderr")) for e in row.values())
        for row in source["effects"].values()
    )
    templates_ok = all(isinstance(t, str) for t in source["templates"])
    weights_ok = _numbers(source["base_weights"], source["base_weights"])
    return source if tasks_ok and effects_ok and templates_ok and weights_ok else None


def _numbers(mapping: dict[str, Any], keys: Any) -> bool:
    return all(isinstance(mapping.get(k), int | float) and not isinstance(mapping.get(k), bool) for k in keys)


def effect_rows(source: dict[str, Any]) -> list[list[float | None]]:
    """A learned recipe's effect matrix as rows (templates) of cells (tasks); None where unmeasured."""
    tasks = [t["name"] for t in source["tasks"]]
    effects = source.get("effects") or {}
    return [[(effects.get(t, {}).get(k) or {}).get("effect") for k in tasks] for t in source["templates"]]


def learned_summary(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    """What the card says of a learned config: the inputs, the matrix (as a table and a heatmap) and the drops."""
    source = learned_from(config)
    if source is None:
        return None
    tasks = [t["name"] for t in source["tasks"]]
    effects = source.get("effects") or {}
    cells = {
        t: [
            "–" if e is None else f"{e['effect']:+.3f} ± {e['stderr']:.3f}"
            for e in (effects.get(t, {}).get(k) for k in tasks)
        ]
        for t in source["templates"]
    }
    return {**source, "task_names": tasks, "cells": cells, "plot": DatasetFolder.effects_plot(name)}


def render_dataset_card(folder: str | Path, repo_id: str | None = None, data: UrlFolder | None = None) -> DatasetCard:
    """Render the card of a built folder (reads it only; `write_dataset_card` also draws the charts); `data` is
    where its Parquet files are when not in the folder (a build written to a URL)."""
    folder = Path(folder)
    raw = DatasetFolder(folder).manifest()
    split_shards(raw, folder / DatasetFolder.MANIFEST)  # a manifest not laid out as `build` writes it is refused
    manifest = shareable_manifest(raw)
    repo_id = repo_id or manifest.get("repo_id") or "your-namespace/your-dataset"
    configs, templates, seen = [], [], set()
    for name, c in manifest["configs"].items():
        recipe = Recipe.model_validate(c["recipe"])
        files = split_files(folder, name, c["splits"], data)
        train_files = files.get("train", next(iter(files.values())))
        configs.append(
            {
                "name": name,
                "version": c["recipe_version"],
                "revision": f"v{c['recipe_version']}",
                "content_hash": c["content_hash"],
                "splits": c["splits"],
                "recipe": recipe,
                "recipe_yaml": recipe.to_yaml(),
                "recipe_shown": manifest["kind"] == "recipe",
                "templates": c["templates"],
                "plot": DatasetFolder.weights_plot(name) if has_plot(c) else None,
                "learned": learned_summary(c, name),
            }
        )
        for t in c["templates"]:
            if t["template"] not in seen:
                seen.add(t["template"])
                templates.append({**t, "examples": example_rows(train_files, t["template"], data=data)})
    first = next(iter(manifest["configs"].values()))
    pretty = "Cookbook template set" if manifest["kind"] == "templates" else f"Cookbook mixture: {configs[0]['name']}"
    intro = (
        f"{len(templates)} Cookbook templates, one config each."
        if manifest["kind"] == "templates"
        else f"A mixture of {len(templates)} Cookbook templates, built from recipe "
        f"`{configs[0]['name']}` version {configs[0]['version']}."
    )
    body = render_card_template(
        "dataset_card.md.j2",
        card_data=card_data(manifest, pretty).to_yaml(),
        title=pretty,
        intro=intro,
        repo_id=repo_id,
        generator_version=manifest["generator"]["version"],
        configs=configs,
        split_names=[s for s in SPLIT_ORDER if any(s in c["splits"] for c in configs)],
        chat=first["recipe"]["format"] == "chat",
        templates=templates,
        token_space=first["token_space"],
        citation=CITATION,
    )
    return DatasetCard(body)


def write_dataset_card(folder: str | Path, repo_id: str | None = None, *, data: UrlFolder | None = None) -> Path:
    """Render and write README.md; a given `repo_id` is remembered in the manifest for later renders, and a token
    space named by a local path is recorded without its folders (`shareable_manifest`). `data` is where the
    Parquet files are when not in the folder (`build_ray` passes it for a build written to a URL)."""
    built = DatasetFolder(folder)
    card = str(render_dataset_card(built.path, repo_id, data))  # first: a folder it refuses is left as it is
    manifest = built.manifest()
    shared = shareable_manifest(manifest) | ({"repo_id": repo_id} if repo_id else {})
    if shared != manifest:
        built.write_manifest(shared)
    for name, config in shared["configs"].items():
        if has_plot(config):
            templates = config["templates"]
            source = learned_from(config)
            weights = {t["template"]: t["weight"] for t in templates}
            names = source["templates"] if source else list(weights)  # a learned recipe: its dropped ones too
            base = [source["base_weights"].get(t, 0.0) for t in names] if source else None
            weights_plot(
                built / DatasetFolder.weights_plot(name), name, names, [weights.get(t, 0.0) for t in names], base
            )
        if source := learned_from(config):
            heatmap(
                built / DatasetFolder.effects_plot(name),
                f"{name}: effect of each template on each task ({source['estimator']})",
                source["templates"],
                [t["name"] for t in source["tasks"]],
                effect_rows(source),
            )
    return built.write_readme(card)
