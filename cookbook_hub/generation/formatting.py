"""The one formatter: turns what a prompt is made of (an instruction, labelled sections, lettered options) into
text, for template rows and real examples alike, so that the two reach a model in the same shape.

Styles:
- `plain`: the instruction, then `Label: text` lines (and lettered options), ending with a newline; the
  completion is the answer on its own. With the answer cue (`Style.answer_cue`, `--answer-cue`) it ends with
  `Answer:` instead and the completion is ` answer`, as in `qa`. The cue is off unless asked for, so that plain
  data generated before the option existed is generated the same way again.
- `qa`: lm-eval-like: `Label: text` lines, lettered options, `Answer:`; the completion is ` answer`
  (lm-eval's target delimiter is a space).
- `chat`: `messages`, a user turn holding the instruction and the lines, and an assistant turn holding the
  answer (the model's chat template renders them; the prompt ends where the assistant turn begins).

Whether the instruction is part of the prompt is a style option (`Style.instruction`); by default `plain`
and `chat` show it and `qa` does not. A real example has no instruction of its own, so a model that is to be
evaluated on real tasks is best trained with the instruction off: then a template row and a real example with
the same fields render to the same prompt in every style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cookbook_hub.errors import ParameterError
from cookbook_hub.templates.base import LETTERS, BlockRows, Sample, Template
from cookbook_hub.tokens.ids import join_flat

STYLES: tuple[str, ...] = ("plain", "qa", "chat")
SHOWS_INSTRUCTION = {"plain": True, "qa": False, "chat": True}
ANSWER_CUE = "Answer:"


@dataclass(frozen=True)
class Style:
    """A format style and its instruction option (None: the style's default)."""

    name: str
    instruction: bool | None = None
    answer_cue: bool | None = None

    def __post_init__(self) -> None:
        check_style(self.name)
        if self.answer_cue is not None and self.name != "plain":
            raise ParameterError(
                f"the answer-cue option is for the plain format; {self.name!r} "
                + ("always ends with 'Answer:'" if self.name == "qa" else "ends where the assistant turn begins"),
                fix="leave --answer-cue/--no-answer-cue (recipes: answer_cue) out, or use --format plain",
            )

    @classmethod
    def from_record(cls, record: dict[str, object]) -> Style:
        """The style recorded with data or an adapter (`describe()`'s dict)."""
        return cls(str(record["format"]), record.get("instruction"), record.get("answer_cue"))  # type: ignore[arg-type]

    @property
    def shows_instruction(self) -> bool:
        """Whether prompts in this style start with the instruction."""
        return SHOWS_INSTRUCTION[self.name] if self.instruction is None else self.instruction

    @property
    def ends_with_cue(self) -> bool:
        """Whether prompts end with `Answer:` (and completions start with a space): `qa`, and `plain` with the cue."""
        return self.name == "qa" or bool(self.answer_cue)

    @property
    def is_chat(self) -> bool:
        """Whether rows are `messages` (rendered by the model's chat template)."""
        return self.name == "chat"

    def describe(self) -> dict[str, object]:
        """The style as recorded with generated data: its name, and each option that was set."""
        options = {"instruction": self.instruction, "answer_cue": self.answer_cue}
        return {"format": self.name, **{key: value for key, value in options.items() if value is not None}}


def as_style(style: str | Style) -> Style:
    """A Style from a style name (with its default instruction option) or a Style."""
    return style if isinstance(style, Style) else Style(style)


def check_style(style: str) -> str:
    """Return `style` if known, else raise an error listing the styles."""
    if style not in STYLES:
        raise ParameterError(f"unknown format {style!r}", fix=f"use one of {', '.join(STYLES)}")
    return style


@dataclass(frozen=True)
class PromptParts:
    """What a prompt is made of: an instruction (None for a real example), labelled sections and lettered options."""

    sections: Sequence[tuple[str, str]]
    options: Sequence[str] | None = None
    instruction: str | None = None

    def lines(self) -> list[str]:
        """`Label: text` lines, then the options lettered A., B., ..."""
        lines = [f"{label}: {text}" for label, text in self.sections]
        if self.options:
            lines.append("Options:")
            lines.extend(f"{LETTERS[i]}. {text}" for i, text in enumerate(self.options))
        return lines


def sample_parts(template: Template, sample: Sample) -> PromptParts:
    """The prompt parts of a template sample."""
    return PromptParts(template.sections(sample.inputs), sample.options, template.instruction)


def prompt_text(parts: PromptParts, style: str | Style) -> str:
    """The prompt in `style`: the whole prompt for `plain` and `qa`, the user turn for `chat`."""
    style = as_style(style)
    head = parts.instruction + "\n\n" if style.shows_instruction and parts.instruction else ""
    body = head + "\n".join(parts.lines())
    if style.ends_with_cue:
        return body + "\n" + ANSWER_CUE
    return body if style.is_chat else body + "\n"


def completion_text(answer: str, style: str | Style) -> str:
    """The completion in `style`: ` answer` after an answer cue, the answer itself otherwise."""
    return " " + answer if as_style(style).ends_with_cue else answer


def format_sample(template: Template, sample: Sample, style: str | Style) -> dict[str, object]:
    """The text columns of one row in `style`: prompt/completion, or messages for chat."""
    style = as_style(style)
    prompt = prompt_text(sample_parts(template, sample), style)
    if style.is_chat:
        return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": sample.target}]}
    return {"prompt": prompt, "completion": completion_text(sample.target, style)}


def prompt_column(rows: BlockRows, instruction: str | None, style: str | Style) -> pa.StringArray:
    """`prompt_text` for a whole block of rows at once: the same text, assembled column by column."""
    style = as_style(style)
    head = instruction + "\n\n" if style.shows_instruction and instruction else ""
    parts: list[str | pa.Array] = []
    for label, texts in rows.sections:
        parts += [("\n" if parts else head) + f"{label}: ", texts]
    if rows.options is not None:
        k = len(rows.options) // len(rows.answer)
        letters = pa.array([f"{LETTERS[i]}. " for i in range(k)] * len(rows.answer), pa.string())
        lines = pc.binary_join_element_wise(letters, rows.options, "")
        parts += [("\n" if parts else head) + "Options:\n", join_flat(lines, np.arange(len(rows.answer) + 1) * k, "\n")]
    if style.ends_with_cue:
        parts.append("\n" + ANSWER_CUE)
    elif not style.is_chat:
        parts.append("\n")
    return pc.binary_join_element_wise(*parts, "")


def format_columns(rows: BlockRows, instruction: str | None, style: str | Style) -> dict[str, pa.Array]:
    """`format_sample` for a whole block of rows: prompt and completion columns, or a messages column."""
    style = as_style(style)
    prompt = prompt_column(rows, instruction, style)
    if not style.is_chat:
        completion = pc.binary_join_element_wise(" ", rows.target, "") if style.ends_with_cue else rows.target
        return {"prompt": prompt, "completion": completion}
    n = len(prompt)
    contents = pa.concat_arrays([prompt, rows.target]).take(np.arange(2 * n).reshape(2, n).T.reshape(-1))
    roles = pa.array(["user", "assistant"] * n, pa.string())
    turns = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    return {"messages": pa.ListArray.from_arrays(pa.array(np.arange(n + 1) * 2, pa.int32()), turns)}
