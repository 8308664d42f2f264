"""Properties of the normalisers and allow-lists, checked with Hypothesis."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from toolguard.destinations import (
    AllowList,
    Destination,
    InvalidDestination,
    extract_urls,
    parse_destination,
    skeleton,
)

KINDS = ("email", "url", "domain", "host", "iban", "phone", "channel", "path")
# DEST_FUZZ_EXAMPLES=20000 for a long run before a release.
# filter_too_much: the generators aim at the edges of what parsers accept, so some runs draw
# many values a test then skips with assume(); Hypothesis still runs its examples, and its
# health check would otherwise fail a run at random.
SETTINGS = settings(
    max_examples=int(os.environ.get("DEST_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Any code point, surrogates included (st.text() alone leaves them out).
any_text = st.text(st.characters(exclude_categories=()), max_size=60)

# Pieces that make parsers disagree: delimiters, encodings, look-alikes, invisible characters.
TRICKY = [
    "@", ":", "/", "\\", "?", "#", "[", "]", ".", "..", "%", "%2e", "%2f", "%40", "%5c", "%00", "%65",
    "\t", "\n", " ", "\u200b", "\u202e", "\u00ad", "\ufe0f", "\U000e0041", "。", "．", "／", "＠", "ａ",
    "а", "ı", "xn--", "xn--mnchen-3ya", "0x7f", "0177", "2130706433", "::ffff:", "127.0.0.1", "acme",
    "example", "evil", "test", "www", "user", "pass", "80", "443", "-", "_", '"', "<", ">", ",", ";",
    "(", ")", "+", "*", "ß", "ü", "\u0301", "\x7f", "\x85", "\ud800",
]
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(string.ascii_letters + string.digits, max_size=4)), max_size=12).map("".join)
schemes = st.sampled_from(["http", "https", "HTTPS", "ws", "wss", "ftp", "file", "data", "javascript", "blob", "mailto", "ssh", "web+x", ""])
separators = st.sampled_from(["://", ":/", ":", ":\\\\", ":/\\", "//", ":///", "\\\\"])
urlish = st.builds(
    lambda scheme, sep, userinfo, host, port, path, query, frag: f"{scheme}{sep}{userinfo}{host}{port}{path}{query}{frag}",
    schemes,
    separators,
    st.one_of(st.just(""), tricky_text.map(lambda u: u + "@")),
    tricky_text,
    st.sampled_from(["", ":80", ":443", ":8443", ":0", ":99999", ":x", ":"]),
    st.one_of(st.just(""), tricky_text.map(lambda p: "/" + p)),
    st.one_of(st.just(""), tricky_text.map(lambda q: "?" + q)),
    st.one_of(st.just(""), tricky_text.map(lambda f: "#" + f)),
)
emailish = st.builds(
    lambda display, local, domain, close: f"{display}{local}@{domain}{close}",
    st.sampled_from(["", "Bob <", '"Bob, X" <', "a@b <", "<"]),
    st.one_of(tricky_text, st.sampled_from(['"a b"', '"a\\"b"', "bob+x", "Bob.Smith", "a..b", '"bob"'])),
    st.one_of(tricky_text, st.sampled_from(["acme.example", "[127.0.0.1]", "[IPv6:::1]", "münchen.de", "127.0.0.1"])),
    st.sampled_from(["", ">", " "]),
)


def _parse(kind: str, value: str, roots: tuple[str, ...] = ()) -> Destination | None:
    try:
        return parse_destination(kind, value, roots=roots)
    except InvalidDestination as exc:
        assert exc.kind == kind and exc.value == value and exc.reason
        return None


def _check_idempotent(kind: str, value: str, roots: tuple[str, ...] = ()) -> None:
    dest = _parse(kind, value, roots)
    if dest is None:
        return
    assert dest.kind == kind and dest.raw == value
    again = parse_destination(kind, dest.normalized, roots=roots)
    assert again.normalized == dest.normalized
    assert again.host == dest.host and again.registrable_domain == dest.registrable_domain
    if dest.host is not None:
        assert dest.host.isascii() and dest.host == dest.host.lower() and not dest.host.endswith(".")


@SETTINGS
@given(kind=st.sampled_from(KINDS), value=any_text)
def test_any_text_parses_or_raises_invalid_destination(kind: str, value: str) -> None:
    _check_idempotent(kind, value)


@SETTINGS
@given(kind=st.sampled_from(KINDS), value=tricky_text)
def test_tricky_text_parses_or_raises_invalid_destination(kind: str, value: str) -> None:
    _check_idempotent(kind, value)


@SETTINGS
@given(value=urlish)
@example("https://acme.example@evil.test/")
@example("http://[::ffff:127.0.0.1]:80/a/../b?#")
@example("web+x:/.//not-a-host/")
def test_url_normalisation_is_idempotent(value: str) -> None:
    _check_idempotent("url", value)
    dest = _parse("url", value)
    if dest is not None and dest.host is not None and "special_scheme" not in dest.flags:
        authority = re.split(r"[/?#]", dest.normalized.split("//", 1)[-1], maxsplit=1)[0]
        assert "@" not in authority, "credentials left in the normalised URL"


@SETTINGS
@given(value=emailish)
def test_email_normalisation_is_idempotent(value: str) -> None:
    _check_idempotent("email", value)


@SETTINGS
@given(value=st.one_of(tricky_text, st.text(string.printable, max_size=40)))
def test_path_normalisation_is_idempotent_with_and_without_roots(value: str) -> None:
    _check_idempotent("path", value)
    _check_idempotent("path", value, roots=("/srv/data", "/tmp"))


label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,15}[a-z0-9])?", fullmatch=True)
unicode_label = st.sampled_from(["münchen", "例え", "пример", "ß", "café", "ｓｈｏｐ", "ÄPI"])


def _spell(host: str, style: int) -> str:
    """The same host spelled differently: case, trailing dot, full-width letters."""
    if style == 1:
        return host.upper()
    if style == 2:
        return host + "."
    if style == 3:
        return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in host)
    return host


@SETTINGS
@given(labels=st.lists(st.one_of(label, unicode_label), min_size=1, max_size=4), style=st.integers(0, 3), kind=st.sampled_from(["url", "domain", "host", "email"]))
def test_subdomains_match_the_wildcard_and_never_the_apex(labels: list[str], style: int, kind: str) -> None:
    host = _spell(".".join(labels) + ".acme.example", style)
    value = {"url": f"https://{host}/x", "domain": host, "host": host, "email": f"bob@{host}"}[kind]
    dest = _parse(kind, value)
    assume(dest is not None)
    assert dest is not None
    wild = AllowList(kind, ["*@*.acme.example"] if kind == "email" else ["*.acme.example"])
    apex = AllowList(kind, ["*@acme.example"] if kind == "email" else ["acme.example"])
    assert wild.match(dest) is not None
    assert apex.match(dest) is None


@SETTINGS
@given(prefix=st.one_of(label, tricky_text), suffix=st.sampled_from(["", ".evil.test", "-evil.test", ".acme.example.evil.test", "%2eevil.test"]))
def test_look_alike_hosts_never_match(prefix: str, suffix: str) -> None:
    """Nothing but a label boundary before 'acme.example' can reach the allow-list."""
    for value in (f"https://{prefix}acme.example{suffix}/", f"https://acme.example{suffix}@{prefix}evil.test/"):
        dest = _parse("url", value)
        if dest is None or dest.host is None:
            continue
        verdict = AllowList("url", ["acme.example", "*.acme.example"]).match(dest)
        if verdict is not None:
            assert dest.host == "acme.example" or dest.host.endswith(".acme.example")


@SETTINGS
@given(value=urlish, patterns=st.lists(st.sampled_from(["acme.example", "*.acme.example", "10.0.0.0/8", "[::1]", "https://acme.example/v1/*", "data:*", "*", "ws://*.acme.example:*/x?*"]), min_size=1, max_size=4))
def test_matching_never_raises_and_returns_a_pattern(value: str, patterns: list[str]) -> None:
    dest = _parse("url", value)
    assume(dest is not None)
    assert dest is not None
    result = AllowList("url", patterns).match(dest)
    assert result is None or result in patterns
    if "special_scheme" in dest.flags:
        assert result in (None, "data:*")


@SETTINGS
@given(text=st.one_of(any_text, tricky_text, urlish), kind=st.sampled_from(["markdown", "html", "text"]))
def test_extract_urls_never_raises_and_spans_are_in_bounds(text: str, kind: str) -> None:
    for found in extract_urls(text, kind):
        assert 0 <= found.start <= found.end <= len(text)
        assert found.url and found.url == found.url.strip()
        assert "\n" not in found.url and "\t" not in found.url


@SETTINGS
@given(host=st.lists(label, min_size=1, max_size=3).map(".".join), secret=st.text(string.ascii_letters, min_size=1, max_size=10))
def test_markdown_images_are_always_found(host: str, secret: str) -> None:
    url = f"https://{host}.test/p.png?d={secret}"
    for text in (f"![a]({url})", f"x ![a][r] y\n\n[r]: {url}", f'<img src="{url}">', f"<IMG\nSRC={url}>"):
        kind = "markdown"
        assert any(e.url == url and e.resource for e in extract_urls(text, kind)), text


def test_skeleton() -> None:
    assert skeleton("аcme") == skeleton("acme")
    assert skeleton("раураl") == skeleton("paypal")
    assert skeleton("münchen") != skeleton("munchen")
    assert skeleton("") == ""


def test_parse_is_fast_enough(tmp_path: Path) -> None:
    """A loose bound (the real numbers are in the report): parse+match, cached and cold."""
    import time

    from toolguard import destinations

    allow = AllowList("email", ["*@acme.example"])
    start = time.perf_counter()
    for i in range(2000):
        destinations._parse_email(f"user{i}@acme.example")
    cold = (time.perf_counter() - start) / 2000
    start = time.perf_counter()
    for _ in range(2000):
        allow.match(parse_destination("email", "user1@acme.example"))
    warm = (time.perf_counter() - start) / 2000
    assert cold < 1e-3 and warm < 200e-6, (cold, warm)  # loose: CI machines are shared
