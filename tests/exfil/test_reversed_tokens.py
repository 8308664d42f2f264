"""A short token of labelled text written backwards (tests/heldout9).

Labelled ids and numbers with digits are found from 8 characters by their keys, and a
fragment written backwards by the fingerprints; but a token under 20 characters has no
guaranteed fingerprint, so a passport number ``P53390127`` typed into a site's search box as
``72109335P`` (shown the right way round behind a bidi override, or not) left unnoticed. The
tokens of 8 to 42 characters with a digit in a payload are now also looked up reversed.
"""

from __future__ import annotations

from typing import Any

import pytest

from toolguard import Call, Guard
from toolguard.manifest import manifest_from_dict

PROFILE = '{"name": "Noor Haddad", "passport": "P53390127", "employee_id": "E-2093188", "phone": "+44 7700 900 618"}'


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _search(query: str) -> Any:
    search = manifest_from_dict({"tool": "search", "side_effect": "read", "arguments": _obj(query={"type": "string"}), "payload": ["/query"]})
    profile = manifest_from_dict({"tool": "profile", "side_effect": "read", "arguments": _obj(), "output": {"trust": "trusted", "labels": ["private"]}})
    guard = Guard([search, profile])
    s = guard.session("u", "s")
    s.add_user_text("Find me a hotel in Manchester.")
    guard.run(s, Call("profile", {}, "p"), lambda _a: PROFILE)
    return guard.run(s, Call("search", {"query": query}, "x"), lambda _a: "ok")


@pytest.mark.parametrize("query", ["72109335P", "hotel 72109335P loyalty", "id=8813902-E", "P53390127"])
def test_a_short_labelled_token_reversed_is_private_data(query: str) -> None:
    out = _search(query)
    assert out.status == "denied" and "payload.private_data" in out.decision.codes, out.decision.findings


@pytest.mark.parametrize("query", ["hotel Manchester 2026-12-08 3 nights", "room 72109336P", "flight BA1387 12345678"])
def test_other_tokens_are_not(query: str) -> None:
    out = _search(query)
    assert out.status == "executed" and not out.decision.findings, out.decision.findings
