"""Trace and message loading: every shape accepted, every broken file reported precisely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolguard import Call
from toolguard.errors import ToolguardError
from toolguard.replay import TraceError, load_messages, load_traces, parse_call


def _line(**record) -> str:
    return json.dumps(record)


OK_MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "messages": [', "1:26: invalid JSON: Expecting value"),
        ('{"id": "a", "id": "b", "messages": []}', "1: invalid JSON: duplicate key 'id'"),
        ("[1, 2]", "1: a trace must be a JSON object, not list"),
        (_line(id="a", msgs=[]), "1: unrecognised record; expected one of: trace (a trace needs 'messages')"),
        (_line(id="a", messages=[], extra=1), "1: unknown key 'extra'"),
        (_line(id="", messages=[]), "1 /id: the trace id must be a non-empty string"),
        (_line(id="a", principal=3, messages=[]), "1 /principal: the principal must be a non-empty string"),
        (_line(id="a", messages={}), "1 /messages: 'messages' must be a list, not dict"),
        (_line(id="a", messages=["hi"]), "1 /messages/0: a message must be an object, not str"),
        (_line(id="a", messages=[{"content": "hi"}]), "1 /messages/0: a message needs a 'role' (OpenAI chat format) or a 'type' (LangChain message dump)"),
        (_line(id="a", messages=[{"role": "wizard"}]), "1 /messages/0/role: unknown role 'wizard'"),
        (_line(id="a", messages=[{"type": "robot"}]), "1 /messages/0/type: unknown LangChain message type 'robot'"),
        (_line(id="a", messages=[{"role": "assistant", "tool_calls": {}}]), "1 /messages/0/tool_calls: tool_calls must be a list, not dict"),
        (_line(id="a", messages=[{"role": "assistant", "tool_calls": [{"id": "c", "function": "x"}]}]), "1 /messages/0/tool_calls/0/function: a tool call needs a 'function' object"),
        (_line(id="a", messages=[{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}]), "1 /messages/0/tool_calls/0/type: unsupported tool call type 'custom'"),
        (_line(id="a", messages=[{"role": "tool", "content": "x"}]), "1 /messages/0/tool_call_id: a tool message needs the 'tool_call_id'"),
        (_line(id="a", messages=[{"role": "assistant", "tool_calls": [{"id": 5, "function": {"name": "x", "arguments": "{}"}}]}]), "1 /messages/0/tool_calls/0/id: a tool call id must be a string, not int"),
        (
            _line(id="a", messages=[{"role": "assistant", "tool_calls": [
                {"id": "c", "function": {"name": "x", "arguments": "{}"}}, {"id": "c", "function": {"name": "y", "arguments": "{}"}}]}]),
            "1 /messages: two tool calls share the id 'c'",
        ),
        (_line(id="a", messages=OK_MESSAGES, expect=["c1"]), "1 /expect: 'expect' must map call ids to allow/stop/hold/deny, not be a list"),
        (_line(id="a", messages=OK_MESSAGES, expect={"c1": "allow"}), "1 /expect/c1: the trace makes no call with id 'c1' (its calls: none)"),
        (
            _line(id="a", messages=[{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "x", "arguments": "{}"}}]}], expect={"c1": "maybe"}),
            "1 /expect/c1: expected one of allow, stop, hold, deny, not 'maybe'",
        ),
    ],
    ids=[
        "invalid-json", "duplicate-key", "not-object", "no-messages", "unknown-key", "empty-id", "bad-principal",
        "messages-not-list", "message-not-object", "message-without-shape", "unknown-role", "unknown-langchain-type",
        "tool-calls-not-list", "function-not-object", "custom-call-type", "tool-message-without-id", "call-id-not-string",
        "duplicate-call-id", "expect-not-mapping", "expect-unknown-call", "expect-bad-value",
    ],
)
def test_broken_trace_lines_name_file_and_line(tmp_path, line, message):
    p = tmp_path / "t.jsonl"
    p.write_text(line + "\n")
    with pytest.raises(TraceError) as info:
        load_traces(p)
    assert len(info.value.issues) == 1
    assert str(info.value.issues[0]).startswith(f"{p}:{message}"), str(info.value.issues[0])


def test_every_problem_in_every_file_is_collected(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(_line(id="x", messages=OK_MESSAGES) + "\n\n" + "{oops\n" + _line(id="x", messages=OK_MESSAGES) + "\n")
    b.write_text("not json\n")
    with pytest.raises(TraceError) as info:
        load_traces(a, b, tmp_path / "missing.jsonl")
    assert [str(i) for i in info.value.issues] == [
        f"{a}:3:2: invalid JSON: Expecting property name enclosed in double quotes",
        f"{a}:4 /id: trace id 'x' is already used at {a}:1",
        f"{b}:1:1: invalid JSON: Expecting value",
        f"{tmp_path / 'missing.jsonl'}: no such file or directory",
    ]
    assert isinstance(info.value, ToolguardError)
    assert str(info.value).startswith("4 trace errors:")


def test_directories_are_read_recursively_and_must_hold_traces(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.jsonl").write_text(_line(id="one", messages=OK_MESSAGES) + "\n")
    (tmp_path / "two.jsonl").write_text(_line(id="two", messages=OK_MESSAGES) + "\n")
    assert [t.id for t in load_traces(tmp_path)] == ["one", "two"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TraceError, match=r"holds no \.jsonl trace file"):
        load_traces(empty)


def test_defaults_for_id_and_principal(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(_line(messages=OK_MESSAGES) + "\n")
    (trace,) = load_traces(p)
    assert trace.id == f"{p}:1" and trace.principal == "anonymous" and trace.source == f"{p}:1"


@pytest.mark.parametrize(
    ("data", "call"),
    [
        ({"tool": "t", "args": {"a": 1}, "id": "x"}, Call("t", {"a": 1}, "x")),
        ({"tool": "t"}, Call("t", {}, "")),
        ({"tool": "t", "args": '{"a": 1}'}, Call("t", {"a": 1}, "")),
        ({"id": "x", "type": "function", "function": {"name": "t", "arguments": '{"a": 1}'}}, Call("t", {"a": 1}, "x")),
        ({"function": {"name": "t", "arguments": {"a": 1}}}, Call("t", {"a": 1}, "")),
        ({"function": {"name": "t", "arguments": "{bad"}}, Call("t", "{bad", "")),
        ({"function": {"arguments": "{}"}}, Call("", {}, "")),
        ({"name": "t", "args": {"a": 1}, "id": "x", "type": "tool_call"}, Call("t", {"a": 1}, "x")),
    ],
    ids=["toolguard", "toolguard-no-args", "toolguard-string-args", "openai", "openai-dict-arguments", "openai-bad-json", "openai-no-name", "langchain"],
)
def test_parse_call_shapes(data, call):
    assert parse_call(data) == call


def test_parse_call_rejects_unknown_shapes():
    with pytest.raises(TraceError) as info:
        parse_call({"arguments": {}}, file="c.json")
    assert str(info.value.issues[0]).startswith("c.json: a call needs 'tool' and 'args'")


def test_load_messages_accepts_list_trace_and_jsonl(tmp_path):
    msgs = [{"role": "system", "content": "s"}, {"type": "human", "content": "u"}]
    as_list, as_trace, as_lines = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.jsonl"
    as_list.write_text(json.dumps(msgs))
    as_trace.write_text(json.dumps({"id": "t", "messages": msgs}))
    as_lines.write_text("\n".join(map(json.dumps, msgs)) + "\n")
    for p in (as_list, as_trace, as_lines):
        assert [m.role for m in load_messages(p)] == ["system", "user"], p
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"role": "user"}, {"role": "tool"}]))
    with pytest.raises(TraceError) as info:
        load_messages(bad)
    assert str(info.value.issues[0]) == f"{bad} /1/tool_call_id: a tool message needs the 'tool_call_id' of the call it answers"
    with pytest.raises(TraceError, match="no such file"):
        load_messages(tmp_path / "missing.json")


def test_non_utf8_file_is_an_error(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(TraceError, match="not UTF-8 text"):
        load_traces(p)


def test_corpus_files_parse(tmp_path):
    corpus = Path(__file__).parent.parent / "corpus" / "traces"
    traces = load_traces(corpus)
    assert len(traces) >= 9
