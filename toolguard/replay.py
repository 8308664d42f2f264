"""Replay recorded agent traces through the guard: what would have been allowed, held or denied.

Replay is how a manifest set is tested before it meets production. A trace file is JSON
Lines, one conversation per line::

    {"id": "t1", "principal": "alice",
     "messages": [...OpenAI chat messages or LangChain message dumps...],
     "expect": {"call_1": "allow", "call_2": "stop"}}

Messages are played in order against a fresh :class:`~toolguard.Guard` per trace, exactly as
the guard would have seen them live, and nothing is executed:

* ``system``/``developer`` and ``user`` messages become trusted text in the session;
* every tool call of an ``assistant`` message is decided in order with
  :meth:`Guard.decide`; an allowed call's arguments are recorded as egress (as
  :meth:`Guard.run` does before running the tool). Held calls are not submitted anywhere;
* a ``tool`` message is recorded as the output of the call it answers, with the trust and
  labels of that tool's manifest. It is recorded even when the replayed verdict stopped the
  call: the recorded model saw that output, and everything it did next depends on it, so
  leaving it out would let later calls look cleaner than they were.

``arguments`` that are not a JSON object (not valid JSON, or a JSON object with a duplicate
key, which two parsers may read differently) are decided as the raw string, so the core
denies them as ``call.malformed``; replay never crashes on what a model wrote. Broken *trace
files* (a line that is not JSON, a message of unknown shape, an expectation naming a call the
trace never makes) are errors: :func:`load_traces` raises :class:`TraceError` listing every
problem with its file and line.

``expect`` maps a call id to ``allow``, ``stop`` (hold or deny), ``hold`` or ``deny``. Calls
without an id (legacy ``function_call`` messages, LangChain calls with ``id: null``) are
named ``call-<n>``, n counting the trace's calls from 1.

Input shapes are a small registry (:data:`TRACE_FORMATS` for whole lines,
:data:`MESSAGE_FORMATS` for single messages); a new shape registers itself there.

Usage::

    traces = load_traces("tests/corpus/traces/")
    manifests, policy = load_manifests("manifests/"), load_policy("manifests/policy.yaml")
    report = replay(traces, lambda: Guard(manifests, policy=policy))
    assert not report.mismatches, report.summary()
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ToolguardError
from .findings import Call, Decision
from .guard import Guard
from .session import CallRecord, Session

__all__ = [
    "EXPECTATIONS",
    "MESSAGE_FORMATS",
    "TRACE_FORMATS",
    "Expectation",
    "Message",
    "MessageFormat",
    "Played",
    "PolicyDiff",
    "ReplayReport",
    "ReplayedCall",
    "Trace",
    "TraceError",
    "TraceFormat",
    "TraceIssue",
    "VerdictChange",
    "compare",
    "load_messages",
    "load_traces",
    "parse_call",
    "play",
    "replay",
]

Expectation = Literal["allow", "stop", "hold", "deny"]
EXPECTATIONS: tuple[str, ...] = ("allow", "stop", "hold", "deny")
Role = Literal["system", "user", "assistant", "tool"]


# --------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class TraceIssue:
    """One problem in a trace file: where (file, 1-based line and column) and what."""

    file: str
    line: int | None
    message: str
    pointer: str = ""
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where} {self.pointer}: {self.message}" if self.pointer else f"{where}: {self.message}"


class TraceError(ToolguardError):
    """Raised when trace or message files cannot be read; lists every problem found."""

    def __init__(self, issues: Sequence[TraceIssue]) -> None:
        self.issues: tuple[TraceIssue, ...] = tuple(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.issues)
        return "\n".join([f"{n} trace error{'s' if n != 1 else ''}:", *(f"  {i}" for i in self.issues)])

    def __repr__(self) -> str:
        return f"TraceError(issues={list(self.issues)!r})"


class _Bad(Exception):
    """A shape problem inside one record, raised while parsing and turned into a TraceIssue."""

    def __init__(self, pointer: str, message: str) -> None:
        self.pointer = pointer
        self.message = message
        super().__init__(f"{pointer}: {message}")


# --------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Message:
    """One message of a conversation, in the shape replay needs.

    ``calls`` holds an assistant message's tool calls; ``call_id`` names the call a tool
    message answers (None for a legacy ``function`` message, matched by ``name``).
    """

    role: Role
    content: Any = None
    calls: tuple[Call, ...] = ()
    call_id: str | None = None
    name: str | None = None
    #: Remarks made while parsing (for example an arguments string that is not JSON).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trace:
    """One recorded conversation, its principal and what its author expects of each call."""

    id: str
    principal: str
    messages: tuple[Message, ...]
    expect: Mapping[str, Expectation] = field(default_factory=dict)
    source: str = ""

    @property
    def calls(self) -> tuple[Call, ...]:
        return tuple(c for m in self.messages for c in m.calls)


@dataclass(frozen=True)
class Played:
    """One call decided during :func:`play`."""

    call: Call
    decision: Decision


@dataclass(frozen=True)
class ReplayedCall:
    """One call of one trace, its replayed decision and the trace's expectation for it."""

    trace: str
    call: str
    tool: str
    decision: Decision
    expected: Expectation | None = None
    source: str = ""

    @property
    def verdict(self) -> str:
        return self.decision.verdict

    @property
    def codes(self) -> tuple[str, ...]:
        return self.decision.codes

    @property
    def ok(self) -> bool | None:
        """Whether the verdict meets the expectation; None when there is none."""
        if self.expected is None:
            return None
        if self.expected == "stop":
            return self.verdict != "allow"
        return self.verdict == self.expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "call": self.call,
            "tool": self.tool,
            "verdict": self.verdict,
            "codes": list(self.codes),
            "reason": self.decision.reason,
            "expected": self.expected,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class ReplayReport:
    """Every replayed call, in trace order, and notes about odd but legal input."""

    calls: tuple[ReplayedCall, ...]
    notes: tuple[str, ...] = ()
    traces: tuple[str, ...] = ()

    @property
    def mismatches(self) -> tuple[ReplayedCall, ...]:
        return tuple(c for c in self.calls if c.ok is False)

    def by_trace(self) -> dict[str, list[ReplayedCall]]:
        out: dict[str, list[ReplayedCall]] = {t: [] for t in self.traces}
        for c in self.calls:
            out.setdefault(c.trace, []).append(c)
        return out

    def summary(self) -> dict[str, Any]:
        """Counts of verdicts, expectations met, and every mismatch."""
        verdicts = Counter(c.verdict for c in self.calls)
        stop = [c for c in self.calls if c.expected is not None and c.expected != "allow"]
        allow = [c for c in self.calls if c.expected == "allow"]
        return {
            "traces": len(self.traces),
            "calls": len(self.calls),
            "allowed": verdicts["allow"],
            "held": verdicts["hold"],
            "denied": verdicts["deny"],
            "expectations": {
                "stop": {"expected": len(stop), "met": sum(1 for c in stop if c.ok)},
                "allow": {"expected": len(allow), "met": sum(1 for c in allow if c.ok)},
            },
            "mismatches": [
                {"trace": c.trace, "call": c.call, "tool": c.tool, "expected": c.expected, "verdict": c.verdict, "codes": list(c.codes)}
                for c in self.mismatches
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [c.to_dict() for c in self.calls], "summary": self.summary(), "notes": list(self.notes)}


@dataclass(frozen=True)
class VerdictChange:
    """A call whose verdict differs between the old and the new manifest/policy set."""

    old: ReplayedCall
    new: ReplayedCall

    @property
    def transition(self) -> str:
        return f"{self.old.verdict}->{self.new.verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace": self.new.trace,
            "call": self.new.call,
            "tool": self.new.tool,
            "transition": self.transition,
            "old": {"verdict": self.old.verdict, "codes": list(self.old.codes), "reason": self.old.decision.reason},
            "new": {"verdict": self.new.verdict, "codes": list(self.new.codes), "reason": self.new.decision.reason},
        }


@dataclass(frozen=True)
class PolicyDiff:
    """The same traces replayed under an old and a new set; ``changes`` lists verdict changes."""

    old: ReplayReport
    new: ReplayReport
    changes: tuple[VerdictChange, ...]

    def transitions(self) -> dict[str, int]:
        """How many calls changed, by ``old->new`` verdict, sorted by transition."""
        return dict(sorted(Counter(c.transition for c in self.changes).items()))

    def to_dict(self) -> dict[str, Any]:
        out = self.new.to_dict()
        out["summary"]["changes"] = self.transitions()
        out["changes"] = [c.to_dict() for c in self.changes]
        return out


# --------------------------------------------------------------------------------------
# Parsing calls and messages


def _loads_strict(text: str) -> Any:
    """``json.loads`` that refuses duplicate object keys (two parsers may pick different ones)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"duplicate key {k!r}")
            out[k] = v
        return out

    return json.loads(text, object_pairs_hook=pairs)


def _arguments(raw: Any, where: str) -> tuple[Any, tuple[str, ...]]:
    """Arguments as the model sent them: a JSON string is parsed; anything unparsable stays raw."""
    if not isinstance(raw, str):
        return raw, ()
    try:
        return _loads_strict(raw), ()
    except ValueError as exc:  # JSONDecodeError is a ValueError, and so is a duplicate key
        detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return raw, (f"{where}: the arguments are not a JSON object ({detail}); decided as the raw string",)


def _str_or_none(value: Any, pointer: str, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _Bad(pointer, f"{what} must be a string, not {type(value).__name__}")


def _tool_name(value: Any, pointer: str) -> str:
    """The tool name; a missing one is left empty so the core denies the call as malformed."""
    name = _str_or_none(value, pointer, "the tool name")
    return name or ""


def _openai_call(item: Any, pointer: str) -> tuple[Call, tuple[str, ...]]:
    if not isinstance(item, Mapping):
        raise _Bad(pointer, f"a tool call must be an object, not {type(item).__name__}")
    kind = item.get("type", "function")
    if kind != "function":
        raise _Bad(pointer + "/type", f"unsupported tool call type {kind!r} (expected 'function')")
    fn = item.get("function")
    if not isinstance(fn, Mapping):
        raise _Bad(pointer + "/function", "a tool call needs a 'function' object with 'name' and 'arguments'")
    call_id = _str_or_none(item.get("id"), pointer + "/id", "a tool call id") or ""
    args, notes = _arguments(fn.get("arguments", "{}"), f"call {call_id or '?'}")
    return Call(_tool_name(fn.get("name"), pointer + "/function/name"), args, call_id), notes


def _langchain_call(item: Any, pointer: str, *, invalid: bool = False) -> tuple[Call, tuple[str, ...]]:
    """A LangChain ``ToolCall`` (``args`` a dict) or ``InvalidToolCall`` (``args`` a raw string)."""
    if not isinstance(item, Mapping):
        raise _Bad(pointer, f"a tool call must be an object, not {type(item).__name__}")
    call_id = _str_or_none(item.get("id"), pointer + "/id", "a tool call id") or ""
    name = _tool_name(item.get("name"), pointer + "/name")
    if not invalid:
        return Call(name, item.get("args", {}), call_id), ()
    args, notes = _arguments(item.get("args"), f"call {call_id or '?'}")
    reason = item.get("error") or "no reason given"
    return Call(name, args, call_id), (*notes, f"call {call_id or '?'}: LangChain could not parse this call ({reason})")


def parse_call(data: Any, *, file: str = "<call>") -> Call:
    """A single call from a file: ``{"tool", "args", "id"}``, OpenAI or LangChain shape.

    Accepted shapes: ``{"tool": ..., "args": {...}, "id": ...}``; an OpenAI tool call
    ``{"id", "type": "function", "function": {"name", "arguments": "<JSON string>"}}``; a
    LangChain ``ToolCall`` ``{"name", "args", "id"}``. Raises :class:`TraceError` (naming
    ``file``) for anything else. Arguments that are not a JSON object are kept raw, so the
    core denies them as ``call.malformed``.
    """
    try:
        if not isinstance(data, Mapping):
            raise _Bad("", f"a call must be a JSON object, not {type(data).__name__}")
        if "function" in data:
            return _openai_call(data, "")[0]
        if "tool" in data:
            call_id = _str_or_none(data.get("id"), "/id", "the call id") or ""
            args, _ = _arguments(data.get("args", {}), "call")
            return Call(_tool_name(data.get("tool"), "/tool"), args, call_id)
        if "name" in data:
            return _langchain_call(data, "")[0]
        raise _Bad("", "a call needs 'tool' and 'args' (or an OpenAI 'function', or a LangChain 'name' and 'args')")
    except _Bad as exc:
        raise TraceError([TraceIssue(file, None, exc.message, exc.pointer)]) from None


def _openai_message(data: Mapping[str, Any], pointer: str) -> Message:
    role = data.get("role")
    content = data.get("content")
    if role in ("system", "developer"):
        return Message("system", content)
    if role == "user":
        return Message("user", content)
    if role == "assistant":
        calls: list[Call] = []
        notes: list[str] = []
        raw_calls = data.get("tool_calls")
        if raw_calls is not None:
            if not isinstance(raw_calls, list):
                raise _Bad(pointer + "/tool_calls", f"tool_calls must be a list, not {type(raw_calls).__name__}")
            for i, item in enumerate(raw_calls):
                call, n = _openai_call(item, f"{pointer}/tool_calls/{i}")
                calls.append(call)
                notes.extend(n)
        legacy = data.get("function_call")
        if legacy is not None:
            call, n = _openai_call({"type": "function", "function": legacy}, pointer + "/function_call")
            calls.append(call)
            notes.extend(n)
        return Message("assistant", content, tuple(calls), notes=tuple(notes))
    if role == "tool":
        call_id = data.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _Bad(pointer + "/tool_call_id", "a tool message needs the 'tool_call_id' of the call it answers")
        return Message("tool", content, call_id=call_id, name=_str_or_none(data.get("name"), pointer + "/name", "the tool name"))
    if role == "function":
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise _Bad(pointer + "/name", "a function message needs the 'name' of the function it answers")
        return Message("tool", content, name=name)
    raise _Bad(pointer + "/role", f"unknown role {role!r}; expected system, developer, user, assistant, tool or function")


def _langchain_message(data: Mapping[str, Any], pointer: str) -> Message:
    kind = data.get("type")
    body: Mapping[str, Any] = data
    if isinstance(data.get("data"), Mapping):  # messages_to_dict: {"type": ..., "data": {...}}
        body = data["data"]
        pointer += "/data"
    content = body.get("content")
    if kind in ("system", "developer"):
        return Message("system", content)
    if kind == "human":
        return Message("user", content)
    if kind in ("ai", "AIMessageChunk"):
        calls: list[Call] = []
        notes: list[str] = []
        for key, invalid in (("tool_calls", False), ("invalid_tool_calls", True)):
            items = body.get(key) or []
            if not isinstance(items, list):
                raise _Bad(f"{pointer}/{key}", f"{key} must be a list, not {type(items).__name__}")
            for i, item in enumerate(items):
                call, n = _langchain_call(item, f"{pointer}/{key}/{i}", invalid=invalid)
                calls.append(call)
                notes.extend(n)
        return Message("assistant", content, tuple(calls), notes=tuple(notes))
    if kind == "tool":
        call_id = body.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _Bad(pointer + "/tool_call_id", "a tool message needs the 'tool_call_id' of the call it answers")
        return Message("tool", content, call_id=call_id, name=_str_or_none(body.get("name"), pointer + "/name", "the tool name"))
    raise _Bad(pointer + "/type", f"unknown LangChain message type {kind!r}; expected system, human, ai or tool")


@dataclass(frozen=True)
class MessageFormat:
    """A message shape: ``matches`` recognises a message, ``parse`` turns it into a :class:`Message`.

    ``parse`` raises ``_Bad(pointer, message)`` on a broken message; the loader turns it into
    a :class:`TraceIssue` with the file and line.
    """

    name: str
    matches: Callable[[Mapping[str, Any]], bool]
    parse: Callable[[Mapping[str, Any], str], Message]


#: Message shapes, tried in order; the first that matches parses the message.
MESSAGE_FORMATS: dict[str, MessageFormat] = {
    "openai": MessageFormat("openai", lambda d: "role" in d, _openai_message),
    "langchain": MessageFormat("langchain", lambda d: "type" in d, _langchain_message),
}


def _parse_message(data: Any, pointer: str = "") -> Message:
    """One message in any registered shape; raises ``_Bad`` (internal) on a broken message."""
    if not isinstance(data, Mapping):
        raise _Bad(pointer, f"a message must be an object, not {type(data).__name__}")
    for fmt in MESSAGE_FORMATS.values():
        if fmt.matches(data):
            return fmt.parse(data, pointer)
    raise _Bad(pointer, "a message needs a 'role' (OpenAI chat format) or a 'type' (LangChain message dump)")


def _messages(raw: Any, pointer: str) -> tuple[Message, ...]:
    if not isinstance(raw, list):
        raise _Bad(pointer, f"'messages' must be a list, not {type(raw).__name__}")
    return tuple(_parse_message(m, f"{pointer}/{i}") for i, m in enumerate(raw))


def _name_calls(messages: tuple[Message, ...], pointer: str) -> tuple[Message, ...]:
    """Give id-less calls the id ``call-<n>``; refuse two calls with one id."""
    seen: set[str] = set()
    n = 0
    out = []
    for msg in messages:
        calls = []
        for c in msg.calls:
            n += 1
            if not c.id:
                c = Call(c.tool, c.args, f"call-{n}")
            if c.id in seen:
                raise _Bad(pointer, f"two tool calls share the id {c.id!r}; expectations and outputs could not tell them apart")
            seen.add(c.id)
            calls.append(c)
        out.append(Message(msg.role, msg.content, tuple(calls), msg.call_id, msg.name, msg.notes) if msg.calls else msg)
    return tuple(out)


def _trace_record(record: Mapping[str, Any], source: str) -> Trace:
    unknown = sorted(set(record) - {"id", "principal", "messages", "expect", "description", "tags"})
    if unknown:
        raise _Bad("", f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} (a trace has id, principal, messages, expect, description, tags)")
    trace_id = record.get("id", source)
    if not isinstance(trace_id, str) or not trace_id:
        raise _Bad("/id", "the trace id must be a non-empty string")
    principal = record.get("principal", "anonymous")
    if not isinstance(principal, str) or not principal:
        raise _Bad("/principal", "the principal must be a non-empty string")
    if "messages" not in record:
        raise _Bad("", "a trace needs 'messages'")
    messages = _name_calls(_messages(record["messages"], "/messages"), "/messages")
    expect_raw = record.get("expect", {})
    if not isinstance(expect_raw, Mapping):
        raise _Bad("/expect", f"'expect' must map call ids to allow/stop/hold/deny, not be a {type(expect_raw).__name__}")
    ids = {c.id for m in messages for c in m.calls}
    expect: dict[str, Expectation] = {}
    for call_id, want in expect_raw.items():
        if want not in EXPECTATIONS:
            raise _Bad(f"/expect/{call_id}", f"expected one of allow, stop, hold, deny, not {want!r}")
        if call_id not in ids:
            known = ", ".join(sorted(ids)) or "none"
            raise _Bad(f"/expect/{call_id}", f"the trace makes no call with id {call_id!r} (its calls: {known})")
        expect[call_id] = want
    return Trace(trace_id, principal, messages, expect, source)


@dataclass(frozen=True)
class TraceFormat:
    """A line shape of a trace file: ``matches`` recognises a record, ``parse`` builds the trace."""

    name: str
    matches: Callable[[Mapping[str, Any]], bool]
    parse: Callable[[Mapping[str, Any], str], Trace]


#: Line shapes of trace files, tried in order. The audit log's decision records will be
#: registered here by the audit layer.
TRACE_FORMATS: dict[str, TraceFormat] = {
    "trace": TraceFormat("trace", lambda r: "messages" in r, _trace_record),
}


def _json_lines(file: Path, issues: list[TraceIssue]) -> Iterator[tuple[int, Any]]:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        issues.append(TraceIssue(str(file), None, f"not UTF-8 text: {exc}"))
        return
    except OSError as exc:
        issues.append(TraceIssue(str(file), None, f"cannot read: {exc.strerror or exc}"))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, _loads_strict(line)
        except json.JSONDecodeError as exc:
            issues.append(TraceIssue(str(file), n, f"invalid JSON: {exc.msg}", column=exc.colno))
        except ValueError as exc:
            issues.append(TraceIssue(str(file), n, f"invalid JSON: {exc}"))


def _trace_files(path: Path, issues: list[TraceIssue]) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json"))
        if not files:
            issues.append(TraceIssue(str(path), None, "the directory holds no .jsonl trace file"))
        return files
    if not path.exists():
        issues.append(TraceIssue(str(path), None, "no such file or directory"))
        return []
    return [path]


def load_traces(*paths: str | Path) -> list[Trace]:
    """Load every trace from JSONL files and directories (``*.jsonl``/``*.json``, recursively).

    Every problem in every file is collected first; then one :class:`TraceError` lists them.
    """
    issues: list[TraceIssue] = []
    traces: list[Trace] = []
    first: dict[str, str] = {}
    audit: dict[Path, list[tuple[int, Mapping[str, Any]]]] = {}
    if not paths:
        raise TraceError([TraceIssue("<none>", None, "no trace file given")])
    for path in map(Path, paths):
        for file in _trace_files(path, issues):
            for n, record in _json_lines(file, issues):
                source = f"{file}:{n}"
                if not isinstance(record, Mapping):
                    issues.append(TraceIssue(str(file), n, f"a trace must be a JSON object, not {type(record).__name__}"))
                    continue
                if _is_audit_record(record):
                    audit.setdefault(file, []).append((n, record))
                    continue
                fmt = next((f for f in TRACE_FORMATS.values() if f.matches(record)), None)
                if fmt is None:
                    issues.append(TraceIssue(str(file), n, f"unrecognised record; expected one of: {', '.join(TRACE_FORMATS)} (a trace needs 'messages')"))
                    continue
                try:
                    trace = fmt.parse(record, source)
                except _Bad as exc:
                    issues.append(TraceIssue(str(file), n, exc.message, exc.pointer))
                    continue
                if trace.id in first:
                    issues.append(TraceIssue(str(file), n, f"trace id {trace.id!r} is already used at {first[trace.id]}", "/id"))
                    continue
                first[trace.id] = source
                traces.append(trace)
    for file, records in audit.items():
        for trace in _audit_traces(file, records, issues):
            if trace.id in first:
                issues.append(TraceIssue(str(file), None, f"trace id {trace.id!r} is already used at {first[trace.id]}"))
                continue
            first[trace.id] = trace.source
            traces.append(trace)
    if issues:
        raise TraceError(issues)
    return traces


def _is_audit_record(record: Mapping[str, Any]) -> bool:
    """A line of toolguard's audit log (hash-chained: it has ``seq``, ``prev`` and ``hash``)."""
    return "seq" in record and "prev" in record and "hash" in record and "messages" not in record


def _audit_traces(file: Path, records: list[tuple[int, Mapping[str, Any]]], issues: list[TraceIssue]) -> list[Trace]:
    """Traces from audit-log decision records: one per (principal, session), calls in log order.

    Each call's expectation is the verdict the log recorded (allow, or stop for hold/deny),
    so replaying under new manifests lists every call that would now decide differently.
    Records logged without their arguments (``audit.args: masked`` or ``hash``) cannot be
    re-decided and are left out; if no record can be, that is an error. The log does not
    carry the conversation (the user's words, tool outputs): provenance checks see an empty
    session (docs/audit.md).
    """
    sessions: dict[tuple[str, str], list[tuple[int, Mapping[str, Any]]]] = {}
    masked = 0
    for n, rec in records:
        if rec.get("type", "decision") != "decision":
            continue  # approval, output and cut-off events carry no call to decide
        if rec.get("input_mode") != "full" or not isinstance(rec.get("input"), Mapping):
            masked += 1
            continue
        key = (str(rec.get("principal") or "anonymous"), str(rec.get("session") or "default"))
        sessions.setdefault(key, []).append((n, rec))
    if not sessions:
        why = f" ({masked} decision records were logged without their arguments: set audit.args: full)" if masked else ""
        issues.append(TraceIssue(str(file), None, f"the audit log holds no decision that can be re-decided{why}"))
        return []
    out: list[Trace] = []
    for (principal, session), recs in sessions.items():
        messages: list[dict[str, Any]] = []
        expect: dict[str, str] = {}
        seen: dict[str, int] = {}
        for n, rec in recs:
            call_id = str(rec.get("call_id") or f"line{n}")
            if call_id in seen:  # ids are unique per model turn, not per session
                seen[call_id] += 1
                call_id = f"{call_id}#{seen[call_id]}"
            else:
                seen[call_id] = 1
            verdict = (rec.get("result") or {}).get("verdict") if isinstance(rec.get("result"), Mapping) else None
            arguments = json.dumps(rec["input"], ensure_ascii=False)
            messages.append({"role": "assistant", "content": "", "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": str(rec.get("tool", "")), "arguments": arguments}}
            ]})
            if verdict in ("allow", "hold", "deny"):
                expect[call_id] = "allow" if verdict == "allow" else "stop"
        record = {"id": f"audit:{principal}/{session}", "principal": principal, "messages": messages, "expect": expect}
        try:
            out.append(_trace_record(record, f"{file}:{recs[0][0]}"))
        except _Bad as exc:
            issues.append(TraceIssue(str(file), recs[0][0], exc.message, exc.pointer))
    return out


def load_messages(path: str | Path) -> list[Message]:
    """Messages from a file: a JSON list, a trace object (its ``messages``), or one message per line.

    Used to build the session state before explaining one call (``toolguard explain --context``).
    """
    file = Path(path)
    issues: list[TraceIssue] = []
    if not file.is_file():
        raise TraceError([TraceIssue(str(file), None, "no such file")])
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError([TraceIssue(str(file), None, f"cannot read: {exc}")]) from None
    try:
        whole = _loads_strict(text)
    except ValueError:
        whole = None
        items: list[tuple[int | None, str, Any]] = [(n, "", rec) for n, rec in _json_lines(file, issues)]
    else:
        if isinstance(whole, Mapping) and "messages" in whole:
            whole = whole["messages"]
            if not isinstance(whole, list):
                raise TraceError([TraceIssue(str(file), None, "'messages' must be a list", "/messages")])
            items = [(None, f"/messages/{i}", m) for i, m in enumerate(whole)]
        elif isinstance(whole, list):
            items = [(None, f"/{i}", m) for i, m in enumerate(whole)]
        else:
            items = [(1, "", whole)]
    out: list[Message] = []
    for line, pointer, data in items:
        try:
            out.append(_parse_message(data, pointer))
        except _Bad as exc:
            issues.append(TraceIssue(str(file), line, exc.message, exc.pointer))
    if issues:
        raise TraceError(issues)
    try:
        named = _name_calls(tuple(out), "")
    except _Bad as exc:
        raise TraceError([TraceIssue(str(file), None, exc.message)]) from None
    return list(named)


# --------------------------------------------------------------------------------------
# Playing


def play(guard: Guard, session: Session, messages: Iterable[Message], *, notes: list[str] | None = None) -> list[Played]:
    """Play messages into ``session`` as the guard would have seen them live; execute nothing.

    Returns every call decided, in order. Odd but legal input (a tool message answering no
    call, an unparsable arguments string) is described in ``notes`` when a list is given.
    """
    notes = notes if notes is not None else []
    played: list[Played] = []
    calls: dict[str, Call] = {}
    latest_by_name: dict[str, Call] = {}
    for msg in messages:
        notes.extend(msg.notes)
        if msg.role == "system":
            session.add_system_text(msg.content)
        elif msg.role == "user":
            session.add_user_text(msg.content)
        elif msg.role == "assistant":
            # The assistant's own text is not a source: it can only repeat what the session
            # already recorded (the user's words, tool outputs).
            for call in msg.calls:
                decision = guard.decide(call, session)
                session.record_call(CallRecord(call.id, str(call.tool), decision.verdict, decision.codes))
                if decision.verdict == "allow":
                    guard.record_egress(session, call)
                calls[call.id] = call
                latest_by_name[call.tool] = call
                played.append(Played(call, decision))
        else:  # tool output
            answered = calls.get(msg.call_id) if msg.call_id is not None else latest_by_name.get(msg.name or "")
            if answered is not None:
                guard.record_output(session, answered, msg.content)
            else:
                # Output no call asked for: it still entered the model's context. Record it
                # as untrusted, with no manifest to vouch for it.
                what = f"call {msg.call_id!r}" if msg.call_id is not None else f"function {msg.name!r}"
                notes.append(f"a tool message answers {what}, which no earlier call made; recorded as untrusted output")
                session.add_tool_output(
                    call_id=msg.call_id or f"unmatched:{msg.name}", tool=msg.name or "unknown", text=msg.content, trusted=False
                )
    return played


def replay(traces: Iterable[Trace], guard_factory: Callable[[], Guard]) -> ReplayReport:
    """Replay each trace against a fresh guard from ``guard_factory`` and collect every decision.

    A fresh guard per trace keeps traces independent (sessions, counters). Build the factory
    around manifests and a policy loaded once: ``lambda: Guard(manifests, policy=policy)``.
    """
    out: list[ReplayedCall] = []
    notes: list[str] = []
    ids: list[str] = []
    for trace in traces:
        ids.append(trace.id)
        guard = guard_factory()
        session = guard.session(trace.principal, trace.id)
        trace_notes: list[str] = []
        for p in play(guard, session, trace.messages, notes=trace_notes):
            out.append(
                ReplayedCall(
                    trace=trace.id,
                    call=p.call.id,
                    tool=p.call.tool if isinstance(p.call.tool, str) else repr(p.call.tool),
                    decision=p.decision,
                    expected=trace.expect.get(p.call.id),
                    source=trace.source,
                )
            )
        notes.extend(f"{trace.id} ({trace.source}): {n}" for n in trace_notes)
    return ReplayReport(tuple(out), tuple(notes), tuple(ids))


def compare(traces: Sequence[Trace], old_factory: Callable[[], Guard], new_factory: Callable[[], Guard]) -> PolicyDiff:
    """Replay the same traces under an old and a new set and list every call whose verdict changed.

    Each set replays from scratch: a call allowed under one set records its egress there
    and not under the other, exactly as the two would have diverged live.
    """
    old = replay(traces, old_factory)
    new = replay(traces, new_factory)
    before = {(c.trace, c.call): c for c in old.calls}
    changes = tuple(
        VerdictChange(before[(c.trace, c.call)], c)
        for c in new.calls
        if (c.trace, c.call) in before and before[(c.trace, c.call)].verdict != c.verdict
    )
    return PolicyDiff(old, new, changes)
