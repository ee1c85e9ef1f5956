"""Verifying a built dataset folder against its own records before it is assembled or published.

`verify_folder` checks that every Parquet file the build manifest lists lies inside the folder, exists, is
readable Parquet, and has the row count and sha256 the manifest records (each split's files summing to its
`num_examples`); that no other Parquet file would be loaded by the card's `configs:` in its place; and that
the README front matter is a small plain mapping whose `configs:` name data files that exist. A folder
without a manifest (a dataset not built by cookbook-hub) gets the README checks only.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from cookbook_hub.bounded import load_yaml
from cookbook_hub.errors import IntegrityError, ParameterError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import file_sha256

REBUILD = "rebuild it with `cookbook-hub build RECIPE --out DIR --overwrite`"


def parquet_rows(path: Path, name: str, fix: str = REBUILD) -> int:
    """The row count in a Parquet file's footer; a file that is not readable Parquet is an IntegrityError."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise IntegrityError(f"{name} is not a readable Parquet file (truncated or corrupt): {exc}", fix=fix) from None


def inside(folder: Path, rel: str) -> bool:
    """Whether the relative path `rel` names something inside `folder` (no `..`, not absolute, no link out)."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return False
    return (folder / rel).resolve().is_relative_to(folder.resolve())


# ------------------------------------------------------------------ the README front matter


def front_matter(readme: Path) -> dict[str, Any]:
    """The README's YAML front matter, read within the bounds of every YAML we read (`bounded.load_yaml`) and refused
    unless it is a mapping; {} without front matter."""
    text = readme.read_text(encoding="utf-8-sig", errors="replace")
    match = REGEX_YAML_BLOCK.search(text)
    if not match:
        return {}
    data = load_yaml(match.group(2), f"{readme}: front matter", error=IntegrityError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        fix = "keep the card's front matter a YAML mapping: re-render it with `cookbook-hub card DIR`"
        raise IntegrityError(f"{readme}: front matter is a {type(data).__name__}, not a mapping", fix=fix)
    return data


def data_file_patterns(configs: Any, readme: Path) -> list[str]:
    """Every `data_files` pattern of a card's `configs:` list."""
    fix = "list data files as `data_files: [{split: NAME, path: PATTERN}]`: re-render the card with `cookbook-hub card`"
    if not isinstance(configs, list):
        raise IntegrityError(f"{readme}: `configs:` is not a list", fix=fix)
    patterns: list[str] = []
    for i, config in enumerate(configs):
        files = config.get("data_files") if isinstance(config, dict) else None
        entries = files if isinstance(files, list) else [files]
        for entry in entries:
            paths = entry.get("path") if isinstance(entry, dict) else entry
            for path in paths if isinstance(paths, list) else [paths]:
                if not isinstance(path, str) or not path:
                    raise IntegrityError(f"{readme}: configs[{i}] has no data files", fix=fix)
                patterns.append(path)
    return patterns


def check_card(folder: Path) -> list[str]:
    """Check the README front matter; return the `data_files` patterns of its `configs:` (each matches a file)."""
    readme = DatasetFolder(folder).readme
    if not readme.is_file():
        return []
    configs = front_matter(readme).get("configs")
    if configs is None:
        return []
    patterns = data_file_patterns(configs, readme)
    for pattern in patterns:
        if not inside(folder, pattern.replace("*", "x")) or not any(p.is_file() for p in folder.glob(pattern)):
            raise IntegrityError(
                f"{readme}: configs data_files {pattern!r} matches no file in the folder",
                fix="rebuild the folder, or re-render its card with `cookbook-hub card DIR`",
            )
    return patterns


# ------------------------------------------------------------------ the manifest


def split_shards(manifest: dict[str, Any], path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(config, split, entry) for every split of a manifest, refused unless laid out as `build` writes it."""
    configs = manifest.get("configs") if isinstance(manifest, dict) else None
    if not isinstance(configs, dict) or not configs:
        raise IntegrityError(f"{str(path)!r}: the build manifest lists no configs", fix=REBUILD)
    found = []
    for config, entry in configs.items():
        splits = entry.get("splits") if isinstance(entry, dict) else None
        if not isinstance(splits, dict) or not splits:
            raise IntegrityError(f"{str(path)!r}: configs.{config} lists no splits", fix=REBUILD)
        for split, s in splits.items():
            ok = isinstance(s, dict) and isinstance(s.get("num_examples"), int) and isinstance(s.get("files"), list)
            if not ok or not all(isinstance(f, str) for f in s["files"]):
                raise IntegrityError(
                    f"{str(path)!r}: configs.{config}.splits.{split} needs `num_examples` and a list of `files`",
                    fix=REBUILD,
                )
            found.append((config, split, s))
    return found


def check_split(folder: Path, where: str, entry: dict[str, Any], label: str, fix: str) -> None:
    """Check one split's files against its manifest entry (paths, then shard rows and hashes, then the total)."""
    for rel in entry["files"]:
        if not inside(folder, rel):
            problem = "points outside the folder"
        elif not (folder / rel).is_file():
            problem = "names a file that does not exist"
        else:
            continue
        raise IntegrityError(f"{label}: {where}.files entry {rel!r} {problem}", fix=fix)
    shards = entry.get("shards")
    if shards is None:  # a folder built before shards were recorded: rows only
        shards = [{"file": rel} for rel in entry["files"]]
    elif [s.get("file") if isinstance(s, dict) else None for s in shards] != entry["files"]:
        raise IntegrityError(f"{label}: {where}.shards do not list the same files as {where}.files", fix=fix)
    total = 0
    for shard in shards:
        rel = shard["file"]
        rows = parquet_rows(folder / rel, rel, fix)
        if "num_examples" in shard and rows != shard["num_examples"]:
            raise IntegrityError(f"{rel} has {rows:,} rows, the manifest records {shard['num_examples']:,}", fix=fix)
        if "sha256" in shard and file_sha256(folder / rel) != shard["sha256"]:
            raise IntegrityError(f"{rel} does not have the content the manifest records (sha256 differs)", fix=fix)
        total += rows
    if total != entry["num_examples"]:
        raise IntegrityError(
            f"{label}: {where}.num_examples is {entry['num_examples']:,}, its files hold {total:,} rows", fix=fix
        )


def verify_folder(folder: str | Path, *, fix: str = REBUILD) -> None:
    """Refuse a dataset folder whose files do not match its build manifest and card (see the module docstring);
    `fix` is the advice in the error. Reads the folder only."""
    folder = Path(folder)
    built = DatasetFolder(folder)
    if not built.is_built:
        check_card(folder)
        return
    label = str(built / DatasetFolder.MANIFEST)
    try:
        manifest = built.manifest()
    except ParameterError as exc:
        raise IntegrityError(str(exc).partition("\n")[0], fix=fix) from None
    listed: set[str] = set()
    for config, split, entry in split_shards(manifest, built / DatasetFolder.MANIFEST):
        check_split(folder, f"configs.{config}.splits.{split}", entry, label, fix)
        listed.update(PurePosixPath(rel).as_posix() for rel in entry["files"])
    for pattern in check_card(folder):
        for path in sorted(folder.glob(pattern)):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and rel not in listed:
                raise IntegrityError(
                    f"{rel} is loaded by the card's configs ({pattern!r}) but the manifest does not list it", fix=fix
                )
