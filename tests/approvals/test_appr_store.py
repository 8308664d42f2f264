"""The approval store contract, run against every backend (memory, a real SQLite file)."""

from __future__ import annotations

import hashlib
import json

import pytest
from appr_support import (
    EVIL_ARGS,
    TRANSFER_MANIFEST,
    email_manifest,
    hold_request,
    transfer_manifest,
)

from toolguard import (
    AlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    ConfigError,
    NotAnApprover,
    StoreError,
)
from toolguard.approvals import (
    ApprovalStore,
    ArgumentsTampered,
    EditNotAllowed,
    InvalidDecision,
    InvalidTransition,
    open_stores,
)
from toolguard.approvals.approvers import Approver
from toolguard.approvals.store import TRANSITIONS, canonical_json
from toolguard.manifest import manifest_from_dict

T0 = 1_000.0
BOB = Approver("bob", ("mail-approvers",), created_at=0.0)
DAN = Approver("dan", ("mail-approvers", "finance"), created_at=0.0)
CAROL = Approver("carol", ("finance",), created_at=0.0)
ALICE_APPROVER = Approver("alice", ("mail-approvers",), created_at=0.0)


def _snapshot(rec):
    d = rec.to_dict()
    d.pop("history")
    return d


def test_stores_match_protocol(stores):
    assert isinstance(stores.holds, ApprovalStore)


def test_submit_creates_a_pending_record(stores):
    req = hold_request(requested_at=T0)
    assert stores.holds.submit(req) == req.hold_id
    rec = stores.holds.get(req.hold_id)
    assert rec.status == "pending"
    assert (rec.principal, rec.session_id, rec.tool, rec.call_id) == ("alice", "conv-1", "send_email", "c1")
    assert rec.args == EVIL_ARGS
    assert rec.args_json == canonical_json(EVIL_ARGS)
    assert rec.args_sha256 == hashlib.sha256(canonical_json(EVIL_ARGS).encode()).hexdigest()
    assert rec.requested_at == T0 and rec.expires_at == T0 + 3600
    assert rec.roles == ("mail-approvers",)
    assert rec.editable == ("/subject", "/body")
    assert [f["code"] for f in rec.findings] == ["destination.not_allowed"]
    assert rec.findings[0]["evidence"][0]["tool"] == "read_inbox"
    assert rec.summary.startswith("'eve@evil.test' is not on the allow-list")
    assert rec.decided_by is None and rec.result is None
    assert [e.event for e in rec.history] == ["created"]


def test_args_are_a_copy(stores):
    req = hold_request()
    stores.holds.submit(req)
    rec = stores.holds.get(req.hold_id)
    rec.args["to"].append("mallory@evil.test")
    assert stores.holds.get(req.hold_id).args == EVIL_ARGS


def test_hash_does_not_depend_on_key_order(stores):
    a = hold_request(args={"to": ["x@y.example"], "subject": "s", "body": "b"})
    b = hold_request(args={"body": "b", "subject": "s", "to": ["x@y.example"]})
    stores.holds.submit(a)
    stores.holds.submit(b)
    assert stores.holds.get(a.hold_id).args_sha256 == stores.holds.get(b.hold_id).args_sha256


def test_submit_is_idempotent_for_the_same_call(stores):
    req = hold_request()
    stores.holds.submit(req)
    assert stores.holds.submit(req) == req.hold_id
    assert len(stores.holds.list(status=None)) == 1


def test_same_id_with_other_arguments_is_refused(stores):
    req = hold_request(hold_id="h_same")
    stores.holds.submit(req)
    with pytest.raises(StoreError, match="other arguments"):
        stores.holds.submit(hold_request(hold_id="h_same", args={"to": ["x@evil.test"], "subject": "", "body": ""}))
    assert stores.holds.get("h_same").args == EVIL_ARGS


def test_unknown_id_is_not_found(stores):
    for op in (
        lambda: stores.holds.get("h_nope"),
        lambda: stores.holds.decide("h_nope", BOB, "approve"),
        lambda: stores.holds.claim("h_nope"),
        lambda: stores.holds.finish("h_nope", result=1),
        lambda: stores.holds.cancel("h_nope", by="ops"),
    ):
        with pytest.raises(ApprovalNotFound, match="h_nope"):
            op()


def test_approve_records_who_when_why(stores):
    req = hold_request()
    stores.holds.submit(req)
    rec = stores.holds.decide(req.hold_id, BOB, "approve", "checked with alice", now=T0 + 5)
    assert (rec.status, rec.decided_by, rec.decided_at, rec.reason) == ("approved", "bob", T0 + 5, "checked with alice")
    again = stores.holds.get(req.hold_id)
    assert _snapshot(again) == _snapshot(rec)
    assert [(e.event, e.actor, e.reason) for e in again.history] == [
        ("created", "alice", None),
        ("approved", "bob", "checked with alice"),
    ]


def test_deny_needs_a_reason(stores):
    req = hold_request()
    stores.holds.submit(req)
    for reason in (None, "", "   "):
        with pytest.raises(InvalidDecision, match="reason"):
            stores.holds.decide(req.hold_id, BOB, "deny", reason, now=T0 + 1)
    assert stores.holds.get(req.hold_id).status == "pending"
    rec = stores.holds.decide(req.hold_id, BOB, "deny", "not a customer address", now=T0 + 1)
    assert (rec.status, rec.reason) == ("denied", "not a customer address")


def test_unknown_verdict_is_refused(stores):
    req = hold_request()
    stores.holds.submit(req)
    with pytest.raises(InvalidDecision, match="unknown verdict"):
        stores.holds.decide(req.hold_id, BOB, "maybe", "hm", now=T0 + 1)  # type: ignore[arg-type]
    assert stores.holds.get(req.hold_id).status == "pending"


@pytest.mark.parametrize("first", ["approve", "deny"])
@pytest.mark.parametrize("second", ["approve", "deny"])
def test_double_decision_is_refused(stores, first, second):
    req = hold_request()
    stores.holds.submit(req)
    done = stores.holds.decide(req.hold_id, BOB, first, "first", now=T0 + 1)
    with pytest.raises(AlreadyDecided, match="already"):
        stores.holds.decide(req.hold_id, DAN, second, "second", now=T0 + 2)
    assert _snapshot(stores.holds.get(req.hold_id)) == _snapshot(done)


def test_decision_after_expiry_is_refused_and_recorded(stores):
    req = hold_request(requested_at=T0)
    stores.holds.submit(req)
    with pytest.raises(ApprovalExpired):
        stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 3600)
    rec = stores.holds.get(req.hold_id)
    assert rec.status == "expired" and rec.decided_by is None
    with pytest.raises(ApprovalExpired):
        stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 3601)
    assert stores.holds.claim(req.hold_id, now=T0 + 3602) is False


def test_just_before_expiry_is_accepted(stores):
    req = hold_request(requested_at=T0)
    stores.holds.submit(req)
    assert stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 3599.9).status == "approved"


def test_expire_touches_only_pending_holds_past_their_time(stores):
    old = hold_request(requested_at=T0)
    fresh = hold_request(requested_at=T0 + 3000)
    old_approved = hold_request(requested_at=T0)
    for r in (old, fresh, old_approved):
        stores.holds.submit(r)
    stores.holds.decide(old_approved.hold_id, BOB, "approve", now=T0 + 10)
    assert stores.holds.expire(now=T0 + 3600) == [old.hold_id]
    assert stores.holds.expire(now=T0 + 3600) == []
    assert stores.holds.get(old.hold_id).status == "expired"
    assert stores.holds.get(fresh.hold_id).status == "pending"
    assert stores.holds.get(old_approved.hold_id).status == "approved"


def test_an_approval_not_started_within_the_ttl_expires_on_claim(stores):
    req = hold_request(requested_at=T0)  # ttl 1 h
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 600)
    assert stores.holds.get(req.hold_id).run_by == T0 + 600 + 3600
    assert stores.holds.claim(req.hold_id, now=T0 + 600 + 3600) is False
    rec = stores.holds.get(req.hold_id)
    assert (rec.status, rec.decided_by, rec.decided_at) == ("expired", "bob", T0 + 600)
    assert "not started within the approval ttl" in rec.reason
    assert [e.event for e in rec.history][-1] == "expired"
    assert stores.holds.claim(req.hold_id, now=T0 + 600) is False  # gone for good, whatever the clock says


def test_an_approval_started_within_the_ttl_runs(stores):
    req = hold_request(requested_at=T0)
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 3500)  # near the end of the decision window
    assert stores.holds.claim(req.hold_id, now=T0 + 3500 + 3599) is True
    assert stores.holds.get(req.hold_id).status == "executing"


def test_expire_sweeps_approvals_left_unstarted(stores):
    stale = hold_request(requested_at=T0)
    recent = hold_request(requested_at=T0)
    running = hold_request(requested_at=T0)
    for r in (stale, recent, running):
        stores.holds.submit(r)
    stores.holds.decide(stale.hold_id, BOB, "approve", now=T0 + 10)
    stores.holds.decide(recent.hold_id, BOB, "approve", now=T0 + 3000)
    stores.holds.decide(running.hold_id, BOB, "approve", now=T0 + 10)
    assert stores.holds.claim(running.hold_id, now=T0 + 20) is True
    assert stores.holds.expire(now=T0 + 3610) == [stale.hold_id]
    rec = stores.holds.get(stale.hold_id)
    assert rec.status == "expired" and rec.reason == "approved by bob but not started within the approval ttl"
    assert stores.holds.get(recent.hold_id).status == "approved"
    assert stores.holds.get(running.hold_id).status == "executing"  # started in time: never expired


def test_ttl_comes_from_the_manifest(stores):
    req = hold_request(manifest=transfer_manifest(), args={"iban": "DE00", "amount": 5}, requested_at=T0)
    stores.holds.submit(req)
    rec = stores.holds.get(req.hold_id)
    assert rec.expires_at == T0 + 600 and rec.roles == ("finance",) and rec.editable is False


@pytest.mark.parametrize(
    "approver, match",
    [
        pytest.param(CAROL, "none of the roles", id="wrong-role"),
        pytest.param(ALICE_APPROVER, "cannot decide its own", id="self-approval"),
        pytest.param(Approver("bob", ("mail-approvers",), 0.0, revoked_at=5.0), "revoked", id="revoked"),
        pytest.param(Approver("zed", (), 0.0), "none of the roles", id="no-roles"),
    ],
)
@pytest.mark.parametrize("verdict", ["approve", "deny"])
def test_who_may_not_decide(stores, approver, match, verdict):
    req = hold_request(principal="alice")
    stores.holds.submit(req)
    before = _snapshot(stores.holds.get(req.hold_id))
    with pytest.raises(NotAnApprover, match=match):
        stores.holds.decide(req.hold_id, approver, verdict, "because", now=T0 + 1)
    assert _snapshot(stores.holds.get(req.hold_id)) == before


def test_identity_is_checked_before_state(stores):
    """Someone who may not decide learns nothing: a decided hold still answers NotAnApprover."""
    req = hold_request()
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 1)
    with pytest.raises(NotAnApprover):
        stores.holds.decide(req.hold_id, CAROL, "approve", now=T0 + 2)


def test_claim_happens_once_and_only_after_approval(stores):
    req = hold_request()
    stores.holds.submit(req)
    assert stores.holds.claim(req.hold_id, now=T0 + 1) is False  # pending
    stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 2)
    assert stores.holds.claim(req.hold_id, now=T0 + 3) is True
    assert stores.holds.claim(req.hold_id, now=T0 + 4) is False
    rec = stores.holds.get(req.hold_id)
    assert (rec.status, rec.claimed_at) == ("executing", T0 + 3)


def test_finish_records_result_or_error(stores):
    ok, bad = hold_request(), hold_request()
    for r in (ok, bad):
        stores.holds.submit(r)
        stores.holds.decide(r.hold_id, BOB, "approve", now=T0 + 1)
        assert stores.holds.claim(r.hold_id, now=T0 + 2)
    done = stores.holds.finish(ok.hold_id, result={"message_id": "m-1", "n": [1, 2]}, now=T0 + 3)
    assert (done.status, done.result, done.finished_at, done.error) == ("done", {"message_id": "m-1", "n": [1, 2]}, T0 + 3, None)
    failed = stores.holds.finish(bad.hold_id, error="SMTPError: 550", now=T0 + 3)
    assert (failed.status, failed.error, failed.result) == ("failed", "SMTPError: 550", None)
    with pytest.raises(InvalidTransition, match="only a claimed call"):
        stores.holds.finish(ok.hold_id, result="again")
    assert stores.holds.get(ok.hold_id).result == {"message_id": "m-1", "n": [1, 2]}


def test_an_unserialisable_result_is_kept_as_text(stores):
    req = hold_request()
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 1)
    stores.holds.claim(req.hold_id, now=T0 + 2)
    rec = stores.holds.finish(req.hold_id, result={"obj": object()}, now=T0 + 3)
    assert rec.status == "done" and rec.result["obj"].startswith("<object object")


def _in_status(store, status):
    """A fresh record brought to ``status`` through legal transitions only."""
    req = hold_request(requested_at=T0)
    store.submit(req)
    hid = req.hold_id
    if status == "pending":
        return hid
    if status == "expired":
        store.expire(now=T0 + 4000)
        return hid
    if status == "cancelled":
        store.cancel(hid, by="ops", reason="test", now=T0 + 1)
        return hid
    if status == "denied":
        store.decide(hid, BOB, "deny", "no", now=T0 + 1)
        return hid
    store.decide(hid, BOB, "approve", now=T0 + 1)
    if status == "approved":
        return hid
    assert store.claim(hid, now=T0 + 2)
    if status == "executing":
        return hid
    if status == "done":
        store.finish(hid, result="ok", now=T0 + 3)
    else:
        store.finish(hid, error="boom", now=T0 + 3)
    return hid


_OPERATIONS = {
    "approve": ("approved", lambda s, h: s.decide(h, DAN, "approve", "ok", now=T0 + 10)),
    "deny": ("denied", lambda s, h: s.decide(h, DAN, "deny", "no", now=T0 + 10)),
    "claim": ("executing", lambda s, h: s.claim(h, now=T0 + 10)),
    "finish-done": ("done", lambda s, h: s.finish(h, result=1, now=T0 + 10)),
    "finish-failed": ("failed", lambda s, h: s.finish(h, error="x", now=T0 + 10)),
    "cancel": ("cancelled", lambda s, h: s.cancel(h, by="ops", reason="r", now=T0 + 10)),
}


@pytest.mark.parametrize("status", list(TRANSITIONS))
@pytest.mark.parametrize("operation", list(_OPERATIONS))
def test_transitions_only_go_forward(stores, status, operation):
    hid = _in_status(stores.holds, status)
    target, op = _OPERATIONS[operation]
    before = _snapshot(stores.holds.get(hid))
    allowed = target in TRANSITIONS[status]
    if allowed:
        result = op(stores.holds, hid)
        assert result is True or getattr(result, "status", None) == target
        assert stores.holds.get(hid).status == target
        return
    try:
        result = op(stores.holds, hid)
    except (AlreadyDecided, ApprovalExpired, InvalidTransition):
        pass
    else:
        assert result is False, f"{operation} on a {status} record must be refused"
    assert _snapshot(stores.holds.get(hid)) == before


def test_edit_within_editable_pointers(stores):
    req = hold_request()
    stores.holds.submit(req)
    edited = {**EVIL_ARGS, "subject": "Q3 report (redacted)", "body": "see the portal"}
    rec = stores.holds.decide(req.hold_id, BOB, "approve", "trimmed", edited_args=edited, now=T0 + 1)
    assert rec.edited and rec.args == edited and rec.original_args == EVIL_ARGS
    assert rec.args_sha256 == hashlib.sha256(canonical_json(edited).encode()).hexdigest()
    assert [e.event for e in stores.holds.get(req.hold_id).history] == ["created", "approved with edits"]


@pytest.mark.parametrize(
    "edited, where",
    [
        pytest.param({**EVIL_ARGS, "to": ["bob@acme.example"]}, "/to/0", id="destination"),
        pytest.param({**EVIL_ARGS, "cc": ["x@evil.test"]}, "/cc", id="added-key"),
        pytest.param({"subject": "s", "body": "b"}, "/to", id="removed-key"),
    ],
)
def test_edit_outside_editable_pointers_is_refused(stores, edited, where):
    req = hold_request()
    stores.holds.submit(req)
    with pytest.raises(EditNotAllowed, match=f"argument {where} may not be edited"):
        stores.holds.decide(req.hold_id, BOB, "approve", edited_args=edited, now=T0 + 1)
    assert stores.holds.get(req.hold_id).status == "pending"


def test_edit_when_the_manifest_forbids_it(stores):
    req = hold_request(manifest=transfer_manifest(), args={"iban": "DE00", "amount": 5})
    stores.holds.submit(req)
    with pytest.raises(EditNotAllowed, match="does not allow editing"):
        stores.holds.decide(req.hold_id, CAROL, "approve", edited_args={"iban": "DE00", "amount": 4}, now=T0 + 1)
    assert stores.holds.get(req.hold_id).status == "pending"


def test_editable_true_allows_any_change(stores):
    manifest = manifest_from_dict({**TRANSFER_MANIFEST, "approval": {"roles": ["finance"], "editable": True}})
    req = hold_request(manifest=manifest, args={"iban": "DE00", "amount": 5})
    stores.holds.submit(req)
    rec = stores.holds.decide(req.hold_id, CAROL, "approve", edited_args={"iban": "DE11", "amount": 1}, now=T0 + 1)
    assert rec.args == {"iban": "DE11", "amount": 1}


@pytest.mark.parametrize(
    "edited, match",
    [
        pytest.param(["not", "an", "object"], "must be a JSON object", id="list"),
        pytest.param({"subject": float("nan"), "to": [], "body": ""}, "not plain JSON", id="nan"),
    ],
)
def test_malformed_edits_are_refused(stores, edited, match):
    req = hold_request()
    stores.holds.submit(req)
    with pytest.raises((InvalidDecision, StoreError), match=match):
        stores.holds.decide(req.hold_id, BOB, "approve", edited_args=edited, now=T0 + 1)
    assert stores.holds.get(req.hold_id).status == "pending"


def test_unchanged_edit_is_not_an_edit(stores):
    req = hold_request()
    stores.holds.submit(req)
    rec = stores.holds.decide(req.hold_id, BOB, "approve", edited_args=dict(EVIL_ARGS), now=T0 + 1)
    assert not rec.edited and rec.original_args_json is None


def test_edits_only_with_an_approval(stores):
    req = hold_request()
    stores.holds.submit(req)
    with pytest.raises(InvalidDecision, match="only apply to an approval"):
        stores.holds.decide(req.hold_id, BOB, "deny", "no", edited_args={**EVIL_ARGS, "subject": "x"}, now=T0 + 1)


def test_list_filters_and_order(stores):
    a = hold_request(principal="alice", requested_at=T0 + 2)
    b = hold_request(principal="bert", requested_at=T0 + 1)
    c = hold_request(principal="alice", requested_at=T0 + 3)
    for r in (a, b, c):
        stores.holds.submit(r)
    stores.holds.decide(c.hold_id, BOB, "deny", "no", now=T0 + 4)
    assert [r.id for r in stores.holds.list()] == [b.hold_id, a.hold_id, c.hold_id]
    assert [r.id for r in stores.holds.list(status="pending")] == [b.hold_id, a.hold_id]
    assert [r.id for r in stores.holds.list(status=["denied", "approved"])] == [c.hold_id]
    assert [r.id for r in stores.holds.list(principal="alice")] == [a.hold_id, c.hold_id]
    assert [r.id for r in stores.holds.list(status="pending", principal="alice")] == [a.hold_id]
    assert [r.id for r in stores.holds.list(limit=1)] == [b.hold_id]
    assert stores.holds.list(status=[]) == []
    with pytest.raises(ConfigError, match="unknown status 'bogus'"):
        stores.holds.list(status="bogus")


def test_cancel(stores):
    p, a = hold_request(), hold_request()
    for r in (p, a):
        stores.holds.submit(r)
    stores.holds.decide(a.hold_id, BOB, "approve", now=T0 + 1)
    for hid in (p.hold_id, a.hold_id):
        rec = stores.holds.cancel(hid, by="ops", reason="customer withdrew", now=T0 + 2)
        assert (rec.status, rec.decided_by, rec.reason) == ("cancelled", "ops", "customer withdrew")
        assert stores.holds.claim(hid) is False


def test_a_guard_holds_into_the_store(stores):
    from toolguard import Call, Guard
    from toolguard.manifest import ManifestSet

    guard = Guard(ManifestSet.of([email_manifest()]), holds=stores.holds)
    ran = []
    out = guard.run(guard.session("alice", "conv-9"), Call("send_email", dict(EVIL_ARGS), "c7"), ran.append)
    assert out.status == "held" and ran == []
    rec = stores.holds.get(out.hold_id)
    assert (rec.status, rec.principal, rec.session_id, rec.call_id) == ("pending", "alice", "conv-9", "c7")
    assert "destination.not_allowed" in [f["code"] for f in rec.findings]
    assert rec.expires_at == pytest.approx(rec.requested_at + 3600)


def test_a_store_that_fails_makes_the_guard_deny(tmp_path):
    """Fail closed: a hold that cannot be stored is a deny, never a silent pass."""
    from toolguard import Call, Guard
    from toolguard.manifest import ManifestSet

    holds, _ = open_stores(f"sqlite:///{tmp_path}/s.db")
    holds.db.close()  # type: ignore[attr-defined]
    (tmp_path / "s.db").unlink()
    (tmp_path / "s.db").mkdir()  # the path is now a directory: every write fails
    holds.db._local.conn = None  # type: ignore[attr-defined]
    guard = Guard(ManifestSet.of([email_manifest()]), holds=holds)
    out = guard.run(guard.session("alice"), Call("send_email", dict(EVIL_ARGS), "c1"), lambda a: "sent")
    assert out.status == "denied" and out.decision.codes == ("store.unavailable",)


# -- SQLite only ---------------------------------------------------------------------


def test_sqlite_survives_reopening(sqlite_stores, tmp_path):
    from toolguard.approvals import SqlApprovalStore
    from toolguard.stores.sql import Database

    req = hold_request()
    sqlite_stores.holds.submit(req)
    sqlite_stores.holds.decide(req.hold_id, BOB, "approve", "fine", now=T0 + 1)
    other = SqlApprovalStore(Database(sqlite_stores.url))
    try:
        rec = other.get(req.hold_id)
        assert (rec.status, rec.decided_by, rec.args) == ("approved", "bob", EVIL_ARGS)
        assert other.claim(req.hold_id, now=T0 + 2) is True
        assert sqlite_stores.holds.claim(req.hold_id, now=T0 + 2) is False
    finally:
        other.db.close()


def test_sqlite_tampered_arguments_are_never_executed(sqlite_stores):
    req = hold_request()
    sqlite_stores.holds.submit(req)
    sqlite_stores.holds.decide(req.hold_id, BOB, "approve", now=T0 + 1)
    tampered = json.dumps({**EVIL_ARGS, "to": ["mallory@evil.test"]})
    sqlite_stores.holds.db.run(  # type: ignore[attr-defined]
        lambda tx: tx.execute("UPDATE toolguard_approvals SET args_json = ? WHERE id = ?", (tampered, req.hold_id))
    )
    with pytest.raises(ArgumentsTampered, match="do not match their hash"):
        sqlite_stores.holds.claim(req.hold_id, now=T0 + 2)
    rec = sqlite_stores.holds.get(req.hold_id)
    assert rec.status == "failed" and "hash" in (rec.error or "")
    assert sqlite_stores.holds.claim(req.hold_id, now=T0 + 2) is False


def test_sqlite_file_holds_what_it_should(sqlite_stores, tmp_path):
    import sqlite3

    req = hold_request()
    sqlite_stores.holds.submit(req)
    conn = sqlite3.connect(tmp_path / "state.db")
    try:
        (status, args_json, sha) = conn.execute(
            "SELECT status, args_json, args_sha256 FROM toolguard_approvals WHERE id = ?", (req.hold_id,)
        ).fetchone()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert status == "pending" and json.loads(args_json) == EVIL_ARGS
    assert sha == hashlib.sha256(args_json.encode()).hexdigest()
