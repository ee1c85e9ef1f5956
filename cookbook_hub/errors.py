"""Typed user errors: each names the field or value at fault and says how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CookbookError(Exception):
    """Base class for errors caused by user input; the CLI prints them without a traceback."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.fix = fix
        super().__init__(message if fix is None else f"{message}\n  fix: {fix}")


class CookbookWarning(UserWarning):
    """A notice that does not stop the command (a template defined again, files an earlier run left); the CLI
    prints it as one `warning:` line."""


class UnknownNameError(CookbookError, KeyError):
    """A name (template, recipe, token space, ...) that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
        listing = f"known {kind}s: {', '.join(known)}"
        super().__init__(f"unknown {kind} {name!r}", fix=hint or listing)
        self.name = name
        self.suggestions = close

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return Exception.__str__(self)


class ParameterError(CookbookError, ValueError):
    """A template or generation parameter is invalid."""


class WorkerError(CookbookError, RuntimeError):
    """A worker process of a local build died before finishing its part."""


class TokenSpaceError(CookbookError, ValueError):
    """A token space cannot be built or is too small for a template."""


class OutputExistsError(CookbookError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


class TargetError(CookbookError, ValueError):
    """A publish target (hf://namespace/name or a hub folder) or a version tag is invalid."""


class PublishError(CookbookError, RuntimeError):
    """Publishing or pulling a dataset failed; the message names the repository and what to do."""


class RecipeError(CookbookError, ValueError):
    """A recipe file or value is invalid."""


class DataError(CookbookError, ValueError):
    """Training data that cannot be found, read or used."""


class TrainError(CookbookError, ValueError):
    """A training request that cannot be run as asked."""


class EvalDataError(CookbookError, FileNotFoundError):
    """Task data that is neither local nor cached."""


class TaskFileError(CookbookError, ValueError):
    """A real-task file that cannot be used; the message names the file, line and field."""


class ModelError(CookbookError, ValueError):
    """A model path or id that cannot be used."""


class NoSpaceError(CookbookError, OSError):
    """A write failed on a full disk; what was being written is removed and earlier outputs are intact."""


class MixError(CookbookError, ValueError):
    """A mixture cannot be learned from what was given (tasks, templates, matrix, solver settings)."""


class IntegrityError(CookbookError, ValueError):
    """A built dataset (or a shard of one) whose files do not match its records: missing, truncated, foreign,
    miscounted, or built from another recipe version."""


class ClusterError(CookbookError, ConnectionError):
    """A compute cluster (a Ray address) that cannot be reached or used."""


class OutputPathError(CookbookError, OSError):
    """An output path that cannot be written: a read-only folder, a name too long, a parent that is a file."""
