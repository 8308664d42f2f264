"""Fixtures of the multi-process tests: four replica processes on one shared database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mp_support import Fleet
from pgfixture import SQL_BACKENDS, fresh_schema_url

from toolguard.approvals import SqlApproverStore
from toolguard.stores.sql import Database


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Four replicas (each its own process and Guard) on one PostgreSQL schema or one SQLite file."""
    folder = tmp_path_factory.mktemp(f"fleet-{request.param}")
    if request.param == "postgresql":
        url = fresh_schema_url(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{folder}/state.db"
    f = Fleet(request.param, url, folder)
    yield f
    f.stop()


@pytest.fixture
def db(fleet: Fleet) -> Iterator[Database]:
    """This test process's own connection to the fleet's database."""
    d = Database(fleet.url)
    yield d
    d.close()


@pytest.fixture
def approver_token(db: Database) -> str:
    """A token of an approver allowed to decide the mail tools' holds."""
    import uuid

    return SqlApproverStore(db).add(f"bob-{uuid.uuid4().hex[:6]}", ["mail-approvers"])[1]
