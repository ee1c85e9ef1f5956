"""The `publish` and `pull` commands: versioned releases to a local hub folder or the Hugging Face Hub."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from cookbook_hub.cli.options import stdout, user_errors

TARGET_HELP = "hf://<namespace>/<name> on the Hub, or a local hub folder ending in <namespace>/<name>."
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (for scripts) instead of text.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars (large transfers show them).")]


def quiet_transfers(quiet: bool) -> None:
    """Turn off the transfer progress bars (the Hub's and the local hub's, which share huggingface_hub's switch)."""
    if quiet:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


def print_json(value: dict) -> None:
    """Print one JSON object on one line."""
    print(json.dumps(value, default=str))


def publish_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by `cookbook-hub build` (or a model folder).")],
    to: Annotated[str, typer.Option("--to", help=TARGET_HELP)],
    tag: Annotated[str | None, typer.Option("--tag", help="Version tag for this content, e.g. v0.1.0.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create a new Hub repo as private.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the files and message; change nothing.")] = False,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Publish a built folder as one commit (none if nothing changed), optionally tagged as a version.

    Example: cookbook-hub publish data/gpt4all --to hub/local/cookbook-gpt4all --tag v0.1.0
    On the Hub (HF_TOKEN set): cookbook-hub publish data/gpt4all --to hf://my-org/cookbook-gpt4all --tag v0.1.0
    """
    from cookbook_hub.hub.publish import publish

    quiet_transfers(quiet)
    result = publish(folder, to, tag=tag, private=private, dry_run=dry_run, message=message)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    if result.dry_run:
        stdout.print(f"dry run: would publish {len(result.files)} files to {result.target} ({result.repo_type})")
        stdout.print(f"message: {result.message}", markup=False)
        for name in result.files:
            stdout.print(f"  {name}", markup=False)
        return
    tagged = f", tag {result.tag}" if result.tag else ""
    if result.created_commit:
        stdout.print(f"published {len(result.files)} files to {result.target}: commit {result.commit}{tagged}")
    else:
        stdout.print(f"no changes: {result.target} already holds this content at {result.commit}{tagged}")
    stdout.print(result.url, markup=False)


def pull_cmd(
    source: Annotated[str, typer.Argument(help=TARGET_HELP)],
    revision: Annotated[
        str | None, typer.Option("--revision", "-r", help="A tag (v0.1.0), branch or commit sha (default: main).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write the files into (default: ./<name>).")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Only files matching this glob (repeatable), e.g. 'data/*'.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Skip files matching this glob (repeatable), e.g. '*.png'.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing folder.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write one published version into a plain folder that `datasets.load_dataset` reads (like `hf download`).

    Example: cookbook-hub pull hub/local/cookbook-gpt4all --revision v0.1.0 --out gpt4all-v0.1.0
    Only the data files: cookbook-hub pull hf://me/cookbook-gpt4all --include 'data/*' --out gpt4all-data
    """
    from cookbook_hub.hub.pull import pull_version

    quiet_transfers(quiet)
    pulled = pull_version(source, revision, out, overwrite=overwrite, include=include, exclude=exclude)
    if as_json:
        print_json(pulled.as_dict())
        return
    stdout.print(
        f"wrote {len(pulled.files)} files of {source} at {pulled.revision} ({pulled.commit[:12]}) to {pulled.path}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add the `publish` and `pull` commands to the main app."""
    app.command("publish")(user_errors(publish_cmd))
    app.command("pull")(user_errors(pull_cmd))
