"""Learn a Cookbook-Mix recipe from Python: the library function behind `cookbook-hub mix learn`.

    python scripts/learn_mixture.py --base gpt4all --estimator rules \
        --tasks ../shared/data/extractive_qa_ropes.jsonl,../shared/data/multiple_choice_social_iqa.jsonl \
        --out gpt4all-learned.yaml

Prints the learned weights and writes the recipe and its effect matrix (`gpt4all-learned.effects.json`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cookbook_hub.mix.learn import learn, write_learned
from cookbook_hub.mix.trained import Budget


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, learn, write, and print the weights."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="base recipe: NAME, NAME@VERSION or a YAML file")
    p.add_argument("--tasks", help="task files (comma-separated), gpt4all, or lm-eval task names")
    p.add_argument("--estimator", default="rules", help="trained | rules | rules-unlabeled | trained-unlabeled")
    p.add_argument("--model", help="base model for the trained estimators")
    p.add_argument("--steps", type=int, default=100, help="steps per template adapter")
    p.add_argument("--limit", type=int, help="examples per task")
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--work", help="cache of adapters and evaluations")
    p.add_argument("--version", help="version of the new recipe (default: next minor)")
    p.add_argument("--from-matrix", help="a saved effects.json instead of estimating")
    p.add_argument("--out", required=True, help="the learned recipe YAML")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    learned = learn(
        args.base,
        args.tasks,
        args.estimator,
        model=args.model,
        budget=Budget(steps=args.steps, limit=args.limit),
        temperature=args.temperature,
        work=args.work,
        version=args.version,
        from_matrix=args.from_matrix,
    )
    files = write_learned(learned, args.out, args.overwrite)
    for template, weight in learned.recipe.weights.items():
        print(f"{template:24s} {weight:.3f}")
    print(f"wrote {files['recipe']} and {files['effects']}")


if __name__ == "__main__":
    main()
