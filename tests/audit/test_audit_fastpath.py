"""The decision record's fast path gives the general path's bytes: masking, digests, record text."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import hashlib
import json
import types
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolguard import Call
from toolguard.audit import (
    _NO_COPY,
    AuditLog,
    _args_json,
    _decision_parts,
    _decision_text,
    _input_text,
    _jsonable,
    _keep_tree,
    _NotPlain,
    _snapshot,
    _timing_json,
    _walk,
    args_digest,
    canonical,
    manifest_digest,
    masked_input,
    read_records,
    verify,
)
from toolguard.findings import Evidence, Finding, combine
from toolguard.manifest import manifest_from_dict

# Destination pointers of every shape the tree must merge: keys, indexes, wildcards at any
# depth, an escaped slash and a literal star (``~2``), and patterns that overlap.
POINTERS = ["/to/*", "/cc", "/links/*/href", "/*/0", "/0", "/a~1b/*", "/~2", "/deep/*/*/x", "/deep/k/0/x", "/html"]
MANIFEST = manifest_from_dict({
    "tool": "t",
    "side_effect": "external_write",
    "arguments": {"type": "object"},
    "destinations": [
        {"arg": p, "kind": "html" if p == "/html" else "url" if "href" in p else "email"} for p in POINTERS
    ],
})

KEYS = st.sampled_from(["to", "cc", "links", "href", "0", "1", "a/b", "*", "deep", "k", "x", "html", "é", "\x7f", "q\"~"])
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030, blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(
    TEXT, st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e-05, 1e16, 0.1, -0.0, 123.456]),
)
PLAIN = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5), st.tuples(inner, inner)),
    max_leaves=25,
)
ARGS = st.dictionaries(KEYS, PLAIN, max_size=6)


def reference(args: Any, mode: str) -> tuple[str, str | None]:
    """``args_sha256`` and the ``input`` text as the general path computes them."""
    if mode == "full":
        return args_digest(args), canonical(_jsonable(args))
    if mode == "masked":
        return args_digest(args), canonical(masked_input(args, MANIFEST))
    return args_digest(args), None


@settings(max_examples=400, deadline=None)
@given(args=st.one_of(ARGS, PLAIN))
@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
def test_the_walk_and_orjson_give_the_general_paths_digest_and_input(mode, args):
    raw, value = _args_json(args, MANIFEST, mode)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)


@settings(max_examples=400, deadline=None)
@given(args=ARGS)
def test_the_pointer_tree_keeps_what_the_pointers_resolve(args):
    try:
        masked = _walk(args, _keep_tree(MANIFEST), [], 0)
    except _NotPlain:
        return
    assert masked == masked_input(args, MANIFEST)


class Odd(str):
    pass


@pytest.mark.parametrize("args", [
    {"to": [float("nan")]}, {"to": {1: "x"}}, {"to": Odd("x@a.example")}, {"x": object()}, {"big": 2**80},
    {"deep": [[[[[[[[]]]]]]]] * 3}, {"s": "\ud800"}, {"d": {"e": float("inf")}},
])
@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
def test_values_that_are_not_plain_take_the_general_path(mode, args):
    raw, value = _args_json(args, MANIFEST, mode)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


@dataclasses.dataclass
class Point:
    x: int


ODD = [
    {"to": ("a@b.example", "c@d.example")}, {"to": [("x@y.example",)]}, {"to": Color.RED}, {"to": [Level.HIGH]},
    {"to": [Mode.FAST], "m": Mode.FAST}, {"u": uuid.UUID(int=5)}, {"d": datetime.datetime(2025, 1, 2)},
    {"p": Point(1)}, {"to": [float("nan")]}, {"x": -0.0, "y": 1e-05, "z": 1e16}, {"to": Odd("x@a.example")},
    {"big": 2**64}, {"n": 2**63 - 1}, {"s": "\ud800"}, {1: "x"}, {"é": "ü\x7f"}, ("a", "b"), ["a", ("b",)],
    {"to": collections.OrderedDict(a=1)}, {"to": bytearray(b"x")}, {"to": b"x"}, {"to": {"to": []}},
]


@settings(max_examples=400, deadline=None)
@given(args=st.one_of(ARGS, PLAIN, st.sampled_from(ODD)))
@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
def test_the_background_writers_snapshot_gives_the_general_paths_digest_and_input(mode, args):
    # What the calling thread captures (orjson's text and the copy read back) and what the
    # writer makes of it: the same digest and input as the general path on the arguments.
    snap = _snapshot(args)
    if snap is None:
        return  # the caller serialises such arguments itself (_args_json, tested above)
    text, copy = snap
    raw, value = _args_json(copy, MANIFEST, mode, text)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)
    # and the caller's own walk with the same text (what it does for large arguments)
    raw, value = _args_json(args, MANIFEST, mode, text)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)


@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
@pytest.mark.parametrize("args", [
    {"to": ["a@acme.example"], "body": "x" * 20000}, {"to": ["a@acme.example"], "body": "é" * 9000, "n": [1.5] * 10},
    {"to": ("a@acme.example",), "body": "x" * 20000},
])
def test_large_arguments_are_walked_by_the_caller_with_the_snapshots_text(tmp_path, mode, args):
    snap = _snapshot(args)
    if not isinstance(args["to"], tuple):
        assert snap is not None and snap[1] is _NO_COPY
    log = AuditLog(tmp_path / "a.jsonl", writer="thread", args=mode)
    call = Call("t", args, "c1")
    d = combine([], tool="t", call_id="c1").with_id("0" * 32)
    log.decision(d, call, principal="p", session="s", manifest=MANIFEST)
    log.close()
    [(_, _, rec, _)] = list(read_records([tmp_path / "a.jsonl"]))
    assert rec is not None
    digest, text = reference(args, mode)
    assert rec["args_sha256"] == digest
    assert (canonical(rec["input"]) if "input" in rec else None) == text


@pytest.mark.parametrize("args", [a for a in ODD if not isinstance(a, dict) or ("to" in a and isinstance(a["to"], (tuple, Color)))])
def test_the_snapshot_refuses_what_the_copy_would_not_stand_for(args):
    # tuples (pointers do not walk into them, they would into the list) and an enum
    # written as its value
    assert _snapshot(args) is None


def test_the_snapshot_holds_nothing_of_the_arguments():
    args = {"to": ["a@acme.example"], "meta": {"k": [1, 2]}}
    text, copy = _snapshot(args)
    args["to"].append("b@evil.example")
    args["meta"]["k"].clear()
    assert copy == {"meta": {"k": [1, 2]}, "to": ["a@acme.example"]}
    assert text == b'{"meta":{"k":[1,2]},"to":["a@acme.example"]}'


def test_nesting_beyond_the_walks_limit_takes_the_general_path():
    args: Any = {"to": "x"}
    for _ in range(80):
        args = {"n": [args]}
    raw, value = _args_json(args, MANIFEST, "masked")
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, "masked")) == reference(args, "masked")


@pytest.mark.parametrize("timing", [
    {"decide_us": 12.34567, "account_us": 3.0}, {"decide_us": 1, "account_us": 2.5}, {"account_us": 1e20, "decide_us": 1e-7},
    {"decide_us": 0.0005, "account_us": 0.0}, {"z": 1.25, "a": 2}, {"decide_us": 5.0},
])
def test_the_timing_text_is_canonical(timing):
    assert _timing_json(timing) == canonical({k: round(v, 3) for k, v in timing.items()})


@settings(max_examples=2000, deadline=None)
@given(a=st.one_of(st.floats(min_value=0.0, max_value=2e12), st.sampled_from([0.0, 0.0005, 0.0015, 0.0625, 2.5, 999999999999.9995, 1e12 - 1e-4, 123.4565])),
       d=st.floats(min_value=0.0, max_value=1e6))
def test_the_guards_timing_text_is_canonical(a, d):
    timing = {"decide_us": d, "account_us": a}
    assert _timing_json(timing) == canonical({k: round(v, 3) for k, v in timing.items()})


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_timing_that_is_not_finite_is_refused(bad):
    with pytest.raises(ValueError):
        _timing_json({"decide_us": bad, "account_us": 1.0})


NAMES = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030, blacklist_categories=("Cs",)), max_size=8)


@settings(max_examples=60, deadline=None)
@given(principal=NAMES, session=NAMES, tool=NAMES, args=ARGS)
def test_records_with_any_names_are_canonical_and_verify(tmp_path_factory, principal, session, tool, args):
    p = tmp_path_factory.mktemp("log") / "a.jsonl"
    for key in (None, b"k3y"):
        p.unlink(missing_ok=True)
        log = AuditLog(p, key=key)
        d = combine([], tool=tool, call_id="c").with_id("1" * 32)
        log.decision(d, Call(tool, args, "c"), principal=principal, session=session, manifest=MANIFEST,
                     policy_revision="r", timing={"decide_us": 1.5, "account_us": 2.25})
        log.close()
        assert verify([p], key=key).ok
        (_, _, rec, raw), = list(read_records([p]))
        assert rec is not None
        h = rec.pop("hash")
        assert raw.decode("ascii") == canonical(rec)[:-1] + ',"hash":"' + h + '"}\n'
        assert rec["principal"] == principal and rec["session"] == session
        assert rec["args_sha256"] == args_digest(args)
        assert json.loads(canonical(rec["input"])) == json.loads(canonical(masked_input(args, MANIFEST)))


FINDINGS = st.lists(
    st.builds(
        Finding, code=st.sampled_from(["destination.not_allowed", "guard.error", "budget.exceeded"]), message=NAMES,
        action=st.sampled_from(["allow", "hold", "deny"]), pointer=st.sampled_from(["", "/to/0", "/a~1b"]),
        evidence=st.lists(st.builds(Evidence, st.sampled_from(["error", "limit"]), st.dictionaries(KEYS, PLAIN, max_size=3)),
                          max_size=2).map(tuple),
    ),
    max_size=3,
)
TIMINGS = st.one_of(
    st.none(),
    st.fixed_dictionaries({"decide_us": st.floats(min_value=0.0, max_value=1e6), "account_us": st.floats(min_value=0.0, max_value=1e6)}),
    st.dictionaries(st.sampled_from(["decide_us", "account_us", "z", "é"]), st.floats(min_value=-1e6, max_value=1e6), max_size=3),
)


@settings(max_examples=500, deadline=None)
@given(principal=NAMES, session=NAMES, tool=NAMES, call_id=NAMES, decision_id=NAMES, findings=FINDINGS, args=ARGS,
       mode=st.sampled_from(["masked", "full", "hash"]), revision=st.one_of(st.none(), NAMES), timing=TIMINGS,
       seq=st.integers(min_value=1, max_value=2**40), prev=st.sampled_from(["0" * 64, "ab" * 32]))
def test_the_record_text_is_the_canonical_json_of_the_general_paths_dict(
    principal, session, tool, call_id, decision_id, findings, args, mode, revision, timing, seq, prev,
):
    """The text builder (cached shapes, per-call fields) against canonical() of the record's dict."""
    d = combine(findings, tool=tool, call_id=call_id).with_id(decision_id)
    call = Call(tool, args, call_id)
    raw, value = _args_json(args, MANIFEST, mode)
    stamp = "2026-01-02T03:04:05.000006Z"
    body = AuditLog._decision_body(types.SimpleNamespace(args=mode), d, call, principal, session, MANIFEST, revision,  # type: ignore[arg-type]
                                   timing, None)
    expected = canonical({"v": 1, **body, "seq": seq, "prev": prev, "timestamp": stamp}).encode("ascii")
    for _ in range(2):  # built, then from the cached shape
        parts = _decision_parts(d, d.tool or tool, call_id, principal, session, hashlib.sha256(raw).hexdigest(), mode,
                                _input_text(value, mode), manifest_digest(MANIFEST), revision,
                                _timing_json(timing) if timing else "")
        assert _decision_text(parts, seq, prev, stamp) == expected


def test_names_that_are_equal_but_not_strings_do_not_share_a_cached_shape():
    d = combine([], tool="t", call_id="c").with_id("0" * 32)
    texts = set()
    for principal in ("1", 1, True, 1.0):
        parts = _decision_parts(d, "t", "c", principal, "s", "0" * 64, "hash", None, None, None, "")  # type: ignore[arg-type]
        text = _decision_text(parts, 1, "0" * 64, "2026-01-02T03:04:05.000006Z")
        assert json.loads(text)["principal"] == principal and type(json.loads(text)["principal"]) is type(principal)
        texts.add(text)
    assert len(texts) == 4


@settings(max_examples=150, deadline=None)
@given(args=st.one_of(ARGS, PLAIN, st.sampled_from(ODD)),
       decide_us=st.one_of(st.floats(min_value=0.0, max_value=2e12), st.sampled_from([0.0, 0.0005, 1.5])),
       account_us=st.one_of(st.floats(min_value=0.0, max_value=2e12), st.sampled_from([0.0, 2.25, 1e13])))
@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_the_timed_decision_record_is_the_decision_records_bytes(tmp_path_factory, writer, args, decide_us, account_us):
    # AuditLog._decision_timed (the accounting's fast path) against AuditLog.decision with
    # the timing dict, on two logs of one clock: every line the same, chain included.
    d = combine([], tool="t", call_id="c").with_id("1" * 32)
    call = Call("t", args, "c")
    lines = []
    for timed in (False, True):
        p = tmp_path_factory.mktemp("log") / "a.jsonl"
        log = AuditLog(p, writer=writer, clock=lambda: 1_700_000_000.25)
        for _ in range(2):
            if timed:
                log._decision_timed(d, call, "p", "s", MANIFEST, "r", decide_us, account_us)
            else:
                log.decision(d, call, principal="p", session="s", manifest=MANIFEST, policy_revision="r",
                             timing={"decide_us": decide_us, "account_us": account_us})
        log.close()
        assert verify([p]).ok
        lines.append(p.read_bytes())
    assert lines[0] == lines[1]


def test_the_timed_decision_captures_the_arguments_as_they_were(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", writer="thread", args="full")
    args: dict[str, Any] = {"to": ["a@acme.example"], "body": "x"}
    d = combine([], tool="t", call_id="c").with_id("1" * 32)
    log._decision_timed(d, Call("t", args, "c"), "p", "s", MANIFEST, None, 1.0, 2.0)
    args["to"].append("b@evil.example")
    args["body"] = "changed"
    log.close()
    [(_, _, rec, _)] = list(read_records([tmp_path / "a.jsonl"]))
    assert rec is not None and rec["input"] == {"body": "x", "to": ["a@acme.example"]}
    assert rec["args_sha256"] == args_digest({"body": "x", "to": ["a@acme.example"]})
