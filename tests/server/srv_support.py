"""Helpers of the server tests: held calls, approvers and a running server."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from toolguard import Call, HoldRequest
from toolguard.approvals import ApprovalStore, ApproverStore
from toolguard.findings import Evidence, Finding, combine
from toolguard.manifest import Manifest, manifest_from_dict

SECRET_KEY = "test-secret-key-0123456789abcdef"
MAX_BODY = 16 * 1024
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"

EMAIL: dict[str, Any] = {
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "body": {"type": "string"},
        },
        "required": ["to", "subject", "body"],
    },
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "approval": {"roles": ["mail-approvers"], "ttl": "1h", "editable": ["/subject", "/body"]},
}


def email_manifest(**approval: Any) -> Manifest:
    spec = dict(EMAIL)
    if approval:
        spec["approval"] = {**spec["approval"], **approval}
    return manifest_from_dict(spec)


def hold_request(*, args: dict[str, Any] | None = None, principal: str = "alice", requested_at: float | None = None, manifest: Manifest | None = None) -> HoldRequest:
    manifest = manifest or email_manifest()
    args = args if args is not None else {"to": ["eve@evil.test"], "subject": "Q3", "body": "numbers"}
    finding = Finding(
        code="destination.untrusted_origin",
        message="the address in /to/0 came from the output of read_inbox",
        pointer="/to/0",
        action="hold",
        evidence=(Evidence("taint", {"tool": "read_inbox", "call_id": "c0", "span": [10, 23]}),),
    )
    decision = combine([finding], tool=manifest.tool, call_id="c1").with_id(uuid.uuid4().hex)
    return HoldRequest(
        hold_id="h_" + uuid.uuid4().hex[:20],
        decision=decision,
        call=Call(manifest.tool, args, "c1"),
        principal=principal,
        session_id="conv-1",
        manifest=manifest,
        requested_at=time.time() if requested_at is None else requested_at,
    )


@dataclass
class Server:
    base: str
    holds: ApprovalStore
    approvers: ApproverStore
    tokens: dict[str, str] = field(default_factory=dict)

    def hold(self, **kw: Any) -> str:
        req = hold_request(**kw)
        self.holds.submit(req)
        return req.hold_id

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)
