"""The registry finds every template by discovering the modules of the templates package."""

from __future__ import annotations

import importlib
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cookbook_hub
from cookbook_hub import templates
from cookbook_hub.templates import REGISTRY, Template, register, template_modules, template_names
from cookbook_hub.templates.copy import Copy


def test_every_template_class_in_the_package_is_registered():
    defined = {
        cls
        for module in template_modules()
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, Template) and not inspect.isabstract(cls) and cls.__module__ == module
    }
    assert defined == set(REGISTRY.values()) and "span_qa" in REGISTRY
    files = {path.stem for path in Path(templates.__file__).parent.glob("*.py")} - {"__init__", "base", "registry"}
    assert {module.rsplit(".", 1)[1] for module in template_modules()} == files  # every file is looked at
    assert template_names() == sorted(template_names())  # discovered in module name order


def test_a_second_template_with_a_taken_name_is_refused():
    class Impostor(Copy):
        pass

    with pytest.raises(ValueError, match="'copy' is registered twice"):
        register(Impostor)
    assert REGISTRY["copy"] is Copy


def test_a_new_template_is_one_file(tmp_path: Path):
    package = Path(cookbook_hub.__file__).parent
    shutil.copytree(package, tmp_path / "cookbook_hub", ignore=shutil.ignore_patterns("__pycache__"))
    source = (package / "templates" / "reverse.py").read_text(encoding="utf-8")
    extra = source.replace('name = "reverse"', 'name = "reverse_again"')
    extra = extra.replace("class Reverse(", "class ReverseAgain(")
    (tmp_path / "cookbook_hub" / "templates" / "reverse_again.py").write_text(extra, encoding="utf-8")
    code = "from cookbook_hub.templates import template_names; print(' '.join(template_names()))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "reverse_again" in out and out == sorted(out) and len(out) == len(REGISTRY) + 1
