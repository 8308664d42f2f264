"""LangChain v1 agent middleware: guard every tool call of ``create_agent``.

:class:`ToolGuardMiddleware` sits in ``create_agent(..., middleware=[...])`` and decides each
tool call before the tool runs. Unlike :class:`~toolguard.integrations.langchain.GuardedTool`
it also sees the conversation, so it records the user's words and the system prompt as
trusted text (a destination the user typed is sanctioned) without any extra code::

    from langchain.agents import create_agent
    from toolguard import Guard
    from toolguard.integrations.langgraph import ToolGuardMiddleware

    guard = Guard.from_path("manifests/")
    agent = create_agent(model, tools=[send_email, read_inbox], middleware=[ToolGuardMiddleware(guard)])
    agent.invoke({"messages": [("user", "mail bob@acme.example the notes")]},
                 {"configurable": {"thread_id": "t1", "user_id": "alice"}})

Per tool call it

1. resolves the session as :func:`~toolguard.integrations.langchain.resolve_session` does
   (``principal``/``conversation`` given here, then ``configurable["toolguard_principal"]``
   or ``["user_id"]`` and ``["thread_id"]``, then ``"anonymous"``/``"default"``);
2. records every ``HumanMessage`` (user text) and ``SystemMessage`` (system text) of the
   agent state it has not recorded yet (tracked by message id, per session); the agent's
   ``system_prompt`` is recorded the same way before each model call;
3. decides ``request.tool_call["args"]``: the arguments as the model wrote them, before
   LangChain injects anything;
4. on allow runs the tool, applies the manifest's output checks (redaction, size cap,
   output schema) to what the model will read, and records that as the tool's output; on
   deny returns an error ``ToolMessage`` (the model reads the reason, the loop goes on); on
   hold does what ``on_hold`` says:

   ``"message"`` (default)
       return the held ``ToolMessage`` (with the hold id); the call never runs.
   ``"interrupt"``
       pause the graph with ``langgraph.types.interrupt(payload)`` where ``payload`` is
       ``{"type": "toolguard_hold", "hold_id", "tool", "tool_call_id", "args", "findings",
       "reason", "decision_id"}``; resume with ``Command(resume={"approved": bool,
       "reason": str})`` (keyed by interrupt id when several calls wait). On approval the
       tool runs exactly once; on refusal, or on an answer that is not of that shape, the
       model gets an error ``ToolMessage``. Needs a checkpointer and a ``thread_id``.

A tool that is already a :class:`GuardedTool` of the same guard is not checked twice: the
middleware only records the conversation and lets the tool decide.

The middleware never catches LangGraph's ``GraphBubbleUp`` (interrupts raised by the tool
or by another middleware pass through), and exceptions raised by the tool propagate as
they would without it.

This module needs the ``langgraph`` extra: ``pip install 'toolguard[langgraph]'``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

try:
    from langchain.agents.middleware import AgentMiddleware
    from langgraph.config import get_config
    from langgraph.types import interrupt
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "toolguard's agent middleware needs LangChain agents and LangGraph; "
        "install them with: pip install 'toolguard[langgraph]'"
    ) from exc

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

from ..approvals.executor import aexecute_approved, execute_approved
from ..approvals.store import ApprovalStore
from ..errors import ConfigError
from ..findings import Call
from ..guard import Guard, Outcome
from ..session import Session, _as_text
from .langchain import (
    GuardedTool,
    blocked_message,
    model_content,
    new_call_id,
    resolve_session,
    with_model_content,
)

if TYPE_CHECKING:
    from langchain.agents.middleware import ModelRequest, ModelResponse, ToolCallRequest

__all__ = ["HOLD_PAYLOAD_TYPE", "OnHold", "ToolGuardMiddleware"]

OnHold = Literal["message", "interrupt"]
#: The ``type`` of the interrupt payload for a held call.
HOLD_PAYLOAD_TYPE = "toolguard_hold"
_MAX_PENDING = 10_000

ToolResult = Any  # ToolMessage | Command



@dataclass(frozen=True)
class _Pending:
    outcome: Outcome
    payload: dict[str, Any]


# State that belongs to a session or a guard rather than to one middleware instance (an
# application may build a new agent, and so a new middleware, for every request):
# which conversation messages a session already recorded, and the holds waiting for an
# approver's answer (so that the resumed task applies the answer to the hold it was asked
# about instead of deciding again).
_LOCK = threading.Lock()
_SEEN: weakref.WeakKeyDictionary[Session, set[str]] = weakref.WeakKeyDictionary()
_PENDING: weakref.WeakKeyDictionary[Guard, OrderedDict[tuple[str, str, str, str], _Pending]] = weakref.WeakKeyDictionary()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _digest(args: Any) -> str:
    try:
        text = json.dumps(args, sort_keys=True, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(args)
    return _sha(text)


def _parse_answer(answer: Any, hold_id: str | None) -> tuple[bool, str]:
    """(approved, reason) from a resume value; anything unexpected is a refusal (fail closed)."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("approved"), bool):
        return False, f"the approval answer was not understood (expected {{'approved': bool, 'reason': str}}, got {type(answer).__name__})"
    if "hold_id" in answer and answer["hold_id"] != hold_id:
        return False, "the approval answer names another hold"
    reason = answer.get("reason")
    return answer["approved"] is True, reason if isinstance(reason, str) else ""


class ToolGuardMiddleware(AgentMiddleware):
    """Agent middleware that decides every tool call with a :class:`~toolguard.Guard`.

    Arguments:
        guard: the guard that decides.
        principal, conversation: fixed session key parts (else from the run config).
        on_hold: ``"message"`` (return the held message) or ``"interrupt"`` (pause the
            graph for an approver; see the module docstring).
    """

    def __init__(
        self,
        guard: Guard,
        *,
        principal: str | None = None,
        conversation: str | None = None,
        on_hold: OnHold = "message",
    ) -> None:
        super().__init__()
        if not isinstance(guard, Guard):
            raise ConfigError(f"ToolGuardMiddleware needs a toolguard Guard, got {type(guard).__name__}")
        if on_hold not in ("message", "interrupt"):
            raise ConfigError(f"on_hold must be 'message' or 'interrupt', not {on_hold!r}")
        self.guard = guard
        self.principal = principal
        self.conversation = conversation
        self.on_hold: OnHold = on_hold

    def __repr__(self) -> str:
        return f"ToolGuardMiddleware(guard={self.guard!r}, on_hold={self.on_hold!r})"

    # -- sessions and trusted text ---------------------------------------------------------

    def _session(self, config: Any) -> Session:
        return resolve_session(self.guard, config, principal=self.principal, conversation=self.conversation)

    def _seen_in(self, session: Session) -> set[str]:
        with _LOCK:
            return _SEEN.setdefault(session, set())

    def _pending_of(self) -> OrderedDict[tuple[str, str, str, str], _Pending]:
        with _LOCK:
            return _PENDING.setdefault(self.guard, OrderedDict())

    def _record(self, session: Session, seen: set[str], key: str, text: str, origin: Literal["user", "system"]) -> None:
        # Called under session.lock: a decision in the same session (which takes that lock)
        # never sees half of the conversation.
        if key in seen:
            return
        seen.add(key)
        if origin == "user":
            session.add_user_text(text)
        else:
            session.add_system_text(text)

    def record_conversation(self, session: Session, messages: Any) -> None:
        """Record the user and system messages not recorded yet in ``session`` as trusted text.

        A message is identified by its id (LangGraph gives every message in the state one);
        a message without an id by its position and text. Recording the same message again
        does nothing.
        """
        if not isinstance(messages, (list, tuple)):
            return
        seen = self._seen_in(session)
        with session.lock:
            for i, m in enumerate(messages):
                if isinstance(m, HumanMessage):
                    origin: Literal["user", "system"] = "user"
                elif isinstance(m, SystemMessage):
                    origin = "system"
                else:
                    continue
                text = _as_text(m.content)
                key = f"id:{m.id}" if m.id else f"at:{i}:{_sha(text)}"
                self._record(session, seen, key, text, origin)

    def _record_state(self, session: Session, state: Any) -> None:
        messages = state.get("messages") if isinstance(state, Mapping) else getattr(state, "messages", None)
        self.record_conversation(session, messages)

    def _record_model_request(self, request: ModelRequest) -> None:
        try:
            config = get_config()
        except RuntimeError:  # outside a graph run: nothing to attribute the text to
            return
        session = self._session(config)
        system = request.system_message
        if system is not None:
            text = _as_text(system.content)
            seen = self._seen_in(session)
            with session.lock:
                self._record(session, seen, "system-prompt:" + _sha(text), text, "system")
        self._record_state(session, request.state)

    # -- model calls: only to see the system prompt --------------------------------------

    def _set_horizon(self) -> None:
        """Everything recorded so far is what the model saw when it chose this turn's calls."""
        try:
            config = get_config()
        except RuntimeError:
            return
        session = self._session(config)
        with session.lock:
            session.horizon = len(session.ledger.sources)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        self._record_model_request(request)
        self._set_horizon()
        return handler(request)

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        self._record_model_request(request)
        self._set_horizon()
        return await handler(request)

    # -- tool calls ---------------------------------------------------------------------------

    def _begin(self, request: ToolCallRequest) -> tuple[Session, Call, bool]:
        config = getattr(request.runtime, "config", None)
        session = self._session(config)
        self._record_state(session, request.state)
        tool = request.tool
        self_guarded = isinstance(tool, GuardedTool) and tool.guard is self.guard
        tc = request.tool_call
        call = Call(tool=tc.get("name", ""), args=tc.get("args"), id=tc.get("id") or new_call_id())
        return session, call, self_guarded

    def _key(self, session: Session, call: Call) -> tuple[str, str, str, str]:
        return (session.principal, session.session_id, call.id, _digest(call.args))

    def _take_pending(self, session: Session, call: Call) -> _Pending | None:
        pending = self._pending_of()
        with _LOCK:
            return pending.get(self._key(session, call))

    def _remember(self, session: Session, call: Call, outcome: Outcome) -> _Pending:
        decision = outcome.decision
        payload = {
            "type": HOLD_PAYLOAD_TYPE,
            "hold_id": outcome.hold_id,
            "tool": call.tool,
            "tool_call_id": call.id,
            "args": call.args,
            "findings": [f.to_dict() for f in decision.stopping() or decision.findings],
            "reason": decision.reason,
            "decision_id": decision.decision_id,
        }
        pending = _Pending(outcome, payload)
        table = self._pending_of()
        with _LOCK:
            table[self._key(session, call)] = pending
            while len(table) > _MAX_PENDING:
                table.popitem(last=False)
        return pending

    def _ask(self, session: Session, call: Call, pending: _Pending) -> tuple[bool, str]:
        # interrupt() raises GraphInterrupt the first time (the graph pauses) and returns the
        # resume value when the task runs again; the pending entry makes that second run
        # skip the decision, so the approver's answer applies to the hold they saw.
        answer = interrupt(pending.payload)
        table = self._pending_of()
        with _LOCK:
            table.pop(self._key(session, call), None)
        return _parse_answer(answer, pending.outcome.hold_id)

    def _approved_result(self, session: Session, call: Call, result: Any) -> Any:
        """An approved call's result after the output constraints (as for any call)."""
        value = self.guard.finish_approved(session, call, model_content(result))
        if value is None:
            return ToolMessage(
                "toolguard: the tool ran, but its output could not be checked and was withheld.",
                tool_call_id=call.id, name=call.tool, status="error",
            )
        return with_model_content(result, value)

    def _durable(self, pending: _Pending) -> ApprovalStore | None:
        """The guard's approval store when holds are durable (execution then goes through it)."""
        store = self.guard.holds
        return store if isinstance(store, ApprovalStore) and pending.outcome.hold_id else None

    def _refused(self, call: Call, name: str, reason: str, pending: _Pending) -> ToolMessage:
        text = f"toolguard: the call to {name!r} was refused by the approver"
        text += f": {reason}" if reason else ""
        text += ". Do not retry the same call."
        return ToolMessage(
            text,
            tool_call_id=call.id,
            name=name,
            status="error",
            response_metadata={
                "toolguard": {
                    "verdict": "deny",
                    "status": "refused",
                    "decision_id": pending.outcome.decision.decision_id,
                    "codes": list(pending.outcome.decision.codes),
                    "hold_id": pending.outcome.hold_id,
                }
            },
        )

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        """Decide the call; run ``handler`` only on allow (or on an approver's yes)."""
        session, call, self_guarded = self._begin(request)
        if self_guarded:
            return handler(request)
        pending = self._take_pending(session, call) if self.on_hold == "interrupt" else None
        if pending is None:
            produced: list[Any] = []

            def execute(_: Any) -> Any:
                result = handler(request)
                produced.append(result)
                return model_content(result)

            outcome = self.guard.run(session, call, execute)
            if outcome.status == "executed":
                return with_model_content(produced[0], outcome.result)
            if outcome.status == "denied" or self.on_hold == "message" or produced:
                # (a tool that already ran is never asked about again: its output was withheld)
                return blocked_message(outcome, tool_call_id=call.id, name=call.tool)
            pending = self._remember(session, call, outcome)
        approved, reason = self._ask(session, call, pending)
        if not approved:
            return self._refused(call, call.tool, reason, pending)
        store = self._durable(pending)
        if store is not None:
            # A durable hold runs through the store: claimed once, the stored (possibly
            # edited) arguments, the result recorded; the store's record decides, not the
            # resume value.
            ran: list[Any] = []

            def run(args: Any) -> Any:
                result = handler(request.override(tool_call={**request.tool_call, "args": args}))
                ran.append(result)
                return model_content(result)

            res = execute_approved(store, str(pending.outcome.hold_id), {call.tool: run}, self.guard)
            if res.status == "executed" and res.ran_here:
                return with_model_content(ran[0], res.result)
            return self._refused(call, call.tool, res.message, pending)
        self.guard.accounting.charge_approved(call, session)
        self.guard.record_egress(session, call)
        result = handler(request)
        return self._approved_result(session, call, result)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        """The async twin of :meth:`wrap_tool_call`."""
        session, call, self_guarded = self._begin(request)
        if self_guarded:
            return await handler(request)
        pending = self._take_pending(session, call) if self.on_hold == "interrupt" else None
        if pending is None:
            produced: list[Any] = []

            async def execute(_: Any) -> Any:
                result = await handler(request)
                produced.append(result)
                return model_content(result)

            outcome = await self.guard.arun(session, call, execute)
            if outcome.status == "executed":
                return with_model_content(produced[0], outcome.result)
            if outcome.status == "denied" or self.on_hold == "message" or produced:
                # (a tool that already ran is never asked about again: its output was withheld)
                return blocked_message(outcome, tool_call_id=call.id, name=call.tool)
            pending = self._remember(session, call, outcome)
        approved, reason = self._ask(session, call, pending)
        if not approved:
            return self._refused(call, call.tool, reason, pending)
        store = self._durable(pending)
        if store is not None:
            ran: list[Any] = []

            async def arun(args: Any) -> Any:
                result = await handler(request.override(tool_call={**request.tool_call, "args": args}))
                ran.append(result)
                return model_content(result)

            res = await aexecute_approved(store, str(pending.outcome.hold_id), {call.tool: arun}, self.guard)
            if res.status == "executed" and res.ran_here:
                return with_model_content(ran[0], res.result)
            return self._refused(call, call.tool, res.message, pending)
        self.guard.accounting.charge_approved(call, session)
        self.guard.record_egress(session, call)
        result = await handler(request)
        return self._approved_result(session, call, result)
