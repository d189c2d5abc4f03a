"""Strict YAML reading for policy files: duplicate keys rejected, locations kept.

The composed node tree is kept next to the data so that a JSON Schema error at a JSON pointer
can be reported with the line and column it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first defined on line {first})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class YamlProblem(Exception):
    """The text is not valid YAML (or has duplicate keys); ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Parsed data of one YAML document and its node tree, for locating JSON pointers."""

    data: Any
    root: yaml.Node | None

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """1-based line of the value at ``path`` (keys and indexes), or of its nearest parent."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for step in path:
            node = _child(node, step)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(step):
                return value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document strictly; raise :class:`YamlProblem` with its position."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}: {problem}"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise YamlProblem(problem, line, column) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(str(exc), None, None) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)
