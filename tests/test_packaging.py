"""The wheel installs one top-level package, `cookbook_hub`: the repository's cards/ and dataset_scripts/ go inside it
(`cookbook_hub._cards`, `cookbook_hub._dataset_scripts`), and the code finds them there."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("cookbook_hub", "cards", "dataset_scripts", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the sources (no stale build/ folder)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in SOURCES:
        path = REPO_ROOT / name
        copy = shutil.copytree if path.is_dir() else shutil.copy2
        copy(path, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if path.is_dir() else {}))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root)]
    built = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = root.glob("cookbook_hub-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_has_one_top_level_package(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert {name.split("/")[0] for name in names} == {"cookbook_hub", "cookbook_hub-0.1.0.dist-info"}
    packages = {p.parent.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "cookbook_hub").rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= set(names)  # every package folder is listed
    for name in ("_cards/model_card.md.j2", "_cards/dataset_card.md.j2", "_dataset_scripts/cookbook_templates.py"):
        assert f"cookbook_hub/{name}" in names


@pytest.mark.slow
def test_the_installed_package_finds_its_cards_and_builders(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    code = (
        "import sys, cookbook_hub\n"
        "from cookbook_hub.card.render import render_card_template\n"
        "from cookbook_hub._dataset_scripts.cookbook_templates import CITATION\n"
        "from cookbook_hub._dataset_scripts.cookbook_mixtures import CookbookMixtures\n"
        "import importlib.util\n"
        "print(cookbook_hub.__file__)\n"
        "print(importlib.util.find_spec('cards') is None and importlib.util.find_spec('dataset_scripts') is None)\n"
        "print(CITATION.split('{')[0])\n"
    )
    isolated = [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n{code}"]
    done = subprocess.run(isolated, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    where, no_top_level, citation = done.stdout.strip().splitlines()[-3:]
    assert where.startswith(str(site)) and no_top_level == "True" and citation == "@inproceedings"
