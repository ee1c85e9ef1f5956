"""Cookbook mixtures as a `datasets` builder: one BuilderConfig per shipped recipe.

    from cookbook_hub._dataset_scripts.cookbook_mixtures import CookbookMixtures
    builder = CookbookMixtures(config_name="gpt4all", size=10_000, cache_dir="cache")
    builder.download_and_prepare(num_proc=2)
    ds = builder.as_dataset()

Config kwargs: `recipe` (a shipped recipe name or a YAML path; defaults to the config name) and
`size` (overrides the recipe's row count). Rows equal those of `cookbook-hub build RECIPE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import datasets
from cookbook_hub._dataset_scripts.cookbook_templates import CITATION

from cookbook_hub.dataset.plan import ConfigPlan
from cookbook_hub.errors import ParameterError
from cookbook_hub.generation.generate import chunks
from cookbook_hub.generation.rows import features
from cookbook_hub.recipes.schema import load_recipe, recipe_names


@dataclass
class CookbookMixturesConfig(datasets.BuilderConfig):
    """One recipe's mixture; `recipe` and `size` are overridable as builder kwargs."""

    recipe: str | None = None
    size: int | None = None


class CookbookMixtures(datasets.GeneratorBasedBuilder):
    """Builder of Cookbook mixtures from versioned recipes."""

    BUILDER_CONFIG_CLASS = CookbookMixturesConfig
    BUILDER_CONFIGS = [CookbookMixturesConfig(name=name, recipe=name) for name in recipe_names()]
    DEFAULT_CONFIG_NAME = "gpt4all"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        recipe = load_recipe(self.config.recipe or self.config.name)
        if self.config.size is not None:
            if self.config.size < 1:
                raise ParameterError(f"size must be >= 1, got {self.config.size}", fix="ask for at least one row")
            recipe = recipe.model_copy(update={"size": self.config.size})
        self.plan = ConfigPlan.from_recipe(recipe, self.config.name)

    def _info(self) -> datasets.DatasetInfo:
        recipe = load_recipe(self.config.recipe or self.config.name)
        return datasets.DatasetInfo(
            description=f"Cookbook mixture {recipe.name} {recipe.version}: {recipe.description}",
            features=features(ConfigPlan.from_recipe(recipe).templates, recipe.format),
            citation=CITATION,
            license="apache-2.0",
            version=recipe.version,
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"split": split, "pieces": chunks(range(rows))})
            for split, rows in self.plan.split_rows.items()
            if rows > 0
        ]

    def _generate_examples(self, split: str, pieces: list[range]) -> Iterator[tuple[int, dict[str, Any]]]:
        source = self.plan.source(split)
        for piece in pieces:
            yield from zip(piece, source.batch(piece).to_pylist())


__all__ = ["CookbookMixtures", "CookbookMixturesConfig"]
