"""The `mix` group: learn template mixtures for target tasks (Cookbook-Mix) and show what a learned recipe holds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cookbook_hub.cli.options import stdout, user_errors
from cookbook_hub.errors import MixError

mix_app = typer.Typer(help="Learn template mixtures for target tasks, and show learned recipes.", no_args_is_help=True)


def parse_task_weights(text: str | None) -> dict[str, float] | None:
    """`--task-weights name=2,other=1` as a mapping."""
    if not text:
        return None
    weights = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise MixError(
                f"--task-weights item {item!r} is not NAME=NUMBER", fix="write e.g. --task-weights ropes=2,piqa=1"
            )
        weights[name.strip()] = number
    return weights


@mix_app.command("learn")
@user_errors
def learn_cmd(
    base: Annotated[str, typer.Option("--base", help="Base recipe: a shipped NAME, NAME@VERSION or a YAML file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The learned recipe YAML to write (matrix beside it).")],
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="Target tasks: FILE.jsonl,... | gpt4all | lm-eval task names.")
    ] = None,
    estimator: Annotated[
        str, typer.Option("--estimator", help="trained | rules | rules-unlabeled | trained-unlabeled.")
    ] = "rules",
    model: Annotated[str | None, typer.Option("--model", help="Base model for the trained estimators.")] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, max=1_000_000, help="Steps per template adapter.")] = 100,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Examples per task (default: all).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Local copies of lm-eval tasks' data (as for `eval`).")
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Entropy weight: small picks the best templates, large spreads.")
    ] = 0.05,
    task_weights: Annotated[
        str | None, typer.Option("--task-weights", help="Weigh tasks in the objective: NAME=W,... (default 1 each).")
    ] = None,
    keep_all: Annotated[
        bool, typer.Option("--keep-all", help="Keep templates without a significantly positive effect.")
    ] = False,
    work: Annotated[
        Path | None, typer.Option("--work", help="Cache of adapters and evaluations (trained estimators).")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version of the new recipe (default: next minor).")
    ] = None,
    from_matrix: Annotated[
        Path | None, typer.Option("--from-matrix", help="Use a saved effects.json instead of estimating.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out file.")] = False,
) -> None:
    """Learn weights for a recipe's templates on target tasks and write them as a new recipe version.

    Example: cookbook-hub mix learn --base gpt4all --tasks ropes.jsonl,siqa.jsonl --estimator rules --out mix.yaml
    """
    from cookbook_hub.fs import check_output
    from cookbook_hub.mix.learn import check_estimator, learn, write_learned
    from cookbook_hub.mix.recipe import check_version
    from cookbook_hub.mix.solve import check_temperature
    from cookbook_hub.mix.trained import Budget

    check_estimator(estimator)
    check_temperature(temperature)
    if version is not None:
        check_version(version)
    check_output(out, overwrite)  # before any estimation: a refused --out costs nothing
    learned = learn(
        base,
        tasks,
        estimator,
        model=model,
        budget=Budget(steps=steps, limit=limit, data_dir=str(data_dir) if data_dir else None),
        temperature=temperature,
        task_weights=parse_task_weights(task_weights),
        keep_all=keep_all,
        work=work,
        version=version,
        from_matrix=from_matrix,
    )
    files = write_learned(learned, out, overwrite)
    show(learned.recipe.model_dump(mode="json"))
    stdout.print(f"wrote {files['recipe']} ({learned.recipe.name} {learned.recipe.version}) and {files['effects']}")


def show(recipe: dict[str, Any]) -> None:
    """Print a learned recipe's matrix, weights and provenance as tables."""
    source = recipe["provenance"]["learned_from"]
    tasks = [t["name"] for t in source["tasks"]]
    matrix = Table("template", *tasks, title=f"effects ({source['estimator']}): effect ± standard error")
    for template in source["templates"]:
        cells = []
        for task in tasks:
            entry = source["effects"].get(template, {}).get(task)
            cells.append("—" if entry is None else f"{entry['effect']:+.3f} ± {entry['stderr']:.3f}")
        matrix.add_row(template, *cells)
    stdout.print(matrix)
    learned = {t["template"]: t["weight"] for t in recipe["templates"]}
    total = sum(learned.values())
    weights = Table("template", "base weight", "learned weight", "note", title="weights")
    for template in source["templates"]:
        note = source["dropped"].get(template, "")
        base_weight = source["base_weights"].get(template, 0.0)
        weights.add_row(template, f"{base_weight:.3f}", f"{learned.get(template, 0.0) / total:.3f}", note)
    stdout.print(weights)
    facts = Table("", "", title="provenance", show_header=False)
    for label, value in (
        ("recipe", f"{recipe['name']} {recipe['version']}"),
        ("learned from", source["base_recipe"]),
        ("estimator", source["estimator"]),
        ("base model", source["base_model"] or "none (rules only)"),
        ("budget", json.dumps(source["budget"])),
        ("temperature", str(source["temperature"])),
        ("task weights", json.dumps(source["task_weights"]) if source["task_weights"] else "equal"),
        ("predicted effects", ", ".join(f"{k} {v:+.3f}" for k, v in source["predicted_effects"].items())),
        ("cookbook-hub", source["package_version"]),
    ):
        facts.add_row(label, value)
    stdout.print(facts)


@mix_app.command("show")
@user_errors
def show_cmd(
    recipe: Annotated[str, typer.Argument(help="A learned recipe: YAML file, shipped NAME or NAME@VERSION.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the provenance as JSON.")] = False,
) -> None:
    """Show a learned recipe: its effect matrix, its weights beside the base recipe's, and its provenance.

    Example: cookbook-hub mix show gpt4all-learned.yaml
    """
    from cookbook_hub.recipes.schema import load_recipe

    loaded = load_recipe(recipe)
    if loaded.provenance.kind != "learned":
        raise MixError(
            f"recipe {loaded.name} {loaded.version} is {loaded.provenance.kind}, not learned",
            fix="learn one with `cookbook-hub mix learn`, or see it with `cookbook-hub recipe show`",
        )
    body = loaded.model_dump(mode="json")
    if as_json:
        print(json.dumps(body["provenance"], indent=2))
        return
    show(body)


def register(app: typer.Typer) -> None:
    """Add the `mix` group to the main app."""
    app.add_typer(mix_app, name="mix")
