"""Shared fixtures. Tests never see the developer's TOOLGUARD_* settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Property tests judge behaviour, not speed (speed lives in benchmarks/): no per-example
# deadline, which a loaded shared machine would turn into random failures.
settings.register_profile("toolguard", deadline=None, print_blob=True)
settings.load_profile("toolguard")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TOOLGUARD_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of the ``toolguard`` database on a private PostgreSQL server (tests/pgfixture.py).

    Started once per session on 127.0.0.1 and torn down at the end. Skipped when the server
    binaries are missing, except in CI (env ``CI`` set), where that fails.
    """
    from pgfixture import cluster_or_skip

    with cluster_or_skip() as cluster:
        yield cluster.url()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> str:
    """A URL whose search path starts with an empty schema of this test's own."""
    from pgfixture import fresh_schema_url

    return fresh_schema_url(postgres_url)
