"""The `cookbook-hub` command line: the root app. It only wires the command groups, one module each."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated

import typer

from cookbook_hub.cli import dataset, eval, hub, mix, recipes, templates, train
from cookbook_hub.cli.options import user_errors
from cookbook_hub.templates.registry import import_templates

app = typer.Typer(
    name="cookbook-hub",
    help="Cookbook templates as versioned Hugging Face datasets: generate, build, publish.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (templates, recipes, dataset, hub, train, eval, mix):
    group.register(app)


@app.callback()
@user_errors
def root(
    imports: Annotated[
        list[str] | None,
        typer.Option("--import", help="Import a module that registers templates (repeatable), e.g. my_templates."),
    ] = None,
) -> None:
    """Cookbook templates as versioned Hugging Face datasets: generate, build, publish."""
    if imports:
        sys.path.insert(0, os.getcwd())  # a module in the current folder, as `python -m` finds it
        for module in imports:
            import_templates(module)


def main() -> None:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C, so no output is left half-written."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()


if __name__ == "__main__":
    main()
