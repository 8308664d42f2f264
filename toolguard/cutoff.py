"""Cut-off: principals on the kill list, the rules that put them there, and the operator CLI.

A cut-off principal gets ``principal.cut_off`` (deny) on every call until an operator lifts
it. Principals are cut off by hand (``toolguard cutoff add PRINCIPAL --reason ...``) or by
rules declared in policy.yaml::

    cutoff:
      - {when: denied, count: 3, within: 10m}
      - {when: budget.exceeded, budget: output_items, count: 2, within: 1d}
      - {when: payload.private_data, count: 1, within: 1h, reason: "tried to send private data out"}

``when`` is ``denied`` (a call denied), ``held`` (a call held) or a finding code (a call
whose decision carries that finding, whatever its action). ``budget`` narrows
``budget.exceeded`` to one budget (``calls``, ``egress_bytes``, ``distinct_destinations``,
``output_bytes``, ``output_items``), ``tool`` narrows any rule to one tool. The events are
counted in the counter store over a sliding window of ``within``; when the count reaches
``count`` the principal is cut off, with the rule, the count and the triggering decision as
evidence. Decisions that failed inside toolguard (``guard.error``, ``store.unavailable``)
and decisions on an already cut-off principal never count.

Lifting a principal also forgets its rule counts, so it starts afresh.
"""

from __future__ import annotations

import builtins
import getpass
import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import click

from .egress import Charge, CounterStore, format_window, principal_prefix, series_key
from .errors import ConfigError
from .findings import Decision
from .manifest import CutoffRule

if TYPE_CHECKING:
    from .stores.sql import Database, Tx

__all__ = [
    "CutOff",
    "CutoffRules",
    "KillList",
    "MemoryKillList",
    "SqlKillList",
    "cutoff_cli",
    "lift",
    "open_kill_list",
]

#: Codes that mean toolguard itself failed: such a denial is not the principal's doing.
_INFRA_CODES = frozenset({"guard.error", "store.unavailable"})


@dataclass(frozen=True)
class CutOff:
    """One kill-list entry: who, why, by whom (``rule:<id>`` or ``operator:<name>``), when.

    ``lifted_at``/``lifted_by`` are set on entries of :meth:`KillList.history`.
    """

    principal: str
    reason: str
    by: str
    at: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    lifted_at: float | None = None
    lifted_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "reason": self.reason,
            "by": self.by,
            "at": self.at,
            "evidence": dict(self.evidence),
            "lifted_at": self.lifted_at,
            "lifted_by": self.lifted_by,
        }


@runtime_checkable
class KillList(Protocol):
    """The principals that are cut off. Implementations: :class:`MemoryKillList`, :class:`SqlKillList`."""

    def cut(self, principal: str, reason: str, evidence: Mapping[str, Any] | None = None, *, by: str = "operator", at: float | None = None) -> CutOff:
        """Cut ``principal`` off. Idempotent: if it already is, the first entry is kept and returned."""
        ...

    def lift(self, principal: str, operator: str) -> CutOff | None:
        """Lift the cut-off (kept in the history); return the lifted entry, or None if there was none."""
        ...

    def get(self, principal: str) -> str | None:
        """The reason ``principal`` is cut off, or None. Called on every call: keep it cheap."""
        ...

    def entry(self, principal: str) -> CutOff | None:
        """The full entry of a cut-off principal, or None."""
        ...

    def list(self) -> builtins.list[CutOff]:
        """Every cut-off principal, oldest first."""
        ...

    def history(self, principal: str | None = None) -> builtins.list[CutOff]:
        """Lifted entries (of one principal, or all), oldest first."""
        ...


def _check(principal: Any, reason: Any = "x", evidence: Any = None) -> dict[str, Any]:
    if not isinstance(principal, str) or not principal or len(principal) > 1000:
        raise ValueError(f"a principal must be a non-empty string of at most 1000 characters, not {principal!r:.80}")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
        raise ValueError("a cut-off needs a reason: a non-empty string of at most 2000 characters")
    ev = dict(evidence or {})
    try:
        json.dumps(ev, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cut-off evidence must be JSON-serialisable: {exc}") from None
    return ev


class MemoryKillList:
    """The kill list in this process's memory (the reference implementation). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, CutOff] = {}
        self._history: list[CutOff] = []

    def __repr__(self) -> str:
        return f"MemoryKillList(cut_off={len(self._entries)})"

    def cut(self, principal: str, reason: str, evidence: Mapping[str, Any] | None = None, *, by: str = "operator", at: float | None = None) -> CutOff:
        ev = _check(principal, reason, evidence)
        with self._lock:
            old = self._entries.get(principal)
            if old is not None:
                return old
            entry = self._entries[principal] = CutOff(principal, reason, by, time.time() if at is None else at, ev)
            return entry

    def lift(self, principal: str, operator: str) -> CutOff | None:
        _check(principal)
        with self._lock:
            old = self._entries.pop(principal, None)
            if old is None:
                return None
            lifted = CutOff(old.principal, old.reason, old.by, old.at, old.evidence, time.time(), operator)
            self._history.append(lifted)
            return lifted

    def get(self, principal: str) -> str | None:
        e = self._entries.get(principal)
        return e.reason if e is not None else None

    def entry(self, principal: str) -> CutOff | None:
        return self._entries.get(principal)

    def list(self) -> builtins.list[CutOff]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: (e.at, e.principal))

    def history(self, principal: str | None = None) -> builtins.list[CutOff]:
        with self._lock:
            return [e for e in self._history if principal is None or e.principal == principal]


_SQL_STEPS: list[Any] = [
    {
        "sqlite": "CREATE TABLE toolguard_cutoff (principal TEXT PRIMARY KEY, reason TEXT NOT NULL, cut_by TEXT NOT NULL,"
        " at DOUBLE PRECISION NOT NULL, evidence TEXT NOT NULL);"
        "CREATE TABLE toolguard_cutoff_history (id INTEGER PRIMARY KEY AUTOINCREMENT, principal TEXT NOT NULL,"
        " reason TEXT NOT NULL, cut_by TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, evidence TEXT NOT NULL,"
        " lifted_at DOUBLE PRECISION NOT NULL, lifted_by TEXT NOT NULL)",
        "postgresql": "CREATE TABLE toolguard_cutoff (principal TEXT PRIMARY KEY, reason TEXT NOT NULL, cut_by TEXT NOT NULL,"
        " at DOUBLE PRECISION NOT NULL, evidence TEXT NOT NULL);"
        "CREATE TABLE toolguard_cutoff_history (id BIGSERIAL PRIMARY KEY, principal TEXT NOT NULL,"
        " reason TEXT NOT NULL, cut_by TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, evidence TEXT NOT NULL,"
        " lifted_at DOUBLE PRECISION NOT NULL, lifted_by TEXT NOT NULL)",
    },
]

_COLS = "principal, reason, cut_by, at, evidence"


def _row(row: Sequence[Any]) -> CutOff:
    lifted_at = float(row[5]) if len(row) > 5 and row[5] is not None else None
    lifted_by = str(row[6]) if len(row) > 6 and row[6] is not None else None
    return CutOff(str(row[0]), str(row[1]), str(row[2]), float(row[3]), json.loads(row[4]), lifted_at, lifted_by)


class SqlKillList:
    """The kill list in a SQL database (SQLite or PostgreSQL), shared by every process using it.

    ``cache_ttl`` (seconds, default 0: no cache) lets :meth:`get` answer from memory for
    that long; a cut or lift made through *this* object is seen at once, one made by another
    process after at most ``cache_ttl`` seconds.
    """

    def __init__(self, db: Database, *, cache_ttl: float = 0.0) -> None:
        self.db = db
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, str | None]] = {}
        db.migrate("cutoff", _SQL_STEPS)

    def __repr__(self) -> str:
        return f"SqlKillList({self.db!r})"

    def cut(self, principal: str, reason: str, evidence: Mapping[str, Any] | None = None, *, by: str = "operator", at: float | None = None) -> CutOff:
        ev = _check(principal, reason, evidence)
        when = time.time() if at is None else at

        def body(tx: Tx) -> CutOff:
            tx.execute(
                f"INSERT INTO toolguard_cutoff ({_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal) DO NOTHING",
                (principal, reason, by, when, json.dumps(ev, sort_keys=True)),
            )
            row = tx.one(f"SELECT {_COLS} FROM toolguard_cutoff WHERE principal = ?", (principal,))
            assert row is not None
            return _row(row)

        entry: CutOff = self.db.run(body)
        self._cache.pop(principal, None)
        return entry

    def lift(self, principal: str, operator: str) -> CutOff | None:
        _check(principal)

        def body(tx: Tx) -> CutOff | None:
            row = tx.one(f"SELECT {_COLS} FROM toolguard_cutoff WHERE principal = ?", (principal,))
            if row is None:
                return None
            now = time.time()
            if tx.execute("DELETE FROM toolguard_cutoff WHERE principal = ?", (principal,)) == 0:
                return None  # lifted meanwhile by another replica (PostgreSQL, READ COMMITTED)
            tx.execute(
                f"INSERT INTO toolguard_cutoff_history ({_COLS}, lifted_at, lifted_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*row, now, operator),
            )
            return _row((*row, now, operator))

        entry: CutOff | None = self.db.run(body)
        self._cache.pop(principal, None)
        return entry

    def get(self, principal: str) -> str | None:
        if self.cache_ttl > 0:
            hit = self._cache.get(principal)
            now = time.monotonic()
            if hit is not None and now - hit[0] < self.cache_ttl:
                return hit[1]
        rows = self.db.query("SELECT reason FROM toolguard_cutoff WHERE principal = ?", (principal,))
        reason = str(rows[0][0]) if rows else None
        if self.cache_ttl > 0:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[principal] = (time.monotonic(), reason)
        return reason

    def entry(self, principal: str) -> CutOff | None:
        rows = self.db.query(f"SELECT {_COLS} FROM toolguard_cutoff WHERE principal = ?", (principal,))
        return _row(rows[0]) if rows else None

    def list(self) -> builtins.list[CutOff]:
        return [_row(r) for r in self.db.query(f"SELECT {_COLS} FROM toolguard_cutoff ORDER BY at, principal")]

    def history(self, principal: str | None = None) -> builtins.list[CutOff]:
        sql = f"SELECT {_COLS}, lifted_at, lifted_by FROM toolguard_cutoff_history"
        if principal is None:
            return [_row(r) for r in self.db.query(sql + " ORDER BY id")]
        return [_row(r) for r in self.db.query(sql + " WHERE principal = ? ORDER BY id", (principal,))]


def open_kill_list(url: str, *, cache_ttl: float = 1.0) -> KillList:
    """``memory://`` gives a :class:`MemoryKillList`; SQL URLs a :class:`SqlKillList`.

    A SQL kill list answers :meth:`KillList.get` from memory for up to ``cache_ttl`` seconds
    (cuts and lifts made through it are seen at once; those of other processes within
    ``cache_ttl``). ``cache_ttl=0`` reads the database on every call.
    """
    if url.startswith("memory:"):
        return MemoryKillList()
    from .stores.sql import open_database

    return SqlKillList(open_database(url), cache_ttl=cache_ttl)


def lift(principal: str, operator: str, kill_list: KillList, counters: CounterStore | None = None) -> CutOff | None:
    """Lift a cut-off and forget the principal's rule counts (so one more event does not re-cut it)."""
    entry = kill_list.lift(principal, operator)
    if counters is not None:
        counters.clear(principal_prefix(principal) + "cutoff=")
    return entry


# --------------------------------------------------------------------------------------
# Rules


def rule_id(rule: CutoffRule) -> str:
    """The rule's ``id``, else ``r`` + a digest of its definition (an edited rule counts afresh)."""
    if rule.id:
        return rule.id
    body = json.dumps(rule.model_dump(exclude={"id", "reason"}), sort_keys=True)
    return "r" + hashlib.sha256(body.encode()).hexdigest()[:10]


def _describe(rule: CutoffRule) -> str:
    what = {"denied": "denied calls", "held": "held calls"}.get(rule.when, f"calls with {rule.when}")
    if rule.budget:
        what = f"calls over the {rule.budget} budget"
    if rule.tool:
        what += f" of {rule.tool}"
    return f"{rule.count} {what} within {format_window(rule.within)}"


@dataclass(frozen=True)
class _Compiled:
    rule: CutoffRule
    id: str
    text: str


class CutoffRules:
    """The ``cutoff`` rules of a policy, ready to match decisions."""

    def __init__(self, rules: Sequence[CutoffRule]) -> None:
        self.rules = tuple(_Compiled(r, rule_id(r), _describe(r)) for r in rules)
        ids = [c.id for c in self.rules]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ConfigError(f"cut-off rules share the id {sorted(dup)[0]!r}; give each rule its own id")

    def __bool__(self) -> bool:
        return bool(self.rules)

    def matching(self, decision: Decision) -> Iterator[_Compiled]:
        """The rules whose event ``decision`` is (none for an infrastructure failure or a cut-off)."""
        codes = set(decision.codes)
        if "principal.cut_off" in codes or codes & _INFRA_CODES:
            return
        for c in self.rules:
            r = c.rule
            if r.tool is not None and r.tool != decision.tool:
                continue
            if r.when == "denied":
                hit = decision.verdict == "deny"
            elif r.when == "held":
                hit = decision.verdict == "hold"
            elif r.budget is not None:
                hit = any(
                    f.code == "budget.exceeded" and any(e.detail.get("metric") == r.budget for e in f.evidence)
                    for f in decision.findings
                )
            else:
                hit = r.when in codes
            if hit:
                yield c

    def charges(self, principal: str, matched: Sequence[_Compiled]) -> list[Charge]:
        """One event charge per matched rule (limit ``count - 1``: a breach means the count is reached)."""
        return [
            Charge(series_key(principal, f"cutoff={c.id}", "events", c.rule.within), c.rule.count - 1, c.rule.within, 1, None, f"cutoff.{c.id}", "events")
            for c in matched
        ]

    def reason(self, c: _Compiled) -> str:
        return c.rule.reason or f"{c.text} (cut-off rule {c.id})"


# --------------------------------------------------------------------------------------
# CLI: toolguard cutoff list | add | lift


def _store_option(f: Any) -> Any:
    return click.option(
        "--store",
        "store_url",
        envvar="TOOLGUARD_STORE",
        default="sqlite://",
        show_default="$TOOLGUARD_STORE, else sqlite:// ($TOOLGUARD_HOME/state.db or ./.toolguard/state.db)",
        help="The state store URL (sqlite:///path or postgresql://...).",
    )(f)


def _when(ts: float) -> str:
    if not math.isfinite(ts):
        return "?"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@click.group("cutoff")
def cutoff_cli() -> None:
    """List, add and lift cut-off principals (the kill list)."""


@cutoff_cli.command("list")
@_store_option
@click.option("--history", is_flag=True, help="Show lifted cut-offs instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def _list(store_url: str, history: bool, as_json: bool) -> None:
    """List cut-off principals with their reason, origin and time."""
    kl = open_kill_list(store_url)
    entries = kl.history() if history else kl.list()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, sort_keys=True))
        return
    if not entries:
        click.echo("no lifted cut-offs" if history else "no principal is cut off")
        return
    for e in entries:
        line = f"{e.principal}\t{_when(e.at)}\t{e.by}\t{e.reason}"
        if e.lifted_at is not None:
            line += f"\tlifted {_when(e.lifted_at)} by {e.lifted_by}"
        click.echo(line)


@cutoff_cli.command("add")
@click.argument("principal")
@click.option("--reason", required=True, help="Why (recorded with the entry).")
@click.option("--operator", default=None, help="Who is cutting off (default: the OS user).")
@_store_option
def _add(principal: str, reason: str, operator: str | None, store_url: str) -> None:
    """Cut PRINCIPAL off by hand: every call it makes is denied until lifted."""
    who = operator or getpass.getuser()
    try:
        entry = open_kill_list(store_url).cut(principal, reason, {"operator": who}, by=f"operator:{who}")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if entry.by != f"operator:{who}" or entry.reason != reason:
        click.echo(f"{principal} was already cut off ({entry.by}, {_when(entry.at)}): {entry.reason}")
    else:
        click.echo(f"cut off {principal}: {reason}")


@cutoff_cli.command("lift")
@click.argument("principal")
@click.option("--operator", default=None, help="Who is lifting (default: the OS user).")
@_store_option
def _lift(principal: str, operator: str | None, store_url: str) -> None:
    """Lift the cut-off of PRINCIPAL (and forget its cut-off rule counts)."""
    who = operator or getpass.getuser()
    from .egress import open_counter_store

    entry = lift(principal, who, open_kill_list(store_url), open_counter_store(store_url))
    if entry is None:
        raise click.ClickException(f"{principal} is not cut off")
    click.echo(f"lifted the cut-off of {principal} (was: {entry.reason})")
