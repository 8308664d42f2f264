"""Properties of the normalisers behind the taint ledger (toolguard._normalize)."""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolguard import _normalize as N

# Any code point, lone surrogates included (they must not crash anything).
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
# (``st.text`` drops surrogates from its alphabet, so build the string from a list)
ANY_TEXT = st.lists(ANY_CHAR, max_size=200).map("".join)
# Text that looks like what tools return: mostly ASCII, some Unicode of every kind.
MIXED = st.lists(
    st.one_of(
        st.characters(min_codepoint=32, max_codepoint=126),
        st.sampled_from(list(" \t\n\u00a0\u200b\u00adáéßﬁ①ＡａАаΑα’“”—İ\u0301\u202e")),
        ANY_CHAR,
    ),
    max_size=300,
).map("".join)


@given(ANY_TEXT)
@example("x\ud800y\udfff")
@example("e\u200b\u0301")
@example("\u00a8 \u0308")
@example("İstanbul ǅ ﬃ ㎒")
def test_fold_idempotent_and_total(text: str) -> None:
    f = N.fold(text)
    assert N.fold(f) == f
    assert not any(c.isspace() for c in f)
    s = N.fold_spaced(text)
    assert N.fold_spaced(s) == s
    assert s.replace(" ", "") == f
    assert "  " not in s and s == s.strip()


@given(ANY_TEXT)
@example("x\ud800y")
@example("Ａ\u200bb  c\u00ad")
def test_strict_idempotent_and_total(text: str) -> None:
    s = N.strict(text)
    assert N.strict(s) == s
    assert s == s.lower() or not s.isascii()
    assert "  " not in s


@given(MIXED)
def test_codes_agree_with_strings(text: str) -> None:
    for spaced in (False, True):
        codes = N.fold_codes(text, spaced=spaced)
        mcodes, idx = N.fold_codes_map(text, spaced=spaced)
        assert np.array_equal(codes.astype(np.uint32), mcodes.astype(np.uint32))
        assert N.codes_to_str(codes) == (N.fold_spaced(text) if spaced else N.fold(text))
        assert idx.shape == codes.shape
        assert np.all(np.diff(idx) >= 0)
        # every folded character comes from the character its index points at
        for c, i in zip(N.codes_to_str(codes), idx.tolist(), strict=True):
            assert c == " " or c in N.fold(text[i]) or text[i] in "\ud800\udfff"


@given(MIXED, st.integers(0, 300), st.integers(0, 300))
def test_fold_of_substring_is_substring(text: str, a: int, b: int) -> None:
    a, b = sorted((a % (len(text) + 1), b % (len(text) + 1)))
    assert N.fold(text[a:b]) in N.fold(text)


def test_ascii_fast_path_matches_table() -> None:
    text = "".join(chr(c) for c in range(128)) * 3
    assert N.fold(text) == N.codes_to_str(N._fold_general(text, spaced=False, want_map=False)[0])
    assert N.fold_spaced(text) == N.codes_to_str(N._fold_general(text, spaced=True, want_map=False)[0])


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hello  World", "helloworld"),
        ("ＡＰＩ＿ＫＥＹ", "api_key"),
        ("раураl.com", "paypal.com"),
        ("Straße ﬁle ①", "strassefile1"),
        ("e\u0301t\u00e9", "ete"),
        ("a\u200bb\u00adc\u2060d", "abcd"),
        ("x\ud800y", "x\ufffdy"),
        ("“quoted” — text", "\"quoted\"-text"),
        ("𝐛𝐨𝐥𝐝", "bold"),
    ],
    ids=["spaces", "fullwidth", "cyrillic", "ligature-sharp-s", "accents", "invisible", "surrogate", "smart-punct", "math-bold"],
)
def test_fold_examples(raw: str, folded: str) -> None:
    assert N.fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pay  Bob\u200b", "pay bob"),
        ("раураl.com", "раураl.com"),
        ("Straße", "straße"),
        ("ＡＢＣ", "abc"),
    ],
    ids=["collapse", "no-skeleton", "keeps-sharp-s", "nfkc"],
)
def test_strict_examples(raw: str, expected: str) -> None:
    assert N.strict(raw) == expected


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("Evil.Example.", "evil.example"),
        ("xn--bcher-kva.example", "bucher.example"),
        ("bücher.example", "bucher.example"),
        ("evil%2Eexample", "evil.example"),
        ("evil。example", "evil.example"),
    ],
    ids=["case-dot", "punycode", "unicode", "percent", "ideographic-dot"],
)
def test_canonical_host(host: str, key: str) -> None:
    assert N.canonical_host(host) == key


def test_canonical_host_strict_keeps_confusables() -> None:
    assert N.canonical_host("xn--bcher-kva.example", strict_mode=True) == "bücher.example"
    assert N.canonical_host("раураl.com", strict_mode=True) != "paypal.com"


def test_canonical_url_and_email() -> None:
    assert N.canonical_url("HTTPS://user@Evil.Example:443/Path?q=1") == "https://evil.example/path?q=1"
    assert N.canonical_url("http://evil.example/") == "http://evil.example"
    assert N.canonical_url("http://evil.example:8080/x") == "http://evil.example:8080/x"
    assert N.canonical_email("Bob@EXAMPLE.com.") == "bob@example.com"
    assert N.compact("+1 (555) 010-9999") == "15550109999"


def test_strict_drop_class_covers_format_characters() -> None:
    missing = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and N._STRICT_DROP.fullmatch(chr(c)) is None
    ]
    assert missing == []


@given(MIXED)
def test_fold_index_agrees_with_fold_codes_map(text: str) -> None:
    assert np.array_equal(N.fold_index(text), N.fold_codes_map(text)[1])


def test_whitespace_list_is_complete() -> None:
    assert set(N.WHITESPACE) == {c for c in range(sys.maxunicode + 1) if chr(c).isspace()}


@given(MIXED)
@example("ℌ\u3000\u0301 x\ufe0f\U000e0041 \U0001d400")
def test_strict_passes_agree(text: str) -> None:
    s = N.replace_surrogates(text)
    assert N._strict_pass_long(s) == N._strict_pass_short(s)
    assert N.strict(s * 40) == N.strict(N.strict(s * 40))


_LATIN = st.sampled_from(
    [chr(c) for a, b in N._INERT_RANGES for c in range(a, b + 1)] + list("\u0301\u0308\u00ad\u200b\u2028\u03a3\u0130ﬁ\ufffd\ud800aBcIZ \t\n.\x7f\x01")
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LATIN, st.characters(max_codepoint=127)), max_size=80).map("".join), st.integers(1, 12))
def test_strict_shortcut_for_mostly_latin_text_equals_the_general_passes(text: str, repeat: int) -> None:
    t = text * repeat  # past 512 characters too (the vectorised pass)
    assert N.strict(t) == N._strict_general(t)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*"0123456789().+/- x", "é", "’", "١", "٢", "\u0966", "\uff11", "\u00b2", "\u2460"]), max_size=60).map("".join))
def test_numbers_of_non_ascii_text_equal_the_unicode_regex(text: str) -> None:
    from toolguard import taint as T

    folded = text.replace(" ", "")  # (the spaces decide only "," and "'", which this text has not)
    want = []
    for m in T._NUMBER.finditer(folded):
        want.append((T._NON_DIGIT.sub("", m.group()), m.start()))
        d = re.search(r"\d\.\d{1,2}\Z", m.group())  # a decimal part: the digits before it too
        if d is not None and len(T._NON_DIGIT.sub("", m.group()[: d.start() + 1])) >= 7:
            want.append((T._NON_DIGIT.sub("", m.group()[: d.start() + 1]), m.start()))
    assert T._numbers(text) == want
