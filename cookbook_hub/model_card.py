"""Model cards of adapter folders: rendered from `cards/model_card.md.j2` through huggingface_hub's ModelCard.

The card is derived from the adapter folder alone (training_args.json and metrics.json), so it can be
re-rendered at any time, e.g. to add evaluation results: `write_model_card(folder, extra_sections=[...],
metadata={"eval_results": [...], "model_name": ...})` keeps one renderer for every version of the card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from cookbook_hub.cards import render_card_template
from cookbook_hub.jsonfile import read_json
from cookbook_hub.trainer import METRICS, TRAINING_ARGS
from dataset_scripts.cookbook_templates import CITATION

LOSS_PLOT = "loss.png"
TAGS = ["cookbook", "lora", "peft", "synthetic-data"]
LICENSE = "apache-2.0"
HUB = "https://huggingface.co"


@dataclass(frozen=True)
class CardSection:
    """An extra section of the card (e.g. evaluation results), rendered as `## title` then `body` (markdown)."""

    title: str
    body: str


def read_record(folder: Path, name: str) -> dict[str, Any]:
    """One of the JSON files `cookbook-hub train` writes into an adapter folder."""
    return read_json(
        folder / name,
        what="JSON file",
        missing=f"{str(folder)!r} is not an adapter folder written by `cookbook-hub train`: no {name}",
        fix="train it with `cookbook-hub train --out DIR`",
    )


def logged_losses(log_history: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(step, training loss) of every log entry that has a loss."""
    return [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]


def loss_plot(folder: Path, points: list[tuple[int, float]]) -> str | None:
    """Draw the training loss against the step into `loss.png`; its name, or None without logged losses."""
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, losses = zip(*points)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, losses, marker="o" if len(points) < 30 else None, color="#4c72b0")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / LOSS_PLOT, metadata={"Software": None})
    plt.close(fig)
    return LOSS_PLOT


def card_data(args: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> ModelCardData:
    """The card's YAML metadata; `metadata` adds or overrides fields (e.g. `eval_results`, `model_name`)."""
    data = args["data"]
    fields: dict[str, Any] = {
        "base_model": args["base_model"]["card_id"],
        "library_name": "peft",
        "datasets": [data["repo_id"]] if data.get("repo_id") else None,
        "license": LICENSE,
        "tags": TAGS,
        "pipeline_tag": "text-generation",
    }
    return ModelCardData(**{**fields, **(metadata or {})})


def render_model_card(
    folder: str | Path,
    *,
    repo_id: str | None = None,
    extra_sections: Sequence[CardSection] = (),
    metadata: Mapping[str, Any] | None = None,
) -> ModelCard:
    """Render the card of an adapter folder (also draws `loss.png`) from its training_args.json and metrics.json.

    `repo_id` (else the one given at training, else the folder path) is what the loading snippet loads;
    `extra_sections` are added after the training results, `metadata` to the YAML header.
    """
    folder = Path(folder)
    args, metrics = read_record(folder, TRAINING_ARGS), read_record(folder, METRICS)
    config, trainer_args, hardware = args["train_config"], args["trainer_args"], metrics["hardware"]
    losses = logged_losses(metrics["log_history"])
    base = args["base_model"]
    hub_id = "/" in base["card_id"]  # a Hub id (a local base is named by its folder)
    body = render_card_template(
        "model_card.md.j2",
        card_data=card_data(args, metadata).to_yaml(),
        title=f"{base['card_id'].rsplit('/', 1)[-1]} LoRA adapter: Cookbook {args['data']['config']}",
        base=base,
        base_url=f"{HUB}/{base['card_id']}" if hub_id else None,
        base_ref=base["card_id"] if hub_id else base["path"],
        location=repo_id or config["repo_id"] or config["out"],
        tokenizer_saved=args["tokenizer_saved"],
        data=args["data"],
        lora=args["lora"],
        config=config,
        args=trainer_args,
        effective_batch=trainer_args["per_device_train_batch_size"]
        * trainer_args["gradient_accumulation_steps"]
        * hardware["processes"],
        metrics=metrics,
        losses=losses,
        hardware=hardware,
        plot=loss_plot(folder, losses),
        extra_sections=list(extra_sections),
        versions=metrics["versions"],
        citation=CITATION,
    )
    return ModelCard(body)


def write_model_card(
    folder: str | Path,
    *,
    repo_id: str | None = None,
    extra_sections: Sequence[CardSection] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Render the card (see `render_model_card`) and write it as the folder's README.md."""
    folder = Path(folder)
    card = render_model_card(folder, repo_id=repo_id, extra_sections=extra_sections, metadata=metadata)
    path = folder / "README.md"
    path.write_text(str(card), encoding="utf-8")
    return path
