"""Model cards of adapter folders: rendered from `cards/model_card.md.j2` through huggingface_hub's ModelCard.

The card is derived from the adapter folder alone, so every version of it comes from this one renderer:
training_args.json and metrics.json (written by `cookbook-hub train`), the evaluation results saved in
`eval/` (`cookbook-hub eval`: an Evaluation section and `model-index`) and the alignment reports saved in
`alignment/` (`cookbook-hub align`: a Template alignment section). Commands that add to the folder
re-render the card with `refresh_model_card`; the publisher renders it again to name the target repo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from cookbook_hub import alignment, eval_results
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
    """A section of the card after the training results, rendered as `## title` then `body` (markdown)."""

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


def card_data(args: Mapping[str, Any], metadata: Mapping[str, Any]) -> ModelCardData:
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
    return ModelCardData(**{**fields, **metadata})


def recorded_sections(folder: Path, name: str) -> tuple[list[CardSection], dict[str, Any]]:
    """The sections and metadata of what was recorded in the folder after training: the Evaluation section
    and `model-index` (named `name`, the adapter's repo or folder name) from `eval/`, the Template alignment
    section from `alignment/`."""
    sections, metadata = [], {}
    documents = eval_results.saved_results(folder)
    if documents:
        sections.append(CardSection("Evaluation", eval_results.evaluation_section(documents)))
        metadata = {"eval_results": eval_results.merged_model_index(documents), "model_name": name}
    reports = alignment.saved_reports(folder)
    if reports:
        sections.append(CardSection("Template alignment", alignment.alignment_section(reports)))
    return sections, metadata


def render_model_card(
    folder: str | Path,
    *,
    repo_id: str | None = None,
) -> ModelCard:
    """Render the card of an adapter folder (also draws `loss.png`): training_args.json and metrics.json, then
    the evaluation results and alignment reports recorded in it (see the module docstring).

    `repo_id` (else the one given at training, else the folder path) is what the loading snippet loads.
    """
    folder = Path(folder)
    args, metrics = read_record(folder, TRAINING_ARGS), read_record(folder, METRICS)
    config, trainer_args, hardware = args["train_config"], args["trainer_args"], metrics["hardware"]
    location = repo_id or config["repo_id"] or config["out"]
    sections, metadata = recorded_sections(folder, Path(location).name)
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
        location=location,
        tokenizer_saved=args["tokenizer_saved"],
        data=args["data"],
        lora=args["lora"],
        config=config,
        precision=args["precision"],
        args=trainer_args,
        effective_batch=trainer_args["per_device_train_batch_size"]
        * trainer_args["gradient_accumulation_steps"]
        * hardware["processes"],
        metrics=metrics,
        losses=losses,
        hardware=hardware,
        plot=loss_plot(folder, losses),
        sections=sections,
        versions=metrics["versions"],
        citation=CITATION,
    )
    return ModelCard(body)


def write_model_card(folder: str | Path, *, repo_id: str | None = None) -> Path:
    """Render the card (see `render_model_card`) and write it as the folder's README.md."""
    folder = Path(folder)
    path = folder / "README.md"
    path.write_text(str(render_model_card(folder, repo_id=repo_id)), encoding="utf-8")
    return path


def trained_here(folder: str | Path) -> bool:
    """Whether the folder holds the records of `cookbook-hub train` that its card is rendered from."""
    return all((Path(folder) / name).is_file() for name in (TRAINING_ARGS, METRICS))


def refresh_model_card(folder: str | Path, repo_id: str | None = None) -> Path | None:
    """Re-render the card of an adapter folder after something was recorded in it; None (the card left as it
    is) for an adapter not trained by `cookbook-hub train`, whose card we cannot render."""
    return write_model_card(folder, repo_id=repo_id) if trained_here(folder) else None
