"""The pure decision core: one test (at least) per finding code it emits, plus its invariants."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolguard import Call, Policy, SessionView, decide, extend_checks, load_manifests
from toolguard.findings import FINDING_CODES, Finding, combine

MS = load_manifests(Path(__file__).parent / "manifests")
VIEW = SessionView.empty("alice", "s1")


def run(tool: str, args, *, policy: Policy | None = None, view: SessionView = VIEW):
    return decide(Call(tool, args, "c1"), MS.get(tool), view, policy or Policy())


EMAIL_OK = {"to": ["bob@acme.example"], "subject": "hi", "body": "the report"}


def test_allowed_call_has_no_findings():
    d = run("send_email", EMAIL_OK)
    assert d.verdict == "allow" and d.findings == () and d.allowed
    assert d.tool == "send_email" and d.call_id == "c1"


def test_unknown_tool_denied_and_policy_may_hold():
    d = run("launch_missiles", {})
    assert (d.verdict, d.codes) == ("deny", ("tool.unknown",))
    assert "launch_missiles" in d.reason
    d = run("launch_missiles", {}, policy=Policy(unknown_tools="hold"))
    assert d.verdict == "hold"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param("not an object", "call.malformed", id="string-args"),
        pytest.param(["a"], "call.malformed", id="list-args"),
        pytest.param(None, "call.malformed", id="none-args"),
        pytest.param({1: "x"}, "call.malformed", id="int-key"),
        pytest.param({"to": [object()]}, "call.malformed", id="non-json-value"),
        pytest.param({"to": float("nan")}, "call.malformed", id="nan"),
        pytest.param({"to": float("inf")}, "call.malformed", id="inf"),
        pytest.param({"to": b"bytes"}, "call.malformed", id="bytes"),
        pytest.param({"body": "x" * (1024 * 1024 + 1)}, "call.too_large", id="too-large"),
        pytest.param({"to": "\ud800"}, "call.invalid_unicode", id="lone-surrogate"),
        pytest.param({"\udfff": 1}, "call.invalid_unicode", id="surrogate-key"),
        pytest.param({"bad\x00key": 1}, "call.malformed", id="control-in-key"),
    ],
)
def test_broken_call_shape_denied(args, code):
    d = run("send_email", args)
    assert d.verdict == "deny"
    assert code in d.codes
    # nothing else is trusted about a broken call: no schema findings pile up
    assert "schema.invalid" not in d.codes


def test_too_deep_denied():
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["a"] = {}
        node = node["a"]
    d = run("send_email", deep)
    assert d.verdict == "deny" and "call.too_deep" in d.codes


def test_size_and_depth_caps_come_from_policy():
    pol = Policy(max_argument_bytes=100, max_depth=2)
    assert "call.too_large" in run("send_email", {**EMAIL_OK, "body": "x" * 200}, policy=pol).codes
    assert "call.too_deep" in run("send_email", {"to": [[["x"]]]}, policy=pol).codes


@pytest.mark.parametrize(
    "text",
    ["hello\u202eevil", "zero\u200bwidth", "tag\U000e0041smuggle", "bell\x07", "c1\x85"],
    ids=["bidi-override", "zero-width", "unicode-tag", "c0-control", "c1-control"],
)
def test_hidden_characters_held(text):
    d = run("send_email", {**EMAIL_OK, "body": text})
    assert d.verdict == "hold"
    assert d.codes == ("call.hidden_characters",)
    assert d.findings[0].pointer == "/body"


def test_ordinary_whitespace_is_fine():
    assert run("send_email", {**EMAIL_OK, "body": "a\tb\nc\r\nd"}).verdict == "allow"


def test_schema_reports_every_violation_with_pointer():
    d = run("send_email", {"to": [], "subject": "x" * 301, "extra": 1})
    assert d.verdict == "deny"
    schema = [f for f in d.findings if f.code == "schema.invalid"]
    pointers = sorted(f.pointer for f in schema)
    assert pointers == ["", "", "/subject", "/to"]  # missing body + extra key at root; too long; too short
    assert all(f.evidence and f.evidence[0].kind == "schema" for f in schema)


def test_schema_message_truncates_huge_values():
    d = run("send_email", {**EMAIL_OK, "subject": "y" * 50_000})
    (f,) = [f for f in d.findings if f.code == "schema.invalid"]
    assert len(f.message) < 400


def test_destination_not_allowed_held_with_normalised_evidence():
    d = run("send_email", {**EMAIL_OK, "to": ["bob@acme.example", "Eve@Evil.TEST"]})
    assert d.verdict == "hold"
    (f,) = d.findings
    assert f.code == "destination.not_allowed" and f.pointer == "/to/1"
    assert f.evidence[0].detail["normalized"] == "eve@evil.test"
    # the model-facing message does not reveal the allow-list
    assert "acme.example" not in f.message


@pytest.mark.parametrize(
    "addr",
    ["bob@acme.example.evil.test", "bob@evilacme.example", "bob@ACME.EXAMPLE.evil.test", "bob@acme.example@evil.test"],
)
def test_lookalike_recipients_not_allowed(addr):
    d = run("send_email", {**EMAIL_OK, "to": [addr]})
    assert d.verdict in ("hold", "deny")
    assert set(d.codes) & {"destination.not_allowed", "destination.invalid"}


def test_allowed_recipient_in_other_case_and_trailing_dot():
    assert run("send_email", {**EMAIL_OK, "to": ["Bob@ACME.example."]}).verdict == "allow"


def test_invalid_destination_denied():
    d = run("send_email", {**EMAIL_OK, "to": ["not an address"]})
    assert d.verdict == "deny" and "destination.invalid" in d.codes


def test_read_tool_without_allow_list_may_fetch_anywhere():
    assert run("fetch_url", {"url": "https://en.wikipedia.org/wiki/Paris"}).verdict == "allow"


def test_suspicious_hosts_held_even_for_read_tools():
    for url in ["http://169.254.169.254/latest/meta-data/", "http://2130706433/", "https://acme.example@evil.test/"]:
        d = run("fetch_url", {"url": url})
        assert d.verdict == "hold", url
        assert "destination.suspicious_host" in d.codes, url


def test_non_network_schemes_denied():
    for url in ["file:///etc/passwd", "javascript:alert(1)"]:
        d = run("fetch_url", {"url": url})
        assert d.verdict == "deny" and "destination.invalid" in d.codes, url


def test_financial_side_effect_requires_approval_by_default():
    d = run("transfer", {"iban": "DE89 3704 0044 0532 0130 00", "amount": 10})
    assert d.verdict == "hold" and d.codes == ("side_effect.requires_approval",)
    pol = Policy(side_effects={})
    assert run("transfer", {"iban": "DE89370400440532013000", "amount": 10}, policy=pol).verdict == "allow"


def test_cut_off_principal_denied_on_every_call():
    view = SessionView(principal="mallory", session_id="s", ledger=VIEW.ledger, cut_off="3 denied calls in 10m")
    d = run("send_email", EMAIL_OK, view=view)
    assert d.verdict == "deny" and d.codes == ("principal.cut_off",)
    assert "3 denied calls" in d.reason


def test_policy_and_manifest_overrides():
    args = {**EMAIL_OK, "to": ["eve@evil.test"]}
    assert run("send_email", args, policy=Policy(actions={"destination.not_allowed": "deny"})).verdict == "deny"
    assert run("send_email", args, policy=Policy(actions={"destination.not_allowed": "allow"})).verdict == "allow"
    # the manifest wins over the policy
    m = MS.get("send_email").model_copy(update={"actions": {"destination.not_allowed": "allow"}})  # type: ignore[union-attr]
    d = decide(Call("send_email", args, "c"), m, VIEW, Policy(actions={"destination.not_allowed": "deny"}))
    assert d.verdict == "allow"
    assert d.codes == ("destination.not_allowed",)  # still reported, as information


def test_combine_precedence_and_order_independence():
    fs = [
        Finding("destination.not_allowed", "m1", "/a", "hold"),
        Finding("schema.invalid", "m2", "/b", "deny"),
        Finding("call.hidden_characters", "m3", "/c", "allow"),
        Finding("destination.not_allowed", "m4", "/d", "hold"),
    ]
    first = combine(fs, tool="t", call_id="c")
    assert first.verdict == "deny" and first.reason == "m2"
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(fs)
        assert combine(fs, tool="t", call_id="c") == first
    assert combine([], tool="t").verdict == "allow"


def test_every_code_has_docs_row():
    text = (Path(__file__).parents[2] / "docs" / "findings.md").read_text(encoding="utf-8")
    for code in FINDING_CODES:
        assert f"`{code}`" in text, code


def test_extend_checks():
    def no_subject_shouting(ctx):
        if ctx.call.args.get("subject", "").isupper():
            yield ctx.finding("side_effect.requires_approval", "shouting needs a second look", "/subject")

    my_decide = extend_checks({"shouting": no_subject_shouting})
    d = my_decide(Call("send_email", {**EMAIL_OK, "subject": "HELLO"}, "c"), MS.get("send_email"), VIEW, Policy())
    assert d.verdict == "hold" and d.findings[0].pointer == "/subject"
    assert decide(Call("send_email", {**EMAIL_OK, "subject": "HELLO"}, "c"), MS.get("send_email"), VIEW).verdict == "allow"


def test_decision_core_does_no_io_imports():
    code = "import sys, toolguard.policy; bad = [m for m in ('sqlite3', 'psycopg', 'opentelemetry', 'httpx', 'starlette') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_decision_is_deterministic():
    args = {**EMAIL_OK, "to": ["eve@evil.test", "x"], "subject": 5}
    assert run("send_email", args) == run("send_email", args)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tool=st.sampled_from(["send_email", "fetch_url", "transfer", "post_message", "nope"]), args=json_values)
def test_decide_never_raises_and_never_allows_schema_violations(tool, args):
    m = MS.get(tool)
    d = decide(Call(tool, args, "c"), m, VIEW, Policy())
    assert d.verdict in ("allow", "hold", "deny")
    if d.verdict == "allow":
        assert m is not None
        assert isinstance(args, dict)
        assert m.validator.is_valid(args)


@settings(max_examples=200, deadline=None)
@given(args=st.fixed_dictionaries({"to": st.lists(st.emails(), min_size=1, max_size=3), "subject": st.text(max_size=50), "body": st.text(max_size=200)}))
def test_email_calls_never_crash(args):
    d = run("send_email", args)
    assert d.verdict in ("allow", "hold", "deny")
    for f in d.findings:
        assert f.code in FINDING_CODES
