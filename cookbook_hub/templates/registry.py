"""The template registry: names to template classes. Each template module registers itself."""

from __future__ import annotations

from typing import Any

from cookbook_hub.errors import UnknownNameError
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.space import TokenSpace

REGISTRY: dict[str, type[Template]] = {}


def register(cls: type[Template]) -> type[Template]:
    """Class decorator: add a template to the registry under `cls.name`."""
    if cls.name in REGISTRY:
        raise ValueError(f"template {cls.name!r} is registered twice")
    REGISTRY[cls.name] = cls
    return cls


def template_class(name: str) -> type[Template]:
    """The registered class for `name`; an unknown name suggests close ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownNameError("template", name, REGISTRY) from None


def get_template(name: str, params: Any = None, token_space: TokenSpace | str | None = None) -> Template:
    """An instance of template `name` with validated params over a token space (default: embedded)."""
    return template_class(name)(params, token_space)


def template_names() -> list[str]:
    """All registered template names, in registration order."""
    return list(REGISTRY)
