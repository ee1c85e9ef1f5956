"""Bounded readers of what users write: JSON and YAML with limits on size, nesting and alias expansion.

Every recipe, `train --config` file, `--params` value, task-file line, record of a built or trained folder
(`read_json`) and card front matter goes through `parse_json` or `load_yaml`, so that no input can exhaust
memory or the stack ("billion laughs", deep nesting) or bring values JSON does not allow (NaN, Infinity,
floats that overflow).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cookbook_hub.errors import CookbookError, ParameterError
from cookbook_hub.fs import one_line

MAX_DEPTH = 32  # nesting levels of a JSON or YAML value read from a user
YAML_MAX_CHARS = 1 << 20  # a YAML document read from a user
YAML_MAX_NODES = 100_000  # its values once every alias is expanded (a "billion laughs" expands to 10**9)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows; write a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large for a float")
    return value


def json_depth(value: Any) -> int:
    """How deeply lists and mappings nest in `value` (0 for a scalar), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, Mapping) else item if isinstance(item, list | tuple) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(text: str) -> Any:
    """`json.loads` for text from a user: NaN, Infinity, numbers too large for a float or an int, and values
    nested deeper than MAX_DEPTH levels raise ValueError (json.JSONDecodeError for bad syntax) saying so."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        if json_depth(value) <= MAX_DEPTH:
            return value
    except RecursionError:
        pass
    raise ValueError(f"nested deeper than {MAX_DEPTH} levels")


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than MAX_DEPTH as it composes (before the stack runs out)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels (line {self.peek_event().start_mark.line + 1})")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded(node: yaml.Node, depth: int, sizes: dict[int, tuple[int, int]], open_nodes: set[int]) -> tuple[int, int]:
    """(values, levels) of `node` once every alias is expanded; refuses a node inside itself, more than
    YAML_MAX_NODES values and more than MAX_DEPTH levels."""
    key = id(node)
    if key in sizes:
        size, height = sizes[key]
    elif key in open_nodes:
        raise ValueError(f"an alias at line {node.start_mark.line + 1} refers to a value that contains it")
    else:
        open_nodes.add(key)
        size, height = 1, 1
        for child in _children(node):
            child_size, child_height = _expanded(child, depth + 1, sizes, open_nodes)
            size, height = size + child_size, max(height, child_height + 1)
            if size > YAML_MAX_NODES:
                break
        open_nodes.discard(key)
        sizes[key] = size, height
    if size > YAML_MAX_NODES:
        raise ValueError(f"expands to more than {YAML_MAX_NODES:,} values once its aliases (*name) are expanded")
    if depth + height > MAX_DEPTH + 1:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels once its aliases (*name) are expanded")
    return size, height


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):  # keys and values
        return [part for pair in node.value for part in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


def load_yaml(text: str, source: str, error: type[CookbookError] = ParameterError) -> Any:
    """One YAML document from a user (a recipe, a `--config` file), read by PyYAML's safe loader within bounds: at
    most YAML_MAX_CHARS characters, MAX_DEPTH levels and YAML_MAX_NODES values once aliases are expanded (a "billion
    laughs" is refused at once). Anything wrong raises `error` naming `source` and the problem."""
    if len(text) > YAML_MAX_CHARS:
        raise error(f"{source}: longer than {YAML_MAX_CHARS:,} characters", fix="a YAML file here is a few KB")
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded(node, 1, {}, set())
        return loader.construct_document(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise error(
            f"{source}: not valid YAML: {one_line(str(exc))}", fix="write plain YAML within these bounds"
        ) from None


def read_json(path: Path, *, what: str, missing: str, fix: str) -> dict[str, Any]:
    """Parse a JSON file holding an object (`what` it is, for messages); a missing file raises
    ParameterError(`missing`), anything else that is not a JSON object a ParameterError naming the file."""
    try:
        value = parse_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ParameterError(missing, fix=fix) from None
    except ValueError as exc:  # invalid JSON or not UTF-8
        raise ParameterError(f"{str(path)!r} is not a valid {what}: {exc}", fix=fix) from None
    except OSError as exc:
        raise ParameterError(f"cannot read {what} {str(path)!r}: {exc.strerror}", fix=fix) from None
    if not isinstance(value, dict):
        raise ParameterError(
            f"{str(path)!r} is not a valid {what}: it holds a {type(value).__name__}, not an object", fix=fix
        )
    return value
