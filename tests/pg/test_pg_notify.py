"""Cross-replica change notification: memory, SQLite (polling) and PostgreSQL (LISTEN/NOTIFY).

"Another process" is played by a second Database (its own connections) in threads, and by a
real subprocess where it matters; the stores' triggers notify on every write, whoever writes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgfixture import BACKENDS, store_url, wait_until

from toolguard import Call, HoldRequest
from toolguard.approvals import MemoryApproverStore, SqlApprovalStore
from toolguard.cutoff import KillList, SqlKillList
from toolguard.errors import ConfigError
from toolguard.findings import Finding, combine
from toolguard.manifest import manifest_from_dict
from toolguard.stores.notify import (
    Change,
    ChangeNotifier,
    MemoryChangeNotifier,
    PgChangeNotifier,
    PollingChangeNotifier,
    WatchedKillList,
    install_triggers,
    open_notifier,
    wait_for_decision,
)
from toolguard.stores.sql import Database

ROOT = Path(__file__).resolve().parents[2]
MAIL = manifest_from_dict(
    {
        "tool": "send_email",
        "side_effect": "external_write",
        "arguments": {"type": "object", "properties": {"to": {"type": "string"}}},
        "approval": {"roles": ["mail-approvers"], "ttl": "1h"},
    }
)


def hold_request(requested_at: float = 1_000.0) -> HoldRequest:
    finding = Finding(code="destination.not_allowed", message="not on the allow-list", pointer="/to", action="hold")
    decision = combine([finding], tool="send_email", call_id="c1").with_id("d1")
    hold_id = "h_" + uuid.uuid4().hex[:20]
    return HoldRequest(hold_id, decision, Call("send_email", {"to": "eve@evil.test"}, "c1"), "alice", "conv", MAIL, requested_at)


class Backend:
    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.dbs: list[Database] = []
        self.notifiers: list[ChangeNotifier] = []

    def database(self) -> Database:
        """A Database of its own (own connections), like another process would have."""
        db = Database(self.url)
        self.dbs.append(db)
        return db

    def notifier(self) -> ChangeNotifier:
        if self.kind == "memory":
            n: ChangeNotifier = self.notifiers[0] if self.notifiers else MemoryChangeNotifier()
        else:
            db = self.database()
            n = PgChangeNotifier(db) if db.dialect == "postgresql" else PollingChangeNotifier(db)
        self.notifiers.append(n)
        return n


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(request.param, store_url(request.param, request, tmp_path))
    yield b
    for n in b.notifiers:
        n.close()
    for db in b.dbs:
        db.close()


def _take(sub, timeout: float = 2.0) -> Change | None:
    """The next non-resync change."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ch = sub.wait(left)
        if ch is None or not ch.resync:
            return ch
    return None


def test_notifiers_match_the_protocol(backend):
    assert isinstance(backend.notifier(), ChangeNotifier)


def test_a_published_change_reaches_every_listener_within_a_second(backend):
    a, b = backend.notifier(), backend.notifier()
    with a.listen("jobs") as sa, b.listen("jobs") as sb, b.listen("other") as so:
        t0 = time.monotonic()
        a.publish("jobs", "j1 done")
        assert _take(sa) == Change("jobs", "j1 done")
        assert _take(sb) == Change("jobs", "j1 done")
        assert time.monotonic() - t0 < 1.0
        assert so.wait(0.3) is None  # another channel hears nothing


def test_a_listener_gets_only_changes_published_after_it_listened(backend):
    a, b = backend.notifier(), backend.notifier()
    a.publish("jobs", "before")
    time.sleep(0.05)
    with b.listen("jobs") as sub:
        a.publish("jobs", "after")
        assert _take(sub) == Change("jobs", "after")
        assert sub.wait(0.3) is None


def test_changes_arrive_in_order_and_none_is_lost(backend):
    a, b = backend.notifier(), backend.notifier()
    with b.listen("seq") as sub:
        for i in range(50):
            a.publish("seq", str(i))
        got: list[str] = []
        while len(got) < 50 and (ch := _take(sub)) is not None:
            got.append(ch.payload)
    assert got == [str(i) for i in range(50)]


def test_a_closed_subscription_stops_waiting(backend):
    n = backend.notifier()
    sub = n.listen("jobs")
    threading.Timer(0.1, sub.close).start()
    t0 = time.monotonic()
    assert sub.wait(5.0) is None
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize(
    ("channel", "payload"),
    [("", ""), ("Upper", ""), ("has space", ""), ("x" * 41, ""), ("ok", "x" * 5000), ("ok", b"bytes")],
    ids=["empty", "upper-case", "space", "too-long", "payload-too-big", "payload-not-str"],
)
def test_bad_channels_and_payloads_are_refused(backend, channel, payload):
    n = backend.notifier()
    with pytest.raises(ConfigError):
        n.publish(channel, payload)


# -- triggers: the stores notify, whoever writes ------------------------------------------


@pytest.fixture(params=[p for p in BACKENDS if p.values[0] != "memory"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(request.param, store_url(request.param, request, tmp_path))
    yield b
    for n in b.notifiers:
        n.close()
    for db in b.dbs:
        db.close()


def test_an_approval_decided_elsewhere_is_announced(sql_backend):
    writer = SqlApprovalStore(sql_backend.database())
    approvers = MemoryApproverStore()
    bob, _ = approvers.add("bob", ["mail-approvers"])
    assert install_triggers(writer.db) == ("approvals",)
    notifier = sql_backend.notifier()
    with notifier.listen("approvals") as sub:
        rec = writer.create(hold_request(time.time()))
        assert _take(sub) == Change("approvals", f"{rec.id} pending")
        writer.decide(rec.id, bob, "approve", "fine")
        assert _take(sub) == Change("approvals", f"{rec.id} approved")
        assert writer.claim(rec.id)
        assert _take(sub) == Change("approvals", f"{rec.id} executing")


def test_a_cut_off_and_its_lifting_are_announced(sql_backend):
    kills = SqlKillList(sql_backend.database())
    notifier = sql_backend.notifier()
    with notifier.listen("cutoff") as sub:  # the trigger is installed on the way
        kills.cut("mallory team", "too many denials")
        assert _take(sub) == Change("cutoff", "mallory team cut")
        kills.cut("mallory team", "again")  # already cut off: nothing changes, nothing announced
        kills.lift("mallory team", "ops")
        assert _take(sub) == Change("cutoff", "mallory team lift")


def test_wait_for_decision_wakes_on_the_notification(sql_backend):
    """``recheck`` is 30 s: only the notification can end the wait within a second."""
    backend = sql_backend
    store = SqlApprovalStore(backend.database())
    deciding = SqlApprovalStore(backend.database())
    notifier = open_notifier(backend.database())
    backend.notifiers.append(notifier)
    approvers = MemoryApproverStore()
    bob, _ = approvers.add("bob", ["mail-approvers"])
    rec = store.create(hold_request(requested_at=time.time()))
    decided_at: list[float] = []

    def decide() -> None:
        time.sleep(0.3)
        deciding.decide(rec.id, bob, "deny", "not to that address")
        decided_at.append(time.monotonic())

    threading.Thread(target=decide).start()
    got = wait_for_decision(store, rec.id, 10.0, notifier=notifier, recheck=30.0)
    woke = time.monotonic()
    assert got.status == "denied" and got.reason == "not to that address"
    assert decided_at and woke - decided_at[0] < 1.0


def test_wait_for_decision_times_out_on_a_pending_hold(sql_backend):
    store = SqlApprovalStore(sql_backend.database())
    rec = store.create(hold_request(requested_at=time.time()))
    notifier = open_notifier(store.db)
    sql_backend.notifiers.append(notifier)
    t0 = time.monotonic()
    assert wait_for_decision(store, rec.id, 0.5, notifier=notifier).status == "pending"
    assert 0.45 < time.monotonic() - t0 < 1.5


def test_a_change_made_by_another_process_arrives_within_a_second(sql_backend):
    notifier = sql_backend.notifier()
    code = (
        "import sys; from toolguard.stores.sql import Database; from toolguard.stores.notify import open_notifier;"
        "open_notifier(Database(sys.argv[1])).publish('jobs', 'from-child')"
    )
    with notifier.listen("jobs") as sub:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code, sql_backend.url], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert proc.returncode == 0, proc.stderr
        done = time.monotonic()
        assert _take(sub, 5.0) == Change("jobs", "from-child")
        assert time.monotonic() - done < 1.0, time.monotonic() - t0


@pytest.mark.postgres
def test_the_pg_listener_survives_a_dropped_connection(postgres_url, fresh_postgres_url):
    db = Database(fresh_postgres_url)
    n = PgChangeNotifier(db)
    try:
        with n.listen("jobs") as sub:
            n.publish("jobs", "one")
            assert _take(sub) == Change("jobs", "one")
            pid = n._conn.info.backend_pid  # the listening connection's server process
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # Whatever was sent while it was down is lost: the subscriber is told to re-read.
            ch = sub.wait(5.0)
            assert ch is not None and ch.resync
            assert wait_until(lambda: n._conn is not None and n._conn.info.backend_pid != pid, 5)
            n.publish("jobs", "two")
            assert _take(sub, 5.0) == Change("jobs", "two")
    finally:
        n.close()
        db.close()


@pytest.mark.postgres
def test_pg_channels_are_scoped_to_the_schema(postgres_url):
    from pgfixture import fresh_schema_url

    one, two = Database(fresh_schema_url(postgres_url)), Database(fresh_schema_url(postgres_url))
    n1, n2 = PgChangeNotifier(one), PgChangeNotifier(two)
    try:
        with n1.listen("jobs") as s1, n2.listen("jobs") as s2:
            n2.publish("jobs", "for two")
            assert _take(s2) == Change("jobs", "for two")
            assert s1.wait(0.3) is None
    finally:
        n1.close()
        n2.close()
        one.close()
        two.close()


def test_open_notifier_picks_the_implementation_by_url(tmp_path):
    assert isinstance(open_notifier("memory://x"), MemoryChangeNotifier)
    assert open_notifier("memory://x") is open_notifier("memory://x")
    url = f"sqlite:///{tmp_path}/n.db"
    n = open_notifier(url)
    assert "PollingChangeNotifier" in repr(n) and open_notifier(url) is n
    n.close()
    assert open_notifier(url) is not n  # a closed notifier is replaced
    open_notifier(url).close()
    with pytest.raises(ConfigError):
        PgChangeNotifier(Database(url))


# -- the kill list, cached until a change is announced -----------------------------------


class CountingKillList(SqlKillList):
    """The real SQL kill list, counting its database reads."""

    reads = 0

    def get(self, principal: str) -> str | None:
        self.reads += 1
        return super().get(principal)


def _until(predicate, timeout: float = 2.0) -> float:
    t0 = time.monotonic()
    assert wait_until(predicate, timeout, interval=0.001)
    return time.monotonic() - t0


def test_a_watched_kill_list_sees_other_replicas_changes_within_a_second(sql_backend):
    inner = CountingKillList(sql_backend.database())
    watched = WatchedKillList(inner, open_notifier(sql_backend.database()))
    sql_backend.notifiers.append(watched.notifier)
    other = SqlKillList(sql_backend.database())  # another replica
    assert isinstance(watched, KillList)
    assert watched.get("mallory") is None and watched.get("mallory") is None
    assert inner.reads == 1  # the second answer came from memory
    other.cut("mallory", "exfiltration attempt")
    assert _until(lambda: watched.get("mallory") == "exfiltration attempt") < 1.0
    other.lift("mallory", "ops")
    assert _until(lambda: watched.get("mallory") is None) < 1.0
    reads = inner.reads
    for _ in range(100):
        watched.get("mallory")
    assert inner.reads == reads
    watched.close()


def test_a_watched_kill_list_sees_its_own_changes_at_once(sql_backend):
    watched = WatchedKillList(SqlKillList(sql_backend.database()), open_notifier(sql_backend.database()))
    sql_backend.notifiers.append(watched.notifier)
    assert watched.get("eve") is None
    watched.cut("eve", "manual")
    assert watched.get("eve") == "manual"
    assert [e.principal for e in watched.list()] == ["eve"] and watched.entry("eve") is not None
    assert watched.lift("eve", "ops") is not None
    assert watched.get("eve") is None and [e.lifted_by for e in watched.history("eve")] == ["ops"]
    watched.close()


def test_a_watched_kill_list_reads_again_after_max_age(sql_backend):
    inner = CountingKillList(sql_backend.database())
    watched = WatchedKillList(inner, open_notifier(sql_backend.database()), max_age=0.05)
    sql_backend.notifiers.append(watched.notifier)
    watched.get("p")
    time.sleep(0.1)
    watched.get("p")
    assert inner.reads == 2
    watched.close()


def test_a_watched_kill_list_refuses_a_caching_inner_list(sql_backend):
    with pytest.raises(ConfigError, match="cache_ttl=0"):
        WatchedKillList(SqlKillList(sql_backend.database(), cache_ttl=1.0))


@pytest.mark.postgres
def test_a_long_schema_name_still_gets_its_own_channels(postgres_url):
    schema = "toolguard_production_replicas_eu_west_" + uuid.uuid4().hex[:8]  # 46 bytes
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    db = Database(f"{postgres_url}?options=-csearch_path%3D{schema}")
    n = PgChangeNotifier(db)
    try:
        kills = SqlKillList(db)
        with n.listen("cutoff") as sub, n.listen("jobs") as jobs:
            kills.cut("mallory", "r")  # the trigger computes the same channel name in SQL
            assert _take(sub) == Change("cutoff", "mallory cut")
            n.publish("jobs", "x")
            assert _take(jobs) == Change("jobs", "x")
    finally:
        n.close()
        db.close()
