"""Exactly once: many workers race for one approved call; exactly one runs it."""

from __future__ import annotations

import threading

from appr_support import hold_request

from toolguard.approvals import execute_approved
from toolguard.approvals.approvers import Approver

BOB = Approver("bob", ("mail-approvers",), created_at=0.0)
WORKERS = 16


def _race(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def run(i):
        try:
            barrier.wait()
            results[i] = target()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_sixteen_threads_claim_one_approval(stores):
    req = hold_request(requested_at=1_000.0)
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=1_001.0)
    results = _race(WORKERS, lambda: stores.holds.claim(req.hold_id, now=1_002.0))
    assert results.count(True) == 1 and results.count(False) == WORKERS - 1
    assert stores.holds.get(req.hold_id).status == "executing"


def test_sixteen_workers_execute_one_approval_once(stores):
    req = hold_request(requested_at=1_000.0)
    stores.holds.submit(req)
    stores.holds.decide(req.hold_id, BOB, "approve", now=1_001.0)
    ran = []
    lock = threading.Lock()

    def send_email(args):
        with lock:
            ran.append(args)
        return "sent"

    results = _race(WORKERS, lambda: execute_approved(stores.holds, req.hold_id, {"send_email": send_email}, now=1_002.0))
    assert len(ran) == 1
    assert sum(r.ran_here for r in results) == 1
    assert {r.status for r in results} <= {"executed", "claimed"}
    rec = stores.holds.get(req.hold_id)
    assert (rec.status, rec.result) == ("done", "sent")


def test_racing_decisions_leave_exactly_one(stores):
    req = hold_request(requested_at=1_000.0)
    stores.holds.submit(req)
    approvers = [Approver(f"a{i}", ("mail-approvers",), 0.0) for i in range(WORKERS)]
    outcomes = []
    lock = threading.Lock()

    def decide(i):
        try:
            stores.holds.decide(req.hold_id, approvers[i], "approve" if i % 2 else "deny", f"r{i}", now=1_001.0)
            with lock:
                outcomes.append(i)
        except Exception as exc:  # AlreadyDecided for the losers
            with lock:
                outcomes.append(type(exc).__name__)

    barrier = threading.Barrier(WORKERS)
    threads = [threading.Thread(target=lambda i=i: (barrier.wait(), decide(i))) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(winners) == 1 and outcomes.count("AlreadyDecided") == WORKERS - 1
    rec = stores.holds.get(req.hold_id)
    assert rec.decided_by == f"a{winners[0]}"
    assert [e.event for e in rec.history][1:] == [rec.status]
