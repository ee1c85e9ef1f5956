"""cookbook-hub: Cookbook templates as versioned Hugging Face datasets.

The flat Python API, imported on first use so that `import cookbook_hub` stays light (no torch, no lm-eval):

    import cookbook_hub as cb

    cb.get_template("copy").sample(0, seed=0)
    folder = cb.build("generative", "data/generative", finish=cb.write_dataset_card).path  # with its card
    cb.build_ray("gpt4all", "s3://my-bucket/gpt4all", address="auto", finish=cb.write_dataset_card)  # on Ray
    cb.publish(folder, "hub/me/generative", tag="v0.1.0")
    cb.pull("hub/me/generative", "v0.1.0", "pulled")
    result = cb.train(cb.TrainConfig(data="generative", out="adapters/generative", steps=200))
    evaluation = cb.evaluate(adapter="adapters/generative", tasks="templates", limit=50)
    alignment = cb.align("data/extractive_qa_ropes.jsonl", "span_qa", adapter="adapters/generative", limit=50)

`cb.train` and `cb.align` are the `train` and `align` subpackages, which are callable (`CallableModule`): the
subpackage and its main function share a name, and Python binds the subpackage to that name once it is imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

API = {
    "get_template": "cookbook_hub.templates:get_template",
    "template_names": "cookbook_hub.templates:template_names",
    "register": "cookbook_hub.templates:register",
    "load_recipe": "cookbook_hub.recipes.schema:load_recipe",
    "build": "cookbook_hub.dataset.builder:build",
    "build_ray": "cookbook_hub.dataset.ray_engine:build_ray",
    "write_dataset_card": "cookbook_hub.card.dataset_card:write_dataset_card",
    "publish": "cookbook_hub.hub.publish:publish",
    "pull": "cookbook_hub.hub.pull:pull",
    "TrainConfig": "cookbook_hub.train.config:TrainConfig",
    "train": "cookbook_hub.train",
    "evaluate": "cookbook_hub.eval.runner:evaluate",
    "align": "cookbook_hub.align",
}
__all__ = ["__version__", *API]


def resolve(path: str) -> Any:
    """The object a `module:attribute` path names (the module itself without `:attribute`), imported now."""
    module, _, name = path.partition(":")
    imported = importlib.import_module(module)
    return getattr(imported, name) if name else imported


def __getattr__(name: str) -> Any:
    """The flat API's names, imported on first use (PEP 562)."""
    if name not in API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return resolve(API[name])


def __dir__() -> list[str]:
    return sorted({*globals(), *API})


class CallableModule(types.ModuleType):
    """A subpackage that calls its main function when called (`cookbook_hub.train(config)`)."""

    main: str  # the function's `module:attribute` path

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the subpackage's main function."""
        return resolve(self.main)(*args, **kwargs)


def make_callable(module_name: str, main: str) -> None:
    """Make an imported subpackage callable as `main` (a `module:attribute` path), keeping it a package."""
    module = sys.modules[module_name]
    module.__class__ = CallableModule
    module.main = main  # type: ignore[attr-defined]
