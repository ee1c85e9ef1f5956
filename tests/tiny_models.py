"""Test fixtures for training: a tiny random Llama, recipes for tiny datasets, and a model that is not a causal LM.

Load them in a test module with `pytest_plugins = ["tiny_models"]`. The tiny Llama (2 layers, hidden
size 64) uses a byte-level BPE tokenizer of TINY_VOCAB tokens trained on the default token space,
with a ChatML chat template and no pad token (so training adds one and saves the tokenizer).
Training tests run torch on one thread: with `pytest -n 2` on two cores, two processes of two
threads each make every matrix product many times slower.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from cookbook_hub.card.dataset_card import write_dataset_card

TINY_VOCAB = 512
END = "<|im_end|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TEMPLATE_WORDS = "Repeat the text exactly. Text: Answer: Options: Question: Passage: Sort the tokens. Reverse"


def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer with TINY_VOCAB tokens, trained on the default token space (deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = resources.files("cookbook_hub").joinpath("tokens/default_tokens.txt").read_text(encoding="utf-8").split()
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB,
        special_tokens=["<|endoftext|>", "<|im_start|>", END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([TEMPLATE_WORDS, *(" ".join(words[i : i + 64]) for i in range(0, len(words), 64))], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=END)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_llama(folder: Path, tokenizer: Any = None, hidden_size: int = 64, layers: int = 2) -> Path:
    """A random Llama whose vocabulary is the tokenizer's (default: the tiny one), saved with it into `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tokenizer or tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=None,
        tie_word_embeddings=True,
        initializer_range=0.2,  # logits far enough from uniform for a LoRA on a random model to learn quickly
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def record_hub_id(folder: Path, hub_id: str) -> Path:
    """Record `hub_id` as the model's Hub id in its config.json (`_name_or_path`, as older transformers saved it)."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "_name_or_path": hub_id}, indent=2), encoding="utf-8")
    return folder


def write_recipe(
    folder: Path, name: str = "tiny-copy", fmt: str = "plain", size: int = 256, params: dict | None = None
) -> Path:
    """A recipe file for the copy template (2-4 tokens unless `params` say otherwise), all rows in train."""
    entry = {"template": "copy", "weight": 1, "params": params or {"min_len": 2, "max_len": 4}}
    recipe = {
        "name": name,
        "version": "0.1.0",
        "templates": [entry],
        "size": size,
        "splits": {"train": 1.0},
        "seed": 0,
        "format": fmt,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """Run torch on one thread for the module (see the module docstring)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The tiny tokenizer (ChatML chat template, no pad token)."""
    return tiny_tokenizer()


@pytest.fixture
def copy_recipe(tmp_path: Path) -> Path:
    """The tiny copy recipe (plain format, 256 rows of 2-4 tokens, all in train) as a YAML file."""
    return write_recipe(tmp_path)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the tiny random Llama and its tokenizer."""
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only a BERT config: a model, but not a causal language model."""
    from transformers import BertConfig

    folder = tmp_path_factory.mktemp("bert")
    BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def copy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder built by `cookbook-hub build` from the tiny copy recipe (plain format, 256 rows)."""
    from cookbook_hub.dataset.builder import build

    folder = tmp_path_factory.mktemp("data")
    return build(str(write_recipe(folder)), folder / "tiny-copy", progress=False, finish=write_dataset_card).path


@pytest.fixture(scope="session")
def chat_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder built from the tiny copy recipe in chat format."""
    from cookbook_hub.dataset.builder import build

    folder = tmp_path_factory.mktemp("chat-data")
    recipe = write_recipe(folder, name="tiny-chat", fmt="chat")
    return build(str(recipe), folder / "tiny-chat", progress=False, finish=write_dataset_card).path
