"""The template library. Importing this package registers every template."""

from cookbook_hub.templates import (  # noqa: F401  (each module registers its template)
    blank_fill,
    containment,
    continuation_choice,
    copy,
    count,
    entity_disambiguation,
    entity_match,
    key_value,
    overlap_choice,
    reverse,
    sort,
    span_qa,
    two_way_choice,
)
from cookbook_hub.templates.base import ChoiceTemplate, Sample, Template
from cookbook_hub.templates.registry import REGISTRY, get_template, register, template_class, template_names

__all__ = [
    "REGISTRY",
    "ChoiceTemplate",
    "Sample",
    "Template",
    "get_template",
    "register",
    "template_class",
    "template_names",
]
