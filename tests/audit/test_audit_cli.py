"""``toolguard audit verify | tail | stats`` through click."""

from __future__ import annotations

import json

from click.testing import CliRunner

from toolguard.audit import AuditLog, audit_cli


def make_log(tmp_path, n=5):
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p)
    for i in range(n):
        log.append({"type": "decision", "verdict": "deny" if i % 2 else "allow", "tool": "send_email", "principal": f"p{i % 2}",
                    "codes": ["schema.invalid"] if i % 2 else [], "decision_id": f"d{i}"})
    log.append({"type": "output", "tool": "kb", "principal": "p0", "report": {"redactions": {"aws_access_key_id": 2}, "truncated": False}, "decision_id": "d0"})
    log.close()
    return p


def test_verify_ok(tmp_path):
    p = make_log(tmp_path)
    res = CliRunner().invoke(audit_cli, ["verify", str(p)])
    assert res.exit_code == 0 and res.output.startswith("ok: 6 records in 1 file(s), chain intact; head ")


def test_verify_reports_the_damaged_line_and_exits_1(tmp_path):
    p = make_log(tmp_path)
    ls = p.read_text().splitlines(keepends=True)
    rec = json.loads(ls[1])
    rec["verdict"] = "allow"
    ls[1] = json.dumps(rec) + "\n"
    p.write_text("".join(ls))
    res = CliRunner().invoke(audit_cli, ["verify", str(p)])
    assert res.exit_code == 1
    assert f"{p}:2: the record does not match its hash: it was edited" in res.output
    assert "FAILED: 1 problem(s) in 6 records" in res.output
    res = CliRunner().invoke(audit_cli, ["verify", "--json", str(p)])
    out = json.loads(res.stdout)
    assert out["ok"] is False and out["problems"][0]["line"] == 2 and out["problems"][0]["kind"] == "edited"


def test_verify_with_a_key_file(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, key=b"k3y")
    log.append({"type": "note"})
    log.close()
    (tmp_path / "key").write_bytes(b"k3y\n")
    assert CliRunner().invoke(audit_cli, ["verify", "--key-file", str(tmp_path / "key"), str(p)]).exit_code == 0
    assert CliRunner().invoke(audit_cli, ["verify", str(p)]).exit_code == 1


def test_tail_and_stats(tmp_path):
    p = make_log(tmp_path)
    res = CliRunner().invoke(audit_cli, ["tail", "-n", "3", str(p)])
    out = res.output.splitlines()
    assert res.exit_code == 0 and len(out) == 3
    assert "deny" in out[0] and "send_email" in out[0] and "schema.invalid" in out[0] and "d3" in out[0]
    assert "output kb" in out[2] and "aws_access_key_id=2" in out[2]
    res = CliRunner().invoke(audit_cli, ["tail", "--json", "-n", "1", str(p)])
    assert json.loads(res.output)["type"] == "output"
    res = CliRunner().invoke(audit_cli, ["stats", "--json", str(p)])
    s = json.loads(res.output)
    assert s["verdict"] == {"allow": 3, "deny": 2} and s["principal"] == {"p0": 3, "p1": 2}
    assert s["code"] == {"schema.invalid": 2} and s["redaction"] == {"aws_access_key_id": 2}
    res = CliRunner().invoke(audit_cli, ["stats", str(p)])
    assert "verdict:" in res.output and "schema.invalid" in res.output


def test_missing_path_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(audit_cli, ["verify", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 2 and "no such file or directory" in res.output


def test_tail_flags_unreadable_lines(tmp_path):
    p = make_log(tmp_path)
    p.write_text(p.read_text() + "not json\n")
    res = CliRunner().invoke(audit_cli, ["tail", "-n", "1", str(p)])
    assert "unreadable line" in res.output
