"""The `recipes` command and the `recipe` group: the shipped mixture recipes, and checking your own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cookbook_hub.cli.options import stdout, user_errors

recipe_app = typer.Typer(help="Inspect and validate mixture recipes.", no_args_is_help=True)


@user_errors
def recipes_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the recipes shipped with the package: the latest version of each (earlier ones build as NAME@VERSION).

    Example: cookbook-hub recipes --json
    """
    from cookbook_hub.recipes.schema import load_recipe, recipe_names, recipe_versions

    recipes = [load_recipe(name) for name in recipe_names()]
    rows = [
        {
            "name": r.name,
            "version": r.version,
            "versions": recipe_versions(r.name),
            "size": r.size,
            "templates": r.weights,
            "content_hash": r.content_hash,
        }
        for r in recipes
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("recipe", "version", "rows", "templates (weight)")
    for row in rows:
        mix = ", ".join(f"{t} {w:.2f}" for t, w in row["templates"].items())
        earlier = [v for v in row["versions"] if v != row["version"]]
        version = row["version"] + (f" (also {', '.join(earlier)})" if earlier else "")
        table.add_row(row["name"], version, f"{row['size']:,}", mix)
    stdout.print(table)


@recipe_app.command("validate")
@user_errors
def recipe_validate_cmd(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Validate a recipe file: schema, template names and params, token space.

    Example: cookbook-hub recipe validate my-mix.yaml
    """
    from cookbook_hub.recipes.schema import load_recipe

    recipe = load_recipe(file)
    stdout.print(
        f"ok: {recipe.name} {recipe.version}, {len(recipe.templates)} templates, content hash {recipe.content_hash}"
    )


@recipe_app.command("show")
@user_errors
def recipe_show_cmd(
    name: Annotated[str, typer.Argument(help="A shipped recipe name (NAME or NAME@VERSION) or a YAML path.")],
) -> None:
    """Print a recipe as YAML with its normalised weights and content hash.

    Example: cookbook-hub recipe show gpt4all
    """
    from cookbook_hub.recipes.schema import load_recipe

    recipe = load_recipe(name)
    print(recipe.to_yaml(), end="")
    print(f"# content_hash: {recipe.content_hash}")
    print("# normalised weights: " + ", ".join(f"{t}={w:.4f}" for t, w in recipe.weights.items()))


def register(app: typer.Typer) -> None:
    """Add the `recipe` group and the `recipes` command to the main app."""
    app.add_typer(recipe_app, name="recipe")
    app.command("recipes")(recipes_cmd)
