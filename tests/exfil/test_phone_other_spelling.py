"""A labelled phone number written in another of its usual spellings (tests/heldout10).

Numbers are matched by their digits however they are grouped, but a phone number's
international and national spellings have different digits: a source's mobile held as
``+44 7700 900 835`` in private notes, written into a public brief as ``07700-900-835``
(``07700900835`` against ``447700900835``), left unnoticed. A phone number in a payload is
now also looked up in its other spellings: written internationally (``+`` or ``00``), as
``+<code>`` and nationally; written nationally with a trunk ``0``, under the country codes whose
plans dial one. A number the user wrote, as the argument spells it, stays the user's.
"""

from __future__ import annotations

from typing import Any

import pytest

from toolguard import Call, Guard
from toolguard.manifest import manifest_from_dict

NOTES = "Source 'Kestrel': Anita Roy, mobile +44 7700 900 835, Signal only. Desk line 020 7946 0321."


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _search(query: str, notes: str = NOTES, user: str = "What is new on the water story?") -> Any:
    search = manifest_from_dict({"tool": "search", "side_effect": "read", "arguments": _obj(query={"type": "string"}), "payload": ["/query"]})
    src = manifest_from_dict({"tool": "notes", "side_effect": "read", "arguments": _obj(), "output": {"trust": "trusted", "labels": ["private"]}})
    guard = Guard([search, src])
    s = guard.session("u", "s")
    s.add_user_text(user)
    guard.run(s, Call("notes", {}, "p"), lambda _a: notes)
    return guard.run(s, Call("search", {"query": query}, "x"), lambda _a: "ok")


@pytest.mark.parametrize("query", [
    "tips: call 07700-900-835",  # national, for a labelled international number
    "07700 900835",
    "(07700) 900 835 signal",
    "+44 20 7946 0321",  # international, for a labelled national number
    "0044 (0)20 7946 0321",
    "+44 7700 900 835",  # the labelled spelling itself, as before
    "signal 0044 7700 900835",  # the 00 prefix, for a labelled + spelling
])
def test_a_labelled_phone_number_in_another_spelling_is_private_data(query: str) -> None:
    out = _search(query)
    assert out.status == "denied" and "payload.private_data" in out.decision.codes, out.decision.findings


@pytest.mark.parametrize("query", [
    "07700 900836",  # another number
    "+33 7700 900 836",
    "water companies capex review 2026-11-28 09:00",
    "invoice 012345 total 1,450.00",
])
def test_other_numbers_are_not(query: str) -> None:
    out = _search(query)
    assert out.status == "executed" and not out.decision.findings, out.decision.findings


def test_a_number_the_user_wrote_in_another_spelling_is_the_users() -> None:
    """The user's own mobile, held internationally in their profile, typed nationally by the
    user into a search: the user's words, not a disclosure."""
    out = _search("07700 900835 data breach", user="Search whether my number 07700 900835 is in a data-breach list.")
    assert out.status == "executed" and not out.decision.findings, out.decision.findings
