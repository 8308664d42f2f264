"""Races that only PostgreSQL's READ COMMITTED lets happen (SQLite serialises writers).

Each test makes the race deterministic: an admin connection locks the table so that both
racers have read before either may write, then lets them go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from pgfixture import SQL_BACKENDS, store_url

from toolguard.approvals import SqlApproverStore
from toolguard.approvals.approvers import ApproverExists
from toolguard.cutoff import SqlKillList
from toolguard.stores.sql import Database


@pytest.fixture(params=SQL_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    return store_url(request.param, request, tmp_path)


@pytest.fixture
def dbs(url: str) -> Iterator[list[Database]]:
    out = [Database(url) for _ in range(2)]
    yield out
    for d in out:
        d.close()


def _race(url: str, table: str, mode: str, fns: list[Callable[[], Any]]) -> list[Any]:
    """Run ``fns`` in threads while ``table`` is locked in ``mode`` (PostgreSQL), then release."""
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        try:
            results[i] = fns[i]()
        except Exception as exc:  # collected: the test asserts on it
            results[i] = exc

    admin = None
    if url.startswith("postgresql"):
        admin = psycopg.connect(url, autocommit=False)
        admin.execute(f"LOCK TABLE {table} IN {mode} MODE")
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    if admin is not None:
        # Both racers have read and now wait for the lock to write.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (waiting,) = admin.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", (table,)
            ).fetchone() or (0,)
            if waiting >= len(fns):
                break
            time.sleep(0.01)
        admin.rollback()
        admin.close()
    for t in threads:
        t.join(30)
    return results


def test_two_replicas_adding_the_same_approver_cannot_both_succeed(url, dbs):
    stores = [SqlApproverStore(d) for d in dbs]
    results = _race(url, "toolguard_approvers", "SHARE ROW EXCLUSIVE", [lambda s=s: s.add("bob", ["mail"]) for s in stores])
    ok = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ApproverExists)]
    assert len(ok) == 1 and len(refused) == 1, results
    # The token handed out is the one that works.
    assert stores[0].authenticate(ok[0][1]).name == "bob"


def test_two_replicas_lifting_a_cut_off_record_one_lift(url, dbs):
    lists = [SqlKillList(d) for d in dbs]
    lists[0].cut("mallory", "too many denials")
    results = _race(url, "toolguard_cutoff", "EXCLUSIVE", [lambda k=k, i=i: k.lift("mallory", f"op{i}") for i, k in enumerate(lists)])
    lifted = [r for r in results if r is not None]
    assert len(lifted) == 1 and all(r is None or r.principal == "mallory" for r in results), results
    assert len(lists[1].history("mallory")) == 1
    assert lists[0].get("mallory") is None
