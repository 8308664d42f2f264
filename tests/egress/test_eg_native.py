"""The accounting fast path in the C core gives exactly what its Python loops give.

Three functions of ``toolguard._taintc`` serve the common call: ``egress_size`` (the bytes a
disjoint egress plan counts), ``lease_spend`` (spending from still-valid leases) and
``plain_output`` (the short output path's trigger scan, digit count and size cap). Each is
run here beside the Python code it stands in for, on the same generated inputs, with the
module attribute that holds it swapped to None for the Python side.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from eg_support import EMAIL
from hypothesis import given, settings
from hypothesis import strategies as st
from test_eg_fused import DISJOINT

from toolguard import Call, accounting, egress, outputs
from toolguard.accounting import _plan_bytes, _plan_of, measure_egress
from toolguard.egress import LeasedCounterStore, MemoryCounterStore, _Lease
from toolguard.manifest import OutputSpec, manifest_from_dict
from toolguard.outputs import _redactor, untouched, untouched_plan, untouched_with
from toolguard.taint import _C

pytestmark = pytest.mark.skipif(_C is None, reason="the C core is not built (or TOOLGUARD_NO_ACCEL is set)")

T0 = 1_700_000_000.0


# -- egress_size -------------------------------------------------------------------------------

PLAIN = [m for m in [manifest_from_dict(EMAIL), *DISJOINT] if _plan_of(m).disjoint is not None and _plan_of(m).dest_keys is not None]


class Str(str):
    pass


class List(list):  # type: ignore[type-arg]
    pass


_leaf = st.one_of(
    st.text(max_size=6), st.sampled_from(["ünï", "\ud800", "😀", "ÿ", "x@acme.example", ""]),
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
    st.builds(Str, st.text(max_size=3)), st.tuples(st.text(max_size=2)), st.binary(max_size=3),
)
_values = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["to", "k", "0"]), inner, max_size=3),
                            st.builds(List, st.lists(inner, max_size=2))),
    max_leaves=8,
)
_args = st.dictionaries(st.sampled_from(["to", "body", "meta", "0", "a/b", "subject", "x"]), _values, max_size=5)


def _python_bytes(call: Call, manifest: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    with monkeypatch.context() as m:
        m.setattr(accounting, "_C_EGRESS", None)
        return _plan_bytes(_plan_of(manifest), call, manifest)


def test_the_plans_under_test_take_the_core():
    assert len(PLAIN) >= 3


@settings(max_examples=500, deadline=None)
@given(args=_args, manifest=st.sampled_from(PLAIN))
def test_egress_size_counts_what_the_python_loop_counts(args, manifest):
    call = Call(manifest.tool, args, "c1")
    plan = _plan_of(manifest)
    got = _C.egress_size(args, plan.disjoint, plan.dest_keys)
    with pytest.MonkeyPatch.context() as mp:
        expected = _python_bytes(call, manifest, mp)
    assert got == -1 or got == expected  # -1: the Python loop counts (anything but plain data)
    assert _plan_bytes(plan, call, manifest) == expected == measure_egress(call, manifest)[0]


def test_egress_size_answers_for_plain_data_and_leaves_the_rest_to_python():
    plan = _plan_of(manifest_from_dict(EMAIL))
    keys, dests = plan.disjoint, plan.dest_keys
    assert _C.egress_size({"to": ["a@b.example"], "subject": "ünï", "body": "😀\ud800"}, keys, dests) == 11 + 5 + 4 + 3
    assert _C.egress_size({"to": "not-a-list", "body": {"k": ["v", 1, None, 2.5]}}, keys, dests) == 1
    assert _C.egress_size({}, keys, dests) == 0
    assert _C.egress_size({"subject": Str("x")}, keys, dests) == -1
    assert _C.egress_size({"body": ("a", "b")}, keys, dests) == -1
    assert _C.egress_size({"to": List(["a"])}, keys, dests) == -1
    assert _C.egress_size({"to": [Str("a")]}, keys, dests) == -1
    assert _C.egress_size(["not", "a", "dict"], keys, dests) == -1
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    assert _C.egress_size({"body": deep}, keys, dests) == -1  # past 200 levels: Python walks it
    with pytest.raises(TypeError):
        _C.egress_size({}, ("to", 1), ())
    with pytest.raises(TypeError):
        _C.egress_size({}, (), (("to",),))


# -- lease_spend -------------------------------------------------------------------------------


def _store(leases: dict[str, tuple[int, int]], usage: dict[str, int], high: float = -math.inf) -> LeasedCounterStore:
    s = LeasedCounterStore(MemoryCounterStore())
    s._leases = {k: _Lease(b, left, 3600.0) for k, (b, left) in leases.items()}
    s._usage = dict(usage)
    s._high = high
    return s


def _state(s: LeasedCounterStore) -> tuple[dict[str, tuple[int, int]], dict[str, int], float]:
    return {k: (v.bucket, v.left) for k, v in s._leases.items()}, dict(s._usage), s._high


def _spend(s: LeasedCounterStore, items: Any, now: Any, fill: Any, native: bool) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        if not native:
            mp.setattr(egress, "_C_SPEND", None)
        try:
            return ("ok", s.spend(items, now, fill))
        except (ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:
            return (type(exc).__name__, str(exc))


_keys = st.sampled_from(["a", "b", "c"])
_bucket = st.integers(min_value=28_333_300, max_value=28_333_340)  # floor(T0 / 60) is 28,333,333
_leases = st.dictionaries(_keys, st.tuples(_bucket, st.integers(min_value=0, max_value=40) | st.just(2**70)), max_size=3)
_cost = st.one_of(st.none(), st.integers(min_value=0, max_value=50), st.integers(min_value=-2, max_value=-1), st.just(2**70),
                  st.just(True), st.just(1.0))
_items = st.lists(st.tuples(_keys, st.sampled_from([3600.0, 86400.0, 60.0, 3600]), _cost), max_size=4).map(tuple)


@settings(max_examples=800, deadline=None)
@given(leases=_leases, usage=st.dictionaries(_keys, st.integers(min_value=0, max_value=100) | st.just(2**63 - 5)),
       items=_items, now=st.floats(min_value=T0 - 120, max_value=T0 + 7200) | st.just(T0), fill=st.integers(min_value=0, max_value=30),
       high=st.sampled_from([-math.inf, T0, T0 + 60]))
def test_lease_spend_spends_what_the_python_loop_spends(leases, usage, items, now, fill, high):
    a, b = _store(leases, usage, high), _store(leases, usage, high)
    got = _spend(a, items, now, fill, native=True)
    expected = _spend(b, items, now, fill, native=False)
    assert got == expected
    assert _state(a) == _state(b)


def test_lease_spend_checks_everything_before_spending_anything():
    bucket = math.floor(T0 / 60)
    s = _store({"a": (bucket, 5), "b": (bucket, 1)}, {"a": 10})
    assert s.spend((("a", 3600.0, 2), ("b", 3600.0, 2)), T0) is None  # b cannot pay: a is not spent either
    assert _state(s)[0] == {"a": (bucket, 5), "b": (bucket, 1)}
    assert s.spend((("a", 3600.0, 2), ("b", 3600.0, None)), T0, 1) == {"a": 12, "b": 1}
    assert _state(s)[:2] == ({"a": (bucket, 3), "b": (bucket, 0)}, {"a": 12, "b": 1})
    assert s.spend((("a", 3600.0, 1), ("a", 3600.0, 1)), T0) == {"a": 14}  # one key twice: the Python loop spends both
    assert s.spend((("a", 3600.0, 1),), T0 + 60) is None  # the lease's bucket has ended
    with pytest.raises(ValueError, match="cost must be a non-negative int"):
        s.spend((("a", 3600.0, -1),), T0)
    # what the core does not take: one key twice, an item that is not a tuple, counts past 64 bits
    assert _C.lease_spend(s._leases, s._usage, (("a", 3600.0, 1), ("a", 3600.0, 1)), T0, 0, 60) is NotImplemented
    assert _C.lease_spend(s._leases, s._usage, (["a", 3600.0, 1],), T0, 0, 60) is NotImplemented
    assert _C.lease_spend(s._leases, s._usage, (("a", 3600.0, 2**64),), T0, 0, 60) is NotImplemented
    assert _state(s)[:2] == ({"a": (bucket, 1), "b": (bucket, 0)}, {"a": 14, "b": 1})
    with pytest.raises(TypeError):
        _C.lease_spend(s._leases, s._usage, [("a", 3600.0, 1)], T0, 0, 60)
    with pytest.raises(ValueError):
        _C.lease_spend(s._leases, s._usage, (), T0, -1, 60)


# -- plain_output ------------------------------------------------------------------------------

_FRAGMENTS = ["AKIA", "eyJ", "sk-", "sk-ant-", "gh", "xox", "Bearer ", "BEARER", "bEaReR", "SeCrEt", "secret", "PRIVATE KEY",
              "hooks.slack.com", "k_live_", "K_LIVE_", "AIza", "4111 1111 1111 1111", "2026-11-27T10:42:00Z", "-", " ", "0", "7",
              "é", "ÿ", "İ", "K", "٣", "😀", "\ud800"]
_texts = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12), st.text(alphabet="ghxoskAIZae-_ ", max_size=8)),
                  max_size=14).map("".join)
_SPECS = [OutputSpec(), OutputSpec(max_bytes=40), OutputSpec(max_bytes=41), OutputSpec(max_bytes=10_000)]


def _python_untouched(text: str, spec: OutputSpec) -> bool:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outputs, "_C_PLAIN_OUTPUT", None)
        return untouched(text, spec)


@settings(max_examples=1500, deadline=None)
@given(text=_texts, spec=st.sampled_from(_SPECS))
def test_the_core_answers_untouched_as_python_does(text, spec):
    expected = _python_untouched(text, spec)
    assert untouched(text, spec) == expected
    plan = untouched_plan(spec)
    assert plan is not None
    assert untouched_with(text, plan, spec) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC.", True),
    ("use the BeArEr token", False),  # lower-case triggers match in any case
    ("my SECRET", False),
    ("nothing secre t here", True),
    ("AKI A", True),
    ("xAKIA", False),  # the trigger alone decides (the regex runs on the general path)
    ("café ÿ", True),  # Latin-1 text: one byte per character, read by the core
    ("Kelvin \u212a", True),  # wider text: Python answers
    ("İbearer", False),
    ("order 123456789012 of 7", True),  # 13 digits, no run of 13
    ("1234567890123", False),
    ("", True),
])
def test_plain_output_on_chosen_texts(text, expected):
    spec = OutputSpec()
    assert untouched(text, spec) is expected is _python_untouched(text, spec)
    assert untouched_with(text, untouched_plan(spec), spec) is expected


def test_plain_output_reads_the_cap_in_utf8_bytes():
    gates = _redactor(())._gates
    assert _C.plain_output("ab12", gates, -1) == 2
    assert _C.plain_output("é" * 10, gates, 20) == 0
    assert _C.plain_output("é" * 10, gates, 19) == -1
    assert _C.plain_output("\u212a", gates, -1) == -2  # not one byte per character
    assert _C.plain_output("a bearer", gates, -1) == -1


def test_output_gates_refuses_what_the_scan_cannot_take():
    assert _C.output_gates(((b"\xc3\xa9", 0, False),)) is None  # not ASCII
    assert _C.output_gates(((b"Ab", 0, True),)) is None  # an upper-case letter in a lower-case trigger
    assert _C.output_gates(((b"ab", 2, False),)) is None  # the offset outside the trigger
    assert _C.output_gates(((b"", 0, False),)) is None
    assert _C.output_gates(tuple((b"a", 0, False) for _ in range(65))) is None
    with pytest.raises(TypeError):
        _C.output_gates([(b"a", 0, False)])
    with pytest.raises(TypeError):
        _C.output_gates((("a", 0, False),))
    with pytest.raises(ValueError):
        _C.plain_output("text", object(), -1)  # not a compiled capsule
    compiled = _C.output_gates(((b"ab", 1, False), (b"cd", 0, True)))
    assert _C.plain_output("xaby", compiled, -1) == -1
    assert _C.plain_output("xCDy", compiled, -1) == -1
    assert _C.plain_output("xAB9", compiled, -1) == 1


def test_the_plan_knows_how_few_digits_no_untriggered_pattern_can_match():
    plan = untouched_plan(OutputSpec())
    assert plan is not None and plan[3] == min(p.min_digits for p in _redactor(())._untriggered) == 13
    assert untouched_plan(OutputSpec(redact=("x",))) is None and untouched_plan(OutputSpec(schema={"type": "string"})) is None


def test_store_spend_keeps_the_high_water_mark_under_the_lock():
    bucket = math.floor(T0 / 60)
    s = _store({"a": (bucket, 5)}, {}, high=T0 + 10)
    assert _C.store_spend(s, (("a", 3600.0, 1),), T0, 0) == {"a": 1}  # T0 raised to T0 + 10, still in the bucket
    assert s._high == T0 + 10
    assert _C.store_spend(s, (("a", 3600.0, 1),), T0 + 20, 0) == {"a": 2}
    assert s._high == T0 + 20
    assert _C.store_spend(s, (("a", 3600.0, 1),), T0 + 60, 0) is None  # the lease's bucket ended; nothing spent
    assert s._leases["a"].left == 3 and s._high == T0 + 60
    assert s._lock.acquire(False)  # released on every way out
    s._lock.release()
    with pytest.raises(ValueError, match="cost must be a non-negative int"):
        _C.store_spend(s, (("a", 3600.0, -1),), T0 + 60, 0)
    assert s._lock.acquire(False)
    s._lock.release()
