"""Parsing and validating publish targets and version tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from cookbook_hub.errors import CookbookError, TargetError
from cookbook_hub.hub.targets import Target, check_tag, parse_target


@pytest.mark.parametrize(
    ("value", "namespace", "name", "root"),
    [
        ("hf://my-org/cookbook-gpt4all", "my-org", "cookbook-gpt4all", None),
        ("hf://user_1/data.v2", "user_1", "data.v2", None),
        ("hub/local/cookbook-gpt4all", "local", "cookbook-gpt4all", Path("hub")),
        ("/abs/path/hub/ns/name", "ns", "name", Path("/abs/path/hub")),
        ("ns/name/", "ns", "name", Path(".")),
        ("a/" + "n" * 96, "a", "n" * 96, Path(".")),
    ],
)
def test_valid_targets(value: str, namespace: str, name: str, root: Path | None) -> None:
    target = parse_target(value)
    assert (target.namespace, target.name, target.root) == (namespace, name, root)
    assert target.repo_id == f"{namespace}/{name}"
    assert target.is_hub == (root is None)


def test_target_strings_and_paths() -> None:
    assert str(parse_target("hf://ns/name")) == "hf://ns/name"
    local = parse_target("hub/ns/name")
    assert local.path == Path("hub/ns/name") and str(local) == "hub/ns/name"
    with pytest.raises(TargetError, match="is a Hub repo"):
        _ = Target("ns", "name").path


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("hf://a/b/c", "exactly two parts"),
        ("hf://name", "exactly two parts"),
        ("hf://ns/name/", "exactly two parts"),
        ("hf:///name", "namespace '' in target 'hf:///name' is empty"),
        ("hf://ns/", "name '' in target 'hf://ns/' is empty"),
        ("hf://ns/my data", "may only use letters"),
        ("hf://ns/na..me", "may not contain '--' or '..'"),
        ("hf://ns/na--me", "may not contain '--' or '..'"),
        ("hf://-ns/name", "may not start or end"),
        ("hf://ns/name.", "may not start or end"),
        ("hf://ns/" + "n" * 97, "longer than 96"),
        ("hf://ns/name.git", "not a valid repo id"),
        ("hub/../name", "may not contain '--' or '..'"),
        ("hub/local/my data", "may only use letters"),
        ("hub/lo cal/name", "may only use letters"),
        ("name", "must end in <namespace>/<name>"),
        ("", "must end in <namespace>/<name>"),
        ("s3://bucket/name", "unsupported scheme"),
    ],
)
def test_invalid_targets_name_the_value_and_the_fix(value: str, problem: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(value)
    message = str(info.value)
    assert problem in message
    assert repr(value) in message
    assert "fix: write hf://<namespace>/<name>" in message
    assert isinstance(info.value, CookbookError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("tag", ["v0.1.0", "v1.2.3", "v10.20.30", "v1.0.0-rc.1", "v2.0.0-beta"])
def test_valid_tags(tag: str) -> None:
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["0.1.0", "v1", "v1.2", "v01.2.3", "v1.2.3.4", "V1.2.3", "v1.2.3-", "latest", ""])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(TargetError, match="is not a version") as info:
        check_tag(tag)
    assert "v<major>.<minor>.<patch>" in str(info.value)
