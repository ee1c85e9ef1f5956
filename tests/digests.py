"""sha256 of every file of a folder, to compare two builds byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path


def folder_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder, by POSIX path relative to it."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
