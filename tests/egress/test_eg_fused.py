"""The fused fast path (accounting + audit) gives what the general path gives on the same calls."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from eg_support import EMAIL, FETCH, KB, email, manifests, policy
from hypothesis import given, settings
from hypothesis import strategies as st
from test_eg_fastpaths import ARGS, MANIFESTS

from toolguard import Call, Guard
from toolguard.accounting import Accounting, egress_bytes, measure_egress
from toolguard.audit import AuditLog, read_records, verify
from toolguard.egress import LeasedCounterStore, MemoryCounterStore
from toolguard.manifest import OutputSpec, manifest_from_dict
from toolguard.outputs import BUILTIN_PATTERNS, process_output, untouched

T0 = 1_700_000_000.0

DISJOINT = [
    manifest_from_dict({**EMAIL, "arguments": {"type": "object"}}),
    manifest_from_dict({**EMAIL, "arguments": {"type": "object"}, "payload": ["/body", "/meta", "/0"]}),
    manifest_from_dict({**EMAIL, "arguments": {"type": "object"}, "destinations": [{"arg": "/to", "kind": "email"}], "payload": ["/a~1b", "/body"]}),
]
MORE_ARGS: list[Any] = [
    {"to": ["bob@acme.example"], "subject": "hi", "body": "ünï \ud800", "meta": {"k": ["v", {"w": "x"}]}, "0": "zero"},
    {"to": "bob@acme.example", "a/b": "slash", "body": ["a", 1, None]},
    {"to": [1, "x@acme.example"], "body": {"deep": [["y"]]}},
]


@pytest.mark.parametrize("manifest", MANIFESTS + DISJOINT, ids=range(len(MANIFESTS) + len(DISJOINT)))
@pytest.mark.parametrize("args", ARGS + MORE_ARGS, ids=range(len(ARGS) + len(MORE_ARGS)))
def test_egress_bytes_is_the_first_item_of_measure_egress(manifest, args):
    call = Call(manifest.tool, args, "c1")
    assert egress_bytes(call, manifest) == measure_egress(call, manifest)[0]


_values = st.recursive(
    st.one_of(st.text(max_size=6), st.sampled_from(["ünï", "\ud800", "x@acme.example"]), st.integers(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["to", "k", "0"]), inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(args=st.dictionaries(st.sampled_from(["to", "body", "meta", "0", "a/b", "subject", "x"]), _values, max_size=5),
       manifest=st.sampled_from(MANIFESTS + DISJOINT))
def test_egress_bytes_is_the_first_item_of_measure_egress_on_any_arguments(args, manifest):
    call = Call(manifest.tool, args, "c1")
    assert egress_bytes(call, manifest) == measure_egress(call, manifest)[0]


# -- the short output path -----------------------------------------------------------------

_FRAGMENTS = ["AKIA", "eyJ", "sk-", "gh", "xox", "Bearer ", "secret", "4111 1111 1111 1111", "-", " ", "0", "7", "é", "٣"]
_texts = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=12).map("".join)
_SPECS = [OutputSpec(), OutputSpec(max_bytes=40), OutputSpec(max_bytes=10_000), OutputSpec(redact=("x+",)),
          OutputSpec(schema={"type": "string"})]


def _unaltered(result: Any, spec: OutputSpec) -> bool:
    value, report = process_output(result, spec, tool="t")
    return value is result and not report.altered


@settings(max_examples=400, deadline=None)
@given(text=_texts, spec=st.sampled_from(_SPECS))
def test_an_untouched_output_is_what_the_general_path_leaves_alone(text, spec):
    if untouched(text, spec):
        assert _unaltered(text, spec)


@pytest.mark.parametrize("text", [
    "Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC.",
    "card 4111 1111 1111 1111 ok", "4111-1111-1111-1112", "1234567890123", "key AKIAIOSFODNN7EXAMPLE",
    "x" * 41, "é" * 11, "", "\ud800",
])
@pytest.mark.parametrize("spec", _SPECS, ids=range(len(_SPECS)))
def test_untouched_on_chosen_outputs(text, spec):
    if untouched(text, spec):
        assert _unaltered(text, spec)


def test_untouched_takes_plain_short_text_and_refuses_the_rest():
    plain = "Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC."
    assert untouched(plain, OutputSpec(max_bytes=65536))
    assert untouched("order 123456789012 of 7", OutputSpec())  # 13 digits in all, but no run of 13: no match
    assert not untouched("1234567890123", OutputSpec())  # a candidate: the general path runs the Luhn check
    assert not untouched("card 4111 1111 1111 1111", OutputSpec())
    assert not untouched(plain, OutputSpec(max_bytes=10))
    assert not untouched(plain, OutputSpec(redact=("zz",)))
    assert not untouched(plain, OutputSpec(schema={"type": "string"}))
    assert not untouched({"text": plain}, OutputSpec())
    assert all(p.min_digits == 0 or p.kind == "credit_card" for p in BUILTIN_PATTERNS)


# -- the whole accounting layer, fast and general side by side -------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


SMALL = {"calls": {"max": 60, "per": "1h"}, "egress_bytes": {"max": 3000, "per": "1h"}}  # leases of 3 calls, 150 bytes
LARGE = {"calls": {"max": 10_000, "per": "1h"}, "egress_bytes": {"max": "10MB", "per": "1d"}}


def _guard(
    tmp: Path, name: str, fast: bool, pol: Any, clock: Clock, *, writer: str = "inline", leased: bool = True, limits: Any = SMALL,
) -> Guard:
    ms = manifests(EMAIL, FETCH, KB, send_email={"limits": limits})
    counters = LeasedCounterStore(MemoryCounterStore()) if leased else MemoryCounterStore()
    audit = AuditLog(tmp / f"{name}.jsonl", clock=clock, writer=writer)  # type: ignore[arg-type]
    g = Guard(ms, policy=pol, telemetry=False, counters=counters, audit=audit)
    g.accounting.clock = clock
    g.accounting.fast_path = fast
    return g


_VOLATILE = {"decision_id", "hash", "hold_id", "prev", "timing", "timestamp"}


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    for _, _, rec, _ in read_records([path]):
        assert rec is not None
        out.append({k: v for k, v in rec.items() if k not in _VOLATILE})
    return out


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k != "decision_id"}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


STEP = st.tuples(
    st.sampled_from(["allowed", "allowed", "allowed", "outsider", "fetch", "kb", "big"]),
    st.sampled_from(["alice", "bob"]),
    st.sampled_from([0.0, 0.0, 1.0, 61.0, 3600.0, -5.0]),
)
POLICIES = [
    policy(),
    policy(cutoff=[{"when": "denied", "count": 3, "within": "10m"}]),
    policy(principals={"default": {"calls": {"max": 40, "per": "10m"}, "tools": {"fetch": {"calls": {"max": 5, "per": "1m"}}}}}),
    policy(principals={"default": {"distinct_destinations": {"max": 3, "per": "1h"}}}),
]


def _call(kind: str, i: int) -> tuple[Call, Any]:
    if kind == "allowed":
        return Call("send_email", email("bob@acme.example", body="n" * (i % 37)), f"c{i}"), f"sent {i}"
    if kind == "outsider":
        return Call("send_email", email("eve@evil.example"), f"c{i}"), "sent"
    if kind == "fetch":
        return Call("fetch", {"url": f"https://h{i % 4}.example/x"}, f"c{i}"), "page AKIAIOSFODNN7EXAMPLE" if i % 3 else "page"
    if kind == "kb":
        return Call("kb_search", {"q": "x"}, f"c{i}"), {"documents": [{"id": f"d{i % 5}"}]}
    return Call("send_email", email("bob@acme.example", body="b" * 900), f"c{i}"), "sent"


@pytest.mark.parametrize("pol", POLICIES, ids=["plain", "cutoff", "class-budgets", "distinct-dests"])
@settings(max_examples=25, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=60))
def test_fast_and_general_paths_agree_on_every_call(tmp_path_factory, pol, steps):
    tmp = tmp_path_factory.mktemp("fused")
    clocks = (Clock(), Clock())
    guards = [_guard(tmp, name, fast, pol, clock) for name, fast, clock in zip(("fast", "general"), (True, False), clocks, strict=True)]
    for i, (kind, who, dt) in enumerate(steps):
        call, result = _call(kind, i)
        outs = []
        for g, clock in zip(guards, clocks, strict=True):
            clock.now += dt
            s = g.session(who, "s")
            o = g.run(s, call, lambda _args, result=result: result)
            acc = g.accounting
            outs.append((
                o.status, o.result, o.decision.verdict, _scrub(o.decision.to_dict()),
                dict(acc.usage_hint(who)), acc.usage(who), acc.cut_off_reason(who),
            ))
        assert outs[0] == outs[1], (i, kind, who)
    for g in guards:
        assert g.accounting.audit is not None
        g.accounting.audit.close()
    assert _records(tmp / "fast.jsonl") == _records(tmp / "general.jsonl")
    assert verify([tmp / "fast.jsonl"]).ok


def _count_fast(acc: Accounting) -> list[int]:
    taken = [0]
    inner = acc._fast_decide

    def counting(*a: Any) -> Any:
        d = inner(*a)
        taken[0] += d is not None
        return d

    acc._fast_decide = counting  # type: ignore[method-assign]
    return taken


@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_the_fast_path_serves_the_common_case_and_records_the_same(tmp_path, writer):
    clocks = (Clock(), Clock())
    guards = [
        _guard(tmp_path, f"{name}-{writer}", fast, policy(), c, writer=writer, limits=LARGE)
        for name, fast, c in zip(("f", "g"), (True, False), clocks, strict=True)
    ]
    taken = _count_fast(guards[0].accounting)
    for g in guards:
        s = g.session("alice", "s")
        for i in range(50):
            o = g.run(s, Call("send_email", email("bob@acme.example", body="x" * i), f"c{i}"), lambda _a: "queued")
            assert o.status == "executed"
        g.accounting.audit.close()  # type: ignore[union-attr]
    assert taken[0] == 49  # the first call takes the leases the general way
    assert guards[0].accounting.usage("alice") == guards[1].accounting.usage("alice")
    assert _records(tmp_path / f"f-{writer}.jsonl") == _records(tmp_path / f"g-{writer}.jsonl")


def test_no_budgets_no_audit_takes_the_fast_path():
    g = Guard(manifests(EMAIL), telemetry=False)
    taken = _count_fast(g.accounting)
    s = g.session("alice", "s")
    for i in range(5):
        assert g.run(s, Call("send_email", email("bob@acme.example"), f"c{i}"), lambda _a: "ok").status == "executed"
    assert taken[0] == 5


def test_unleased_counters_always_take_the_general_path(tmp_path):
    g = _guard(tmp_path, "m", True, policy(), Clock(), leased=False)
    taken = _count_fast(g.accounting)
    s = g.session("alice", "s")
    for i in range(5):
        g.run(s, Call("send_email", email("bob@acme.example"), f"c{i}"), lambda _a: "ok")
    assert taken[0] == 0


def test_a_failure_inside_the_fast_path_fails_closed(tmp_path):
    g = _guard(tmp_path, "x", True, policy(), Clock())
    s = g.session("alice", "s")
    g.run(s, Call("send_email", email("bob@acme.example"), "c0"), lambda _a: "ok")  # takes the leases

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom")

    g.accounting.counters.reserve = broken  # type: ignore[method-assign]
    g.accounting.counters.spend = broken  # type: ignore[attr-defined]
    o = g.run(s, Call("send_email", email("bob@acme.example"), "c1"), lambda _a: "ok")
    assert o.status == "denied" and "guard.error" in o.decision.codes


def test_sixteen_threads_through_the_fast_path_never_overshoot(tmp_path):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 300, "per": "1h"}}})
    g = Guard(ms, telemetry=False, counters=LeasedCounterStore(MemoryCounterStore()))
    taken = _count_fast(g.accounting)
    executed = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker(i: int) -> None:
        s = g.session("alice", f"s{i}")
        start.wait()
        for j in range(25):
            o = g.run(s, Call("send_email", email("bob@acme.example"), f"c{i}-{j}"), lambda _a: "ok")
            with lock:
                executed.append(o.status == "executed")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(executed) == 300
    assert taken[0] > 0
    used = {row["series"]: row["used"] for row in g.accounting.usage("alice")}
    assert used == {"alice/tool=send_email/calls/3600": 300}
