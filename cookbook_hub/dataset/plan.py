"""Planning a build: which configs a dataset has, and exactly how many rows of each template go in each split."""

from __future__ import annotations

from dataclasses import dataclass, field

from cookbook_hub import __version__
from cookbook_hub.errors import ParameterError
from cookbook_hub.generation.sources import MixtureSource, largest_remainder
from cookbook_hub.recipes.schema import Recipe, TemplateEntry, load_recipe
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.space import resolve_token_space

TEMPLATE_SET = "templates"
TEMPLATE_SET_ROWS = 10_000


@dataclass
class ConfigPlan:
    """One dataset config: its recipe, template instances and exact rows per split and template."""

    name: str
    recipe: Recipe
    templates: list[Template]
    split_rows: dict[str, int]
    counts: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_recipe(cls, recipe: Recipe, name: str | None = None) -> ConfigPlan:
        """Plan a recipe: split sizes, then per-template counts, both by largest remainder."""
        space = resolve_token_space(recipe.token_space)
        templates = [get_template(e.template, e.params, space) for e in recipe.templates]
        splits = list(recipe.splits)
        rows = dict(zip(splits, largest_remainder(recipe.size, [recipe.splits[s] for s in splits])))
        weights = [e.weight for e in recipe.templates]
        counts = {s: largest_remainder(n, weights) for s, n in rows.items()}
        return cls(name or recipe.name, recipe, templates, rows, counts)

    def source(self, split: str) -> MixtureSource:
        """The row source of one split."""
        return MixtureSource(self.templates, self.counts[split], self.recipe.seed, self.recipe.style, split)


def template_set_recipe(template: str, size: int) -> Recipe:
    """The one-template recipe behind a config of the template set."""
    return Recipe(
        name=template.replace("_", "-"),
        version=__version__,
        description=f"Template {template} alone.",
        templates=[TemplateEntry(template=template, weight=1.0)],
        size=size,
    )


def plan_build(spec: str, n: int | None = None) -> tuple[str, list[ConfigPlan]]:
    """('recipe' | 'templates', plans) for a recipe name/path or the word 'templates'."""
    if n is not None and n < 1:
        raise ParameterError(f"-n must be >= 1, got {n}", fix="ask for at least one row")
    if spec == TEMPLATE_SET:
        size = n or TEMPLATE_SET_ROWS
        return "templates", [ConfigPlan.from_recipe(template_set_recipe(t, size), t) for t in template_names()]
    recipe = load_recipe(spec)
    if n is not None:
        recipe = recipe.model_copy(update={"size": n})
    return "recipe", [ConfigPlan.from_recipe(recipe)]
