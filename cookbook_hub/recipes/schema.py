"""Recipes: versioned YAML descriptions of a template mixture (validated with pydantic v2).

A recipe names its templates with weights and params, the token space, the total size and the
split fractions, the seed, the text format, and where the weights came from (`provenance`).
`content_hash` covers everything but `version`, so a changed recipe that kept its version is
caught when it is published over the older one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from cookbook_hub.bounded import MAX_DEPTH, YAML_MAX_NODES, json_depth, load_yaml
from cookbook_hub.errors import CookbookError, RecipeError, UnknownNameError
from cookbook_hub.generation.formatting import STYLES, Style
from cookbook_hub.recipes.limits import MAX_ROWS, MAX_WEIGHT
from cookbook_hub.templates import REGISTRY, get_template
from cookbook_hub.templates.base import validate_params
from cookbook_hub.tokens.sampling import SPLIT_OFFSETS
from cookbook_hub.tokens.space import DEFAULT_NAME, resolve_token_space

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HISTORY = "history"  # earlier versions of the shipped recipes, kept buildable: history/<name>@<version>.yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemplateEntry(_Strict):
    """One template of a mixture: its weight and parameters."""

    template: str
    weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("template")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in REGISTRY:
            close = UnknownNameError("template", value, REGISTRY).suggestions
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"known: {', '.join(REGISTRY)}"
            raise ValueError(f"unknown template {value!r}; {hint}")
        return value


class Provenance(_Strict):
    """Where the weights come from: written by hand, or learned (with what they were learned from)."""

    kind: Literal["hand-written", "learned"] = "hand-written"
    method: str | None = None
    learned_from: dict[str, Any] | None = None
    notes: str | None = None

    @field_validator("learned_from")
    @classmethod
    def _plain_data(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            check_plain_data(value)
        return value

    @model_validator(mode="after")
    def _learned_has_inputs(self) -> Provenance:
        if self.kind == "learned" and not self.learned_from:
            raise ValueError("a learned recipe must say what it was learned from (provenance.learned_from)")
        return self


class Recipe(_Strict):
    """A versioned mixture recipe."""

    name: str
    version: str
    description: str = ""
    token_space: str = "default"
    templates: Annotated[list[TemplateEntry], Field(min_length=1)]
    size: Annotated[int, Field(gt=0, le=MAX_ROWS)]
    splits: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"train": 0.98, "validation": 0.01, "test": 0.01}
    )
    seed: Annotated[int, Field(ge=0)] = 0
    format: str = "plain"
    instruction: bool | None = None
    answer_cue: bool | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    @model_serializer(mode="wrap")
    def _without_unset_options(self, handler: Any) -> dict[str, Any]:
        # recipes written before the style options existed keep their dump, YAML and content hash
        data = handler(self)
        for option in ("instruction", "answer_cue"):
            if getattr(self, option) is None:
                data.pop(option, None)
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                "must be lowercase letters, digits, '-' or '_' (at most 64), starting with a letter or digit"
            )
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        if isinstance(value, int | float):
            raise ValueError(f"{value!r} is a number; write the version as MAJOR.MINOR.PATCH in quotes, e.g. '0.1.0'")
        return value

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. 0.1.0")
        return value

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in STYLES:
            raise ValueError(f"unknown format {value!r}; use one of {', '.join(STYLES)}")
        return value

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SPLIT_OFFSETS))
        if unknown:
            raise ValueError(f"unknown split {unknown[0]!r}; use {', '.join(SPLIT_OFFSETS)}")
        if "train" not in value or value["train"] <= 0:
            raise ValueError("needs a train split with a fraction > 0")
        if abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"fractions must add up to 1 (they add up to {sum(value.values()):g})")
        return value

    @model_validator(mode="after")
    def _templates_distinct(self) -> Recipe:
        names = [entry.template for entry in self.templates]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"template {repeated[0]!r} is listed twice; list each template once")
        return self

    @model_validator(mode="after")
    def _answer_cue_is_plain(self) -> Recipe:
        if self.answer_cue is not None and self.format != "plain":
            raise ValueError(f"answer_cue is an option of the plain format, not of {self.format!r}; leave it out")
        return self

    # --- derived ------------------------------------------------------------------------------
    @property
    def style(self) -> Style:
        """The format style of the rows, with the recipe's instruction and answer-cue options."""
        return Style(self.format, self.instruction, self.answer_cue)

    @property
    def weights(self) -> dict[str, float]:
        """Normalised weights by template name."""
        total = sum(entry.weight for entry in self.templates)
        return {entry.template: entry.weight / total for entry in self.templates}

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of everything but `version`, with every template's params
        completed by their defaults (writing a default out does not change the rows, nor the hash)."""
        body = self.model_dump(mode="json", exclude={"version"})
        for entry, dumped in zip(self.templates, body["templates"], strict=True):
            cls = REGISTRY[entry.template]
            dumped["params"] = dataclasses.asdict(validate_params(cls.name, cls.Params, entry.params))
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def check_resources(self) -> None:
        """Check what the schema alone cannot: the token space exists and every template's params are valid."""
        space = resolve_token_space(self.token_space)
        for entry in self.templates:
            get_template(entry.template, entry.params, space)

    def to_yaml(self) -> str:
        """The recipe as YAML (field order kept)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def check_plain_data(value: Any) -> None:
    """Raise ValueError unless `value` is JSON-like data (mappings with text keys, lists, text, finite numbers,
    booleans, null) of at most YAML_MAX_NODES values nested at most MAX_DEPTH levels."""
    if json_depth(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > YAML_MAX_NODES:
            raise ValueError(f"holds more than {YAML_MAX_NODES:,} values")
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise ValueError("keys must be text; quote them")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a finite number")
        elif item is not None and not isinstance(item, str | int | float):
            raise ValueError(f"holds a {type(item).__name__}; use text, numbers, true/false, null, lists and mappings")


def shareable_token_space(value: str) -> str:
    """A recipe's `token_space` as cards and published manifests record it: a local path by its last part only (no
    local folder is named; the token space's identity, recorded beside it, says which tokens it holds), anything
    else as it is. A path whose last part is `default` becomes `./default`, so it never reads as the embedded one."""
    name = Path(value).name
    if name == value:
        return value
    return f"./{name}" if name == DEFAULT_NAME else name


def parse_recipe(data: Any, source: str = "recipe") -> Recipe:
    """Validate a mapping as a recipe; errors name the field and the fix."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: a recipe must be a YAML mapping, got {type(data).__name__}")
    try:
        recipe = Recipe.model_validate(data)
    except pydantic.ValidationError as exc:
        raise RecipeError(f"{source}: {describe_errors(exc)}", fix="see docs/recipes.md for the schema") from None
    try:
        recipe.check_resources()
    except CookbookError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    return recipe


def describe_errors(exc: pydantic.ValidationError) -> str:
    """One line per validation error: `field.path: message`."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])  # empty for a check of the whole recipe
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def load_recipe(spec: str | Path) -> Recipe:
    """A recipe by package name (its latest version, see `recipe_names()`), by `NAME@VERSION` (any version the
    package ships, see `recipe_versions()`), or from a YAML file path."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or _exists(path):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RecipeError(f"recipe {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise RecipeError(f"cannot read recipe {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
        source = str(path)
    else:
        text, source = _shipped(str(spec))
    return parse_recipe(load_yaml(text, source, RecipeError), source)


def _exists(path: Path) -> bool:
    """Whether `path` names an existing file or folder (False for names no file can have)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _shipped(spec: str) -> tuple[str, str]:
    """The YAML text of a shipped recipe `NAME` (latest) or `NAME@VERSION`, and how to name it in errors."""
    name, _, version = spec.partition("@")
    names = recipe_names()
    if name not in names:
        raise UnknownNameError("recipe", name, names)
    latest = _package_dir().joinpath(f"{name}.yaml")
    if not version:
        return latest.read_text(encoding="utf-8"), f"recipe {name!r}"
    versions = recipe_versions(name)
    if version not in versions:
        shipped = ", ".join(f"{name}@{v}" for v in versions)
        raise RecipeError(f"recipe {name!r} has no version {version!r}", fix=f"use one of {shipped}")
    text = latest.read_text(encoding="utf-8")
    if yaml.safe_load(text).get("version") != version:
        text = _package_dir().joinpath(HISTORY, f"{name}@{version}.yaml").read_text(encoding="utf-8")
    return text, f"recipe {name}@{version}"


def _package_dir() -> Any:
    return resources.files("cookbook_hub.recipes")


def recipe_names() -> list[str]:
    """Names of the recipes shipped with the package."""
    return sorted(p.name[:-5] for p in _package_dir().iterdir() if p.name.endswith(".yaml"))


def recipe_versions(name: str) -> list[str]:
    """Every version of a shipped recipe, oldest first: the kept earlier versions (`history/`), then the latest."""
    history = _package_dir().joinpath(HISTORY).iterdir()
    kept = [p.name[len(name) + 1 : -5] for p in history if p.name.startswith(f"{name}@") and p.name.endswith(".yaml")]
    latest = yaml.safe_load(_package_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8"))["version"]
    return sorted({*kept, latest}, key=lambda v: tuple(int(part) for part in v.split("-")[0].split(".")))
