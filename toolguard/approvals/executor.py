"""Run approved calls exactly once, and resume held calls inside agent loops.

:func:`execute_approved` is the only path from an approved record to the real tool:

1. it claims the record atomically (``approved -> executing``; the store re-checks the
   argument hash), so two workers or a retry can never both run it;
2. when the approver edited the arguments, it decides the edited call again with the
   guard's core and refuses (``failed``) on a deny;
3. it runs the *stored* arguments, never new ones from the model;
4. it records the result (``done``) or the tool's error (``failed``).

A crash between 1 and 4 leaves the record ``executing``: it is flagged for an operator
(``toolguard approvals list --stuck``) and never re-run automatically.

Three ways for an agent loop to get the outcome of a held call (see docs/approvals.md):

* **LangGraph interrupt**: the graph interrupts with the hold; when resumed, the tool node
  calls :func:`wait_for_decision` (timeout 0) and :func:`execute_approved`.
* **Blocking**: :meth:`Resumer.run` waits for a decision up to a timeout.
* **Deferred**: the model gets the held message at once; later :meth:`Resumer.resume`
  executes the approved call and hands the :class:`Resolution` to a callback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, StoreError
from ..findings import Call, Decision
from .store import ApprovalRecord, ApprovalStore, ArgumentsTampered, args_sha256

if TYPE_CHECKING:
    from ..guard import Guard
    from ..session import Session

__all__ = [
    "Resolution",
    "ResolutionStatus",
    "Resumer",
    "aexecute_approved",
    "await_decision",
    "execute_approved",
    "wait_for_decision",
]

log = logging.getLogger("toolguard.approvals")

ResolutionStatus = Literal["executed", "failed", "denied", "expired", "cancelled", "pending", "claimed"]
Tool = Callable[[Any], Any]


@dataclass(frozen=True)
class Resolution:
    """What became of a call that went through the approval path.

    ``status``:

    * ``executed``: the tool ran (here when ``ran_here``, else by another worker) and ``result``
      holds its return value;
    * ``failed``: the tool raised, the edited call was denied by the core, or the stored
      arguments failed their hash check (``error`` says which);
    * ``denied`` / ``expired`` / ``cancelled``: it never ran (a guard deny has ``decision``
      and no ``record``);
    * ``pending``: still waiting for a decision;
    * ``claimed``: another worker claimed it and has not finished (or crashed: an operator
      must look at it); it is never re-run.
    """

    hold_id: str | None
    status: ResolutionStatus
    result: Any = None
    error: str | None = None
    record: ApprovalRecord | None = None
    decision: Decision | None = None
    ran_here: bool = False
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def message(self) -> str:
        """A message for the model when the call did not simply execute."""
        from ..guard import model_message

        rec = self.record
        tool = repr(rec.tool) if rec is not None else repr(self.decision.tool if self.decision else "")
        hid = f" (hold id {self.hold_id})" if self.hold_id else ""
        if self.status == "executed":
            return f"the call to {tool} was approved and executed{hid}."
        if self.status == "pending":
            if self.decision is not None:
                return model_message(self.decision, self.hold_id)
            return f"the call to {tool} still awaits human approval{hid}. Do not retry it; tell the user it awaits approval."
        if self.status == "denied" and rec is None and self.decision is not None:
            return model_message(self.decision)
        if self.status == "denied":
            by = rec.decided_by if rec is not None else "an approver"
            why = rec.reason if rec is not None and rec.reason else "no reason given"
            return f"an approver ({by}) denied the call to {tool}{hid}: {why}. Do not retry the same call."
        if self.status == "expired" and rec is not None and rec.decided_by is not None:
            return f"the approved call to {tool} was not started in time and expired{hid}. Do not retry it; tell the user."
        if self.status == "expired":
            return f"the held call to {tool} expired without a decision{hid}. Do not retry it; tell the user."
        if self.status == "cancelled":
            return f"the held call to {tool} was cancelled{hid}. Do not retry it."
        if self.status == "claimed":
            return f"the approved call to {tool} is already being executed elsewhere{hid}. Do not retry it."
        return f"the approved call to {tool} failed{hid}: {self.error}"


def _from_record(rec: ApprovalRecord) -> Resolution:
    """The resolution a record already shows (no execution here)."""
    if rec.status == "done":
        return Resolution(rec.id, "executed", result=rec.result, record=rec)
    if rec.status == "failed":
        return Resolution(rec.id, "failed", error=rec.error, record=rec)
    if rec.status in ("denied", "expired", "cancelled", "pending"):
        return Resolution(rec.id, rec.status, record=rec)
    return Resolution(rec.id, "claimed", record=rec)


# --------------------------------------------------------------------------------------
# Waiting


def wait_for_decision(
    store: ApprovalStore,
    hold_id: str,
    timeout: float,
    *,
    poll: float = 0.05,
    max_poll: float = 1.0,
) -> ApprovalRecord:
    """Poll the store until the hold is no longer pending, or ``timeout`` seconds passed.

    Returns the record as last seen: still ``pending`` on timeout. A hold whose time ran out
    is expired on the way (so the caller sees ``expired``, never a stale ``pending``).
    ``timeout=0`` looks once. Raises :class:`~toolguard.ApprovalNotFound` for an unknown id.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    delay = poll
    while True:
        rec = store.get(hold_id)
        if rec.status == "pending" and rec.is_expired(time.time()):
            store.expire()
            rec = store.get(hold_id)
        remaining = deadline - time.monotonic()
        if rec.status != "pending" or remaining <= 0:
            return rec
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_poll)


async def await_decision(
    store: ApprovalStore,
    hold_id: str,
    timeout: float,
    *,
    poll: float = 0.05,
    max_poll: float = 1.0,
) -> ApprovalRecord:
    """The async twin of :func:`wait_for_decision` (store calls run in a worker thread)."""
    deadline = time.monotonic() + max(0.0, timeout)
    delay = poll
    while True:
        rec = await asyncio.to_thread(store.get, hold_id)
        if rec.status == "pending" and rec.is_expired(time.time()):
            await asyncio.to_thread(store.expire)
            rec = await asyncio.to_thread(store.get, hold_id)
        remaining = deadline - time.monotonic()
        if rec.status != "pending" or remaining <= 0:
            return rec
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_poll)


# --------------------------------------------------------------------------------------
# Executing


@dataclass(frozen=True)
class _Claimed:
    record: ApprovalRecord
    tool: Tool
    call: Call
    session: Session | None


def _session_for(guard: Guard, rec: ApprovalRecord) -> Session:
    """The guard's session of the held call.

    When this process never saw the held call (another process held it, or the session was
    evicted), the session is marked as having seen untrusted content: a re-decision must never
    be laxer than the original one for lack of history.
    """
    session = guard.session(rec.principal, rec.session_id)
    with session.lock:
        seen = bool(rec.call_id) and any(c.call_id == rec.call_id for c in session.calls)
        if not seen:
            session.add_tool_output(
                call_id=f"resumed:{rec.id}", tool="toolguard.resumed-session", text="", trusted=False
            )
    return session


def _begin(
    store: ApprovalStore,
    hold_id: str,
    tools: Mapping[str, Tool],
    guard: Guard | None,
    now: float | None,
) -> Resolution | _Claimed:
    rec = store.get(hold_id)
    if rec.is_expired(now if now is not None else time.time()):
        store.expire(now=now)
        rec = store.get(hold_id)
    if rec.status != "approved":
        return _from_record(rec)
    tool = tools.get(rec.tool)
    if tool is None:
        raise ConfigError(f"no tool named {rec.tool!r} was given to execute hold {hold_id}; nothing was changed")
    if rec.edited and guard is None:
        raise ConfigError(
            f"hold {hold_id} was approved with edited arguments: pass the guard so the edited call is decided "
            "again before it runs; nothing was changed"
        )
    try:
        claimed = store.claim(hold_id, now=now)
    except ArgumentsTampered as exc:
        return Resolution(hold_id, "failed", error=str(exc), record=store.get(hold_id), exception=exc)
    rec = store.get(hold_id)
    if not claimed:
        return _from_record(rec)
    if args_sha256(rec.args_json) != rec.args_sha256:  # pragma: no cover - claim checked it in its transaction
        error = "stored arguments do not match their hash"
        return Resolution(hold_id, "failed", error=error, record=store.finish(hold_id, error=error))
    call = Call(rec.tool, rec.args, rec.call_id)
    session = _session_for(guard, rec) if guard is not None else None
    if rec.edited and guard is not None and session is not None:
        decision = guard.decide(call, session)
        if decision.verdict == "deny":
            error = f"the edited call was denied by the guard: {decision.reason}"
            return Resolution(hold_id, "failed", error=error, decision=decision, record=store.finish(hold_id, error=error))
    if guard is not None and session is not None:
        try:
            # Counted before it runs, as any allowed call (an approved call is counted even
            # over budget: the approver decided).
            guard.accounting.charge_approved(call, session)
        except Exception as exc:
            error = f"the approved call could not be counted ({type(exc).__name__}: {exc}); it did not run"
            return Resolution(hold_id, "failed", error=error, record=store.finish(hold_id, error=error))
        guard.record_egress(session, call)
    return _Claimed(rec, tool, call, session)


def _record_failure(store: ApprovalStore, claimed: _Claimed, exc: Exception) -> Resolution:
    error = f"{type(exc).__name__}: {exc}"
    try:
        rec = store.finish(claimed.record.id, error=error)
    except StoreError:
        log.exception("toolguard: hold %s failed but the failure could not be recorded", claimed.record.id)
        rec = claimed.record
    return Resolution(claimed.record.id, "failed", error=error, record=rec, ran_here=True, exception=exc)


def _record_result(store: ApprovalStore, claimed: _Claimed, result: Any, guard: Guard | None) -> Resolution:
    if guard is not None and claimed.session is not None:
        # The output constraints apply as for any call (schema, redaction, size cap); what
        # the model may see is what is returned and stored. None: withheld (uncheckable).
        result = guard.finish_approved(claimed.session, claimed.call, result)
    try:
        rec = store.finish(claimed.record.id, result=result)
    except StoreError as exc:
        # The tool ran: hand its result back, and leave the record `executing` for an operator.
        log.exception("toolguard: hold %s executed but its result could not be recorded", claimed.record.id)
        return Resolution(
            claimed.record.id, "executed", result=result, record=claimed.record, ran_here=True,
            error=f"the result could not be recorded: {exc}",
        )
    return Resolution(claimed.record.id, "executed", result=result, record=rec, ran_here=True)


def execute_approved(
    store: ApprovalStore,
    hold_id: str,
    tools: Mapping[str, Tool],
    guard: Guard | None = None,
    *,
    now: float | None = None,
) -> Resolution:
    """Execute an approved held call exactly once and record what happened.

    ``tools`` maps tool names to callables taking the arguments (as :meth:`Guard.run`'s
    ``execute``). With ``guard``, an edited call is decided again before it runs (a deny
    fails it) and the output is recorded in the principal's session; without it, a call
    approved with edits is refused (:class:`~toolguard.ConfigError`, nothing changed).

    A record that is not ``approved`` is reported as it stands (``pending``, ``denied``, ...,
    or ``claimed`` when another worker has it); nothing runs. The tool's own exception
    fails the record and is kept on ``Resolution.exception``.
    """
    begun = _begin(store, hold_id, tools, guard, now)
    if isinstance(begun, Resolution):
        return begun
    try:
        result = begun.tool(begun.call.args)
    except Exception as exc:  # the tool's error is recorded, not lost
        return _record_failure(store, begun, exc)
    return _record_result(store, begun, result, guard)


async def aexecute_approved(
    store: ApprovalStore,
    hold_id: str,
    tools: Mapping[str, Callable[[Any], Any | Awaitable[Any]]],
    guard: Guard | None = None,
    *,
    now: float | None = None,
) -> Resolution:
    """The async twin of :func:`execute_approved`; a tool may return an awaitable."""
    begun = await asyncio.to_thread(_begin, store, hold_id, tools, guard, now)
    if isinstance(begun, Resolution):
        return begun
    try:
        result = begun.tool(begun.call.args)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return await asyncio.to_thread(_record_failure, store, begun, exc)
    return await asyncio.to_thread(_record_result, store, begun, result, guard)


# --------------------------------------------------------------------------------------
# Agent-loop helpers


class Resumer:
    """Resume held calls in an agent loop: blocking (:meth:`run`) or deferred (:meth:`resume`).

    The guard must hand its held calls to ``store`` (``Guard(..., holds=store)``)::

        store = SqlApprovalStore(open_database("sqlite:///state.db"))
        guard = Guard.from_path("manifests/", holds=store)
        resumer = Resumer(guard, store, tools={"send_email": send_email})
        res = resumer.run(session, call, timeout=120)      # blocking mode
        res = resumer.resume(hold_id, callback=deliver)     # deferred mode
    """

    def __init__(self, guard: Guard, store: ApprovalStore, tools: Mapping[str, Tool] | None = None) -> None:
        if guard.holds is not store:
            raise ConfigError("the guard must put held calls in this store: Guard(..., holds=store)")
        self.guard = guard
        self.store = store
        self.tools: dict[str, Tool] = dict(tools or {})

    def __repr__(self) -> str:
        return f"Resumer({self.guard!r}, {self.store!r}, tools={sorted(self.tools)!r})"

    def _tool(self, call: Call, execute: Tool | None) -> Tool:
        tool = execute if execute is not None else self.tools.get(call.tool)
        if tool is None:
            raise ConfigError(f"no tool named {call.tool!r}: pass execute= or register it in tools=")
        return tool

    def run(self, session: Session, call: Call, execute: Tool | None = None, *, timeout: float) -> Resolution:
        """Blocking mode: decide; on hold wait up to ``timeout`` seconds for a decision, then act on it.

        Returns ``executed`` (allowed at once, or approved and run), ``denied`` (by the guard
        or an approver), ``expired``, ``failed``, or ``pending`` when the wait timed out; the
        ``message`` of a non-executed resolution is what the model should see. A still-pending
        hold can be resumed later with :meth:`resume`.
        """
        tool = self._tool(call, execute)
        outcome = self.guard.run(session, call, tool)
        if outcome.status == "executed":
            return Resolution(None, "executed", result=outcome.result, decision=outcome.decision, ran_here=True)
        if outcome.status == "denied" or outcome.hold_id is None:
            return Resolution(None, "denied", decision=outcome.decision)
        rec = wait_for_decision(self.store, outcome.hold_id, timeout)
        if rec.status == "pending":
            return Resolution(rec.id, "pending", record=rec, decision=outcome.decision)
        return execute_approved(self.store, rec.id, {call.tool: tool}, self.guard)

    async def arun(
        self, session: Session, call: Call, execute: Callable[[Any], Awaitable[Any]], *, timeout: float
    ) -> Resolution:
        """The async twin of :meth:`run` (``execute`` is a coroutine function)."""
        outcome = await self.guard.arun(session, call, execute)
        if outcome.status == "executed":
            return Resolution(None, "executed", result=outcome.result, decision=outcome.decision, ran_here=True)
        if outcome.status == "denied" or outcome.hold_id is None:
            return Resolution(None, "denied", decision=outcome.decision)
        rec = await await_decision(self.store, outcome.hold_id, timeout)
        if rec.status == "pending":
            return Resolution(rec.id, "pending", record=rec, decision=outcome.decision)
        return await aexecute_approved(self.store, rec.id, {call.tool: execute}, self.guard)

    def resume(
        self,
        hold_id: str,
        callback: Callable[[Resolution], Any] | None = None,
        *,
        tools: Mapping[str, Tool] | None = None,
    ) -> Resolution:
        """Deferred mode: execute the held call if approved, and deliver the outcome.

        ``callback`` gets the :class:`Resolution` once the hold is settled (executed, failed,
        denied, expired, cancelled, or claimed elsewhere); a still-pending hold returns
        ``pending`` without calling it, so the caller can try again later.
        """
        res = execute_approved(self.store, hold_id, {**self.tools, **(tools or {})}, self.guard)
        if callback is not None and res.status != "pending":
            callback(res)
        return res

    def resume_ready(self, callback: Callable[[Resolution], Any] | None = None, *, limit: int = 100) -> list[Resolution]:
        """Deferred mode, worker loop: execute every approved call this resumer has a tool for."""
        out = []
        for rec in self.store.list(status="approved", limit=limit):
            if rec.tool in self.tools:
                out.append(self.resume(rec.id, callback))
        return out
