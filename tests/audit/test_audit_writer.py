"""How decision records are written: the sort-free serialiser and the background writer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from toolguard import Call, Guard, ManifestSet
from toolguard.audit import (
    FORMAT_VERSION,
    AuditLog,
    _jsonable,
    _timestamp,
    args_digest,
    canonical,
    manifest_digest,
    masked_input,
    read_records,
    verify,
)
from toolguard.errors import StoreError
from toolguard.findings import Evidence, Finding, combine
from toolguard.manifest import manifest_from_dict
from toolguard.outputs import BUILTIN_PATTERNS, Redactor
from toolguard.policy import decide
from toolguard.session import SessionView

EMAIL = manifest_from_dict({
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {"type": "object"},
    "destinations": [
        {"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]},
        {"arg": "/cc", "kind": "email"},
        {"arg": "/links/*/href", "kind": "url"},
        {"arg": "/html", "kind": "html"},
    ],
    "payload": ["/body"],
    "output": {"trust": "trusted"},
})
MS = ManifestSet.of([EMAIL])
T0 = 1_700_000_000.25

class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


ARGS: list[Any] = [
    {"to": ["bob@acme.example"], "body": "hello"},
    {"to": ["eve@evil.example", "x@acme.example"], "cc": "c@acme.example", "body": "é ünïcode \u2028 \ud800"},
    {"to": [], "body": {"nested": ["a", {"b": "c"}], "n": [1, 2.5, None, True]}, "links": [{"href": "https://a.example/x", "t": "y"}]},
    {"to": "not-a-list", "html": "<a href='https://evil.example'>x</a>", "a/b~c": {"x": "y"}},
    {"weird": (1, "two", [3.0]), "to": ("t@acme.example",)},
    {},
    {"f": float("nan")},  # not canonical JSON: the digest and the input fall back to repr
    {"obj": Opaque()},
    ["not", "a", "dict"],
]


def decisions() -> list[tuple[Any, Call]]:
    out = []
    for i, args in enumerate(ARGS):
        call = Call("send_email", args, f"c{i}")
        d = decide(call, EMAIL, SessionView.empty("alice", "s")).with_id(f"{i:032x}")
        out.append((d, call))
    extra = Finding(code="guard.error", message="m \"quoted\"", action="deny", pointer="/to/0",
                    evidence=(Evidence("error", {"z": 1, "a": [1.5, "x"], "nested": {"k": None}}),))
    call = Call("send_email", {"to": ["b@acme.example"], "body": "x"}, 7)  # a call id that is not a string
    out.append((combine([extra], tool="send_email", call_id="7").with_id("f" * 32), call))
    call = Call(3, {"to": ["b@acme.example"]}, "c")  # a tool name that is not a string
    out.append((combine([], tool="", call_id="c").with_id(""), call))
    return out


def reference_line(log: AuditLog, seq: int, prev: str, d: Any, call: Call, manifest: Any, revision: str | None,
                   timing: dict[str, float] | None) -> str:
    """The record as the general path builds it: a dict, then canonical JSON (sorted keys)."""
    body = log._decision_body(d, call, "alice", "s", manifest, revision, timing, None)
    rec = {"v": FORMAT_VERSION, **body, "seq": seq, "prev": prev, "timestamp": _timestamp(T0)}
    return canonical(rec)


@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_decision_records_are_the_canonical_json_of_their_dict(tmp_path, mode, writer):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, args=mode, writer=writer, clock=lambda: T0)
    cases = []
    for d, call in decisions():
        for manifest, revision, timing in ((EMAIL, "r" * 64, {"decide_us": 12.34567, "account_us": 3}), (None, None, None)):
            log.decision(d, call, principal="alice", session="s", manifest=manifest, policy_revision=revision, timing=timing)
            cases.append((d, call, manifest, revision, timing))
    log.close()
    assert verify([p]).ok
    prev = "0" * 64
    for i, ((_, _, rec, raw), (d, call, manifest, revision, timing)) in enumerate(zip(read_records([p]), cases, strict=True)):
        assert rec is not None
        h = rec.pop("hash")
        assert raw.decode() == canonical(rec)[:-1] + ',"hash":"' + h + '"}\n'
        assert canonical(rec) == reference_line(log, i + 1, prev, d, call, manifest, revision, timing)
        prev = h


def test_the_thread_writer_writes_the_same_file_as_the_inline_one(tmp_path):
    files = []
    for writer in ("inline", "thread"):
        p = tmp_path / f"{writer}.jsonl"
        log = AuditLog(p, writer=writer, clock=lambda: T0)
        for d, call in decisions():
            log.decision(d, call, principal="alice", session="s", manifest=EMAIL, policy_revision="r", timing={"decide_us": 1.0})
            log.decision(d, call, principal="alice", session="s", manifest=EMAIL, extra={"note": ["x", 1]})
            log.output(decision_id=d.decision_id, principal="alice", session="s", tool="send_email", call_id="c",
                       report={"truncated": True}, output="text", extra={"withheld": False})
        log.append({"type": "note", "n": 1})
        log.cutoff("cut", principal="alice", reason="r", by="rule:x", evidence={"a": 1})
        log.close()
        files.append(p.read_bytes())
    assert files[0] == files[1]


@pytest.mark.parametrize("mode", ["full", "masked", "hash"])
def test_the_thread_writer_records_the_arguments_as_they_were_decided(tmp_path, mode):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, writer="thread", args=mode)
    with log._lock:  # the writer cannot write until the tool has mutated its arguments
        args = {"to": ["bob@acme.example"], "body": "original", "meta": {"k": [1]}}
        call = Call("send_email", args, "c1")
        d = decide(call, EMAIL, SessionView.empty("alice", "s")).with_id("0" * 32)
        log.decision(d, call, principal="alice", session="s", manifest=EMAIL)
        expected = args_digest(args)
        args["body"] = "changed by the tool"
        args["to"].append("eve@evil.example")
        args["meta"]["k"].append(2)
    log.close()
    [(_, _, rec, _)] = list(read_records([p]))
    assert rec is not None
    assert rec["args_sha256"] == expected
    if mode == "full":
        assert rec["input"] == {"to": ["bob@acme.example"], "body": "original", "meta": {"k": [1]}}
    elif mode == "masked":
        assert rec["input"] == {"to": ["bob@acme.example"], "body": "<8 chars>", "meta": {"k": [1]}}
    else:
        assert "input" not in rec


def test_a_full_queue_makes_callers_wait_and_drops_nothing(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, writer="thread", max_pending=3)
    d, call = decisions()[0]
    done = threading.Event()

    def produce() -> None:
        for _ in range(40):
            log.decision(d, call, principal="alice", session="s", manifest=EMAIL)
        done.set()

    with log._lock:  # the writer is stuck: the queue fills up
        t = threading.Thread(target=produce)
        t.start()
        deadline = time.monotonic() + 10
        while log._blocked == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert log._blocked == 1  # the producer waits for room...
        assert not done.is_set() and len(log._pending) <= 3  # ...and the queue stays bounded
    t.join(10)
    assert done.is_set()
    log.close()
    report = verify([p])
    assert report.ok and report.records == 40


def test_a_write_error_in_the_writer_denies_the_next_calls(tmp_path):
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p, writer="thread", fsync="never")
    g = Guard(MS, audit=log, telemetry=False)
    ran: list[Any] = []
    session = g.session("alice")
    out = g.run(session, Call("send_email", {"to": ["b@acme.example"], "body": "x"}, "c1"), ran.append)
    assert out.status == "executed"
    log.flush()
    # From now on every write fails (a real device that is always full).
    with log._lock:
        log._fd.close()
        log._fd = open("/dev/full", "ab", buffering=0)  # noqa: SIM115
    out = g.run(session, Call("send_email", {"to": ["b@acme.example"], "body": "x"}, "c2"), ran.append)
    assert out.status == "executed"  # its record was queued; the writer fails on it
    with pytest.raises(StoreError, match=r"cannot write the audit log|failed earlier"):
        log.flush()
    out = g.run(session, Call("send_email", {"to": ["b@acme.example"], "body": "x"}, "c3"), ran.append)
    assert out.status == "denied" and "guard.error" in out.decision.codes and len(ran) == 2
    with pytest.raises(StoreError):
        log.append({"type": "note"})
    log.close()
    report = verify([p])
    assert report.ok and report.records == 1  # what was written before the error is intact


def test_records_queued_at_exit_are_written(tmp_path):
    p = tmp_path / "a.jsonl"
    script = textwrap.dedent(f"""
        from toolguard import Call
        from toolguard.audit import AuditLog
        from toolguard.findings import combine
        log = AuditLog({str(p)!r}, writer="thread")
        d = combine([], tool="t", call_id="c").with_id("0" * 32)
        for i in range(2000):
            log.decision(d, Call("t", {{"i": i}}, "c"), principal="p", session="s", manifest=None)
        # no close(): interpreter exit writes out what is queued
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    report = verify([p])
    assert report.ok and report.records == 2000


def test_append_waits_for_its_record_and_returns_its_hash(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, writer="thread")
    d, call = decisions()[0]
    assert log.decision(d, call, principal="alice", session="s", manifest=EMAIL) == ""
    h = log.append({"type": "note"})
    assert log.head == (2, h)
    log.close()
    with pytest.raises(StoreError, match="closed"):
        log.decision(d, call, principal="alice", session="s", manifest=EMAIL)
    assert verify([p]).ok


def test_rotation_with_the_thread_writer_keeps_one_chain(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, writer="thread", rotate_bytes=2048)
    for d, call in decisions() * 5:
        log.decision(d, call, principal="alice", session="s", manifest=EMAIL)
    log.close()
    report = verify([tmp_path])
    assert report.ok and len(report.files) > 2


@pytest.mark.parametrize("kwargs", [{"writer": "fork"}, {"writer": "thread", "max_pending": 0}])
def test_bad_writer_settings(tmp_path, kwargs):
    with pytest.raises(ValueError):
        AuditLog(tmp_path / "a.jsonl", **kwargs)


def _old_mask(args: Any, keep: set[str], ptr: str = "") -> Any:
    if isinstance(args, str):
        return args if ptr in keep else f"<{len(args)} chars>"
    if isinstance(args, dict):
        return {k: _old_mask(v, keep, f"{ptr}/{str(k).replace('~', '~0').replace('/', '~1')}") for k, v in args.items()}
    if isinstance(args, (list, tuple)):
        return [_old_mask(v, keep, f"{ptr}/{i}") for i, v in enumerate(args)]
    return _jsonable(args)


@pytest.mark.parametrize("args", ARGS[:-3], ids=range(len(ARGS) - 3))
def test_masking_skips_subtrees_without_destinations_and_gives_the_same_input(args):
    from toolguard import _pointer

    tokens = [spec.tokens for spec in EMAIL.destinations if spec.kind not in ("markdown", "html")]
    keep = {p for toks in tokens for p, v in _pointer.resolve(args, toks) if isinstance(v, str)}
    assert masked_input(args, EMAIL) == _old_mask(args, keep)
    assert masked_input(args, None) == _old_mask(args, set())


TEXTS = [
    "Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC.",
    "through the high right",  # 'gh' triggers the GitHub pattern's test
    "token ghp_" + "a" * 36,
    "AWS_SECRET_ACCESS_KEY=" + "A" * 40,
    "Authorization: BEARER abcdefghijklmnopqrstuvwxyz",
    "card 4111 1111 1111 1111 and 4111-1111-1111-1112",
    "ſecret and Bearer-less text",
    "sk-ant-" + "x" * 30 + " and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",
    "",
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_the_trigger_prefilter_changes_no_redaction(text):
    fast, slow = Redactor(["secret-[0-9]+"]), Redactor(["secret-[0-9]+"])
    slow._triggered = lambda _text: True  # type: ignore[method-assign]
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    assert fast.redact(text + " secret-42", c1) == slow.redact(text + " secret-42", c2)
    assert c1 == c2
    assert len(BUILTIN_PATTERNS) == len(fast._builtin)


def test_digests_in_records_match_the_public_helpers(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, writer="thread")
    for d, call in decisions():
        log.decision(d, call, principal="alice", session="s", manifest=EMAIL)
    log.close()
    for (_, _, rec, _), (_, call) in zip(read_records([p]), decisions(), strict=True):
        assert rec is not None
        assert rec["args_sha256"] == args_digest(call.args)
        assert rec["manifest_digest"] == manifest_digest(EMAIL)
