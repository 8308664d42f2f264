"""Helpers shared by the approval tests (manifests, held calls, store URLs)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from toolguard import Call, HoldRequest
from toolguard.findings import Evidence, Finding, combine
from toolguard.manifest import Manifest, manifest_from_dict

BACKENDS = [pytest.param("memory", id="memory"), pytest.param("sqlite", id="sqlite")]

EMAIL_MANIFEST: dict[str, Any] = {
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
        "additionalProperties": False,
    },
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/subject", "/body"],
    "approval": {"roles": ["mail-approvers"], "ttl": "1h", "editable": ["/subject", "/body"]},
}
TRANSFER_MANIFEST: dict[str, Any] = {
    "tool": "transfer",
    "side_effect": "financial",
    "arguments": {
        "type": "object",
        "properties": {"iban": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["iban", "amount"],
    },
    "approval": {"roles": ["finance"], "ttl": 600},
}


def email_manifest() -> Manifest:
    return manifest_from_dict(EMAIL_MANIFEST)


def transfer_manifest() -> Manifest:
    return manifest_from_dict(TRANSFER_MANIFEST)


EVIL_ARGS = {"to": ["eve@evil.test"], "subject": "Q3 report", "body": "numbers"}


def hold_request(
    *,
    hold_id: str | None = None,
    args: Any = None,
    principal: str = "alice",
    session_id: str = "conv-1",
    requested_at: float = 1_000.0,
    manifest: Manifest | None = None,
    call_id: str = "c1",
) -> HoldRequest:
    """A held call as the guard hands it to its sink (decision with a taint finding)."""
    manifest = manifest if manifest is not None else email_manifest()
    args = dict(EVIL_ARGS) if args is None else args
    finding = Finding(
        code="destination.not_allowed",
        message="'eve@evil.test' is not on the allow-list for /to/0",
        pointer="/to/0",
        action="hold",
        evidence=(Evidence("taint", {"tool": "read_inbox", "call_id": "c0", "span": [3, 17]}),),
    )
    decision = combine([finding], tool=manifest.tool, call_id=call_id).with_id("d-" + uuid.uuid4().hex[:8])
    return HoldRequest(
        hold_id=hold_id or "h_" + uuid.uuid4().hex[:20],
        decision=decision,
        call=Call(manifest.tool, args, call_id),
        principal=principal,
        session_id=session_id,
        manifest=manifest,
        requested_at=requested_at,
    )


def store_url(kind: str, tmp_path: Any) -> str:
    """A fresh store URL of backend ``kind``."""
    if kind == "memory":
        return f"memory://{uuid.uuid4().hex}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    raise AssertionError(f"unknown backend {kind}")
