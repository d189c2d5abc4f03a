"""Strict, bounded YAML reading for policy files: duplicate keys rejected, locations kept.

The composed node tree is kept next to the data so that a JSON Schema error at a JSON pointer
can be reported with the line and column it comes from.

A policy file is small and plain, so anything else is refused *before* Python objects are
built from it, with the line where it happens: a file larger than :data:`MAX_POLICY_BYTES`,
collections nested deeper than :data:`MAX_DEPTH`, and a document that would hold more than
:data:`MAX_VALUES` values once its aliases are expanded (a "billion laughs" anchor bomb of a
few kilobytes) or an alias inside the node it refers to. Sizes are added up while the node
graph is composed, so an alias costs one addition whatever it expands to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: The largest policy file read, in bytes.
MAX_POLICY_BYTES = 256 * 1024
#: The deepest nesting of mappings and sequences.
MAX_DEPTH = 32
#: The most values (scalars, mappings and sequences) a document holds, aliases expanded.
MAX_VALUES = 50_000


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last one, and
    refuses deep nesting and alias expansion beyond the limits while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, counting its values (aliases included) and its depth."""
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, "an alias refers to the node that contains it", mark
                )
            return self._counted(node, self._sizes[id(node)], mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", mark
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        size = 1 + sum(self._sizes[id(child)] for child in children)
        self._sizes[id(node)] = size
        return self._counted(node, size, mark)

    @staticmethod
    def _counted(node: yaml.Node, size: int, mark: yaml.Mark) -> yaml.Node:
        if size > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"holds more than {MAX_VALUES:,} values (counting what aliases repeat)",
                mark,
            )
        return node

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


def read_policy_bytes(path: Path) -> bytes:
    """The bytes of the policy file at ``path``, refused when larger than MAX_POLICY_BYTES.

    Raises :class:`YamlProblem` for a file too large (read no further than the limit) and
    ``OSError`` when it cannot be read.
    """
    with path.open("rb") as file:
        raw = file.read(MAX_POLICY_BYTES + 1)
    if len(raw) > MAX_POLICY_BYTES:
        raise YamlProblem(_too_large(), None, None)
    return raw


def _too_large() -> str:
    return f"larger than {MAX_POLICY_BYTES // 1024} KiB, the most a policy file may hold"


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document strictly; raise :class:`YamlProblem` with its position."""
    if len(text) > MAX_POLICY_BYTES:  # each character is at least one byte
        raise YamlProblem(_too_large(), None, None)
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
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2026-02-30
        raise YamlProblem(f"a value cannot be read ({exc})", None, None) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)
