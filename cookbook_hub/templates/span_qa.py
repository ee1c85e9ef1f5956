"""Document QA by span search (SQuAD-like extraction)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
    Block,
    Inputs,
    RangeChecks,
    RealExample,
    Template,
    Tokens,
    find_span,
    params_dataclass,
    words,
)
from cookbook_hub.templates.registry import register
from cookbook_hub.tokens.ids import TokenIds, contains, span_matches


@params_dataclass
class SpanQAParams(RangeChecks):
    """Lengths, in tokens, of the document, the question span and the answer span."""

    ranges = (("context_min_len", "context_max_len"),)

    context_min_len: PositiveInt = 64
    context_max_len: PositiveInt = 192
    question_len: PositiveInt = 4
    answer_len: PositiveInt = 3

    @pydantic.model_validator(mode="after")
    def _check(self) -> SpanQAParams:
        need = self.question_len + self.answer_len
        if need > self.context_min_len:
            raise ValueError(f"question_len + answer_len ({need}) must be <= context_min_len ({self.context_min_len})")
        return self


def best_window(context: Tokens, question: Tokens) -> int:
    """Where the question sits in the context: its first exact occurrence, else the first window of
    len(question) tokens with the most tokens from the question."""
    width = len(question)
    if width == 0 or len(context) < width:
        return 0
    exact = find_span(context, question)
    if exact >= 0:
        return exact
    wanted = set(question)
    hits = np.fromiter((t in wanted for t in context), dtype=np.int32, count=len(context))
    sums = np.convolve(hits, np.ones(width, dtype=np.int32), mode="valid")
    return int(np.argmax(sums))


def fullest_window(context: TokenIds, question: np.ndarray) -> np.ndarray:
    """`best_window`'s fallback over a block: per row, the first window of the question's width holding the
    most question tokens."""
    width, room = question.shape[1], context.ids.shape[1] - question.shape[1] + 1
    hits = contains(question, np.ones(question.shape, dtype=bool), context.ids) & context.valid
    sums = np.cumsum(np.pad(hits, ((0, 0), (1, 0))), axis=1)
    windows = sums[:, width:] - sums[:, :room]  # question tokens in the window starting at each position
    windows[np.arange(room) > context.lengths[:, None] - width] = -1
    return windows.argmax(axis=1)


@register
class SpanQA(Template):
    """Answer with the span that follows the question's tokens in the document.

    Rule: find the question in the document (its first exact occurrence; failing that, the first
    window of the same width holding the most question tokens); the answer is the `answer_len`
    tokens right after it. On real text this is "the answer follows the words of the question in
    the passage".
    Target: extractive question answering (SQuAD, ROPES, DROP spans).

    Example (qa style, `example_params`, sample 0):
        Document: device mountain imprison pursued apparently down laborers elicit breathe laborious adjectives
          genes prompt cabin
        Question: mountain imprison
        Answer: pursued apparently
    """

    name = "span_qa"
    version = 1
    family = "document_qa"
    target_task = "extractive QA (SQuAD, ROPES)"
    summary = "the answer is the span that follows the question's tokens in the document"
    instruction = "Find the question's words in the document and answer with the words that follow them."
    Params = SpanQAParams
    fields = {"context": "tokens", "question": "tokens"}
    example_params = {"context_min_len": 10, "context_max_len": 14, "question_len": 2, "answer_len": 2}
    distinct_param = "question_len"
    section_fields = (("Document", "context"), ("Question", "question"))

    real_kinds = ("extractive",)
    real_mapping = "context -> document, question -> question; answer: the span's words"

    def draw_block(self, rng: np.random.Generator, n: int) -> Block:
        p = self.params
        lengths = self.lengths(rng, p.context_min_len, p.context_max_len, n)
        docs = self.ids(rng, (n, p.context_max_len))
        span = p.question_len + p.answer_len
        starts = (rng.random(n) * (lengths - span + 1)).astype(np.int64)
        question = np.take_along_axis(docs, starts[:, None] + np.arange(p.question_len), axis=1)
        return {"context": TokenIds(docs, lengths), "question": TokenIds(question)}

    def rule(self, inputs: Inputs) -> Tokens:
        context, question = inputs["context"], inputs["question"]
        start = best_window(context, question) + len(question)
        return context[start : start + self.params.answer_len]

    def rule_block(self, block: Block) -> TokenIds:
        """`best_window` row by row (first exact match, else the first window with the most question tokens),
        then the `answer_len` tokens after it."""
        context, question = block["context"], block["question"].ids
        exact = span_matches(context, question)
        at = exact.argmax(axis=1)
        missing = np.flatnonzero(~exact.any(axis=1))
        if missing.size:
            at[missing] = fullest_window(context.rows_at(missing), question[missing])
        start = at + question.shape[1]
        size = self.params.answer_len
        cols = np.minimum(start[:, None] + np.arange(size), context.ids.shape[1] - 1)
        return TokenIds(np.take_along_axis(context.ids, cols, axis=1), np.clip(context.lengths - start, 0, size))

    def real_inputs(self, example: RealExample) -> Inputs:
        return {"context": words(example.context), "question": words(example.question)}
