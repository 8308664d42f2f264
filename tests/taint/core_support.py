"""What the tests of the taint ledger's C core share: ledgers built with it or with the numpy
fallback, and the contents of a ledger's index."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import toolguard.taint as T


@contextlib.contextmanager
def core(accelerated: bool) -> Iterator[None]:
    """Within the block, new ledgers use the C core (``accelerated``) or the numpy fallback."""
    saved = T._C
    T._C = importlib.import_module("toolguard._taintc") if accelerated else None
    try:
        yield
    finally:
        T._C = saved


def ledger(accelerated: bool, **kwargs: Any) -> T.TaintLedger:
    """A new ledger on the C core or on the numpy fallback."""
    with core(accelerated):
        return T.TaintLedger(**kwargs)


def contents(led: T.TaintLedger) -> list[tuple[int, int]]:
    """Every (key, value) entry of the ledger's index, its buffer flushed first, sorted."""
    led._index.flush()
    pairs: list[tuple[int, int]] = []
    for run in led._index.runs:
        pairs += zip(run.keys.tolist(), run.vals.tolist(), strict=True)
    return sorted(pairs)
