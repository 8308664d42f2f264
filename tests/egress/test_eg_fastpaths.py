"""The per-call fast paths give the answers of the general code they stand in for."""

from __future__ import annotations

import math
from typing import Any

import pytest
from eg_support import EMAIL, FETCH, manifests, policy

from toolguard import Call, Guard, _pointer
from toolguard.accounting import measure_egress
from toolguard.egress import (
    Charge,
    LeasedCounterStore,
    MemoryCounterStore,
    _check_charge,
    _check_charges,
)
from toolguard.manifest import OUTWARD_EFFECTS, Manifest, manifest_from_dict

T0 = 1_700_000_000.0


def reference_egress(call: Call, manifest: Manifest) -> tuple[int, list[tuple[str, str, str, tuple[str, ...]]]]:
    """measure_egress as written before its pointers were compiled (the specification)."""

    def utf8(s: str) -> int:
        return len(s.encode("utf-8", "surrogatepass"))

    args = call.args if isinstance(call.args, dict) else {}
    dests = []
    for spec in manifest.destinations:
        for ptr, value in _pointer.resolve(args, spec.tokens):
            if isinstance(value, str):
                dests.append((spec.kind, value, ptr, spec.roots))
    total = 0
    if manifest.payload_tokens is not None:
        seen: set[str] = set()
        for _, toks in manifest.payload_tokens:
            for ptr, value in _pointer.resolve(args, toks):
                for p, s in _pointer.walk_strings(value, ptr):
                    if p not in seen:
                        seen.add(p)
                        total += utf8(s)
        total += sum(utf8(v) for _, v, p, _ in dests if p not in seen)
    elif manifest.side_effect in OUTWARD_EFFECTS:
        total = sum(utf8(s) for _, s in _pointer.walk_strings(args))
    else:
        total = sum(utf8(v) for k, v, _, _ in dests if k not in ("markdown", "html"))
    return total, dests


SHAPES = {
    **{k: v for k, v in EMAIL.items() if k != "payload"},
    "arguments": {"type": "object"},
    "destinations": [
        {"arg": "/to/*", "kind": "email"},
        {"arg": "/cc", "kind": "email"},
        {"arg": "/links/*/href", "kind": "url"},
        {"arg": "/a~1b", "kind": "url"},
        {"arg": "/notes", "kind": "markdown"},
    ],
}
MANIFESTS = [
    manifest_from_dict(EMAIL),
    manifest_from_dict(FETCH),
    manifest_from_dict({**SHAPES, "payload": ["/body", "/subject", "/to/*", "/cc", "/meta"]}),
    manifest_from_dict(SHAPES),  # outward, no payload: every string counts
    manifest_from_dict({**SHAPES, "side_effect": "read"}),  # read, no payload: destinations only
]
ARGS: list[Any] = [
    {"to": ["bob@acme.example"], "subject": "hi", "body": "the numbers"},
    {"to": ["é@acme.example", "x@acme.example"], "subject": "ünï", "body": "\ud800 surrogate", "cc": "c@acme.example"},
    {"to": {"first": "a@acme.example", "second": 3}, "body": ["a", {"b": "c"}], "cc": ["not", "a", "string"]},
    {"to": "not-a-list", "body": None, "meta": {"k": ["v", 1, 2.5]}, "links": [{"href": "https://a.example/x"}, {"href": 1}]},
    {"a/b": "https://b.example/?q=1", "notes": "see [x](https://c.example)", "url": "https://d.example/p"},
    {"to": [], "subject": "", "body": ""},
    {},
    ["not", "a", "dict"],
    "text",
]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=range(len(MANIFESTS)))
@pytest.mark.parametrize("args", ARGS, ids=range(len(ARGS)))
def test_compiled_pointers_measure_what_the_reference_measures(manifest, args):
    call = Call(manifest.tool, args, "c1")
    assert measure_egress(call, manifest) == reference_egress(call, manifest)


def test_prebuilt_charges_are_the_charges_the_budgets_give():
    pol = policy(principals={
        "members": {"bob": "gold", "svc-*": "service"},
        "default": {"calls": {"max": 100, "per": "1h"}, "egress_bytes": {"max": "1MB", "per": "1d"}},
        "classes": {"gold": {"egress_bytes": {"max": "10MB", "per": "1d"}}, "service": {"tools": {"send_email": {"calls": {"max": 5, "per": "1h"}}}}},
    })
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 50, "per": "1h"}, "egress_bytes": {"max": "2MB", "per": "1d"}}})
    g = Guard(ms, policy=pol, telemetry=False)
    acc = g.accounting
    m = ms.get("send_email")
    for principal in ("alice", "bob", "svc-1", "a/b", "x y"):
        cls = acc.budgets.principal_class(principal)
        slots, _ = acc.budgets.slots(cls, "send_email", m)
        plan = acc._charge_plan(principal, m)
        assert plan.template is not None
        for egress in (0, 1, 12345):
            assert plan.charges(egress) == acc.budgets.call_charges(principal, slots, egress, [])
    # A manifest reloaded under the same name gets its own plan.
    ms2 = manifests(EMAIL, send_email={"limits": {"calls": {"max": 7, "per": "1h"}}})
    acc.manifests = ms2
    acc.budgets = type(acc.budgets)(pol)
    plan = acc._charge_plan("alice", ms2.get("send_email"))
    assert sorted(c.limit for c in plan.charges(0) if c.metric == "calls") == [7, 100]  # the new limit, not 50


def test_per_destination_budgets_are_built_per_call():
    pol = policy(principals={"default": {"per_destination": {"calls": {"max": 2, "per": "1h"}}, "distinct_destinations": {"max": 9, "per": "1d"}}})
    g = Guard(manifests(EMAIL), policy=pol, telemetry=False)
    plan = g.accounting._charge_plan("alice", g.manifests.get("send_email"))
    assert plan.by_destination and plan.template is None
    session = g.session("alice")
    for i, expected in enumerate(["executed", "executed", "held"]):
        out = g.run(session, Call("send_email", {"to": ["b@acme.example"], "subject": "s", "body": "b"}, f"c{i}"), lambda a: "ok")
        assert out.status == expected


CHARGES = [
    Charge("k", 1, 3600.0, 1),
    Charge("k", 0, 1, 0),
    Charge("k", True, 60.0, 1),  # type: ignore[arg-type]  # a bool limit: accepted as before
    Charge("k", 1, True, 1),  # type: ignore[arg-type]
    Charge("k", 1, 3600.0, -1),
    Charge("k", 1, 3600.0, True),  # type: ignore[arg-type]
    Charge("k", 1, 3600.0, 1.0),  # type: ignore[arg-type]
    Charge("k", -1, 3600.0, 1),
    Charge("k", 1.5, 3600.0, 1),  # type: ignore[arg-type]
    Charge("k", 1, 0.0, 1),
    Charge("k", 1, -5, 1),
    Charge("k", 1, math.nan, 1),
    Charge("k", 1, math.inf, 1),
    Charge("k", 1, "60", 1),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("charge", CHARGES, ids=range(len(CHARGES)))
def test_the_quick_charge_check_refuses_what_the_full_check_refuses(charge):
    try:
        _check_charge(charge)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)[:20]):
            _check_charges([Charge("ok", 1, 1.0), charge])
    else:
        _check_charges([Charge("ok", 1, 1.0), charge])


def test_a_lease_pays_for_repeated_keys_in_one_reservation_together():
    inner = MemoryCounterStore()
    store = LeasedCounterStore(inner, share=0.1)
    c = Charge("alice/all/calls/3600", 100, 3600.0, 1)
    assert store.reserve([c], T0).ok  # takes a lease of 10 (+1 spent)
    for _ in range(4):
        res = store.reserve([c, c], T0 + 1)  # from the lease: 2 units each
        assert res.ok
    assert res.usage == {c.key: 9}
    assert store.reserve([c] * 3, T0 + 2).ok  # more than the lease has left: the shared store pays the rest
    # What the shared store counts is never below what was spent.
    assert inner.peek([Charge(c.key, 100, 3600.0, 0)], T0 + 2).usage[c.key] >= 12
