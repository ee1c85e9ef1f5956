"""What a user may ask for: rows and weights within bounds (template parameter sizes: `templates.base.check_sizes`).

Each bound is checked before anything is generated, and a value past it is refused with the bound in the
message: a weight of 1e308 would overflow the normalising sum, a length of 10**11 tokens would try to allocate
terabytes, and 10**15 rows would run for years.
"""

from __future__ import annotations

from cookbook_hub.errors import ParameterError

MAX_ROWS = 1 << 40  # rows of one build or generate run (about 1.1 trillion)
MAX_WEIGHT = 1e6  # a template's weight in a recipe (weights are normalised, so only their ratios matter)


def check_rows(n: int, option: str) -> int:
    """`n` if it is a row count between 1 and MAX_ROWS; else a ParameterError naming `option` and the bound."""
    if not 1 <= n <= MAX_ROWS:
        raise ParameterError(f"{option} must be >= 1 and <= {MAX_ROWS:,} (rows), got {n:,}", fix=f"pass {option} 1000")
    return n
