"""Replay reads the audit log: what would these manifests have decided on last week's calls?"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from toolguard import Call, Guard, Policy, load_manifests
from toolguard.cli import main
from toolguard.replay import load_traces

MANIFESTS = Path(__file__).parents[1] / "core" / "manifests"
OK = {"to": ["bob@acme.example"], "subject": "s", "body": "b"}


def _log(tmp_path: Path, args_mode: str = "full") -> Path:
    path = tmp_path / "audit.jsonl"
    g = Guard(load_manifests(MANIFESTS), policy=Policy.model_validate({"audit": {"path": str(path), "args": args_mode}}))
    s = g.session("alice", "conv-1")
    g.run(s, Call("send_email", OK, "c1"), lambda a: "sent")
    g.run(s, Call("send_email", {**OK, "to": ["eve@evil.test"]}, "c2"), lambda a: "sent")
    g.run(s, Call("send_email", {"to": "oops"}, "c3"), lambda a: "sent")
    g.run(g.session("bob", "conv-9"), Call("fetch_url", {"url": "https://example.org/"}, "c1"), lambda a: "page")
    return path


def test_audit_log_becomes_one_trace_per_session(tmp_path):
    traces = load_traces(_log(tmp_path))
    by_id = {t.id: t for t in traces}
    assert set(by_id) == {"audit:alice/conv-1", "audit:bob/conv-9"}
    alice = by_id["audit:alice/conv-1"]
    assert [c.id for m in alice.messages for c in m.calls] == ["c1", "c2", "c3"]
    assert alice.expect == {"c1": "allow", "c2": "stop", "c3": "stop"}


def test_same_manifests_reproduce_the_logged_verdicts(tmp_path):
    log = _log(tmp_path)
    res = CliRunner().invoke(main, ["replay", str(log), "--manifests", str(MANIFESTS), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)["summary"]
    assert summary["calls"] == 4


def test_a_looser_policy_shows_what_it_would_have_let_through(tmp_path):
    log = _log(tmp_path)
    loose = tmp_path / "loose"
    loose.mkdir()
    for f in MANIFESTS.glob("*.yaml"):
        shutil.copy(f, loose / f.name)
    (loose / "policy.yaml").write_text("actions: {destination.not_allowed: allow}\n")
    res = CliRunner().invoke(main, ["replay", str(log), "--manifests", str(loose), "--compare", str(MANIFESTS), "--json"])
    assert res.exit_code == 1, res.output  # the logged hold of c2 would now be allowed: a mismatch
    out = json.loads(res.output)
    changed = {(c["trace"], c["call"]) for c in out["changes"]}
    assert changed == {("audit:alice/conv-1", "c2")}


def test_masked_arguments_cannot_be_replayed(tmp_path):
    log = _log(tmp_path, "hash")
    res = CliRunner().invoke(main, ["replay", str(log), "--manifests", str(MANIFESTS)])
    assert res.exit_code == 1
    assert "audit.args: full" in res.output
