"""The template base classes: one rule, written once, drawn from a token space.

A template subclass declares its parameters (a validated pydantic dataclass), the input fields it
draws, `draw(rng, n)` (vectorised: n inputs at once), `rule(inputs)` (the answer, for any token
lists, including real text split into words) and `sections(inputs)` (what the prompt shows).
Everything else (deterministic sampling, formatting, scoring, dataset columns) is shared here.

A template whose rule targets a real task kind also declares how it reads a real example
(`real_kinds`, `real_mapping`, `real_inputs`): the alignment scorer applies the rule to real text with it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import pyarrow as pa
import pydantic

from cookbook_hub.errors import ParameterError, TokenSpaceError
from cookbook_hub.tokens.ids import TokenIds, join, nest
from cookbook_hub.tokens.sampling import BLOCK_SIZE, block_rng, blocks_for, stream_key
from cookbook_hub.tokens.space import TokenSpace, resolve_token_space

Tokens = list[str]
Inputs = dict[str, Any]
Block = dict[str, TokenIds]  # a block of inputs as token ids, field by field
FieldKind = Literal["tokens", "token_lists"]
TaskKind = Literal["extractive", "choice", "yes_no"]
LETTERS = string.ascii_uppercase
EDGE_PUNCTUATION = string.punctuation + "“”‘’«»…"
MAX_PARAM = 1024  # any integer template parameter (checked by validate_params)


class RealExample(Protocol):
    """A real example as a template reads it: a context, a question, and the choices (None for extractive QA)."""

    context: str
    question: str
    choices: tuple[str, ...] | None


def words(text: str) -> Tokens:
    """A real text as template tokens: split on whitespace, lowercased, punctuation stripped from both
    ends of each word (inner punctuation such as `don't` or `3.5` stays); words left empty are dropped."""
    return [w for w in (token.strip(EDGE_PUNCTUATION).lower() for token in text.split()) if w]


@dataclass(frozen=True)
class Sample:
    """One generated example: the inputs, the rule's answer, and where it came from."""

    template: str
    template_version: int
    index: int
    inputs: Inputs
    answer: str
    label: int | None
    target: str
    options: list[str] | None = None


@dataclass(frozen=True)
class BlockRows:
    """Consecutive samples as Arrow columns: what the prompt shows, the answers, and the stored inputs."""

    sections: list[tuple[str, pa.StringArray]]
    options: pa.StringArray | None  # lettered templates: each row's option texts, row after row
    answer: pa.StringArray
    target: pa.StringArray
    label: np.ndarray | None
    inputs: dict[str, pa.Array]  # field -> text (`tokens`) or list of texts (`token_lists`)


class Template(ABC):
    """A data-generating rule. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    version: ClassVar[int]
    family: ClassVar[str]
    target_task: ClassVar[str]
    summary: ClassVar[str]
    instruction: ClassVar[str]
    Params: ClassVar[type]
    fields: ClassVar[dict[str, FieldKind]]
    example_params: ClassVar[dict[str, Any]] = {}
    distinct_param: ClassVar[str | None] = None  # the param giving how many distinct tokens a sample needs
    real_kinds: ClassVar[tuple[TaskKind, ...]] = ()  # the real task kinds whose examples `real_inputs` reads
    real_mapping: ClassVar[str] = ""  # how a real example's fields become the inputs, in words
    section_fields: ClassVar[tuple[tuple[str, str], ...]] = ()  # (label, field): a section showing a field's tokens
    extra_tokens: ClassVar[tuple[str, ...]] = ()  # markers outside the token space: ids len(space), len(space) + 1...

    def __init__(self, params: Any = None, token_space: TokenSpace | str | None = None) -> None:
        self.params = validate_params(self.name, self.Params, params)
        self.token_space = resolve_token_space(token_space)
        if self.distinct_param:
            needed = getattr(self.params, self.distinct_param)
            if needed > len(self.token_space):
                raise TokenSpaceError(
                    f"template {self.name!r}: parameter {self.distinct_param!r}={needed} needs {needed} distinct "
                    f"tokens per sample, but token space {self.token_space.name!r} has {len(self.token_space)}",
                    fix=f"lower {self.distinct_param} or use a larger token space",
                )
        self._key_parts = (self.name, self.version, self.params_dict(), self.token_space.identity.sha256)

    # --- what subclasses write -------------------------------------------------------------
    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        """Draw `n` inputs at once as token ids (vectorised with `rng`); `draw` gives them as token lists."""
        raise NotImplementedError(f"template {self.name!r} draws token lists only (it overrides `draw`)")

    @abstractmethod
    def rule(self, inputs: Inputs) -> Any:
        """The answer the rule gives for `inputs` (token lists; real words work too): the reference."""

    def rule_block(self, block: Block) -> Any:
        """The rule over a whole block of drawn ids, with numpy: row by row what `rule` gives."""
        raise NotImplementedError(f"template {self.name!r} has no vectorised rule")

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        """The labelled text blocks the prompt shows, in order (by default one per `section_fields` entry)."""
        return [(label, " ".join(inputs[field])) for label, field in self.section_fields]

    def section_columns(self, block: Block, inputs: dict[str, pa.Array]) -> list[tuple[str, pa.StringArray]]:
        """`sections` for a whole block: each label with its texts, row by row (`inputs`: the block's fields as
        stored in rows, whose texts the default sections show)."""
        return [(label, inputs[field]) for label, field in self.section_fields]

    def real_inputs(self, example: RealExample) -> Inputs:
        """The inputs the rule reads for a real example (templates with `real_kinds` implement it)."""
        raise NotImplementedError(f"template {self.name!r} does not read real examples")

    # --- shared machinery ----------------------------------------------------------------------
    def real_answer(self, example: RealExample) -> str:
        """The rule's answer to a real example, in the example's words."""
        return " ".join(self.rule(self.real_inputs(example)))

    def params_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (canonical order)."""
        return dataclasses.asdict(self.params)

    @property
    def columnar(self) -> bool:
        """Whether rows come from whole blocks of ids (`draw_block` and `rule_block`), not row by row."""
        cls = type(self)
        return cls.draw_block is not Template.draw_block and cls.rule_block is not Template.rule_block

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        """Draw `n` inputs at once as token lists (those of `draw_block`)."""
        columns = {name: ids.to_lists(self.vocabulary) for name, ids in self.draw_block(rng, n).items()}
        return [dict(zip(columns, values)) for values in zip(*columns.values())]

    @cached_property
    def vocabulary(self) -> np.ndarray:
        """Token strings by id: the token space, then `extra_tokens`."""
        return np.array(self.token_space.tokens + self.extra_tokens, dtype=object)

    @cached_property
    def vocabulary_arrow(self) -> pa.StringArray:
        """`vocabulary` as an Arrow array (what `join` gathers from)."""
        return pa.array(self.vocabulary, pa.string())

    def join(self, ids: TokenIds, sep: str = " ") -> pa.StringArray:
        """The texts of token ids: one per row of an (n, width) field, one per item of an (n, items, width) one."""
        return join(self.vocabulary_arrow, ids, sep)

    def block(self, start: int, stop: int, seed: int = 0) -> Block:
        """The inputs of samples [start, stop) as token ids: the same draws as `samples`."""
        key = stream_key(*self._key_parts, seed)
        parts = [
            {name: ids.rows(lo, hi) for name, ids in self.draw_block(block_rng(key, block), BLOCK_SIZE).items()}
            for block, lo, hi in blocks_for(start, stop)
        ]
        return {name: TokenIds.concat([part[name] for part in parts]) for name in parts[0]}

    def block_rows(self, start: int, stop: int, seed: int = 0) -> BlockRows:
        """Samples [start, stop) as Arrow columns, from whole blocks of ids (a `columnar` template)."""
        block = self.block(start, stop, seed)
        inputs = {
            name: self.join(ids) if self.fields[name] == "tokens" else nest(self.join(ids), ids.ids.shape[1])
            for name, ids in block.items()
        }
        return self.answer_columns(block, inputs)

    def answer_columns(self, block: Block, inputs: dict[str, pa.Array]) -> BlockRows:
        """The rule's answers over a block (`answer_text`), with its sections and inputs."""
        answer = self.answer_text(block)
        return BlockRows(self.section_columns(block, inputs), None, answer, answer, None, inputs)

    def answer_text(self, block: Block) -> pa.StringArray:
        """The answer texts of a block: `rule_block`'s token ids joined (the vectorised `make_sample` answer)."""
        return self.join(self.rule_block(block))

    def ids(self, rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
        """Uniform token ids of the given shape."""
        return rng.integers(0, len(self.token_space), size=shape)

    def distinct_ids(self, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        """An (n, k) array of token ids, distinct within each row."""
        out = self.ids(rng, (n, k))
        while True:
            ordered = np.sort(out, axis=1)
            clashing = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if clashing.size == 0:
                return out
            out[clashing] = self.ids(rng, (clashing.size, k))

    def lengths(self, rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
        """`n` lengths drawn uniformly from [low, high]."""
        return rng.integers(low, high + 1, size=n)

    def make_sample(self, index: int, inputs: Inputs) -> Sample:
        """Apply the rule to inputs and wrap the result."""
        answer = " ".join(self.rule(inputs))
        return Sample(self.name, self.version, index, inputs, answer, None, answer)

    def samples(self, start: int, stop: int, seed: int = 0) -> Iterator[Sample]:
        """Samples with global indices [start, stop); each a pure function of its index."""
        key = stream_key(*self._key_parts, seed)
        for block, lo, hi in blocks_for(start, stop):
            drawn = self.draw(block_rng(key, block), BLOCK_SIZE)
            for offset in range(lo, hi):
                yield self.make_sample(block * BLOCK_SIZE + offset, drawn[offset])

    def sample(self, index: int, seed: int = 0) -> Sample:
        """Sample number `index` alone."""
        return next(self.samples(index, index + 1, seed))

    def score(self, prediction: str, sample: Sample) -> float:
        """1.0 if the prediction equals the answer (whitespace- and edge-punctuation-insensitive)."""
        return float(normalize(prediction) == normalize(sample.answer))

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, version, family, target task and the one-line rule."""
        return {
            "name": cls.name,
            "version": cls.version,
            "family": cls.family,
            "target": cls.target_task,
            "rule": cls.summary,
        }


class ChoiceTemplate(Template):
    """A template whose rule picks one of several choices; `rule` returns the choice index.

    With `lettered = True` the prompt lists `inputs["options"]` (kept on `Sample.options`) as
    A., B., ... and the completion is the letter; otherwise the choices are fixed words
    (`fixed_choices`) and the completion is the word.
    """

    lettered: ClassVar[bool] = True
    fixed_choices: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def rule(self, inputs: Inputs) -> int:
        """Index of the chosen option."""

    def real_answer(self, example: RealExample) -> str:
        """The choice the rule picks for a real example, as the example writes it."""
        picked = self.rule(self.real_inputs(example))
        choices = example.choices or ()
        if self.lettered:
            return choices[picked]
        said = self.fixed_choices[picked]
        return next(c for c in choices if c.strip().lower() == said)

    def answer_columns(self, block: Block, inputs: dict[str, pa.Array]) -> BlockRows:
        """The chosen labels over a block (`rule_block`), their answers and targets, the option texts."""
        label = np.asarray(self.rule_block(block), dtype=np.int64)
        sections = self.section_columns(block, inputs)
        if not self.lettered:
            answer = pa.array(self.fixed_choices, pa.string()).take(label)
            return BlockRows(sections, None, answer, answer, label, inputs)
        options = inputs["options"].values  # n * k texts, row after row
        k = block["options"].ids.shape[1]
        answer = options.take(np.arange(len(label)) * k + label)
        target = pa.array(list(LETTERS[:k]), pa.string()).take(label)
        return BlockRows(sections, options, answer, target, label, inputs)

    def choices(self, inputs: Inputs) -> list[str]:
        """The choice texts, in order (what lm-eval scores by log-likelihood)."""
        if self.lettered:
            return [" ".join(option) for option in inputs["options"]]
        return list(self.fixed_choices)

    def make_sample(self, index: int, inputs: Inputs) -> Sample:
        """Apply the rule; lettered templates carry their option texts for the prompt."""
        label = self.rule(inputs)
        choices = self.choices(inputs)
        target = LETTERS[label] if self.lettered else choices[label]
        options = choices if self.lettered else None
        return Sample(self.name, self.version, index, inputs, choices[label], label, target, options)

    def score(self, prediction: str, sample: Sample) -> float:
        """1.0 if the prediction names the right choice: its letter (`B`, `B.`, `(B)`) or its text."""
        said = normalize(prediction)
        if self.lettered and sample.label is not None and said.upper() == LETTERS[sample.label]:
            return 1.0
        return float(said == normalize(sample.answer))


_EDGE_PUNCT = re.compile(r"^[\s\"'(\[]+|[\s\"'.,;:!?)\]]+$")


def normalize(text: str) -> str:
    """Collapse whitespace and strip surrounding quotes, brackets and punctuation."""
    return _EDGE_PUNCT.sub("", " ".join(text.split()))


def validate_params(template: str, params_cls: type, params: Any) -> Any:
    """Build the template's params dataclass, turning validation failures into a ParameterError."""
    if isinstance(params, params_cls):
        return check_sizes(template, params)
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(f"template {template!r}: params must be a mapping, got {type(params).__name__}")
    known = {f.name for f in dataclasses.fields(params_cls)}
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise ParameterError(
            f"template {template!r}: unknown parameter {unknown[0]!r}",
            fix=f"use one of {', '.join(sorted(known))}",
        )
    try:
        built = params_cls(**(params or {}))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or _field_from_message(err["msg"])
        got = f" (got {err['input']!r})" if err["loc"] else ""
        raise ParameterError(
            f"template {template!r}: invalid parameter {field!r}: {err['msg']}{got}",
            fix=f"set {field} to a valid value (defaults: {_defaults(params_cls)})",
        ) from None
    return check_sizes(template, built)


def check_sizes(template: str, params: Any) -> Any:
    """`params` if every integer parameter is at most MAX_PARAM (a length in tokens, a number of options or pairs:
    10**11 tokens would try to allocate terabytes); else a ParameterError naming the parameter and the bound."""
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_PARAM:
            raise ParameterError(
                f"template {template!r}: parameter {field.name!r} is {value:,}, above the bound of {MAX_PARAM:,}",
                fix=f"set {field.name} to at most {MAX_PARAM}",
            )
    return params


def _field_from_message(message: str) -> str:
    found = re.search(r"'?(\w+)'? ", message.removeprefix("Value error, "))
    return found.group(1) if found else "params"


def _defaults(params_cls: type) -> str:
    # pydantic's field info, not dataclasses.fields: a `pydantic.Field(default=...)` default is a FieldInfo there
    fields = params_cls.__pydantic_fields__
    return json.dumps({name: info.get_default(call_default_factory=True) for name, info in fields.items()})


PARAMS_CONFIG = pydantic.ConfigDict(extra="forbid")


def params_dataclass(cls: type) -> type:
    """Decorator for template params: a frozen, validated pydantic dataclass."""
    return pydantic.dataclasses.dataclass(cls, config=PARAMS_CONFIG, frozen=True)


def check_range(low_name: str, low: int, high_name: str, high: int) -> None:
    """Raise if a min/max pair is inverted."""
    if low > high:
        raise ValueError(f"{low_name} ({low}) must be <= {high_name} ({high})")


class RangeChecks:
    """Params mixin: each (min, max) field pair named in `ranges` must not be inverted.

    Checked before the params class's own `model_validator`s.
    """

    ranges: ClassVar[tuple[tuple[str, str], ...]] = ()

    @pydantic.model_validator(mode="after")
    def _check_ranges(self) -> RangeChecks:
        for low, high in self.ranges:
            check_range(low, getattr(self, low), high, getattr(self, high))
        return self


def find_span(haystack: Sequence[str], needle: Sequence[str]) -> int:
    """Index of the first occurrence of `needle` in `haystack`, or -1."""
    m = len(needle)
    if m == 0:
        return -1
    first = needle[0]
    start = 0
    while True:
        try:
            pos = haystack.index(first, start)
        except ValueError:
            return -1
        if list(haystack[pos : pos + m]) == list(needle):
            return pos
        start = pos + 1


def overlaps(reference: Sequence[str], options: Sequence[Sequence[str]]) -> list[int]:
    """For each option, the number of distinct tokens it shares with `reference`."""
    wanted = set(reference)
    return [len(wanted.intersection(option)) for option in options]


def anchor_word(text: Sequence[str], question: Sequence[str]) -> str | None:
    """The question's word that `text` holds the fewest times (the most specific word they share; ties go to
    the earliest in the question), or None when `text` holds none of them."""
    counts = Counter(text)
    shared = [word for word in question if counts[word]]
    return min(shared, key=lambda word: counts[word]) if shared else None


def argmax_first(scores: Sequence[float]) -> int:
    """Index of the largest score; ties go to the first."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
