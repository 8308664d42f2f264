"""Durable held calls: the approval store.

A held call becomes an :class:`ApprovalRecord` that moves only forward through::

    pending ──> approved ──> executing ──> done
       │           │             └──────> failed
       │           └──> cancelled
       ├──> denied
       ├──> expired
       └──> cancelled

Every transition is atomic: a conditional ``UPDATE ... WHERE id = ? AND status = ?`` whose row
count tells whether this caller made it. :meth:`ApprovalStore.claim` is the primitive behind
"runs exactly once": of any number of workers racing for an approved call, exactly one gets
``True`` and moves it to ``executing``; a crash after that leaves it ``executing`` for an
operator (``toolguard approvals list --stuck``) and nothing ever re-runs it.

The arguments are stored as canonical JSON (sorted keys, no spaces, UTF-8) with their
SHA-256; :meth:`~ApprovalStore.claim` re-hashes them and refuses (``failed``) on a mismatch,
so what runs is exactly what the approver saw. An approver may replace them only at the
JSON pointers the manifest's ``approval.editable`` allows; the edited call is decided again
by the core before it runs (see :mod:`toolguard.approvals.executor`).

Every decision records who, when and why (``decided_by``, ``decided_at``, ``reason``), and
every transition appends an :class:`ApprovalEvent` to the record's history.

The store is a :class:`~toolguard.HoldSink`, so ``Guard(manifests, holds=store)`` makes every
held call durable::

    store = SqlApprovalStore(open_database("sqlite:///var/lib/toolguard/state.db"))
    guard = Guard.from_path("manifests/", holds=store)
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from .. import _pointer
from ..errors import (
    AlreadyDecided,
    ApprovalError,
    ApprovalExpired,
    ApprovalNotFound,
    ConfigError,
    NotAnApprover,
    StoreError,
)
from ..stores.sql import Database, Tx, open_database
from .approvers import Approver, ApproverStore, MemoryApproverStore, SqlApproverStore

if TYPE_CHECKING:
    from ..guard import HoldRequest
    from .notify import Notifier

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "ApprovalEvent",
    "ApprovalRecord",
    "ApprovalStore",
    "ArgumentsTampered",
    "EditNotAllowed",
    "InvalidDecision",
    "InvalidTransition",
    "MemoryApprovalStore",
    "SqlApprovalStore",
    "Status",
    "Verdict",
    "args_sha256",
    "canonical_json",
    "open_stores",
    "record_from_request",
]

log = logging.getLogger("toolguard.approvals")

Status = Literal["pending", "approved", "denied", "expired", "executing", "done", "failed", "cancelled"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied", "expired", "executing", "done", "failed", "cancelled")
FINAL_STATUSES: frozenset[str] = frozenset({"denied", "expired", "done", "failed", "cancelled"})
Verdict = Literal["approve", "deny"]

#: The only transitions a record can make (anything else is refused, nothing changes).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "pending": frozenset({"approved", "denied", "expired", "cancelled"}),
    "approved": frozenset({"executing", "expired", "cancelled"}),
    "executing": frozenset({"done", "failed"}),
    "denied": frozenset(),
    "expired": frozenset(),
    "done": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

MAX_REASON = 2000
MAX_ARGS_BYTES = 1024 * 1024
MAX_RESULT_BYTES = 64 * 1024


class InvalidDecision(ApprovalError):
    """Raised for a malformed decision: unknown verdict, a deny without a reason, bad edited arguments."""


class EditNotAllowed(InvalidDecision):
    """Raised when edited arguments change something the manifest's ``approval.editable`` does not allow."""


class ArgumentsTampered(ApprovalError):
    """Raised by ``claim`` when the stored arguments no longer match their hash (the record is failed)."""


class InvalidTransition(ApprovalError):
    """Raised when an operation does not apply to the record's current status (e.g. finishing a pending call)."""

    def __init__(self, message: str, *, approval_id: str | None = None, status: str | None = None) -> None:
        super().__init__(message, approval_id=approval_id)
        self.status = status


# --------------------------------------------------------------------------------------
# Values


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"held call arguments are not plain JSON: {exc}") from None


def args_sha256(args_json: str) -> str:
    """SHA-256 (hex) of canonical argument JSON."""
    return hashlib.sha256(args_json.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApprovalEvent:
    """One transition of a held call: what happened, when, by whom, and why."""

    event: str
    at: float
    actor: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "at": self.at, "actor": self.actor, "reason": self.reason}


@dataclass(frozen=True)
class ApprovalRecord:
    """A held call, durable: the call, why it was held, who may decide it, and what became of it.

    ``args`` returns a fresh copy of the stored arguments each time (the record is immutable);
    ``args_json`` is their canonical JSON and ``args_sha256`` its hash. When the approver
    edited the arguments, ``original_args_json`` keeps the ones the model asked for.
    ``decision`` is the guard's decision that held the call (verdict, reason, findings).
    """

    id: str
    principal: str
    session_id: str
    tool: str
    call_id: str
    args_json: str
    args_sha256: str
    decision_json: str
    requested_at: float
    expires_at: float
    roles: tuple[str, ...]
    editable: bool | tuple[str, ...]
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None
    original_args_json: str | None = None
    claimed_at: float | None = None
    finished_at: float | None = None
    result_json: str | None = None
    error: str | None = None
    history: tuple[ApprovalEvent, ...] = field(default=(), compare=False)

    @property
    def args(self) -> Any:
        return json.loads(self.args_json)

    @property
    def original_args(self) -> Any:
        return json.loads(self.original_args_json if self.original_args_json is not None else self.args_json)

    @property
    def edited(self) -> bool:
        return self.original_args_json is not None

    @property
    def decision(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.decision_json)
        return value

    @property
    def findings(self) -> list[dict[str, Any]]:
        findings: list[dict[str, Any]] = self.decision.get("findings", [])
        return findings

    @property
    def summary(self) -> str:
        """Why the call was held (the decision's headline reason)."""
        return str(self.decision.get("reason", ""))

    @property
    def result(self) -> Any:
        return json.loads(self.result_json) if self.result_json is not None else None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def run_by(self) -> float | None:
        """Until when an approved call may start: its decision time plus the approval ttl.

        An approval is a judgement about a moment (the session, the recipient, the money
        on the account); one left unused for longer than the ttl the manifest gave the
        approver is not a licence to act days later.
        """
        if self.decided_at is None:
            return None
        return self.decided_at + (self.expires_at - self.requested_at)

    def is_expired(self, now: float) -> bool:
        """True when the record's time ran out: pending past ``expires_at``, or approved and not started by :attr:`run_by`."""
        if self.status == "pending":
            return now >= self.expires_at
        if self.status == "approved":
            run_by = self.run_by
            return run_by is not None and now >= run_by
        return False

    @property
    def expiry_reason(self) -> str:
        """Why a record expired (or would): no decision in time, or approved but never run."""
        if self.decided_by is not None:
            return f"approved by {self.decided_by} but not started within the approval ttl"
        return "no decision before the hold expired"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (used by the CLI's ``--json`` and the HTTP API)."""
        return {
            "id": self.id,
            "status": self.status,
            "principal": self.principal,
            "session_id": self.session_id,
            "tool": self.tool,
            "call_id": self.call_id,
            "args": self.args,
            "args_sha256": self.args_sha256,
            "edited": self.edited,
            "original_args": self.original_args if self.edited else None,
            "summary": self.summary,
            "findings": self.findings,
            "decision_id": self.decision.get("decision_id", ""),
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
            "roles": list(self.roles),
            "editable": self.editable if isinstance(self.editable, bool) else list(self.editable),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "claimed_at": self.claimed_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
            "history": [e.to_dict() for e in self.history],
        }


def record_from_request(request: HoldRequest) -> ApprovalRecord:
    """Build the pending record of a held call: ``expires_at = requested_at + approval.ttl``."""
    from ..manifest import Approval as ApprovalSpec

    spec = request.manifest.approval if request.manifest is not None else ApprovalSpec()
    args_json = canonical_json(request.call.args)
    if len(args_json.encode("utf-8")) > MAX_ARGS_BYTES:
        raise StoreError(f"held call arguments exceed {MAX_ARGS_BYTES} bytes")
    decision = request.decision.to_dict()
    return ApprovalRecord(
        id=request.hold_id,
        principal=request.principal,
        session_id=request.session_id,
        tool=request.call.tool,
        call_id=request.call.id,
        args_json=args_json,
        args_sha256=args_sha256(args_json),
        decision_json=json.dumps(decision, sort_keys=True, ensure_ascii=False, default=str),
        requested_at=float(request.requested_at),
        expires_at=float(request.requested_at) + float(spec.ttl),
        roles=tuple(spec.roles),
        editable=spec.editable,
    )


# --------------------------------------------------------------------------------------
# Transition rules, shared by every implementation


@dataclass(frozen=True)
class _Step:
    """What a transition does: the new record (None: nothing changes) and an error to raise after commit."""

    record: ApprovalRecord | None
    event: ApprovalEvent | None = None
    raise_after: ApprovalError | None = None
    value: Any = None


def _refuse_status(rec: ApprovalRecord) -> ApprovalError:
    if rec.status == "expired":
        return ApprovalExpired(f"hold {rec.id} expired: {rec.reason or 'no decision before the hold expired'}", approval_id=rec.id)
    who = f" by {rec.decided_by}" if rec.decided_by else ""
    return AlreadyDecided(f"hold {rec.id} is already {rec.status}{who}", approval_id=rec.id)


def _changed(a: Any, b: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield (*path, k)
            else:
                yield from _changed(a[k], b[k], (*path, k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _changed(x, y, (*path, str(i)))
    elif canonical_json(a) != canonical_json(b):
        yield path


def _covered(path: tuple[str, ...], pattern: tuple[Any, ...]) -> bool:
    if len(pattern) > len(path):
        return False
    return all(tok is _pointer.WILDCARD or tok == part for tok, part in zip(pattern, path, strict=False))


def check_edit(rec: ApprovalRecord, edited_args: Any) -> str | None:
    """Canonical JSON of the edited arguments, or None when they equal the stored ones.

    Raises :class:`InvalidDecision` for arguments that are not a JSON object and
    :class:`EditNotAllowed` for a change outside ``rec.editable``.
    """
    if not isinstance(edited_args, dict):
        raise InvalidDecision("edited arguments must be a JSON object", approval_id=rec.id)
    new_json = canonical_json(edited_args)
    if len(new_json.encode("utf-8")) > MAX_ARGS_BYTES:
        raise InvalidDecision(f"edited arguments exceed {MAX_ARGS_BYTES} bytes", approval_id=rec.id)
    if new_json == rec.args_json:
        return None
    if rec.editable is True:
        return new_json
    if rec.editable is False:
        raise EditNotAllowed(f"the manifest of {rec.tool!r} does not allow editing held arguments", approval_id=rec.id)
    patterns = [_pointer.parse_pointer(p) for p in rec.editable]
    for path in _changed(rec.args, edited_args):
        if not any(_covered(path, pat) for pat in patterns):
            ptr = _pointer.format_pointer(list(path)) or "/"
            allowed = ", ".join(rec.editable) or "nothing"
            raise EditNotAllowed(
                f"argument {ptr} may not be edited for {rec.tool!r} (editable: {allowed})", approval_id=rec.id
            )
    return new_json


def _plan_decide(
    rec: ApprovalRecord,
    now: float,
    approver: Approver,
    verdict: str,
    reason: str | None,
    edited_args: Any,
) -> _Step:
    # Identity first: someone who may not decide learns nothing about the record's state.
    if not approver.active:
        raise NotAnApprover(f"the approver {approver.name!r} was revoked", approval_id=rec.id)
    if approver.name == rec.principal:
        raise NotAnApprover(
            f"{approver.name!r} is the principal of hold {rec.id} and cannot decide its own held call",
            approval_id=rec.id,
        )
    if not approver.may_decide(rec.roles):
        raise NotAnApprover(
            f"{approver.name!r} has none of the roles that may decide {rec.tool!r} "
            f"(needs one of: {', '.join(rec.roles)}; has: {', '.join(approver.roles) or 'none'})",
            approval_id=rec.id,
        )
    if verdict not in ("approve", "deny"):
        raise InvalidDecision(f"unknown verdict {verdict!r}; expected 'approve' or 'deny'", approval_id=rec.id)
    if reason is not None and not isinstance(reason, str):
        raise InvalidDecision("the reason must be text", approval_id=rec.id)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidDecision(f"the reason exceeds {MAX_REASON} characters", approval_id=rec.id)
    if verdict == "deny" and reason is None:
        raise InvalidDecision("a denial needs a reason", approval_id=rec.id)
    if verdict == "deny" and edited_args is not None:
        raise InvalidDecision("edited arguments only apply to an approval", approval_id=rec.id)
    if rec.status != "pending":
        raise _refuse_status(rec)
    if rec.is_expired(now):
        expired = replace(rec, status="expired", decided_at=now, reason="no decision before the hold expired")
        return _Step(
            expired,
            ApprovalEvent("expired", now, None, expired.reason),
            raise_after=ApprovalExpired(f"hold {rec.id} expired before the decision", approval_id=rec.id),
        )
    new_json = check_edit(rec, edited_args) if edited_args is not None else None
    updated = replace(
        rec,
        status="approved" if verdict == "approve" else "denied",
        decided_by=approver.name,
        decided_at=now,
        reason=reason,
    )
    if new_json is not None:
        updated = replace(
            updated,
            original_args_json=rec.args_json,
            args_json=new_json,
            args_sha256=args_sha256(new_json),
        )
    event = "approved" if verdict == "approve" else "denied"
    return _Step(updated, ApprovalEvent(event + (" with edits" if new_json else ""), now, approver.name, reason))


def _plan_claim(rec: ApprovalRecord, now: float) -> _Step:
    if rec.status != "approved":
        return _Step(None, value=False)
    if rec.is_expired(now):
        reason = rec.expiry_reason
        return _Step(replace(rec, status="expired", reason=reason), ApprovalEvent("expired", now, None, reason), value=False)
    claimed = replace(rec, status="executing", claimed_at=now)
    if args_sha256(rec.args_json) != rec.args_sha256:
        failed = replace(claimed, status="failed", finished_at=now, error="stored arguments do not match their hash")
        return _Step(
            failed,
            ApprovalEvent("failed", now, None, failed.error),
            raise_after=ArgumentsTampered(f"hold {rec.id}: stored arguments do not match their hash", approval_id=rec.id),
        )
    return _Step(claimed, ApprovalEvent("claimed", now), value=True)


def _result_json(result: Any) -> str:
    text = json.dumps(result, ensure_ascii=False, default=repr)
    if len(text.encode("utf-8")) > MAX_RESULT_BYTES:
        text = json.dumps({"toolguard_truncated": True, "bytes": len(text.encode("utf-8")), "preview": text[:4096]})
    return text


def _plan_finish(rec: ApprovalRecord, now: float, result: Any, error: str | None) -> _Step:
    if rec.status != "executing":
        raise InvalidTransition(
            f"hold {rec.id} is {rec.status}, not executing; only a claimed call can be finished",
            approval_id=rec.id,
            status=rec.status,
        )
    if error is not None:
        done = replace(rec, status="failed", finished_at=now, error=str(error)[:MAX_REASON])
        return _Step(done, ApprovalEvent("failed", now, None, done.error))
    done = replace(rec, status="done", finished_at=now, result_json=_result_json(result))
    return _Step(done, ApprovalEvent("done", now))


def _plan_cancel(rec: ApprovalRecord, now: float, by: str, reason: str | None) -> _Step:
    if rec.status not in ("pending", "approved"):
        raise InvalidTransition(
            f"hold {rec.id} is {rec.status}; only a pending or approved call can be cancelled",
            approval_id=rec.id,
            status=rec.status,
        )
    cancelled = replace(rec, status="cancelled", decided_by=by, decided_at=now, reason=reason)
    return _Step(cancelled, ApprovalEvent("cancelled", now, by, reason))


def _status_filter(status: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if status is None:
        return None
    wanted = (status,) if isinstance(status, str) else tuple(status)
    for s in wanted:
        if s not in STATUSES:
            raise ConfigError(f"unknown status {s!r}; expected one of: {', '.join(STATUSES)}")
    return wanted


def _notify(notifiers: Sequence[Notifier], record: ApprovalRecord) -> None:
    for n in notifiers:
        try:
            n.notify(record)
        except Exception:  # a failed notification never loses or blocks a hold
            log.exception("toolguard: notifier %r failed for hold %s", n, record.id)


# --------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class ApprovalStore(Protocol):
    """Durable held calls. Implementations: :class:`MemoryApprovalStore`, :class:`SqlApprovalStore`.

    Every method is atomic. ``now`` defaults to the store's clock. Refusals raise a subclass
    of :class:`~toolguard.ApprovalError` and change nothing (except a decision that arrives
    after expiry, which first records the expiry).
    """

    def submit(self, request: HoldRequest) -> str:
        """:class:`~toolguard.HoldSink`: persist a held call and return its id."""
        ...

    def create(self, request: HoldRequest) -> ApprovalRecord:
        """Persist a held call as ``pending``; idempotent for the same id and arguments."""
        ...

    def get(self, approval_id: str) -> ApprovalRecord:
        """The record with its history; :class:`~toolguard.ApprovalNotFound` otherwise."""
        ...

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        principal: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[ApprovalRecord]:
        """Records (without history) by ``requested_at``, optionally filtered."""
        ...

    def decide(
        self,
        approval_id: str,
        approver: Approver,
        verdict: Verdict,
        reason: str | None = None,
        *,
        edited_args: Any = None,
        now: float | None = None,
    ) -> ApprovalRecord:
        """Approve or deny a pending call as ``approver``.

        Raises :class:`~toolguard.NotAnApprover` (revoked, missing role, or the principal
        itself), :class:`~toolguard.AlreadyDecided`, :class:`~toolguard.ApprovalExpired`
        (after recording the expiry), :class:`InvalidDecision` or :class:`EditNotAllowed`.
        """
        ...

    def claim(self, approval_id: str, *, now: float | None = None) -> bool:
        """Move an approved call to ``executing``; True for exactly one caller, False otherwise.

        Raises :class:`ArgumentsTampered` (and fails the record) when the stored arguments no
        longer match their hash.
        """
        ...

    def finish(
        self, approval_id: str, *, result: Any = None, error: str | None = None, now: float | None = None
    ) -> ApprovalRecord:
        """Record the outcome of a claimed call: ``done`` with its result, or ``failed`` with ``error``."""
        ...

    def expire(self, *, now: float | None = None) -> builtins.list[str]:
        """Expire every record whose time ran out (pending past ``expires_at``, approved past ``run_by``); return their ids."""
        ...

    def cancel(
        self, approval_id: str, *, by: str, reason: str | None = None, now: float | None = None
    ) -> ApprovalRecord:
        """Cancel a pending or approved call (it will never run)."""
        ...


# --------------------------------------------------------------------------------------
# In memory


class _Transitions:
    """The transitions every approval store shares, planned by the pure ``_plan_*`` functions.

    A store supplies ``create``, ``_clock`` and ``_apply(approval_id, plan)``: read the
    record, plan the step, write it atomically (a lock in memory, a conditional UPDATE in SQL).
    """

    _clock: Callable[[], float]

    def create(self, request: HoldRequest) -> ApprovalRecord:  # pragma: no cover - overridden
        raise NotImplementedError

    def _apply(self, approval_id: str, plan: Callable[[ApprovalRecord], _Step]) -> _Step:  # pragma: no cover
        raise NotImplementedError

    def submit(self, request: HoldRequest) -> str:
        return self.create(request).id

    def _record(self, approval_id: str, plan: Callable[[ApprovalRecord], _Step]) -> ApprovalRecord:
        step = self._apply(approval_id, plan)
        assert step.record is not None  # these planners always change the record or raise
        return step.record

    def decide(
        self,
        approval_id: str,
        approver: Approver,
        verdict: Verdict,
        reason: str | None = None,
        *,
        edited_args: Any = None,
        now: float | None = None,
    ) -> ApprovalRecord:
        at = now if now is not None else self._clock()
        return self._record(approval_id, lambda r: _plan_decide(r, at, approver, verdict, reason, edited_args))

    def claim(self, approval_id: str, *, now: float | None = None) -> bool:
        at = now if now is not None else self._clock()
        return bool(self._apply(approval_id, lambda r: _plan_claim(r, at)).value)

    def finish(
        self, approval_id: str, *, result: Any = None, error: str | None = None, now: float | None = None
    ) -> ApprovalRecord:
        at = now if now is not None else self._clock()
        return self._record(approval_id, lambda r: _plan_finish(r, at, result, error))

    def cancel(
        self, approval_id: str, *, by: str, reason: str | None = None, now: float | None = None
    ) -> ApprovalRecord:
        at = now if now is not None else self._clock()
        return self._record(approval_id, lambda r: _plan_cancel(r, at, by, reason))


class MemoryApprovalStore(_Transitions):
    """The in-memory reference :class:`ApprovalStore`: same rules, one lock, nothing durable."""

    def __init__(self, *, clock: Callable[[], float] = time.time, notifiers: Sequence[Notifier] = ()) -> None:
        self._records: dict[str, ApprovalRecord] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.notifiers = tuple(notifiers)

    def __repr__(self) -> str:
        return f"MemoryApprovalStore(records={len(self._records)})"

    def create(self, request: HoldRequest) -> ApprovalRecord:
        rec = record_from_request(request)
        with self._lock:
            old = self._records.get(rec.id)
            if old is not None:
                if (old.original_args_json or old.args_json) != rec.args_json:
                    raise StoreError(f"hold id {rec.id} already exists with other arguments")
                return old
            rec = replace(rec, history=(ApprovalEvent("created", rec.requested_at, rec.principal),))
            self._records[rec.id] = rec
        _notify(self.notifiers, rec)
        return rec

    def get(self, approval_id: str) -> ApprovalRecord:
        with self._lock:
            rec = self._records.get(approval_id)
        if rec is None:
            raise ApprovalNotFound(f"no held call with id {approval_id!r}", approval_id=approval_id)
        return rec

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        principal: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[ApprovalRecord]:
        wanted = _status_filter(status)
        with self._lock:
            recs = list(self._records.values())
        out = [
            replace(r, history=())
            for r in sorted(recs, key=lambda r: (r.requested_at, r.id))
            if (wanted is None or r.status in wanted) and (principal is None or r.principal == principal)
        ]
        return out[: max(0, limit)]

    def _apply(self, approval_id: str, plan: Callable[[ApprovalRecord], _Step]) -> _Step:
        with self._lock:
            rec = self._records.get(approval_id)
            if rec is None:
                raise ApprovalNotFound(f"no held call with id {approval_id!r}", approval_id=approval_id)
            step = plan(rec)
            if step.record is not None:
                history = rec.history + ((step.event,) if step.event else ())
                self._records[approval_id] = replace(step.record, history=history)
                step = replace(step, record=self._records[approval_id])
        if step.raise_after is not None:
            raise step.raise_after
        return step

    def expire(self, *, now: float | None = None) -> builtins.list[str]:
        at = now if now is not None else self._clock()
        done: builtins.list[str] = []
        with self._lock:
            for rid, rec in self._records.items():
                if rec.is_expired(at):
                    reason = rec.expiry_reason
                    self._records[rid] = replace(
                        rec,
                        status="expired",
                        # An approved record keeps who decided and when; it expired later.
                        decided_at=at if rec.status == "pending" else rec.decided_at,
                        reason=reason,
                        history=(*rec.history, ApprovalEvent("expired", at, None, reason)),
                    )
                    done.append(rid)
        return sorted(done)


# --------------------------------------------------------------------------------------
# SQL (SQLite default, PostgreSQL alike)


_APPROVAL_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE toolguard_approvals ("
    " id TEXT PRIMARY KEY,"
    " principal TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " tool TEXT NOT NULL,"
    " call_id TEXT NOT NULL,"
    " args_json TEXT NOT NULL,"
    " args_sha256 TEXT NOT NULL,"
    " decision_json TEXT NOT NULL,"
    " requested_at DOUBLE PRECISION NOT NULL,"
    " expires_at DOUBLE PRECISION NOT NULL,"
    " roles_json TEXT NOT NULL,"
    " editable_json TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " decided_by TEXT,"
    " decided_at DOUBLE PRECISION,"
    " reason TEXT,"
    " original_args_json TEXT,"
    " claimed_at DOUBLE PRECISION,"
    " finished_at DOUBLE PRECISION,"
    " result_json TEXT,"
    " error TEXT"
    ");"
    "CREATE INDEX toolguard_approvals_status ON toolguard_approvals (status, requested_at);"
    "CREATE INDEX toolguard_approvals_principal ON toolguard_approvals (principal, requested_at);"
    # Each event happens at most once per record (transitions only go forward).
    "CREATE TABLE toolguard_approval_events ("
    " approval_id TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " at DOUBLE PRECISION NOT NULL,"
    " actor TEXT,"
    " reason TEXT,"
    " PRIMARY KEY (approval_id, event)"
    ")",
)

_COLUMNS = (
    "id", "principal", "session_id", "tool", "call_id", "args_json", "args_sha256", "decision_json",
    "requested_at", "expires_at", "roles_json", "editable_json", "status", "decided_by", "decided_at",
    "reason", "original_args_json", "claimed_at", "finished_at", "result_json", "error",
)  # fmt: skip
_MUTABLE = (
    "status", "decided_by", "decided_at", "reason", "args_json", "args_sha256", "original_args_json",
    "claimed_at", "finished_at", "result_json", "error",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM toolguard_approvals"


def _to_row(rec: ApprovalRecord) -> tuple[Any, ...]:
    values = {
        **{c: getattr(rec, c) for c in _COLUMNS if c not in ("roles_json", "editable_json")},
        "roles_json": json.dumps(list(rec.roles)),
        "editable_json": json.dumps(rec.editable if isinstance(rec.editable, bool) else list(rec.editable)),
    }
    return tuple(values[c] for c in _COLUMNS)


def _opt_float(v: Any) -> float | None:
    return float(v) if v is not None else None


def _from_row(row: Sequence[Any]) -> ApprovalRecord:
    d = dict(zip(_COLUMNS, row, strict=True))
    editable = json.loads(d.pop("editable_json"))
    roles = json.loads(d.pop("roles_json"))
    return ApprovalRecord(
        **{k: v for k, v in d.items() if k not in ("requested_at", "expires_at", "decided_at", "claimed_at", "finished_at")},
        requested_at=float(d["requested_at"]),
        expires_at=float(d["expires_at"]),
        decided_at=_opt_float(d["decided_at"]),
        claimed_at=_opt_float(d["claimed_at"]),
        finished_at=_opt_float(d["finished_at"]),
        roles=tuple(roles),
        editable=editable if isinstance(editable, bool) else tuple(editable),
    )


class _Lost(Exception):
    """The conditional UPDATE lost a race; re-read and re-plan."""


class SqlApprovalStore(_Transitions):
    """An :class:`ApprovalStore` in a SQL database: SQLite (one file, WAL) by default, PostgreSQL alike.

    ``SqlApprovalStore(open_database("sqlite:///path/state.db"))``. Each operation is one
    transaction; transitions are conditional UPDATEs on the status read in that transaction,
    so they stay atomic on PostgreSQL's READ COMMITTED too (a lost race re-reads and re-plans).
    """

    def __init__(
        self, db: Database, *, clock: Callable[[], float] = time.time, notifiers: Sequence[Notifier] = ()
    ) -> None:
        self.db = db
        self._clock = clock
        self.notifiers = tuple(notifiers)
        db.migrate("approvals", _APPROVAL_SCHEMA)

    def __repr__(self) -> str:
        return f"SqlApprovalStore({self.db!r})"

    def create(self, request: HoldRequest) -> ApprovalRecord:
        rec = record_from_request(request)
        placeholders = ", ".join("?" for _ in _COLUMNS)

        def body(tx: Tx) -> tuple[ApprovalRecord, bool]:
            inserted = tx.execute(
                f"INSERT INTO toolguard_approvals ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING",
                _to_row(rec),
            )
            if inserted:
                tx.execute(
                    "INSERT INTO toolguard_approval_events (approval_id, event, at, actor, reason) VALUES (?, ?, ?, ?, ?)",
                    (rec.id, "created", rec.requested_at, rec.principal, None),
                )
                return rec, True
            row = tx.one(_SELECT + " WHERE id = ?", (rec.id,))
            assert row is not None  # the conflicting row exists in this transaction
            old = _from_row(row)
            if (old.original_args_json or old.args_json) != rec.args_json:
                raise StoreError(f"hold id {rec.id} already exists with other arguments")
            return old, False

        stored, inserted = self.db.run(body)
        if inserted:
            _notify(self.notifiers, stored)
        return stored  # type: ignore[no-any-return]

    @staticmethod
    def _history(tx: Tx, approval_id: str) -> tuple[ApprovalEvent, ...]:
        rows = tx.query(
            "SELECT event, at, actor, reason FROM toolguard_approval_events WHERE approval_id = ? ORDER BY at, event",
            (approval_id,),
        )
        return tuple(ApprovalEvent(e, float(at), actor, reason) for e, at, actor, reason in rows)

    def get(self, approval_id: str) -> ApprovalRecord:
        def body(tx: Tx) -> ApprovalRecord | None:
            row = tx.one(_SELECT + " WHERE id = ?", (approval_id,))
            if row is None:
                return None
            return replace(_from_row(row), history=self._history(tx, approval_id))

        rec = self.db.run(body, write=False)
        if rec is None:
            raise ApprovalNotFound(f"no held call with id {approval_id!r}", approval_id=approval_id)
        return rec  # type: ignore[no-any-return]

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        principal: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[ApprovalRecord]:
        wanted = _status_filter(status)
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if wanted is not None:
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        if principal is not None:
            where.append("principal = ?")
            params.append(principal)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY requested_at, id LIMIT ?"
        params.append(max(0, int(limit)))
        return [_from_row(r) for r in self.db.query(sql, params)]

    def _apply(self, approval_id: str, plan: Callable[[ApprovalRecord], _Step]) -> _Step:
        sets = ", ".join(f"{c} = ?" for c in _MUTABLE)

        def body(tx: Tx) -> _Step:
            row = tx.one(_SELECT + " WHERE id = ?", (approval_id,))
            if row is None:
                raise ApprovalNotFound(f"no held call with id {approval_id!r}", approval_id=approval_id)
            rec = _from_row(row)
            step = plan(rec)
            if step.record is None:
                return step
            new = step.record
            changed = tx.execute(
                f"UPDATE toolguard_approvals SET {sets} WHERE id = ? AND status = ?",
                (*(getattr(new, c) for c in _MUTABLE), approval_id, rec.status),
            )
            if changed != 1:
                raise _Lost()
            if step.event is not None:
                tx.execute(
                    "INSERT INTO toolguard_approval_events (approval_id, event, at, actor, reason) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (approval_id, event) DO NOTHING",
                    (approval_id, step.event.event, step.event.at, step.event.actor, step.event.reason),
                )
            return step

        for _ in range(20):
            try:
                step: _Step = self.db.run(body)
            except _Lost:
                continue
            if step.raise_after is not None:
                raise step.raise_after
            return step
        raise StoreError(f"hold {approval_id}: the record kept changing under this transition; try again")

    def expire(self, *, now: float | None = None) -> builtins.list[str]:
        at = now if now is not None else self._clock()
        reason = "no decision before the hold expired"

        def body(tx: Tx) -> builtins.list[str]:
            rows = tx.query(
                "UPDATE toolguard_approvals SET status = 'expired', decided_at = ?, reason = ?"
                " WHERE status = 'pending' AND expires_at <= ? RETURNING id, reason",
                (at, reason, at),
            )
            # Approved but not started within the ttl after the decision (see run_by).
            rows += tx.query(
                "UPDATE toolguard_approvals SET status = 'expired',"
                " reason = 'approved by ' || decided_by || ' but not started within the approval ttl'"
                " WHERE status = 'approved' AND decided_at IS NOT NULL AND decided_by IS NOT NULL"
                " AND decided_at + (expires_at - requested_at) <= ? RETURNING id, reason",
                (at,),
            )
            for rid, why in rows:
                tx.execute(
                    "INSERT INTO toolguard_approval_events (approval_id, event, at, actor, reason) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (approval_id, event) DO NOTHING",
                    (str(rid), "expired", at, None, str(why)),
                )
            return sorted(str(r[0]) for r in rows)

        return self.db.run(body)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------
# Opening by URL

_MEMORY: dict[str, tuple[MemoryApprovalStore, MemoryApproverStore]] = {}
_MEMORY_LOCK = threading.Lock()


def open_stores(
    url: str | None = None, *, notifiers: Sequence[Notifier] = ()
) -> tuple[ApprovalStore, ApproverStore]:
    """The approval and approver stores at ``url``.

    ``memory://NAME`` (shared within the process), ``sqlite:///path/state.db`` or
    ``postgresql://...``; None means the default SQLite file
    (:func:`toolguard.stores.sql.default_sqlite_path`).
    """
    if url is None or url == "":
        from ..stores.sql import default_sqlite_path

        url = f"sqlite:///{default_sqlite_path()}"
    if url.startswith("memory:"):
        with _MEMORY_LOCK:
            pair = _MEMORY.get(url)
            if pair is None:
                pair = _MEMORY[url] = (MemoryApprovalStore(notifiers=notifiers), MemoryApproverStore())
            elif notifiers:
                pair[0].notifiers = tuple(notifiers)
        return pair
    db = open_database(url)
    return SqlApprovalStore(db, notifiers=notifiers), SqlApproverStore(db)
