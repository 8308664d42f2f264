"""WHATWG URL conformance: the WPT corpus through the url and host normalisers.

Every case must end in one of these ways:

* WPT expects a failure: toolguard raises InvalidDestination.
* WPT expects a URL and toolguard returns one: same ASCII hostname (trailing dot dropped) and
  the same href once credentials and the trailing dot are removed.
* toolguard refuses a URL that WPT accepts, for a reason this file checks independently:
  the input is relative (or empty), contains characters toolguard refuses, has a host no DNS
  name can spell, or has a host that RFC 3986 clients would read differently.

Cases whose answer depends on the test's base URL, and those where ada itself disagrees
with this (newer) copy of the WPT data, are skipped with a reason.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import ada_url
import pytest

from toolguard import destinations
from toolguard.destinations import InvalidDestination, parse_destination

DATA = Path(__file__).resolve().parent.parent / "data"
URL_CASES = [c for c in json.loads((DATA / "wpt-urltestdata.json").read_text(encoding="utf-8")) if isinstance(c, dict)]
TOASCII_CASES = [c for c in json.loads((DATA / "wpt-toascii.json").read_text(encoding="utf-8")) if isinstance(c, dict)]

NETWORK = {"http:", "https:", "ws:", "wss:", "ftp:"}
SPECIAL = {"data:", "javascript:", "file:", "blob:", "vbscript:"}
DNS_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?")


def _id(case: dict[str, Any]) -> str:
    text = case["input"] if case.get("base") in (None, "about:blank") else f"{case['input']} @ {case['base']}"
    return ascii(text)[1:-1][:60] or "<empty>"


def _refused_characters(text: str) -> bool:
    """Controls, format characters, surrogates, line separators or noncharacters."""
    stripped = text.strip(" \t\n\r\f\v")
    return any(
        unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") or 0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE
        for c in stripped
    )


def _expected_href(case: dict[str, Any]) -> str:
    """WPT's href without credentials and without the host's trailing dot."""
    href, proto, hostname = case["href"], case["protocol"], case["hostname"]
    if not href.startswith(proto + "//"):
        return str(href)
    rest = href[len(proto) + 2 :]
    if case["username"] or case["password"]:
        rest = rest[rest.index("@") + 1 :]
    if proto in NETWORK and hostname.endswith(".") and rest.startswith(hostname):
        rest = rest[: len(hostname) - 1] + rest[len(hostname) :]
    return f"{proto}//{rest}"


def _is_scheme_relative(text: str) -> bool:
    s = text.strip(" \t\n\r\f\v")
    return s[:1] in ("/", "\\") and s[1:2] in ("/", "\\")


@pytest.mark.parametrize("case", URL_CASES, ids=[_id(c) for c in URL_CASES])
def test_urltestdata(case: dict[str, Any]) -> None:
    text, base = case["input"], case["base"]
    try:
        dest = parse_destination("url", text)
        error = None
    except InvalidDestination as exc:
        dest, error = None, exc

    if case.get("failure"):
        assert error is not None, f"WPT expects a failure, toolguard gave {dest}"
        return

    standalone = ada_url.URL.can_parse(text)
    if base not in (None, "about:blank"):
        if _is_scheme_relative(text):
            if case["protocol"] not in ("http:", "https:"):
                pytest.skip("a scheme-relative input against a non-web base; toolguard resolves it against https:")
            if error is None:  # same host and path; the scheme comes from toolguard's https: base
                assert dest is not None and dest.host == case["hostname"].rstrip(".")
                assert dest.normalized.partition(":")[2] == _expected_href(case).partition(":")[2]
                return
        elif not standalone:
            assert error is not None, "a reference that needs a base must be refused"
            return
        elif ada_url.URL(text).href != case["href"]:
            pytest.skip("the result depends on the test's base URL; toolguard resolves nothing against a page")

    if error is not None:
        reason = error.reason
        if reason in ("url.relative", "empty"):
            assert not standalone
        elif reason == "control_characters":
            assert _refused_characters(text), "refused characters the input does not contain"
        elif reason.startswith("host."):
            assert not DNS_NAME.fullmatch(case["hostname"]) or ".." in case["hostname"] or case["hostname"] in (".", "")
        elif reason == "url.ambiguous_host":
            assert "\\" in text, "only a backslash makes WHATWG and RFC 3986 disagree in this corpus"
        else:
            pytest.fail(f"toolguard refused a URL WPT accepts: {error!r}")
        return

    assert dest is not None
    if ada_url.URL(text).href != case["href"]:
        pytest.skip(f"ada-url {ada_url.get_version()} serialises this input differently from this copy of the WPT data")
    proto = case["protocol"]
    assert dest.scheme == proto[:-1]
    assert dest.normalized == _expected_href(case)
    if proto in NETWORK:
        hostname = case["hostname"]
        assert dest.host == (hostname[:-1] if hostname.endswith(".") else hostname)
        assert "special_scheme" not in dest.flags
    elif proto in SPECIAL:
        assert dest.host is None and "special_scheme" in dest.flags
    else:
        assert "other_scheme" in dest.flags


@pytest.mark.parametrize("case", TOASCII_CASES, ids=[ascii(c["input"])[1:-1][:60] for c in TOASCII_CASES])
def test_toascii(case: dict[str, Any]) -> None:
    """UTS #46 ToASCII through the domain normaliser and through a URL."""
    text, expected = case["input"], case["output"]
    for kind, value in (("domain", text), ("url", f"https://{text}/x")):
        try:
            dest = parse_destination(kind, value)
        except InvalidDestination as exc:
            if expected is None:
                continue
            # Stricter than WHATWG on purpose: DNS limits and refused characters.
            assert exc.reason in (
                "host.empty_label",
                "host.label_too_long",
                "host.too_long",
                "control_characters",
            ), exc
            if exc.reason == "host.empty_label":
                assert ".." in expected
            elif exc.reason == "host.label_too_long":
                assert any(len(label) > 63 for label in expected.split("."))
            elif exc.reason == "host.too_long":
                assert len(expected.rstrip(".")) > 253
            else:
                assert _refused_characters(text)
            continue
        assert expected is not None, f"UTS #46 refuses {text!r}; toolguard gave {dest.host!r}"
        assert dest.host == expected.rstrip(".") if not expected.endswith("..") else expected


def test_public_api_fallback_agrees_with_compiled_bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python path through ada's public API gives the same parts as the fast path."""
    inputs = [c["input"] for c in URL_CASES if c.get("base") in (None, "about:blank")]
    fast = [destinations._ada_parse(text) for text in inputs]
    monkeypatch.setattr(destinations, "_lib", None)
    slow = [destinations._ada_parse(text) for text in inputs]
    assert fast == slow


def test_counts() -> None:
    """Tally of the corpus outcomes, printed with ``pytest -s``; guards against a silent skip-all."""
    outcomes: dict[str, int] = {}
    for case in URL_CASES:
        try:
            parse_destination("url", case["input"])
            key = "accepted"
        except InvalidDestination as exc:
            key = "refused (WPT failure)" if case.get("failure") else f"refused: {exc.reason}"
        outcomes[key] = outcomes.get(key, 0) + 1
    print(json.dumps(outcomes, indent=1, sort_keys=True))
    assert outcomes["accepted"] >= 240
    assert outcomes["refused (WPT failure)"] == sum(1 for c in URL_CASES if c.get("failure"))
