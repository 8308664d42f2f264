"""Egress accounting: budgets over sliding windows, checked and counted atomically.

Extraction is ordinary usage repeated with intent, so the signal lives in the aggregate.
This module keeps that aggregate per principal, per tool and per normalised destination,
and answers one question atomically: *may these units be spent now?*

* A :class:`Charge` is one increment on one counter series: ``cost`` units under at most
  ``limit`` per sliding window of ``per`` seconds. A charge with a ``member`` counts
  *distinct* members instead (distinct destinations, distinct output items).
* :meth:`CounterStore.reserve` checks every charge of a call and increments all of them, or
  none: one transaction (one lock in memory), so 16 threads of one principal can never
  overshoot a budget together. The guard reserves *before* the tool runs: a crash after the
  reservation can only over-count, never let a budget be overrun.
* :class:`Budgets` turns a manifest's ``limits`` and the policy's per-class budgets
  (``principals`` in policy.yaml) into the charges of one call.

Windows
-------
A window of ``per`` seconds is split into :data:`DEFAULT_BUCKETS` buckets (granularity
``per / 60``: one minute for ``1h``, 24 minutes for ``1d``). A sum covers the bucket of
"now" and the 60 before it, i.e. between ``per`` and ``per + per/60`` seconds of history.
An event is therefore forgotten no earlier than ``per`` seconds after it was counted: the
count never under-counts; it may over-count by the events of at most one extra bucket.
Distinct members are exact: a member counts while its last sighting is within ``per``.

Time going backwards (clock skew, a replica whose clock lags) never resets a window: the
effective time of a series is ``max(now, latest time recorded in that series)``.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote

from .errors import ConfigError, StoreError
from .manifest import Budget, DestinationLimits, Limits, Manifest, Policy, PrincipalLimits
from .taint import _C

if TYPE_CHECKING:
    from .stores.sql import Database, Tx

__all__ = [
    "DEFAULT_BUCKETS",
    "Breach",
    "Budgets",
    "Charge",
    "CounterStore",
    "LeasedCounterStore",
    "MemoryCounterStore",
    "Reservation",
    "SqlCounterStore",
    "format_window",
    "open_counter_store",
    "series_key",
]

log = logging.getLogger("toolguard")

#: Buckets per window: the granularity of a sliding window is ``per / DEFAULT_BUCKETS``.
DEFAULT_BUCKETS = 60
_UNITS = {"calls": "calls", "egress_bytes": "bytes", "distinct_destinations": "destinations",
          "output_bytes": "bytes", "output_items": "items"}


@dataclass(frozen=True, slots=True)
class Charge:
    """One increment to reserve: ``cost`` units on series ``key``, at most ``limit`` per ``per`` s.

    With ``member`` set the series counts distinct members: the charge costs 1 when the
    member was not seen within the window and 0 otherwise. A member charge with ``cost``
    0 is a probe: it reads the series and never adds or refreshes a member.
    ``budget`` names the declaration the limit comes from (for messages and evidence);
    ``metric`` is the budget name (``calls``, ``egress_bytes``, ...).
    """

    key: str
    limit: int
    per: float
    cost: int = 1
    member: str | None = None
    budget: str = ""
    metric: str = ""

    def describe(self) -> str:
        unit = _UNITS.get(self.metric, "units")
        return f"{self.limit} {unit} per {format_window(self.per)}"


@dataclass(frozen=True, slots=True)
class Breach:
    """A charge that did not fit: ``used`` units were already spent in its window."""

    charge: Charge
    used: int

    def to_dict(self) -> dict[str, Any]:
        c = self.charge
        return {"budget": c.budget, "metric": c.metric, "series": c.key, "max": c.limit, "per": c.per,
                "used": self.used, "cost": 1 if c.member is not None else c.cost}


@dataclass(frozen=True, slots=True)
class Reservation:
    """The answer of :meth:`CounterStore.reserve`.

    ``ok`` is True when every charge fitted (or ``force`` was given) and all were counted;
    otherwise nothing was counted and ``breaches`` lists the charges that did not fit.
    ``usage`` maps each series key to the units in its window after the reservation (before
    it, when nothing was counted). ``buckets`` maps each counted (non-member) series to the
    bucket index its units went into (what :meth:`CounterStore.release` takes back).
    """

    ok: bool
    breaches: tuple[Breach, ...] = ()
    usage: Mapping[str, int] = field(default_factory=dict)
    buckets: Mapping[str, int] = field(default_factory=dict)


@runtime_checkable
class CounterStore(Protocol):
    """Counters over sliding windows with an atomic check-and-increment.

    Implementations: :class:`MemoryCounterStore` (the reference, one process),
    :class:`SqlCounterStore` (SQLite, PostgreSQL; shared by every process on the database)
    and :class:`LeasedCounterStore` (batches reservations on either, safely).
    ``buckets`` is the number of buckets per window (the granularity is ``per / buckets``).
    """

    buckets: int

    def reserve(self, charges: Sequence[Charge], now: float, *, force: bool = False) -> Reservation:
        """Check every charge against its window and count all of them, or none.

        Charges on the same key add up in order (two destinations of one call both count).
        With ``force`` the charges are counted even when they do not fit (the breaches are
        still reported). Must be atomic against concurrent callers on the same store.
        """
        ...

    def peek(self, charges: Sequence[Charge], now: float) -> Reservation:
        """What :meth:`reserve` would answer, changing nothing."""
        ...

    def release(self, charges: Sequence[Charge], buckets: Mapping[str, int]) -> None:
        """Take back ``cost`` units of each (non-member) charge from the bucket it was counted in.

        For units reserved ahead and never used (:class:`LeasedCounterStore`). A bucket never
        goes below zero; a bucket already pruned is left alone.
        """
        ...

    def clear(self, prefix: str) -> int:
        """Forget every series whose key starts with ``prefix``; return how many rows went."""
        ...

    def prune(self, now: float) -> int:
        """Drop what no window can still see at ``now``; return how many rows went."""
        ...


def format_window(seconds: float) -> str:
    """``3600`` -> ``1h``; ``90`` -> ``90s``."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@lru_cache(maxsize=65536)
def _q(text: str) -> str:
    return quote(text, safe="@.-_:+")


def series_key(principal: str, scope: str, metric: str, per: float) -> str:
    """The key of one counter series: ``<principal>/<scope>/<metric>/<per>``, each part quoted.

    ``scope`` is ``all``, ``tool=<name>``, ``dest=<normalised destination>`` or
    ``cutoff=<rule id>``. Quoting keeps a principal named ``a/b`` from reaching another's keys.
    """
    return f"{_q(principal)}/{scope}/{metric}/{per:g}"


def principal_prefix(principal: str) -> str:
    """The key prefix of every series of ``principal`` (for :meth:`CounterStore.clear`)."""
    return _q(principal) + "/"


def _width(per: float, buckets: int) -> float:
    return per / buckets


def _check_charges(charges: Sequence[Charge]) -> None:
    for c in charges:
        # The common case in a few type tests; anything else gets the full check below.
        cost, per, limit = c.cost, c.per, c.limit
        if type(cost) is int and cost >= 0 and type(limit) is int and limit >= 0 and (type(per) is float or type(per) is int) and 0 < per < math.inf:
            continue
        _check_charge(c)


def _check_charge(c: Charge) -> None:
    if not isinstance(c.cost, int) or isinstance(c.cost, bool) or c.cost < 0:
        raise ValueError(f"charge {c.key!r}: cost must be a non-negative int, not {c.cost!r}")
    if not (isinstance(c.per, (int, float)) and math.isfinite(c.per) and c.per > 0):
        raise ValueError(f"charge {c.key!r}: per must be a positive number of seconds, not {c.per!r}")
    if not isinstance(c.limit, int) or c.limit < 0:
        raise ValueError(f"charge {c.key!r}: limit must be a non-negative int, not {c.limit!r}")


def _check_now(now: float) -> float:
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ValueError(f"now must be a finite number of seconds, not {now!r}")
    return float(now)


# --------------------------------------------------------------------------------------
# The shared algorithm: read each series once, add the charges in order, then write.


@dataclass
class _State:
    """What a reservation knows about one series while it runs."""

    used: int  # units (or distinct members) in the window at the effective time
    eff: float  # effective time: max(now, latest time recorded in the series)
    per: float
    new_members: set[str] = field(default_factory=set)
    added: int = 0


def _plan(charges: Sequence[Charge], states: Mapping[str, _State], has_member: Any) -> tuple[list[Breach], dict[str, int]]:
    breaches: list[Breach] = []
    breached: set[str] = set()
    for c in charges:
        st = states[c.key]
        if c.member is not None:
            if c.cost == 0:
                continue
            if c.member in st.new_members or has_member(c.key, c.member, st):
                continue
            st.new_members.add(c.member)
            add = 1
        else:
            add = c.cost
        used = st.used + st.added
        if add > 0 and used + add > c.limit and c.key not in breached:
            breached.add(c.key)  # one breach per series: the first charge that did not fit
            breaches.append(Breach(c, used))
        st.added += add
    return breaches, {k: st.used + st.added for k, st in states.items()}


class MemoryCounterStore:
    """Counters in this process's memory: the reference implementation (and the fast one).

    Thread-safe (one lock per store). Nothing survives the process: use
    :class:`SqlCounterStore` for budgets that must outlive a restart or span replicas.
    """

    def __init__(self, *, buckets: int = DEFAULT_BUCKETS) -> None:
        if buckets < 1:
            raise ConfigError("a counter store needs at least one bucket per window")
        self.buckets = buckets
        self._lock = threading.Lock()
        # key -> [high-water time, {bucket: units}, {member: last seen}]
        self._series: dict[str, tuple[list[float], dict[int, int], dict[str, float]]] = {}

    def __repr__(self) -> str:
        return f"MemoryCounterStore(series={len(self._series)})"

    def _get(self, key: str) -> tuple[list[float], dict[int, int], dict[str, float]]:
        s = self._series.get(key)
        if s is None:
            s = self._series[key] = ([-math.inf], {}, {})
        return s

    def _state(self, c: Charge, now: float) -> _State:
        high, buckets, members = self._get(c.key)
        eff = max(now, high[0])
        if c.member is not None:
            lo = eff - c.per
            return _State(sum(1 for t in members.values() if t > lo), eff, c.per)
        w = _width(c.per, self.buckets)
        cur = math.floor(eff / w)
        lo_b = cur - self.buckets
        return _State(sum(v for b, v in buckets.items() if b >= lo_b), eff, c.per)

    def _has_member(self, key: str, member: str, st: _State) -> bool:
        t = self._series[key][2].get(member)
        return t is not None and t > st.eff - st.per

    def _run(self, charges: Sequence[Charge], now: float, write: bool, force: bool) -> Reservation:
        _check_charges(charges)
        now = _check_now(now)
        with self._lock:
            states: dict[str, _State] = {}
            for c in charges:
                if c.key not in states:
                    states[c.key] = self._state(c, now)
            breaches, usage = _plan(charges, states, self._has_member)
            if not write or (breaches and not force):
                return Reservation(not breaches, tuple(breaches), {k: st.used for k, st in states.items()})
            counted: dict[str, int] = {}
            for c in charges:
                st = states[c.key]
                high, buckets, members = self._series[c.key]
                high[0] = max(high[0], st.eff)
                if c.member is not None:
                    if c.cost == 0:
                        continue
                    members[c.member] = st.eff
                    lo = st.eff - c.per
                    if len(members) > 2 * (st.used + st.added) + 16:
                        for m in [m for m, t in members.items() if t <= lo]:
                            del members[m]
                else:
                    w = _width(c.per, self.buckets)
                    b = math.floor(st.eff / w)
                    counted[c.key] = b
                    if not c.cost:
                        continue
                    buckets[b] = buckets.get(b, 0) + c.cost
                    if len(buckets) > self.buckets + 1:
                        lo_b = b - self.buckets
                        for old in [x for x in buckets if x < lo_b]:
                            del buckets[old]
            return Reservation(True, tuple(breaches), usage, counted)

    def reserve(self, charges: Sequence[Charge], now: float, *, force: bool = False) -> Reservation:
        return self._run(charges, now, True, force)

    def peek(self, charges: Sequence[Charge], now: float) -> Reservation:
        return self._run(charges, now, False, False)

    def release(self, charges: Sequence[Charge], buckets: Mapping[str, int]) -> None:
        _check_charges(charges)
        with self._lock:
            for c in charges:
                series = self._series.get(c.key)
                b = buckets.get(c.key)
                if series is None or b is None or c.member is not None or b not in series[1]:
                    continue
                series[1][b] = max(0, series[1][b] - c.cost)

    def clear(self, prefix: str) -> int:
        with self._lock:
            gone = [k for k in self._series if k.startswith(prefix)]
            for k in gone:
                del self._series[k]
            return len(gone)

    def prune(self, now: float) -> int:
        # Memory series prune themselves on write; empty series are dropped here.
        with self._lock:
            gone = [k for k, (_, b, m) in self._series.items() if not b and not m]
            for k in gone:
                del self._series[k]
            return len(gone)

    def keys(self) -> list[str]:
        """Every series key held (for inspection and tests)."""
        with self._lock:
            return sorted(self._series)


# --------------------------------------------------------------------------------------
# SQL

_SQL_STEPS: list[Any] = [
    "CREATE TABLE toolguard_counter ("
    " key TEXT NOT NULL, bucket BIGINT NOT NULL, value BIGINT NOT NULL, expires DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (key, bucket));"
    "CREATE INDEX toolguard_counter_expires ON toolguard_counter (expires);"
    "CREATE TABLE toolguard_counter_member ("
    " key TEXT NOT NULL, member TEXT NOT NULL, seen DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (key, member));"
    "CREATE INDEX toolguard_counter_member_seen ON toolguard_counter_member (key, seen);"
    "CREATE INDEX toolguard_counter_member_expires ON toolguard_counter_member (expires)",
]


class SqlCounterStore:
    """Counters in a SQL database (SQLite file or PostgreSQL), shared by every process using it.

    Each reservation is one write transaction: ``BEGIN IMMEDIATE`` on SQLite (writers
    serialise), and per-series advisory locks taken in key order on PostgreSQL. Rows no
    window can see are pruned at most once per ``prune_interval`` seconds.

    Usage::

        store = SqlCounterStore(open_database("sqlite:///var/lib/toolguard/state.db"))
    """

    def __init__(self, db: Database, *, buckets: int = DEFAULT_BUCKETS, prune_interval: float = 60.0) -> None:
        if buckets < 1:
            raise ConfigError("a counter store needs at least one bucket per window")
        self.db = db
        self.buckets = buckets
        self.prune_interval = prune_interval
        self._last_prune = -math.inf
        db.migrate("counters", _SQL_STEPS)

    def __repr__(self) -> str:
        return f"SqlCounterStore({self.db!r})"

    def _body(self, charges: Sequence[Charge], now: float, write: bool, force: bool) -> Any:
        per = {c.key: c.per for c in charges}
        n = self.buckets

        def body(tx: Tx) -> Reservation:
            if write and self.db.dialect == "postgresql":
                for key in sorted(per):
                    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))
            states: dict[str, _State] = {}
            for c in charges:
                if c.key in states:
                    continue
                if c.member is not None:
                    row = tx.one(
                        "SELECT COUNT(*), MAX(seen) FROM toolguard_counter_member WHERE key = ? AND seen > ?",
                        (c.key, now - c.per),
                    )
                    count, high = (int(row[0]), row[1]) if row else (0, None)
                    eff = max(now, float(high)) if high is not None else now
                    if eff > now:  # the clock went backwards: count against the later time
                        row = tx.one(
                            "SELECT COUNT(*) FROM toolguard_counter_member WHERE key = ? AND seen > ?",
                            (c.key, eff - c.per),
                        )
                        count = int(row[0]) if row else 0
                    states[c.key] = _State(count, eff, c.per)
                else:
                    w = _width(c.per, n)
                    cur = math.floor(now / w)
                    rows = tx.query("SELECT bucket, value FROM toolguard_counter WHERE key = ? AND bucket >= ?", (c.key, cur - n))
                    top = max([cur, *(int(b) for b, _ in rows)])
                    used = sum(int(v) for b, v in rows if int(b) >= top - n)
                    states[c.key] = _State(used, max(now, top * w), c.per)

            def has_member(key: str, member: str, st: _State) -> bool:
                row = tx.one("SELECT seen FROM toolguard_counter_member WHERE key = ? AND member = ?", (key, member))
                return row is not None and float(row[0]) > st.eff - st.per

            breaches, usage = _plan(charges, states, has_member)
            if not write or (breaches and not force):
                return Reservation(not breaches, tuple(breaches), {k: st.used for k, st in states.items()})
            counted: dict[str, int] = {}
            for c in charges:
                st = states[c.key]
                if c.member is not None:
                    if c.cost == 0:
                        continue
                    tx.execute(
                        "INSERT INTO toolguard_counter_member (key, member, seen, expires) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (key, member) DO UPDATE SET seen = excluded.seen, expires = excluded.expires",
                        (c.key, c.member, st.eff, st.eff + c.per),
                    )
                else:
                    w = _width(c.per, n)
                    b = max(math.floor(now / w), math.floor(st.eff / w))
                    counted[c.key] = b
                    if not c.cost:
                        continue
                    tx.execute(
                        "INSERT INTO toolguard_counter (key, bucket, value, expires) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (key, bucket) DO UPDATE SET value = toolguard_counter.value + excluded.value",
                        (c.key, b, c.cost, (b + 1) * w + c.per),
                    )
            return Reservation(True, tuple(breaches), usage, counted)

        return body

    def reserve(self, charges: Sequence[Charge], now: float, *, force: bool = False) -> Reservation:
        _check_charges(charges)
        now = _check_now(now)
        if not charges:
            return Reservation(True)
        res: Reservation = self.db.run(self._body(charges, now, True, force))
        if now - self._last_prune >= self.prune_interval:
            self._last_prune = now
            try:
                self.prune(now)
            except StoreError:  # housekeeping only: the next interval tries again
                log.warning("toolguard: pruning counters failed", exc_info=True)
        return res

    def peek(self, charges: Sequence[Charge], now: float) -> Reservation:
        _check_charges(charges)
        now = _check_now(now)
        if not charges:
            return Reservation(True)
        res: Reservation = self.db.run(self._body(charges, now, False, False), write=False)
        return res

    def release(self, charges: Sequence[Charge], buckets: Mapping[str, int]) -> None:
        _check_charges(charges)
        rows = [(c.cost, c.cost, c.key, buckets[c.key]) for c in charges if c.member is None and c.cost and c.key in buckets]
        if not rows:
            return

        def body(tx: Tx) -> None:
            for row in rows:
                tx.execute(
                    "UPDATE toolguard_counter SET value = CASE WHEN value > ? THEN value - ? ELSE 0 END WHERE key = ? AND bucket = ?",
                    row,
                )

        self.db.run(body)

    def clear(self, prefix: str) -> int:
        def body(tx: Tx) -> int:
            n = tx.execute("DELETE FROM toolguard_counter WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
            return n + tx.execute("DELETE FROM toolguard_counter_member WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

        return int(self.db.run(body))

    def prune(self, now: float) -> int:
        now = _check_now(now)

        def body(tx: Tx) -> int:
            n = tx.execute("DELETE FROM toolguard_counter WHERE expires < ?", (now,))
            return n + tx.execute("DELETE FROM toolguard_counter_member WHERE expires < ?", (now,))

        return int(self.db.run(body))


#: The C core's ``store_spend`` (:meth:`LeasedCounterStore.spend` under the store's lock, its
#: two loops those of ``lease_spend``), or None without it (or with ``TOOLGUARD_NO_ACCEL=1``);
#: the tests swap it to compare both.
_C_SPEND: Any = _C.store_spend if _C is not None else None


@dataclass(slots=True)
class _Lease:
    bucket: int  # the bucket the leased units were counted in; valid while "now" is in it
    left: int
    per: float


class LeasedCounterStore:
    """Batches reservations on a shared store by leasing units ahead, without under-counting.

    The first reservation on a series in a bucket asks the shared store for its cost plus a
    lease of ``share`` of the series' limit (5% by default); later reservations spend the
    lease in memory, until it runs out or its bucket ends. Then the unused rest is given
    back (:meth:`CounterStore.release`) and a new lease is taken.

    Why this never under-counts: leased units are counted in the shared store *before*
    they are spent, in the bucket of the moment they were leased, and a lease is only spent
    while "now" is still inside that bucket. A bucket stays in every window for at least
    ``per`` seconds after it ends, so each unit is remembered for at least ``per`` seconds
    after it was actually spent. A crash loses the unused rest of a lease, which stays
    counted until its window ends: it can only over-count, by at most ``share`` of a limit
    per series and process.

    What it costs: another process sharing the store may see up to ``share`` of a
    principal's limit held by this one until its bucket ends (at most ``per / buckets``
    seconds: one minute for a ``1h`` window). Distinct-member charges (destinations, output
    items) and forced reservations always go to the shared store. ``usage`` in a reservation
    answered from a lease is the store's count at the lease plus what was spent since.

    Usage::

        counters = LeasedCounterStore(SqlCounterStore(open_database("sqlite:///state.db")))
    """

    def __init__(self, inner: CounterStore, *, share: float = 0.05, sweep_interval: float = 1.0) -> None:
        if not 0 <= share < 1:
            raise ConfigError(f"share must be at least 0 and below 1, not {share!r}")
        self.inner = inner
        self.share = share
        self.buckets = inner.buckets
        self.sweep_interval = sweep_interval
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}
        self._usage: dict[str, int] = {}
        self._high = -math.inf
        self._last_sweep = -math.inf

    def __repr__(self) -> str:
        return f"LeasedCounterStore({self.inner!r}, share={self.share})"

    def _bucket(self, per: float, now: float) -> int:
        return math.floor(now / _width(per, self.buckets))

    def reserve(self, charges: Sequence[Charge], now: float, *, force: bool = False) -> Reservation:
        _check_charges(charges)
        now = _check_now(now)
        with self._lock:
            now = self._high = max(now, self._high)
            if not force and charges:
                # The fast path: every charge is spent from a lease still in its bucket,
                # in memory, without touching the shared store.
                leases = self._leases
                need: dict[str, int] = {}
                for c in charges:
                    if c.member is not None:
                        break
                    need[c.key] = need.get(c.key, 0) + c.cost
                else:
                    n_buckets = self.buckets
                    for c in charges:
                        lease = leases.get(c.key)
                        if lease is None or lease.bucket < math.floor(now / (c.per / n_buckets)) or lease.left < need[c.key]:
                            break
                    else:
                        usage = self._usage
                        for key, n in need.items():
                            leases[key].left -= n
                            usage[key] = usage.get(key, 0) + n
                        return Reservation(True, (), {k: usage[k] for k in need})
            self._sweep(now)
            return self._slow(charges, now, force)

    def spend(self, items: Sequence[tuple[str, float, int | None]], now: float, fill: int = 0) -> dict[str, int] | None:
        """The lease fast path without :class:`Charge` objects: spend from still-valid leases, or nothing.

        ``items`` are ``(key, per, cost)`` of member-less charges on distinct series, a
        cost of None standing for ``fill`` (a call's egress bytes). When
        every one is covered by a lease still in its bucket, the costs are spent from the
        leases exactly as :meth:`reserve` would spend them and the usage of each series is
        returned (what ``Reservation.usage`` holds); otherwise nothing changes and None
        is returned: the caller then reserves through :meth:`reserve`, which takes new
        leases from the shared store.
        """
        if not (type(now) is float and now - now == 0.0):  # not a finite float: the full check
            now = _check_now(now)
        if type(fill) is not int or fill < 0:
            raise ValueError(f"fill must be a non-negative int, not {fill!r}")
        if _C_SPEND is not None and type(items) is tuple and type(now) is float and type(self.buckets) is int:
            # what follows, the lock included, in C; NotImplemented: numbers past 64 bits (nothing spent)
            spent: dict[str, int] | None = _C_SPEND(self, items, now, fill)
            if spent is not NotImplemented:
                return spent
        with self._lock:
            if now < self._high:
                now = self._high
            else:
                self._high = now
            leases = self._leases
            n_buckets = self.buckets
            floor = math.floor
            # First every series is checked, then every one is spent: nothing changes unless all fit.
            for key, per, cost in items:
                lease = leases.get(key)
                if cost is None:
                    cost = fill
                elif type(cost) is not int or cost < 0:
                    raise ValueError(f"charge {key!r}: cost must be a non-negative int, not {cost!r}")
                if lease is None or lease.left < cost or lease.bucket < floor(now / (per / n_buckets)):
                    return None
            usage = self._usage
            out: dict[str, int] = {}
            for key, _, cost in items:
                if cost is None:
                    cost = fill
                leases[key].left -= cost
                out[key] = usage[key] = usage.get(key, 0) + cost
            return out

    def _slow(self, charges: Sequence[Charge], now: float, force: bool) -> Reservation:
        # Spend what is left of still-valid leases first; ask the shared store for the rest.
        valid: dict[str, _Lease] = {}
        for c in charges:
            lease = self._leases.get(c.key)
            if lease is not None and c.member is None and lease.bucket >= self._bucket(c.per, now):
                valid[c.key] = lease
        if force:
            forced = self.inner.reserve(charges, now, force=True)
            self._usage.update(forced.usage)
            return forced
        need: dict[str, int] = {}
        for c in charges:
            if c.member is None:
                need[c.key] = need.get(c.key, 0) + c.cost
        from_lease = {k: min(need[k], valid[k].left) for k in valid if k in need}
        extra: dict[str, int] = {}
        for c in charges:
            if c.member is None and c.key not in extra and self.share > 0 and need[c.key] > from_lease.get(c.key, 0):
                extra[c.key] = max(0, math.ceil(c.limit * self.share))
        res: Reservation | None = None
        if any(extra.values()):
            res = self.inner.reserve(self._ask(charges, from_lease, extra), now)
            if not res.ok:
                res = None  # the lease does not fit: try for exactly what is needed
        if res is None:
            extra = {}
            res = self.inner.reserve(self._ask(charges, from_lease, extra), now)
            if not res.ok:
                return res
        for k, n in from_lease.items():
            valid[k].left -= n
        for k, b in res.buckets.items():
            got = extra.get(k, 0)
            per = next(c.per for c in charges if c.key == k)
            lease = valid.get(k)
            if lease is not None:
                lease.left += got
                lease.bucket = min(lease.bucket, b)
            elif got:
                stale = self._leases.pop(k, None)
                if stale is not None and stale.left:
                    self._give_back(k, stale)
                self._leases[k] = _Lease(b, got, per)
        usage = dict(res.usage)
        for k, got in extra.items():
            usage[k] = usage.get(k, 0) - got  # report spent units, not the lease
        self._usage.update(usage)
        return Reservation(True, res.breaches, usage, res.buckets)

    @staticmethod
    def _ask(charges: Sequence[Charge], from_lease: Mapping[str, int], extra: Mapping[str, int]) -> list[Charge]:
        """The charges to put to the shared store: minus what leases cover, plus new leases."""
        out: list[Charge] = []
        done: set[str] = set()
        for c in charges:
            if c.member is not None:
                out.append(c)
                continue
            if c.key in done:
                continue
            done.add(c.key)
            total = sum(x.cost for x in charges if x.key == c.key and x.member is None)
            cost = total - from_lease.get(c.key, 0) + extra.get(c.key, 0)
            out.append(Charge(c.key, c.limit, c.per, cost, None, c.budget, c.metric))
        return out

    def _give_back(self, key: str, lease: _Lease) -> None:
        try:
            self.inner.release([Charge(key, 0, lease.per, lease.left)], {key: lease.bucket})
        except StoreError:  # the units stay counted: an over-count, never an under-count
            log.warning("toolguard: could not give back %d leased units of %s", lease.left, key, exc_info=True)
        lease.left = 0

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self.sweep_interval:
            return
        self._last_sweep = now
        for key in [k for k, lease in self._leases.items() if lease.bucket < self._bucket(lease.per, now)]:
            lease = self._leases.pop(key)
            if lease.left:
                self._give_back(key, lease)

    def flush(self) -> None:
        """Give back every unused lease now (call before a planned shutdown)."""
        with self._lock:
            for key, lease in list(self._leases.items()):
                if lease.left:
                    self._give_back(key, lease)
            self._leases.clear()

    close = flush

    def peek(self, charges: Sequence[Charge], now: float) -> Reservation:
        """The shared store's answer, less the units this process holds leased and unspent."""
        res = self.inner.peek(charges, now)
        with self._lock:
            now = max(now, self._high)
            held = {k: lease.left for k, lease in self._leases.items() if k in res.usage and lease.bucket >= self._bucket(lease.per, now)}
        if not held:
            return res
        usage = {k: max(0, v - held.get(k, 0)) for k, v in res.usage.items()}
        return Reservation(res.ok, res.breaches, usage, res.buckets)

    def release(self, charges: Sequence[Charge], buckets: Mapping[str, int]) -> None:
        self.inner.release(charges, buckets)

    def clear(self, prefix: str) -> int:
        with self._lock:
            for k in [k for k in self._leases if k.startswith(prefix)]:
                del self._leases[k]
        return self.inner.clear(prefix)

    def prune(self, now: float) -> int:
        return self.inner.prune(now)


def open_counter_store(url: str, *, lease: float = 0.05) -> CounterStore:
    """The counter store for a URL.

    ``memory://`` gives a :class:`MemoryCounterStore`; ``sqlite:///...`` and
    ``postgresql://...`` a :class:`SqlCounterStore` on the shared database, wrapped in a
    :class:`LeasedCounterStore` taking leases of ``lease`` of each limit (0: no leases, every
    reservation is one transaction).
    """
    if url.startswith("memory:"):
        return MemoryCounterStore()
    from .stores.sql import open_database

    store = SqlCounterStore(open_database(url))
    return LeasedCounterStore(store, share=lease) if lease > 0 else store


# --------------------------------------------------------------------------------------
# Budgets: manifest limits and per-class budgets, as charges


_LIMIT_FIELDS = ("calls", "egress_bytes", "distinct_destinations", "output_bytes", "output_items")
_CALL_METRICS = ("calls", "egress_bytes", "distinct_destinations")
_OUTPUT_METRICS = ("output_bytes", "output_items")


@dataclass(frozen=True, slots=True)
class _Slot:
    """One budget that applies to a tool's calls: where it is counted and its limit."""

    scope: str  # "all", "tool=<name>" or "dest" (filled per destination)
    metric: str
    budget: Budget
    label: str


def _merge(base: Any, over: Any) -> Any:
    """``over`` with every field it did not set taken from ``base`` (pydantic models)."""
    data = {name: getattr(base, name) for name in type(base).model_fields}
    for name in over.model_fields_set:
        data[name] = getattr(over, name)
    return type(over).model_construct(**data)


class Budgets:
    """Which budgets apply to a call, as :class:`Charge` values (docs/egress.md, "Budgets").

    A call of tool ``T`` by principal ``P`` (class ``C``) is charged against:

    * the manifest's ``limits`` of ``T``, per principal (series ``P/tool=T/...``);
    * class ``C``'s totals (``P/all/...``), its ``tools[T]`` (``P/tool=T/...``) and its
      ``per_destination`` budgets (``P/dest=D/...``).

    Two budgets on the same series and window (a manifest limit and a class ``tools``
    limit of the same length) count the same units once, against the smaller limit.
    """

    def __init__(self, policy: Policy, *, principal_class: Any = None) -> None:
        self.policy = policy
        self._classify = principal_class
        self._members = dict(policy.principals.members)
        self._patterns = [(p, c) for p, c in policy.principals.members.items() if any(ch in p for ch in "*?[")]
        self._class_limits: dict[str, PrincipalLimits] = {}
        self._slots: dict[tuple[str, str], tuple[tuple[_Slot, ...], tuple[_Slot, ...]]] = {}
        self._lock = threading.Lock()
        self.counted_labels = frozenset(policy.principals.counted_labels)

    def principal_class(self, principal: str) -> str:
        """The class of ``principal``: the ``principal_class`` callable, else ``members``, else ``default``."""
        if self._classify is not None:
            cls = self._classify(principal)
            if cls is not None:
                if cls != "default" and cls not in self.policy.principals.classes:
                    raise ConfigError(f"principal_class returned the unknown class {cls!r} for {principal!r}")
                return str(cls)
        cls = self._members.get(principal)
        if cls is not None:
            return cls
        for pattern, c in self._patterns:
            if fnmatch.fnmatchcase(principal, pattern):
                return c
        return "default"

    def limits_of(self, cls: str) -> PrincipalLimits:
        """The budgets of class ``cls`` after inheriting from ``default``."""
        got = self._class_limits.get(cls)
        if got is None:
            p = self.policy.principals
            if cls == "default":
                got = p.default
            else:
                own = p.classes[cls]
                got = _merge(p.default, own)
                if "per_destination" in own.model_fields_set:
                    pd = _merge(p.default.per_destination, own.per_destination)
                    got = got.model_copy(update={"per_destination": pd})
                if "tools" in own.model_fields_set:
                    got = got.model_copy(update={"tools": {**p.default.tools, **own.tools}})
            self._class_limits[cls] = got
        return got

    def _build_slots(self, cls: str, tool: str, manifest: Manifest | None) -> tuple[tuple[_Slot, ...], tuple[_Slot, ...]]:
        lim = self.limits_of(cls)
        call: list[_Slot] = []
        out: list[_Slot] = []

        def add(limits: Limits | DestinationLimits, scope: str, label: str, counted: bool = True) -> None:
            for metric in _LIMIT_FIELDS:
                budget = getattr(limits, metric, None)
                if budget is None:
                    continue
                slot = _Slot(scope, metric, budget, f"{label}.{metric}")
                if metric in _CALL_METRICS:
                    call.append(slot)
                elif counted:
                    out.append(slot)

        if manifest is not None:
            add(manifest.limits, f"tool={_q(tool)}", f"manifest {tool}: limits")
        labelled = manifest is not None and bool(self.counted_labels & set(manifest.output.labels))
        where = "principals.default" if cls == "default" else f"principals.classes.{cls}"
        add(lim, "all", where, counted=labelled)
        t = lim.tools.get(tool)
        if t is not None:
            add(t, f"tool={_q(tool)}", f"{where}.tools.{tool}", counted=labelled)
        add(lim.per_destination, "dest", f"{where}.per_destination")
        return tuple(call), tuple(out)

    def slots(self, cls: str, tool: str, manifest: Manifest | None) -> tuple[tuple[_Slot, ...], tuple[_Slot, ...]]:
        """The (call-edge, output-edge) budgets of ``tool`` for class ``cls`` (cached)."""
        key = (cls, tool)
        got = self._slots.get(key)
        if got is None:
            with self._lock:
                got = self._slots[key] = self._build_slots(cls, tool, manifest)
        return got

    def call_charges(self, principal: str, slots: Iterable[_Slot], egress_bytes: int, destinations: Sequence[str]) -> list[Charge]:
        """The charges of one call: 1 call, ``egress_bytes`` bytes, each destination once."""
        out: list[Charge] = []
        for s in slots:
            per, mx = s.budget.per, s.budget.max
            if s.scope == "dest":
                for d in dict.fromkeys(destinations):
                    key = series_key(principal, f"dest={_q(d)}", s.metric, per)
                    out.append(Charge(key, mx, per, 1 if s.metric == "calls" else egress_bytes, None, s.label, s.metric))
                continue
            key = series_key(principal, s.scope, _series_metric(s.metric), per)
            if s.metric == "calls":
                out.append(Charge(key, mx, per, 1, None, s.label, s.metric))
            elif s.metric == "egress_bytes":
                out.append(Charge(key, mx, per, egress_bytes, None, s.label, s.metric))
            else:
                for d in dict.fromkeys(destinations):
                    out.append(Charge(key, mx, per, 1, d, s.label, s.metric))
        return dedupe(out)

    def output_charges(self, principal: str, slots: Iterable[_Slot], out_bytes: int, items: Sequence[str]) -> list[Charge]:
        """The charges of one output: ``out_bytes`` bytes and each distinct item once."""
        out: list[Charge] = []
        for s in slots:
            per, mx = s.budget.per, s.budget.max
            key = series_key(principal, s.scope, _series_metric(s.metric), per)
            if s.metric == "output_bytes":
                out.append(Charge(key, mx, per, out_bytes, None, s.label, s.metric))
            else:
                for item in dict.fromkeys(items):
                    out.append(Charge(key, mx, per, 1, item, s.label, s.metric))
        return dedupe(out)

    def probes(self, principal: str, cls: str, tool: str, manifest: Manifest | None) -> list[Charge]:
        """Read-only charges (cost 0) on every series of ``tool`` but per-destination ones."""
        call_slots, out_slots = self.slots(cls, tool, manifest)
        out = []
        for s in (*call_slots, *out_slots):
            if s.scope == "dest":
                continue
            member = "" if s.metric in ("distinct_destinations", "output_items") else None
            key = series_key(principal, s.scope, _series_metric(s.metric), s.budget.per)
            out.append(Charge(key, s.budget.max, s.budget.per, 0, member, s.label, s.metric))
        return dedupe(out)


def _series_metric(metric: str) -> str:
    return "destinations" if metric == "distinct_destinations" else metric


def dedupe(charges: Iterable[Charge]) -> list[Charge]:
    """Merge charges on the same series (and member): one increment, against the smallest limit."""
    best: dict[tuple[str, str | None], Charge] = {}
    for c in charges:
        k = (c.key, c.member)
        old = best.get(k)
        if old is None or c.limit < old.limit:
            best[k] = c
    return list(best.values())
