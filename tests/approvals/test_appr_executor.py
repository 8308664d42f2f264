"""Executing approved calls exactly once, and the blocking and deferred agent-loop modes."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from appr_support import EMAIL_MANIFEST, EVIL_ARGS

from toolguard import Call, ConfigError, Guard
from toolguard.approvals import (
    Resumer,
    aexecute_approved,
    await_decision,
    execute_approved,
    wait_for_decision,
)
from toolguard.approvals.approvers import Approver
from toolguard.manifest import ManifestSet, manifest_from_dict

BOB = Approver("bob", ("mail-approvers",), created_at=0.0)
OK_ARGS = {"to": ["bob@acme.example"], "subject": "hi", "body": "the report"}


class Tool:
    """A real callable that counts its runs."""

    def __init__(self, result="sent", error=None):
        self.calls = []
        self.result = result
        self.error = error

    def __call__(self, args):
        self.calls.append(args)
        if self.error is not None:
            raise self.error
        return self.result


def _guard(store, *, subject_max=None):
    spec = dict(EMAIL_MANIFEST)
    if subject_max is not None:
        props = dict(spec["arguments"]["properties"])
        props["subject"] = {"type": "string", "maxLength": subject_max}
        spec = {**spec, "arguments": {**spec["arguments"], "properties": props}}
    return Guard(ManifestSet.of([manifest_from_dict(spec)]), holds=store)


def _held(guard, *, principal="alice", conversation="conv-1", args=None, call_id="c1"):
    tool = Tool()
    out = guard.run(guard.session(principal, conversation), Call("send_email", dict(args or EVIL_ARGS), call_id), tool)
    assert out.status == "held" and tool.calls == []
    return out.hold_id


def test_an_approved_call_runs_its_stored_arguments_once(stores):
    guard = _guard(stores.holds)
    hid = _held(guard)
    stores.holds.decide(hid, BOB, "approve", "ok")
    tool = Tool(result={"id": "m-1"})
    res = execute_approved(stores.holds, hid, {"send_email": tool}, guard)
    assert (res.status, res.result, res.ran_here) == ("executed", {"id": "m-1"}, True)
    assert tool.calls == [EVIL_ARGS]
    rec = stores.holds.get(hid)
    assert (rec.status, rec.result) == ("done", {"id": "m-1"})
    assert [e.event for e in rec.history] == ["created", "approved", "claimed", "done"]
    again = execute_approved(stores.holds, hid, {"send_email": tool}, guard)
    assert (again.status, again.result, again.ran_here) == ("executed", {"id": "m-1"}, False)
    assert len(tool.calls) == 1


@pytest.mark.parametrize("verdict", ["deny", "cancel", "expire", "none"])
def test_a_call_that_was_not_approved_never_runs(stores, verdict):
    hid = _held(_guard(stores.holds))
    if verdict == "deny":
        stores.holds.decide(hid, BOB, "deny", "not a customer")
    elif verdict == "cancel":
        stores.holds.cancel(hid, by="ops")
    elif verdict == "expire":
        stores.holds.expire(now=time.time() + 7200)
    tool = Tool()
    res = execute_approved(stores.holds, hid, {"send_email": tool})
    expected = {"deny": "denied", "cancel": "cancelled", "expire": "expired", "none": "pending"}[verdict]
    assert res.status == expected and tool.calls == [] and not res.ran_here
    assert stores.holds.get(hid).status == expected
    if verdict == "deny":
        assert "bob" in res.message and "not a customer" in res.message


def test_a_pending_hold_past_its_time_is_expired_on_resume(stores):
    hid = _held(_guard(stores.holds))
    res = execute_approved(stores.holds, hid, {"send_email": Tool()}, now=time.time() + 7200)
    assert res.status == "expired" and stores.holds.get(hid).status == "expired"


def test_an_approval_resumed_after_its_ttl_does_not_run(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve")
    tool = Tool()
    res = execute_approved(stores.holds, hid, {"send_email": tool}, now=time.time() + 2 * 3600)
    assert res.status == "expired" and tool.calls == [] and not res.ran_here
    assert "was not started in time" in res.message and "Do not retry" in res.message
    assert stores.holds.get(hid).status == "expired"


def test_the_tool_error_fails_the_record(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve")
    tool = Tool(error=ConnectionError("SMTP down"))
    res = execute_approved(stores.holds, hid, {"send_email": tool})
    assert res.status == "failed" and res.ran_here and isinstance(res.exception, ConnectionError)
    rec = stores.holds.get(hid)
    assert rec.status == "failed" and rec.error == "ConnectionError: SMTP down"
    assert execute_approved(stores.holds, hid, {"send_email": tool}).status == "failed"
    assert len(tool.calls) == 1


def test_a_missing_tool_changes_nothing(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve")
    with pytest.raises(ConfigError, match="no tool named 'send_email'"):
        execute_approved(stores.holds, hid, {"other": Tool()})
    assert stores.holds.get(hid).status == "approved"


def test_a_crash_after_the_claim_is_never_rerun(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve")
    assert stores.holds.claim(hid)  # a worker claimed it, then died before finishing
    tool = Tool()
    res = execute_approved(stores.holds, hid, {"send_email": tool})
    assert res.status == "claimed" and tool.calls == []
    assert "already being executed" in res.message
    assert [r.id for r in stores.holds.list(status="executing")] == [hid]


def test_edited_arguments_need_the_guard(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve", edited_args={**EVIL_ARGS, "subject": "shorter"})
    with pytest.raises(ConfigError, match="decided again"):
        execute_approved(stores.holds, hid, {"send_email": Tool()})
    assert stores.holds.get(hid).status == "approved"


def test_edited_arguments_the_core_denies_never_run(stores):
    guard = _guard(stores.holds, subject_max=20)
    hid = _held(guard)
    stores.holds.decide(hid, BOB, "approve", edited_args={**EVIL_ARGS, "subject": "x" * 50})
    tool = Tool()
    res = execute_approved(stores.holds, hid, {"send_email": tool}, guard)
    assert res.status == "failed" and tool.calls == []
    assert res.decision is not None and res.decision.verdict == "deny" and "schema.invalid" in res.decision.codes
    rec = stores.holds.get(hid)
    assert rec.status == "failed" and "denied by the guard" in (rec.error or "")


def test_edited_arguments_the_core_accepts_run_as_edited(stores):
    guard = _guard(stores.holds, subject_max=20)
    hid = _held(guard)
    edited = {**EVIL_ARGS, "subject": "Q3 (summary)", "body": "see portal"}
    stores.holds.decide(hid, BOB, "approve", edited_args=edited)
    tool = Tool()
    res = execute_approved(stores.holds, hid, {"send_email": tool}, guard)
    assert res.status == "executed" and tool.calls == [edited]


def test_a_resume_in_another_process_is_decided_as_after_untrusted_content(stores):
    """A guard that never saw the session must not be laxer than the one that held the call."""
    guard = _guard(stores.holds)
    hid = _held(guard)
    stores.holds.decide(hid, BOB, "approve", edited_args={**EVIL_ARGS, "subject": "s"})
    fresh = _guard(stores.holds)  # another process: no session history
    res = execute_approved(stores.holds, hid, {"send_email": Tool()}, fresh)
    assert res.status == "executed"
    assert fresh.session("alice", "conv-1").ledger.untrusted_seen


def test_the_output_is_recorded_in_the_session(stores):
    guard = _guard(stores.holds)
    hid = _held(guard)
    stores.holds.decide(hid, BOB, "approve")
    session = guard.session("alice", "conv-1")
    before = len(session.ledger.sources)
    execute_approved(stores.holds, hid, {"send_email": Tool(result="delivered to eve")}, guard)
    assert len(session.ledger.sources) > before


# -- waiting -------------------------------------------------------------------------------


def _decide_later(store, hid, verdict, delay, reason="ok"):
    timer = threading.Timer(delay, lambda: store.decide(hid, BOB, verdict, reason))
    timer.start()
    return timer


def test_wait_returns_as_soon_as_decided(stores):
    hid = _held(_guard(stores.holds))
    timer = _decide_later(stores.holds, hid, "approve", 0.2)
    start = time.monotonic()
    rec = wait_for_decision(stores.holds, hid, timeout=10)
    timer.join()
    assert rec.status == "approved" and time.monotonic() - start < 5


def test_wait_times_out_pending(stores):
    hid = _held(_guard(stores.holds))
    start = time.monotonic()
    rec = wait_for_decision(stores.holds, hid, timeout=0.3)
    assert rec.status == "pending" and time.monotonic() - start >= 0.3
    assert wait_for_decision(stores.holds, hid, timeout=0).status == "pending"


def test_wait_sees_expiry(stores):
    spec = {**EMAIL_MANIFEST, "approval": {"roles": ["mail-approvers"], "ttl": "200ms"}}
    guard = Guard(ManifestSet.of([manifest_from_dict(spec)]), holds=stores.holds)
    hid = _held(guard)
    rec = wait_for_decision(stores.holds, hid, timeout=5)
    assert rec.status == "expired"


def test_await_decision(stores):
    hid = _held(_guard(stores.holds))
    timer = _decide_later(stores.holds, hid, "deny", 0.2, "no")
    rec = asyncio.run(await_decision(stores.holds, hid, timeout=10))
    timer.join()
    assert rec.status == "denied"


# -- blocking mode ---------------------------------------------------------------------------


def test_blocking_mode_runs_after_approval(stores):
    guard = _guard(stores.holds)
    tool = Tool()
    resumer = Resumer(guard, stores.holds, {"send_email": tool})
    timer = threading.Timer(0.3, lambda: [stores.holds.decide(r.id, BOB, "approve") for r in stores.holds.list(status="pending")])
    timer.start()
    res = resumer.run(guard.session("alice", "c"), Call("send_email", dict(EVIL_ARGS), "c1"), timeout=10)
    timer.join()
    assert res.status == "executed" and res.ran_here and tool.calls == [EVIL_ARGS]
    assert stores.holds.get(res.hold_id).status == "done"


def test_blocking_mode_reports_a_denial(stores):
    guard = _guard(stores.holds)
    tool = Tool()
    timer = threading.Timer(0.3, lambda: [stores.holds.decide(r.id, BOB, "deny", "unknown recipient") for r in stores.holds.list(status="pending")])
    timer.start()
    res = Resumer(guard, stores.holds).run(guard.session("alice"), Call("send_email", dict(EVIL_ARGS), "c1"), tool, timeout=10)
    timer.join()
    assert res.status == "denied" and tool.calls == []
    assert "unknown recipient" in res.message and "bob" in res.message


def test_blocking_mode_times_out_with_a_held_message(stores):
    guard = _guard(stores.holds)
    tool = Tool()
    res = Resumer(guard, stores.holds, {"send_email": tool}).run(guard.session("alice"), Call("send_email", dict(EVIL_ARGS), "c1"), timeout=0.2)
    assert res.status == "pending" and tool.calls == []
    assert res.hold_id in res.message and "approval" in res.message
    assert stores.holds.get(res.hold_id).status == "pending"


def test_blocking_mode_passes_allowed_and_denied_calls_through(stores):
    guard = _guard(stores.holds)
    tool = Tool()
    resumer = Resumer(guard, stores.holds, {"send_email": tool})
    ok = resumer.run(guard.session("alice"), Call("send_email", OK_ARGS, "c1"), timeout=5)
    assert ok.status == "executed" and ok.hold_id is None and tool.calls == [OK_ARGS]
    bad = resumer.run(guard.session("alice"), Call("send_email", {"to": "not a list"}, "c2"), timeout=5)
    assert bad.status == "denied" and bad.record is None and "schema.invalid" in bad.message
    assert stores.holds.list(status=None) == []


def test_async_blocking_mode(stores):
    guard = _guard(stores.holds)
    calls = []

    async def send_email(args):
        await asyncio.sleep(0)
        calls.append(args)
        return "sent"

    timer = threading.Timer(0.3, lambda: [stores.holds.decide(r.id, BOB, "approve") for r in stores.holds.list(status="pending")])
    timer.start()
    res = asyncio.run(Resumer(guard, stores.holds).arun(guard.session("alice"), Call("send_email", dict(EVIL_ARGS), "c1"), send_email, timeout=10))
    timer.join()
    assert res.status == "executed" and res.result == "sent" and calls == [EVIL_ARGS]


def test_async_execute_approved(stores):
    hid = _held(_guard(stores.holds))
    stores.holds.decide(hid, BOB, "approve")

    async def send_email(args):
        return {"ok": True}

    res = asyncio.run(aexecute_approved(stores.holds, hid, {"send_email": send_email}))
    assert res.status == "executed" and stores.holds.get(hid).result == {"ok": True}


# -- deferred mode ---------------------------------------------------------------------------


def test_deferred_mode_delivers_through_the_callback(stores):
    guard = _guard(stores.holds)
    tool = Tool(result="sent later")
    resumer = Resumer(guard, stores.holds, {"send_email": tool})
    out = guard.run(guard.session("alice"), Call("send_email", dict(EVIL_ARGS), "c1"), tool)
    assert out.status == "held" and out.hold_id in out.message  # what the model sees at once
    delivered = []
    assert resumer.resume(out.hold_id, delivered.append).status == "pending" and delivered == []
    stores.holds.decide(out.hold_id, BOB, "approve")
    res = resumer.resume(out.hold_id, delivered.append)
    assert res.status == "executed" and delivered == [res] and tool.calls == [EVIL_ARGS]
    resumer.resume(out.hold_id, delivered.append)
    assert len(tool.calls) == 1 and delivered[-1].ran_here is False


def test_deferred_worker_loop(stores):
    guard = _guard(stores.holds)
    tool = Tool()
    resumer = Resumer(guard, stores.holds, {"send_email": tool})
    ids = [_held(guard, call_id=f"c{i}") for i in range(3)]
    stores.holds.decide(ids[0], BOB, "approve")
    stores.holds.decide(ids[2], BOB, "approve")
    got = resumer.resume_ready()
    assert sorted(r.hold_id for r in got) == sorted([ids[0], ids[2]])
    assert len(tool.calls) == 2 and resumer.resume_ready() == []


def test_the_resumer_needs_the_guard_to_hold_into_its_store(stores):
    with pytest.raises(ConfigError, match="holds=store"):
        Resumer(Guard(ManifestSet.of([manifest_from_dict(EMAIL_MANIFEST)])), stores.holds)
