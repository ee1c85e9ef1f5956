"""Templates: parameters, rules, scoring, formats, row columns, label balance and rules on real text."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pydantic
import pytest

from cookbook_hub.errors import ParameterError, TokenSpaceError, UnknownNameError
from cookbook_hub.generation.formatting import STYLES, format_sample
from cookbook_hub.generation.generate import batch_for
from cookbook_hub.generation.rows import decode_inputs
from cookbook_hub.templates import ChoiceTemplate, get_template, template_class, template_names
from cookbook_hub.templates.base import LETTERS, RangeChecks, normalize, params_dataclass, validate_params
from cookbook_hub.tokens.space import MIN_TOKENS, TokenSpace, default_token_space

NAMES = template_names()
CHOICE_NAMES = [n for n in NAMES if issubclass(template_class(n), ChoiceTemplate)]
BASE_COLUMNS = {"template", "template_version", "index", "answer", "label", "inputs"}
N_CHECK = 300  # samples per template for rule/score/row checks


@pytest.fixture(scope="module")
def templates():
    return {name: get_template(name) for name in NAMES}


def check_rule(template, inputs, sample) -> None:
    """The template's rule, applied to `inputs`, gives the sample's answer (and label)."""
    result = template.rule(inputs)
    if isinstance(template, ChoiceTemplate):
        assert isinstance(result, int)
        assert result == sample.label
        assert template.choices(inputs)[result] == sample.answer
    else:
        assert isinstance(result, list)
        assert " ".join(result) == sample.answer


def test_registry_has_the_templates():
    assert len(NAMES) >= 12
    assert len(set(NAMES)) == len(NAMES)
    assert len(CHOICE_NAMES) >= 6
    for name in NAMES:
        assert template_class(name).name == name


# --- class contract ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_params_are_a_validated_frozen_dataclass(name):
    cls = template_class(name)
    assert dataclasses.is_dataclass(cls.Params)
    assert pydantic.dataclasses.is_pydantic_dataclass(cls.Params)
    template = get_template(name)
    assert isinstance(template.params, cls.Params)
    field_names = [f.name for f in dataclasses.fields(cls.Params)]
    assert field_names
    assert list(template.params_dict()) == field_names
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(template.params, field_names[0], 3)
    # the params object and the equal dict give the same template stream
    same = get_template(name, template.params_dict())
    assert same.params == template.params
    assert same.sample(5) == template.sample(5)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_version_and_description(name):
    cls = template_class(name)
    doc = cls.__doc__ or ""
    for word in ("Rule:", "Target:", "Example"):
        assert word in doc, f"{name}: docstring lacks {word!r}"
    assert type(cls.version) is int and cls.version >= 1
    described = cls.describe()
    assert described == {
        "name": name,
        "version": cls.version,
        "family": cls.family,
        "target": cls.target_task,
        "rule": cls.summary,
    }
    assert all(isinstance(v, str) and v for k, v in described.items() if k != "version")
    assert cls.instruction.strip()
    assert set(cls.fields.values()) <= {"tokens", "token_lists"}


# --- rules, answers, scoring ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_rule_reproduces_every_answer(name, templates):
    template = templates[name]
    space = set(template.token_space.tokens)
    for index, sample in enumerate(template.samples(0, N_CHECK)):
        assert sample.index == index
        assert sample.template == name and sample.template_version == template.version
        assert set(sample.inputs) == set(template.fields)
        check_rule(template, sample.inputs, sample)
        if isinstance(template, ChoiceTemplate):
            assert sample.target == (LETTERS[sample.label] if template.lettered else sample.answer)
            assert (sample.options is not None) == template.lettered
        else:
            assert sample.label is None
            assert sample.target == sample.answer
        # inputs are drawn from the token space (blank_fill's `_` marker aside)
        flat = []
        for kind_name, kind in template.fields.items():
            value = sample.inputs[kind_name]
            flat.extend(value if kind == "tokens" else itertools.chain.from_iterable(value))
        assert {t for t in flat if t != "_"} <= space


@pytest.mark.parametrize("name", NAMES)
def test_answers_are_not_degenerate(name, templates):
    """The rule's answers vary and are non-empty (a constant answer would teach nothing)."""
    samples = list(templates[name].samples(0, N_CHECK))
    answers = [s.answer for s in samples]
    assert all(a.strip() for a in answers)
    assert len(set(answers)) > 1


@pytest.mark.parametrize("name", NAMES)
def test_score(name, templates):
    template = templates[name]
    for sample in template.samples(0, 50):
        assert template.score(sample.answer, sample) == 1.0
        assert template.score(sample.target, sample) == 1.0
        assert template.score(f"  {sample.answer}. ", sample) == 1.0
        assert template.score(sample.answer + " extra", sample) == 0.0
        assert template.score("", sample) == 0.0
        if isinstance(template, ChoiceTemplate):
            choices = template.choices(sample.inputs)
            wrong = [c for i, c in enumerate(choices) if i != sample.label and c != sample.answer]
            assert wrong and all(template.score(c, sample) == 0.0 for c in wrong)
            if template.lettered:
                letter = LETTERS[sample.label]
                for said in (letter, letter.lower(), f"{letter}.", f"({letter})", f" {letter} "):
                    assert template.score(said, sample) == 1.0, said
                other = LETTERS[(sample.label + 1) % len(choices)]
                for said in (other, f"{other}.", f"({other})"):
                    assert template.score(said, sample) == 0.0, said
        else:
            assert template.score("definitely not the answer", sample) == 0.0


def test_normalize():
    assert normalize('  "(B)."  ') == "B"
    assert normalize("a   b\n c") == "a b c"
    assert normalize("don't") == "don't"


# --- formats and rows -------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_formats(name, style, templates):
    template = templates[name]
    for sample in template.samples(0, 20):
        text = format_sample(template, sample, style)
        sections = template.sections(sample.inputs)
        assert sections
        if style == "chat":
            assert list(text) == ["messages"]
            user, assistant = text["messages"]
            assert user == {"role": "user", "content": format_sample(template, sample, "plain")["prompt"].rstrip("\n")}
            assert assistant == {"role": "assistant", "content": sample.target}
            body = user["content"]
        else:
            assert list(text) == ["prompt", "completion"]
            body = text["prompt"]
            if style == "qa":
                assert body.endswith("\nAnswer:")
                assert text["completion"].startswith(" ")
                assert text["completion"] == " " + sample.target
                assert template.instruction not in body
            else:
                assert body.startswith(template.instruction + "\n\n")
                assert body.endswith("\n")
                assert text["completion"] == sample.target
        for label, value in sections:
            assert f"{label}: {value}" in body
        if isinstance(template, ChoiceTemplate) and template.lettered:
            assert "\nOptions:\n" in body
            for i, option in enumerate(sample.options):
                assert f"\n{LETTERS[i]}. {option}" in body


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_row_columns_and_rescoring_from_stored_inputs(name, style, templates):
    """A stored row is enough to re-score: decode its inputs and apply the rule again."""
    template = templates[name]
    batch = batch_for(template, range(100, 100 + 64), seed=0, style=style)
    text_columns = {"messages"} if style == "chat" else {"prompt", "completion"}
    assert set(batch.schema.names) == text_columns | BASE_COLUMNS
    assert set(batch.schema.field("inputs").type.names) == set(template.fields)
    samples = list(template.samples(100, 164))
    for row, sample in zip(batch.to_pylist(), samples, strict=True):
        assert row["template"] == name
        assert row["template_version"] == template.version
        assert row["index"] == sample.index
        assert row["answer"] == sample.answer
        assert row["label"] == sample.label
        for key, value in format_sample(template, sample, style).items():
            assert row[key] == value
        decoded = decode_inputs(row["inputs"], template.fields)
        assert decoded == sample.inputs
        check_rule(template, decoded, sample)


# --- label balance ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHOICE_NAMES)
def test_choice_labels_are_balanced(name, templates):
    """Over 1000 samples every label holds at least half its uniform share (>= 12.5% of 4 options,
    >= 25% of 2). The draws are seeded, so this is deterministic; a biased generator (say, the
    right option always first) fails it."""
    template = templates[name]
    samples = list(template.samples(0, 1000))
    counts = Counter(s.label for s in samples)
    k = len(template.choices(samples[0].inputs))
    assert set(counts) == set(range(k)), counts
    assert min(counts.values()) >= 0.5 * 1000 / k, counts


# --- bad parameters --------------------------------------------------------------------------------

POSITIVE_INT_FIELDS = [
    (name, f.name)
    for name in NAMES
    for f in dataclasses.fields(template_class(name).Params)
    if template_class(name).Params.__pydantic_fields__[f.name].annotation is int
]


@pytest.mark.parametrize(("name", "field"), POSITIVE_INT_FIELDS)
@pytest.mark.parametrize("value", [0, -3, "many"])
def test_non_positive_or_non_integer_length_names_the_field(name, field, value):
    with pytest.raises(ParameterError) as info:
        get_template(name, {field: value})
    message = str(info.value)
    assert f"invalid parameter {field!r}" in message
    assert f"template {name!r}" in message
    assert "fix:" in message


MIN_MAX = [
    ("copy", "min_len", "max_len"),
    ("reverse", "min_len", "max_len"),
    ("sort", "min_len", "max_len"),
    ("count", "min_len", "max_len"),
    ("key_value", "min_pairs", "max_pairs"),
    ("span_qa", "context_min_len", "context_max_len"),
    ("containment", "passage_min_len", "passage_max_len"),
]


@pytest.mark.parametrize(("name", "low", "high"), MIN_MAX)
def test_min_above_max_names_the_field(name, low, high):
    with pytest.raises(ParameterError) as info:
        get_template(name, {low: 30, high: 20})
    message = str(info.value)
    assert f"invalid parameter {low!r}" in message
    assert high in message
    get_template(name, {low: 20, high: 20})  # equal bounds are fine


def test_min_max_pairs_are_declared_once():
    # every `*min*` field with a `*max*` twin is a declared range, and MIN_MAX above tests each one
    declared = set()
    for name in NAMES:
        params = template_class(name).Params
        fields = [f.name for f in dataclasses.fields(params)]
        pairs = {(f, f.replace("min", "max")) for f in fields if "min" in f and f.replace("min", "max") in fields}
        assert set(getattr(params, "ranges", ())) == pairs, name
        declared |= {(name, low, high) for low, high in pairs}
    assert declared == set(MIN_MAX)


def test_range_messages_are_unchanged():
    with pytest.raises(ParameterError) as info:
        get_template("key_value", {"min_pairs": 9, "max_pairs": 4})
    assert str(info.value) == (
        "template 'key_value': invalid parameter 'min_pairs': Value error, min_pairs (9) must be <= max_pairs (4)\n"
        '  fix: set min_pairs to a valid value (defaults: {"min_pairs": 8, "max_pairs": 24})'
    )
    # the range is checked before the class's own checks (question_len + answer_len > context_min_len too)
    with pytest.raises(ParameterError) as info:
        get_template("span_qa", {"context_min_len": 8, "context_max_len": 6, "question_len": 5, "answer_len": 5})
    assert "invalid parameter 'context_min_len': Value error, context_min_len (8) must be <= context_max_len (6)" in (
        str(info.value)
    )


@params_dataclass
class TwoRanges(RangeChecks):
    ranges = (("a_min", "a_max"), ("b_min", "b_max"))

    a_min: int = 1
    a_max: int = 2
    b_min: int = 1
    b_max: int = 2


@pytest.mark.parametrize(
    ("params", "field"), [({"a_min": 3}, "a_min"), ({"b_min": 3}, "b_min"), ({"a_max": 0, "b_max": 0}, "a_min")]
)
def test_range_checks_check_every_declared_pair(params, field):
    with pytest.raises(ParameterError, match=f"invalid parameter {field!r}"):
        validate_params("t", TwoRanges, params)
    assert validate_params("t", TwoRanges, {"a_min": 2, "b_max": 5}) == TwoRanges(2, 2, 1, 5)


CROSS_FIELD = [
    ("blank_fill", {"num_options": 1}, "num_options"),
    ("blank_fill", {"num_options": 27, "sentence_len": 60}, "num_options"),
    ("blank_fill", {"sentence_len": 5}, "sentence_len"),
    ("continuation_choice", {"num_endings": 1}, "num_endings"),
    ("continuation_choice", {"context_len": 5}, "context_len"),
    ("overlap_choice", {"num_options": 1}, "num_options"),
    ("overlap_choice", {"overlap": 5}, "overlap"),
    ("two_way_choice", {"diff_len": 11}, "diff_len"),
    ("entity_match", {"num_attributes": 1}, "num_attributes"),
    ("entity_disambiguation", {"num_candidates": 1}, "num_candidates"),
    ("entity_disambiguation", {"clues": 5}, "clues"),
    ("entity_disambiguation", {"passage_len": 17}, "passage_len"),
    ("span_qa", {"question_len": 40, "answer_len": 30}, "question_len"),
    ("containment", {"question_len": 49}, "question_len"),
    ("count", {"rate": 1.0}, "rate"),
    ("count", {"rate": 0.0}, "rate"),
]


@pytest.mark.parametrize(("name", "params", "field"), CROSS_FIELD)
def test_inconsistent_params_name_the_field(name, params, field):
    with pytest.raises(ParameterError) as info:
        get_template(name, params)
    assert f"invalid parameter {field!r}" in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_param_is_named(name):
    with pytest.raises(ParameterError) as info:
        get_template(name, {"bogus_length": 3})
    message = str(info.value)
    assert "unknown parameter 'bogus_length'" in message
    first = dataclasses.fields(template_class(name).Params)[0].name
    assert first in message  # the fix lists the known parameters


def test_params_must_be_a_mapping():
    with pytest.raises(ParameterError, match="params must be a mapping"):
        get_template("copy", [("min_len", 3)])


@pytest.fixture(scope="module")
def tiny_space() -> TokenSpace:
    """Exactly MIN_TOKENS tokens: the smallest space allowed."""
    words = sorted(default_token_space().tokens, key=lambda t: (len(t), t))[:MIN_TOKENS]
    return TokenSpace("tiny", tuple(words))


TOO_MANY_DISTINCT = [
    ("key_value", {"max_pairs": 100}, "max_pairs"),
    ("overlap_choice", {"question_len": 65}, "question_len"),
    ("two_way_choice", {"goal_len": 65}, "goal_len"),
    ("entity_match", {"num_attributes": 65}, "num_attributes"),
    ("span_qa", {"question_len": 70, "context_min_len": 100, "context_max_len": 120}, "question_len"),
]


@pytest.mark.parametrize(("name", "params", "field"), TOO_MANY_DISTINCT)
def test_more_distinct_tokens_than_the_space_holds(name, params, field, tiny_space):
    assert len(tiny_space) == MIN_TOKENS
    get_template(name, params)  # fine on the default space
    with pytest.raises(TokenSpaceError) as info:
        get_template(name, params, tiny_space)
    message = str(info.value)
    assert f"template {name!r}" in message
    assert field in message  # says which parameter to lower
    assert f"'tiny' has {MIN_TOKENS}" in message


@pytest.mark.parametrize("name", NAMES)
def test_every_template_works_on_the_smallest_space(name, tiny_space):
    template = get_template(name, token_space=tiny_space)
    allowed = set(tiny_space.tokens) | {"_"}
    for sample in template.samples(0, 256):
        check_rule(template, sample.inputs, sample)
        for value in sample.inputs.values():
            flat = value if not value or isinstance(value[0], str) else list(itertools.chain(*value))
            assert set(flat) <= allowed


@pytest.mark.parametrize(("typo", "expected"), [("span", "span_qa"), ("revers", "reverse"), ("key-value", "key_value")])
def test_unknown_template_suggests_close_names(typo, expected):
    with pytest.raises(UnknownNameError) as info:
        get_template(typo)
    assert expected in info.value.suggestions
    message = str(info.value)
    assert f"unknown template {typo!r}" in message
    assert f"did you mean {expected!r}" in message or f"'{expected}'" in message
    assert isinstance(info.value, KeyError)


def test_unknown_template_without_close_names_lists_them():
    with pytest.raises(UnknownNameError) as info:
        template_class("zzzzzz")
    assert info.value.suggestions == []
    assert "known templates: " in str(info.value)
    assert all(name in str(info.value) for name in NAMES)


# --- rules on real text ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ropes(load_jsonl):
    return load_jsonl("extractive_qa_ropes.jsonl")


@pytest.fixture(scope="module")
def social_iqa(load_jsonl):
    return load_jsonl("multiple_choice_social_iqa.jsonl")


@pytest.fixture(scope="module")
def physical(load_jsonl):
    return load_jsonl("choice_physical_intuition.jsonl")


def first_unique_ngram(words: list[str], n: int) -> int | None:
    """Start of the first n-gram that occurs once, with room for 3 words after it."""
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    for i in range(1, len(words) - n - 3):
        if counts[tuple(words[i : i + n])] == 1:
            return i
    return None


def is_subspan(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_span_qa_on_real_passages(ropes):
    span_qa = get_template("span_qa")
    exact = 0
    for row in ropes:
        context, question = row["context"].split(), row["question"].split()
        answer = span_qa.rule({"context": context, "question": question})
        assert len(answer) <= span_qa.params.answer_len
        assert answer == [] or is_subspan(context, answer)
        at = first_unique_ngram(context, 4)
        if at is not None:
            quoted = context[at : at + 4]
            assert span_qa.rule({"context": context, "question": quoted}) == context[at + 4 : at + 7]
            exact += 1
    assert exact >= 0.9 * len(ropes)


def test_containment_on_real_passages(ropes):
    containment = get_template("containment")
    for row in ropes:
        context, question = row["context"].split(), row["question"].split()
        label = containment.rule({"context": context, "question": question})
        assert label in (0, 1)
        assert label == int(set(question) <= set(context))
        assert containment.rule({"context": context, "question": context[3:6]}) == 1
        assert containment.rule({"context": context, "question": [*context[3:5], "xylophonequartz"]}) == 0


def test_count_on_real_passages(ropes):
    count = get_template("count")
    for row in ropes:
        words = row["context"].lower().split()
        assert count.rule({"context": words, "question": ["the"]}) == [str(words.count("the"))]
        pair = words[10:12]
        expected = sum(words[i : i + 2] == pair for i in range(len(words) - 1))
        assert count.rule({"context": words, "question": pair}) == [str(expected)]


def test_sequence_rules_on_real_words(ropes):
    copy, reverse, sort = (get_template(n) for n in ("copy", "reverse", "sort"))
    for row in ropes[:100]:
        words = row["question"].split()
        assert copy.rule({"context": words}) == words
        assert reverse.rule({"context": words}) == words[::-1]
        ordered = sort.rule({"context": words})
        assert sorted(ordered) == sorted(words)
        keys = [w.lower() for w in ordered]
        assert keys == sorted(keys)


def test_key_value_on_real_words(ropes):
    key_value = get_template("key_value")
    for row in ropes:
        words = row["context"].split()
        keys, values = [], []
        for key, value in itertools.pairwise(words):
            if key not in keys:
                keys.append(key)
                values.append(value)
        for i in (0, len(keys) // 2, len(keys) - 1):
            inputs = {"keys": keys, "values": values, "question": [keys[i]]}
            assert key_value.rule(inputs) == [values[i]]
        assert key_value.rule({"keys": keys, "values": values, "question": ["xylophonequartz"]}) == []


def test_overlap_choice_on_real_questions(social_iqa, physical):
    overlap_choice = get_template("overlap_choice")
    for row in [*social_iqa, *physical]:
        question = row["question"].split()
        options = [c.split() for c in row["choices"]]
        label = overlap_choice.rule({"question": question, "options": options})
        assert 0 <= label < len(options)
        shared = [len(set(o) & set(question)) for o in options]
        assert shared[label] == max(shared)
        assert shared.index(max(shared)) == label  # ties go to the first


def test_two_way_and_continuation_choice_on_real_questions(social_iqa, physical):
    two_way = get_template("two_way_choice")
    continuation = get_template("continuation_choice")
    for row in [*social_iqa, *physical]:
        question = row["question"].split()
        options = [c.split() for c in row["choices"]]
        assert 0 <= two_way.rule({"question": question, "options": options}) < len(options)
        assert 0 <= continuation.rule({"context": question, "options": options}) < len(options)
    # continuation on real text: the ending that repeats what followed the last word before wins
    for row in social_iqa:
        words = row["question"].split()
        repeat = next((i for i in range(len(words) - 3) if words[i] not in words[i + 1 :]), None)
        if repeat is None:
            continue
        context = [*words, words[repeat]]
        follow = context[repeat + 1 : repeat + 3]
        options = [["xylophone", "quartz"], follow, ["zebra", "yak"]]
        assert continuation.rule({"context": context, "options": options}) == 1


def test_entity_disambiguation_on_real_passages(ropes):
    template = get_template("entity_disambiguation")
    window = template.params.window
    for row in ropes:
        words = row["context"].split()
        at = 30
        mention = words[at]
        if mention in words[:at] or len(words) < 80:
            continue
        around = words[at - window : at] + words[at + 1 : at + 1 + window]
        far = [w for w in words[60:] if w not in around][:4]
        options = [far, around[:2] + ["xylophone"], far[::-1]]
        assert template.rule({"context": words, "question": [mention], "options": options}) == 1


def test_blank_fill_on_real_sentences(ropes):
    blank_fill = get_template("blank_fill")
    checked = 0
    for row in ropes:
        words = row["context"].split()[:40]
        counts = Counter(words)
        pos = next((i for i in range(1, len(words) - 1) if counts[words[i]] == 1), None)
        if pos is None:
            continue
        # a decoy mentioned once, away from the blank's word, with other neighbours
        decoy = next(
            (
                words[j]
                for j in range(1, len(words) - 1)
                if counts[words[j]] == 1
                and abs(j - pos) > 1
                and words[j - 1] != words[pos - 1]
                and words[j + 1] != words[pos + 1]
            ),
            None,
        )
        if decoy is None:
            continue
        sentence = [*words, words[pos - 1], "_", words[pos + 1]]
        assert blank_fill.rule({"context": sentence, "options": [[decoy], [words[pos]]]}) == 1
        assert blank_fill.rule({"context": sentence, "options": [[words[pos]], [decoy]]}) == 0
        checked += 1
    assert checked >= 100
    with pytest.raises(ValueError, match="no blank"):
        blank_fill.rule({"context": ropes[0]["context"].split(), "options": [["a"], ["b"]]})


def test_entity_match_on_real_records(social_iqa):
    entity_match = get_template("entity_match")
    attributes = ["answer", "first", "second"]
    for row in social_iqa:
        options = [c.split() for c in row["choices"]]
        if len(options) != 3:
            continue
        assert entity_match.rule({"attributes": attributes, "left": options, "right": options}) == 1
        changed = [options[0], ["xylophone"], ["quartz"]]
        assert entity_match.rule({"attributes": attributes, "left": options, "right": changed}) == 0
