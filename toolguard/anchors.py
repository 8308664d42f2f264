"""Audit chain heads anchored in the shared database.

A hash chain shows any line edited, dropped, inserted or moved, but not lines cut from its
end: what is left is still a valid chain. The audit log therefore writes its head (``seq``
and ``hash`` of the last record synced to disk) to the state database at every fsync
(once a second by default), and ``toolguard audit verify --store URL`` checks that each
anchored record is still in the files, with the same hash. Someone who can rewrite the log
file but not the database can then no longer hide the calls at its end.

::

    anchors = AnchorStore(open_database("sqlite:///state.db"))
    log = AuditLog("audit.jsonl", anchors=anchors)
    ...
    checked, problems = check_anchors(["audit.jsonl"], anchors)   # problems == [] when all are found

One row per log (keyed by the log's absolute path, or a name given to the log); an anchor
only ever moves forward (a lower ``seq`` never replaces a higher one).
"""

from __future__ import annotations

import atexit
import builtins
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no database driver is imported with the audit module
    from .stores.sql import Database, Tx

__all__ = ["Anchor", "AnchorStore", "AnchorWriter", "check_anchors"]

log = logging.getLogger("toolguard.audit")

_STEPS = (
    "CREATE TABLE toolguard_audit_anchors ("
    " log TEXT PRIMARY KEY,"
    " seq BIGINT NOT NULL,"
    " hash TEXT NOT NULL,"
    " at DOUBLE PRECISION NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class Anchor:
    """The head of one audit log as the database last saw it."""

    log: str
    seq: int
    hash: str
    at: float


class AnchorStore:
    """Audit log heads in a SQL database (SQLite or PostgreSQL), shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("audit_anchors", _STEPS)

    def __repr__(self) -> str:
        return f"AnchorStore({self.db!r})"

    def put(self, log_name: str, seq: int, hash_: str, *, at: float | None = None) -> None:
        """Record that ``log_name`` reached ``seq`` with ``hash_`` (ignored if it is not ahead)."""
        when = time.time() if at is None else at

        def body(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO toolguard_audit_anchors (log, seq, hash, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (log) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at"
                " WHERE excluded.seq > toolguard_audit_anchors.seq",
                (log_name, int(seq), hash_, when),
            )

        self.db.run(body)

    def get(self, log_name: str) -> Anchor | None:
        rows = self.db.query("SELECT log, seq, hash, at FROM toolguard_audit_anchors WHERE log = ?", (log_name,))
        return _anchor(rows[0]) if rows else None

    def list(self) -> builtins.list[Anchor]:
        rows = self.db.query("SELECT log, seq, hash, at FROM toolguard_audit_anchors ORDER BY log")
        return [_anchor(r) for r in rows]


def _anchor(row: tuple[object, ...]) -> Anchor:
    return Anchor(str(row[0]), int(row[1]), str(row[2]), float(row[3]))  # type: ignore[call-overload, arg-type]


def log_name(path: str | Path) -> str:
    """The anchor key of a log file: its absolute path."""
    return str(Path(path).resolve())


def check_anchors(paths: Iterable[str | Path], anchors: AnchorStore, *, names: Iterable[str] = ()) -> tuple[int, builtins.list[tuple[str, str]]]:
    """How many anchors of these logs there are, and ``(log, message)`` for each the files no longer show.

    ``paths`` are the log's files (rotated ones included, as for ``verify``); the anchors
    checked are those keyed by the active files' absolute paths, plus ``names``. A missing
    record (the files end before the anchored ``seq``) is reported as cut; a record whose
    hash differs, as rewritten.
    """
    from .audit import _expand  # the same file order as verify

    files = _expand(paths)
    keys = {log_name(f) for f in files} | set(names)
    wanted = [a for a in anchors.list() if a.log in keys]
    if not wanted:
        return 0, []
    by_seq: dict[int, str] = {}
    last = 0
    first: int | None = None
    for file in files:
        if not file.is_file():
            continue
        with open(file, "rb") as f:
            for raw in f:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("seq"), int) and isinstance(rec.get("hash"), str):
                    by_seq[rec["seq"]] = rec["hash"]
                    last = max(last, rec["seq"])
                    first = rec["seq"] if first is None else min(first, rec["seq"])
    out: builtins.list[tuple[str, str]] = []
    stamp = "%Y-%m-%d %H:%M:%S"
    for a in wanted:
        found = by_seq.get(a.seq)
        when = time.strftime(stamp, time.gmtime(a.at)) + " UTC"
        if found is None and first is not None and a.seq < first:
            continue  # in an earlier (rotated) file not given here: verify the whole directory
        if found is None:
            out.append((a.log, f"the database anchored seq {a.seq} (hash {a.hash[:16]}) at {when}, "
                                f"but the files end at seq {last}: records were cut from the end of the log"))
        elif found != a.hash:
            out.append((a.log, f"seq {a.seq} has hash {found[:16]} in the files but {a.hash[:16]} in the database "
                                f"anchor of {when}: the log was rewritten"))
    return len(wanted), out


def safe_put(anchors: AnchorStore, log_name_: str, seq: int, hash_: str) -> None:
    """:meth:`AnchorStore.put` that logs instead of raising (the audit record itself is written)."""
    try:
        anchors.put(log_name_, seq, hash_)
    except Exception:
        log.exception("toolguard: cannot anchor the audit log %s at seq %d", log_name_, seq)


class AnchorWriter:
    """Writes anchors from a thread of its own, so that a slow or unreachable database never
    delays the call whose fsync made an anchor due. Only the newest head per log is kept (an
    older one would be ignored by the store anyway). :meth:`flush` writes what is due now
    and waits for a write in flight; :meth:`stop` (run by the log's ``close()`` and at
    interpreter exit) flushes and ends the thread, so nothing touches the database after."""

    def __init__(self, anchors: AnchorStore) -> None:
        self.anchors = anchors
        self._due: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="toolguard-audit-anchor", daemon=True)
        self._thread.start()
        atexit.register(_stop_at_exit, weakref.ref(self))

    def submit(self, log_name_: str, seq: int, hash_: str) -> None:
        with self._lock:
            self._due[log_name_] = (seq, hash_)
        self._wake.set()

    def flush(self) -> None:
        with self._flushing:
            with self._lock:
                due, self._due = self._due, {}
            for name, (seq, h) in due.items():
                safe_put(self.anchors, name, seq, h)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopped:
                return
            self.flush()


def _stop_at_exit(ref: weakref.ref[AnchorWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.stop()
