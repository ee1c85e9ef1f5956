"""The main job on the embedded defaults (what `make demo` runs).

1. Print one rendered sample of every template.
2. Generate a template into Parquet and read it back with `load_dataset("parquet", ...)`.
3. Build the `gpt4all` recipe on the embedded token space, publish it to the local hub folder
   `./hub/local/cookbook-gpt4all` tagged with the recipe's version, pull that tag, load it with `load_dataset`,
   and print the rows per template and two rendered rows.
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import datasets  # noqa: E402
from rich.console import Console  # noqa: E402

from cookbook_hub.card.dataset_card import write_dataset_card  # noqa: E402
from cookbook_hub.dataset.builder import build  # noqa: E402
from cookbook_hub.generation.formatting import format_sample  # noqa: E402
from cookbook_hub.generation.generate import generate  # noqa: E402
from cookbook_hub.hub.publish import publish  # noqa: E402
from cookbook_hub.hub.pull import pull  # noqa: E402
from cookbook_hub.recipes.schema import load_recipe  # noqa: E402
from cookbook_hub.templates import get_template, template_names  # noqa: E402

OUT = Path("out/demo")
HUB_REPO = "hub/local/cookbook-gpt4all"
TAG = f"v{load_recipe('gpt4all').version}"  # the recipe's version
console = Console(highlight=False)


def show_templates() -> None:
    """One qa-style sample per template."""
    for name in template_names():
        template = get_template(name, token_space="default")
        sample = template.sample(0)
        text = format_sample(template, sample, "qa")
        console.rule(f"{name} v{template.version}: {template.summary}")
        console.print(text["prompt"] + text["completion"], markup=False)


def parquet_round_trip() -> None:
    """Generate span_qa rows into Parquet and read them back through datasets."""
    result = generate(get_template("span_qa"), 2_000, OUT / "span_qa.parquet", overwrite=True, progress=False)
    ds = datasets.load_dataset("parquet", data_files=str(result.path), split="train", cache_dir=str(OUT / "cache"))
    console.print(f"\n{result.path}: wrote {result.rows} rows, load_dataset read back {ds.num_rows} rows")


def mixture_round_trip() -> None:
    """Build, publish with a tag, pull the tag and load it."""
    folder = OUT / "gpt4all"
    build("gpt4all", folder, overwrite=True, progress=False, finish=write_dataset_card)
    published = publish(folder, HUB_REPO, tag=TAG)  # the published card names local/cookbook-gpt4all
    state = "new commit" if published.created_commit else "unchanged, no new commit"
    console.print(f"\npublished {folder} to {HUB_REPO} @ {TAG} ({state}: {published.commit})")
    pulled = pull(HUB_REPO, TAG, OUT / "gpt4all-pulled", overwrite=True)
    ds = datasets.load_dataset(str(pulled), "gpt4all", cache_dir=str(OUT / "cache"))
    console.print(f"load_dataset({str(pulled)!r}, 'gpt4all'): " + ", ".join(f"{s} {len(d):,}" for s, d in ds.items()))
    console.rule("rows per template (train)")
    for template, count in sorted(collections.Counter(ds["train"]["template"]).items()):
        console.print(f"{template:22s} {count:7,}")
    for row in ds["train"].select(range(2)):
        console.rule(f"row {row['index']} of {row['template']} v{row['template_version']}")
        if row.get("messages"):  # chat rows: the user turn, then the answer
            console.print("\n".join(f"<{m['role']}>\n{m['content']}" for m in row["messages"]), markup=False)
        else:
            console.print(row["prompt"] + row["completion"], markup=False)


def main() -> None:
    """Run the demo."""
    start = time.perf_counter()
    show_templates()
    parquet_round_trip()
    mixture_round_trip()
    console.print(f"\ndone in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
