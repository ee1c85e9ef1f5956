"""What every CLI command shares: user errors become a one-line message and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from cookbook_hub.errors import CookbookError

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
            stderr.print(f"[bold red]error:[/] {exc}", markup=True)
            raise typer.Exit(USER_ERROR_EXIT) from None
        except KeyboardInterrupt:
            stderr.print("interrupted: nothing was left half-written")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
