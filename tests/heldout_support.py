"""The session language and runner shared by the held-out suites (tests/heldout3 to heldout7).

A session is a list of steps: the user's words (``U``), or a tool call with the output the
tool returns and what the guard must do with it (``C``; ``X`` for an attack step that must
be held or denied). :func:`run_session` plays one through a fresh guard with ``guard.run``
and returns every step that went otherwise than expected.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from toolguard import Call, Guard, Policy


@dataclass
class Step:
    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    output: Any = "ok"
    expect: str = "allow"  # allow | hold | deny | stop (held or denied)
    codes: tuple[str, ...] = ()  # one of these must be among the findings (stop/hold/deny)
    user: str = ""


def U(text: str) -> Step:
    return Step(user=text)


def C(tool: str, args: dict[str, Any], output: Any = "ok", expect: str = "allow", codes: tuple[str, ...] | str = ()) -> Step:
    return Step(tool, args, output, expect, (codes,) if isinstance(codes, str) else codes)


def X(tool: str, args: dict[str, Any], *codes: str) -> Step:
    """An attack step: must be held or denied, by one of ``codes``."""
    return Step(tool, args, "ok", "stop", codes)


@dataclass
class Sess:
    id: str
    steps: list[Step]
    policy: Policy | None = None


Workloads = Mapping[str, tuple[Sequence[Sess], Sequence[Sess]]]


def _ok(expect: str, status: str) -> bool:
    if expect == "stop":
        return status in ("held", "denied")
    return status == {"allow": "executed", "hold": "held", "deny": "denied"}[expect]


def run_session(s: Sess, manifests: Any, principal: str) -> list[str]:
    """Run the session through a fresh guard; return every call that went otherwise than expected."""
    guard = Guard(manifests, policy=s.policy or Policy())
    session = guard.session(principal, s.id)
    wrong: list[str] = []
    for i, step in enumerate(s.steps):
        if step.user:
            session.add_user_text(step.user)
            continue
        call = Call(step.tool, step.args, f"{s.id}#{i}")
        outcome = guard.run(session, call, lambda _args, out=step.output: out)
        d = outcome.decision
        explain = "; ".join(f"{f.action} {f.code} {f.pointer}: {f.message}" for f in d.findings)
        if not _ok(step.expect, outcome.status):
            wrong.append(f"step {i} {step.tool}: expected {step.expect}, got {outcome.status} [{explain}]")
        elif step.expect == "allow" and d.findings:
            wrong.append(f"step {i} {step.tool}: allowed but with findings [{explain}]")
        elif step.codes and not set(step.codes) & set(d.codes):
            wrong.append(f"step {i} {step.tool}: none of {step.codes} [{explain}]")
    return wrong


def session_params(workloads: Workloads, kind: str, xfail: Mapping[str, str] | None = None) -> list[Any]:
    """The benign (``kind="benign"``) or attack sessions of every workload, as pytest params;
    a session listed in ``xfail`` (id: reason) is marked as a strict xfail."""
    xfail = xfail or {}
    return [
        pytest.param(s, id=s.id, marks=[pytest.mark.xfail(strict=True, reason=xfail[s.id])] if s.id in xfail else [])
        for benign, attacks in workloads.values()
        for s in (benign if kind == "benign" else attacks)
    ]


def check_counts(workloads: Workloads, *, extra_ids: Iterable[str] = (), xfail: Mapping[str, str] | None = None) -> None:
    """Every session makes 1 to 8 tool calls; ids (with ``extra_ids``) are unique; every
    ``xfail`` id names a session."""
    sessions = all_sessions(workloads)
    for s in sessions:
        assert 1 <= len([st for st in s.steps if not st.user]) <= 8, s.id
    ids = [s.id for s in sessions] + list(extra_ids)
    assert len(ids) == len(set(ids))
    assert set(xfail or {}) <= set(ids)


def all_sessions(workloads: Workloads) -> list[Sess]:
    return [s for b, a in workloads.values() for s in [*b, *a]]


def check_benign(s: Sess, wrong: list[str], by_design: Mapping[str, str]) -> None:
    """Every step as expected; a benign session that holds anything is listed with its rule."""
    assert not wrong, f"{s.id}:\n  " + "\n  ".join(wrong)
    held = [st for st in s.steps if not st.user and st.expect != "allow"]
    assert bool(held) == (s.id in by_design), f"{s.id}: a benign hold must be listed in BY_DESIGN with its rule"


def check_attack(s: Sess, wrong: list[str], misses: Mapping[str, str]) -> None:
    """Every step as expected; an attack session expects a stop unless listed as a documented miss."""
    assert not wrong, f"{s.id}:\n  " + "\n  ".join(wrong)
    assert any(not st.user and st.expect != "allow" for st in s.steps) != (s.id in misses)


# What the suites' sessions encode data with, and the finding codes their steps name.


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def b64url(s: str) -> str:
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


def hexs(s: str) -> str:
    return s.encode().hex()


# Financial calls are held by the default policy (side_effects: {financial: hold}); sessions that
# test the untrusted-context rule on a payment itself lift that gate.
NO_GATE = Policy(side_effects={})

ORIGIN = "destination.untrusted_origin"
PRIVATE = "payload.private_data"
MD = "markdown.remote_resource"
URLDATA = "url.data_in_query"
BLOB = "payload.encoded_blob"
NOTALLOWED = "destination.not_allowed"
SUSPICIOUS = "destination.suspicious_host"
INVALID = "destination.invalid"
TRIFECTA = "context.untrusted_side_effect"
ROOT = "path.outside_root"
GATE = "side_effect.requires_approval"
HIDDEN = "call.hidden_characters"


# -- agent loops: create_agent with ToolGuardMiddleware, or tools wrapped with Guard.wrap --------------


@dataclass
class Blocks:
    """A tool result given as a list of content blocks."""

    text: str


@dataclass
class Cmd:
    """A tool that returns a LangGraph Command whose update adds the ToolMessage."""

    text: str


@dataclass
class Artifact:
    """A ``content_and_artifact`` tool: the content goes to the model, the artifact does not."""

    text: str
    artifact: Any


@dataclass
class Loop:
    id: str
    # each user turn: the user's message, then the model's turns (each a list of parallel calls)
    turns: list[tuple[str, list[list[tuple[str, dict[str, Any], str]]]]]
    outputs: dict[str, Any]  # tool name -> output (str, Blocks, Cmd, Artifact)
    stopped: dict[str, tuple[str, ...]]  # call id -> codes one of which must be named (empty: any)
    attack: bool
    via: str = "middleware"  # middleware | wrap


def lc_tools(manifests: Any, names: set[str], outputs: dict[str, Any], ids_by_tool: dict[str, list[str]], ran: list[str]) -> list[Any]:
    """LangChain tools named ``names`` with their manifests' schemas, returning ``outputs``
    (text, :class:`Blocks`, :class:`Cmd` or :class:`Artifact`); each run is appended to ``ran``."""
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import StructuredTool
    from langgraph.types import Command

    tools = []
    for name in sorted(names):
        m = manifests.get(name)
        assert m is not None
        out = outputs.get(name, "ok")
        schema = dict(m.arguments)

        def fn(_name: str = name, _out: Any = out, **kwargs: Any) -> Any:
            ran.append(_name)
            if isinstance(_out, Blocks):
                return [{"type": "text", "text": _out.text}]
            if isinstance(_out, Cmd):
                (cid,) = ids_by_tool[_name]
                return Command(update={"messages": [ToolMessage(_out.text, tool_call_id=cid)]})
            if isinstance(_out, Artifact):
                return (_out.text, _out.artifact)
            return _out

        def bound(_fn: Any = fn, **kwargs: Any) -> Any:
            return _fn(**kwargs)

        fmt = "content_and_artifact" if isinstance(out, Artifact) else "content"
        tools.append(StructuredTool.from_function(bound, name=name, description=m.description or name, args_schema=schema, response_format=fmt))
    return tools


def run_loop(lp: Loop, manifests: Any, principal: str) -> tuple[dict[str, Any], list[str]]:
    """Run ``lp`` through ``create_agent`` on a scripted model (the middleware, or tools wrapped
    with ``Guard.wrap``): the ToolMessages by call id, and the tools that ran."""
    import uuid

    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langgraph.checkpoint.memory import InMemorySaver

    from toolguard.integrations.langgraph import ToolGuardMiddleware

    class Scripted(GenericFakeChatModel):
        def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Scripted:
            return self

    script: list[AIMessage] = []
    names: set[str] = set()
    ids_by_tool: dict[str, list[str]] = {}
    for _user, model_turns in lp.turns:
        for calls in model_turns:
            script.append(AIMessage("", tool_calls=[{"name": n, "args": a, "id": cid, "type": "tool_call"} for n, a, cid in calls], id=f"ai-{uuid.uuid4().hex}"))
            for n, _a, cid in calls:
                names.add(n)
                ids_by_tool.setdefault(n, []).append(cid)
        script.append(AIMessage("done", id=f"ai-{uuid.uuid4().hex}"))
    ran: list[str] = []
    tools = lc_tools(manifests, names, lp.outputs, ids_by_tool, ran)
    guard = Guard(manifests)
    model = Scripted(messages=iter(script))
    cfg = {"configurable": {"thread_id": lp.id, "user_id": principal, "toolguard_principal": principal}}
    if lp.via == "wrap":
        agent = create_agent(model, tools=[guard.wrap(t) for t in tools], checkpointer=InMemorySaver())
    else:
        agent = create_agent(model, tools=tools, middleware=[ToolGuardMiddleware(guard)], checkpointer=InMemorySaver())
    msgs: dict[str, Any] = {}
    for user, _ in lp.turns:
        state = agent.invoke({"messages": [HumanMessage(user)]}, cfg)
        msgs.update({m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)})
    return msgs, ran


def was_stopped(m: Any) -> bool:
    """A ToolMessage of a call toolguard denied or held."""
    return m.status == "error" or "toolguard" in str(m.content)[:40]
