"""Reading the JSON files our folders carry (build manifests, training records) with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cookbook_hub.errors import ParameterError


def read_json(path: Path, *, what: str, missing: str, fix: str) -> Any:
    """Parse a JSON file (`what` it is, for messages); a missing file raises ParameterError(`missing`)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ParameterError(missing, fix=fix) from None
    except ValueError as exc:  # invalid JSON or not UTF-8
        raise ParameterError(f"{str(path)!r} is not a valid {what}: {exc}", fix=fix) from None
