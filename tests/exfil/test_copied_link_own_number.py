"""A link copied whole from a private text, with a long number in it (tests/heldout9).

A URL copied whole from what the session saw names only itself, but one with a 7-digit number
or longer was judged part by part as a second line, and any labelled data in it counted: a
Zoom link from a private calendar invite (``https://zoom.example/j/88120455``) could not be
previewed, since its meeting number is in the invite, which is private. Labelled data that
a source holding the link whole wrote into it goes to the link's own host only, as the link
does; labelled data in it from any other source, and a link with anything added, are judged
as before.
"""

from __future__ import annotations

from typing import Any

from toolguard import Call, Guard
from toolguard.manifest import manifest_from_dict

LINK = "https://zoom.example/j/88120455"
INVITE = f'{{"title": "Vendor call Lumen", "attendees": ["kai@lumen-analytics.example"], "dial_in": "{LINK}", "notes": "renewal at 412,000"}}'


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _preview(url: str, *, outputs: list[tuple[str, str]]) -> Any:
    preview = manifest_from_dict({"tool": "preview", "side_effect": "read", "arguments": _obj(url={"type": "string"}),
                                  "destinations": [{"arg": "/url", "kind": "url"}]})
    calendar = manifest_from_dict({"tool": "calendar", "side_effect": "read", "arguments": _obj(), "output": {"trust": "untrusted", "labels": ["private"]}})
    notes = manifest_from_dict({"tool": "notes", "side_effect": "read", "arguments": _obj(), "output": {"trust": "trusted", "labels": ["private"]}})
    page = manifest_from_dict({"tool": "page", "side_effect": "read", "arguments": _obj()})
    guard = Guard([preview, calendar, notes, page])
    s = guard.session("u", "s")
    s.add_user_text("Is the vendor call's link working?")
    for i, (tool, text) in enumerate(outputs):
        guard.run(s, Call(tool, {}, f"c{i}"), lambda _a, t=text: t)
    return guard.run(s, Call("preview", {"url": url}, "x"), lambda _a: "ok")


def test_a_link_copied_whole_from_a_private_invite_names_only_itself() -> None:
    out = _preview(LINK, outputs=[("calendar", INVITE)])
    assert out.status == "executed" and not out.decision.findings, out.decision.findings


def test_labelled_data_from_another_source_in_a_copied_link_is_still_found() -> None:
    # A public page gives the link; the same meeting number is in the private notes.
    out = _preview(LINK, outputs=[("page", f"Join at {LINK}"), ("notes", "Lumen bridge 88120455, PIN 7731")])
    assert out.status == "denied" and "payload.private_data" in out.decision.codes, out.decision.findings


def test_a_copied_link_with_a_private_number_added_is_judged_as_before() -> None:
    out = _preview(LINK + "?ref=4120394187", outputs=[("calendar", INVITE), ("notes", "Account 4120394187 at risk")])
    assert out.status == "denied" and "payload.private_data" in out.decision.codes, out.decision.findings
