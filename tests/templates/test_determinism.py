"""Determinism: every sample is a pure function of (template, version, params, token space, seed, index)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cookbook_hub.generation.generate import batch_for
from cookbook_hub.templates import get_template, template_names
from cookbook_hub.tokens.sampling import BLOCK_SIZE
from cookbook_hub.tokens.space import TokenSpace, default_token_space

NAMES = template_names()
GOLDEN_PATH = Path(__file__).parents[1] / "golden.py"


def load_golden():
    spec = importlib.util.spec_from_file_location("cookbook_golden", GOLDEN_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = load_golden()


@pytest.fixture(scope="module")
def stored_hashes():
    return golden.load()


@pytest.mark.parametrize("name", NAMES)
def test_sample_i_equals_the_ith_of_a_range(name):
    template = get_template(name)
    n = BLOCK_SIZE + 40  # crosses a block boundary
    run = list(template.samples(0, n))
    assert [s.index for s in run] == list(range(n))
    for i in (0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, n - 1):
        assert template.sample(i) == run[i]
    # and from a fresh instance (nothing cached on the object matters)
    assert get_template(name).sample(BLOCK_SIZE + 3) == run[BLOCK_SIZE + 3]


@pytest.mark.parametrize("name", NAMES)
def test_any_order_of_ranges_gives_the_same_rows(name):
    template = get_template(name)
    n = 2 * BLOCK_SIZE + 77
    whole = batch_for(template, range(n), 7, "qa")
    cuts = sorted(random.Random(name).sample(range(1, n), 6))
    pieces = [range(a, b) for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    shuffled = pieces[:]
    random.Random(1).shuffle(shuffled)
    made = {p.start: batch_for(template, p, 7, "qa") for p in shuffled}
    joined = pa.Table.from_batches([made[p.start] for p in pieces])
    assert joined.equals(pa.Table.from_batches([whole]))


@pytest.mark.parametrize("name", NAMES)
def test_golden_hash(name, stored_hashes):
    problem = golden.check(name, stored_hashes)
    assert problem is None, problem


def test_golden_file_covers_exactly_the_registered_templates(stored_hashes):
    assert sorted(stored_hashes) == sorted(NAMES)
    for entry in stored_hashes.values():
        assert set(entry) == {"version", "sha256"}
        assert len(entry["sha256"]) == 64


def test_golden_check_messages():
    version, digest = golden.rows_hash("copy")
    same = {"copy": {"version": version, "sha256": digest}}
    assert golden.compare("copy", version, digest, same) is None
    changed = {"copy": {"version": version, "sha256": "0" * 64}}
    assert golden.compare("copy", version, digest, changed) == (
        f"output of copy changed without a version bump (version {version}): bump its version, then make regen"
    )
    old = {"copy": {"version": version - 1, "sha256": digest}}
    message = golden.compare("copy", version, digest, old)
    assert message.startswith(f"golden hash of copy is for version {version - 1}")
    assert message.endswith("run make regen")
    assert "no golden hash for copy" in golden.compare("copy", version, digest, {})


def test_golden_update_writes_new_templates_and_versions_but_refuses_an_unbumped_change(tmp_path, monkeypatch):
    stored = golden.load()
    monkeypatch.setattr(golden, "GOLDEN_FILE", tmp_path / "golden_hashes.json")
    missing = {name: entry for name, entry in stored.items() if name != "sort"}
    golden.GOLDEN_FILE.write_text(json.dumps(missing))
    assert golden.main(["--update"]) == 0
    assert golden.load() == stored  # the new template's hash was added, nothing else moved
    tampered = {**stored, "copy": {**stored["copy"], "sha256": "0" * 64}}
    golden.GOLDEN_FILE.write_text(json.dumps(tampered))
    assert golden.main(["--update"]) == 1
    assert golden.load() == tampered  # refused: the change needs a version bump first


def test_golden_hash_sees_a_changed_rule(monkeypatch):
    """A template whose rule changes but keeps its version fails the golden check (rows come from the
    vectorised rule; test_block_rules.py holds it equal to `rule`)."""
    stored = golden.load()
    cls = type(get_template("reverse"))
    monkeypatch.setattr(cls, "rule_block", lambda self, block: block["context"])
    assert golden.check("reverse", stored) == (
        "output of reverse changed without a version bump (version 1): bump its version, then make regen"
    )
    monkeypatch.setattr(cls, "version", 2)
    message = golden.check("reverse", stored)
    assert message == ("golden hash of reverse is for version 1 (the template is version 2); run make regen")


def test_golden_script_runs():
    result = subprocess.run([sys.executable, str(GOLDEN_PATH)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"all {len(NAMES)} golden hashes match" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_seed_changes_the_rows(name):
    template = get_template(name)
    a = batch_for(template, range(64), 0, "plain").to_pylist()
    b = batch_for(template, range(64), 1, "plain").to_pylist()
    assert [r["index"] for r in a] == [r["index"] for r in b]
    differing = sum(x["inputs"] != y["inputs"] for x, y in zip(a, b, strict=True))
    assert differing >= 60


def token_ids(sample, space: TokenSpace) -> list[int]:
    """The ids, in `space`, of every token a sample drew (blank_fill's `_` marker aside)."""
    where = {t: i for i, t in enumerate(space.tokens)}
    out = []
    for value in sample.inputs.values():
        for item in value:
            out.extend([where[t] for t in item if t in where] if isinstance(item, list) else [where.get(item, -1)])
    return out


@pytest.mark.parametrize("name", NAMES)
def test_token_space_changes_the_rows(name):
    default = default_token_space()
    other = TokenSpace("reversed", tuple(reversed(default.tokens)))
    a = list(get_template(name).samples(0, 64))
    b = list(get_template(name, token_space=other).samples(0, 64))
    assert sum(x.inputs != y.inputs for x, y in zip(a, b, strict=True)) >= 60
    # same tokens in another order is another space: the stream key differs too, so the drawn ids
    # differ (a change of lookup alone would keep them)
    swapped = TokenSpace("default", default.tokens[1:] + default.tokens[:1])
    assert swapped.identity.sha256 != default.identity.sha256
    c = list(get_template(name, token_space=swapped).samples(0, 64))
    same_ids = sum(token_ids(x, default) == token_ids(y, swapped) for x, y in zip(a, c, strict=True))
    assert same_ids <= 4


@pytest.mark.parametrize("name", ["span_qa", "count", "overlap_choice"])
def test_params_change_the_stream(name):
    """Params are part of the stream key: rows over different params are not reshaped copies."""
    template = get_template(name)
    field = next(iter(template.params_dict()))
    bumped = {field: template.params_dict()[field] + 1}
    other = get_template(name, bumped)
    assert other.sample(0).inputs != template.sample(0).inputs


def test_same_everything_in_another_process_gives_the_same_rows():
    code = (
        "import hashlib, json;"
        "from cookbook_hub.generation.generate import batch_for;"
        "from cookbook_hub.templates import get_template;"
        "rows = batch_for(get_template('span_qa'), range(500, 600), 3, 'chat').to_pylist();"
        "print(hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    rows = batch_for(get_template("span_qa"), range(500, 600), 3, "chat").to_pylist()
    assert out.stdout.strip() == hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
