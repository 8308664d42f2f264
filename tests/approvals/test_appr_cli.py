"""The approver command line: approvers add/list/revoke, approvals list/show/approve/deny."""

from __future__ import annotations

import json
import time

import click
import pytest
from appr_support import EVIL_ARGS, hold_request
from click.testing import CliRunner

from toolguard.approvals import open_stores
from toolguard.approvals.cli import approvals, approvers, serve

ROOT = click.Group("toolguard", commands=[approvals, approvers, serve])


@pytest.fixture
def cli(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/state.db"
    monkeypatch.setenv("TOOLGUARD_STORE", url)
    runner = CliRunner()

    def run(*args, token=None, **env):
        environ = {"TOOLGUARD_APPROVER_TOKEN": token} if token else {}
        environ.update(env)
        return runner.invoke(ROOT, list(args), env=environ, catch_exceptions=False)

    holds, people = open_stores(url)
    run.holds, run.people, run.url = holds, people, url
    yield run
    holds.db.close()  # type: ignore[attr-defined]


def _add(cli, name, *roles):
    res = cli("approvers", "add", name, *[x for r in roles for x in ("--role", r)])
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[-1]
    assert token.startswith("tga_")
    return token


def _hold(cli, **kw):
    req = hold_request(requested_at=time.time(), **kw)
    cli.holds.submit(req)
    return req.hold_id


def _error(res):
    assert res.exit_code == 1, res.output
    return json.loads(res.stdout)["error"]["code"]


def test_approvers_add_list_revoke(cli):
    res = cli("approvers", "add", "bob", "--role", "mail-approvers", "--role", "finance")
    assert res.exit_code == 0 and "shown once" in res.stdout
    token = res.stdout.strip().splitlines()[-1]
    assert cli.people.authenticate(token).name == "bob"
    listed = json.loads(cli("approvers", "list", "--json").stdout)
    assert listed == [{**listed[0], "name": "bob", "roles": ["mail-approvers", "finance"], "active": True}]
    assert token not in cli("approvers", "list").stdout
    assert _error(cli("approvers", "add", "bob", "--role", "x", "--json")) == "approver_exists"
    res = cli("approvers", "revoke", "bob")
    assert res.exit_code == 0 and "revoked" in res.stdout
    assert "revoked" in cli("approvers", "list").stdout
    assert _error(cli("approvers", "revoke", "nobody", "--json")) == "approver_not_found"
    assert cli("approvers", "add", "bad name", "--role", "r").exit_code == 1


def test_list_show_approve(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    listed = json.loads(cli("approvals", "list", "--json").stdout)
    assert [h["id"] for h in listed] == [hid] and listed[0]["args"] == EVIL_ARGS
    table = cli("approvals", "list").stdout
    assert hid in table and "send_email" in table and "alice" in table
    shown = cli("approvals", "show", hid).stdout
    assert "destination.not_allowed" in shown and "UNTRUSTED SOURCE" in shown and "read_inbox" in shown
    assert "eve@evil.test" in shown
    res = cli("approvals", "approve", hid, "--reason", "known partner", "--json", token=token)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "approved"
    rec = cli.holds.get(hid)
    assert (rec.status, rec.decided_by, rec.reason) == ("approved", "bob", "known partner")
    assert cli("approvals", "list", "--json").stdout.strip() == "[]"
    assert [h["id"] for h in json.loads(cli("approvals", "list", "--all", "--json").stdout)] == [hid]


def test_deny_needs_a_reason_and_records_it(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    assert cli("approvals", "deny", hid, token=token).exit_code == 2  # usage: --reason is required
    res = cli("approvals", "deny", hid, "--reason", "unknown recipient", token=token)
    assert res.exit_code == 0 and "denied by bob" in res.stdout
    assert cli.holds.get(hid).reason == "unknown recipient"


def test_refusals_have_precise_codes(cli):
    bob = _add(cli, "bob", "mail-approvers")
    carol = _add(cli, "carol", "finance")
    alice = _add(cli, "alice", "mail-approvers")
    hid = _hold(cli, principal="alice")
    assert _error(cli("approvals", "approve", hid, "--json")) == "invalid_token"
    assert _error(cli("approvals", "approve", hid, "--json", token="tga_forged")) == "invalid_token"
    assert _error(cli("approvals", "approve", hid, "--json", "--as", "carol", token=bob)) == "invalid_token"
    assert _error(cli("approvals", "approve", hid, "--json", token=carol)) == "not_an_approver"
    assert _error(cli("approvals", "approve", hid, "--json", token=alice)) == "not_an_approver"
    assert _error(cli("approvals", "approve", "h_nope", "--json", token=bob)) == "not_found"
    assert _error(cli("approvals", "show", "h_nope", "--json")) == "not_found"
    assert cli.holds.get(hid).status == "pending"
    assert cli("approvals", "approve", hid, "--as", "bob", token=bob).exit_code == 0
    assert _error(cli("approvals", "deny", hid, "--reason", "late", "--json", token=bob)) == "already_decided"
    res = cli("approvals", "deny", hid, "--reason", "late", token=bob)
    assert res.exit_code == 1 and "already approved by bob" in res.stderr


def test_a_revoked_token_stops_working(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    cli("approvers", "revoke", "bob")
    assert _error(cli("approvals", "approve", hid, "--json", token=token)) == "invalid_token"
    assert cli.holds.get(hid).status == "pending"


def test_expired_holds_are_shown_as_expired(cli):
    token = _add(cli, "bob", "mail-approvers")
    req = hold_request(requested_at=time.time() - 7200)
    cli.holds.submit(req)
    assert json.loads(cli("approvals", "list", "--json").stdout) == []
    assert json.loads(cli("approvals", "show", req.hold_id, "--json").stdout)["status"] == "expired"
    assert _error(cli("approvals", "approve", req.hold_id, "--json", token=token)) == "expired"


def test_approve_with_edits(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    edited = {**EVIL_ARGS, "subject": "redacted"}
    res = cli("approvals", "approve", hid, "--args", json.dumps(edited), token=token)
    assert res.exit_code == 0 and "decided again" in res.stdout
    assert cli.holds.get(hid).args == edited
    other = _hold(cli)
    assert _error(cli("approvals", "approve", other, "--json", "--args", json.dumps({**EVIL_ARGS, "to": ["x@y.z"]}), token=token)) == "edit_not_allowed"
    assert _error(cli("approvals", "approve", other, "--json", "--args", "{not json", token=token)) == "invalid_decision"


def test_stuck_calls_are_listed_and_resolved_by_hand(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    bob = cli.people.authenticate(token)
    cli.holds.decide(hid, bob, "approve")
    assert cli.holds.claim(hid)  # the worker then died
    stuck = cli("approvals", "list", "--stuck")
    assert hid in stuck.stdout and "never re-run" in stuck.stdout
    assert json.loads(cli("approvals", "list", "--stuck", "--older-than", "3600", "--json").stdout) == []
    res = cli("approvals", "resolve", hid, "--failed", "--reason", "SMTP log shows nothing sent", token=token)
    assert res.exit_code == 0, res.output
    rec = cli.holds.get(hid)
    assert rec.status == "failed" and "SMTP log" in (rec.error or "") and "bob" in (rec.error or "")
    assert _error(cli("approvals", "resolve", hid, "--done", "--reason", "x", "--json", token=token)) == "invalid_transition"


def test_cancel(cli):
    token = _add(cli, "bob", "mail-approvers")
    hid = _hold(cli)
    assert cli("approvals", "cancel", hid, "--reason", "withdrawn", token=token).exit_code == 0
    assert cli.holds.get(hid).status == "cancelled"


def test_attacker_text_cannot_drive_the_terminal(cli):
    hid = _hold(cli, args={"to": ["eve@evil.test"], "subject": "\x1b[2J\x1b[31mAPPROVED\u202e", "body": "[bold]x[/bold]"})
    listed = cli("approvals", "list").stdout
    assert "\x1b" not in listed and "\u202e" not in listed
    shown = cli("approvals", "show", hid).stdout
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "\\u001b[2J\\u001b[31mAPPROVED\\u202e" in shown
    assert "[bold]x[/bold]" in shown  # shown literally, not interpreted as markup


def test_serve_help_and_store_errors(cli):
    assert "--port" in cli("serve", "--help").stdout
    res = cli("approvals", "list", "--store", "mysql://x")
    assert res.exit_code == 1 and "unknown store scheme" in res.stderr
