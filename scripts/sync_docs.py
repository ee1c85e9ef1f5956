"""Regenerate the rendered examples in template docstrings and the README's template section.

python scripts/sync_docs.py
"""

from __future__ import annotations

from pathlib import Path

from cookbook_hub.generation.template_docs import sync_docstring, sync_readme
from cookbook_hub.templates import REGISTRY

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> None:
    """Rewrite what is out of date and say what changed."""
    changed = [cls.name for cls in REGISTRY.values() if sync_docstring(cls)]
    if sync_readme(README):
        changed.append("README.md")
    print("updated: " + ", ".join(changed) if changed else "everything was up to date")


if __name__ == "__main__":
    main()
