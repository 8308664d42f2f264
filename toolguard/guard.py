"""The mediator: decides every call, runs the real tool only on allow, records what came back.

:class:`Guard` is the I/O shell around the pure core (:func:`toolguard.policy.decide`). For
each call it builds the session view, decides, hands a held call to the hold sink, runs the
tool on allow, and records the tool's output in the session with the trust and labels of
its manifest. Any exception raised inside toolguard while deciding becomes a deny with the
finding code ``guard.error``: the guard fails closed, and the tool never runs on an error.

Usage::

    guard = Guard.from_path("manifests/")
    session = guard.session("alice", "conversation-1")
    session.add_user_text("Email the Q3 report to bob@acme.example")
    outcome = guard.run(session, Call("send_email", {"to": ["bob@acme.example"], ...}, "c1"), send_email)
    if outcome.status == "executed":
        ...
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .accounting import Accounting, Track
from .audit import AuditLog
from .cutoff import KillList
from .egress import CounterStore
from .errors import StoreUnavailable
from .exfil import egress_texts, leaves, party
from .findings import Call, Decision, Evidence, Finding, combine
from .manifest import Manifest, ManifestSet, Policy, load_manifests, load_policy
from .policy import Context, decide_in
from .policy import decide as _core_decide
from .session import CallRecord, Session, _as_text

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from .integrations.langchain import GuardedTool
    from .telemetry import Telemetry

__all__ = ["Guard", "HoldRequest", "HoldSink", "MemoryHoldSink", "Outcome"]

log = logging.getLogger("toolguard")

Status = Literal["executed", "denied", "held"]
DecideFn = Callable[[Call, "Manifest | None", Any, Policy], Decision]


@dataclass(frozen=True)
class HoldRequest:
    """A held call handed to the hold sink: everything an approver needs to decide."""

    hold_id: str
    decision: Decision
    call: Call
    principal: str
    session_id: str
    manifest: Manifest | None
    requested_at: float


class HoldSink(Protocol):
    """Where held calls go. The durable approval store implements this."""

    def submit(self, request: HoldRequest) -> str:
        """Persist the hold and return its id (normally ``request.hold_id``)."""
        ...


class MemoryHoldSink:
    """Keeps held calls in memory (the default until an approval store is configured)."""

    def __init__(self) -> None:
        self.holds: dict[str, HoldRequest] = {}
        self._lock = threading.Lock()

    def submit(self, request: HoldRequest) -> str:
        with self._lock:
            self.holds[request.hold_id] = request
        return request.hold_id


@dataclass(frozen=True)
class Outcome:
    """What happened to one call: executed (with the tool's result), denied, or held (with an id)."""

    decision: Decision
    status: Status
    result: Any = None
    hold_id: str | None = None

    @property
    def message(self) -> str:
        """A message for the model: what was refused and why, and what it can do instead."""
        return model_message(self.decision, self.hold_id)


def model_message(decision: Decision, hold_id: str | None = None) -> str:
    """The text a model sees for a denied or held call.

    It names the tool, the verdict and the stopping findings of *this* call (code and
    message); it never lists other tools or the policy itself.
    """
    stopping = decision.stopping() or decision.findings
    reasons = "; ".join(f"[{f.code}] {f.message}" for f in stopping[:5])
    if decision.verdict == "hold":
        return (
            f"toolguard held the call to {decision.tool!r} for human approval (hold id {hold_id}). "
            f"Reason: {reasons}. Do not retry it; tell the user it awaits approval."
        )
    if decision.verdict == "deny":
        return f"toolguard denied the call to {decision.tool!r}. Reason: {reasons}. Do not retry the same call."
    return "allowed"


def _error_decision(call: Call, exc: BaseException, *, code: str = "guard.error") -> Decision:
    finding = Finding(
        code=code,
        message=f"toolguard could not decide this call ({type(exc).__name__}); denied to fail closed",
        action="deny",
        evidence=(Evidence("error", {"type": type(exc).__name__, "detail": str(exc)[:300]}),),
    )
    tool = call.tool if isinstance(call.tool, str) else ""
    return combine([finding], tool=tool, call_id=call.id if isinstance(call.id, str) else "")



# Decision ids: 128 random bits each (as uuid4), taken from the OS's generator 4 KiB at a
# time rather than one system call per call. A forked child drops what its parent read, so
# two processes never hand out the same id.
_ID_LOCK = threading.Lock()
_id_hex = ""
_id_pos = 0


def new_decision_id() -> str:
    """32 hex digits of fresh OS randomness."""
    global _id_hex, _id_pos
    with _ID_LOCK:
        if _id_pos >= len(_id_hex):
            _id_hex, _id_pos = os.urandom(4096).hex(), 0
        pool, at = _id_hex, _id_pos
        _id_pos = at + 32
    # (the pool read under the lock: another thread may start a new one before the slice)
    return pool[at : at + 32]


def _forget_ids() -> None:
    global _id_hex, _id_pos, _ID_LOCK
    _ID_LOCK = threading.Lock()  # the parent may have held it at fork time
    _id_hex, _id_pos = "", 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids)


class Guard:
    """The mediator between an agent loop and its tools.

    Arguments (keyword-only after ``manifests``):
        manifests: a :class:`ManifestSet` (or an iterable of manifests).
        policy: the global :class:`Policy` (defaults apply when None).
        holds: where held calls go (a :class:`HoldSink`); in memory by default.
        max_sessions: sessions kept in memory; the least recently used is evicted first,
            and a session that comes back after eviction starts as having seen untrusted
            content (eviction never forgets taint).
        decide: the decision function (``toolguard.policy.decide`` or one built by
            ``extend_checks``).
        counters, kill_list, audit, telemetry, principal_class: the accounting layer's
            stores and options (see :class:`toolguard.accounting.Accounting`): budgets,
            cut-off, the audit log and OpenTelemetry (``telemetry=False`` for none).
    """

    def __init__(
        self,
        manifests: ManifestSet | Iterable[Manifest],
        *,
        policy: Policy | None = None,
        holds: HoldSink | None = None,
        max_sessions: int = 10_000,
        decide: DecideFn | None = None,
        session_factory: Callable[[str, str], Session] | None = None,
        counters: CounterStore | None = None,
        kill_list: KillList | None = None,
        audit: AuditLog | None = None,
        telemetry: Telemetry | Literal[False] | None = None,
        principal_class: Callable[[str], str | None] | None = None,
    ) -> None:
        self.manifests = manifests if isinstance(manifests, ManifestSet) else ManifestSet.of(manifests)
        self.policy = policy if policy is not None else Policy()
        if holds is None and self.policy.store:
            # policy.yaml `store:` names where held calls live (SQLite file, PostgreSQL).
            from .approvals.store import open_stores

            holds = open_stores(self.policy.store)[0]
        self.holds: HoldSink = holds if holds is not None else MemoryHoldSink()
        self._decide: DecideFn = decide if decide is not None else _core_decide
        self._sessions: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._evicted_tainted: set[tuple[str, str]] = set()
        self._max_sessions = max_sessions
        self._lock = threading.Lock()
        self._local = threading.local()
        self._session_factory = session_factory or (lambda p, s: Session(p, s))
        self.accounting = Accounting(
            self.manifests, self.policy, counters=counters, kill_list=kill_list, audit=audit,
            telemetry=telemetry, principal_class=principal_class,
        )
        self.cut_off: Callable[[str], str | None] = self.accounting.cut_off_reason

    def __repr__(self) -> str:
        return f"Guard(tools={sorted(self.manifests.manifests)!r}, sessions={len(self._sessions)})"

    @classmethod
    def from_path(cls, *paths: str | Path, policy: str | Path | Policy | None = None, **kwargs: Any) -> Guard:
        """Load manifests from files/directories; a ``policy.yaml`` beside them is used if present."""
        manifests = load_manifests(*paths)
        if policy is None:
            for p in map(Path, paths):
                for name in ("policy.yaml", "policy.yml"):
                    if p.is_dir() and (p / name).is_file():
                        policy = p / name
        pol = policy if isinstance(policy, Policy) else load_policy(policy)
        return cls(manifests, policy=pol, **kwargs)

    # ----------------------------------------------------------------------------------
    # Sessions

    def session(self, principal: str, conversation: str = "default") -> Session:
        """The session of ``principal`` in ``conversation`` (created on first use)."""
        key = (principal, conversation)
        with self._lock:
            s = self._sessions.get(key)
            if s is not None:
                self._sessions.move_to_end(key)
                return s
            s = self._session_factory(principal, conversation)
            if key in self._evicted_tainted:
                s.ledger.add_output(
                    "", call_id="evicted", tool="toolguard.evicted-session", trusted=False, labels=()
                )
            self._sessions[key] = s
            while len(self._sessions) > self._max_sessions:
                old_key, old = self._sessions.popitem(last=False)
                if old.ledger.untrusted_seen or old.ledger.sources:
                    self._evicted_tainted.add(old_key)
            return s

    # ----------------------------------------------------------------------------------
    # Deciding

    def decide(self, call: Call, session: Session) -> Decision:
        """Decide one call in a session. Never raises: an internal error denies with ``guard.error``."""
        decision_id = new_decision_id()
        try:
            manifest = self.manifests.get(call.tool) if isinstance(call.tool, str) else None
            with session.lock:
                if session.poisoned:
                    raise RuntimeError(f"the session lost track of a tool output: {session.poisoned}")
                principal = session.principal
                view = session.view(cut_off=self.cut_off(principal), usage=self.accounting.usage_hint(principal))
                if self._decide is _core_decide:
                    ctx = Context(call, manifest, view, self.policy, decision_id)
                    decision = decide_in(ctx)
                    # record_egress, right after on this thread, reuses the parsed destinations
                    self._local.ctx = (call, ctx)
                    return decision
                decision = self._decide(call, manifest, view, self.policy)
        except Exception as exc:
            log.exception("toolguard: error while deciding %r", getattr(call, "tool", call))
            decision = _error_decision(call, exc, code="store.unavailable" if isinstance(exc, StoreUnavailable) else "guard.error")
        return decision.with_id(decision_id)

    def _hold(self, decision: Decision, call: Call, session: Session) -> Outcome:
        hold_id = "h_" + uuid.uuid4().hex[:20]
        request = HoldRequest(
            hold_id=hold_id,
            decision=decision,
            call=call,
            principal=session.principal,
            session_id=session.session_id,
            manifest=self.manifests.get(call.tool),
            requested_at=time.time(),
        )
        try:
            hold_id = self.holds.submit(request)
        except Exception as exc:
            log.exception("toolguard: cannot store a held call")
            return Outcome(_error_decision(call, exc, code="store.unavailable").with_id(decision.decision_id), "denied")
        try:
            self.accounting.held(decision, call, session, hold_id)
        except Exception:
            log.exception("toolguard: cannot write the audit record of hold %s", hold_id)
        return Outcome(decision, "held", hold_id=hold_id)

    def _before(self, call: Call, session: Session, track: Track | None = None) -> tuple[Decision, Outcome | None]:
        t0 = time.perf_counter()
        decision = self.decide(call, session)
        decision = self.accounting.after_decide(track, call, session, decision, time.perf_counter() - t0)
        session.record_call(CallRecord(call.id, str(call.tool), decision.verdict, decision.codes))
        if decision.verdict == "deny":
            return decision, Outcome(decision, "denied")
        if decision.verdict == "hold":
            return decision, self._hold(decision, call, session)
        return decision, None

    def record_output(self, session: Session, call: Call, output: Any) -> None:
        """Record a tool's output in the session: a taint source unless its manifest trusts it.

        A failure here poisons the session: later calls in it are denied, because the guard
        no longer knows everything that entered the model's context.
        """
        try:
            manifest = self.manifests.get(call.tool)
            trusted = manifest is not None and manifest.output.trust == "trusted"
            labels = manifest.output.labels if manifest is not None else ()
            about = party(call.args, manifest.compiled.about) if manifest is not None and manifest.compiled.about is not None else None
            session.add_tool_output(call_id=call.id, tool=call.tool, text=_as_text(output), trusted=trusted, labels=labels, about=about)
        except Exception as exc:
            log.exception("toolguard: cannot record the output of %s", call.tool)
            session.poisoned = f"{type(exc).__name__} while recording the output of {call.tool}"

    def record_egress(self, session: Session, call: Call) -> None:
        """Remember what an allowed call sent out, so data split across calls can be reassembled."""
        try:
            manifest = self.manifests.get(call.tool)
            if manifest is None or not isinstance(call.args, dict):
                return
            cached = getattr(self._local, "ctx", None)
            self._local.ctx = None
            if cached is not None and cached[0] is call and cached[1].manifest is manifest:
                ctx = cached[1]
            else:
                ctx = Context(call, manifest, session.view(), self.policy)
            if manifest.compiled.requests:
                # URLs this call requests: their data reaches the host now (a later call
                # sending the identical URL, a link to a page it fetched, carries nothing new).
                urls = [d.dest.normalized for d in ctx.dests if d.dest is not None and d.embedded is None and d.dest.kind == "url"]
                if urls:
                    session.add_requested(urls)
            if not leaves(ctx):
                return  # data towards allowed destinations is allowed: nothing to reassemble
            # Only what leaves (payload, data parts of non-allowed URLs), in argument order:
            # destinations in between would break the reassembly of split data.
            texts = egress_texts(ctx)
            if texts:
                session.ledger.record_egress(call.id, texts)
        except Exception as exc:
            log.exception("toolguard: cannot record egress of %s", call.tool)
            session.poisoned = f"{type(exc).__name__} while recording the egress of {call.tool}"

    def run(self, session: Session, call: Call, execute: Callable[[Any], Any]) -> Outcome:
        """Decide ``call``; on allow run ``execute(call.args)`` and record its output.

        Exceptions raised by the tool itself propagate unchanged (the tool ran; its error is
        the caller's to handle). Nothing inside toolguard lets a call pass on error.
        """
        with self.accounting.track(call, session) as track:
            decision, stopped = self._before(call, session, track)
            if stopped is not None:
                return stopped
            self.record_egress(session, call)
            result = execute(call.args)
            return self._after(session, call, decision, result, track)

    async def arun(self, session: Session, call: Call, execute: Callable[[Any], Awaitable[Any]]) -> Outcome:
        """The async twin of :meth:`run`."""
        with self.accounting.track(call, session) as track:
            decision, stopped = self._before(call, session, track)
            if stopped is not None:
                return stopped
            self.record_egress(session, call)
            result = await execute(call.args)
            return self._after(session, call, decision, result, track)

    def finish_approved(self, session: Session, call: Call, result: Any) -> Any:
        """For a call an approver let run: check its output, count it, record it; return what the model may see.

        The output constraints (schema, redaction, size cap) apply as for any call; output
        budgets are counted but never withhold it (the approver decided). Call
        ``guard.accounting.charge_approved(call, session)`` and :meth:`record_egress` before
        running the tool. An output that cannot be checked is withheld: None is returned.
        """
        decision = combine([], tool=str(call.tool), call_id=str(call.id))
        value, decision = self.accounting.after_execute(None, call, session, decision, result, withhold=False)
        if decision.verdict != "allow":
            return None
        self.record_output(session, call, value)
        return value

    def _after(self, session: Session, call: Call, decision: Decision, result: Any, track: Track | None = None) -> Outcome:
        """Apply the output constraints and output budgets, record what the model will see.

        The returned outcome's ``result`` is the processed output (redacted, capped, or a
        schema error); an output withheld by an output budget turns the outcome into a hold
        or a deny, and nothing of it is recorded in the session.
        """
        value, decision = self.accounting.after_execute(track, call, session, decision, result)
        if decision.verdict == "deny":
            return Outcome(decision, "denied")
        if decision.verdict == "hold":
            return self._hold(decision, call, session)
        self.record_output(session, call, value)
        return Outcome(decision, "executed", result=value)

    # ----------------------------------------------------------------------------------
    # LangChain

    def wrap(self, tool: BaseTool, **kwargs: Any) -> GuardedTool:
        """Wrap a LangChain tool so every call goes through this guard (see integrations.langchain)."""
        from .integrations.langchain import GuardedTool

        return GuardedTool.wrap(tool, self, **kwargs)

    def wrap_all(self, tools: Sequence[BaseTool], **kwargs: Any) -> list[GuardedTool]:
        """Wrap every tool; raises ConfigError naming tools that have no manifest when ``strict``."""
        return [self.wrap(t, **kwargs) for t in tools]
