"""The shared SQL layer's contract, on a SQLite file and on a real PostgreSQL server.

Transactions, UPSERT, RETURNING, conditional updates (the claim primitive), versioned
migrations, and the translation of driver errors: a database that cannot be reached raises
StoreUnavailable after a bounded, prompt retry; a connection lost while committing is never
retried.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from pgfixture import Cluster, wait_until

from toolguard.errors import StoreError, StoreUnavailable
from toolguard.stores.sql import Database, Tx, open_database

KV = "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)"
JOBS = "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, owner TEXT)"


def _count(db: Database, table: str) -> int:
    return int(db.query(f"SELECT COUNT(*) FROM {table}")[0][0])


def test_run_returns_the_body_value_and_commits(db):
    db.migrate("t", [KV])
    assert db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))) == 1
    other = Database(db.url)
    try:
        assert other.query("SELECT k, v FROM kv") == [("a", 1)]
    finally:
        other.close()


def test_an_exception_in_the_body_rolls_back_and_propagates_unchanged(db):
    db.migrate("t", [KV])

    class Boom(Exception):
        pass

    def body(tx: Tx) -> None:
        tx.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
        raise Boom("no")

    with pytest.raises(Boom):
        db.run(body)
    assert _count(db, "kv") == 0
    db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("b", 2)))  # the connection is still usable
    assert db.query("SELECT k FROM kv") == [("b",)]


def test_upsert_counts_exactly_under_concurrent_writers(db):
    db.migrate("t", [KV])
    threads, per = 8, 40

    def work() -> None:
        for _ in range(per):
            db.run(
                lambda tx: tx.execute(
                    "INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v", ("n",)
                )
            )

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert db.query("SELECT v FROM kv WHERE k = ?", ("n",)) == [(threads * per,)]


def test_returning_gives_back_the_changed_rows(db):
    db.migrate("t", [JOBS])
    db.run(lambda tx: [tx.execute("INSERT INTO jobs (id, status) VALUES (?, ?)", (f"j{i}", "old" if i % 2 else "new")) for i in range(6)])
    rows = db.run(lambda tx: tx.query("UPDATE jobs SET status = 'expired' WHERE status = ? RETURNING id", ("old",)))
    assert sorted(r[0] for r in rows) == ["j1", "j3", "j5"]
    db.migrate("kv", [KV])
    upsert = "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v RETURNING v"
    assert db.run(lambda tx: tx.one(upsert, ("x", 7))) == (7,)
    assert db.run(lambda tx: tx.one(upsert, ("x", 5))) == (12,)


def test_a_conditional_update_lets_exactly_one_racer_claim(db):
    db.migrate("t", [JOBS])
    db.run(lambda tx: tx.execute("INSERT INTO jobs (id, status) VALUES ('job', 'approved')"))
    results: list[int] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        n = db.run(lambda tx: tx.execute("UPDATE jobs SET status = 'executing', owner = ? WHERE id = ? AND status = ?", (name, "job", "approved")))
        results.append(n)

    ts = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(results) == [0] * 7 + [1]
    [(status, owner)] = db.query("SELECT status, owner FROM jobs")
    assert status == "executing" and owner in {f"w{i}" for i in range(8)}


def test_reads_see_what_other_connections_committed(db):
    db.migrate("t", [KV])
    other = Database(db.url)
    try:
        assert db.query("SELECT COUNT(*) FROM kv") == [(0,)]
        other.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)"))
        assert db.query("SELECT COUNT(*) FROM kv") == [(1,)]
        assert db.run(lambda tx: tx.one("SELECT v FROM kv WHERE k = 'a'"), write=False) == (1,)
    finally:
        other.close()


def test_floats_and_text_round_trip_alike(db):
    db.migrate("t", ["CREATE TABLE vals (k TEXT PRIMARY KEY, t DOUBLE PRECISION, s TEXT, n BIGINT)"])
    row = ("k", 1_700_000_000.123456, "Grüße, 世界 — 'quoted' ? %s %% \\", 2**53 + 1)
    db.run(lambda tx: tx.execute("INSERT INTO vals (k, t, s, n) VALUES (?, ?, ?, ?)", row))
    assert db.query("SELECT k, t, s, n FROM vals WHERE s = ?", (row[2],)) == [row]
    # Placeholder characters inside literals are left alone.
    assert db.query("SELECT 'a?b', '100%'") == [("a?b", "100%")]


# -- migrations ------------------------------------------------------------------------


def test_migrate_applies_each_step_once_in_order(db):
    steps = [KV, "INSERT INTO kv (k, v) VALUES ('step2', 2)"]
    assert db.migrate("comp", steps) == 2
    assert db.migrate("comp", steps) == 2
    assert db.query("SELECT k FROM kv ORDER BY k") == [("step2",)]
    steps.append({"sqlite": "INSERT INTO kv (k, v) VALUES ('lite', 3)", "postgresql": "INSERT INTO kv (k, v) VALUES ('pg', 3)"})
    assert db.migrate("comp", steps) == 3
    assert db.query("SELECT k FROM kv WHERE v = 3") == [("lite" if db.dialect == "sqlite" else "pg",)]
    assert db.query("SELECT component, version FROM toolguard_schema") == [("comp", 3)]
    assert db.migrate("other", [JOBS]) == 1


def test_a_step_given_as_a_list_is_not_split_on_semicolons(db):
    db.migrate("t", [KV])
    trigger = {
        "sqlite": [
            "CREATE TRIGGER kv_twice AFTER INSERT ON kv WHEN NEW.k = 'a' BEGIN INSERT INTO kv (k, v) VALUES ('a2', NEW.v * 2); END"
        ],
        "postgresql": [
            "CREATE FUNCTION kv_twice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.k = 'a' THEN INSERT INTO kv (k, v) VALUES ('a2', NEW.v * 2); END IF; RETURN NULL; END $$",
            "CREATE TRIGGER kv_twice AFTER INSERT ON kv FOR EACH ROW EXECUTE FUNCTION kv_twice()",
        ],
    }
    assert db.migrate("trig", [trigger]) == 1
    db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('a', 21)"))
    assert db.query("SELECT v FROM kv WHERE k = 'a2'") == [(42,)]


def test_concurrent_migrations_apply_a_step_once(db):
    steps = [KV, "INSERT INTO kv (k, v) VALUES ('applied', 1)"]
    dbs = [Database(db.url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(dbs))

    def go(d: Database) -> None:
        barrier.wait()
        try:
            d.migrate("race", steps)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    ts = [threading.Thread(target=go, args=(d,)) for d in dbs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for d in dbs:
        d.close()
    assert errors == []
    assert db.query("SELECT k, v FROM kv") == [("applied", 1)]


def test_a_failing_step_leaves_the_version_unchanged(db):
    assert db.migrate("c", [KV]) == 1
    with pytest.raises(StoreError) as info:
        db.migrate("c", [KV, "CREATE TABLE broken (", "INSERT INTO kv (k, v) VALUES ('x', 1)"])
    assert not isinstance(info.value, StoreUnavailable)
    assert db.query("SELECT version FROM toolguard_schema WHERE component = 'c'") == [(1,)]
    assert _count(db, "kv") == 0


# -- errors ----------------------------------------------------------------------------


def test_sql_errors_are_store_errors_not_unavailable(db):
    db.migrate("t", [KV])
    db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)"))
    for sql in ("SELEC 1", "INSERT INTO kv (k, v) VALUES ('a', 2)", "SELECT nope FROM kv", "SELECT * FROM missing_table"):
        with pytest.raises(StoreError) as info:
            db.run(lambda tx, sql=sql: tx.query(sql))
        assert not isinstance(info.value, StoreUnavailable), sql
        assert isinstance(info.value.__cause__, Exception)
    assert db.query("SELECT v FROM kv") == [(1,)]


def test_every_psycopg_error_class_maps_to_a_store_error(postgres_url):
    """Connection-level failures (OperationalError, InterfaceError and their subclasses:
    connection lost, admin shutdown, serialization failure, deadlock) are retried and then
    reported unavailable; every other driver error is a plain StoreError."""
    db = Database(postgres_url)
    classes = {psycopg.Error, psycopg.InterfaceError, psycopg.OperationalError, psycopg.DatabaseError}
    classes.update(c for c in vars(psycopg.errors).values() if isinstance(c, type) and issubclass(c, psycopg.Error))
    assert len(classes) > 200
    for cls in sorted(classes, key=lambda c: c.__name__):
        mapped = db.map_error(cls("boom"))
        assert isinstance(mapped, StoreError), cls
        transient = issubclass(cls, (psycopg.OperationalError, psycopg.InterfaceError))
        assert isinstance(mapped, StoreUnavailable) == transient, cls
    assert db.map_error(ValueError("not a driver error")) is None


def test_a_password_never_shows_in_messages_or_reprs(postgres_url):
    url = postgres_url.replace("://toolguard@", "://toolguard:s3cret-pw@")
    db = Database(url)
    try:
        assert "s3cret" not in repr(db)
        with pytest.raises(StoreError) as info:
            db.query("SELEC 1")
        assert "s3cret" not in str(info.value) and "***" in str(info.value)
    finally:
        db.close()


def test_open_database_shares_one_database_per_url(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    assert open_database(url) is open_database(url)
    open_database(url).close()


# -- outages (a private server these tests stop and start) ------------------------------


@pytest.fixture
def outage_db(own_cluster: Cluster) -> Iterator[Database]:
    if own_cluster.stopped:
        own_cluster.start()
    db = Database(own_cluster.url(), retries=3, connect_timeout=2, retry_window=5)
    db.migrate("t", [KV])
    db.run(lambda tx: tx.execute("DELETE FROM kv"))
    yield db
    db.close()
    if own_cluster.stopped:
        own_cluster.start()


@pytest.mark.postgres
def test_a_stopped_server_is_unavailable_after_a_prompt_bounded_retry(outage_db, own_cluster):
    outage_db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)"))
    own_cluster.stop()
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        outage_db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('b', 2)"))
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, elapsed
    assert "4 attempts" in str(info.value)
    with pytest.raises(StoreUnavailable):
        outage_db.query("SELECT 1")


@pytest.mark.postgres
def test_the_database_reconnects_once_the_server_is_back(outage_db, own_cluster):
    outage_db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)"))
    own_cluster.stop()
    with pytest.raises(StoreUnavailable):
        outage_db.query("SELECT COUNT(*) FROM kv")
    own_cluster.start()
    assert outage_db.query("SELECT k FROM kv") == [("a",)]
    # A restart behind an open connection is absorbed by the retry.
    own_cluster.stop(mode="fast")
    own_cluster.start()
    assert outage_db.run(lambda tx: tx.execute("INSERT INTO kv (k, v) VALUES ('b', 2)")) == 1
    assert outage_db.query("SELECT COUNT(*) FROM kv") == [(2,)]


def test_nothing_listening_is_unavailable_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytest.importorskip("psycopg")
    db = Database(f"postgresql://toolguard@127.0.0.1:{port}/toolguard", retries=3)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        db.query("SELECT 1")
    assert time.monotonic() - t0 < 1.5
    assert "127.0.0.1" in str(info.value)


@pytest.mark.slow
def test_a_server_that_never_answers_is_bounded_by_the_connect_timeout():
    """A black hole (the TCP handshake completes, nothing ever answers): each attempt stops
    at ``connect_timeout`` and no attempt starts after ``retry_window``."""
    pytest.importorskip("psycopg")
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)  # never accepted: the kernel completes handshakes, nobody answers
        port = hole.getsockname()[1]
        db = Database(f"postgresql://toolguard@127.0.0.1:{port}/toolguard", retries=5, connect_timeout=2, retry_window=3)
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            db.query("SELECT 1")
        elapsed = time.monotonic() - t0
    assert 3.5 < elapsed < 6.0, elapsed
    assert "2 attempts" in str(info.value)


@pytest.mark.postgres
def test_a_connection_lost_while_committing_is_never_retried(outage_db, own_cluster):
    """The body runs once: a retry could apply a transaction that did commit a second time."""
    runs: list[int] = []
    killer = psycopg.connect(own_cluster.url(), autocommit=True)

    def body(tx: Tx) -> None:
        runs.append(1)
        tx.execute("INSERT INTO kv (k, v) VALUES ('once', 1)")
        (pid,) = tx.one("SELECT pg_backend_pid()") or (0,)
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert wait_until(
            lambda: killer.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,), 5
        )

    try:
        with pytest.raises(StoreUnavailable) as info:
            outage_db.run(body)
    finally:
        killer.close()
    assert runs == [1]
    assert "outcome is unknown" in str(info.value)
    assert outage_db.query("SELECT COUNT(*) FROM kv") == [(0,)]  # terminated before COMMIT reached it
