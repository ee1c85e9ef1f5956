"""The folders cookbook-hub writes, and every file in them: the only code that spells those file names.

Like huggingface_hub's `RepoCard` -> `ModelCard`/`DatasetCard`, one base class per on-disk format:

- `RepoFolder`: any folder laid out as a Hub repo, with its `README.md` card at the root;
- `DatasetFolder`: written by `cookbook-hub build`: the build manifest, Parquet shards, weight charts;
- `AdapterFolder`: written by `cookbook-hub train` (the adapter, training_args.json, metrics.json, loss.png,
  checkpoints of an unfinished run), then added to by `eval` (results, `.eval_results/`) and `align`
  (reports). Each record brings its part of the model card (`card_parts/`), so the card is rendered from
  what the folder holds, without knowing how the records were made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cookbook_hub.bounded import read_json
from cookbook_hub.fs import write_json

README = "README.md"


class RepoFolder:
    """A folder laid out as a Hub repository: files at their repo paths, the card in README.md."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __truediv__(self, rel: str) -> Path:
        return self.path / rel

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @property
    def readme(self) -> Path:
        """The card."""
        return self.path / README

    def write_readme(self, text: str) -> Path:
        """Write the card; returns its path."""
        self.readme.write_text(text, encoding="utf-8")
        return self.readme

    def has(self, rel: str) -> bool:
        """Whether the folder holds the file `rel`."""
        return (self.path / rel).is_file()


# ------------------------------------------------------------------ datasets


class DatasetFolder(RepoFolder):
    """A dataset folder written by `cookbook-hub build`:

    README.md                                  card; YAML `configs:` and `dataset_info`
    cookbook_build.json                        manifest: recipes, counts, hashes, files
    images/<config>-weights.png                recipe weights chart
    images/<config>-effects.png                effect matrix of a learned recipe
    <config>/<split>-00000-of-00001.parquet    data
    """

    MANIFEST = "cookbook_build.json"
    IMAGES = "images"

    @property
    def is_built(self) -> bool:
        """Whether the folder holds a build manifest."""
        return self.has(self.MANIFEST)

    def manifest(self) -> dict[str, Any]:
        """The build manifest (a clear error when the folder was not built by `cookbook-hub build`)."""
        return read_json(
            self.path / self.MANIFEST,
            what="build manifest",
            missing=f"{str(self.path)!r} is not a built dataset: no {self.MANIFEST}",
            fix="build it with `cookbook-hub build RECIPE --out DIR` (add --overwrite to rebuild)",
        )

    def write_manifest(self, manifest: dict[str, Any]) -> Path:
        """Write the build manifest."""
        return write_json(self.path / self.MANIFEST, manifest)

    @staticmethod
    def shard(config: str, split: str, k: int, count: int) -> str:
        """The repo path of one Parquet shard, named like the Hub names them."""
        return f"{config}/{split}-{k:05d}-of-{count:05d}.parquet"

    @staticmethod
    def split_pattern(config: str, split: str) -> str:
        """The `data_files` pattern of a split in the card's `configs:`."""
        return f"{config}/{split}-*.parquet"

    @classmethod
    def weights_plot(cls, config: str) -> str:
        """The repo path of a config's weights chart."""
        return f"{cls.IMAGES}/{config}-weights.png"

    @classmethod
    def effects_plot(cls, config: str) -> str:
        """The repo path of the effect-matrix heatmap of a config built from a learned recipe."""
        return f"{cls.IMAGES}/{config}-effects.png"


# ------------------------------------------------------------------ adapters


@dataclass(frozen=True)
class CardPart:
    """A record's part of a model card: markdown under the section `section` (after `intro`, which a section
    shows once), and `model_index` entries (dicts of `huggingface_hub.EvalResult` fields)."""

    section: str
    markdown: str
    intro: str | None = None
    model_index: list[dict[str, Any]] = field(default_factory=list)


class AdapterFolder(RepoFolder):
    """An adapter folder written by `cookbook-hub train`:

    adapter_config.json, adapter_model.safetensors   the LoRA adapter (peft's save_pretrained)
    training_args.json, metrics.json, loss.png      what the run was and what it measured
    checkpoints/                                    only while a run is unfinished (`--resume`)
    runs/                                           TensorBoard logs (`--report-to tensorboard`), kept local
    eval/results_<time>.{json,png}                  `cookbook-hub eval` results documents and their plots
    .eval_results/<task>.yaml                       the Hub's eval results entries
    alignment/<task>.<template>/alignment.{json,md,png}   `cookbook-hub align` reports
    card_parts/<record>.json                        each record's part of the card
    """

    ADAPTER_CONFIG = "adapter_config.json"
    TRAINING_ARGS = "training_args.json"
    METRICS = "metrics.json"
    CHECKPOINTS = "checkpoints"
    RUNS = "runs"  # where transformers' TensorBoard callback writes, under the Trainer's output dir
    LOCAL_ONLY = (f"{RUNS}/*",)  # never published: the logs record the run's local paths (its arguments)
    LOSS_PLOT = "loss.png"
    RESULTS_DIR = "eval"
    EVAL_RESULTS_DIR = ".eval_results"
    ALIGNMENT_DIR = "alignment"
    ALIGNMENT_FILES = {"json": "alignment.json", "png": "alignment.png", "markdown": "alignment.md"}
    CARD_PARTS_DIR = "card_parts"
    MODEL_FILES = (ADAPTER_CONFIG, "config.json")  # what makes a folder a model repo

    @property
    def is_adapter(self) -> bool:
        """Whether the folder holds a LoRA adapter."""
        return self.has(self.ADAPTER_CONFIG)

    @property
    def trained_here(self) -> bool:
        """Whether the folder holds the records of `cookbook-hub train` that its card is rendered from."""
        return self.has(self.TRAINING_ARGS) and self.has(self.METRICS)

    @property
    def checkpoints(self) -> Path:
        """Where an unfinished run keeps its checkpoints."""
        return self.path / self.CHECKPOINTS

    @property
    def runs(self) -> Path:
        """The run's TensorBoard logs."""
        return self.path / self.RUNS

    def adapter_config(self) -> dict[str, Any]:
        """peft's adapter_config.json."""
        return self._record(self.ADAPTER_CONFIG)

    def training_args(self) -> dict[str, Any]:
        """training_args.json: the request, the resolved arguments, base model and data."""
        return self._record(self.TRAINING_ARGS)

    def metrics(self) -> dict[str, Any]:
        """metrics.json: the log history, throughput, hardware and versions."""
        return self._record(self.METRICS)

    def write_training_records(self, training_args: dict[str, Any], metrics: dict[str, Any]) -> None:
        """Write training_args.json and metrics.json."""
        write_json(self.path / self.TRAINING_ARGS, training_args)
        write_json(self.path / self.METRICS, metrics)

    def _record(self, name: str) -> dict[str, Any]:
        return read_json(
            self.path / name,
            what="JSON file",
            missing=f"{str(self.path)!r} is not an adapter folder written by `cookbook-hub train`: no {name}",
            fix="train it with `cookbook-hub train --out DIR`",
        )

    # --- evaluation records ------------------------------------------------------------------
    def results_file(self, stamp: str) -> Path:
        """Where the results document of an evaluation made at `stamp` (e.g. 20260101T120000Z) is saved."""
        return self.path / self.RESULTS_DIR / f"results_{stamp}.json"

    @staticmethod
    def results_plot(results_file: Path) -> Path:
        """The plot of the results document `results_file`, beside it."""
        return results_file.with_suffix(".png")

    def results_files(self) -> list[Path]:
        """Every saved results document, newest first."""
        return sorted((self.path / self.RESULTS_DIR).glob("results_*.json"), reverse=True)

    def eval_results_file(self, task: str) -> Path:
        """The Hub's `.eval_results/<task>.yaml` of one task."""
        return self.path / self.EVAL_RESULTS_DIR / f"{task}.yaml"

    # --- alignment records -------------------------------------------------------------------
    def alignment_dir(self, task_file: str, template: str) -> str:
        """Where the report of `template` on a task file is kept: `alignment/<file stem>.<template>`."""
        return f"{self.ALIGNMENT_DIR}/{Path(task_file).stem}.{template}"

    @classmethod
    def alignment_files(cls, folder: str | Path) -> dict[str, Path]:
        """The files of an alignment report in `folder` (keys `json`, `png`, `markdown`)."""
        return {kind: Path(folder) / name for kind, name in cls.ALIGNMENT_FILES.items()}

    def alignment_reports(self) -> list[Path]:
        """The JSON file of every alignment report, by name."""
        return sorted((self.path / self.ALIGNMENT_DIR).glob(f"*/{self.ALIGNMENT_FILES['json']}"))

    # --- card parts --------------------------------------------------------------------------
    def write_card_part(self, record: str, part: CardPart) -> Path:
        """Save the card part of the record at repo path `record` (replacing an earlier one for it)."""
        path = self.path / self.CARD_PARTS_DIR / (record.replace("/", "--") + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_json(path, asdict(part))

    def card_parts(self) -> list[CardPart]:
        """The card parts of every record: evaluations newest first, then alignment reports by name."""
        folder = self.path / self.CARD_PARTS_DIR
        evals = sorted(folder.glob(f"{self.RESULTS_DIR}--*.json"), reverse=True)
        reports = sorted(folder.glob(f"{self.ALIGNMENT_DIR}--*.json"))
        return [CardPart(**json.loads(path.read_text(encoding="utf-8"))) for path in [*evals, *reports]]
