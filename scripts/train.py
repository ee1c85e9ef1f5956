"""Fine-tune a LoRA adapter on Cookbook data: `cookbook-hub train` as a script, for `accelerate launch`.

The flags are the fields of `cookbook_hub.train.config.TrainConfig` (the same as `cookbook-hub train --help`):

    python scripts/train.py --data generative --steps 200 --out adapters/generative
    python scripts/train.py --config sft.yaml --steps 50     # flags override the file's values, as `trl sft`
    accelerate launch --config_file scripts/accelerate/ddp.yaml scripts/train.py --data gpt4all --out adapters/gpt4all
"""

from __future__ import annotations

import sys

from trl import TrlParser

from cookbook_hub.errors import CookbookError
from cookbook_hub.train.config import TrainConfig, config_file_values
from cookbook_hub.train.trainer import train

USER_ERROR_EXIT = 2


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """The TrainConfig of the command line (`--batch-size 4` or `--batch_size 4`; `--target-modules q_proj v_proj`);
    `--config FILE` gives defaults from a YAML file of flag names and values, as `cookbook-hub train --config`."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = TrlParser(TrainConfig)
    if "--config" in args:
        at = args.index("--config")
        parser.set_defaults_with_config(**config_file_values(args[at + 1] if at + 1 < len(args) else ""))
        del args[at : at + 2]
    (config,) = parser.parse_args_into_dataclasses(args=args)
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
