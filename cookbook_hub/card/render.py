"""The one card renderer: jinja2 templates from `cards/` (installed as `cookbook_hub._cards`), rendered strictly."""

from __future__ import annotations

from importlib import resources
from typing import Any


def render_card_template(name: str, **context: Any) -> str:
    """Render a jinja2 template from `cookbook_hub._cards` (strict: a missing variable is an error)."""
    import jinja2

    text = resources.files("cookbook_hub._cards").joinpath(name).read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text).render(**context)
