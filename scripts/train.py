"""Fine-tune a LoRA adapter on Cookbook data: `cookbook-hub train` as a script, for `accelerate launch`.

The flags are the fields of `cookbook_hub.train.config.TrainConfig` (the same as `cookbook-hub train --help`):

    python scripts/train.py --data generative --steps 200 --out adapters/generative
    accelerate launch --config_file scripts/accelerate/ddp.yaml scripts/train.py --data gpt4all --out adapters/gpt4all
"""

from __future__ import annotations

import sys

from transformers import HfArgumentParser

from cookbook_hub.errors import CookbookError
from cookbook_hub.train.config import TrainConfig
from cookbook_hub.train.trainer import train

USER_ERROR_EXIT = 2


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """The TrainConfig of the command line (`--batch-size 4` or `--batch_size 4`; `--target-modules q_proj v_proj`)."""
    (config,) = HfArgumentParser(TrainConfig).parse_args_into_dataclasses(args=argv)
    return config


def main(argv: list[str] | None = None) -> int:
    """Train as asked; a user error prints one line and returns exit code 2."""
    try:
        result = train(parse_config(argv))
    except CookbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    if result.main_process:
        print(f"wrote the adapter to {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
