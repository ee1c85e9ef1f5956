"""The `train` command: its options are the fields of `TrainConfig`, one flag per field, with the fields' help."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Annotated, Any

import typer

from cookbook_hub.cli.options import stdout, user_errors
from cookbook_hub.train.config import TrainConfig, flag


def train_cmd(**options: Any) -> None:
    """Fine-tune a LoRA adapter on Cookbook data (loss on the completion only) and write the adapter folder.

    Example: cookbook-hub train --data generative --steps 200 --out adapters/generative
    From a published version: cookbook-hub train --data hub/me/cookbook-gpt4all@v0.1.0 --epochs 1 --out adapters/gpt4all
    """
    from cookbook_hub.train.trainer import train

    result = train(TrainConfig(**options))
    if not result.main_process:
        return
    metrics = result.metrics
    stdout.print(
        f"trained {metrics['global_step']} steps in {metrics['train_runtime']:.1f} s "
        f"(final loss {metrics['train_loss']:.4f}, {metrics['tokens_seen']:,} tokens seen)"
    )
    stdout.print(f"wrote the adapter to {result.out}", markup=False)


def option_parameters() -> list[inspect.Parameter]:
    """One typer option per TrainConfig field: flag from the name, type, default and help from the field."""
    hints = typing.get_type_hints(TrainConfig)
    params = []
    for spec in dataclasses.fields(TrainConfig):
        option = typer.Option(flag(spec.name), help=spec.metadata["help"], show_default=spec.default is not None)
        default = inspect.Parameter.empty if spec.default is dataclasses.MISSING else spec.default
        params.append(
            inspect.Parameter(
                spec.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[hints[spec.name], option],
            )
        )
    return params


train_cmd.__signature__ = inspect.Signature(option_parameters())  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add the `train` command to the main app."""
    app.command("train")(user_errors(train_cmd))
