"""Recipes: the shipped ones load, content hashes behave, bad input gives a RecipeError that says
which field is wrong and how to fix it, the CLI reports it without a traceback, and no malformed
mapping makes `parse_recipe` raise anything but a RecipeError."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cookbook_hub.cli.app import app
from cookbook_hub.errors import RecipeError
from cookbook_hub.generation.formatting import Style
from cookbook_hub.recipes.schema import Recipe, load_recipe, parse_recipe, recipe_names, recipe_versions
from cookbook_hub.templates import REGISTRY

RECIPES_DIR = Path(__file__).resolve().parents[2] / "cookbook_hub" / "recipes"

# The recipe that covers each template family (the issue asks for one per family).
FAMILY_RECIPES = {
    "multiple_choice": "multiple-choice",
    "yes_no": "yes-no",
    "generative": "generative",
    "entity": "entity",
    "document_qa": "doc-qa",
}

# The GPT4ALL tasks and the template aimed at each (the recipe description promises these).
GPT4ALL_TARGETS = {
    "ARC-E": "overlap_choice",
    "ARC-C": "overlap_choice",
    "OpenBookQA": "overlap_choice",
    "BoolQ": "containment",
    "HellaSwag": "continuation_choice",
    "PIQA": "two_way_choice",
    "WinoGrande": "blank_fill",
}


def valid_recipe() -> dict[str, Any]:
    """A small valid recipe mapping (fresh copy each call)."""
    return {
        "name": "mini",
        "version": "1.2.3",
        "description": "a small mixture",
        "token_space": "default",
        "templates": [
            {"template": "copy", "weight": 2, "params": {"min_len": 4, "max_len": 6}},
            {"template": "overlap_choice", "weight": 1},
        ],
        "size": 100,
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1},
        "seed": 3,
        "format": "plain",
        "provenance": {"kind": "hand-written"},
    }


def recipe_error(data: Any) -> str:
    """The message of the RecipeError that `data` must raise."""
    with pytest.raises(RecipeError) as info:
        parse_recipe(data)
    return str(info.value)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cookbook_hub.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        timeout=120,
    )


# --- shipped recipes ---------------------------------------------------------------------------
def test_every_shipped_recipe_loads() -> None:
    names = recipe_names()
    assert names == sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
    assert {"gpt4all", "doc-qa"} <= set(names)
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert abs(sum(recipe.weights.values()) - 1) < 1e-9
        assert abs(sum(recipe.splits.values()) - 1) < 1e-9


def test_one_recipe_per_template_family() -> None:
    families: dict[str, set[str]] = {}
    for name, cls in REGISTRY.items():
        families.setdefault(cls.family, set()).add(name)
    assert set(families) == set(FAMILY_RECIPES), "a template family has no recipe"
    for family, recipe_name in FAMILY_RECIPES.items():
        assert recipe_name in recipe_names()
        listed = {entry.template for entry in load_recipe(recipe_name).templates}
        assert families[family] <= listed, f"recipe {recipe_name} misses templates of family {family}"


def test_gpt4all_covers_the_gpt4all_tasks() -> None:
    recipe = load_recipe("gpt4all")
    listed = {entry.template for entry in recipe.templates}
    for task, template in GPT4ALL_TARGETS.items():
        assert template in listed, f"no template aimed at {task}"
        assert task in REGISTRY[template].target_task, f"{template} does not say it targets {task}"
        assert recipe.weights[template] > 0


# --- content hash ------------------------------------------------------------------------------
def test_content_hash_is_stable() -> None:
    a, b = parse_recipe(valid_recipe()), parse_recipe(valid_recipe())
    assert a.content_hash == b.content_hash
    assert len(a.content_hash) == 64 and int(a.content_hash, 16) >= 0
    # key order in the file, an integer weight written as a float and spelled-out top-level defaults do not matter
    reordered = dict(reversed(list(valid_recipe().items())))
    assert parse_recipe(reordered).content_hash == a.content_hash
    spelled = valid_recipe()
    spelled["templates"][1]["weight"] = 1.0
    spelled["provenance"] = {"kind": "hand-written", "method": None, "learned_from": None, "notes": None}
    assert parse_recipe(spelled).content_hash == a.content_hash


def test_content_hash_is_the_same_in_another_process() -> None:
    code = "from cookbook_hub.recipes.schema import load_recipe; print(load_recipe('gpt4all').content_hash)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        timeout=120,
    ).stdout.strip()
    assert out == load_recipe("gpt4all").content_hash


def test_content_hash_ignores_version() -> None:
    base = parse_recipe(valid_recipe())
    for version in ("1.2.4", "2.0.0", "0.0.1-rc.1"):
        data = valid_recipe()
        data["version"] = version
        other = parse_recipe(data)
        assert other.version == version
        assert other.content_hash == base.content_hash


def _token_list(tmp_path: Path) -> str:
    path = tmp_path / "tokens.txt"
    path.write_text("\n".join(f"tok{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200)) + "\n", encoding="utf-8")
    return str(path)


MUTATIONS = {
    "name": lambda d, tmp: d.update(name="mini2"),
    "description": lambda d, tmp: d.update(description="another text"),
    "token_space": lambda d, tmp: d.update(token_space=_token_list(tmp)),
    "template weight": lambda d, tmp: d["templates"][0].update(weight=3),
    "template params": lambda d, tmp: d["templates"][0].update(params={"min_len": 4, "max_len": 7}),
    "template order": lambda d, tmp: d.update(templates=d["templates"][::-1]),
    "template added": lambda d, tmp: d["templates"].append({"template": "sort", "weight": 1}),
    "size": lambda d, tmp: d.update(size=101),
    "splits": lambda d, tmp: d.update(splits={"train": 0.9, "validation": 0.05, "test": 0.05}),
    "seed": lambda d, tmp: d.update(seed=4),
    "format": lambda d, tmp: d.update(format="chat"),
    "provenance": lambda d, tmp: d.update(provenance={"kind": "hand-written", "notes": "tuned"}),
}


@pytest.mark.parametrize("field", list(MUTATIONS))
def test_content_hash_changes_with_every_other_field(field: str, tmp_path: Path) -> None:
    base = parse_recipe(valid_recipe())
    data = valid_recipe()
    MUTATIONS[field](data, tmp_path)
    changed = parse_recipe(data)
    assert changed.model_dump() != base.model_dump()
    assert changed.content_hash != base.content_hash
    # the same change with only the version bumped still differs from the base
    data["version"] = "9.9.9"
    assert parse_recipe(data).content_hash == changed.content_hash


# --- errors ------------------------------------------------------------------------------------
def test_unknown_template_suggests_the_right_name() -> None:
    data = valid_recipe()
    data["templates"][1]["template"] = "overlap_choise"
    message = recipe_error(data)
    assert "templates.1.template" in message
    assert "unknown template 'overlap_choise'" in message
    assert "did you mean 'overlap_choice'" in message


def test_unknown_key_is_named() -> None:
    data = valid_recipe()
    data["colour"] = "blue"
    message = recipe_error(data)
    assert "colour: unknown key" in message
    assert "remove it or check its spelling" in message
    data = valid_recipe()
    data["templates"][0]["wieght"] = 1
    assert "templates.0.wieght: unknown key" in recipe_error(data)


@pytest.mark.parametrize("weight", [0, -1, -0.5, float("inf"), float("nan"), 1e308, 1e6 + 1])
def test_bad_weight(weight: float) -> None:
    data = valid_recipe()
    data["templates"][1]["weight"] = weight
    message = recipe_error(data)
    assert "templates.1.weight" in message
    assert "templates.0.weight" not in message


def test_all_zero_weights_flag_every_entry() -> None:
    data = valid_recipe()
    data["templates"].append({"template": "sort", "weight": 0})
    for entry in data["templates"]:
        entry["weight"] = 0
    message = recipe_error(data)
    for i in range(3):
        assert f"templates.{i}.weight: Input should be greater than 0" in message


@pytest.mark.parametrize("version", [1.0, 1, "1.0", "v1.0.0", "1.0.0.0", "01.2.3", "", "latest"])
def test_version_must_be_semver(version: Any) -> None:
    data = valid_recipe()
    data["version"] = version
    message = recipe_error(data)
    assert "version:" in message
    assert "MAJOR.MINOR.PATCH" in message


def test_yaml_float_version_says_to_quote_it(tmp_path: Path) -> None:
    text = yaml.safe_dump(valid_recipe(), sort_keys=False).replace("version: 1.2.3", "version: 1.0")
    path = tmp_path / "float.yaml"
    path.write_text(text, encoding="utf-8")
    assert yaml.safe_load(text)["version"] == 1.0
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert "version: 1.0 is a number" in str(info.value)
    assert "in quotes" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_token_space() -> None:
    data = valid_recipe()
    data["token_space"] = "smollm-nonexistent"
    message = recipe_error(data)
    assert "unknown token space 'smollm-nonexistent'" in message
    assert "fix: use 'default'" in message


def test_token_list_that_is_not_utf8_is_a_recipe_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("\n".join(f"caf\xe9{i}" for i in range(100)).encode("latin-1"))
    data = valid_recipe()
    data["token_space"] = str(path)
    assert "not UTF-8" in recipe_error(data)


def test_recipe_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(RecipeError, match="not UTF-8"):
        load_recipe(path)


def test_template_listed_twice() -> None:
    data = valid_recipe()
    data["templates"].append({"template": "copy", "weight": 1})
    assert "template 'copy' is listed twice; list each template once" in recipe_error(data)


@pytest.mark.parametrize(
    "splits",
    [
        {"train": 0.5, "test": 0.4},
        {"train": 0.9, "validation": 0.2},
        {"train": 1.0, "validation": 0.01},
    ],
)
def test_splits_must_add_up_to_one(splits: dict) -> None:
    data = valid_recipe()
    data["splits"] = splits
    message = recipe_error(data)
    assert "splits: fractions must add up to 1" in message


def test_unknown_split() -> None:
    data = valid_recipe()
    data["splits"] = {"train": 0.9, "dev": 0.1}
    message = recipe_error(data)
    assert "unknown split 'dev'" in message
    assert "train, validation, test" in message


def test_missing_train_split() -> None:
    data = valid_recipe()
    data["splits"] = {"validation": 0.5, "test": 0.5}
    assert "needs a train split" in recipe_error(data)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"num_options": 1}, "num_options"),
        ({"num_options": "four"}, "num_options"),
        ({"overlap": 9, "option_len": 4}, "overlap"),
        ({"num_optons": 3}, "num_optons"),
        ({"question_len": 100_000}, "question_len' is 100,000, above the bound of 1,024"),
    ],
)
def test_bad_template_params_name_the_param(params: dict, named: str) -> None:
    data = valid_recipe()
    data["templates"][1]["params"] = params
    message = recipe_error(data)
    assert "overlap_choice" in message
    assert named in message
    assert "fix:" in message


@pytest.mark.parametrize("data", [None, [], "name: x", 3, ["name", "x"]])
def test_a_recipe_must_be_a_mapping(data: Any) -> None:
    assert "must be a YAML mapping" in recipe_error(data)


def test_missing_required_fields_are_named() -> None:
    message = recipe_error({"name": "x"})
    for field in ("version", "templates", "size"):
        assert f"{field}: Field required" in message


def test_learned_provenance_needs_inputs() -> None:
    data = valid_recipe()
    data["provenance"] = {"kind": "learned", "method": "regression"}
    assert "provenance.learned_from" in recipe_error(data)
    data["provenance"]["learned_from"] = {"runs": 12}
    assert parse_recipe(data).provenance.kind == "learned"


def test_unknown_recipe_name_suggests() -> None:
    from cookbook_hub.errors import UnknownNameError

    with pytest.raises(UnknownNameError) as info:
        load_recipe("gpt4al")
    assert "did you mean 'gpt4all'" in str(info.value)


def test_invalid_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(path)


def test_to_yaml_round_trips() -> None:
    recipe = parse_recipe(valid_recipe())
    again = parse_recipe(yaml.safe_load(recipe.to_yaml()))
    assert again == recipe
    assert again.content_hash == recipe.content_hash


# --- CLI ---------------------------------------------------------------------------------------
def test_cli_validate_good_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(valid_recipe()), encoding="utf-8")
    result = run_cli("recipe", "validate", str(path))
    assert result.returncode == 0, result.stderr
    assert f"content hash {parse_recipe(valid_recipe()).content_hash}" in result.stdout


def test_cli_validate_bad_file(tmp_path: Path) -> None:
    data = valid_recipe()
    data["templates"][0]["template"] = "cpoy"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("recipe", "validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "templates.0.template: unknown template 'cpoy'" in result.stderr
    assert "did you mean 'copy'" in result.stderr


def test_cli_validate_non_utf8_file_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    result = CliRunner().invoke(app, ["recipe", "validate", str(path)])
    assert result.exit_code == 2, result.exception
    assert "not UTF-8" in result.stderr


def test_cli_recipes_json() -> None:
    result = run_cli("recipes", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == recipe_names()
    for row in rows:
        recipe = load_recipe(row["name"])
        assert row["version"] == recipe.version
        assert row["size"] == recipe.size
        assert row["content_hash"] == recipe.content_hash
        assert row["templates"] == pytest.approx(recipe.weights)


def test_cli_recipe_show() -> None:
    result = run_cli("recipe", "show", "gpt4all")
    assert result.returncode == 0, result.stderr
    recipe = load_recipe("gpt4all")
    shown = yaml.safe_load(result.stdout)  # the trailing lines are YAML comments
    assert parse_recipe(shown) == recipe
    assert f"# content_hash: {recipe.content_hash}" in result.stdout
    assert "overlap_choice=0.2500" in result.stdout


def test_cli_recipe_show_unknown() -> None:
    result = CliRunner().invoke(app, ["recipe", "show", "gpt4al"])
    assert result.exit_code == 2, result.exception
    assert "did you mean 'gpt4all'" in result.stderr


# --- YAML from users is bounded: bombs, deep nesting, odd values ------------------------------------
HEAD = 'name: mini\nversion: "0.1.0"\ntemplates: [{template: copy, weight: 1}]\nsize: 10\n'
LAUGHS = "\n".join(
    f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ['"lol"'] * 9) + "]" for i in range(10)
)
BOMB = HEAD + "provenance:\n  kind: learned\n  learned_from:\n" + LAUGHS + "\n"


def write_recipe_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    """A ~700-byte bomb under provenance.learned_from once hung `recipe validate` and `build` (10**9 values)."""
    assert len(BOMB) < 800
    path = write_recipe_text(tmp_path, BOMB)
    with pytest.raises(RecipeError, match="expands to more than 100,000 values once its aliases"):
        load_recipe(path)
    for command in (["recipe", "validate", str(path)], ["build", str(path), "--out", str(tmp_path / "ds")]):
        result = run_cli(*command)  # run_cli's timeout is the hang check
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "expands to more than 100,000 values" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]


@pytest.mark.parametrize(
    ("tail", "needle"),
    [
        ("provenance: {kind: learned, learned_from: {a: " + "[" * 5000 + "]" * 5000 + "}}\n", "nested deeper than 32"),
        ("description: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than 32 levels (line 5)"),
        (
            "provenance: {kind: learned, learned_from: &a {x: *a}}\n",
            "an alias at line 5 refers to a value that contains",
        ),
        ("seed: " + "9" * 5000 + "\n", "not valid YAML"),
        ("provenance: {kind: learned, learned_from: {x: .nan}}\n", "is not a finite number"),
        ("provenance: {kind: learned, learned_from: {x: 2024-01-01}}\n", "holds a date; use text"),
        ("provenance: {kind: learned, learned_from: {x: !!binary aGk=}}\n", "holds a bytes"),
        ("provenance: {kind: learned, learned_from: {a: {1: x}}}\n", "keys must be text"),
        ("description: " + "x" * (1 << 20) + "\n", "longer than 1,048,576 characters"),
        ("description: a\x1fb\n", "special characters are not allowed"),  # found by the fuzz suite
    ],
    ids=[
        "deep-learned-from",
        "deep-elsewhere",
        "recursive-alias",
        "huge-int",
        "nan",
        "date",
        "bytes",
        "int-key",
        "huge",
        "control-character",
    ],
)
def test_odd_yaml_is_a_recipe_error_naming_the_file(tmp_path: Path, tail: str, needle: str) -> None:
    path = write_recipe_text(tmp_path, HEAD + tail)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert str(err.value).startswith(str(path)) and needle in str(err.value), str(err.value)


def test_aliases_within_the_bounds_still_load(tmp_path: Path) -> None:
    text = HEAD.replace("templates: [{template: copy, weight: 1}]", "templates: [{template: copy, weight: &w 1}]")
    recipe = load_recipe(write_recipe_text(tmp_path, text + "provenance: {kind: learned, learned_from: {w: *w}}\n"))
    assert recipe.provenance.learned_from == {"w": 1}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"size": 2**40 + 1}, "size: Input should be less than or equal to 1099511627776"),
        ({"templates": [{"template": "copy", "weight": 1, "params": {"max_len": 10**11}}]}, "above the bound of 1,024"),
    ],
)
def test_absurd_sizes_are_refused_with_the_bound(change: dict, needle: str) -> None:
    assert needle in recipe_error({**valid_recipe(), **change})


# --- property-based: malformed recipes never escape as another exception ------------------------
KEYS = list(Recipe.model_fields)
ENTRY_KEYS = ["template", "weight", "params"]
PARAM_NAMES = ["min_len", "max_len", "num_options", "question_len", "option_len", "overlap", "rate", "window"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["default", "copy", "1.0.0", "train", "chat", "", ".", "..", "-1", "1e400", "nan", "\x00", "é"])
)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_recipes(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(valid_recipe())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["drop", "garbage", "extra", "entry", "params", "number", "string", "splits"]))
        if action == "drop" and data:
            data.pop(draw(st.sampled_from(sorted(data))))
        elif action == "garbage":
            data[draw(st.sampled_from(KEYS))] = draw(garbage)
        elif action == "extra":
            data[draw(st.text(max_size=8))] = draw(garbage)
        elif action == "entry" and isinstance(data.get("templates"), list) and data["templates"]:
            entry = data["templates"][draw(st.integers(0, len(data["templates"]) - 1))]
            if isinstance(entry, dict):
                entry[draw(st.sampled_from(ENTRY_KEYS) | st.text(max_size=6))] = draw(garbage)
        elif action == "params" and isinstance(data.get("templates"), list) and data["templates"]:
            entry = data["templates"][0]
            if isinstance(entry, dict):
                names = st.sampled_from(PARAM_NAMES) | st.text(max_size=6)
                entry["params"] = draw(st.dictionaries(names, garbage, max_size=3))
        elif action == "number":
            value = draw(st.integers(-(2**64), 2**64) | st.floats(allow_nan=True))
            data[draw(st.sampled_from(["size", "seed", "version", "name"]))] = value
        elif action == "string":
            data[draw(st.sampled_from(["name", "version", "token_space", "format", "description"]))] = draw(
                st.text(max_size=20)
            )
        elif action == "splits":
            names = st.sampled_from(["train", "validation", "test", "dev"]) | st.text(max_size=4)
            data["splits"] = draw(st.dictionaries(names, garbage, max_size=4))
    return data


random_mappings = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), garbage, max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_recipes() | random_mappings | garbage)
def test_malformed_recipes_raise_only_recipe_error(data: Any) -> None:
    try:
        recipe = parse_recipe(data)
    except RecipeError as exc:
        assert str(exc).startswith("recipe:")
    else:
        assert isinstance(recipe, Recipe)
        assert parse_recipe(recipe.model_dump(mode="json")) == recipe


def test_the_instruction_option_leaves_recipes_without_it_as_they_were():
    recipe = load_recipe("gpt4all@0.1.0")
    assert recipe.instruction is None and recipe.style == Style(recipe.format)
    assert "instruction" not in recipe.to_yaml() and "instruction" not in recipe.model_dump()
    bare = parse_recipe({**recipe.model_dump(mode="json"), "instruction": False})
    assert bare.style == Style(recipe.format, instruction=False) and "instruction: false" in bare.to_yaml()
    assert bare.content_hash != recipe.content_hash  # other rows, so other content
    spelled = parse_recipe({**recipe.model_dump(mode="json"), "instruction": None})
    assert spelled.content_hash == recipe.content_hash


# Earlier versions of the shipped recipes stay buildable and never change: NAME@VERSION -> content hash.
KEPT = {
    "doc-qa@0.1.0": "ad2460126dbfff685a4fabc4874bf373afcbaccd15f1cfd88bd4970bd9f00cda",
    "gpt4all@0.1.0": "c97a5eca5334e6b0f1d7549722d8b767ecd7e2a20277678351df6d7aba1b0599",
    "multiple-choice@0.1.0": "3d6618b74af73fb2245f553f2c68245242561f80f7dbf97c0543872300c6f0dc",
}


@pytest.mark.parametrize(("spec", "content_hash"), KEPT.items())
def test_kept_versions_load_by_name_and_never_change(spec: str, content_hash: str):
    name, version = spec.split("@")
    recipe = load_recipe(spec)
    assert (recipe.name, recipe.version, recipe.content_hash) == (name, version, content_hash)
    assert version in recipe_versions(name) and load_recipe(name).version != version


def test_every_shipped_version_is_listed_oldest_first_and_the_latest_is_newest():
    for name in recipe_names():
        versions = recipe_versions(name)
        assert versions[-1] == load_recipe(name).version == load_recipe(f"{name}@{versions[-1]}").version
        assert all(load_recipe(f"{name}@{v}").version == v for v in versions)
    assert recipe_versions("doc-qa")[:2] == ["0.1.0", "0.2.0"]


def test_an_unknown_version_lists_the_shipped_ones():
    with pytest.raises(RecipeError, match="recipe 'doc-qa' has no version '9.9.9'") as info:
        load_recipe("doc-qa@9.9.9")
    assert "doc-qa@0.1.0" in str(info.value) and "doc-qa@0.2.0" in str(info.value)


def test_doc_qa_carries_the_settings_that_transfer():
    recipe = load_recipe("doc-qa")
    assert recipe.style == Style("chat", instruction=False)
    span = next(entry for entry in recipe.templates if entry.template == "span_qa")
    assert span.params["answer_len"] == 1 and recipe.weights["span_qa"] == pytest.approx(2 / 3)
    assert round(recipe.size * recipe.splits["train"]) == 800  # one epoch: 100 steps at the default batch of 8


@pytest.mark.parametrize("name", ["gpt4all", "multiple-choice"])
def test_mixtures_for_real_tasks_use_the_row_shape_that_transfers(name: str):
    recipe = load_recipe(name)
    assert recipe.style == Style("chat", instruction=False)  # the shape real examples are evaluated in
    assert round(recipe.size * recipe.splits["train"]) == 800
    earlier = load_recipe(f"{name}@0.1.0")
    assert earlier.style == Style("plain") and set(earlier.weights) <= set(recipe.weights)


def test_the_recipes_command_lists_versions():
    result = CliRunner().invoke(app, ["recipes", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["doc-qa"]["versions"] == recipe_versions("doc-qa") and rows["doc-qa"]["version"] == "0.2.0"


def test_the_answer_cue_option_leaves_recipes_without_it_as_they_were():
    recipe = load_recipe("yes-no")
    assert recipe.answer_cue is None and "answer_cue" not in recipe.to_yaml()
    cued = parse_recipe({**recipe.model_dump(mode="json"), "answer_cue": True})
    assert cued.style == Style("plain", answer_cue=True) and "answer_cue: true" in cued.to_yaml()
    assert cued.content_hash != recipe.content_hash
    assert parse_recipe({**recipe.model_dump(mode="json"), "answer_cue": None}).content_hash == recipe.content_hash


def test_the_answer_cue_is_refused_outside_the_plain_format():
    with pytest.raises(RecipeError, match="answer_cue is an option of the plain format, not of 'chat'") as info:
        parse_recipe({**load_recipe("doc-qa").model_dump(mode="json"), "answer_cue": True})
    assert "recipe: recipe" not in str(info.value)
