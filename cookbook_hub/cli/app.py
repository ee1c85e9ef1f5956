"""The `cookbook-hub` command line: the root app. It only wires the command groups, one module each."""

from __future__ import annotations

import signal
import sys

import typer

from cookbook_hub.cli import dataset, eval, hub, recipes, templates, train

app = typer.Typer(
    name="cookbook-hub",
    help="Cookbook templates as versioned Hugging Face datasets: generate, build, publish.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (templates, recipes, dataset, hub, train, eval):
    group.register(app)


def main() -> None:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C, so no output is left half-written."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()


if __name__ == "__main__":
    main()
