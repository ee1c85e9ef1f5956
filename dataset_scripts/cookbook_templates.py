"""The Cookbook template set as a `datasets` builder: one BuilderConfig per registered template.

datasets >= 4 no longer runs loading scripts, so use the builder API directly:

    from cookbook_hub._dataset_scripts.cookbook_templates import CookbookTemplates
    builder = CookbookTemplates(config_name="span_qa", train_size=10_000, seed=1, cache_dir="cache")
    builder.download_and_prepare(num_proc=2)
    ds = builder.as_dataset()
    stream = CookbookTemplates(config_name="copy", unbounded=True).as_streaming_dataset(split="train")

Config kwargs: `train_size`, `validation_size`, `test_size` (rows), `unbounded` (True: an endless
train split, streaming only; datasets drops kwargs whose value is None, hence a flag), `seed`,
`format` (plain, qa, chat), `token_space` ("default", a tokenizer folder, a .gguf or a .txt token
list), `params` (template parameters) and `shard` ("K/N").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import datasets

from cookbook_hub.errors import ParameterError
from cookbook_hub.generation.formatting import check_style
from cookbook_hub.generation.generate import chunks
from cookbook_hub.generation.rows import features, to_record
from cookbook_hub.templates import get_template, template_class, template_names
from cookbook_hub.templates.base import Template
from cookbook_hub.tokens.sampling import MAX_SPLIT_ROWS, SPLIT_OFFSETS, Shard, split_range

CITATION = """@inproceedings{narayan2024cookbook,
  title={Cookbook: A Framework for Improving LLM Generative Abilities via Programmatic Data Generating Templates},
  author={Narayan, Avanika and Chen, Mayee F. and Bhatia, Kush and R{\\'e}, Christopher},
  booktitle={Conference on Language Modeling (COLM)},
  year={2024}
}"""


@dataclass
class CookbookTemplatesConfig(datasets.BuilderConfig):
    """One template's generated dataset; every field is overridable as a builder kwarg."""

    template: str = "span_qa"
    params: dict[str, Any] | None = None
    train_size: int = 10_000
    unbounded: bool = False
    validation_size: int = 1_000
    test_size: int = 1_000
    seed: int = 0
    format: str = "plain"
    token_space: str = "default"
    shard: str = "0/1"

    @property
    def sizes(self) -> dict[str, int | None]:
        """Rows per split (None: the unbounded train split)."""
        train = None if self.unbounded else self.train_size
        return {"train": train, "validation": self.validation_size, "test": self.test_size}

    def validate(self) -> None:
        """Check the fields (datasets applies builder kwargs after __init__, so the builder calls this)."""
        check_style(self.format)
        Shard.parse(self.shard)
        for split, size in self.sizes.items():
            if size is not None and size < 0:
                raise ParameterError(f"{split}_size must be >= 0, got {size}", fix=f"set {split}_size to 0 or more")


class CookbookTemplates(datasets.GeneratorBasedBuilder):
    """Builder of single-template Cookbook datasets."""

    BUILDER_CONFIG_CLASS = CookbookTemplatesConfig
    BUILDER_CONFIGS = [CookbookTemplatesConfig(name=name, template=name) for name in template_names()]
    DEFAULT_CONFIG_NAME = "span_qa"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "config_name" in kwargs and kwargs["config_name"] not in template_names():
            template_class(kwargs["config_name"])  # raises UnknownNameError with suggestions
        super().__init__(*args, **kwargs)
        cfg = self.config
        cfg.validate()
        self.template: Template = get_template(cfg.template, cfg.params, cfg.token_space)

    def _info(self) -> datasets.DatasetInfo:
        cls = template_class(self.config.template)
        return datasets.DatasetInfo(
            description=f"Cookbook template {cls.name} v{cls.version}: {cls.summary}. Target: {cls.target_task}.",
            features=features([get_template(self.config.template, self.config.params)], self.config.format),
            citation=CITATION,
            license="apache-2.0",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
        shard = Shard.parse(self.config.shard)
        out = []
        for split, size in self.config.sizes.items():
            if size is None and not streaming:
                raise ParameterError(
                    f"the unbounded {split} split works only when streaming",
                    fix=f"use as_streaming_dataset(), or drop unbounded=True and give {split}_size",
                )
            if size == 0:
                continue
            indices = split_range(split, MAX_SPLIT_ROWS if size is None else size, shard)
            pieces = [indices] if size is None else chunks(indices)
            out.append(datasets.SplitGenerator(name=split, gen_kwargs={"pieces": pieces}))
        return out

    def _generate_examples(self, pieces: list[range]) -> Iterator[tuple[int, dict[str, Any]]]:
        names = self.info.features["inputs"].keys()
        for piece in pieces:
            for sample in self.template.samples(piece.start, piece.stop, self.config.seed):
                yield sample.index, to_record(self.template, sample, self.config.format, names)


__all__ = ["CITATION", "SPLIT_OFFSETS", "CookbookTemplates", "CookbookTemplatesConfig"]
