"""The template registry: names to template classes, filled by discovering the modules of this package.

Every module in `cookbook_hub/templates/` is imported once, in name order, and each template class it
defines registers itself with `@register`; adding a template is adding its file. A name registered twice
is refused.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from cookbook_hub.errors import UnknownNameError
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.space import TokenSpace

REGISTRY: dict[str, type[Template]] = {}
PACKAGE = __name__.rpartition(".")[0]
NOT_TEMPLATES = frozenset({"base", "registry"})


def register(cls: type[Template]) -> type[Template]:
    """Class decorator: add a template to the registry under `cls.name`."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"template {cls.name!r} is registered twice: {REGISTRY[cls.name]} and {cls}")
    REGISTRY[cls.name] = cls
    return cls


def template_modules() -> list[str]:
    """The dotted names of the modules in the templates package that may define templates, in name order."""
    package = importlib.import_module(PACKAGE)
    return [
        f"{PACKAGE}.{info.name}"
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name)
        if info.name not in NOT_TEMPLATES and not info.name.startswith("_")
    ]


def discover() -> None:
    """Import every template module, so that each template registers itself."""
    for module in template_modules():
        importlib.import_module(module)


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
