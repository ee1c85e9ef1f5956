"""The one formatter layer: turns a template's sections, options and answer into training text.

Styles:
- `plain`: the template's instruction, then `Label: text` lines (and lettered options); the
  completion is the answer on its own.
- `qa`: lm-eval-like, no instruction: `Label: text` lines, lettered options, `Answer:`; the
  completion is ` answer` (lm-eval's target delimiter is a space).
- `chat`: `messages`, a user turn holding the plain prompt and an assistant turn holding the answer.
"""

from __future__ import annotations

from typing import Literal

from cookbook_hub.errors import ParameterError
from cookbook_hub.templates.base import LETTERS, Sample, Template

Style = Literal["plain", "qa", "chat"]
STYLES: tuple[str, ...] = ("plain", "qa", "chat")


def check_style(style: str) -> str:
    """Return `style` if known, else raise an error listing the styles."""
    if style not in STYLES:
        raise ParameterError(f"unknown format {style!r}", fix=f"use one of {', '.join(STYLES)}")
    return style


def _body(template: Template, sample: Sample) -> list[str]:
    lines = [f"{label}: {text}" for label, text in template.sections(sample.inputs)]
    options = sample.options
    if options:
        lines.append("Options:")
        lines.extend(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
    return lines


def plain_prompt(template: Template, sample: Sample) -> str:
    """The plain-style prompt (instruction, blank line, body), ending with a newline."""
    return template.instruction + "\n\n" + "\n".join(_body(template, sample)) + "\n"


def format_sample(template: Template, sample: Sample, style: str) -> dict[str, object]:
    """The text columns of one row in `style`: prompt/completion, or messages for chat."""
    if check_style(style) == "plain":
        return {"prompt": plain_prompt(template, sample), "completion": sample.target}
    if style == "qa":
        return {"prompt": "\n".join(_body(template, sample)) + "\nAnswer:", "completion": " " + sample.target}
    return {
        "messages": [
            {"role": "user", "content": plain_prompt(template, sample).rstrip("\n")},
            {"role": "assistant", "content": sample.target},
        ]
    }
