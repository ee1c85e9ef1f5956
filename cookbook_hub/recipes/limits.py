"""What a user may ask for: rows, weights and template parameter sizes within bounds.

Each bound is checked before anything is generated, and a value past it is refused with the bound in the
message: a weight of 1e308 would overflow the normalising sum, a length of 10**11 tokens would try to allocate
terabytes, and 10**15 rows would run for years.
"""

from __future__ import annotations

import dataclasses

from cookbook_hub.errors import ParameterError
from cookbook_hub.templates.base import Template

MAX_ROWS = 1 << 40  # rows of one build or generate run (about 1.1 trillion)
MAX_WEIGHT = 1e6  # a template's weight in a recipe (weights are normalised, so only their ratios matter)
MAX_PARAM = 1024  # any integer template parameter: a length in tokens, a number of options or pairs


def check_rows(n: int, option: str) -> int:
    """`n` if it is a row count between 1 and MAX_ROWS; else a ParameterError naming `option` and the bound."""
    if not 1 <= n <= MAX_ROWS:
        raise ParameterError(f"{option} must be >= 1 and <= {MAX_ROWS:,} (rows), got {n:,}", fix=f"pass {option} 1000")
    return n


def check_template_size(template: Template) -> Template:
    """`template` if every integer parameter is at most MAX_PARAM; else a ParameterError naming the parameter."""
    for field in dataclasses.fields(template.params):
        value = getattr(template.params, field.name)
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_PARAM:
            raise ParameterError(
                f"template {template.name!r}: parameter {field.name!r} is {value:,}, above the bound of {MAX_PARAM:,}",
                fix=f"set {field.name} to at most {MAX_PARAM}",
            )
    return template
