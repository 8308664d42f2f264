"""Fixtures of the SQL-layer tests: one database per test, SQLite file or PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgfixture import SQL_BACKENDS, Cluster, cluster_or_skip, store_url

from toolguard.stores.sql import Database


@pytest.fixture(params=SQL_BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty :class:`Database` of each SQL backend."""
    database = Database(store_url(request.param, request, tmp_path))
    yield database
    database.close()


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    """A private PostgreSQL server these tests may stop and start (the session one stays up)."""
    with cluster_or_skip() as cluster:
        yield cluster
