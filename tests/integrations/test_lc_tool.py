"""GuardedTool: a guarded LangChain tool behaves like the tool, except where the guard says no."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, Tool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from test_lc_support import (
    SECRET,
    Tools,
    ai,
    make_guard,
    outputs,
    scripted,
    tc,
    tool_messages,
    tool_node_graph,
)

from toolguard import ConfigError, ToolguardError
from toolguard.integrations.langchain import (
    GuardedTool,
    injected_keys,
    model_args,
    model_content,
    with_model_content,
)

ALICE = {"configurable": {"thread_id": "t1", "user_id": "alice"}}
EMAIL_OK = {"to": ["bob@acme.example"], "subject": "hi", "body": "the notes"}
EMAIL_BAD = {"to": "bob@acme.example", "subject": "hi", "body": "the notes"}  # not a list
EMAIL_HOLD = {"to": ["eve@evil.test"], "subject": "hi", "body": "the notes"}


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------------------
# The wrapper is the tool, as far as LangChain and the model can tell

MIRRORED = ("name", "description", "args_schema", "response_format", "return_direct", "handle_tool_error",
            "handle_validation_error", "tags", "metadata", "extras", "verbose")


@pytest.mark.parametrize(
    "name",
    ["send_email", "read_file", "read_file_schema", "upper", "boom", "aping", "search", "set_flag", "final_answer", "leaky"],
)
def test_wrapper_keeps_fields_and_model_schema(name):
    tools = Tools()
    guard, _ = make_guard()
    inner = getattr(tools, name)
    g = guard.wrap(inner)
    assert isinstance(g, GuardedTool) and isinstance(g, BaseTool)
    for f in MIRRORED:
        assert getattr(g, f) == getattr(inner, f), f
    assert g.tool_call_schema is inner.tool_call_schema
    if inner.args_schema is not None:
        assert g.get_input_schema() is inner.get_input_schema()
    assert g.get_input_schema().model_fields.keys() == inner.get_input_schema().model_fields.keys()
    assert g.args == inner.args
    assert convert_to_openai_tool(g) == convert_to_openai_tool(inner)
    assert isinstance(g, Tool) == isinstance(inner, Tool)
    assert g._injected_args_keys == inner._injected_args_keys


def test_return_direct_and_artifact_format_are_kept():
    tools = Tools()
    guard, _ = make_guard()
    assert guard.wrap(tools.final_answer).return_direct is True
    assert guard.wrap(tools.search).response_format == "content_and_artifact"


def test_mirrored_function_has_the_annotations_but_refuses_to_run():
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.read_file)
    assert inspect.signature(g.func) == inspect.signature(tools.read_file.func)
    with pytest.raises(ToolguardError, match="through invoke/ainvoke"):
        g.func("/data/x", "carol", None)
    a = guard.wrap(tools.aping)
    assert a.func is None and inspect.iscoroutinefunction(a.coroutine)
    with pytest.raises(ToolguardError):
        _run(a.coroutine("h"))
    assert tools.ran == []


def test_wrap_rejects_what_is_not_a_tool_or_guard():
    guard, _ = make_guard()
    with pytest.raises(ConfigError, match="expects a LangChain BaseTool"):
        GuardedTool.wrap(lambda x: x, guard)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a toolguard Guard"):
        GuardedTool.wrap(Tools().send_email, object())  # type: ignore[arg-type]


def test_wrapping_twice_with_the_same_guard_checks_once():
    tools = Tools()
    guard, seen = make_guard()
    g = guard.wrap(guard.wrap(tools.send_email))
    assert g.inner is tools.send_email
    g.invoke(tc("send_email", EMAIL_OK, "c1"), ALICE)
    assert len(seen) == 1


# --------------------------------------------------------------------------------------
# Direct invoke


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_direct_invoke_allow_deny_hold(mode):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.send_email)

    def call(args, cid):
        if mode == "sync":
            return g.invoke(tc("send_email", args, cid), ALICE)
        return _run(g.ainvoke(tc("send_email", args, cid), ALICE))

    ok = call(EMAIL_OK, "c1")
    assert isinstance(ok, ToolMessage) and ok.status == "success"
    assert ok.content == "sent to bob@acme.example" and ok.tool_call_id == "c1"

    denied = call(EMAIL_BAD, "c2")
    assert isinstance(denied, ToolMessage) and denied.status == "error" and denied.tool_call_id == "c2"
    assert denied.name == "send_email"
    assert "toolguard denied" in denied.content and "schema.invalid" in denied.content
    assert denied.response_metadata["toolguard"]["verdict"] == "deny"

    held = call(EMAIL_HOLD, "c3")
    assert held.status == "error"
    meta = held.response_metadata["toolguard"]
    assert meta["status"] == "held" and meta["hold_id"] in held.content
    assert "destination.not_allowed" in meta["codes"]
    assert guard.holds.holds[meta["hold_id"]].call.args == EMAIL_HOLD  # type: ignore[attr-defined]

    assert tools.ran == [("send_email", ["bob@acme.example"])]
    assert [r.verdict for r in guard.session("alice", "t1").calls] == ["allow", "deny", "hold"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_tool_call_id_a_block_raises_tool_exception(mode):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.send_email)
    if mode == "sync":
        assert g.invoke(EMAIL_OK) == "sent to bob@acme.example"
        with pytest.raises(ToolException, match="toolguard denied the call to 'send_email'"):
            g.invoke(EMAIL_BAD)
        with pytest.raises(ToolException, match="held the call"):
            g.invoke(EMAIL_HOLD)
    else:
        assert _run(g.ainvoke(EMAIL_OK)) == "sent to bob@acme.example"
        with pytest.raises(ToolException, match="toolguard denied"):
            _run(g.ainvoke(EMAIL_BAD))
    assert tools.names() == ["send_email"]


def test_unknown_tool_is_denied_and_never_runs():
    from langchain_core.tools import tool

    ran = []

    @tool
    def wipe_disk(device: str) -> str:
        """Wipe a disk."""
        ran.append(device)
        return "wiped"

    guard, _ = make_guard()
    out = guard.wrap(wipe_disk).invoke(tc("wipe_disk", {"device": "/dev/sda"}, "w1"))
    assert out.status == "error" and "tool.unknown" in out.content
    assert ran == []


# --------------------------------------------------------------------------------------
# Sessions


@pytest.mark.parametrize(
    ("config", "bind", "expected"),
    [
        ({"configurable": {"thread_id": "t9", "user_id": "bob"}}, {}, ("bob", "t9")),
        ({"configurable": {"thread_id": "t9", "user_id": "bob", "toolguard_principal": "svc"}}, {}, ("svc", "t9")),
        ({"configurable": {"user_id": 42}}, {}, ("42", "default")),
        ({"configurable": {"user_id": "", "thread_id": ""}}, {}, ("anonymous", "default")),
        (None, {}, ("anonymous", "default")),
        ({"configurable": {"thread_id": "t9", "user_id": "bob"}}, {"principal": "carol"}, ("carol", "t9")),
        ({"configurable": {"thread_id": "t9"}}, {"conversation": "fixed"}, ("anonymous", "fixed")),
    ],
    ids=["config", "toolguard-principal-first", "non-string-id", "empty-ids", "no-config", "bound-principal", "bound-conversation"],
)
def test_session_resolution(config, bind, expected):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.send_email, **bind)
    g.invoke(tc("send_email", EMAIL_OK, "c1"), config)
    assert [r.call_id for r in guard.session(*expected).calls] == ["c1"]


def test_explicit_session_binding_wins():
    tools = Tools()
    guard, _ = make_guard()
    session = guard.session("dora", "pinned")
    g = guard.wrap(tools.send_email, session=session)
    g.invoke(tc("send_email", EMAIL_OK, "c1"), ALICE)
    assert [r.call_id for r in session.calls] == ["c1"]
    assert list(guard.session("alice", "t1").calls) == []


# --------------------------------------------------------------------------------------
# ToolNode and create_agent


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_node_runs_allowed_and_blocks_the_rest(mode):
    tools = Tools()
    guard, _ = make_guard()
    graph = tool_node_graph(guard.wrap_all([tools.send_email, tools.search]))
    # (Sibling calls run concurrently; none of their outputs names a destination of another,
    # so the decisions do not depend on which runs first.)
    msg = ai(
        tc("send_email", EMAIL_OK, "ok"),
        tc("send_email", EMAIL_BAD, "bad"),
        tc("send_email", EMAIL_HOLD, "held"),
        tc("search", {"q": "cats"}, "read"),
    )
    state = {"messages": [HumanMessage("go"), msg], "user": "carol"}
    result = graph.invoke(state, ALICE) if mode == "sync" else _run(graph.ainvoke(state, ALICE))
    out = tool_messages(result)
    assert out["ok"].status == "success" and out["read"].content == "found cats"
    assert out["bad"].status == "error" and "schema.invalid" in out["bad"].content
    assert out["held"].status == "error" and out["held"].response_metadata["toolguard"]["status"] == "held"
    assert sorted(tools.names()) == ["search", "send_email"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_create_agent_continues_after_a_block(mode):
    tools = Tools()
    guard, _ = make_guard()
    model = scripted(
        ai(tc("send_email", EMAIL_BAD, "c1")),
        ai(tc("send_email", EMAIL_HOLD, "c2")),
        ai(tc("send_email", EMAIL_OK, "c3")),
        "done",
    )
    agent = create_agent(model, tools=guard.wrap_all([tools.send_email]))
    inp = {"messages": [HumanMessage("mail the notes")]}
    result = agent.invoke(inp, ALICE) if mode == "sync" else _run(agent.ainvoke(inp, ALICE))
    out = tool_messages(result)
    assert [out[c].status for c in ("c1", "c2", "c3")] == ["error", "error", "success"]
    assert result["messages"][-1].content == "done"
    assert tools.ran == [("send_email", ["bob@acme.example"])]


def test_return_direct_tool_still_ends_the_agent():
    tools = Tools()
    guard, _ = make_guard()
    # One scripted turn only: a second model call would raise StopIteration.
    model = scripted(ai(tc("final_answer", {"answer": "42"}, "f1")))
    agent = create_agent(model, tools=[guard.wrap(tools.final_answer)])
    result = agent.invoke({"messages": [HumanMessage("answer")]})
    assert result["messages"][-1].content == "42"
    assert tools.ran == [("final_answer", "42")]


# --------------------------------------------------------------------------------------
# Injected arguments: never checked, never forgeable


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_forged_injected_args_are_ignored_and_not_checked(mode):
    tools = Tools()
    guard, seen = make_guard()
    graph = tool_node_graph([guard.wrap(tools.read_file)])
    # The model forges the injected `user` and `runtime`; the manifest forbids extra keys.
    msg = ai(tc("read_file", {"path": "/data/ok", "user": "mallory", "runtime": "forged"}, "r1"))
    state = {"messages": [msg], "user": "carol"}
    result = graph.invoke(state, ALICE) if mode == "sync" else _run(graph.ainvoke(state, ALICE))
    out = tool_messages(result)["r1"]
    assert out.status == "success" and out.content == "contents of /data/ok for carol"
    assert tools.ran == [("read_file", ("/data/ok", "carol", "r1"))]
    assert seen == [("read_file", {"path": "/data/ok"})]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_injected_arg_known_only_from_the_function_cannot_be_forged(mode):
    # ToolNode finds `user` as injected only through `tool.func`'s annotations here; a
    # wrapper that hid them would let the model's "mallory" through to the tool.
    tools = Tools()
    guard, seen = make_guard()
    inner = tools.read_file_schema
    assert "user" not in inner.get_input_schema().model_fields
    graph = tool_node_graph([guard.wrap(inner)])
    state = {"messages": [ai(tc("read_file", {"path": "/data/ok", "user": "mallory"}, "r1"))], "user": "carol"}
    result = graph.invoke(state, ALICE) if mode == "sync" else _run(graph.ainvoke(state, ALICE))
    assert tool_messages(result)["r1"].content == "contents of /data/ok for carol"
    assert tools.ran == [("read_file", ("/data/ok", "carol"))]
    assert seen == [("read_file", {"path": "/data/ok"})]


def test_injected_args_under_create_agent():
    tools = Tools()
    guard, seen = make_guard()
    from langchain.agents import AgentState

    class State(AgentState):
        user: str

    model = scripted(ai(tc("read_file", {"path": "/data/a", "user": "mallory"}, "r1")), "ok")
    agent = create_agent(model, tools=[guard.wrap(tools.read_file)], state_schema=State)
    agent.invoke({"messages": [HumanMessage("read it")], "user": "carol"}, ALICE)
    assert tools.ran == [("read_file", ("/data/a", "carol", "r1"))]
    assert seen == [("read_file", {"path": "/data/a"})]


def test_a_denied_call_with_injected_args_never_runs():
    tools = Tools()
    guard, seen = make_guard()
    graph = tool_node_graph([guard.wrap(tools.read_file)])
    result = graph.invoke({"messages": [ai(tc("read_file", {"path": "/etc/passwd"}, "r1"))], "user": "carol"})
    assert tool_messages(result)["r1"].status == "error"
    assert tools.ran == [] and seen == [("read_file", {"path": "/etc/passwd"})]


def test_injected_keys_is_a_deny_list():
    tools = Tools()
    assert {"user", "runtime"} <= injected_keys(tools.read_file)
    assert "path" not in injected_keys(tools.read_file)
    # Legacy Tool: nothing model-facing is dropped, whatever key it arrives under.
    assert model_args(tools.upper, {"__arg1": "evil"}) == {"__arg1": "evil"}
    assert model_args(tools.upper, "evil") == {"__arg1": "evil"}
    assert model_args(tools.send_email, {"to": ["x"], "run_manager": object()}) == {"to": ["x"]}
    assert model_args(tools.read_file, "/data/x") == {"path": "/data/x"}


# --------------------------------------------------------------------------------------
# Legacy single-input Tool (__arg1)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_legacy_tool_is_guarded_on_its_single_argument(mode):
    tools = Tools()
    guard, seen = make_guard()
    graph = tool_node_graph([guard.wrap(tools.upper)])
    msg = ai(tc("upper", {"__arg1": "hello"}, "u1"), tc("upper", {"__arg1": "rm -rf /"}, "u2"))
    result = graph.invoke({"messages": [msg]}) if mode == "sync" else _run(graph.ainvoke({"messages": [msg]}))
    out = tool_messages(result)
    # An allow-list built from the legacy schema ({args, config, kwargs}) would check {} and
    # deny "hello" as missing __arg1, or pass "rm -rf /" under a schema without `required`.
    assert out["u1"].status == "success" and out["u1"].content == "HELLO"
    assert out["u2"].status == "error" and "schema.invalid" in out["u2"].content
    assert tools.ran == [("upper", "hello")]
    assert sorted(seen, key=repr) == [("upper", {"__arg1": "hello"}), ("upper", {"__arg1": "rm -rf /"})]


def test_legacy_tool_with_string_input():
    tools = Tools()
    guard, seen = make_guard()
    g = guard.wrap(tools.upper)
    assert g.invoke("hello") == "HELLO"
    assert g.run("abc") == "ABC"  # the pre-Runnable entry point is guarded too
    with pytest.raises(ToolException, match=r"schema\.invalid"):
        g.invoke("EVIL!")
    assert tools.ran == [("upper", "hello"), ("upper", "abc")]
    assert seen[-1] == ("upper", {"__arg1": "EVIL!"})


# --------------------------------------------------------------------------------------
# Errors, async-only tools, artifacts, Commands


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_exception_goes_through_the_inner_handler(mode):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.boom)
    call = tc("boom", {"x": 1}, "b1")
    out = g.invoke(call, ALICE) if mode == "sync" else _run(g.ainvoke(call, ALICE))
    assert isinstance(out, ToolMessage) and out.status == "error" and out.content == "bad x=1"
    # What the model reads is recorded as the (untrusted) output of the call.
    assert outputs(guard, "alice", "t1") == [("boom", False, len("bad x=1"))]


def test_unhandled_tool_exception_propagates_as_without_the_guard():
    tools = Tools()
    guard, _ = make_guard()
    tools.boom.handle_tool_error = False
    g = guard.wrap(tools.boom)
    with pytest.raises(ToolException, match="bad x=2"):
        g.invoke(tc("boom", {"x": 2}, "b2"), ALICE)
    with pytest.raises(ToolException, match="bad x=2"):
        tools.boom.invoke(tc("boom", {"x": 2}, "b2"))
    assert outputs(guard, "alice", "t1") == [("boom", False, len("bad x=2"))]


def test_async_only_tool():
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.aping)
    out = _run(g.ainvoke(tc("aping", {"host": "db1"}, "p1")))
    assert out.status == "success" and out.content == "pong from db1"
    with pytest.raises(NotImplementedError, match="does not support sync invocation"):
        g.invoke(tc("aping", {"host": "db1"}, "p2"))
    with pytest.raises(NotImplementedError):
        tools.aping.invoke(tc("aping", {"host": "db1"}, "p2"))
    denied = _run(g.ainvoke(tc("aping", {"host": "x" * 60}, "p3")))
    assert denied.status == "error"
    assert tools.ran == [("aping", "db1")]
    model = scripted(ai(tc("aping", {"host": "db2"}, "p4")), "ok")
    result = _run(create_agent(model, tools=[g]).ainvoke({"messages": [HumanMessage("ping")]}))
    assert tool_messages(result)["p4"].content == "pong from db2"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_content_and_artifact_keeps_the_artifact_and_records_the_content(mode):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.search)
    call = tc("search", {"q": "cats"}, "s1")
    out = g.invoke(call, ALICE) if mode == "sync" else _run(g.ainvoke(call, ALICE))
    assert out.content == "found cats" and out.artifact == {"hits": 3, "secret": "artifact-only-text"}
    assert outputs(guard, "alice", "t1") == [("search", False, len("found cats"))]


def test_command_returning_tool_records_its_message():
    tools = Tools()
    guard, _ = make_guard()
    graph = tool_node_graph([guard.wrap(tools.set_flag)])
    result = graph.invoke({"messages": [ai(tc("set_flag", {"flag": "on"}, "f1"))]}, ALICE)
    assert result["flag"] == "on" and tool_messages(result)["f1"].content == "flag is on"
    assert outputs(guard, "alice", "t1") == [("set_flag", False, len("flag is on"))]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("text", "text"),
        (ToolMessage("m", tool_call_id="x"), "m"),
        (Command(update={"messages": [ToolMessage("a", tool_call_id="x")], "k": 1}), ["a"]),
        (Command(update=[("messages", [ToolMessage("b", tool_call_id="x")])]), ["b"]),
        (Command(update={"k": 1}), {"k": 1}),
        ([{"type": "text", "text": "t"}], [{"type": "text", "text": "t"}]),
    ],
    ids=["str", "tool-message", "command-dict", "command-tuples", "command-without-messages", "blocks"],
)
def test_model_content(result, expected):
    assert model_content(result) == expected


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_model_sees_the_processed_output_and_the_artifact_is_kept(mode):
    tools = Tools()
    guard, _ = make_guard()
    g = guard.wrap(tools.leaky)
    call = tc("leaky", {"what": "aws"}, "l1")
    out = g.invoke(call, ALICE) if mode == "sync" else _run(g.ainvoke(call, ALICE))
    assert out.status == "success" and out.tool_call_id == "l1"
    assert out.content == "aws key [REDACTED:aws_access_key_id]"
    assert out.artifact == {"raw": SECRET}  # never sent to the model
    assert outputs(guard, "alice", "t1") == [("leaky", False, len(out.content))]
    assert g.invoke({"what": "x"}) == "x key [REDACTED:aws_access_key_id]"


def test_output_processing_reaches_into_a_command():
    tools = Tools()
    guard, _ = make_guard()
    graph = tool_node_graph([guard.wrap(tools.set_flag)])
    result = graph.invoke({"messages": [ai(tc("set_flag", {"flag": SECRET}, "f1"))]}, ALICE)
    assert result["flag"] == SECRET  # graph state is not model input
    assert tool_messages(result)["f1"].content == "flag is [REDACTED:aws_access_key_id]"


_MSG = ToolMessage("old", tool_call_id="x", artifact={"a": 1})


@pytest.mark.parametrize(
    ("result", "content", "check"),
    [
        ("text", "new", lambda r: r == "new"),
        (_MSG, "new", lambda r: r.content == "new" and r.artifact == {"a": 1} and r.tool_call_id == "x"),
        (_MSG, "old", lambda r: r is _MSG),
        (Command(update={"messages": [_MSG], "k": 1}), ["new"], lambda r: r.update["messages"][0].content == "new" and r.update["k"] == 1),
        (Command(update=[("k", 1), ("messages", [_MSG])]), ["new"], lambda r: r.update == [("k", 1), ("messages", [_MSG.model_copy(update={"content": "new"})])]),
        (Command(update={"messages": [_MSG, _MSG]}), "cut", lambda r: [m.content for m in r.update["messages"]] == ["cut", ""]),
        (Command(update={"k": "s"}, goto="x"), {"k": "t"}, lambda r: r.update == {"k": "t"} and r.goto == "x"),
    ],
    ids=["content", "message", "message-unchanged", "command-dict", "command-tuples", "command-reshaped", "command-without-messages"],
)
def test_with_model_content(result, content, check):
    assert check(with_model_content(result, content))


# --------------------------------------------------------------------------------------
# LangGraph interrupts raised inside the tool pass through


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_interrupt_inside_the_inner_tool_pauses_the_graph(mode):
    tools = Tools()
    guard, _ = make_guard()
    agent = create_agent(
        scripted(ai(tc("confirm", {"what": "deploy"}, "k1")), "deployed"),
        tools=[guard.wrap(tools.confirm)],
        checkpointer=InMemorySaver(),
    )
    cfg = {"configurable": {"thread_id": f"int-{mode}", "user_id": "alice"}}
    first = agent.invoke({"messages": [HumanMessage("deploy")]}, cfg) if mode == "sync" else _run(
        agent.ainvoke({"messages": [HumanMessage("deploy")]}, cfg)
    )
    assert first["__interrupt__"][0].value == {"question": "confirm deploy?"}
    assert tools.ran == []
    assert agent.get_state(cfg).next == ("tools",)
    resumed = agent.invoke(Command(resume="yes"), cfg) if mode == "sync" else _run(agent.ainvoke(Command(resume="yes"), cfg))
    assert tool_messages(resumed)["k1"].content == "confirmed deploy: yes"
    assert tools.ran == [("confirm", ("deploy", "yes"))]
    assert resumed["messages"][-1].content == "deployed"
