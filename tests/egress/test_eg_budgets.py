"""Budgets from manifests and policy.yaml, enforced by the guard before the tool runs."""

from __future__ import annotations

import textwrap

import pytest
from eg_support import (
    BACKENDS,
    EMAIL,
    FETCH,
    KB,
    NOTES,
    Clock,
    email,
    guard_with,
    kb_result,
    manifests,
    open_stores,
    policy,
    sent,
)

from toolguard import Call, ManifestError, load_policy
from toolguard.egress import Budgets


class Tool:
    def __init__(self, result="sent"):
        self.ran = 0
        self.result = result

    def __call__(self, args):
        self.ran += 1
        return self.result


@pytest.fixture(params=BACKENDS)
def counters(request, tmp_path):
    return open_stores(request.param, request, tmp_path)[0]


def test_manifest_call_budget_holds_the_call_over_it(counters):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 2, "per": "1h"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("alice", "c")
    tool = Tool()
    outs = [g.run(s, Call("send_email", email("bob@acme.example"), f"c{i}"), tool) for i in range(3)]
    assert [o.status for o in outs] == ["executed", "executed", "held"]
    assert tool.ran == 2
    [f] = outs[2].decision.findings
    assert f.code == "budget.exceeded" and f.action == "hold"
    ev = f.evidence[0].to_dict()
    assert ev["kind"] == "limit" and ev["metric"] == "calls" and ev["max"] == 2 and ev["used"] == 2 and ev["per"] == 3600
    assert ev["budget"] == "manifest send_email: limits.calls"
    assert "limits.calls (2 calls per 1h)" in f.message and "'alice'" in f.message


def test_budgets_are_per_principal(counters):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 1, "per": "1h"}}})
    g = guard_with(ms, counters=counters)
    assert g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "1"), sent).status == "executed"
    assert g.run(g.session("bob"), Call("send_email", email("b@acme.example"), "2"), sent).status == "executed"
    assert g.run(g.session("alice", "other-conversation"), Call("send_email", email("b@acme.example"), "3"), sent).status == "held"


@pytest.mark.parametrize(("action", "status", "ran"), [("deny", "denied", 0), ("allow", "executed", 1)], ids=["deny", "allow"])
def test_budget_action_can_be_overridden(counters, action, status, ran):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 0, "per": "1h"}}, "actions": {"budget.exceeded": action}})
    g = guard_with(ms, counters=counters)
    tool = Tool()
    out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "1"), tool)
    assert out.status == status and tool.ran == ran
    # An over-budget call the policy lets through is still counted.
    if action == "allow":
        assert g.accounting.usage("alice", ["send_email"])[0]["used"] == 1


def test_egress_bytes_count_payload_and_destinations(counters):
    ms = manifests(EMAIL, send_email={"limits": {"egress_bytes": {"max": "100B", "per": "1d"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("alice")
    assert g.run(s, Call("send_email", email("b@acme.example", body="x" * 40, subject="hé"), "1"), sent).status == "executed"
    [row] = g.accounting.usage("alice", ["send_email"])
    assert row["used"] == 40 + len("hé".encode()) + len("b@acme.example")
    out = g.run(s, Call("send_email", email("b@acme.example", body="y" * 60), "2"), sent)
    assert out.status == "held" and out.decision.findings[0].evidence[0].detail["metric"] == "egress_bytes"


def test_distinct_destinations_count_normalised_values(counters):
    ms = manifests(EMAIL, send_email={"limits": {"distinct_destinations": {"max": 2, "per": "1d"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("alice")
    run = lambda i, *to: g.run(s, Call("send_email", email(*to), str(i)), sent).status  # noqa: E731
    assert run(1, "a@acme.example", "B@ACME.EXAMPLE") == "executed"
    assert run(2, "A@acme.example") == "executed"  # the same address, normalised
    assert run(3, "c@acme.example") == "held"
    assert run(4, "b@acme.example") == "executed"


def test_url_destinations_count_by_host(counters):
    ms = manifests(FETCH, fetch={"limits": {"distinct_destinations": {"max": 1, "per": "1h"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("alice")
    assert g.run(s, Call("fetch", {"url": "https://docs.example/a"}, "1"), sent).status == "executed"
    assert g.run(s, Call("fetch", {"url": "https://DOCS.example./b?q=1"}, "2"), sent).status == "executed"
    assert g.run(s, Call("fetch", {"url": "https://other.example/"}, "3"), sent).status == "held"


def test_class_budgets_total_across_tools_and_per_destination(counters):
    pol = policy(principals={
        "default": {"calls": {"max": 100, "per": "1h"}},
        "classes": {"free": {"calls": {"max": 3, "per": "1h"}, "per_destination": {"calls": {"max": 1, "per": "1h"}}}},
        "members": {"trial-*": "free"},
    })
    g = guard_with(manifests(EMAIL, NOTES), pol, counters=counters)
    s = g.session("trial-42")
    assert g.run(s, Call("weather", {"city": "Oslo"}, "1"), sent).status == "executed"
    assert g.run(s, Call("send_email", email("a@acme.example"), "2"), sent).status == "executed"
    out = g.run(s, Call("send_email", email("a@acme.example"), "3"), sent)
    assert out.status == "held" and "per_destination.calls" in out.decision.findings[0].message
    assert g.run(s, Call("send_email", email("b@acme.example"), "4"), sent).status == "executed"
    out = g.run(s, Call("weather", {"city": "Oslo"}, "5"), sent)
    assert out.status == "held" and "principals.classes.free.calls" in out.decision.findings[0].message
    # A principal outside the class has the default budget.
    assert all(g.run(g.session("carol"), Call("weather", {"city": "x"}, str(i)), sent).status == "executed" for i in range(5))


def test_denied_and_held_calls_spend_nothing(counters):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 1, "per": "1h"}}, "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}]})
    g = guard_with(ms, counters=counters)
    s = g.session("alice")
    assert g.run(s, Call("send_email", {"to": 5}, "1"), sent).status == "denied"
    assert g.run(s, Call("send_email", email("eve@evil.example"), "2"), sent).status == "held"
    assert g.accounting.usage("alice", ["send_email"])[0]["used"] == 0
    assert g.run(s, Call("send_email", email("bob@acme.example"), "3"), sent).status == "executed"


def test_a_call_is_counted_before_the_tool_runs(counters):
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 1, "per": "1h"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("alice")
    seen = []

    def tool(args):
        seen.append(g.accounting.usage("alice", ["send_email"])[0]["used"])
        raise ConnectionError("smtp down")

    with pytest.raises(ConnectionError):
        g.run(s, Call("send_email", email("b@acme.example"), "1"), tool)
    assert seen == [1]  # already counted while the tool ran
    assert g.run(s, Call("send_email", email("b@acme.example"), "2"), sent).status == "held"


def test_windows_slide_with_the_clock_and_ignore_a_clock_going_back(counters):
    clock = Clock()
    ms = manifests(EMAIL, send_email={"limits": {"calls": {"max": 1, "per": "1h"}}})
    g = guard_with(ms, counters=counters, clock=clock)
    s = g.session("alice")
    assert g.run(s, Call("send_email", email("b@acme.example"), "1"), sent).status == "executed"
    clock.t -= 7200  # the host clock is set back two hours
    assert g.run(s, Call("send_email", email("b@acme.example"), "2"), sent).status == "held"
    clock.t += 7200 + 3600 + 61
    assert g.run(s, Call("send_email", email("b@acme.example"), "3"), sent).status == "executed"


def test_output_items_budget_counts_distinct_documents_and_withholds_the_output(counters):
    ms = manifests(KB, kb_search={"limits": {"output_items": {"max": 3, "per": "1d"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("client-7")
    out = g.run(s, Call("kb_search", {"q": "refunds"}, "1"), lambda a: kb_result("d1", "d2"))
    assert out.status == "executed" and "d1" in out.result
    # The same documents again are not new items.
    assert g.run(s, Call("kb_search", {"q": "refunds?"}, "2"), lambda a: kb_result("d2", "d1")).status == "executed"
    sources = len(s.ledger.sources)
    out = g.run(s, Call("kb_search", {"q": "pricing"}, "3"), lambda a: kb_result("d3", "d4"))
    assert out.status == "held" and out.result is None
    f = out.decision.findings[0]
    assert f.code == "budget.exceeded" and f.evidence[0].detail["edge"] == "output" and f.evidence[0].detail["metric"] == "output_items"
    assert len(s.ledger.sources) == sources  # the withheld output never entered the session
    assert g.accounting.usage("client-7", ["kb_search"])[0]["used"] == 2


def test_output_bytes_of_labelled_tools_count_against_class_budgets(counters):
    pol = policy(principals={"default": {"output_bytes": {"max": "200B", "per": "1d"}}})
    g = guard_with(manifests(KB, NOTES), pol, counters=counters)
    s = g.session("client-7")
    big = "w" * 500
    # Unlabelled output does not count against class output budgets.
    assert g.run(s, Call("weather", {"city": "x"}, "1"), lambda a: big).status == "executed"
    assert g.run(s, Call("kb_search", {"q": "a"}, "2"), lambda a: kb_result("d1")).status == "executed"
    assert g.run(s, Call("kb_search", {"q": "b"}, "3"), lambda a: kb_result("d" * 300)).status == "held"


def test_budgets_resolve_classes_members_and_inheritance():
    pol = policy(principals={
        "default": {"calls": {"max": 10, "per": "1h"}, "egress_bytes": {"max": "1MB", "per": "1d"}},
        "classes": {
            "free": {"calls": {"max": 2, "per": "1h"}},
            "internal": {"egress_bytes": None, "calls": None},
        },
        "members": {"alice": "internal", "trial-*": "free", "t*": "default"},
    })
    b = Budgets(pol)
    assert [b.principal_class(p) for p in ("alice", "trial-1", "tom", "zed")] == ["internal", "free", "default", "default"]
    free = b.limits_of("free")
    assert free.calls.max == 2 and free.egress_bytes.max == 1_000_000  # inherited
    internal = b.limits_of("internal")
    assert internal.calls is None and internal.egress_bytes is None  # null drops the inherited budget
    b2 = Budgets(pol, principal_class=lambda p: "free" if p == "alice" else None)
    assert b2.principal_class("alice") == "free" and b2.principal_class("trial-9") == "free"


POLICY_ERRORS = [
    ("principals: {members: {alice: gold}}", "/principals", "unknown class 'gold'"),
    ("principals: {default: {calls: {max: 5, per: soon}}}", "/principals/default/calls/per", "invalid duration 'soon'"),
    ("principals: {default: {calls: {max: -1, per: 1h}}}", "/principals/default/calls/max", "greater than or equal to 0"),
    ("principals: {default: {callz: {max: 1, per: 1h}}}", "/principals/default/callz", "unknown key 'callz'"),
    ("principals: {classes: {default: {}}}", "/principals", "'default' is reserved"),
    ("principals: {default: {per_destination: {distinct_destinations: {max: 1, per: 1h}}}}", "/principals/default/per_destination/distinct_destinations", "unknown key"),
    ("cutoff: [{when: denyed, count: 3, within: 10m}]", "/cutoff/0/when", "unknown event 'denyed'"),
    ("cutoff: [{when: denied, count: 0, within: 10m}]", "/cutoff/0/count", "greater than or equal to 1"),
    ("cutoff: [{when: denied, count: true, within: 10m}]", "/cutoff/0/count", "valid integer"),
    ("cutoff: [{when: denied, count: 3}]", "/cutoff/0/within", "missing required key 'within'"),
    ("cutoff: [{when: denied, count: 3, within: -5}]", "/cutoff/0/within", "must be positive"),
    ("cutoff: [{when: denied, budget: calls, count: 3, within: 1h}]", "/cutoff/0", "'budget' only narrows 'when: budget.exceeded'"),
    ("cutoff: [{when: budget.exceeded, budget: tokens, count: 3, within: 1h}]", "/cutoff/0/budget", "got 'tokens'"),
    ("cutoff: [{when: principal.cut_off, count: 1, within: 1h}]", "/cutoff/0", "cannot trigger a cut-off"),
    ("cutoff: {when: denied}", "/cutoff", "valid"),
    ("audit: {args: everything}", "/audit/args", "got 'everything'"),
    ("audit: {rotate_bytes: 10}", "/audit/rotate_bytes", "too small"),
    ("audit: {writer: async}", "/audit/writer", "'inline' or 'thread'"),
]


@pytest.mark.parametrize(("text", "pointer", "message"), POLICY_ERRORS, ids=[p for _, p, _ in POLICY_ERRORS])
def test_bad_policy_sections_get_precise_errors(tmp_path, text, pointer, message):
    f = tmp_path / "policy.yaml"
    f.write_text("# budgets\n" + text + "\n")
    with pytest.raises(ManifestError) as info:
        load_policy(f)
    issues = info.value.issues
    assert any(i.pointer == pointer and message in i.message for i in issues), [str(i) for i in issues]
    assert all(i.line == 2 for i in issues)


def test_full_policy_example_loads(tmp_path):
    f = tmp_path / "policy.yaml"
    f.write_text(textwrap.dedent("""\
        principals:
          default:
            calls: {max: 1000, per: 1h}
            egress_bytes: {max: 10MB, per: 1d}
          classes:
            free:
              calls: {max: 50, per: 1h}
              egress_bytes: {max: 1MB, per: 1d}
              output_items: {max: 200, per: 1d}
              tools:
                send_email: {calls: {max: 10, per: 1d}}
              per_destination:
                calls: {max: 20, per: 1h}
          members:
            "trial-*": free
          counted_labels: [private, proprietary]
        cutoff:
          - {when: denied, count: 3, within: 10m}
          - {when: budget.exceeded, budget: output_items, count: 2, within: 1d, id: kb-extraction}
        audit:
          path: audit/toolguard.jsonl
          args: masked
          fsync: interval
          rotate_bytes: 100MB
        """))
    pol = load_policy(f)
    assert pol.principals.classes["free"].tools["send_email"].calls.max == 10
    assert pol.cutoff[1].id == "kb-extraction" and pol.cutoff[0].within == 600
    assert pol.audit.rotate_bytes == 100_000_000


def test_an_approved_call_is_counted_and_its_output_checked_but_never_withheld(counters):
    ms = manifests(KB, kb_search={"limits": {"calls": {"max": 1, "per": "1h"}, "output_items": {"max": 1, "per": "1d"}}})
    g = guard_with(ms, counters=counters)
    s = g.session("client-1")
    call = Call("kb_search", {"q": "x"}, "a1")
    g.accounting.charge_approved(call, s)
    g.accounting.charge_approved(call, s)  # over the budget: an approver let it run, so it counts
    value = g.finish_approved(s, call, kb_result("d1", "d2") + " key AKIA" + "IOSFODNN7EXAMPLE")
    assert value is not None and "[REDACTED:aws_access_key_id]" in value
    rows = {r["metric"]: r["used"] for r in g.accounting.usage("client-1", ["kb_search"])}
    assert rows["calls"] == 2
    assert s.ledger.sources[-1].length == len(value)


def test_policy_store_and_audit_path_configure_the_guard(tmp_path):
    import yaml

    from toolguard import Guard
    from toolguard.audit import verify
    from toolguard.egress import LeasedCounterStore

    (tmp_path / "tools.yaml").write_text(yaml.safe_dump({**EMAIL, "limits": {"calls": {"max": 1, "per": "1h"}}}))
    db = tmp_path / "state.db"
    log = tmp_path / "logs" / "audit.jsonl"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({
        "store": f"sqlite:///{db}",
        "audit": {"path": str(log), "args": "hash"},
        "cutoff": [{"when": "held", "count": 1, "within": "1h"}],
    }))
    g = Guard.from_path(tmp_path, telemetry=False)
    assert isinstance(g.accounting.counters, LeasedCounterStore)
    s = g.session("alice")
    assert g.run(s, Call("send_email", email("b@acme.example"), "1"), sent).status == "executed"
    out = g.run(s, Call("send_email", email("b@acme.example"), "2"), sent)
    assert out.status == "denied" and out.decision.codes[0] == "principal.cut_off"
    # Another connection to the same store (another process, say) sees the cut-off.
    from toolguard.cutoff import SqlKillList
    from toolguard.stores.sql import Database

    other = Database(f"sqlite:///{db}")
    try:
        assert SqlKillList(other).get("alice") is not None
    finally:
        other.close()
    g.accounting.audit.close()
    assert verify([log]).ok


def test_policy_audit_writer_thread_opens_the_background_writer(tmp_path):
    import yaml

    from toolguard import Guard
    from toolguard.audit import read_records, verify

    (tmp_path / "tools.yaml").write_text(yaml.safe_dump(EMAIL))
    log = tmp_path / "audit.jsonl"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({"audit": {"path": str(log), "writer": "thread"}}))
    g = Guard.from_path(tmp_path, telemetry=False)
    audit = g.accounting.audit
    assert audit is not None and audit._thread is not None
    s = g.session("alice")
    for i in range(20):
        assert g.run(s, Call("send_email", email("b@acme.example"), str(i)), sent).status == "executed"
    audit.close()
    assert verify([log]).ok
    records = [rec for _, _, rec, _ in read_records([log]) if rec is not None and rec.get("type") == "decision"]
    assert [r["call_id"] for r in records] == [str(i) for i in range(20)]
