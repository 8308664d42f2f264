"""Fast constructors for the frozen, slotted dataclasses built on every call.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; for the
values made per call (``Decision``, ``Source``, ``Destination``) that is a measurable share
of the hot path. :func:`slot_constructor` generates, once per class, a function with the
same parameters (and defaults) that sets the slots through their descriptors: the result
is the same immutable value, equal to and indistinguishable from one made by the class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["slot_constructor"]

T = TypeVar("T")


def slot_constructor(cls: type[T]) -> Callable[..., T]:
    """A function ``(field, ...) -> cls`` that skips the frozen ``__init__`` (slots only)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    ns: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params = []
    for f in fields:
        ns[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            ns[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        else:
            params.append(f.name)
    body = "".join(f"    _set_{n}(o, {n})\n" for n in names)
    exec(f"def make({', '.join(params)}):\n    o = _new(_cls)\n{body}    return o\n", ns)
    make: Callable[..., T] = ns["make"]
    make.__name__ = make.__qualname__ = f"make_{cls.__name__}"
    return make
