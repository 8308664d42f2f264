"""``toolguard explain``: one call decided, with its findings, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolguard.cli import EXIT_DENY, EXIT_HOLD, main

HERE = Path(__file__).parent
CURRENT = HERE / "manifests" / "current"
CORPUS = HERE.parent / "corpus" / "traces"
EMAIL_OK = {"to": ["bob@acme.example"], "subject": "hi", "body": "the report"}


def run(*args: str):
    return CliRunner(catch_exceptions=False).invoke(main, list(args))


def write(tmp_path: Path, data, name: str = "call.json") -> str:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(p)


def test_allowed_call_prints_verdict_and_no_table(tmp_path):
    call = write(tmp_path, {"tool": "send_email", "args": EMAIL_OK, "id": "c1"})
    result = run("explain", "-m", str(CURRENT), "--call", call)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["send_email (call c1): ALLOW", "reason: no findings"]
    assert len(result.stdout.splitlines()) == 2  # no findings table


def test_held_call_shows_findings_table_with_docs_pointer(tmp_path):
    call = write(tmp_path, {"tool": "send_email", "args": {**EMAIL_OK, "to": ["carol@partner.example"]}, "id": "c9"})
    result = run("explain", "-m", str(CURRENT), "--call", call)
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("send_email (call c9): HOLD")
    assert "reason: /to/0: 'carol@partner.example' is not on the allow-list for /to/*" in out
    assert "destination.not_allowed" in out
    assert "docs/findings.md#destination.not_allowed" in out
    assert "/to/0" in out and "destination: pointer=/to/0" in out


def test_context_builds_the_session_first(tmp_path):
    """The injected-email trace as context: the forward to the injected address is denied."""
    context = CORPUS / "injected_exfiltration.jsonl"
    call = write(tmp_path, {"tool": "send_email", "args": {"to": ["attacker@evil.test"], "subject": "x", "body": "hello"}, "id": "next"})
    without = run("explain", "-m", str(CURRENT), "--call", call, "--json")
    with_context = run("explain", "-m", str(CURRENT), "--call", call, "--json", "--context", str(context), "--principal", "alice")
    assert without.exit_code == 0 and with_context.exit_code == 0
    before, after = json.loads(without.stdout), json.loads(with_context.stdout)
    assert before["verdict"] == "hold"
    assert after["verdict"] == "deny"
    codes = [f["code"] for f in after["findings"]]
    assert codes[0] == "destination.untrusted_origin"
    assert "the output of read_inbox (call c1)" in after["reason"]


def test_json_is_the_decision_dict(tmp_path):
    call = write(tmp_path, {"tool": "send_email", "args": {"to": "bob@acme.example"}, "id": "c2"})
    result = run("explain", "-m", str(CURRENT), "--call", call, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"decision_id", "tool", "call_id", "verdict", "reason", "findings"}
    assert data["verdict"] == "deny" and data["call_id"] == "c2" and data["tool"] == "send_email"
    assert {f["code"] for f in data["findings"]} == {"schema.invalid"}
    assert all(set(f) == {"code", "action", "pointer", "message", "evidence"} for f in data["findings"])


@pytest.mark.parametrize(
    ("call", "verdict"),
    [
        ({"tool": "send_email", "args": EMAIL_OK}, "allow"),
        ({"id": "c3", "type": "function", "function": {"name": "send_email", "arguments": json.dumps(EMAIL_OK)}}, "allow"),
        ({"name": "send_email", "args": EMAIL_OK, "id": "c4"}, "allow"),
        ({"function": {"name": "send_email", "arguments": '{"to": ["bob@acme.exa'}}, "deny"),
        ({"tool": "send_email", "args": "not an object"}, "deny"),
        ({"tool": "rm_rf", "args": {}}, "deny"),
    ],
    ids=["toolguard-shape", "openai-shape", "langchain-shape", "openai-broken-arguments", "args-not-object", "unknown-tool"],
)
def test_call_shapes(tmp_path, call, verdict):
    result = run("explain", "-m", str(CURRENT), "--call", write(tmp_path, call), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == verdict


@pytest.mark.parametrize(
    ("to", "code"),
    [(["bob@acme.example"], 0), (["carol@partner.example"], EXIT_HOLD), ("bob@acme.example", EXIT_DENY)],
    ids=["allow-0", "hold-3", "deny-4"],
)
def test_exit_code_flag_maps_verdicts(tmp_path, to, code):
    call = write(tmp_path, {"tool": "send_email", "args": {**EMAIL_OK, "to": to}})
    assert run("explain", "-m", str(CURRENT), "--call", call, "--exit-code").exit_code == code
    assert run("explain", "-m", str(CURRENT), "--call", call).exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"tool": "send_email",\n  "args": {', "call.json:2:12: invalid JSON: Expecting property name enclosed in double quotes"),
        ('{"tool": "a", "tool": "b", "args": {}}', "call.json: invalid JSON: duplicate key 'tool'"),
        ("[1, 2]", "a call must be a JSON object, not list"),
        ('{"args": {}}', "a call needs 'tool' and 'args'"),
        ('{"tool": 7, "args": {}}', "/tool: the tool name must be a string, not int"),
    ],
    ids=["bad-json", "duplicate-key", "not-an-object", "no-tool", "tool-not-string"],
)
def test_bad_call_files_are_precise_errors(tmp_path, content, message):
    result = run("explain", "-m", str(CURRENT), "--call", write(tmp_path, content))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output


def test_missing_files_exit_1(tmp_path):
    result = run("explain", "-m", str(CURRENT), "--call", str(tmp_path / "nope.json"))
    assert result.exit_code == 1 and "nope.json: no such call file" in result.stderr
    call = write(tmp_path, {"tool": "send_email", "args": EMAIL_OK})
    result = run("explain", "-m", str(tmp_path / "nodir"), "--call", call)
    assert result.exit_code == 1 and "no such file or directory" in result.stderr


def test_bad_context_names_file_and_line(tmp_path):
    ctx = write(tmp_path, '{"role": "user", "content": "hi"}\n{"role": "wizard"}\n', "ctx.jsonl")
    call = write(tmp_path, {"tool": "send_email", "args": EMAIL_OK})
    result = run("explain", "-m", str(CURRENT), "--call", call, "--context", ctx)
    assert result.exit_code == 1
    assert f"{ctx}:2 /role: unknown role 'wizard'" in result.stderr


def test_call_from_stdin(tmp_path):
    runner = CliRunner(catch_exceptions=False)
    result = runner.invoke(main, ["explain", "-m", str(CURRENT), "--call", "-", "--json"], input=json.dumps({"tool": "fetch_url", "args": {"url": "https://docs.acme.example/a"}}))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "allow"


def test_narrow_terminal_lists_findings_instead_of_a_table(tmp_path):
    call = write(tmp_path, {"tool": "send_email", "args": {**EMAIL_OK, "to": ["carol@partner.example"]}, "id": "c9"})
    result = CliRunner(env={"COLUMNS": "80"}, catch_exceptions=False).invoke(main, ["explain", "-m", str(CURRENT), "--call", call])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[2] == "findings:"
    assert lines[3] == "1. destination.not_allowed  HOLD  /to/0  docs/findings.md#destination.not_allowed"
    assert lines[4] == "   /to/0: 'carol@partner.example' is not on the allow-list for /to/*"
    assert lines[5].startswith("   evidence: destination: pointer=/to/0")


def test_every_docs_pointer_has_a_section():
    """The explain output points at docs/findings.md#<code>; each code has its section there."""
    import re

    from toolguard import FINDING_CODES

    text = (HERE.parent.parent / "docs" / "findings.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\S+)\s*$", text, re.MULTILINE))
    assert set(FINDING_CODES) <= sections
