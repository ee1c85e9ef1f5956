"""Dataset cards: rendered from `cards/dataset_card.md.j2` through huggingface_hub's DatasetCard.

The card is derived from a built folder alone (its manifest and Parquet files), so
`cookbook-hub card DIR` re-renders it at any time; the YAML metadata (`configs:`, `dataset_info`)
is produced by datasets' own helpers, the ones `push_to_hub` uses.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from cookbook_hub.build import MANIFEST, read_manifest
from cookbook_hub.recipe import Recipe
from dataset_scripts.cookbook_templates import CITATION

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
            name: {"data_files": [{"split": s, "path": f"{name}/{s}-*.parquet"} for s in c["splits"]]}
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


def example_rows(folder: Path, files: list[str], template: str, k: int = EXAMPLES_PER_TEMPLATE) -> list[dict]:
    """The first `k` rows of `template` in the given Parquet files, as display text (read batch by batch)."""
    out: list[dict] = []
    for rel in files:
        parquet = pq.ParquetFile(folder / rel)
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
    """Whether a config gets a weights chart (it mixes several templates)."""
    return len(config["templates"]) > 1


def plot_path(config: str) -> str:
    """Where a config's weights chart lives in the repo."""
    return f"images/{config}-weights.png"


def weights_plot(folder: Path, name: str, templates: list[dict]) -> str:
    """Draw the recipe weights as a bar chart PNG in `images/`; return its path in the repo."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rel = plot_path(name)
    (folder / "images").mkdir(exist_ok=True)
    labels = [t["template"] for t in templates][::-1]
    weights = [t["weight"] for t in templates][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(labels) + 1.2), dpi=100)
    ax.barh(labels, weights, color="#4c72b0")
    for y, w in enumerate(weights):
        ax.text(w, y, f" {w:.2f}", va="center", fontsize=9)
    ax.set_xlabel("weight (share of rows)")
    ax.set_xlim(0, max(weights) * 1.2)
    ax.set_title(f"{name}: template weights")
    fig.tight_layout()
    fig.savefig(folder / rel, metadata={"Software": None})
    plt.close(fig)
    return rel


def render_card_template(name: str, **context: Any) -> str:
    """Render a jinja2 template from the `cards` package (strict: a missing variable is an error)."""
    import jinja2

    text = resources.files("cards").joinpath(name).read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text).render(**context)


def render_dataset_card(folder: str | Path, repo_id: str | None = None) -> DatasetCard:
    """Render the card of a built folder (reads it only; `write_dataset_card` also draws the charts)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    repo_id = repo_id or manifest.get("repo_id") or "your-namespace/your-dataset"
    configs, templates, seen = [], [], set()
    for name, c in manifest["configs"].items():
        recipe = Recipe.model_validate(c["recipe"])
        train_files = c["splits"].get("train", next(iter(c["splits"].values())))["files"]
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
                "plot": plot_path(name) if has_plot(c) else None,
            }
        )
        for t in c["templates"]:
            if t["template"] not in seen:
                seen.add(t["template"])
                templates.append({**t, "examples": example_rows(folder, train_files, t["template"])})
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


def write_dataset_card(folder: str | Path, repo_id: str | None = None) -> Path:
    """Render and write README.md; a given `repo_id` is remembered in the manifest for later renders."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if repo_id:
        manifest["repo_id"] = repo_id
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for name, config in manifest["configs"].items():
        if has_plot(config):
            weights_plot(folder, name, config["templates"])
    card = render_dataset_card(folder, repo_id)
    path = folder / "README.md"
    path.write_text(str(card), encoding="utf-8")
    return path
