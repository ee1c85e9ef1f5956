"""Learning a mixture, start to end: estimate the effect matrix (or read one), solve for weights, write the
new recipe version and its matrix. The library function behind `cookbook-hub mix learn` and
scripts/learn_mixture.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from cookbook_hub import __version__
from cookbook_hub.errors import MixError
from cookbook_hub.fs import atomic_path, cache_dir
from cookbook_hub.mix.effects import ESTIMATORS, EffectMatrix, load_matrix
from cookbook_hub.mix.recipe import learned_recipe
from cookbook_hub.mix.rules import estimate_rules, estimate_rules_unlabeled
from cookbook_hub.mix.solve import DEFAULT_TEMPERATURE, Solution, check_temperature, solve
from cookbook_hub.mix.targets import parse_targets
from cookbook_hub.mix.trained import Budget, estimate_trained
from cookbook_hub.models import model_identity
from cookbook_hub.recipes.schema import Recipe, load_recipe

TRAINED = ("trained", "trained-unlabeled")


@dataclass
class Learned:
    """A learned mixture: the new recipe, the matrix it came from, and the solver's answer."""

    recipe: Recipe
    matrix: EffectMatrix
    solution: Solution
    files: dict[str, Path] = field(default_factory=dict)


def check_estimator(estimator: str) -> str:
    """One of the four estimators."""
    if estimator not in ESTIMATORS:
        raise MixError(f"--estimator {estimator!r} is unknown", fix=f"use one of {', '.join(ESTIMATORS)}")
    return estimator


def estimate(
    base: Recipe,
    tasks: str,
    estimator: str,
    *,
    model: str | None = None,
    budget: Budget | None = None,
    work: str | Path | None = None,
    progress: bool = True,
) -> EffectMatrix:
    """The effect matrix of the base recipe's templates on the tasks, by the chosen estimator."""
    check_estimator(estimator)
    budget = budget or Budget()
    targets = parse_targets(tasks)
    limit = budget.limit
    matrix = EffectMatrix(
        estimator=estimator,
        templates=[{"template": t.template, "params": t.params} for t in base.templates],
        tasks=[t.info(limit) for t in targets],
        base_recipe=f"{base.name}@{base.version}",
        base_model=model_identity(model) if estimator in TRAINED else None,
        budget=(
            {
                "steps": budget.steps,
                "batch_size": budget.batch_size,
                "lr": budget.lr,
                "seed": budget.seed,
                "limit": limit,
            }
            if estimator in TRAINED
            else {"limit": limit}
        ),
        package_version=__version__,
    )
    with tqdm(
        total=len(base.templates) * len(targets), desc=f"effects ({estimator})", unit="pair", disable=not progress
    ) as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update()

        if estimator == "rules":
            return estimate_rules(matrix, targets, limit, step)
        if estimator == "rules-unlabeled":
            return estimate_rules_unlabeled(matrix, targets, limit, step, budget.seed)
        folder = Path(work) if work else cache_dir() / "mix"
        unlabeled = estimator == "trained-unlabeled"
        return estimate_trained(matrix, base, targets, folder, model, budget, step, unlabeled=unlabeled)


def learn(
    base: str,
    tasks: str | None = None,
    estimator: str = "rules",
    *,
    model: str | None = None,
    budget: Budget | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    task_weights: dict[str, float] | None = None,
    keep_all: bool = False,
    work: str | Path | None = None,
    version: str | None = None,
    from_matrix: str | Path | None = None,
    progress: bool = True,
) -> Learned:
    """Learn weights for the base recipe's templates (a shipped name, NAME@VERSION or a YAML file) on the
    tasks, or from a saved matrix (`from_matrix`, whose templates must be the base recipe's)."""
    check_temperature(temperature)
    recipe = load_recipe(base)
    if from_matrix is not None:
        matrix = load_matrix(from_matrix)
        missing = sorted(set(matrix.template_names) - {t.template for t in recipe.templates})
        if missing:
            raise MixError(
                f"{from_matrix}: template {missing[0]!r} is not in base recipe {recipe.name}@{recipe.version}",
                fix="pass the --base the matrix was estimated for",
            )
    else:
        if not tasks:
            raise MixError("no --tasks given", fix="pass --tasks, or --from-matrix effects.json")
        matrix = estimate(recipe, tasks, estimator, model=model, budget=budget, work=work, progress=progress)
    solution = solve(matrix, temperature, task_weights, keep_all)
    return Learned(learned_recipe(recipe, matrix, solution, version, task_weights), matrix, solution)


def matrix_path(out: str | Path) -> Path:
    """Where the matrix of a learned recipe is written: beside it, `NAME.effects.json` for `NAME.yaml`."""
    out = Path(out)
    return out.with_name(f"{out.stem}.effects.json")


def write_learned(learned: Learned, out: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """Write the recipe YAML to `out` and its matrix beside it; both or neither (an existing `out` is refused
    unless `overwrite`)."""
    out = Path(out)
    if out.suffix not in (".yaml", ".yml"):
        raise MixError(f"--out {str(out)!r} must name a .yaml file", fix="pass e.g. --out gpt4all-learned.yaml")
    effects = matrix_path(out)
    with atomic_path(effects, overwrite=True) as tmp_effects, atomic_path(out, overwrite) as tmp_recipe:
        learned.matrix.save(tmp_effects)
        tmp_recipe.write_text(learned.recipe.to_yaml(), encoding="utf-8")
    learned.files = {"recipe": out, "effects": effects}
    return learned.files
