"""The research agent: the markdown-image exfiltration is stopped, the plain answer shown."""

from __future__ import annotations

from urllib.parse import quote


def test_the_badge_carrying_the_profile_is_denied_and_the_plain_answer_passes(example):
    mod = example("research_agent")
    result = mod.main(["--quiet"])
    assert [r.call_id for r in result.rows] == ["call_profile", "call_fetch", "call_answer_badge", "call_answer_plain"]
    assert result.row("call_profile").status == "executed"
    assert result.row("call_fetch").status == "executed"
    badge = result.row("call_answer_badge")
    assert badge.status == "denied"
    assert {"markdown.remote_resource", "payload.private_data"} <= set(badge.codes)
    assert "pixel.policywatch-cdn.example" in badge.reason
    plain = result.row("call_answer_plain")
    assert plain.status == "executed" and plain.codes == ()


def test_only_the_plain_answer_reaches_the_screen(example):
    mod = example("research_agent")
    result = mod.main(["--quiet"])
    assert result.screen == [mod.ANSWER]
    shown = "\n".join(result.screen)
    assert "pixel.policywatch-cdn.example" not in shown
    assert quote(mod.PROFILE) not in shown and "Tom Becker" not in shown
    assert mod.SOURCE in shown  # the benign link to the source is kept


def test_the_leaking_answer_really_carries_the_profile(example):
    # The attack is real: what the model tried to post embeds the profile in an image URL.
    mod = example("research_agent")
    leak = mod.leaking_answer()
    assert f"![status]({mod.PIXEL}?p=" in leak and quote(mod.PROFILE) in leak
