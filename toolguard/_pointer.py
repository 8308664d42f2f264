"""JSON pointers (RFC 6901) with ``*`` standing for every item of an array or object.

Manifests name arguments by pointer (``/to/*``, ``/message/attachments/*/url``). A pattern
is parsed once at load time into a tuple of tokens; :func:`resolve` walks a value and yields
every concrete ``(pointer, value)`` it names. A literal ``*`` key is written ``~2``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WILDCARD", "Resolver", "compile_resolver", "format_pointer", "parse_pointer", "resolve", "walk_strings"]


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
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def format_pointer(path: tuple[Any, ...] | list[Any]) -> str:
    """Format a concrete path (keys and indexes) as a JSON pointer."""
    return "".join("/" + _escape(str(p)) for p in path)


def resolve(value: Any, tokens: tuple[Any, ...], _prefix: str = "") -> list[tuple[str, Any]]:
    """Every ``(pointer, value)`` the tokens name that exists in ``value``, in document order.

    Breadth-first over the tokens (each level keeps its parents' order, so the leaves come
    out in the same order a depth-first walk would give); this runs on every call.
    """
    found: list[tuple[str, Any]] = [(_prefix, value)]
    for tok in tokens:
        nxt: list[tuple[str, Any]] = []
        add = nxt.append
        if tok is WILDCARD:
            for p, v in found:
                if isinstance(v, list):
                    for i, item in enumerate(v):
                        add((f"{p}/{i}", item))
                elif isinstance(v, dict):
                    for k, item in v.items():
                        add((f"{p}/{_escape(str(k))}", item))
        else:
            for p, v in found:
                if isinstance(v, dict):
                    if tok in v:
                        add((p + "/" + _escape(tok), v[tok]))
                elif isinstance(v, list) and _is_index(tok):
                    i = int(tok)
                    if i < len(v):
                        add((f"{p}/{tok}", v[i]))
        if not nxt:
            return nxt
        found = nxt
    return found


def _is_index(tok: str) -> bool:
    return tok.isdigit() and (tok == "0" or not tok.startswith("0"))


#: ``value -> [(pointer, value)]``: a pointer compiled by :func:`compile_resolver`.
Resolver = Callable[[Any], list[tuple[str, Any]]]


def compile_resolver(tokens: tuple[Any, ...]) -> Resolver:
    """A function equal to ``lambda value: resolve(value, tokens)``, specialised at load time.

    The shapes manifests use most (``/key`` and ``/key/*``) get a direct lookup; any other
    pointer falls back to :func:`resolve`.
    """
    if len(tokens) in (1, 2) and tokens[0] is not WILDCARD and not _is_index(tokens[0]):
        key = tokens[0]
        ptr = "/" + _escape(key)
        if len(tokens) == 1:

            def one(value: Any) -> list[tuple[str, Any]]:
                if isinstance(value, dict) and key in value:
                    return [(ptr, value[key])]
                return []

            return one
        if tokens[1] is WILDCARD:

            def each(value: Any) -> list[tuple[str, Any]]:
                if isinstance(value, dict) and key in value:
                    v = value[key]
                    if isinstance(v, list):
                        return [(f"{ptr}/{i}", item) for i, item in enumerate(v)]
                    if isinstance(v, dict):
                        return [(f"{ptr}/{_escape(str(k))}", item) for k, item in v.items()]
                return []

            return each

    def general(value: Any) -> list[tuple[str, Any]]:
        return resolve(value, tokens)

    return general


def walk_strings(value: Any, _prefix: str = "") -> list[tuple[str, str]]:
    """Every ``(pointer, string)`` inside ``value`` (keys excluded), in document order."""
    if isinstance(value, str):
        return [(_prefix, value)]
    out: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(_prefix, value)]
    pop, push = stack.pop, stack.append
    while stack:
        p, v = pop()
        if isinstance(v, str):
            out.append((p, v))
        elif isinstance(v, dict):
            # Pushed in reverse so that they come off the stack in document order.
            for k, item in reversed(v.items()):
                push((f"{p}/{_escape(str(k))}", item))
        elif isinstance(v, list):
            for i in range(len(v) - 1, -1, -1):
                push((f"{p}/{i}", v[i]))
    return out
