"""Fixtures of the approval tests: one contract suite over every store backend.

``stores`` runs over ``pgfixture.BACKENDS``: memory, a SQLite file and a fresh schema on the
PostgreSQL server the tests start (``postgres`` marker; see tests/pgfixture.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from appr_support import store_url
from pgfixture import BACKENDS as ALL_BACKENDS
from pgfixture import store_url as backend_url

from toolguard.approvals import ApprovalStore, ApproverStore, open_stores


@dataclass
class Stores:
    kind: str
    url: str
    holds: ApprovalStore
    approvers: ApproverStore


@pytest.fixture(params=ALL_BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Stores]:
    # memory, a SQLite file and a fresh schema on the tests' PostgreSQL server (tests/pgfixture.py)
    url = backend_url(request.param, request, tmp_path)
    holds, approvers = open_stores(url)
    yield Stores(request.param, url, holds, approvers)
    db = getattr(holds, "db", None)
    if db is not None:
        db.close()


@pytest.fixture
def sqlite_stores(tmp_path: Any) -> Iterator[Stores]:
    url = store_url("sqlite", tmp_path)
    holds, approvers = open_stores(url)
    yield Stores("sqlite", url, holds, approvers)
    holds.db.close()  # type: ignore[attr-defined]
