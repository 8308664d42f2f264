"""A small SQL layer shared by every SQL-backed store: SQLite (embedded default) and PostgreSQL.

Stores write portable SQL with ``?`` placeholders; :class:`Database` translates them for the
driver. What both engines support is used on purpose: ``INSERT ... ON CONFLICT ... DO
UPDATE`` (UPSERT), ``RETURNING``, and conditional ``UPDATE ... WHERE status = ?`` whose row
count tells whether a transition happened (the atomic primitive behind "claimed once").

* SQLite: one connection per thread, WAL journal, ``synchronous=NORMAL``, a busy timeout,
  and ``BEGIN IMMEDIATE`` for write transactions so two writers serialise instead of
  failing at commit.
* PostgreSQL (``pip install 'toolguard[postgres]'``): psycopg 3, one connection per thread,
  autocommit outside the transactions :meth:`Database.run` opens, READ COMMITTED. Stores
  stay correct there because every read-modify-write either ends in a conditional UPDATE
  whose row count is checked, or takes a lock first (``pg_advisory_xact_lock``). Read-only
  bodies (``write=False``) run without BEGIN/COMMIT: one round trip per statement.

Driver errors are translated at this seam: a database that cannot be reached (or stays
locked past the bounded retry) raises :class:`~toolguard.errors.StoreUnavailable`; anything
else raises :class:`~toolguard.errors.StoreError`. The retry is bounded in attempts
(``retries``) and in time (``retry_window`` seconds; each PostgreSQL connection attempt
gives up after ``connect_timeout`` seconds), so an unreachable database fails closed
promptly. A connection lost while PostgreSQL was committing is never retried: whether the
transaction committed is unknown, and running the body again could apply it twice.
Schemas are versioned per component in the ``toolguard_schema`` table;
:meth:`Database.migrate` applies the missing steps in order.

Select a database by URL::

    db = open_database("sqlite:///var/lib/toolguard/state.db")
    db = open_database("postgresql://toolguard@127.0.0.1:5432/toolguard")
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError, StoreError, StoreUnavailable

__all__ = ["Database", "Step", "Tx", "default_sqlite_path", "open_database"]

Dialect = Literal["sqlite", "postgresql"]
#: One migration step: SQL text split on ``;``, a list of statements, or either per dialect.
Step = str | Sequence[str] | dict[str, str | Sequence[str]]


class _CommitUnknown(Exception):
    """The connection failed during COMMIT: the transaction may or may not have committed."""


class Tx(Protocol):
    """The handle a transaction body gets."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return all rows."""
        ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Run a statement and return the first row, or None."""
        ...


def default_sqlite_path() -> Path:
    """``$TOOLGUARD_HOME/state.db``, else ``./.toolguard/state.db`` (created on first use)."""
    home = os.environ.get("TOOLGUARD_HOME")
    base = Path(home) if home else Path.cwd() / ".toolguard"
    return base / "state.db"


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._c.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._c.execute(sql, tuple(params)).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._c.execute(sql, tuple(params)).fetchone()
        return tuple(row) if row is not None else None


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$[A-Za-z_]*\$).*?\1|--[^\n]*|/\*.*?\*/", re.S)


@functools.lru_cache(maxsize=1024)
def _pg_placeholders(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s``, outside quotes and comments; ``%`` doubled everywhere."""
    out: list[str] = []
    pos = 0
    for m in _QUOTED.finditer(sql):
        out.append(sql[pos : m.start()].replace("%", "%%").replace("?", "%s"))
        out.append(m.group(0).replace("%", "%%"))
        pos = m.end()
    out.append(sql[pos:].replace("%", "%%").replace("?", "%s"))
    return "".join(out)


class _PgTx:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return _pg_placeholders(sql)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._c.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._c.execute(self._sql(sql), tuple(params)).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._c.execute(self._sql(sql), tuple(params)).fetchone()
        return tuple(row) if row is not None else None


class Database:
    """A connection factory for one database URL, safe to share between threads.

    Use :meth:`run` for every read-modify-write: the body runs in one transaction
    (``BEGIN IMMEDIATE`` on SQLite) and is retried, a bounded number of times, only when the
    database is busy or the connection dropped before anything was committed.

    Arguments:
        retries: extra attempts after a busy database or a lost connection.
        busy_timeout: seconds SQLite waits for a lock before reporting busy.
        connect_timeout: seconds one PostgreSQL connection attempt may take (libpq counts
            whole seconds, at least 2).
        retry_window: no new attempt starts once this many seconds went by since the first.
    """

    def __init__(
        self,
        url: str,
        *,
        retries: int = 3,
        busy_timeout: float = 5.0,
        connect_timeout: float = 2.0,
        retry_window: float = 5.0,
    ) -> None:
        self.url = url
        self.retries = retries
        self.busy_timeout = busy_timeout
        self.connect_timeout = connect_timeout
        self.retry_window = retry_window
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme == "sqlite":
            self.dialect: Dialect = "sqlite"
            raw = unquote(url[len("sqlite://"):]) if url.startswith("sqlite://") else ""
            if raw.startswith("/"):
                raw = raw[1:] if raw.startswith("//") else raw
            path = raw if raw not in ("", "/") else str(default_sqlite_path())
            if path == ":memory:":
                raise ConfigError("sqlite://:memory: is not shared between threads; use memory:// stores or a file")
            self.path: str | None = path
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        elif scheme in ("postgresql", "postgres"):
            self.dialect = "postgresql"
            self.path = None
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise ConfigError("the PostgreSQL store needs psycopg: pip install 'toolguard[postgres]'") from None
        else:
            raise ConfigError(f"unknown store scheme {parts.scheme!r}; expected one of: memory, sqlite, postgresql")
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({_mask(self.url)!r})"

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        import psycopg

        return psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=max(2, math.ceil(self.connect_timeout)),
            # A server that vanishes without closing the socket is noticed within ~10 s.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )

    def connect(self) -> Any:
        """A new connection of its own (the caller closes it): for LISTEN, which needs one.

        PostgreSQL connections are in autocommit mode; SQLite ones have WAL and the busy
        timeout set. Connection errors are mapped like those of :meth:`run`.
        """
        try:
            return self._connect()
        except Exception as exc:
            mapped = self.map_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Close every connection this database opened (in any thread)."""
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()
        self._local = threading.local()

    # -- transactions ------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self, write: bool) -> Iterator[Tx]:
        conn = self._conn()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        elif not write:
            yield _PgTx(conn)  # autocommit: each read sees the latest committed state
        else:
            committing = False
            try:
                with conn.transaction():
                    yield _PgTx(conn)
                    committing = True
            except Exception as exc:
                if committing:
                    raise _CommitUnknown(exc) from exc
                raise

    def run(self, body: Any, *, write: bool = True) -> Any:
        """Run ``body(tx)`` in one transaction and return its result, with the bounded retry.

        Exceptions raised by ``body`` itself propagate unchanged (after a rollback); driver
        errors become :class:`~toolguard.errors.StoreError` or
        :class:`~toolguard.errors.StoreUnavailable`.
        """
        delay = 0.05
        started = time.monotonic()
        for attempt in range(self.retries + 1):
            try:
                with self._tx(write) as tx:
                    return body(tx)
            except _CommitUnknown as unknown:
                self._drop()
                cause = unknown.__cause__ or unknown
                raise StoreUnavailable(
                    f"{_mask(self.url)}: the connection was lost while committing; the outcome is unknown: "
                    f"{str(cause).strip()}"
                ) from cause
            except Exception as exc:
                mapped = self.map_error(exc)
                if mapped is None:
                    raise
                if (
                    isinstance(mapped, StoreUnavailable)
                    and attempt < self.retries
                    and time.monotonic() - started + delay < self.retry_window
                ):
                    self._drop()
                    time.sleep(delay)
                    delay *= 2
                    continue
                if isinstance(mapped, StoreUnavailable):
                    self._drop()
                    mapped = StoreUnavailable(f"{mapped} (after {attempt + 1} attempt{'s' if attempt else ''})")
                raise mapped from exc
        raise StoreUnavailable(f"{_mask(self.url)}: gave up after {self.retries} retries")  # pragma: no cover

    def map_error(self, exc: BaseException) -> StoreError | None:
        """Translate a driver error into a toolguard store error (None: not a driver error)."""
        if isinstance(exc, sqlite3.OperationalError):
            msg = str(exc)
            if any(s in msg for s in ("locked", "busy", "unable to open", "disk I/O", "readonly")):
                return StoreUnavailable(f"{_mask(self.url)}: {msg}")
            return StoreError(f"{_mask(self.url)}: {msg}")
        if isinstance(exc, sqlite3.DatabaseError):
            return StoreError(f"{_mask(self.url)}: {exc}")
        if self.dialect == "postgresql":
            import psycopg

            if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
                return StoreUnavailable(f"{_mask(self.url)}: {str(exc).strip()}")
            if isinstance(exc, psycopg.Error):
                return StoreError(f"{_mask(self.url)}: {str(exc).strip()}")
        return None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read-only query in its own transaction."""
        return self.run(lambda tx: tx.query(sql, params), write=False)  # type: ignore[no-any-return]

    # -- schema ------------------------------------------------------------------------

    def migrate(self, component: str, steps: Sequence[Step]) -> int:
        """Apply the missing schema steps of ``component``; return its version afterwards.

        Each step is SQL (``;``-separated statements), a list of statements run as they are
        (for bodies that contain ``;``, such as triggers), or a dict of either per dialect.
        Steps are only ever appended: step N is applied once, when the stored version is below N.
        """

        def body(tx: Tx) -> int:
            tx.execute("CREATE TABLE IF NOT EXISTS toolguard_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            row = tx.one("SELECT version FROM toolguard_schema WHERE component = ?", (component,))
            version = int(row[0]) if row else 0
            for n, step in enumerate(steps, start=1):
                if n <= version:
                    continue
                sql = step[self.dialect] if isinstance(step, dict) else step
                stmts = sql.split(";") if isinstance(sql, str) else sql
                for stmt in (s.strip() for s in stmts):
                    if stmt:
                        tx.execute(stmt)
                version = n
            tx.execute(
                "INSERT INTO toolguard_schema (component, version) VALUES (?, ?) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, version),
            )
            return version

        if self.dialect == "postgresql":
            # Serialise concurrent migrations from several processes.
            def locked(tx: Tx) -> int:
                tx.execute("SELECT pg_advisory_xact_lock(7243190)")
                return body(tx)

            return self.run(locked)  # type: ignore[no-any-return]
        return self.run(body)  # type: ignore[no-any-return]


def _mask(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and reprs)."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


_OPEN: dict[str, Database] = {}
_OPEN_LOCK = threading.Lock()


def open_database(url: str) -> Database:
    """The shared :class:`Database` for ``url`` in this process (created on first use)."""
    with _OPEN_LOCK:
        db = _OPEN.get(url)
        if db is None:
            db = _OPEN[url] = Database(url)
        return db
