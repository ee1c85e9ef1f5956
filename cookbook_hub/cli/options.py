"""What the command groups share: the console, user errors as one-line messages (exit code 2), and options."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from cookbook_hub.errors import CookbookError, ParameterError
from cookbook_hub.generation.formatting import STYLES

F = TypeVar("F", bound=Callable[..., Any])
USER_ERROR_EXIT = 2
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def user_errors(func: F) -> F:
    """Decorator for commands: print CookbookError without a traceback and exit with code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CookbookError as exc:
            stderr.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)  # the message is text, not markup
            raise typer.Exit(USER_ERROR_EXIT) from None
        except KeyboardInterrupt:
            stderr.print("interrupted: nothing was left half-written")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


FormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"Text format: {', '.join(STYLES)}.")]
InstructionOpt = Annotated[
    bool | None,
    typer.Option("--instruction/--no-instruction", help="Show the template's instruction (default: the format's)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Seed: with the index, fixes every sample.")]
TokenSpaceOpt = Annotated[
    str,
    typer.Option(
        "--token-space",
        help="'default' (embedded), a tokenizer folder, a .gguf file or a .txt token list.",
    ),
]
ParamsOpt = Annotated[
    str | None,
    typer.Option("--params", help="Template parameters as JSON, e.g. '{\"context_max_len\": 64}'."),
]


def parse_params(text: str | None) -> dict | None:
    """Parse the --params JSON object."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"--params is not valid JSON: {exc.msg}", fix="write it like '{\"min_len\": 4}'") from None
    if not isinstance(value, dict):
        raise ParameterError("--params must be a JSON object", fix="write it like '{\"min_len\": 4}'")
    return value
