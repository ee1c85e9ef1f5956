"""Evaluate a model or LoRA adapter with lm-eval: the same options as `cookbook-hub eval`.

python scripts/evaluate.py --adapter adapters/gpt4all --tasks templates --limit 50
python scripts/evaluate.py --tasks gpt4all --data-dir data/gpt4all --limit 100 --out results/base
"""

from __future__ import annotations

import typer

from cookbook_hub.cli.eval import eval_cmd
from cookbook_hub.cli.options import user_errors


def main() -> None:
    """Run the `eval` command as a standalone script."""
    typer.run(user_errors(eval_cmd))


if __name__ == "__main__":
    main()
