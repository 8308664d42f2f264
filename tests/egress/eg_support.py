"""Shared manifests and helpers for the egress, cut-off and output tests."""

from __future__ import annotations

import json
from typing import Any

from toolguard import Guard, ManifestSet, Policy
from toolguard.manifest import manifest_from_dict

EMAIL = {
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {"to": {"type": "array", "items": {"type": "string"}}, "subject": {"type": "string"}, "body": {"type": "string"}},
        "required": ["to", "subject", "body"],
        "additionalProperties": False,
    },
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/subject", "/body"],
    "output": {"trust": "trusted"},
}
KB = {
    "tool": "kb_search",
    "side_effect": "read",
    "arguments": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    "output": {"trust": "trusted", "labels": ["proprietary"], "items": "/documents/*", "item_key": "/id"},
}
NOTES = {
    "tool": "weather",
    "side_effect": "read",
    "arguments": {"type": "object", "properties": {"city": {"type": "string"}}},
    "output": {"trust": "untrusted"},
}
FETCH = {
    "tool": "fetch",
    "side_effect": "read",
    "arguments": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    "destinations": [{"arg": "/url", "kind": "url"}],
}


def manifests(*docs: dict[str, Any], **overrides: dict[str, Any]) -> ManifestSet:
    """Manifests from dicts; ``overrides`` maps a tool name to extra top-level keys."""
    out = []
    for d in docs:
        extra = overrides.get(d["tool"], {})
        out.append(manifest_from_dict({**d, **extra}))
    return ManifestSet.of(out)


def policy(**data: Any) -> Policy:
    return Policy.model_validate(data)


def email(*to: str, body: str = "the numbers", subject: str = "hi") -> dict[str, Any]:
    return {"to": list(to), "subject": subject, "body": body}


def kb_result(*ids: str) -> str:
    return json.dumps({"documents": [{"id": i, "text": f"chapter {i} of the handbook"} for i in ids]})


class Clock:
    """A settable wall clock."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def guard_with(ms: ManifestSet, pol: Policy | None = None, clock: Clock | None = None, **kwargs: Any) -> Guard:
    kwargs.setdefault("telemetry", False)
    g = Guard(ms, policy=pol, **kwargs)
    if clock is not None:
        g.accounting.clock = clock
    return g


def sent(args: Any) -> str:
    return "sent"


try:  # every store suite runs over memory, a SQLite file and PostgreSQL (tests/pgfixture.py)
    from pgfixture import BACKENDS, store_url
except ImportError:  # pragma: no cover - without the PostgreSQL fixture: memory and SQLite
    import uuid as _uuid

    BACKENDS = ["memory", "sqlite"]

    def store_url(kind: str, request: Any, tmp_path: Any) -> str:
        return "memory://" if kind == "memory" else f"sqlite:///{tmp_path}/state-{_uuid.uuid4().hex[:8]}.db"


def open_stores(kind: str, request: Any, tmp_path: Any) -> tuple[Any, Any]:
    """A counter store and a kill list of backend ``kind`` on one fresh database."""
    from toolguard.cutoff import MemoryKillList, SqlKillList
    from toolguard.egress import MemoryCounterStore, SqlCounterStore
    from toolguard.stores.sql import Database

    url = store_url(kind, request, tmp_path)
    if kind == "memory":
        return MemoryCounterStore(), MemoryKillList()
    db = Database(url)
    request.addfinalizer(db.close)
    return SqlCounterStore(db), SqlKillList(db)
