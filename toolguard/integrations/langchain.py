"""LangChain integration: guard any ``BaseTool``, sync and async.

:class:`GuardedTool` wraps a LangChain tool so every call goes through a
:class:`~toolguard.Guard` before the tool runs. The wrapper *is* a ``BaseTool``: it keeps the
tool's name, description, argument schema, ``response_format``, ``return_direct`` and error
handlers, so a model bound to it sees exactly the schema it saw before, and it works
wherever a tool works (direct ``invoke``/``ainvoke``, LangGraph's ``ToolNode``,
``langchain.agents.create_agent``)::

    from toolguard import Guard

    guard = Guard.from_path("manifests/")
    tools = guard.wrap_all([send_email, read_inbox])          # or GuardedTool.wrap(tool, guard)
    agent = create_agent(model, tools=tools)
    agent.invoke({"messages": [...]}, {"configurable": {"thread_id": "t1", "user_id": "alice"}})

What the guard checks is the *model-facing* arguments: the values the model wrote. Values
LangChain injects (``InjectedToolArg``, ``InjectedToolCallId``, ``InjectedState``,
``InjectedStore``, ``ToolRuntime``) are removed first, with a deny-list of injected keys,
never an allow-list: a legacy single-input ``Tool`` receives ``{"__arg1": ...}``, which an
allow-list built from its schema would silently drop. The real tool then runs with the
original input, so it does its own validation, injection, artifacts, ``handle_tool_error``
and callbacks, unchanged; what the model will read of its result (the message content, not
the artifact) then goes through the manifest's output checks (redaction, size cap, output
schema) and is recorded in the session as the tool's output.

Which session a call belongs to, in order:

1. ``session=`` given to :meth:`GuardedTool.wrap` (one fixed session);
2. otherwise the principal is ``principal=`` given to ``wrap``, else the run config's
   ``configurable["toolguard_principal"]``, else ``configurable["user_id"]``, else
   ``"anonymous"``; and the conversation is ``conversation=`` given to ``wrap``, else
   ``configurable["thread_id"]``, else ``"default"``.

Everything that falls back to ``"anonymous"``/``"default"`` shares one session: taint from
one user's run is then seen by every other run (safe, but noisy). Pass a ``user_id`` and a
``thread_id`` in production.

A denied or held call never raises out of a tool call: with a tool-call id (every call an
agent makes) it returns ``ToolMessage(<reason>, status="error")`` that the model reads, and
the agent loop goes on. Without a tool-call id (``tool.invoke({"x": 1})``) it raises
``ToolException(<reason>)``, which the caller handles as any tool error.

Known limitation: the calls of one model turn run concurrently (``ToolNode`` and
``create_agent`` dispatch them in parallel), and each records its output as soon as it
returns. A sibling's output can therefore be in the session when another call of the same
turn is decided, although the model had not seen it when it wrote that call; the decision
of that call may then depend on timing (usually stricter: an untrusted sibling output that
names the same value). Give tools whose outputs matter to each other separate turns when
this matters.

The wrapper does not see the user's messages. Record them yourself
(``guard.session(user, thread).add_user_text(...)``) or use
:class:`~toolguard.integrations.langgraph.ToolGuardMiddleware` with ``create_agent``, which
records them for you.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.runnables.config import ensure_config
from langchain_core.tools import BaseTool, Tool, ToolException
from langchain_core.tools.base import FILTERED_ARGS
from langchain_core.utils.pydantic import get_fields

from ..errors import ConfigError, ToolguardError
from ..findings import Call
from ..guard import Guard, Outcome
from ..session import Session, _as_text

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langchain_core.utils.pydantic import TypeBaseModel

__all__ = [
    "CONVERSATION_KEY",
    "PRINCIPAL_KEYS",
    "GuardedTool",
    "blocked_message",
    "injected_keys",
    "model_args",
    "model_content",
    "resolve_session",
    "with_model_content",
]

#: ``config["configurable"]`` keys naming the principal, first match wins.
PRINCIPAL_KEYS: tuple[str, ...] = ("toolguard_principal", "user_id")
#: ``config["configurable"]`` key naming the conversation.
CONVERSATION_KEY = "thread_id"
ANONYMOUS = "anonymous"
DEFAULT_CONVERSATION = "default"


def __getattr__(name: str) -> Any:
    # The middleware needs the `langgraph` extra (langchain + langgraph); import it lazily
    # so that GuardedTool needs only langchain-core.
    if name == "ToolGuardMiddleware":
        from .langgraph import ToolGuardMiddleware

        return ToolGuardMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------
# Sessions


def _ident(value: Any) -> str | None:
    """A configured identity as text; None and "" count as absent (never silently merged)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def resolve_session(
    guard: Guard,
    config: RunnableConfig | Mapping[str, Any] | None,
    *,
    principal: str | None = None,
    conversation: str | None = None,
    session: Session | None = None,
) -> Session:
    """The session of one call: explicit binding, then the run config, then the defaults.

    See the module docstring for the order. ``config`` is a LangChain ``RunnableConfig``
    (``{"configurable": {"thread_id": ..., "user_id": ...}}``) or None.
    """
    if session is not None:
        return session
    configurable: Mapping[str, Any] = {}
    if isinstance(config, Mapping):
        conf = config.get("configurable")
        if isinstance(conf, Mapping):
            configurable = conf
    who = _ident(principal)
    if who is None:
        for key in PRINCIPAL_KEYS:
            who = _ident(configurable.get(key))
            if who is not None:
                break
    where = _ident(conversation)
    if where is None:
        where = _ident(configurable.get(CONVERSATION_KEY))
    return guard.session(who or ANONYMOUS, where or DEFAULT_CONVERSATION)


# --------------------------------------------------------------------------------------
# Model-facing arguments


def _field_names(schema: Any) -> set[str]:
    if schema is None:
        return set()
    if isinstance(schema, Mapping):
        props = schema.get("properties")
        return set(props) if isinstance(props, Mapping) else set()
    return set(get_fields(schema))


def injected_keys(tool: BaseTool) -> frozenset[str]:
    """The argument names LangChain fills in itself for ``tool`` (never written by the model).

    The union of the tool's directly injected parameters (``ToolRuntime``, ``InjectedToolArg``
    in the signature), the fields of its full input schema that its model-facing schema
    leaves out (``InjectedState``, ``InjectedStore``, ``InjectedToolCallId``...), and the
    callback plumbing names, minus every name the model-facing schema declares. This is a
    deny-list: anything not listed is checked.
    """
    keys: set[str] = set(FILTERED_ARGS)
    keys |= set(tool._injected_args_keys)
    full = _field_names(tool.get_input_schema())
    facing = _field_names(tool.tool_call_schema)
    keys |= full - facing
    # A name the model-facing schema declares is always checked, whatever else says it is
    # injected: a wrong guess here must never take a model-written value out of the check.
    return frozenset(keys - facing)


def model_args(tool: BaseTool, tool_input: Any, *, injected: frozenset[str] | None = None) -> Any:
    """The arguments the model wrote for ``tool``, from the input LangChain hands the tool.

    A string input (legacy single-input call) becomes ``{"__arg1": text}`` (or
    ``{<first field>: text}`` for a tool with a pydantic ``args_schema``, as LangChain itself
    maps it). A dict input loses its injected keys. Anything else is returned as is, and the
    decision core denies it as malformed.
    """
    if isinstance(tool_input, str):
        schema = tool.args_schema
        if schema is not None and not isinstance(schema, Mapping):
            fields = list(get_fields(schema))
            if fields:
                return {fields[0]: tool_input}
        return {"__arg1": tool_input}
    if isinstance(tool_input, Mapping):
        drop = injected if injected is not None else injected_keys(tool)
        return {k: v for k, v in tool_input.items() if k not in drop}
    return tool_input


def _is_command(value: Any) -> bool:
    # langgraph.types.Command, recognised without importing langgraph (an optional extra).
    return type(value).__name__ == "Command" and dataclasses.is_dataclass(value) and hasattr(value, "update")


def _command_messages(update: Any) -> list[Any] | None:
    """The messages a Command's update adds (as a list), or None when it adds none."""
    messages: Any = None
    if isinstance(update, Mapping):
        messages = update.get("messages")
    elif isinstance(update, Sequence) and not isinstance(update, (str, bytes)):
        found = [item[1] for item in update if isinstance(item, tuple) and len(item) == 2 and item[0] == "messages"]
        messages = found[0] if len(found) == 1 else (found or None)
    if messages is None:
        return None
    return list(messages) if isinstance(messages, (list, tuple)) else [messages]


def _content_of(message: Any) -> Any:
    if isinstance(message, BaseMessage):
        return message.content
    if isinstance(message, Mapping) and "content" in message:
        return message["content"]
    return message


def _with_content_of(message: Any, content: Any) -> Any:
    if isinstance(message, BaseMessage):
        return message.model_copy(update={"content": content})
    if isinstance(message, Mapping) and "content" in message:
        return {**message, "content": content}
    return content


def model_content(result: Any) -> Any:
    """What the model will see of a tool's result: the text a session records as output.

    A message (``ToolMessage``) gives its content; a LangGraph ``Command`` gives the contents
    of the messages in its update, as a list (or the whole update when it adds none);
    anything else is the content itself (for ``content_and_artifact`` called without a
    tool-call id, LangChain already returns the content part only). The artifact is not
    part of it: it never reaches the model.
    """
    if isinstance(result, BaseMessage):
        return result.content
    if _is_command(result):
        messages = _command_messages(result.update)
        return result.update if messages is None else [_content_of(m) for m in messages]
    return result


def with_model_content(result: Any, content: Any) -> Any:
    """``result`` with its model-facing part replaced by ``content`` (the inverse of :func:`model_content`).

    The guard may change what the model sees (redaction, size cap, an output-schema error);
    this puts the processed content back into the message or Command the tool returned,
    keeping everything else (tool-call id, status, artifact, the rest of a Command).
    """
    if content is result:
        return result
    current = model_content(result)
    if content is current or (type(content) is type(current) and content == current):
        return result
    if isinstance(result, BaseMessage):
        return result.model_copy(update={"content": content})
    if _is_command(result):
        update = result.update
        messages = _command_messages(update)
        if messages is None:
            return dataclasses.replace(result, update=content)
        if isinstance(content, list) and len(content) == len(messages):
            new = [_with_content_of(m, c) for m, c in zip(messages, content, strict=True)]
        else:  # the processed content changed shape (e.g. cut to one text): all of it in the first message
            text = _as_text(content)
            new = [_with_content_of(m, text if i == 0 else "") for i, m in enumerate(messages)]
        if isinstance(update, Mapping):
            new_update: Any = {**update, "messages": new}
        else:
            new_update = [item for item in update if not (isinstance(item, tuple) and len(item) == 2 and item[0] == "messages")]
            new_update.append(("messages", new))
        return dataclasses.replace(result, update=new_update)
    return content


def blocked_message(outcome: Outcome, *, tool_call_id: str, name: str) -> ToolMessage:
    """The error ``ToolMessage`` for a denied or held call (the model reads its content).

    ``response_metadata["toolguard"]`` carries the verdict, decision id, finding codes and
    hold id for the application; it is not sent to the model.
    """
    return ToolMessage(
        outcome.message,
        tool_call_id=tool_call_id,
        name=name,
        status="error",
        response_metadata={
            "toolguard": {
                "verdict": outcome.decision.verdict,
                "status": outcome.status,
                "decision_id": outcome.decision.decision_id,
                "codes": list(outcome.decision.codes),
                "hold_id": outcome.hold_id,
            }
        },
    )


def new_call_id() -> str:
    return "tg_" + uuid.uuid4().hex[:24]


# --------------------------------------------------------------------------------------
# The wrapper


def _refusing(fn: Any, tool: str) -> Any:
    """A stand-in for the inner tool's ``func``/``coroutine``: same signature, refuses to run.

    LangGraph's ToolNode reads the type hints of ``tool.func`` to find injected arguments
    (``InjectedState``...) and strips model-forged values for them, so the wrapper must show
    the same annotations. It must not hand out a way around the guard, though: calling the
    stand-in raises.
    """
    if fn is None:
        return None
    message = f"call the guarded tool {tool!r} through invoke/ainvoke; its function is not callable directly"
    if inspect.iscoroutinefunction(fn):

        async def refuse_async(*args: Any, **kwargs: Any) -> Any:
            raise ToolguardError(message)

        stub: Any = refuse_async
    else:

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise ToolguardError(message)

        stub = refuse
    try:
        return functools.wraps(fn)(stub)
    except (AttributeError, TypeError):  # pragma: no cover - exotic callables
        return stub


class GuardedTool(BaseTool):
    """A LangChain tool whose every call is decided by a :class:`~toolguard.Guard` first.

    Build it with :meth:`wrap` (or ``guard.wrap(tool)``). It mirrors the inner tool's fields
    and schemas and overrides ``run``/``arun``, the two methods every invocation path ends
    in; on allow the inner tool runs with the original input, on deny or hold it never runs.
    """

    inner: BaseTool
    guard: Guard
    principal: str | None = None
    conversation: str | None = None
    session: Session | None = None
    # Mirrored (as refusing stand-ins with the same annotations) so that ToolNode finds the
    # injected arguments and strips model-forged values for them.
    func: Any = None
    coroutine: Any = None

    @classmethod
    def wrap(
        cls,
        tool: BaseTool,
        guard: Guard,
        *,
        principal: str | None = None,
        conversation: str | None = None,
        session: Session | None = None,
    ) -> GuardedTool:
        """Wrap ``tool`` so every call goes through ``guard``.

        ``session`` binds every call to one session; ``principal``/``conversation`` bind
        one side of the session key and leave the other to the run config (see the module
        docstring). Wrapping a tool already guarded by the same guard rewraps its inner
        tool instead of checking twice.
        """
        if not isinstance(guard, Guard):
            raise ConfigError(f"GuardedTool.wrap needs a toolguard Guard, got {type(guard).__name__}")
        if isinstance(tool, GuardedTool) and tool.guard is guard:
            tool = tool.inner
        if not isinstance(tool, BaseTool):
            raise ConfigError(
                f"GuardedTool.wrap expects a LangChain BaseTool, got {type(tool).__name__}; "
                "turn a function into a tool with langchain_core.tools.tool first"
            )
        mirrored = {name: getattr(tool, name) for name in BaseTool.model_fields if name != "callbacks"}
        target: type[GuardedTool] = _GuardedSimpleTool if isinstance(tool, Tool) else cls
        return target(
            inner=tool,
            guard=guard,
            principal=principal,
            conversation=conversation,
            session=session,
            func=_refusing(getattr(tool, "func", None), tool.name),
            coroutine=_refusing(getattr(tool, "coroutine", None), tool.name),
            **mirrored,
        )

    def __repr__(self) -> str:
        return f"GuardedTool(name={self.name!r}, inner={type(self.inner).__name__})"

    # -- schemas: exactly the inner tool's ------------------------------------------------

    @property
    def tool_call_schema(self) -> Any:
        return self.inner.tool_call_schema

    def get_input_schema(self, config: RunnableConfig | None = None) -> TypeBaseModel:
        return self.inner.get_input_schema(config)

    @functools.cached_property
    def _injected_args_keys(self) -> frozenset[str]:
        return self.inner._injected_args_keys

    @functools.cached_property
    def injected(self) -> frozenset[str]:
        """The injected argument names removed before the check (see :func:`injected_keys`)."""
        return injected_keys(self.inner)

    # -- running ----------------------------------------------------------------------------

    def _prepare(self, tool_input: Any, tool_call_id: str | None, config: Any) -> tuple[Call, Session]:
        try:
            args = model_args(self.inner, tool_input, injected=self.injected)
        except Exception:  # unfiltered input is then denied as malformed (fail closed)
            args = tool_input
        call = Call(tool=self.name, args=args, id=tool_call_id or new_call_id())
        session = self.session
        if session is None:
            # The run config names the session unless both sides are bound. A config that
            # carries its own "configurable" (as invoke hands one) is used as is: merging the
            # parent run's config would not change that key, and costs microseconds per call.
            unbound = self.principal is None or self.conversation is None
            if unbound and not (isinstance(config, Mapping) and config.get("configurable") is not None):
                config = ensure_config(config)
            session = resolve_session(self.guard, config, principal=self.principal, conversation=self.conversation)
        return call, session

    def _blocked(self, outcome: Outcome, tool_call_id: str | None) -> ToolMessage:
        if tool_call_id is None:
            raise ToolException(outcome.message)
        return blocked_message(outcome, tool_call_id=tool_call_id, name=self.name)

    def run(
        self,
        tool_input: str | dict[str, Any],
        *args: Any,
        tool_call_id: str | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        """Decide the call; on allow run the inner tool with the original input."""
        call, session = self._prepare(tool_input, tool_call_id, config)
        produced: list[Any] = []

        def execute(_: Any) -> Any:
            try:
                result = self.inner.run(tool_input, *args, tool_call_id=tool_call_id, config=config, **kwargs)
            except ToolException as exc:
                # The error text may reach the model (ToolNode/handlers turn it into a message).
                self.guard.record_output(session, call, str(exc))
                raise
            produced.append(result)
            return model_content(result)

        outcome = self.guard.run(session, call, execute)
        if outcome.status == "executed":
            return with_model_content(produced[0], outcome.result)
        return self._blocked(outcome, tool_call_id)

    async def arun(
        self,
        tool_input: str | dict[str, Any],
        *args: Any,
        tool_call_id: str | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        """The async twin of :meth:`run`."""
        call, session = self._prepare(tool_input, tool_call_id, config)
        produced: list[Any] = []

        async def execute(_: Any) -> Any:
            try:
                result = await self.inner.arun(tool_input, *args, tool_call_id=tool_call_id, config=config, **kwargs)
            except ToolException as exc:
                self.guard.record_output(session, call, str(exc))
                raise
            produced.append(result)
            return model_content(result)

        outcome = await self.guard.arun(session, call, execute)
        if outcome.status == "executed":
            return with_model_content(produced[0], outcome.result)
        return self._blocked(outcome, tool_call_id)

    def _run(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - run() never calls it
        raise NotImplementedError("GuardedTool runs its inner tool through run()/arun()")


class _GuardedSimpleTool(GuardedTool, Tool):
    """A guarded legacy single-input ``Tool``.

    It stays an instance of ``Tool`` so that LangChain's special cases for that class
    (the ``{"__arg1": string}`` model schema, ``custom_tool`` metadata) apply unchanged.
    """

    def _run(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - run() never calls it
        raise NotImplementedError("GuardedTool runs its inner tool through run()/arun()")
