"""Golden hashes of every template's output: the first rows, hashed, per template version.

A template's rows may change only together with its `version`. `tests/golden_hashes.json` holds
{name: {"version": v, "sha256": h}}; after adding a template, or a deliberate change with a version bump, run

    make regen        (or: python tests/golden.py --update)

and commit the new file. `--update` writes new templates and new versions only: a template whose rows
changed under the same version is refused, since that change needs a version bump first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

GOLDEN_FILE = Path(__file__).with_name("golden_hashes.json")
GOLDEN_ROWS = 64
GOLDEN_SEED = 0
GOLDEN_STYLE = "plain"


def rows_hash(name: str) -> tuple[int, str]:
    """(version, sha256 of the sorted-keys JSON of the first GOLDEN_ROWS rows) of a template."""
    from cookbook_hub.generation.generate import batch_for
    from cookbook_hub.templates import get_template

    template = get_template(name)
    rows = batch_for(template, range(GOLDEN_ROWS), GOLDEN_SEED, GOLDEN_STYLE).to_pylist()
    payload = json.dumps(rows, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return template.version, hashlib.sha256(payload.encode("utf-8")).hexdigest()


def current() -> dict[str, dict[str, int | str]]:
    """The hashes of every registered template, as stored in the golden file."""
    from cookbook_hub.templates import template_names

    out = {}
    for name in template_names():
        version, digest = rows_hash(name)
        out[name] = {"version": version, "sha256": digest}
    return out


def load() -> dict[str, dict[str, int | str]]:
    """The stored golden hashes."""
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


def compare(name: str, version: int, digest: str, stored: dict[str, dict[str, int | str]]) -> str | None:
    """None if (version, digest) matches the stored entry of template `name`, else why not."""
    if name not in stored:
        return f"no golden hash for {name}; run make regen"
    entry = stored[name]
    if entry["version"] != version:
        return (
            f"golden hash of {name} is for version {entry['version']} (the template is version {version}); "
            "run make regen"
        )
    if entry["sha256"] != digest:
        return f"output of {name} changed without a version bump (version {version}): bump its version, then make regen"
    return None


def check(name: str, stored: dict[str, dict[str, int | str]]) -> str | None:
    """None if template `name` still produces its stored golden hash, else why not."""
    return compare(name, *rows_hash(name), stored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite tests/golden_hashes.json")
    args = parser.parse_args(argv)
    hashes = current()
    stored = load() if GOLDEN_FILE.exists() else {}
    found = {name: compare(name, h["version"], h["sha256"], stored) for name, h in hashes.items()}
    unbumped = [problem for problem in found.values() if problem and "without a version bump" in problem]
    if args.update:
        if unbumped:
            print("\n".join(unbumped))
            return 1
        if hashes != stored:
            GOLDEN_FILE.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"golden hashes: {sum(map(bool, found.values()))} of {len(hashes)} updated in {GOLDEN_FILE}")
        return 0
    problems = [p for p in found.values() if p]
    print("\n".join(problems) or f"all {len(hashes)} golden hashes match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
