"""Training data for fine-tuning: where the rows come from, and how they become SFT examples.

A data spec is one of

- a shipped recipe name or a recipe YAML file: built once with `cookbook_hub.dataset.builder.build` into the
  cache (`$COOKBOOK_HUB_CACHE/datasets/<name>-<version>-<hash>`), so the rows are the built dataset's;
- a folder written by `cookbook-hub build` (or any folder `datasets.load_dataset` reads);
- a published version: a local hub repository `hub/<ns>/<name>[@revision]` (a git folder written by
  `cookbook-hub publish`) or `hf://<ns>/<name>[@revision]` on the Hugging Face Hub, fetched at the revision
  (default `main`) into the cache, keyed by commit (`cookbook_hub.hub.pull.fetch`).

With `--streaming`, a recipe is not built: its train split is an `IterableDataset` whose rows are generated from
the templates as the trainer reads them (`stream_training_data`), the same rows in the same order as a build's.

Rows with `prompt`/`completion` stay prompt-completion examples (the loss is on the completion);
rows with `messages` become conversational prompt-completion examples when the tokenizer has a
chat template (the user turn is the prompt), and plain prompt-completion text otherwise.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import datasets

from cookbook_hub import __version__
from cookbook_hub.card.dataset_card import write_dataset_card
from cookbook_hub.dataset.builder import build
from cookbook_hub.dataset.plan import ConfigPlan
from cookbook_hub.errors import DataError
from cookbook_hub.folders import DatasetFolder
from cookbook_hub.fs import cache_dir, remote_error
from cookbook_hub.generation.rows import features
from cookbook_hub.generation.sources import MixtureSource
from cookbook_hub.hub.pull import fetch, is_published
from cookbook_hub.hub.targets import split_revision
from cookbook_hub.recipes.schema import Recipe, load_recipe, recipe_names

TRAIN_SPLIT = "train"
VALIDATION_SPLIT = "validation"
DATA_FIX = "pass a recipe (name or file), a built folder, hub/NS/NAME or hf://NS/NAME (optionally @REVISION)"


@dataclass(frozen=True)
class DataProvenance:
    """Where the training rows came from (recorded in training_args.json and shown in the model card)."""

    source: str
    kind: str
    location: str
    config: str
    split: str
    rows: int
    format: str
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    recipe: str | None = None
    recipe_version: str | None = None
    content_hash: str | None = None
    style: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The provenance as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class TrainingData:
    """The train split of the chosen config, its provenance, and the validation split when it was asked for."""

    dataset: datasets.Dataset | datasets.IterableDataset
    provenance: DataProvenance
    validation: datasets.Dataset | None = None


@dataclass(frozen=True)
class _Located:
    """A data spec resolved to something `load_dataset` reads."""

    kind: str
    path: str
    location: str
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    manifest: dict[str, Any] | None = None


def load_training_data(spec: str, config: str | None = None, *, validation: bool = False) -> TrainingData:
    """The train split of `config` in the data `spec` (see the module docstring), with its provenance; with
    `validation`, also its validation split (which must exist)."""
    located = locate(spec)
    configs = config_names(located.path)
    chosen = choose_config(configs, config, located.manifest)
    try:
        loaded = datasets.load_dataset(located.path, chosen)
    except Exception as exc:  # datasets raises many types for unreadable data
        raise DataError(f"cannot read config {chosen!r} of {spec!r}: {remote_error(exc)}", fix=DATA_FIX) from None
    if TRAIN_SPLIT not in loaded:
        raise DataError(
            f"config {chosen!r} of {spec!r} has no {TRAIN_SPLIT!r} split (splits: {', '.join(loaded)})",
            fix="train on a dataset with a train split",
        )
    if validation and VALIDATION_SPLIT not in loaded:
        raise DataError(
            f"--eval-steps: config {chosen!r} of {spec!r} has no {VALIDATION_SPLIT!r} split "
            f"(splits: {', '.join(loaded)})",
            fix="build the data with a validation split (recipe `splits:`), or drop --eval-steps",
        )
    train = loaded[TRAIN_SPLIT]
    recipe = (located.manifest or {}).get("configs", {}).get(chosen, {})
    provenance = DataProvenance(
        source=spec,
        kind=located.kind,
        location=located.location,
        config=chosen,
        split=TRAIN_SPLIT,
        rows=len(train),
        format=row_format(train.column_names, spec),
        repo_id=located.repo_id,
        revision=located.revision,
        commit=located.commit,
        recipe=recipe.get("recipe", {}).get("name"),
        recipe_version=recipe.get("recipe_version"),
        content_hash=recipe.get("content_hash"),
        style=Recipe.model_validate(recipe["recipe"]).style.describe() if recipe else None,
    )
    return TrainingData(train, provenance, loaded[VALIDATION_SPLIT] if validation else None)


def stream_training_data(
    spec: str, config: str | None = None, piece: int = 1, limit: int | None = None
) -> TrainingData:
    """The train split of a recipe (name, YAML file or NAME@VERSION), or its first `limit` rows, as an
    IterableDataset that generates the rows from the templates, `piece` rows at a time, as they are read:
    nothing is built, cached or tokenized ahead, and a stream of exactly the rows a run trains on ends there."""
    if Path(spec).is_dir() or is_published(spec) or not names_recipe(split_revision(spec)[0]):
        raise DataError(
            f"--streaming: {spec!r} is not a recipe",
            fix="pass a recipe name or YAML file, or drop --streaming to train on built or published data",
        )
    recipe = load_recipe(spec)
    plan = ConfigPlan.from_recipe(recipe)
    if config not in (None, plan.name):
        raise DataError(f"the recipe has no config {config!r}", fix=f"use --dataset-config {plan.name}, or drop it")
    rows = min(plan.split_rows.get(TRAIN_SPLIT, 0), limit or plan.split_rows.get(TRAIN_SPLIT, 0))
    dataset = datasets.IterableDataset.from_generator(
        generated_rows,
        features=features(plan.templates, recipe.style),
        gen_kwargs={"source": plan.source(TRAIN_SPLIT), "rows": rows, "piece": piece},
    )
    provenance = DataProvenance(
        source=spec,
        kind="recipe-stream",
        location=spec,
        config=plan.name,
        split=TRAIN_SPLIT,
        rows=rows,
        format=row_format(list(dataset.column_names or []), spec),
        recipe=recipe.name,
        recipe_version=recipe.version,
        content_hash=recipe.content_hash,
        style=recipe.style.describe(),
    )
    return TrainingData(dataset, provenance)


def generated_rows(source: MixtureSource, rows: int, piece: int) -> Iterator[dict[str, Any]]:
    """The rows of a split source, generated `piece` rows at a time."""
    for start in range(0, rows, piece):
        yield from source.batch(range(start, min(rows, start + piece))).to_pylist()


def locate(spec: str) -> _Located:
    """Resolve a data spec to a loadable folder (building or fetching into the cache when needed)."""
    if is_published(spec):
        fetched = fetch(spec, "datasets")
        kind = "hf" if fetched.target.is_hub else "hub"
        location = split_revision(spec)[0]
        manifest = built_manifest(fetched.path)
        target = fetched.target
        return _Located(kind, str(fetched.path), location, target.repo_id, fetched.revision, fetched.commit, manifest)
    if Path(spec).is_dir():  # a folder, even one whose name holds an @
        manifest = built_manifest(Path(spec))
        return _Located("folder", spec, spec, (manifest or {}).get("repo_id"), manifest=manifest)
    base, revision = split_revision(spec)
    path = Path(base)
    if path.is_dir():
        raise DataError(f"{base!r} is a folder, not a hub repository: it has no revisions", fix=DATA_FIX)
    if names_recipe(base):
        return build_recipe(spec)
    close = difflib.get_close_matches(spec, recipe_names(), n=1)
    raise DataError(
        f"no training data at {spec!r}: not a folder, a hub repository, hf:// id or recipe",
        fix=f"did you mean the recipe {close[0]!r}?" if close else DATA_FIX,
    )


def names_recipe(base: str) -> bool:
    """Whether a data spec (without its @version) names a recipe: a YAML file or a shipped recipe's name."""
    return Path(base).suffix in (".yaml", ".yml") or base in recipe_names()


def built_manifest(folder: Path) -> dict[str, Any] | None:
    """The build manifest of a folder written by `cookbook-hub build`, None for any other dataset folder."""
    built = DatasetFolder(folder)
    return built.manifest() if built.is_built else None


def build_recipe(spec: str) -> _Located:
    """Build a recipe once into the cache (keyed by name, version and content hash) and locate the folder."""
    recipe = load_recipe(spec)
    folder = cache_dir() / "datasets" / f"{recipe.name}-{recipe.version}-{recipe.content_hash[:16]}-v{__version__}"
    if not DatasetFolder(folder).is_built:
        build(spec, folder, overwrite=True, progress=False, finish=write_dataset_card)
    return _Located("recipe", str(folder), spec, manifest=DatasetFolder(folder).manifest())


def config_names(path: str) -> list[str]:
    """The configs of a dataset folder."""
    try:
        return datasets.get_dataset_config_names(path)
    except Exception as exc:  # datasets raises many types for missing or unreadable data
        raise DataError(f"cannot read the dataset at {path!r}: {remote_error(exc)}", fix=DATA_FIX) from None


def choose_config(configs: list[str], config: str | None, manifest: dict[str, Any] | None) -> str:
    """The asked config (which must exist), else the only one, else the recipe's."""
    if config is not None:
        if config not in configs:
            raise DataError(f"the dataset has no config {config!r}", fix=f"use --dataset-config {' or '.join(configs)}")
        return config
    if len(configs) == 1:
        return configs[0]
    built = list((manifest or {}).get("configs", {}))
    if len(built) == 1 and built[0] in configs:
        return built[0]
    raise DataError(
        f"the dataset has {len(configs)} configs and none was chosen",
        fix=f"pass --dataset-config {' or '.join(configs)}",
    )


def row_format(columns: list[str], spec: str) -> str:
    """'chat' for `messages` rows, 'prompt-completion' for `prompt`/`completion` rows; anything else is an error."""
    if "messages" in columns:
        return "chat"
    if {"prompt", "completion"} <= set(columns):
        return "prompt-completion"
    raise DataError(
        f"{spec!r} has neither `prompt`/`completion` nor `messages` columns (columns: {', '.join(columns)})",
        fix="train on Cookbook data built with format plain, qa or chat",
    )


def sft_examples(dataset: datasets.Dataset, tokenizer: Any) -> datasets.Dataset:
    """The rows as TRL prompt-completion examples: conversational when the data is chat and the tokenizer has a
    chat template (user turns = prompt, last assistant turn = completion), plain text otherwise."""
    if "messages" not in dataset.column_names:
        return dataset.select_columns(["prompt", "completion"])
    chat = tokenizer.chat_template is not None
    split = split_chat if chat else flatten_chat
    if isinstance(dataset, datasets.IterableDataset):  # mapped lazily, as the rows are read
        return dataset.map(split, remove_columns=dataset.column_names)
    return dataset.map(split, remove_columns=dataset.column_names, desc="chat rows")


def split_chat(row: dict[str, Any]) -> dict[str, Any]:
    """A `messages` row as conversational prompt (all turns but the last) and completion (the last, assistant, turn)."""
    messages = row["messages"]
    if not messages or messages[-1]["role"] != "assistant":
        raise DataError("a chat row must end with an assistant turn", fix="rebuild the data with format chat")
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def flatten_chat(row: dict[str, Any]) -> dict[str, Any]:
    """A `messages` row as plain text, for a tokenizer without a chat template: the same text as format plain."""
    conversational = split_chat(row)
    prompt = "\n".join(m["content"] for m in conversational["prompt"]) + "\n"
    return {"prompt": prompt, "completion": conversational["completion"][0]["content"]}


def prompt_lengths(examples: datasets.Dataset, tokenizer: Any) -> list[int]:
    """Tokens in each example's prompt as the trainer tokenizes it (with the chat template's generation prompt)."""
    is_table = isinstance(examples, datasets.Dataset)
    prompts = list(examples["prompt"]) if is_table else [row["prompt"] for row in examples]
    if prompts and isinstance(prompts[0], list):
        ids = tokenizer.apply_chat_template(prompts, tokenize=True, add_generation_prompt=True, return_dict=True)
    else:
        ids = tokenizer(prompts)
    return [len(row) for row in ids["input_ids"]]


def check_prompt_lengths(examples: datasets.Dataset, tokenizer: Any, max_length: int) -> None:
    """Refuse a max length that leaves no room for the completion of some prompt."""
    lengths = prompt_lengths(examples, tokenizer)
    longest = max(lengths, default=0)
    if longest >= max_length:
        too_long = sum(n >= max_length for n in lengths)
        raise DataError(
            f"--max-length {max_length} is too short: prompts are up to {longest} tokens long "
            f"({too_long} of {len(lengths)} prompts leave no room for the completion)",
            fix=f"pass --max-length of at least {longest + 1} plus the completion length, e.g. {2 * longest}",
        )
