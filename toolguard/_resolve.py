"""Pointers compiled once per manifest into plain functions (the accounting hot path).

:func:`compile_pointer` turns parsed pointer tokens into a function that returns what
:func:`toolguard._pointer.resolve` yields for them, as a list. The shapes manifests use most
(``/key`` and ``/key/*``) become a dict lookup and a loop; every other pointer goes through
``resolve`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _pointer

__all__ = ["Resolver", "compile_pointer"]

Resolver = Callable[[Any], list[tuple[str, Any]]]
_MISSING = object()


def compile_pointer(tokens: tuple[Any, ...]) -> Resolver:
    """A function yielding what :func:`_pointer.resolve` yields for ``tokens``, built once.

    The two shapes manifests use most (``/key`` and ``/key/*``) are answered with a dict
    lookup and a loop; every other pointer goes through :func:`_pointer.resolve`.
    """
    if len(tokens) == 1 and isinstance(tokens[0], str) and tokens[0] is not _pointer.WILDCARD:
        key = tokens[0]
        ptr = "/" + key.replace("~", "~0").replace("/", "~1")

        def one(args: Any) -> list[tuple[str, Any]]:
            if isinstance(args, dict) and key in args:
                return [(ptr, args[key])]
            return list(_pointer.resolve(args, tokens))

        return one
    if len(tokens) == 2 and isinstance(tokens[0], str) and tokens[0] is not _pointer.WILDCARD and tokens[1] is _pointer.WILDCARD:
        key = tokens[0]
        ptr = "/" + key.replace("~", "~0").replace("/", "~1")

        def each(args: Any) -> list[tuple[str, Any]]:
            if isinstance(args, dict):
                value = args.get(key, _MISSING)
                if isinstance(value, list):
                    return [(f"{ptr}/{i}", item) for i, item in enumerate(value)]
            return list(_pointer.resolve(args, tokens))

        return each
    return lambda args: list(_pointer.resolve(args, tokens))
