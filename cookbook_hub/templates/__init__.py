"""The template library: one file per template. Importing this package registers every template it finds."""

from cookbook_hub.templates.base import ChoiceTemplate, Sample, Template
from cookbook_hub.templates.registry import (
    REGISTRY,
    discover,
    get_template,
    register,
    template_class,
    template_modules,
    template_names,
)

discover()

__all__ = [
    "REGISTRY",
    "ChoiceTemplate",
    "Sample",
    "Template",
    "get_template",
    "register",
    "template_class",
    "template_modules",
    "template_names",
]
