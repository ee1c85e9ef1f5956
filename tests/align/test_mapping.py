"""Real-example mappings: each mapped template's rule on hand-made examples, on awkward ones, and
`align --rule-only` through the CLI on real task files of every kind it applies to (and the refusals)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from cookbook_hub.align.mapping import mapped_templates
from cookbook_hub.cli.app import app
from cookbook_hub.eval.realtasks import Example, RealTask, exact_match, load_task_file
from cookbook_hub.templates import get_template, template_class, template_names

KINDS = {
    "span_qa": ("extractive",),
    "key_value": ("extractive",),
    "overlap_choice": ("choice", "yes_no"),
    "two_way_choice": ("choice", "yes_no"),
    "continuation_choice": ("choice",),
    "blank_fill": ("choice",),
    "entity_disambiguation": ("choice",),
    "containment": ("yes_no",),
    "entity_match": ("yes_no",),
}
FILES_OF_KIND = {"extractive": ("ropes",), "choice": ("social_iqa", "physical"), "yes_no": ("records",)}
CASES = [(name, file) for name, kinds in KINDS.items() for kind in kinds for file in FILES_OF_KIND[kind]]
SHARED = {
    "ropes": "extractive_qa_ropes.jsonl",
    "social_iqa": "multiple_choice_social_iqa.jsonl",
    "physical": "choice_physical_intuition.jsonl",
}
# Entity-matching records as a yes/no task; the gold answer is what entity_match's rule says (worked out by hand
# in the comments), with the yes/no choices in several cases and orders.
RECORD_ROWS = [
    # name and city equal, phone differs ("555-0100" is one word, "555 0100" two): 2 of 3 -> yes
    (
        "name: Apple Inc | city: Cupertino | phone: 555-0100",
        "name: Apple Inc. | city: Cupertino | phone: 555 0100",
        "yes",
    ),
    # city differs: 1 of 2 is not more than half -> no
    ("name: Apple Inc | city: Cupertino", "city: Palo Alto | name: Apple Inc", "no"),
    # fields matched by name whatever their order; the year differs: 2 of 3 -> yes
    ("title: Dune | author: Frank Herbert | year: 1965", "author: Frank Herbert | title: Dune | year: 1984", "yes"),
    # unnamed fields matched by position: corp/corporation differs, boston and ma agree: 2 of 3 -> yes
    ("Acme Corp; Boston; MA", "Acme Corporation; Boston; MA", "yes"),
    # no first record: its name field is missing, 0 of 1 -> no
    ("", "name: Zed", "no"),
]
YES_NO_CHOICES = (["yes", "no"], ["Yes", "No"], ["No", "Yes"], ["no", "yes"], ["YES", "NO"])


def write_rows(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def record_rows() -> list[dict]:
    rows = []
    for i, ((left, right, gold), choices) in enumerate(zip(RECORD_ROWS, YES_NO_CHOICES)):
        answer = next(c for c in choices if c.lower() == gold)
        rows.append({"id": f"rec-{i}", "context": left, "question": right, "choices": choices, "answer": answer})
    return rows


@pytest.fixture(scope="module")
def task_files(shared_data_dir, tmp_path_factory):
    """The real task files by short name: the shared extracts and a yes/no file of records."""
    files = {name: shared_data_dir / file for name, file in SHARED.items()}
    files["records"] = write_rows(tmp_path_factory.mktemp("yes-no") / "yes_no_records.jsonl", record_rows())
    return files


def align(*args: str):
    return CliRunner().invoke(app, ["align", *map(str, args)])


def example(context: str, question: str, choices: list[str] | None = None) -> Example:
    answer = choices[0] if choices else "x"
    return Example(1, "t", context, question, tuple(choices) if choices else None, answer)


def answer(template: str, context: str, question: str, choices: list[str] | None = None, **params) -> str:
    return get_template(template, params or None).real_answer(example(context, question, choices))


# ------------------------------------------------------------------ which templates are mapped


def test_the_nine_mapped_templates_and_their_kinds():
    assert mapped_templates() == KINDS
    for name in KINDS:
        mapping = template_class(name).real_mapping
        assert mapping and "\n" not in mapping and len(mapping) <= 100, name
    assert all(not template_class(name).real_kinds for name in template_names() if name not in KINDS)


# ------------------------------------------------------------------ key_value


def test_key_value_looks_up_the_word_after_the_query():
    # each word is a key whose value is the next word; the query is the question's word the passage shares
    assert answer("key_value", "Alice: cat. Bob: dog. Carol: fish.", "Which pet does Bob have?") == "dog"
    assert answer("key_value", "Alice: cat. Bob: dog. Carol: fish.", "CAROL?") == "fish"


def test_key_value_queries_the_rarest_shared_word():
    # "the" is a key three times, "mat" once: the query is mat
    assert answer("key_value", "the cat sat on the mat near the door", "where is the mat") == "near"
    # green and red are keys once each: the earliest in the question wins
    assert answer("key_value", "red apple green pear", "green or red") == "pear"
    assert answer("key_value", "red apple green pear", "red or green") == "apple"
    # the last word has no value, so it is no key: pear is skipped for apple
    assert answer("key_value", "red apple green pear", "pear or apple?") == "green"


def test_key_value_without_a_shared_word_answers_nothing():
    assert answer("key_value", "red apple green pear", "Who?") == ""
    assert answer("key_value", "", "Which apple?") == ""
    assert answer("key_value", "apple", "apple") == ""
    query = get_template("key_value").real_inputs(example("red apple", "blue?"))
    assert query == {"keys": ["red"], "values": ["apple"], "question": []}


# ------------------------------------------------------------------ continuation_choice


def test_continuation_picks_the_ending_that_repeats_the_text():
    text = "I put the milk in the fridge. Later I put the milk"
    choices = ["on the table", "in the fridge", "in the oven"]
    # "milk" came before, followed by "in the fridge"; "in the oven" matches only 2 positions of 3
    assert answer("continuation_choice", "", text, choices) == "in the fridge"
    # the context and the question are one text
    assert answer("continuation_choice", "I put the milk in the fridge.", "Later I put the milk", choices) == (
        "in the fridge"
    )


def test_continuation_without_a_repeat_picks_the_most_shared_words():
    choices = ["the cat slept", "the mailman ran away", "birds sang"]
    assert answer("continuation_choice", "", "The dog barked at the mailman", choices) == "the mailman ran away"
    # choices of unequal length, none sharing a word: the first
    assert answer("continuation_choice", "", "It rained.", ["a b c d", "e", "f g"]) == "a b c d"


def test_continuation_on_a_text_without_words_picks_the_first_ending():
    assert answer("continuation_choice", "", "?!", ["up", "down"]) == "up"
    assert get_template("continuation_choice").real_inputs(example("", "...", ["a", "b"]))["context"] == [""]


# ------------------------------------------------------------------ blank_fill


def test_blank_fill_picks_the_option_mentioned_in_the_blanks_surroundings():
    sentence = "The cat chased the dog and the dog barked. Then the _ barked."
    # blank between "the" and "barked": the dog's second mention has both neighbours, the cat's one
    assert answer("blank_fill", "", sentence, ["cat", "dog"]) == "dog"
    assert answer("blank_fill", sentence, "Who barked?", ["cat", "dog"]) == "dog"
    # punctuation around the blank and longer blanks are still the blank
    longer = "The cat chased the dog and the dog barked. Then the ___, barked"
    assert answer("blank_fill", "", longer, ["cat", "dog"]) == "dog"
    inputs = get_template("blank_fill").real_inputs(example("", "so (_) won, and ___.", ["a", "b"]))
    assert inputs["context"] == ["so", "_", "won", "and", "_"]


def test_blank_fill_without_a_blank_puts_one_at_the_end():
    # "I fed the _": the dog is mentioned after "the", the cat not at all
    assert answer("blank_fill", "", "I fed the dog, then I fed the", ["cat", "dog"]) == "dog"
    inputs = get_template("blank_fill").real_inputs(example("", "Which pet barked?", ["cat", "dog"]))
    assert inputs["context"] == ["which", "pet", "barked", "_"]
    # no option mentioned: the first
    assert answer("blank_fill", "", "Which pet barked?", ["cat", "dog"]) == "cat"
    assert answer("blank_fill", "", "?", ["cat", "dog"]) == "cat"


def test_blank_fill_choice_without_words_is_never_mentioned():
    # as an empty word list, "?" would match anywhere after "the" and win
    assert answer("blank_fill", "", "My cat sat; the dog saw the _", ["cat", "?"]) == "cat"


# ------------------------------------------------------------------ entity_disambiguation


BANK = "He sat on the bank of the river and watched the water flow past the old mill."
SENSES = ["a financial institution that lends money", "the land alongside a river"]


def test_entity_disambiguation_reads_the_mentions_surroundings():
    # window 4: "he sat on the" + "of the river and"; the second sense shares "the" and "river"
    assert answer("entity_disambiguation", BANK, "bank", SENSES) == SENSES[1]
    assert answer("entity_disambiguation", BANK, "bank", SENSES[::-1]) == SENSES[1]
    # a question that is not in the passage: its rarest word there ("bank"; "the" is there four times)
    assert answer("entity_disambiguation", BANK, "What does 'the bank' mean here?", SENSES) == SENSES[1]
    inputs = get_template("entity_disambiguation").real_inputs(example(BANK, "What is the bank?", SENSES))
    assert inputs["question"] == ["bank"]


def test_entity_disambiguation_keeps_a_mention_the_passage_holds():
    passage = "Money sits in the bank vault downtown. We walked along the river bank at dusk."
    candidates = ["a vault downtown", "the side of a river"]
    inputs = get_template("entity_disambiguation").real_inputs(example(passage, "river bank", candidates))
    assert inputs["question"] == ["river", "bank"]
    # window 2 around "river bank": "along the" and "at dusk"
    assert answer("entity_disambiguation", passage, "river bank", candidates, window=2) == candidates[1]
    # "bank" alone is first the vault's: "in the" and "vault downtown"
    assert answer("entity_disambiguation", passage, "Which bank?", candidates, window=2) == candidates[0]


def test_entity_disambiguation_without_a_mention_picks_the_first_candidate():
    assert answer("entity_disambiguation", "", "bank", SENSES[::-1]) == SENSES[1]
    assert answer("entity_disambiguation", BANK, "Who?", SENSES) == SENSES[0]


# ------------------------------------------------------------------ entity_match


@pytest.mark.parametrize(("left", "right", "gold"), RECORD_ROWS)
def test_entity_match_compares_the_records_fields(left, right, gold):
    assert answer("entity_match", left, right, ["yes", "no"]) == gold


def test_entity_match_fields():
    match = get_template("entity_match")
    inputs = match.real_inputs(example("city: Boston\nname: Ann; phone:", "Name: ann | Zip: 02134", ["yes", "no"]))
    assert inputs == {
        "attributes": ["city", "name", "phone", "zip"],
        "left": [["boston"], ["ann"], [], []],
        "right": [[], ["ann"], [], ["02134"]],
    }
    # a value only one record gives differs (zip); no value on either side agrees (phone)
    assert match.rule(inputs) == 0
    assert answer("entity_match", "name: X | city: Y", "name: X | city: Y | phone: 1", ["yes", "no"]) == "yes"
    assert answer("entity_match", "name: X", "name: X | city: Y | phone: 1", ["yes", "no"]) == "no"
    # exactly half is not a match
    assert answer("entity_match", "a; b", "a; c", ["yes", "no"]) == "no"
    assert answer("entity_match", "same text", "same text.", ["yes", "no"]) == "yes"


def test_entity_match_answers_in_the_examples_words():
    assert answer("entity_match", "a | b", "a | b", ["No", "Yes"]) == "Yes"
    assert answer("entity_match", "", "?", ["YES", "NO"]) == "NO"


# ------------------------------------------------------------------ any example of the kinds


AWKWARD = [
    ("", "?", ["!", "..."]),
    ("", "Who won?", ["Ann", "a much longer answer with many words", "B"]),
    ("  ", "_ _ _", ["_", "x"]),
    ("The _ sat. ___", "Fill in: _", ["cat", "mat", "hat", "bat", "rat"]),
    ("name: | : x || ;;", "a:b:c | :", ["yes", "no"]),
    ("«Zoë» said “hi”…", "Did Zoë say hi?", ["Yes", "No"]),
]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_mapping_reads_awkward_examples(name):
    template = get_template(name)
    for context, question, choices in AWKWARD:
        kind = "yes_no" if {c.lower() for c in choices} == {"yes", "no"} else "choice"
        if kind in KINDS[name]:
            assert template.real_answer(example(context, question, choices)) in choices
        if "extractive" in KINDS[name]:
            assert isinstance(template.real_answer(example(context, question)), str)


# ------------------------------------------------------------------ align --rule-only through the CLI


def correct(task: RealTask, rule: str, gold: str) -> bool:
    return bool(exact_match(rule, gold)) if task.kind == "extractive" else rule == gold


def label(task: RealTask, ex: Example, said: str) -> str:
    if task.kind == "yes_no":
        return said.lower()
    if task.kind == "choice":
        return f"choice {ex.choices.index(said) + 1}"
    n = len(said.split())
    return {0: "empty", 1: "1 word"}.get(n, f"{n} words")


def shares(labels: list[str]) -> dict[str, float]:
    return {key: count / len(labels) for key, count in Counter(labels).items()}


@pytest.mark.parametrize(("name", "file"), CASES)
def test_align_rule_only(task_files, tmp_path, name, file):
    out = tmp_path / "out"
    result = align("--task", task_files[file], "--template", name, "--rule-only", "--out", out)
    assert result.exit_code == 0, result.output
    task, template = load_task_file(task_files[file]), get_template(name)
    rule = [template.real_answer(ex) for ex in task.examples]
    if task.kind != "extractive":
        assert all(said in ex.choices for said, ex in zip(rule, task.examples))
    n = len(rule)
    right = sum(correct(task, said, ex.answer) for said, ex in zip(rule, task.examples))
    chance = 0.0 if task.kind == "extractive" else sum(1 / len(ex.choices) for ex in task.examples) / n
    accuracy = right / n
    headline = (
        f"Rule accuracy: {accuracy:.3f} (right on {right}, wrong on {n - right}); chance: {chance:.3f}; "
        f"rule accuracy - chance: {accuracy - chance:+.3f}."
    )
    assert headline in result.output
    assert f"`{name}` on `{task.path.name}` ({task.kind}, {n} examples; mapping: " in result.output
    rule_shares = shares([label(task, ex, said) for said, ex in zip(rule, task.examples)])
    gold_shares = shares([label(task, ex, ex.answer) for ex in task.examples])
    assert "| answer | rule | gold |" in result.output
    for key in set(rule_shares) | set(gold_shares):
        row = f"| {key} | {rule_shares.get(key, 0.0):.3f} | {gold_shares.get(key, 0.0):.3f} |"
        assert row in result.output
    # --out: the same report as JSON, markdown and a plot
    report = json.loads((out / "alignment.json").read_text())
    assert report["rule_accuracy"] == pytest.approx(accuracy) and report["chance"] == pytest.approx(chance)
    assert report["rule_answers"] == pytest.approx(rule_shares) and report["gold_answers"] == pytest.approx(gold_shares)
    assert [row["rule"] for row in report["per_example"]] == rule
    assert report["mapping"] == template.real_mapping and report["template"] == name
    assert (out / "alignment.md").read_text() in result.output
    assert (out / "alignment.png").read_bytes()[:4] == b"\x89PNG"


def test_entity_match_is_right_on_every_record(task_files):
    result = align("--task", task_files["records"], "--template", "entity_match", "--rule-only")
    assert result.exit_code == 0, result.output
    assert "Rule accuracy: 1.000 (right on 5, wrong on 0); chance: 0.500; rule accuracy - chance: +0.500." in (
        result.output
    )
    assert "| no | 0.400 | 0.400 |" in result.output and "| yes | 0.600 | 0.600 |" in result.output


@pytest.mark.parametrize("name", ["copy", "count", "sort", "reverse"])
@pytest.mark.parametrize("file", ["ropes", "social_iqa", "records"])
def test_templates_without_a_mapping_are_refused(task_files, tmp_path, name, file):
    result = align("--task", task_files[file], "--template", name, "--rule-only", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert f"template {name!r} has no mapping" in result.output
    kind = load_task_file(task_files[file]).kind
    fitting = [t for t in template_names() if kind in KINDS.get(t, ())]
    assert f"use one of {', '.join(fitting)} (see docs/evaluation.md)" in result.output
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def mixed_yes_no(tmp_path_factory):
    """A multiple-choice file whose first line is yes/no and whose second is not."""
    rows = [
        {"id": "1", "context": "c", "question": "q", "choices": ["yes", "no"], "answer": "yes"},
        {"id": "2", "context": "c", "question": "q", "choices": ["yes", "maybe"], "answer": "maybe"},
    ]
    return write_rows(tmp_path_factory.mktemp("mixed") / "mixed.jsonl", rows)


WRONG_KIND = [
    ("span_qa", "physical", 1, "['Up', 'Down', 'Left', 'Right']", "extractive QA (choices null)"),
    ("key_value", "social_iqa", 1, "['Happy', 'Ready to work', 'Jealous']", "extractive QA (choices null)"),
    ("overlap_choice", "ropes", 1, "null", "multiple choice or yes/no"),
    ("two_way_choice", "ropes", 1, "null", "multiple choice or yes/no"),
    ("continuation_choice", "records", 1, "['yes', 'no']", "multiple choice"),
    ("blank_fill", "ropes", 1, "null", "multiple choice"),
    ("entity_disambiguation", "records", 1, "['yes', 'no']", "multiple choice"),
    ("containment", "ropes", 1, "null", "yes/no"),
    ("entity_match", "mixed", 2, "['yes', 'maybe']", "yes/no"),
]


@pytest.mark.parametrize(("name", "file", "line", "choices", "wanted"), WRONG_KIND)
def test_task_of_the_wrong_kind_is_refused(task_files, mixed_yes_no, name, file, line, choices, wanted):
    path = mixed_yes_no if file == "mixed" else task_files[file]
    result = align("--task", path, "--template", name, "--rule-only")
    assert result.exit_code == 2
    assert f"{path} line {line}, field 'choices': {choices}, but template {name!r} needs {wanted} examples" in (
        result.output
    )


@pytest.mark.parametrize(
    "given",
    [["--model", "no/such-model"], ["--adapter", "adapters/x"], ["--publish", "hub/me/x"]]
    + [["--model", "m", "--adapter", "a", "--publish", "hub/me/x"]],
)
def test_rule_only_refuses_model_options(task_files, tmp_path, given):
    out = tmp_path / "out"
    result = align("--task", task_files["ropes"], "--template", "span_qa", "--rule-only", *given, "--out", out)
    assert result.exit_code == 2
    flags = ", ".join(given[::2])
    assert f"--rule-only loads no model, so {flags} cannot be used with it" in result.output
    assert not out.exists()


def test_rule_only_scores_the_first_limit_examples(task_files):
    task = load_task_file(task_files["social_iqa"])
    template = get_template("overlap_choice")
    first = task.examples[:7]
    right = sum(template.real_answer(ex) == ex.answer for ex in first)
    chance = sum(1 / len(ex.choices) for ex in first) / len(first)
    result = align("--task", task_files["social_iqa"], "--template", "overlap_choice", "--rule-only", "--limit", "7")
    assert result.exit_code == 0, result.output
    assert "(choice, 7 examples; mapping:" in result.output
    assert f"Rule accuracy: {right / 7:.3f} (right on {right}, wrong on {7 - right}); chance: {chance:.3f};" in (
        result.output
    )
