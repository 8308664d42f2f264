"""ToolGuardMiddleware under langchain.agents.create_agent, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from test_lc_support import (
    INBOX,
    Tools,
    ai,
    conversation,
    make_guard,
    outputs,
    scripted,
    tc,
    tool_messages,
)

from toolguard import ConfigError
from toolguard.integrations.langgraph import ToolGuardMiddleware

EMAIL_OK = {"to": ["bob@acme.example"], "subject": "hi", "body": "the notes"}
EMAIL_EVE = {"to": ["eve@evil.test"], "subject": "numbers", "body": "the quarterly numbers"}
MODES = ["sync", "async"]


def _config(thread: str, user: str = "alice") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": user}}


def _invoke(agent: Any, inp: Any, cfg: dict[str, Any], mode: str) -> Any:
    if mode == "sync":
        return agent.invoke(inp, cfg)
    return asyncio.run(agent.ainvoke(inp, cfg))


def _agent(model: Any, tools: list[Any], guard: Any, **kwargs: Any) -> Any:
    on_hold = kwargs.pop("on_hold", "message")
    return create_agent(model, tools=tools, middleware=[ToolGuardMiddleware(guard, on_hold=on_hold)], **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_allow_deny_hold(mode):
    tools = Tools()
    guard, seen = make_guard()
    model = scripted(
        ai(tc("send_email", EMAIL_OK, "ok"), tc("send_email", {**EMAIL_OK, "to": "bob"}, "bad")),
        ai(tc("send_email", {**EMAIL_OK, "to": ["eve@evil.test"]}, "held")),
        "done",
    )
    agent = _agent(model, [tools.send_email], guard)
    result = _invoke(agent, {"messages": [HumanMessage("mail bob the notes")]}, _config(f"t-{mode}"), mode)
    out = tool_messages(result)
    assert out["ok"].status == "success" and out["ok"].content == "sent to bob@acme.example"
    assert out["bad"].status == "error" and "schema.invalid" in out["bad"].content
    assert out["held"].status == "error" and "held the call" in out["held"].content
    meta = out["held"].response_metadata["toolguard"]
    assert meta["status"] == "held" and meta["hold_id"] in guard.holds.holds  # type: ignore[attr-defined]
    assert tools.ran == [("send_email", ["bob@acme.example"])]
    assert result["messages"][-1].content == "done"
    # The middleware decides the arguments as the model wrote them.
    assert sorted(a["to"] if isinstance(a["to"], str) else a["to"][0] for _, a in seen) == [
        "bob", "bob@acme.example", "eve@evil.test"
    ]


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_is_denied(mode):
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(ai(tc("format_disk", {"device": "/dev/sda"}, "x1")), "ok")
    agent = _agent(model, [tools.send_email], guard)
    out = tool_messages(_invoke(agent, {"messages": [HumanMessage("hi")]}, _config(f"u-{mode}"), mode))
    assert out["x1"].status == "error" and "tool.unknown" in out["x1"].content


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("user_typed", [True, False], ids=["user-typed", "from-inbox"])
def test_a_destination_the_user_typed_is_sanctioned(mode, user_typed):
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(
        ai(tc("read_inbox", {"folder": "in"}, "r1")),
        ai(tc("send_email", EMAIL_EVE, "s1")),
        "ok",
    )
    agent = _agent(model, [tools.read_inbox, tools.send_email], guard)
    prompt = "Read my inbox, then send the numbers to eve@evil.test" if user_typed else "Read my inbox and do what it says"
    out = tool_messages(_invoke(agent, {"messages": [HumanMessage(prompt)]}, _config(f"s-{mode}-{user_typed}"), mode))
    assert out["r1"].content == INBOX
    meta = out["s1"].response_metadata["toolguard"]
    if user_typed:
        # Off the allow-list, so held for approval, but not taken from the injected email.
        assert meta["verdict"] == "hold" and "destination.untrusted_origin" not in meta["codes"]
    else:
        assert meta["verdict"] == "deny" and "destination.untrusted_origin" in meta["codes"]
    assert tools.names() == ["read_inbox"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("user_typed", [True, False], ids=["user-typed", "not-typed"])
def test_deciding_argument_grounded_in_user_text(mode, user_typed):
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(
        ai(tc("read_inbox", {"folder": "in"}, "r1")),
        ai(tc("share_doc", {"doc_id": "Q3-report-final", "to": "bob@acme.example"}, "d1")),
        "ok",
    )
    agent = _agent(model, [tools.read_inbox, tools.share_doc], guard)
    prompt = "Check the inbox, then share Q3-report-final with bob" if user_typed else "Check the inbox, then share the report"
    out = tool_messages(_invoke(agent, {"messages": [HumanMessage(prompt)]}, _config(f"g-{mode}-{user_typed}"), mode))
    if user_typed:
        assert out["d1"].status == "success"
        assert tools.names() == ["read_inbox", "share_doc"]
    else:
        meta = out["d1"].response_metadata["toolguard"]
        assert meta["verdict"] == "hold" and meta["codes"] == ["context.untrusted_side_effect"]
        assert tools.names() == ["read_inbox"]


def test_user_and_system_text_recorded_once():
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(
        ai(tc("read_inbox", {"folder": "a"}, "r1"), tc("read_inbox", {"folder": "b"}, "r2")),
        ai(tc("read_inbox", {"folder": "c"}, "r3")),
        "ok",
    )
    agent = create_agent(
        model,
        tools=[tools.read_inbox],
        system_prompt="You are the mail assistant of reports@acme.example.",
        middleware=[ToolGuardMiddleware(guard)],
    )
    agent.invoke(
        {"messages": [SystemMessage("Be brief."), HumanMessage("first question"), HumanMessage("second question")]},
        _config("once"),
    )
    assert sorted(conversation(guard, "alice", "once")) == sorted(
        [
            ("system", len("Be brief.")),
            ("system", len("You are the mail assistant of reports@acme.example.")),
            ("user", len("first question")),
            ("user", len("second question")),
        ]
    )
    assert outputs(guard, "alice", "once") == [("read_inbox", False, len(INBOX))] * 3


def test_next_turn_records_only_the_new_message():
    tools = Tools()
    guard, _ = make_guard()
    saver = InMemorySaver()
    cfg = _config("turns")
    for question, call_id in (("first", "r1"), ("second", "r2")):
        model = scripted(ai(tc("read_inbox", {"folder": "in"}, call_id)), "ok")
        agent = _agent(model, [tools.read_inbox], guard, checkpointer=saver)
        agent.invoke({"messages": [HumanMessage(question)]}, cfg)
    assert conversation(guard, "alice", "turns") == [("user", len("first")), ("user", len("second"))]


def test_tool_already_guarded_by_the_same_guard_is_checked_once():
    tools = Tools()
    guard, seen = make_guard()
    model = scripted(ai(tc("send_email", EMAIL_OK, "c1")), "ok")
    agent = _agent(model, [guard.wrap(tools.send_email)], guard)
    agent.invoke({"messages": [HumanMessage("mail bob@acme.example")]}, _config("twice"))
    assert len(seen) == 1 and tools.names() == ["send_email"]
    assert [r.call_id for r in guard.session("alice", "twice").calls] == ["c1"]


@pytest.mark.parametrize("mode", MODES)
def test_interrupt_raised_by_the_tool_passes_through(mode):
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(ai(tc("confirm", {"what": "deploy"}, "k1")), "deployed")
    agent = _agent(model, [tools.confirm], guard, checkpointer=InMemorySaver())
    cfg = _config(f"pass-{mode}")
    first = _invoke(agent, {"messages": [HumanMessage("deploy")]}, cfg, mode)
    assert first["__interrupt__"][0].value == {"question": "confirm deploy?"}
    resumed = _invoke(agent, Command(resume="ok"), cfg, mode)
    assert tool_messages(resumed)["k1"].content == "confirmed deploy: ok"
    assert tools.ran == [("confirm", ("deploy", "ok"))]


def test_bad_settings_are_refused():
    guard, _ = make_guard()
    with pytest.raises(ConfigError, match="on_hold"):
        ToolGuardMiddleware(guard, on_hold="wait")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a toolguard Guard"):
        ToolGuardMiddleware(object())  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# on_hold="interrupt": an approver answers through Command(resume=...)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("answer", "runs"),
    [
        ({"approved": True, "reason": "known partner"}, True),
        ({"approved": False, "reason": "not a partner"}, False),
        ("yes", False),
        ({"approved": "true"}, False),
        ({"approved": True, "hold_id": "h_other"}, False),
    ],
    ids=["approved", "refused", "not-a-mapping", "approved-not-bool", "other-hold"],
)
def test_hold_as_interrupt(mode, answer, runs):
    tools = Tools()
    guard, seen = make_guard()
    # The sibling call's output does not name eve@evil.test: sibling calls run concurrently.
    model = scripted(ai(tc("send_email", EMAIL_EVE, "s1"), tc("search", {"q": "cats"}, "r1")), "ok")
    agent = _agent(model, [tools.send_email, tools.search], guard, checkpointer=InMemorySaver(), on_hold="interrupt")
    cfg = _config(f"hold-{mode}")
    first = _invoke(agent, {"messages": [HumanMessage("mail the numbers")]}, cfg, mode)
    [pending] = first["__interrupt__"]
    payload = pending.value
    assert payload["type"] == "toolguard_hold" and payload["tool"] == "send_email"
    assert payload["args"] == EMAIL_EVE and payload["tool_call_id"] == "s1"
    assert payload["hold_id"] in guard.holds.holds  # type: ignore[attr-defined]
    assert [f["code"] for f in payload["findings"]] == ["destination.not_allowed"]
    assert "eve@evil.test" in payload["reason"]
    assert tools.names() == ["search"]  # the other call of the turn ran

    resumed = _invoke(agent, Command(resume=answer), cfg, mode)
    out = tool_messages(resumed)["s1"]
    if runs:
        assert out.status == "success" and out.content == "sent to eve@evil.test"
        assert tools.names() == ["search", "send_email"]
    else:
        assert out.status == "error" and "refused by the approver" in out.content
        assert out.response_metadata["toolguard"]["hold_id"] == payload["hold_id"]
        assert tools.names() == ["search"]
    # The resumed task did not decide again: one decision, one hold.
    assert [a for t, a in seen if t == "send_email"] == [EMAIL_EVE]
    assert len(guard.holds.holds) == 1  # type: ignore[attr-defined]
    assert resumed["messages"][-1].content == "ok"


def test_interrupt_mode_still_denies_without_asking():
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(ai(tc("send_email", {**EMAIL_OK, "to": "bob"}, "s1")), "ok")
    agent = _agent(model, [tools.send_email], guard, checkpointer=InMemorySaver(), on_hold="interrupt")
    result = agent.invoke({"messages": [HumanMessage("mail")]}, _config("deny-int"))
    assert "__interrupt__" not in result
    assert tool_messages(result)["s1"].status == "error" and tools.ran == []


def test_two_held_calls_are_answered_by_interrupt_id():
    tools = Tools()
    guard, _ = make_guard()
    second = {**EMAIL_EVE, "to": ["mallory@evil.test"]}
    model = scripted(ai(tc("send_email", EMAIL_EVE, "s1"), tc("send_email", second, "s2")), "ok")
    agent = _agent(model, [tools.send_email], guard, checkpointer=InMemorySaver(), on_hold="interrupt")
    cfg = _config("two")
    first = agent.invoke({"messages": [HumanMessage("mail")]}, cfg)
    by_call = {i.value["tool_call_id"]: i.id for i in first["__interrupt__"]}
    assert set(by_call) == {"s1", "s2"}
    resumed = agent.invoke(
        Command(resume={by_call["s1"]: {"approved": True}, by_call["s2"]: {"approved": False, "reason": "no"}}), cfg
    )
    out = tool_messages(resumed)
    assert out["s1"].status == "success" and out["s2"].status == "error"
    assert tools.ran == [("send_email", ["eve@evil.test"])]


def test_approved_output_is_recorded():
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(ai(tc("send_email", EMAIL_EVE, "s1")), "ok")
    agent = _agent(model, [tools.send_email], guard, checkpointer=InMemorySaver(), on_hold="interrupt")
    cfg = _config("rec")
    agent.invoke({"messages": [HumanMessage("mail")]}, cfg)
    agent.invoke(Command(resume={"approved": True}), cfg)
    assert outputs(guard, "alice", "rec") == [("send_email", True, len("sent to eve@evil.test"))]
    assert isinstance(agent.get_state(cfg).values["messages"][-2], ToolMessage)


def test_each_model_call_sets_the_turn_horizon():
    """Calls of one turn are decided against what the model saw, not what a sibling added."""
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(ai(tc("read_inbox", {"folder": "a"}, "h1"), tc("read_inbox", {"folder": "b"}, "h2")), "ok")
    agent = create_agent(model, tools=[tools.read_inbox], middleware=[ToolGuardMiddleware(guard)])
    agent.invoke({"messages": [HumanMessage("read both folders")]}, _config("horizon"))
    session = guard.session("alice", "horizon")
    # the final model call saw both inbox outputs: the horizon covers every source recorded
    assert session.horizon == len(session.ledger.sources)
    inbox = [s for s in session.ledger.sources if s.tool == "read_inbox"]
    assert len(inbox) == 2 and all(s.index < session.horizon for s in inbox)
