"""YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two duplicate
keys. Manifest errors must name the file, line and column of the bad field, and a
duplicated key in a security policy is a bug, not a style choice. So documents are composed
into nodes, converted with the safe constructor, and walked once to build a map from JSON
pointer to ``(line, column)`` (1-based).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ._pointer import format_pointer

__all__ = ["Document", "YamlProblem", "load_documents"]


@dataclass
class YamlProblem:
    pointer: str
    message: str
    line: int | None
    column: int | None


@dataclass
class Document:
    """One YAML document: its data and the position of every pointer in it."""

    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)
    line: int = 1

    def position(self, pointer: str) -> tuple[int | None, int | None]:
        """The closest known position of ``pointer`` (walking up to its parents)."""
        p = pointer
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return (self.line, 1)
            p = p.rsplit("/", 1)[0]


def _walk(node: yaml.Node, path: list[Any], doc: Document) -> None:
    pointer = format_pointer(path)
    doc.positions[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                doc.problems.append(
                    YamlProblem(
                        format_pointer([*path, key]),
                        f"duplicate key {key!r} (first defined on line {seen[key].start_mark.line + 1})",
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
            seen[key] = key_node
            _walk(value_node, [*path, key], doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, [*path, i], doc)


def load_documents(text: str) -> Iterator[Document]:
    """Yield each document of a YAML stream; raises ``yaml.YAMLError`` (with a mark) on bad YAML."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node guarantees a node
                break
            doc = Document(data=loader.construct_document(node), line=node.start_mark.line + 1)
            _walk(node, [], doc)
            yield doc
    finally:
        loader.dispose()
