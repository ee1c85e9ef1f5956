"""What the command groups share: the console, user errors as one-line messages (exit code 2), and options."""

from __future__ import annotations

import functools
import json
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from cookbook_hub.bounded import parse_json
from cookbook_hub.errors import CookbookError, CookbookWarning, ParameterError
from cookbook_hub.fs import one_line
from cookbook_hub.generation.formatting import STYLES
from cookbook_hub.templates import Template, get_template
from cookbook_hub.tokens.space import resolve_token_space

F = TypeVar("F", bound=Callable[..., Any])
USER_ERROR_EXIT = 2
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def user_errors(func: F) -> F:
    """Decorator for commands: print CookbookError without a traceback and exit with code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():  # restores the previous printer afterwards
                warnings.showwarning = show_warning
                return func(*args, **kwargs)
        except CookbookError as exc:
            report(str(exc).removesuffix(f"\n  fix: {exc.fix}"), exc.fix)
        except KeyboardInterrupt:
            stderr.print("interrupted: nothing was left half-written")
            sys.exit(130)
        except MemoryError:
            report(
                "out of memory: what was asked for does not fit in this machine's memory",
                "ask for smaller lengths, fewer rows per process or fewer processes",
            )

    return wrapper  # type: ignore[return-value]


_SHOW_WARNING = warnings.showwarning


def show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """Print our warnings (`CookbookWarning`) as one `warning:` line, others as Python prints them."""
    if issubclass(category, CookbookWarning):
        stderr.print(f"[bold yellow]warning:[/] {escape(one_line(str(message)))}", markup=True)
    else:
        _SHOW_WARNING(message, category, *args, **kwargs)


def report(message: str, fix: str | None) -> NoReturn:
    """Print a user error as one `error:` line and one `fix:` line (text, not markup, without tokens), then exit
    with code 2."""
    stderr.print(f"[bold red]error:[/] {escape(one_line(message))}", markup=True)
    if fix:
        stderr.print(f"  fix: {one_line(fix)}", markup=False)
    raise typer.Exit(USER_ERROR_EXIT) from None


FormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"Text format: {', '.join(STYLES)}.")]
InstructionOpt = Annotated[
    bool | None,
    typer.Option("--instruction/--no-instruction", help="Show the template's instruction (default: the format's)."),
]
AnswerCueOpt = Annotated[
    bool | None,
    typer.Option(
        "--answer-cue/--no-answer-cue",
        help="End plain prompts with 'Answer:' (default: no cue, as plain data has always been made).",
    ),
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
    return parse_json_object(text, "--params", '{"min_len": 4}')


def parse_json_object(text: str | None, option: str, example: str) -> dict | None:
    """Parse the JSON object given to `option` (None when not given); errors quote the problem, never the text."""
    if text is None:
        return None
    fix = f"write it like '{example}'"
    try:
        value = parse_json(text)
    except ValueError as exc:
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ParameterError(f"{option} is not valid JSON: {problem}", fix=fix) from None
    if not isinstance(value, dict):
        raise ParameterError(f"{option} must be a JSON object", fix=fix)
    return value


def template_from_options(name: str, params: str | None, token_space: str) -> Template:
    """The template `name` with the --params JSON over the --token-space, its sizes within bounds."""
    return get_template(name, parse_params(params), resolve_token_space(token_space))


def quiet_libraries(verbose: bool = False) -> None:
    """Keep the libraries' chatter out of a command's output unless `verbose`: their info and warning logs, the
    progress bars of preparation steps (datasets' split generation and maps, transformers' weight loading), and a
    deprecation warning peft raises about a transformers API. The training and evaluation progress bars stay."""
    if verbose:
        return
    import datasets
    import transformers

    datasets.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    for name in ("lm_eval", "lm-eval"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
