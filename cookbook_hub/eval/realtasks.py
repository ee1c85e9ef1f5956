"""Real-task JSON Lines files: loading, validation, prompts and scoring.

A real-task file holds one example per line: `{"id", "context", "question", "choices", "answer"}`
(the shape of `shared/data/*.jsonl`). `choices` is null for extractive QA, where the answer is a
span of the context; otherwise it lists the options and `answer` is one of them. A file whose
rows all have exactly the two choices yes and no (any case, any order) is a yes/no task.

A real example's prompt is made of the same parts as a template row's (labelled lines, lettered options) and
rendered by the same formatter (`cookbook_hub.generation.formatting`), so in every style a real example and a
template row with the same fields read the same. Scoring is SQuAD-style for extractive QA (exact match and
token F1 of the first generated line, and whether it is a span of the passage) and log-likelihood choice for
the others (the option letters for multiple choice, the words yes/no).
"""

from __future__ import annotations

import collections
import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_hub.bounded import parse_json
from cookbook_hub.errors import TaskFileError
from cookbook_hub.generation.formatting import ANSWER_CUE, PromptParts, Style, completion_text, prompt_text
from cookbook_hub.templates.base import LETTERS, TaskKind

FIELDS = ("id", "context", "question", "choices", "answer")
YES_NO = frozenset({"yes", "no"})
CONTEXT_LABELS = {"extractive": "Document", "yes_no": "Passage", "choice": "Context"}
SHAPE_FIX = (
    'each line must be a JSON object {"id", "context", "question", "choices", "answer"} (see docs/evaluation.md)'
)


@dataclass(frozen=True)
class Example:
    """One real example; `line` is its 1-based line number in the file."""

    line: int
    id: str
    context: str
    question: str
    choices: tuple[str, ...] | None
    answer: str

    @property
    def label(self) -> int | None:
        """Index of the answer among the choices (None for extractive QA)."""
        return None if self.choices is None else self.choices.index(self.answer)


@dataclass(frozen=True)
class RealTask:
    """A validated real-task file."""

    path: Path
    kind: TaskKind
    examples: tuple[Example, ...]

    @property
    def name(self) -> str:
        """The lm-eval task name: `real_` and the file name without its suffix (non-word characters become `_`)."""
        return "real_" + re.sub(r"\W+", "_", self.path.stem).strip("_").lower()


def _fail(path: Path, line: int, field: str | None, problem: str, fix: str = SHAPE_FIX) -> TaskFileError:
    where = f"{path} line {line}" + (f", field {field!r}" if field else "")
    return TaskFileError(f"{where}: {problem}", fix=fix)


def _text(path: Path, line: int, row: dict[str, Any], field: str, *, allow_empty: bool) -> str:
    value = row[field]
    if not isinstance(value, str):
        raise _fail(path, line, field, f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _fail(path, line, field, "is empty", fix=f"give every example a non-empty {field}")
    return value


def _choices(path: Path, line: int, row: dict[str, Any]) -> tuple[str, ...] | None:
    value = row["choices"]
    if value is None:
        return None
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(c, str) and c.strip() for c in value):
        raise _fail(path, line, "choices", "must be null (extractive QA) or a list of at least two non-empty strings")
    if len(set(value)) != len(value):
        raise _fail(path, line, "choices", "lists the same choice twice")
    return tuple(value)


def parse_example(path: Path, line: int, text: str) -> Example:
    """Validate one line of a task file."""
    try:
        row = parse_json(text)
    except ValueError as exc:
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _fail(path, line, None, f"not valid JSON ({problem})") from None
    if not isinstance(row, dict):
        raise _fail(path, line, None, f"must be a JSON object, got {type(row).__name__}")
    for field in FIELDS:
        if field not in row:
            raise _fail(path, line, field, "is missing")
    choices = _choices(path, line, row)
    answer = _text(path, line, row, "answer", allow_empty=False)
    if choices is not None and answer not in choices:
        raise _fail(path, line, "answer", f"{answer!r} is not one of the choices {list(choices)}")
    return Example(
        line=line,
        id=str(row["id"]),
        context=_text(path, line, row, "context", allow_empty=True),
        question=_text(path, line, row, "question", allow_empty=False),
        choices=choices,
        answer=answer,
    )


def is_yes_no(example: Example) -> bool:
    """Whether the example's choices are exactly yes and no (any case, any order)."""
    return {c.strip().lower() for c in example.choices or ()} == YES_NO


def task_kind(examples: Sequence[Example]) -> TaskKind:
    """extractive (no choices), yes_no (every row's choices are yes and no) or choice."""
    if examples[0].choices is None:
        return "extractive"
    return "yes_no" if all(is_yes_no(e) for e in examples) else "choice"


def _utf8(path: Path, line: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise _fail(path, line, None, problem, fix="save the file as UTF-8") from None


def load_task_file(path: str | Path) -> RealTask:
    """Read and validate a real-task JSONL file; errors name the line and field at fault."""
    path = Path(path)
    if not path.is_file():
        raise TaskFileError(
            f"task file {str(path)!r} does not exist", fix="pass a .jsonl file in the shape of shared/data"
        )
    examples = []
    try:
        with path.open("rb") as fh:
            for line, raw in enumerate(fh, start=1):
                text = _utf8(path, line, raw)
                if text.strip():
                    examples.append(parse_example(path, line, text))
    except OSError as exc:
        raise TaskFileError(f"cannot read task file {str(path)!r}: {exc.strerror}") from None
    if not examples:
        raise TaskFileError(f"task file {path} holds no examples", fix=SHAPE_FIX)
    first = examples[0]
    for example in examples[1:]:
        if (example.choices is None) != (first.choices is None):
            shape = "extractive QA (choices null)" if first.choices is None else "multiple choice"
            raise _fail(
                path,
                example.line,
                "choices",
                f"line {first.line} makes this file {shape}, this line does not",
                fix="keep extractive QA and multiple-choice examples in separate files",
            )
    return RealTask(path, task_kind(examples), tuple(examples))


# ------------------------------------------------------------------ prompts


def prompt_parts(task: RealTask, example: Example) -> PromptParts:
    """What a real example's prompt is made of, in the templates' terms: a context line when there is one
    (labelled as the templates of its kind label it: span_qa's `Document`, containment's `Passage`, `Context`
    for multiple choice), the `Question`, and for multiple choice the choices as lettered options. A real
    example has no instruction."""
    lines = [(CONTEXT_LABELS[task.kind], example.context)] if example.context.strip() else []
    lines.append(("Question", example.question))
    return PromptParts(lines, list(example.choices) if task.kind == "choice" else None)


def prompt(task: RealTask, example: Example, style: str | Style = "plain") -> str:
    """The example's prompt in `style` (the whole prompt, or the user turn for chat), through the one formatter."""
    return prompt_text(prompt_parts(task, example), style)


def answer_choices(task: RealTask, example: Example) -> list[str] | None:
    """What an answer is scored among: the option letters for multiple choice (the prompt lists the options,
    as lettered templates do), the yes/no words as the file writes them, None for extractive QA."""
    if example.choices is None:
        return None
    return list(LETTERS[: len(example.choices)]) if task.kind == "choice" else list(example.choices)


def lm_eval_doc(task: RealTask, example: Example, style: str | Style = "plain") -> dict[str, Any]:
    """The document lm-eval sees for one example: its prompt in `style`, and the answers it is scored among as a
    completion in that style says them (after qa's `Answer:`, following a space)."""
    choices = answer_choices(task, example)
    return {
        "id": example.id,
        "line": example.line,
        "prompt": prompt(task, example, style),
        "answer": example.answer,
        "context": example.context,
        "options": list(example.choices) if example.choices is not None else None,
        "choices": choices and [completion_text(choice, style) for choice in choices],
        "label": example.label,
    }


# ------------------------------------------------------------------ scoring

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and articles, collapse whitespace."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if the normalised prediction equals the normalised gold answer."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between the normalised prediction and gold answer (1.0 when both are empty)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def first_line(completion: str) -> str:
    """The generated answer: the completion up to its first newline, stripped, after a leading `Answer:` (the
    cue our prompts end with in the qa style; nothing more lenient)."""
    return completion.lstrip(" \t").removeprefix(ANSWER_CUE).split("\n", 1)[0].strip()


def in_passage(answer: str, context: str) -> bool:
    """Whether an answer has the shape extractive QA asks for: a non-empty span of the passage's words
    (after SQuAD normalisation)."""
    words, passage = normalize_answer(answer).split(), normalize_answer(context).split()
    return bool(words) and any(passage[i : i + len(words)] == words for i in range(len(passage) - len(words) + 1))


def choice_prediction(loglikelihoods: Sequence[float], choices: Sequence[str]) -> tuple[int, int]:
    """The chosen index by log-likelihood, and by log-likelihood per character (lm-eval's acc / acc_norm)."""

    def best(scores: Sequence[float]) -> int:
        return max(range(len(scores)), key=lambda i: (scores[i], -i))

    return best(loglikelihoods), best([ll / len(c) for ll, c in zip(loglikelihoods, choices)])


def balanced_accuracy(golds: Sequence[Any], predictions: Sequence[Any]) -> float:
    """The mean, over the gold classes present, of the accuracy within each class (recall per class)."""
    by_class: dict[Any, list[bool]] = collections.defaultdict(list)
    for gold, pred in zip(golds, predictions):
        by_class[gold].append(gold == pred)
    return sum(sum(hits) / len(hits) for hits in by_class.values()) / len(by_class) if by_class else 0.0


def answer_shares(predictions: Sequence[str], answers: Sequence[str] = ("yes", "no")) -> dict[str, float]:
    """The share of predictions that are each answer (compared lowercased)."""
    said = [p.strip().lower() for p in predictions]
    return {a: (said.count(a.lower()) / len(said) if said else 0.0) for a in answers}


def chance_rate(task: RealTask, examples: Sequence[Example]) -> float:
    """The accuracy of a uniform random pick among each example's choices (0 for extractive QA)."""
    if task.kind == "extractive":
        return 0.0
    return sum(1 / len(e.choices or ()) for e in examples) / len(examples)
