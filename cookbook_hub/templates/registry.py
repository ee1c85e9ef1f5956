"""The template registry: names to template classes, filled by discovering the modules of this package.

Every module in `cookbook_hub/templates/` is imported once, in name order, and each template class it
defines registers itself with `@register`; adding a template is adding its file. Templates outside the
package are found through the entry-point group `cookbook_hub.templates` (each entry point names a module that
registers templates, or a template class) or imported with `cookbook-hub --import MODULE`. A name registered
twice is refused, unless it is the same class defined again (a notebook cell run twice, a reloaded module):
that replaces the old definition, with a warning.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import warnings
from typing import Any

from cookbook_hub.errors import CookbookWarning, ParameterError, UnknownNameError
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.space import TokenSpace

REGISTRY: dict[str, type[Template]] = {}
PACKAGE = __name__.rpartition(".")[0]
NOT_TEMPLATES = frozenset({"base", "registry"})
ENTRY_POINTS = "cookbook_hub.templates"


def register(cls: type[Template]) -> type[Template]:
    """Class decorator: add a template to the registry under `cls.name`; the same class defined again (module and
    qualified name) replaces the old definition with a warning."""
    old = REGISTRY.get(cls.name)
    if old is not None and old is not cls:
        if (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"template {cls.name!r} is registered twice: {old} and {cls}")
        message = f"template {cls.name!r} is defined again: the new definition replaces the old"
        warnings.warn(message, CookbookWarning, stacklevel=2)
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
    """Import every template module, so that each template registers itself, then load the templates of the
    `cookbook_hub.templates` entry points (one that fails to load is skipped with a warning naming it)."""
    for module in template_modules():
        importlib.import_module(module)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not take the built-in templates down with it
            message = f"{ENTRY_POINTS} entry point {entry.name!r} ({entry.value}) failed to load: {exc}"
            warnings.warn(message, CookbookWarning, stacklevel=2)
            continue
        if isinstance(loaded, type) and issubclass(loaded, Template):
            register(loaded)


def import_templates(module: str) -> list[str]:
    """Import a module that registers templates (`--import MODULE`); returns the names it registered."""
    before = set(REGISTRY)
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ParameterError(
            f"--import {module}: cannot import it ({exc})",
            fix="pass a module name importable from the current folder or the environment, e.g. my_templates",
        ) from None
    return sorted(set(REGISTRY) - before)


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
