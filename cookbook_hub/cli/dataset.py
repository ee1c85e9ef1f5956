"""The `build` and `card` commands: Hub-ready dataset folders and their cards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cookbook_hub.cli.options import stdout, user_errors


@user_errors
def build_cmd(
    spec: Annotated[
        str, typer.Argument(help="A recipe (NAME, NAME@VERSION or a YAML path), or 'templates' for the template set.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (laid out as a Hub dataset repo).")],
    n: Annotated[
        int | None, typer.Option("-n", help="Rows: the recipe's size, or per template for 'templates'.")
    ] = None,
    num_proc: Annotated[int, typer.Option("--num-proc", "-p", help="Worker processes.")] = 1,
    repo_id: Annotated[
        str | None, typer.Option("--repo-id", help="Hub id <namespace>/<name> used in the card's load_dataset snippet.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build a recipe or the template set into a Hub-ready dataset folder (Parquet + card).

    Example: cookbook-hub build gpt4all --out data/gpt4all --num-proc 2
    """
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.dataset.builder import build
    from cookbook_hub.hub.targets import check_repo_id

    if repo_id is not None:
        check_repo_id(repo_id)
    result = build(
        spec,
        out,
        n=n,
        num_proc=num_proc,
        overwrite=overwrite,
        progress=not quiet,
        finish=lambda folder: write_dataset_card(folder, repo_id),
    )
    for name, splits in result.configs.items():
        sizes = ", ".join(f"{split} {rows:,}" for split, rows in splits.items())
        stdout.print(f"{name}: {sizes}")
    stdout.print(f"built {result.kind} into {result.path}")


@user_errors
def card_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by `cookbook-hub build`.")],
    repo_id: Annotated[
        str | None, typer.Option("--repo-id", help="Hub id used in the card's load_dataset snippet.")
    ] = None,
) -> None:
    """Re-render a built dataset's README.md card (and its charts) from its manifest and files.

    Example: cookbook-hub card data/gpt4all --repo-id my-org/cookbook-gpt4all
    """
    from cookbook_hub.card.dataset_card import write_dataset_card
    from cookbook_hub.hub.targets import check_repo_id

    if repo_id is not None:
        check_repo_id(repo_id)
    stdout.print(f"wrote {write_dataset_card(folder, repo_id)}")


def register(app: typer.Typer) -> None:
    """Add the `build` and `card` commands to the main app."""
    app.command("build")(build_cmd)
    app.command("card")(card_cmd)
