"""Model cards of adapter folders: rendered from `cards/model_card.md.j2` through huggingface_hub's ModelCard.

The card is derived from the adapter folder alone (`cookbook_hub.folders.AdapterFolder`), so every version
of it comes from this one renderer: training_args.json and metrics.json (written by `cookbook-hub train`),
then the card parts that later records brought with them (`cookbook-hub eval`: an Evaluation section and
`model-index` entries; `cookbook-hub align`: a Template alignment section). Commands that add to the folder
re-render the card after recording; the publisher renders it again to name the target repo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from cookbook_hub._dataset_scripts.cookbook_templates import CITATION
from cookbook_hub.card.render import render_card_template
from cookbook_hub.folders import AdapterFolder, CardPart
from cookbook_hub.plots import loss_plot

TAGS = ["cookbook", "lora", "peft", "synthetic-data"]
LICENSE = "apache-2.0"
HUB = "https://huggingface.co"


@dataclass(frozen=True)
class CardSection:
    """A section of the card after the training results, rendered as `## title` then `body` (markdown)."""

    title: str
    body: str


def logged_losses(log_history: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(step, training loss) of every log entry that has a loss."""
    return [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]


def base_hub_id(base: Mapping[str, Any]) -> str | None:
    """The base model's Hub id as training recorded it (folders from before `hub_id` was recorded: the card id,
    when it is one)."""
    if "hub_id" in base:
        return base["hub_id"]
    return base["card_id"] if "/" in base["card_id"] else None


@dataclass(frozen=True)
class TemplateShare:
    """A template the adapter was trained on: its rows in the training split and their share."""

    name: str
    rows: int
    share: float


def template_shares(rows: Mapping[str, int]) -> list[TemplateShare]:
    """The templates of the training split, most rows first."""
    total = sum(rows.values())
    ordered = sorted(rows.items(), key=lambda item: (-item[1], item[0]))
    return [TemplateShare(name, count, count / total) for name, count in ordered] if total else []


def card_data(args: Mapping[str, Any], metadata: Mapping[str, Any]) -> ModelCardData:
    """The card's YAML metadata; `metadata` adds or overrides fields (e.g. `eval_results`, `model_name`)."""
    data = args["data"]
    fields: dict[str, Any] = {
        "base_model": base_hub_id(args["base_model"]),
        "library_name": "peft",
        "datasets": [data["repo_id"]] if data.get("repo_id") else None,
        "license": LICENSE,
        "tags": TAGS,
        "pipeline_tag": "text-generation",
    }
    return ModelCardData(**{**fields, **metadata})


def card_sections(parts: list[CardPart]) -> list[CardSection]:
    """The sections the records' card parts make, in the order they first appear: each section's intro
    (once), then its parts' markdown."""
    grouped: dict[str, list[CardPart]] = {}
    for part in parts:
        grouped.setdefault(part.section, []).append(part)
    sections = []
    for title, members in grouped.items():
        intro = next((part.intro for part in members if part.intro), None)
        texts = [intro] if intro else []
        texts += [part.markdown.strip("\n") for part in members]
        sections.append(CardSection(title, "\n\n".join(texts) + "\n"))
    return sections


def model_index(parts: list[CardPart]) -> list[EvalResult]:
    """`model-index` entries of the records (newest evaluation first): each task and metric once, from the
    first part that has it."""
    seen, out = set(), []
    for part in parts:
        for entry in part.model_index:
            key = (entry["dataset_name"], entry["metric_type"])
            if key not in seen:
                seen.add(key)
                out.append(EvalResult(**entry))
    return out


def render_model_card(
    folder: str | Path,
    *,
    repo_id: str | None = None,
    revision: str | None = None,
    local_hub: str | None = None,
) -> ModelCard:
    """Render the card of an adapter folder (also draws `loss.png`): training_args.json and metrics.json, then
    the evaluation results and alignment reports recorded in it (see the module docstring).

    The loading snippet loads `repo_id` at `revision` from the Hub (else the repo id given at training, else the
    `--out` folder); for a version published to the local hub folder `local_hub`, it first pulls `revision`
    into a folder named after the repo and loads that.
    """
    adapter = AdapterFolder(folder)
    args, metrics = adapter.training_args(), adapter.metrics()
    config, trainer_args, hardware = args["train_config"], args["trainer_args"], metrics["hardware"]
    location = repo_id or config["repo_id"] or config["out"]
    if local_hub:
        location = Path(location).name
    revision_arg = f', revision="{revision}"' if revision and not local_hub else ""
    parts = adapter.card_parts()
    results = model_index(parts)
    metadata = {"eval_results": results, "model_name": Path(location).name} if results else {}
    losses = logged_losses(metrics["log_history"])
    base = {**args["base_model"], "hub_id": base_hub_id(args["base_model"])}
    base_ref = base["hub_id"] or base["path"]
    tokenizer_saved = args["tokenizer_saved"]
    body = render_card_template(
        "model_card.md.j2",
        card_data=card_data(args, metadata).to_yaml(),
        title=f"{base['card_id'].rsplit('/', 1)[-1]} LoRA adapter: Cookbook {args['data']['config']}",
        base=base,
        base_url=f"{HUB}/{base['hub_id']}" if base["hub_id"] else None,
        base_ref=base_ref,
        location=location,
        revision=revision,
        revision_arg=revision_arg,
        local_hub=local_hub,
        tokenizer_saved=tokenizer_saved,
        tokenizer_args=f'"{location}"{revision_arg}' if tokenizer_saved else f'"{base_ref}"',
        pad_token_added=args.get("pad_token_added", False),
        templates=template_shares(args.get("templates", {})),
        epochs=metrics.get("epoch"),
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
        plot=loss_plot(adapter / AdapterFolder.LOSS_PLOT, losses).name if losses else None,
        sections=card_sections(parts),
        versions=metrics["versions"],
        citation=CITATION,
    )
    return ModelCard(body)


def write_model_card(folder: str | Path, *, repo_id: str | None = None) -> Path:
    """Render the card (see `render_model_card`) and write it as the folder's README.md."""
    return AdapterFolder(folder).write_readme(str(render_model_card(folder, repo_id=repo_id)))
