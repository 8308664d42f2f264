"""A guard on PostgreSQL fails closed while the database is down, and recovers when it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pgfixture import Cluster, fresh_schema_url

from toolguard import Call, Guard, Policy
from toolguard.approvals import SqlApprovalStore
from toolguard.cutoff import SqlKillList
from toolguard.manifest import ManifestSet, manifest_from_dict
from toolguard.stores.notify import PgChangeNotifier, WatchedKillList
from toolguard.stores.sql import Database

pytestmark = pytest.mark.postgres

MAIL = {
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {"type": "object", "properties": {"to": {"type": "array", "items": {"type": "string"}}, "body": {"type": "string"}}},
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/body"],
    "output": {"trust": "trusted"},
    "limits": {"calls": {"max": 1000, "per": "1h"}},
    "approval": {"roles": ["mail-approvers"]},
}


class Tool:
    def __init__(self) -> None:
        self.ran = 0

    def __call__(self, args: object) -> str:
        self.ran += 1
        return "sent"


@pytest.fixture
def replica(own_cluster: Cluster) -> Iterator[tuple[Guard, Cluster]]:
    if own_cluster.stopped:
        own_cluster.start()
    url = fresh_schema_url(own_cluster.url())
    db = Database(url)
    notifier = PgChangeNotifier(db)
    guard = Guard(
        ManifestSet.of([manifest_from_dict(MAIL)]),
        policy=Policy(store=url),
        holds=SqlApprovalStore(db),
        kill_list=WatchedKillList(SqlKillList(db), notifier),
        telemetry=False,
    )
    yield guard, own_cluster
    notifier.close()
    db.close()
    if own_cluster.stopped:
        own_cluster.start()


def _send(guard: Guard, tool: Tool, to: str, n: int) -> tuple[str, tuple[str, ...], float]:
    t0 = time.monotonic()
    out = guard.run(guard.session("alice", "c"), Call("send_email", {"to": [to], "body": "numbers"}, f"c{n}"), tool)
    return out.status, out.decision.codes, time.monotonic() - t0


def test_calls_are_denied_with_store_unavailable_while_the_database_is_down(replica):
    guard, cluster = replica
    tool = Tool()
    assert _send(guard, tool, "bob@acme.example", 0)[:2] == ("executed", ())
    cluster.stop()
    down = time.monotonic()
    seen: list[tuple[str, tuple[str, ...], float]] = []
    while time.monotonic() - down < 3.0:
        seen.append(_send(guard, tool, "bob@acme.example", len(seen) + 1))
        if seen[-1][0] == "denied":
            break
        time.sleep(0.01)
    status, codes, took = seen[-1]
    assert status == "denied" and "store.unavailable" in codes, seen
    assert time.monotonic() - down < 2.0, seen  # noticed at once: the listener's loss empties caches
    assert took < 2.0  # the bounded retry
    ran_before = tool.ran
    for n in range(3):
        status, codes, took = _send(guard, tool, "bob@acme.example", 100 + n)
        assert (status, "store.unavailable" in codes) == ("denied", True) and took < 2.0
    # A call that would be held cannot be stored: denied too, never lost silently.
    status, codes, _ = _send(guard, tool, "eve@evil.test", 200)
    assert status == "denied" and "store.unavailable" in codes
    assert tool.ran == ran_before


def test_the_guard_recovers_when_the_database_is_back(replica):
    guard, cluster = replica
    tool = Tool()
    assert _send(guard, tool, "bob@acme.example", 0)[0] == "executed"
    cluster.stop()
    assert _send(guard, tool, "bob@acme.example", 1)[0] in ("denied", "executed")  # leases may still cover one
    cluster.start()
    deadline = time.monotonic() + 10
    while _send(guard, tool, "bob@acme.example", 2)[0] != "executed":
        assert time.monotonic() < deadline, "the guard did not recover"
        time.sleep(0.05)
    status, codes, _ = _send(guard, tool, "eve@evil.test", 3)
    assert status == "held" and "destination.not_allowed" in codes
