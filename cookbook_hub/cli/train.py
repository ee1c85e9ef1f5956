"""The `train` command: its options are the fields of `TrainConfig`, one flag per field, with the fields' help."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from cookbook_hub.cli.options import quiet_libraries, stdout, user_errors
from cookbook_hub.errors import CookbookError
from cookbook_hub.train.config import TrainConfig, config_file_values, flag

CONFIG_FILE = "config_file"


def train_cmd(**options: Any) -> None:
    """Fine-tune a LoRA adapter on Cookbook data (loss on the completion only) and write the adapter folder.

    Example: cookbook-hub train --data generative --steps 200 --out adapters/generative
    From a published version: cookbook-hub train --data hub/me/cookbook-gpt4all@v0.1.0 --epochs 1 --out adapters/gpt4all
    From a file (flags given on the command line override it): cookbook-hub train --config sft.yaml --steps 50
    """
    from cookbook_hub.train.trainer import train

    options.pop(CONFIG_FILE)
    quiet_libraries()
    result = train(TrainConfig(**options))
    if not result.main_process:
        return
    metrics = result.metrics
    stdout.print(
        f"trained {metrics['global_step']} steps in {metrics['train_runtime']:.1f} s "
        f"(final loss {final_loss(metrics):.4f}, {metrics['tokens_seen']:,} tokens seen)"
    )
    stdout.print(f"wrote the adapter to {result.out}", markup=False)


def final_loss(metrics: dict[str, Any]) -> float:
    """The last logged training loss (the run's average when nothing was logged)."""
    logged = [entry["loss"] for entry in metrics["log_history"] if "loss" in entry]
    return logged[-1] if logged else metrics["train_loss"]


def read_config_file(ctx: typer.Context, param: Any, path: Path | None) -> Path | None:
    """Eager --config callback: the file's settings become the defaults, so flags given on the command line win."""
    if path is not None:
        try:
            values = config_file_values(path)
        except CookbookError as exc:
            raise typer.BadParameter(str(exc), ctx, param) from None
        ctx.default_map = {**(ctx.default_map or {}), **values}
    return path


def option_parameters() -> list[inspect.Parameter]:
    """A --config FILE option, then one typer option per TrainConfig field: flag from the name, type, default and
    help from the field."""
    hints = typing.get_type_hints(TrainConfig)
    config_file = typer.Option(
        "--config",
        is_eager=True,
        callback=read_config_file,
        help="YAML file of flag names and values (like `trl sft --config`); flags on the command line override it.",
    )
    params = [
        inspect.Parameter(
            CONFIG_FILE, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[Path | None, config_file]
        )
    ]
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
