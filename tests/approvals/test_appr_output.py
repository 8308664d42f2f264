"""An approved call is treated like an allowed one after it runs: counted, its output redacted."""

from __future__ import annotations

from toolguard import Call, Guard
from toolguard.approvals.approvers import MemoryApproverStore
from toolguard.approvals.executor import execute_approved
from toolguard.approvals.store import MemoryApprovalStore
from toolguard.manifest import manifest_from_dict

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
MANIFEST = {
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}, "required": ["to", "body"]},
    "destinations": [{"arg": "/to", "kind": "email", "allow": ["*@acme.example"]}],
    "approval": {"roles": ["mail"]},
    "limits": {"calls": {"max": 1, "per": "1h"}},
}


def test_approved_call_is_counted_and_its_output_redacted():
    holds = MemoryApprovalStore()
    guard = Guard([manifest_from_dict(MANIFEST)], holds=holds)
    session = guard.session("alice", "c")
    ran = []

    def send(args):
        ran.append(args)
        return f"sent; server said: key={AWS_KEY}"

    held = guard.run(session, Call("send_email", {"to": "eve@evil.test", "body": "hi"}, "c1"), send)
    assert held.status == "held" and ran == []
    approvers = MemoryApproverStore()
    bob, _ = approvers.add("bob", ["mail"])
    holds.decide(held.hold_id, bob, "approve", "ok")

    res = execute_approved(holds, held.hold_id, {"send_email": send}, guard)
    assert res.status == "executed" and len(ran) == 1
    assert AWS_KEY not in str(res.result)  # redacted before the model (and the store) sees it
    assert AWS_KEY not in str(holds.get(held.hold_id).result)
    # it was counted: the calls budget (1/h) is now spent, so the next allowed call is held
    nxt = guard.run(session, Call("send_email", {"to": "bob@acme.example", "body": "x"}, "c2"), send)
    assert nxt.status == "held" and "budget.exceeded" in nxt.decision.codes
    # and a second execution of the same hold runs nothing
    again = execute_approved(holds, held.hold_id, {"send_email": send}, guard)
    assert again.status != "executed" or not again.ran_here
    assert len(ran) == 1
