"""Document QA by span search (SQuAD-like extraction)."""

from __future__ import annotations

import numpy as np
import pydantic
from pydantic import PositiveInt

from cookbook_hub.templates.base import (
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

    real_kinds = ("extractive",)
    real_mapping = "context -> document, question -> question; answer: the span's words"

    def draw(self, rng: np.random.Generator, n: int) -> list[Inputs]:
        p = self.params
        lengths = self.lengths(rng, p.context_min_len, p.context_max_len, n)
        docs = self.words(self.ids(rng, (n, p.context_max_len)))
        span = p.question_len + p.answer_len
        starts = (rng.random(n) * (np.array(lengths) - span + 1)).astype(np.int64).tolist()
        out = []
        for doc, length, start in zip(docs, lengths, starts):
            context = doc[:length]
            out.append({"context": context, "question": context[start : start + p.question_len]})
        return out

    def rule(self, inputs: Inputs) -> Tokens:
        context, question = inputs["context"], inputs["question"]
        start = best_window(context, question) + len(question)
        return context[start : start + self.params.answer_len]

    def sections(self, inputs: Inputs) -> list[tuple[str, str]]:
        return [("Document", " ".join(inputs["context"])), ("Question", " ".join(inputs["question"]))]

    def real_inputs(self, example: RealExample) -> Inputs:
        return {"context": words(example.context), "question": words(example.question)}
