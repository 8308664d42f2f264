"""JSON pointers (RFC 6901) with ``*`` standing for every item of an array or object.

Manifests name arguments by pointer (``/to/*``, ``/message/attachments/*/url``). A pattern
is parsed once at load time into a tuple of tokens; :func:`resolve` walks a value and yields
every concrete ``(pointer, value)`` it names. A literal ``*`` key is written ``~2``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["WILDCARD", "format_pointer", "parse_pointer", "resolve", "walk_strings"]


class _Wildcard:
    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


WILDCARD: Any = _Wildcard()


def parse_pointer(pointer: str, *, wildcards: bool = True) -> tuple[Any, ...]:
    """Parse ``/a/*/b`` into tokens; raise ValueError with the reason on a bad pointer."""
    if not isinstance(pointer, str):
        raise ValueError(f"a JSON pointer must be a string, not {type(pointer).__name__}")
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with '/'")
    tokens: list[Any] = []
    for raw in pointer[1:].split("/"):
        if wildcards and raw == "*":
            tokens.append(WILDCARD)
            continue
        i = raw.find("~")
        while i != -1:
            if i + 1 >= len(raw) or raw[i + 1] not in "012":
                raise ValueError(f"JSON pointer {pointer!r}: '~' must be followed by 0, 1 or 2")
            i = raw.find("~", i + 2)
        tokens.append(raw.replace("~2", "*").replace("~1", "/").replace("~0", "~"))
    return tuple(tokens)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def format_pointer(path: tuple[Any, ...] | list[Any]) -> str:
    """Format a concrete path (keys and indexes) as a JSON pointer."""
    return "".join("/" + _escape(str(p)) for p in path)


def resolve(value: Any, tokens: tuple[Any, ...], _prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(pointer, value)`` for every location the tokens name that exists in ``value``."""
    if not tokens:
        yield _prefix, value
        return
    head, rest = tokens[0], tokens[1:]
    if head is WILDCARD:
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from resolve(item, rest, f"{_prefix}/{i}")
        elif isinstance(value, dict):
            for k, item in value.items():
                yield from resolve(item, rest, f"{_prefix}/{_escape(str(k))}")
        return
    if isinstance(value, dict):
        if head in value:
            yield from resolve(value[head], rest, f"{_prefix}/{_escape(head)}")
    elif isinstance(value, list) and head.isdigit() and (head == "0" or not head.startswith("0")):
        i = int(head)
        if i < len(value):
            yield from resolve(value[i], rest, f"{_prefix}/{head}")


def walk_strings(value: Any, _prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(pointer, string)`` for every string inside ``value`` (keys excluded)."""
    if isinstance(value, str):
        yield _prefix, value
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from walk_strings(item, f"{_prefix}/{_escape(str(k))}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_strings(item, f"{_prefix}/{i}")
