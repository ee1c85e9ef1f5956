"""The rendered examples in template docstrings and the README are the templates' real output."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from cookbook_hub.generation.template_docs import README_BEGIN, README_END, docstring_example, readme_block
from cookbook_hub.templates import REGISTRY

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_docstring_example_is_current(name):
    cls = REGISTRY[name]
    assert docstring_example(cls) in inspect.getdoc(cls) or docstring_example(cls) in (cls.__doc__ or ""), (
        f"the example in {name}'s docstring is out of date: run make regen"
    )


@pytest.mark.parametrize("name", list(REGISTRY))
def test_docstring_states_rule_and_target(name):
    doc = REGISTRY[name].__doc__ or ""
    assert "Rule:" in doc and "Target:" in doc and "Example (" in doc


def test_readme_template_section_is_current():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(README_BEGIN) : text.index(README_END) + len(README_END)]
    assert block == readme_block(), "README's template section is out of date: run make regen"
    for name in REGISTRY:
        assert f"`{name}`" in block
