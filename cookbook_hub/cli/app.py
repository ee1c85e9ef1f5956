"""The `cookbook-hub` command line: the root app. It only wires the command groups, one module each."""

from __future__ import annotations

import importlib.util
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
    spawn_without_script()
    app()


def spawn_without_script() -> None:
    """Spare worker processes (`build --num-proc`, started with `spawn`) from re-running the console script that
    called `main`: by default each would import it, and with it the whole command line (about 0.2 s per worker).
    multiprocessing is told the main module is `python -m cookbook_hub.cli`'s, which a worker does not import.
    Only the generated script is told so: it defines nothing but the call of `main`."""
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None and getattr(script, "main", None) is main:
        script.__spec__ = importlib.util.find_spec("cookbook_hub.cli.__main__")


if __name__ == "__main__":
    main()
