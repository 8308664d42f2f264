"""The email assistant (what `make demo` runs): the injected forward is stopped, the request completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolguard.approvals import SqlApprovalStore
from toolguard.approvals.cli import approvals, approvers
from toolguard.stores.sql import open_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "agents"


@pytest.fixture
def run(example, tmp_path):
    mod = example("email_assistant")
    state = tmp_path / "state"
    return mod, state, mod.main(["--state-dir", str(state), "--quiet"])


def test_every_call_gets_the_expected_verdict(run):
    _, _, result = run
    expected = {
        "call_read_inbox": ("executed", set()),
        "call_read_notes": ("executed", set()),
        "call_forward_notes": ("denied", {"destination.untrusted_origin", "payload.private_data"}),
        "call_malformed": ("denied", {"schema.invalid"}),
        "call_copy_personal": ("held", {"destination.not_allowed"}),
        "call_send_summary": ("executed", set()),
    }
    assert [r.call_id for r in result.rows] == list(expected)
    for call_id, (status, codes) in expected.items():
        row = result.row(call_id)
        assert row.status == status, (call_id, row)
        assert codes <= set(row.codes), (call_id, row.codes)
        if status == "executed":
            assert row.codes == ()
    # The forward was stopped for what it is, not merely for an off-list address.
    forward = result.row("call_forward_notes")
    assert forward.verdict == "deny" and "read_inbox" in forward.reason and "read_notes" in forward.reason
    assert result.row("call_copy_personal").codes == ("destination.not_allowed",)


def test_the_notes_never_leave_and_the_users_request_completes(run):
    mod, _, result = run
    assert result.sent == [{"to": [mod.COLLEAGUE], "subject": "Inbox summary", "body": mod.SUMMARY}]
    assert all(mod.ATTACKER not in m["to"] and mod.NOTES not in m["body"] for m in result.sent)
    assert mod.COLLEAGUE in result.answer


def test_the_held_copy_is_a_durable_pending_record_in_sqlite(run):
    mod, state, result = run
    assert result.hold_id and result.row("call_copy_personal").hold_id == result.hold_id
    assert result.store_url == f"sqlite:///{state / 'state.db'}"
    store = SqlApprovalStore(open_database(result.store_url))  # a fresh connection: it is on disk
    rec = store.get(result.hold_id)
    assert rec.status == "pending"
    assert (rec.tool, rec.principal, rec.args["to"]) == ("send_email", mod.USER, [mod.PERSONAL])
    assert rec.roles == ("mail-approvers",)
    assert [f["code"] for f in rec.findings] == ["destination.not_allowed"]


def test_approving_from_the_cli_then_resuming_sends_the_copy_exactly_once(run, example):
    mod, state, result = run
    url = result.store_url
    cli = CliRunner()
    added = cli.invoke(approvers, ["add", "mara", "--role", "mail-approvers", "--store", url, "--json"])
    assert added.exit_code == 0, added.output
    token = json.loads(added.output)["token"]
    approved = cli.invoke(
        approvals, ["approve", result.hold_id, "--reason", "personal copy is fine", "--store", url],
        env={"TOOLGUARD_APPROVER_TOKEN": token},
    )
    assert approved.exit_code == 0, approved.output

    first = mod.main(["--state-dir", str(state), "--quiet", "--resume", result.hold_id])
    assert first.status == "executed" and first.ran_here
    assert first.result == f"sent to {mod.PERSONAL} (message 1)"
    again = mod.main(["--state-dir", str(state), "--quiet", "--resume", result.hold_id])
    assert again.status == "executed" and not again.ran_here  # reported, never re-run
    assert SqlApprovalStore(open_database(url)).get(result.hold_id).status == "done"


def test_resuming_a_pending_hold_runs_nothing(run):
    mod, state, result = run
    res = mod.main(["--state-dir", str(state), "--quiet", "--resume", result.hold_id])
    assert res.status == "pending" and not res.ran_here


def test_the_printout_has_the_table_and_how_to_approve(example, tmp_path, capsys):
    mod = example("email_assistant")
    result = mod.main([])  # default state: ./.toolguard in the working directory (a tmp dir here)
    out = capsys.readouterr().out
    assert (Path.cwd() / ".toolguard" / "state.db").is_file()
    assert result.store_url == f"sqlite:///{Path.cwd() / '.toolguard' / 'state.db'}"
    for text in ("destination.untrusted_origin", "schema.invalid", "destination.not_allowed", "held", "denied", "allowed"):
        assert text in out
    assert f"approvals approve {result.hold_id}" in out
    assert "approvers add mara --role mail-approvers" in out
    assert "serve" in out and "http://127.0.0.1:8600/" in out
    assert f"--resume {result.hold_id}" in out
    assert "--store" not in out  # the default store needs no option


def test_make_demo_command_runs_as_a_script(tmp_path):
    """What `make demo` runs, in a subprocess from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")}
    env["TOOLGUARD_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "email_assistant.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "hold id h_" in done.stdout and "approvals approve h_" in done.stdout
    assert (tmp_path / "home" / "state.db").is_file()  # TOOLGUARD_HOME is the default store's home
    assert "--store" not in done.stdout
