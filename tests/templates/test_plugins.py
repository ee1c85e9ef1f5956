"""Templates defined outside the package: found through the `cookbook_hub.templates` entry points or `--import`,
and a template defined again (a notebook cell run twice) replaces the old definition with a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cookbook_hub.templates import REGISTRY, register
from cookbook_hub.templates.copy import Copy

PLUGIN = '''
from cookbook_hub.templates import register
from cookbook_hub.templates.copy import Copy


@register
class Echo(Copy):
    """Repeat the text (a template from outside the package)."""

    name = "echo"
'''


def cli(*args: str, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a fresh process (with `path` on PYTHONPATH, as an installed package would be)."""
    env = {**os.environ, "COLUMNS": "200"}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_same_template_defined_again_replaces_it_with_a_warning():
    classes = []
    try:
        for _ in range(2):  # the same cell run twice: the same module and qualified name

            class Again(Copy):
                name = "again"

            classes.append(Again)
            if len(classes) == 1:
                register(Again)
            else:
                with pytest.warns(UserWarning, match="template 'again' is defined again"):
                    register(Again)
        assert REGISTRY["again"] is classes[1]
    finally:
        REGISTRY.pop("again", None)
    assert "copy" in REGISTRY and REGISTRY["copy"] is Copy


def test_a_module_is_imported_with_the_import_flag(tmp_path: Path):
    (tmp_path / "my_templates.py").write_text(PLUGIN, encoding="utf-8")
    shown = cli("--import", "my_templates", "show", "echo", "-n", "1", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Repeat the text exactly." in shown.stdout  # the inherited instruction, rendered
    missing = cli("--import", "no_such_module", "templates", cwd=tmp_path)
    assert missing.returncode == 2
    assert "--import no_such_module: cannot import it" in missing.stderr


def test_a_template_defined_twice_is_one_warning_line_in_the_cli(tmp_path: Path):
    (tmp_path / "twice.py").write_text(PLUGIN + PLUGIN.split("\n\n\n", 1)[1], encoding="utf-8")
    shown = cli("--import", "twice", "show", "echo", "-n", "1", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == "warning: template 'echo' is defined again: the new definition replaces the old\n"


def test_an_entry_point_registers_templates(tmp_path: Path):
    site = tmp_path / "site"
    (site / "echo_plugin").mkdir(parents=True)
    (site / "echo_plugin" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "echo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[cookbook_hub.templates]\necho = echo_plugin\n", encoding="utf-8")
    listed = cli("templates", cwd=tmp_path, path=site)
    assert listed.returncode == 0, listed.stderr
    assert "echo" in listed.stdout.split() or "│ echo " in listed.stdout
    code = "from cookbook_hub.templates import get_template; print(type(get_template('echo')).__module__)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "echo_plugin"
    (info / "entry_points.txt").write_text("[cookbook_hub.templates]\nbroken = no_such_plugin\n", encoding="utf-8")
    broken = cli("templates", cwd=tmp_path, path=site)
    assert broken.returncode == 0  # the built-in templates still work
    assert "entry point 'broken' (no_such_plugin) failed to load" in broken.stderr
