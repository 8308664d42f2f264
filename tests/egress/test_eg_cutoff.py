"""Cut-off: the kill list (memory, SQLite), the declared rules, the operator CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eg_support import (
    BACKENDS,
    EMAIL,
    KB,
    Clock,
    email,
    guard_with,
    kb_result,
    manifests,
    open_stores,
    policy,
    sent,
)

from toolguard import Call
from toolguard.audit import AuditLog, read_records
from toolguard.cutoff import CutoffRules, KillList, SqlKillList, cutoff_cli, rule_id
from toolguard.manifest import CutoffRule
from toolguard.stores.sql import Database

BAD = {"to": "not-a-list"}  # schema.invalid: denied


@pytest.fixture(params=BACKENDS)
def stores(request, tmp_path):
    return open_stores(request.param, request, tmp_path)


@pytest.fixture(params=BACKENDS)
def kill_list(request, tmp_path) -> KillList:
    return open_stores(request.param, request, tmp_path)[1]


# --------------------------------------------------------------------------------------
# The kill list contract


def test_kill_list_matches_protocol(kill_list):
    assert isinstance(kill_list, KillList)


def test_cut_get_list_lift_history(kill_list):
    assert kill_list.get("mallory") is None and kill_list.list() == []
    e = kill_list.cut("mallory", "scraping the KB", {"count": 3}, by="rule:r1", at=100.0)
    assert (e.principal, e.reason, e.by, e.at, dict(e.evidence)) == ("mallory", "scraping the KB", "rule:r1", 100.0, {"count": 3})
    assert kill_list.get("mallory") == "scraping the KB"
    # Cutting again keeps the first entry.
    again = kill_list.cut("mallory", "another reason", by="operator:ops")
    assert again.reason == "scraping the KB" and again.by == "rule:r1"
    kill_list.cut("eve", "by hand", at=50.0)
    assert [c.principal for c in kill_list.list()] == ["eve", "mallory"]
    lifted = kill_list.lift("mallory", "ops-anna")
    assert lifted is not None and lifted.lifted_by == "ops-anna" and lifted.reason == "scraping the KB"
    assert kill_list.get("mallory") is None
    assert kill_list.lift("mallory", "ops-anna") is None
    [h] = kill_list.history("mallory")
    assert h.lifted_by == "ops-anna" and h.evidence == {"count": 3}
    assert kill_list.entry("eve").reason == "by hand"


@pytest.mark.parametrize(
    ("principal", "reason", "evidence", "match"),
    [
        ("", "r", None, "non-empty string"),
        (5, "r", None, "non-empty string"),
        ("p", "  ", None, "needs a reason"),
        ("p", "r", {"x": object()}, "JSON-serialisable"),
        ("p", "r", {"x": float("nan")}, "JSON-serialisable"),
    ],
    ids=["empty-principal", "int-principal", "blank-reason", "object-evidence", "nan-evidence"],
)
def test_kill_list_refuses_bad_input(kill_list, principal, reason, evidence, match):
    with pytest.raises(ValueError, match=match):
        kill_list.cut(principal, reason, evidence)


def test_sql_kill_list_is_shared_between_connections(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    a, b = Database(url), Database(url)
    try:
        SqlKillList(a).cut("mallory", "shared")
        assert SqlKillList(b).get("mallory") == "shared"
    finally:
        a.close()
        b.close()


def test_sql_kill_list_cache_sees_its_own_changes_at_once(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        kl = SqlKillList(db, cache_ttl=60)
        assert kl.get("m") is None
        kl.cut("m", "x")
        assert kl.get("m") == "x"
        kl.lift("m", "ops")
        assert kl.get("m") is None
    finally:
        db.close()


# --------------------------------------------------------------------------------------
# Rules through the guard


def test_three_denials_in_ten_minutes_cut_the_principal_off(stores):
    counters, kl = stores
    clock = Clock()
    g = guard_with(manifests(EMAIL), policy(cutoff=[{"when": "denied", "count": 3, "within": "10m"}]), clock, counters=counters, kill_list=kl)
    s = g.session("mallory")
    codes = []
    for i in range(3):
        clock.t += 60
        codes.append(g.run(s, Call("send_email", BAD, f"b{i}"), sent).decision.codes)
    assert set(codes[0]) == set(codes[1]) == {"schema.invalid"}
    assert codes[2][0] == "principal.cut_off" and "schema.invalid" in codes[2]
    entry = kl.entry("mallory")
    assert entry is not None and entry.by.startswith("rule:r")
    assert entry.reason.startswith("3 denied calls within 10m (cut-off rule r")
    assert entry.evidence["observed"] == 3 and entry.evidence["count"] == 3
    # Every later call, even a good one in another conversation, is denied.
    tool_ran = []
    out = g.run(g.session("mallory", "new"), Call("send_email", email("b@acme.example"), "ok"), lambda a: tool_ran.append(a))
    assert out.status == "denied" and out.decision.codes == ("principal.cut_off",) and tool_ran == []
    assert "cut off" in out.message
    # Other principals are untouched.
    assert g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "a"), sent).status == "executed"


def test_denials_spread_wider_than_the_window_do_not_cut_off(stores):
    counters, kl = stores
    clock = Clock()
    g = guard_with(manifests(EMAIL), policy(cutoff=[{"when": "denied", "count": 3, "within": "10m"}]), clock, counters=counters, kill_list=kl)
    s = g.session("bob")
    for i in range(6):
        clock.t += 400
        g.run(s, Call("send_email", BAD, f"b{i}"), sent)
    assert kl.get("bob") is None


def test_lifting_restores_calls_and_forgets_the_count(stores):
    counters, kl = stores
    g = guard_with(manifests(EMAIL), policy(cutoff=[{"when": "denied", "count": 2, "within": "1h"}]), counters=counters, kill_list=kl)
    s = g.session("mallory")
    g.run(s, Call("send_email", BAD, "1"), sent)
    g.run(s, Call("send_email", BAD, "2"), sent)
    assert kl.get("mallory") is not None
    assert g.accounting.lift("mallory", "ops") is not None
    assert g.run(s, Call("send_email", email("b@acme.example"), "3"), sent).status == "executed"
    # One more denial does not re-cut at once: the count starts afresh after a lift.
    g.run(s, Call("send_email", BAD, "4"), sent)
    assert kl.get("mallory") is None


def test_output_budget_exceeded_twice_in_a_day_cuts_off(stores):
    counters, kl = stores
    clock = Clock()
    pol = policy(cutoff=[{"when": "budget.exceeded", "budget": "output_items", "count": 2, "within": "1d", "id": "kb-extraction"}])
    ms = manifests(KB, EMAIL, kb_search={"limits": {"output_items": {"max": 2, "per": "1d"}}}, send_email={"limits": {"calls": {"max": 0, "per": "1h"}}})
    g = guard_with(ms, pol, clock, counters=counters, kill_list=kl)
    s = g.session("client-9")
    assert g.run(s, Call("kb_search", {"q": "a"}, "1"), lambda a: kb_result("d1", "d2")).status == "executed"
    # Another budget exceeded does not match the rule's budget.
    assert g.run(s, Call("send_email", email("b@acme.example"), "2"), sent).status == "held"
    assert g.run(s, Call("kb_search", {"q": "b"}, "3"), lambda a: kb_result("d3")).status == "held"
    assert kl.get("client-9") is None
    clock.t += 3600
    out = g.run(s, Call("kb_search", {"q": "c"}, "4"), lambda a: kb_result("d4"))
    assert out.status == "denied" and out.decision.codes[0] == "principal.cut_off"
    assert kl.entry("client-9").by == "rule:kb-extraction"


def test_finding_rules_tool_filter_and_infrastructure_errors(stores):
    counters, kl = stores
    pol = policy(cutoff=[{"when": "schema.invalid", "tool": "kb_search", "count": 1, "within": "1h"}])
    g = guard_with(manifests(EMAIL, KB), pol, counters=counters, kill_list=kl)
    g.run(g.session("p1"), Call("send_email", BAD, "1"), sent)
    assert kl.get("p1") is None
    g.run(g.session("p1"), Call("kb_search", {"q": 5}, "2"), sent)
    assert kl.get("p1") is not None


def test_failures_inside_toolguard_never_count_towards_a_cut_off(stores):
    counters, kl = stores

    def broken(call, manifest, view, pol):
        raise RuntimeError("bug")

    g = guard_with(manifests(EMAIL), policy(cutoff=[{"when": "denied", "count": 1, "within": "1h"}]), counters=counters, kill_list=kl, decide=broken)
    out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "1"), sent)
    assert out.decision.codes == ("guard.error",)
    assert kl.get("alice") is None


def test_operator_cut_and_lift_are_audited(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    g = guard_with(manifests(EMAIL), audit=audit)
    g.accounting.cut("eve", "phishing attempt", "ops-anna")
    out = g.run(g.session("eve"), Call("send_email", email("b@acme.example"), "1"), sent)
    assert out.decision.codes == ("principal.cut_off",) and "phishing attempt" in out.decision.reason
    g.accounting.lift("eve", "ops-anna")
    audit.close()
    recs = [r for _, _, r, _ in read_records([tmp_path / "audit.jsonl"])]
    assert [(r["type"], r.get("event")) for r in recs] == [("cutoff", "cut"), ("decision", None), ("cutoff", "lift")]
    assert recs[0]["by"] == "operator:ops-anna"


def test_rule_ids_follow_the_rule_and_duplicates_are_refused():
    a = CutoffRule(when="denied", count=3, within=600)
    b = CutoffRule(when="denied", count=3, within=600, reason="other words")
    c = CutoffRule(when="denied", count=4, within=600)
    assert rule_id(a) == rule_id(b) != rule_id(c)
    with pytest.raises(Exception, match="share the id"):
        CutoffRules([a, b])


# --------------------------------------------------------------------------------------
# CLI


def test_cutoff_cli_add_list_lift(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    r = CliRunner()
    res = r.invoke(cutoff_cli, ["list", "--store", url])
    assert res.exit_code == 0 and "no principal is cut off" in res.output
    res = r.invoke(cutoff_cli, ["add", "mallory", "--reason", "KB scraping", "--operator", "anna", "--store", url])
    assert res.exit_code == 0, res.output
    res = r.invoke(cutoff_cli, ["list", "--store", url, "--json"])
    [entry] = json.loads(res.output)
    assert entry["principal"] == "mallory" and entry["by"] == "operator:anna" and entry["reason"] == "KB scraping"
    res = r.invoke(cutoff_cli, ["list", "--store", url])
    assert "mallory" in res.output and "KB scraping" in res.output
    res = r.invoke(cutoff_cli, ["lift", "mallory", "--operator", "anna", "--store", url])
    assert res.exit_code == 0 and "lifted the cut-off of mallory" in res.output
    res = r.invoke(cutoff_cli, ["lift", "mallory", "--operator", "anna", "--store", url])
    assert res.exit_code == 1 and "mallory is not cut off" in res.output
    res = r.invoke(cutoff_cli, ["list", "--history", "--store", url])
    assert "lifted" in res.output and "by anna" in res.output


def test_cutoff_cli_reads_the_store_from_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TOOLGUARD_STORE", url)
    res = CliRunner().invoke(cutoff_cli, ["add", "m", "--reason", "x", "--operator", "o"])
    assert res.exit_code == 0
    db = Database(url)
    try:
        assert SqlKillList(db).get("m") == "x"
    finally:
        db.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "m"], "Missing option '--reason'"),
        (["add", "m", "--reason", " "], "needs a reason"),
        (["list", "--store", "redis://x"], "unknown store scheme 'redis'"),
    ],
    ids=["no-reason", "blank-reason", "bad-scheme"],
)
def test_cutoff_cli_bad_input(tmp_path, args, message):
    if "--store" not in args:
        args = [*args, "--store", f"sqlite:///{tmp_path / 's.db'}"]
    res = CliRunner().invoke(cutoff_cli, args)
    assert res.exit_code != 0
    assert message in res.output or message in str(res.exception)
