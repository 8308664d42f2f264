"""Cross-replica change notification: learn, within a second, that another process changed shared state.

Stores hold the state; this module only says *that* something changed, so a process can stop
waiting and read the store again. It follows the adapter/watcher split: a notification is a
hint, never the state itself, and a lost hint costs latency, never correctness (every waiter
also re-reads on a timer).

Two channels are fed by the database itself, through triggers that :func:`install_triggers`
adds to the stores' tables, so every writer (guard, HTTP server, CLI, any replica) notifies
without knowing about it:

* ``approvals``: payload ``"<hold id> <status>"`` when a hold is created or changes status;
* ``cutoff``: payload ``"<principal> cut"`` or ``"<principal> lift"``.

:meth:`ChangeNotifier.publish` sends anything else on any channel.

Implementations, chosen by :func:`open_notifier` from the database:

* :class:`PgChangeNotifier` (PostgreSQL): ``LISTEN``/``NOTIFY`` on one dedicated connection
  per process; delivery takes milliseconds. Channels are scoped to the schema the stores
  live in (``<schema>.<channel>``; a digest of the schema name when it is longer than 22
  bytes), so two deployments sharing a database stay apart.
* :class:`PollingChangeNotifier` (SQLite): the triggers append to a ``toolguard_changes``
  table, read by one thread per process, polling with backoff (10 ms after a change,
  slowing to ``max_interval``, 0.2 s by default) only while someone listens.
* :class:`MemoryChangeNotifier`: one process, no database (the reference).

Listen *before* reading the state you wait on, so no change can slip in between::

    notifier = open_notifier(db)
    with notifier.listen("approvals") as changes:
        while store.get(hold_id).status == "pending":
            changes.wait(1.0)          # a change, or None after 1 s: read again either way

:func:`wait_for_decision` does exactly that for a held call.

The cut-off list is read on every call, so it is cached: :class:`WatchedKillList` keeps
each principal's answer in memory until the ``cutoff`` channel says it changed, so a cut-off
made by one replica denies in all within milliseconds (PostgreSQL) or ``max_interval``
(SQLite), for the cost of a dictionary lookup per call. (A kill list opened by URL without
it, :func:`toolguard.cutoff.open_kill_list`, caches for a fixed second instead.)
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import os
import re
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigError, StoreError
from .sql import Database, Step, Tx

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..approvals.store import ApprovalRecord, ApprovalStore
    from ..cutoff import CutOff, SqlKillList

__all__ = [
    "CHANNELS",
    "Change",
    "ChangeNotifier",
    "MemoryChangeNotifier",
    "PgChangeNotifier",
    "PollingChangeNotifier",
    "Subscription",
    "WatchedKillList",
    "install_triggers",
    "open_notifier",
    "wait_for_decision",
]

log = logging.getLogger("toolguard.stores")

#: The channels the stores' triggers feed: channel -> table that feeds it.
CHANNELS: dict[str, str] = {"approvals": "toolguard_approvals", "cutoff": "toolguard_cutoff"}

_CHANNEL = re.compile(r"[a-z][a-z0-9_.\-]{0,39}")
MAX_PAYLOAD = 4000  # bytes; PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
_QUEUE = 10_000  # changes kept per subscription before it is told to re-read everything


@dataclass(frozen=True)
class Change:
    """One notification: something on ``channel`` changed.

    ``resync`` means notifications may have been lost (the listening connection dropped, or
    the subscriber fell far behind): re-read everything you care about.
    """

    channel: str
    payload: str = ""
    resync: bool = False


def _check_channel(channel: Any) -> str:
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise ConfigError(
            f"invalid channel {channel!r}: use 1-40 lower-case letters, digits and '_.-', starting with a letter"
        )
    return channel


def _check_payload(payload: Any) -> str:
    if not isinstance(payload, str):
        raise ConfigError("a change payload must be a string")
    if len(payload.encode("utf-8")) > MAX_PAYLOAD:
        raise ConfigError(f"a change payload must be at most {MAX_PAYLOAD} bytes")
    return payload


class Subscription:
    """The changes on one channel from the moment :meth:`ChangeNotifier.listen` returned.

    Thread-safe; use it as a context manager (or call :meth:`close`) to stop listening.
    """

    def __init__(self, hub: _Hub, channel: str) -> None:
        self.channel = channel
        self._hub = hub
        self._items: deque[Change] = deque()
        self._cond = threading.Condition()
        self.closed = False
        #: Polling only: deliver changes with a sequence number above this.
        self.after: int | None = None

    def __repr__(self) -> str:
        return f"Subscription({self.channel!r}, queued={len(self._items)}, closed={self.closed})"

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _put(self, change: Change) -> None:
        with self._cond:
            if len(self._items) >= _QUEUE:
                self._items.clear()
                change = Change(self.channel, "", resync=True)
            self._items.append(change)
            self._cond.notify_all()

    def wait(self, timeout: float) -> Change | None:
        """The next change, waiting at most ``timeout`` seconds; None on timeout or when closed."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._items:
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self._cond.wait(left)
            return self._items.popleft()

    def pending(self) -> list[Change]:
        """Every change received and not yet taken, without waiting."""
        with self._cond:
            out = list(self._items)
            self._items.clear()
            return out

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._hub._remove(self)


@runtime_checkable
class ChangeNotifier(Protocol):
    """Tells every process sharing a store that something on a channel changed.

    Implementations: :class:`PgChangeNotifier`, :class:`PollingChangeNotifier`,
    :class:`MemoryChangeNotifier`. Delivery is at least once per listening process and
    best-effort: treat a change as "read again", and re-read on a timer anyway.
    """

    def publish(self, channel: str, payload: str = "") -> None:
        """Tell every listener of ``channel`` (in any process) that something changed.

        Raises :class:`~toolguard.errors.StoreUnavailable` when the database cannot be reached.
        """
        ...

    def listen(self, channel: str) -> Subscription:
        """Start listening: the subscription receives every change published after this returns."""
        ...

    def close(self) -> None:
        """Stop the background thread and close the connection; subscriptions get nothing more."""
        ...

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        ...


class _Hub:
    """Subscriptions by channel, and delivery to them (shared by every implementation)."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Subscription]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _add(self, channel: str) -> Subscription:
        if self._closed:
            raise ConfigError(f"{self!r} is closed")
        sub = Subscription(self, _check_channel(channel))
        with self._lock:
            self._subs.setdefault(channel, []).append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.channel)
            if subs is not None and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subs[sub.channel]

    @property
    def closed(self) -> bool:
        return self._closed

    def _listeners(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._subs.values())

    def _deliver(self, channel: str, payload: str, seq: int | None = None) -> None:
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for sub in subs:
            if seq is not None and sub.after is not None and seq <= sub.after:
                continue
            sub._put(Change(channel, payload))

    def _resync(self) -> None:
        with self._lock:
            subs = [s for v in self._subs.values() for s in v]
        for sub in subs:
            sub._put(Change(sub.channel, "", resync=True))

    def _close_subs(self) -> None:
        self._closed = True
        with self._lock:
            subs = [s for v in self._subs.values() for s in v]
        for sub in subs:
            with sub._cond:
                sub.closed = True
                sub._cond.notify_all()


class _SqlHub(_Hub):
    """A hub on a database: listening on a store channel installs its trigger first."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self._fed: set[str] = set()
        self._feed_lock = threading.Lock()

    def _feed(self, channel: str) -> None:
        if channel in CHANNELS and channel not in self._fed:
            with self._feed_lock:
                self._fed.update(install_triggers(self.db))


class MemoryChangeNotifier(_Hub):
    """Changes within one process (the reference implementation; no database)."""

    def __repr__(self) -> str:
        return f"MemoryChangeNotifier(listeners={self._listeners()})"

    def publish(self, channel: str, payload: str = "") -> None:
        self._deliver(_check_channel(channel), _check_payload(payload))

    def listen(self, channel: str) -> Subscription:
        return self._add(channel)

    def close(self) -> None:
        self._close_subs()


# --------------------------------------------------------------------------------------
# PostgreSQL: LISTEN/NOTIFY


def _channel_prefix(schema: str) -> str:
    """``<schema>.``, or ``h<16 hex digits of its MD5>.`` when the schema name is long.

    Channel names are at most 63 bytes; the triggers compute the same prefix in SQL.
    """
    if len(schema.encode("utf-8")) <= _SHORT_SCHEMA:
        return schema + "."
    # MD5 only shortens a name here; it protects nothing.
    return "h" + hashlib.md5(schema.encode("utf-8")).hexdigest()[:16] + "."


_SHORT_SCHEMA = 22
#: The same prefix, in PL/pgSQL, from the trigger's table schema.
_PG_PREFIX = (
    f"(CASE WHEN octet_length(TG_TABLE_SCHEMA) <= {_SHORT_SCHEMA} THEN TG_TABLE_SCHEMA"
    " ELSE 'h' || left(md5(TG_TABLE_SCHEMA), 16) END)"
)


class PgChangeNotifier(_SqlHub):
    """``LISTEN``/``NOTIFY`` on PostgreSQL: one dedicated connection and one thread per notifier.

    When the connection drops, every subscription gets a ``resync`` change at once, and
    another after the thread reconnected (backoff up to 2 s) and listens again, since
    notifications sent meanwhile are lost.
    """

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise ConfigError(f"PgChangeNotifier needs a PostgreSQL database, not {db!r}")
        super().__init__(db)
        self._conn: Any = None
        self._conn_lock = threading.RLock()
        self._listening: set[str] = set()
        self._prefix: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._lost = False

    def __repr__(self) -> str:
        return f"PgChangeNotifier({self.db!r}, listeners={self._listeners()})"

    def _pg_channel(self, channel: str) -> str:
        if self._prefix is None:
            schema = self.db.run(lambda tx: tx.one("SELECT current_schema()"), write=False)
            self._prefix = _channel_prefix(str(schema[0]) if schema and schema[0] else "public")
        return self._prefix + channel

    def publish(self, channel: str, payload: str = "") -> None:
        name = self._pg_channel(_check_channel(channel))
        payload = _check_payload(payload)
        self.db.run(lambda tx: tx.one("SELECT pg_notify(?, ?)", (name, payload)))

    def _listen_sql(self, channel: str) -> Any:
        from psycopg import sql

        return sql.SQL("LISTEN {}").format(sql.Identifier(self._pg_channel(channel)))

    def _ensure_conn(self) -> Any:
        """The listening connection, (re)connected and listening on every channel. Holds the lock."""
        with self._conn_lock:
            if self._conn is not None and not self._conn.closed:
                return self._conn
            conn = self.db.connect()
            try:
                for channel in sorted(self._listening):
                    conn.execute(self._listen_sql(channel))
            except Exception:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
            self._conn = conn
            if self._lost:
                self._lost = False
                self._resync()
            return conn

    def _drop_conn(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
            self._lost = True
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
            # Tell subscribers at once, not only after reconnecting: whoever caches what the
            # notifications keep fresh must stop trusting it (and read, and fail closed).
            self._resync()

    def listen(self, channel: str) -> Subscription:
        self._feed(_check_channel(channel))
        sub = self._add(channel)
        try:
            with self._conn_lock:
                conn = self._ensure_conn()
                if channel not in self._listening:
                    conn.execute(self._listen_sql(channel))
                    self._listening.add(channel)
        except BaseException as exc:
            sub.close()
            if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                raise
            self._drop_conn()
            mapped = self.db.map_error(exc)
            raise (mapped if mapped is not None else StoreError(f"cannot listen on {channel!r}: {exc}")) from exc
        self._start()
        self._wake()
        return sub

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="toolguard-listen", daemon=True)
                self._thread.start()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        delay = 0.1
        down = False
        while not self._closed:
            try:
                conn = self._ensure_conn()
                if down:
                    down = False
                    log.warning("toolguard: change listener reconnected")
                ready, _, _ = select.select([conn.fileno(), self._wake_r], [], [], 1.0)
                if self._wake_r in ready:
                    os.read(self._wake_r, 4096)
                if self._closed:
                    return
                with self._conn_lock:
                    if self._conn is not conn:
                        continue
                    got = list(conn.notifies(timeout=0))
                for n in got:
                    if self._prefix is not None and n.channel.startswith(self._prefix):
                        self._deliver(n.channel[len(self._prefix):], n.payload)
                delay = 0.1
            except Exception as exc:  # the listener must survive outages
                if self._closed:
                    return
                if not down:  # once per outage, not once per attempt
                    log.warning("toolguard: change listener lost its connection (%s); reconnecting", str(exc).strip())
                down = True
                self._drop_conn()
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def close(self) -> None:
        self._close_subs()
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._drop_conn()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


# --------------------------------------------------------------------------------------
# SQLite (and any SQL database): a change table, polled with backoff


_CHANGES_SCHEMA: list[Step] = [
    {
        "sqlite": "CREATE TABLE toolguard_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " channel TEXT NOT NULL, payload TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);"
        "CREATE INDEX toolguard_changes_at ON toolguard_changes (at)",
        "postgresql": "CREATE TABLE toolguard_changes (seq BIGSERIAL PRIMARY KEY,"
        " channel TEXT NOT NULL, payload TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);"
        "CREATE INDEX toolguard_changes_at ON toolguard_changes (at)",
    },
]


class PollingChangeNotifier(_SqlHub):
    """Changes through the ``toolguard_changes`` table, read by one polling thread per process.

    The thread polls only while someone listens: every ``min_interval`` seconds right after a
    change, backing off (x1.5) to ``max_interval`` when nothing happens. Rows older than
    ``keep`` seconds are pruned.
    """

    def __init__(
        self, db: Database, *, min_interval: float = 0.01, max_interval: float = 0.2, keep: float = 600.0
    ) -> None:
        if not 0 < min_interval <= max_interval <= 1.0:
            raise ConfigError("polling intervals must satisfy 0 < min_interval <= max_interval <= 1 s")
        super().__init__(db)
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.keep = keep
        db.migrate("changes", _CHANGES_SCHEMA)
        self._thread: threading.Thread | None = None
        self._wakeup = threading.Event()
        self._cursor: int | None = None
        self._last_prune = 0.0

    def __repr__(self) -> str:
        return f"PollingChangeNotifier({self.db!r}, listeners={self._listeners()})"

    def _max_seq(self) -> int:
        row = self.db.run(lambda tx: tx.one("SELECT COALESCE(MAX(seq), 0) FROM toolguard_changes"), write=False)
        return int(row[0]) if row else 0

    def publish(self, channel: str, payload: str = "") -> None:
        row = (_check_channel(channel), _check_payload(payload), time.time())
        self.db.run(lambda tx: tx.execute("INSERT INTO toolguard_changes (channel, payload, at) VALUES (?, ?, ?)", row))
        self._wakeup.set()

    def listen(self, channel: str) -> Subscription:
        self._feed(_check_channel(channel))
        sub = self._add(channel)
        try:
            # Registered first, then the start position read: a change committed after this
            # read has a higher sequence number and reaches the subscription (see _poll).
            sub.after = self._max_seq()
        except BaseException:
            sub.close()
            raise
        with self._lock:
            if self._cursor is None:
                self._cursor = sub.after
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="toolguard-poll", daemon=True)
                self._thread.start()
        self._wakeup.set()
        return sub

    def _poll(self) -> int:
        cursor = self._cursor or 0
        rows = self.db.run(
            lambda tx: tx.query(
                "SELECT seq, channel, payload FROM toolguard_changes WHERE seq > ? ORDER BY seq LIMIT 1000", (cursor,)
            ),
            write=False,
        )
        for seq, channel, payload in rows:
            self._deliver(str(channel), str(payload), int(seq))
            self._cursor = int(seq)
        return len(rows)

    def _prune(self) -> None:
        now = time.time()
        if now - self._last_prune < 60.0:
            return
        self._last_prune = now
        try:
            self.db.run(lambda tx: tx.execute("DELETE FROM toolguard_changes WHERE at < ?", (now - self.keep,)))
        except StoreError:
            log.warning("toolguard: pruning the change table failed", exc_info=True)

    def _loop(self) -> None:
        interval = self.min_interval
        failing = False
        while not self._closed:
            if self._listeners() == 0:
                self._wakeup.wait(1.0)
                self._wakeup.clear()
                continue
            try:
                got = self._poll()
                if failing:
                    failing = False
                    self._resync()
                self._prune()
            except StoreError as exc:
                if not failing:
                    log.warning("toolguard: polling for changes failed (%s); retrying", exc)
                    self._resync()  # what the changes keep fresh can no longer be trusted
                failing = True
                got = 0
                interval = self.max_interval
            interval = self.min_interval if got else min(interval * 1.5, self.max_interval)
            if self._wakeup.wait(interval):
                self._wakeup.clear()

    def close(self) -> None:
        self._close_subs()
        self._wakeup.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)


# --------------------------------------------------------------------------------------
# Triggers: the stores' tables notify on their own


def _sqlite_trigger(name: str, event: str, table: str, channel: str, payload: str, when: str = "") -> str:
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table}"
        + (f" WHEN {when}" if when else "")
        + " BEGIN INSERT INTO toolguard_changes (channel, payload, at)"
        f" VALUES ('{channel}', {payload}, (julianday('now') - 2440587.5) * 86400.0); END"
    )


_TRIGGERS: dict[str, list[Step]] = {
    "approvals": [
        {
            "sqlite": [
                _sqlite_trigger("toolguard_approvals_created", "INSERT", "toolguard_approvals", "approvals",
                                "NEW.id || ' ' || NEW.status"),
                _sqlite_trigger("toolguard_approvals_changed", "UPDATE OF status", "toolguard_approvals", "approvals",
                                "NEW.id || ' ' || NEW.status", "NEW.status IS NOT OLD.status"),
            ],
            "postgresql": [
                "CREATE OR REPLACE FUNCTION toolguard_approvals_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$"
                f" BEGIN PERFORM pg_notify({_PG_PREFIX} || '.approvals', NEW.id || ' ' || NEW.status);"
                " RETURN NULL; END $fn$",
                "CREATE TRIGGER toolguard_approvals_created AFTER INSERT ON toolguard_approvals"
                " FOR EACH ROW EXECUTE FUNCTION toolguard_approvals_notify()",
                "CREATE TRIGGER toolguard_approvals_changed AFTER UPDATE OF status ON toolguard_approvals"
                " FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION toolguard_approvals_notify()",
            ],
        }
    ],
    "cutoff": [
        {
            "sqlite": [
                _sqlite_trigger("toolguard_cutoff_cut", "INSERT", "toolguard_cutoff", "cutoff", "NEW.principal || ' cut'"),
                _sqlite_trigger("toolguard_cutoff_lift", "DELETE", "toolguard_cutoff", "cutoff", "OLD.principal || ' lift'"),
            ],
            "postgresql": [
                "CREATE OR REPLACE FUNCTION toolguard_cutoff_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$"
                " BEGIN IF TG_OP = 'DELETE' THEN"
                f" PERFORM pg_notify({_PG_PREFIX} || '.cutoff', OLD.principal || ' lift');"
                f" ELSE PERFORM pg_notify({_PG_PREFIX} || '.cutoff', NEW.principal || ' cut'); END IF;"
                " RETURN NULL; END $fn$",
                "CREATE TRIGGER toolguard_cutoff_changed AFTER INSERT OR DELETE ON toolguard_cutoff"
                " FOR EACH ROW EXECUTE FUNCTION toolguard_cutoff_notify()",
            ],
        }
    ],
}


def _table_exists(db: Database, table: str) -> bool:
    def body(tx: Tx) -> bool:
        if db.dialect == "postgresql":
            row = tx.one("SELECT to_regclass(?) IS NOT NULL", (table,))
        else:
            row = tx.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return bool(row and row[0])

    return bool(db.run(body, write=False))


def install_triggers(db: Database) -> tuple[str, ...]:
    """Add the notifying triggers to the stores' tables that exist; return the channels now fed.

    Idempotent (versioned like any migration). Listening on ``approvals`` or ``cutoff``
    calls it for you; call it yourself when the store's table is created later.
    """
    fed = []
    if db.dialect == "sqlite":
        db.migrate("changes", _CHANGES_SCHEMA)
    for channel, table in CHANNELS.items():
        if _table_exists(db, table):
            db.migrate(f"notify.{channel}", _TRIGGERS[channel])
            fed.append(channel)
    return tuple(fed)


_OPEN: dict[str, MemoryChangeNotifier | PgChangeNotifier | PollingChangeNotifier] = {}
_OPEN_LOCK = threading.Lock()


def open_notifier(db: Database | str | None) -> ChangeNotifier:
    """The process's shared notifier for ``db`` (a :class:`Database` or a store URL).

    PostgreSQL gets :class:`PgChangeNotifier`, SQLite :class:`PollingChangeNotifier`,
    ``None`` or ``memory://...`` one :class:`MemoryChangeNotifier` per URL. The stores'
    triggers are installed on the way.
    """
    if db is None or (isinstance(db, str) and db.startswith("memory:")):
        key = db or "memory://"
        with _OPEN_LOCK:
            got = _OPEN.get(key)
            if got is None or got.closed:
                got = _OPEN[key] = MemoryChangeNotifier()
            return got
    if isinstance(db, str):
        from .sql import open_database

        db = open_database(db)
    with _OPEN_LOCK:
        got = _OPEN.get(db.url)
        if got is None or got.closed:
            got = _OPEN[db.url] = PgChangeNotifier(db) if db.dialect == "postgresql" else PollingChangeNotifier(db)
    return got


# --------------------------------------------------------------------------------------
# Waiting for a held call's decision


def _about(change: Change, hold_id: str) -> bool:
    return change.resync or change.payload.split(" ", 1)[0] == hold_id


def wait_for_decision(
    store: ApprovalStore,
    hold_id: str,
    timeout: float,
    *,
    notifier: ChangeNotifier,
    recheck: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> ApprovalRecord:
    """Wait until hold ``hold_id`` is no longer pending, or ``timeout`` seconds passed.

    Like :func:`toolguard.approvals.wait_for_decision`, but woken by the ``approvals``
    channel instead of polling the store: a decision made by any process (HTTP server, CLI,
    another replica) is seen within milliseconds on PostgreSQL and within ``max_interval``
    on SQLite. The store is also re-read every ``recheck`` seconds, so a lost notification
    costs at most that. A hold whose time ran out is expired on the way. Returns the record
    as last read (still ``pending`` on timeout).
    """
    deadline = time.monotonic() + max(0.0, timeout)
    with notifier.listen("approvals") as changes:
        while True:
            rec = store.get(hold_id)
            if rec.status == "pending" and rec.is_expired(clock()):
                store.expire()
                rec = store.get(hold_id)
            remaining = deadline - time.monotonic()
            if rec.status != "pending" or remaining <= 0:
                return rec
            until = time.monotonic() + min(remaining, recheck)
            while (left := until - time.monotonic()) > 0:
                change = changes.wait(left)
                if change is None or _about(change, hold_id):
                    break



# --------------------------------------------------------------------------------------
# The kill list, cached until told otherwise


class WatchedKillList:
    """A :class:`~toolguard.cutoff.KillList` on SQL whose reads are cached until a change is announced.

    :meth:`get` answers from memory; before answering it takes the ``cutoff`` changes
    announced since the last call and forgets the principals they name (everything, on a
    ``resync``). A change is announced when it commits, so a cut-off made by any replica
    reaches every replica's next call within the notifier's delivery time. ``max_age``
    bounds how long an answer is kept even if no change is announced (a safety net, not
    the mechanism). Writes go straight to the wrapped list.

    Usage::

        kills = WatchedKillList(SqlKillList(db))
        guard = Guard(manifests, policy=policy, kill_list=kills)
    """

    def __init__(self, inner: SqlKillList, notifier: ChangeNotifier | None = None, *, max_age: float = 30.0) -> None:
        if getattr(inner, "cache_ttl", 0) > 0:
            raise ConfigError("WatchedKillList caches by itself: wrap a SqlKillList with cache_ttl=0")
        self.inner = inner
        self.max_age = max_age
        self.notifier = notifier if notifier is not None else open_notifier(inner.db)
        self._changes = self.notifier.listen("cutoff")
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WatchedKillList({self.inner!r}, cached={len(self._cache)})"

    def _catch_up(self) -> None:
        changes = self._changes.pending()
        if not changes:
            return
        with self._lock:
            for change in changes:
                if change.resync:
                    self._cache.clear()
                else:
                    self._cache.pop(change.payload.rsplit(" ", 1)[0], None)

    def get(self, principal: str) -> str | None:
        # Changes first: one that committed after an answer was cached is applied before
        # that answer can be used again.
        self._catch_up()
        now = time.monotonic()
        hit = self._cache.get(principal)
        if hit is not None and now - hit[0] < self.max_age:
            return hit[1]
        reason = self.inner.get(principal)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[principal] = (now, reason)
        return reason

    def _forget(self, principal: str) -> None:
        with self._lock:
            self._cache.pop(principal, None)

    def cut(
        self,
        principal: str,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
        *,
        by: str = "operator",
        at: float | None = None,
    ) -> CutOff:
        entry = self.inner.cut(principal, reason, evidence, by=by, at=at)
        self._forget(principal)
        return entry

    def lift(self, principal: str, operator: str) -> CutOff | None:
        entry = self.inner.lift(principal, operator)
        self._forget(principal)
        return entry

    def entry(self, principal: str) -> CutOff | None:
        return self.inner.entry(principal)

    def list(self) -> list[CutOff]:
        return self.inner.list()

    def history(self, principal: str | None = None) -> builtins.list[CutOff]:
        return self.inner.history(principal)

    def close(self) -> None:
        """Stop listening (the notifier itself is shared and stays open)."""
        self._changes.close()
