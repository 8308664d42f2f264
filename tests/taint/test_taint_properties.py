"""Property tests of the taint ledger: totality and the winnowing detection guarantee."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from toolguard import _normalize as N
from toolguard.taint import TaintLedger, decode_layers

ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
ANY_TEXT = st.lists(ANY_CHAR, max_size=120).map("".join)
WORDS = st.lists(
    st.one_of(
        st.sampled_from(["alpha", "beta", "gamma", "delta", "2024", "x9", "é", "ü", "ß", "ﬁ", "Ω", "Д", "\u200b", "’", "—", ",", ".", ";", "@", "/", "%", "&", "=", "+", "#"]),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12),
        st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=["Cs"]), min_size=1, max_size=6),
    ),
    min_size=30,
    max_size=300,
).map(" ".join)


def _populated() -> TaintLedger:
    led = TaintLedger()
    led.add_trusted_text("send it to bob@corp.example please", origin="user", ref="user:0")
    led.add_output("visit https://evil.example/x and mail eve@evil.example key AKIA1234567890XYZ", call_id="c1", tool="web", trusted=False)
    led.add_output("private: acct 4485-9921-0037-5512 and the merger closes on the third of March", call_id="c2", tool="doc", trusted=True, labels=["private"])
    return led


LEDGER = _populated()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=4), ANY_TEXT, st.lists(ANY_TEXT, max_size=3))
@example([("/a", "%E0%A4%A" * 3 + "&#x110000;&#99999999;")], "xn--\ud800.example", ["xn--zz-\udfff"])
@example([("/a", "QUJD" * 8 + "\\x41" * 10 + "4142" * 12)], "%25252541", [])
def test_queries_never_raise(texts: list[tuple[str, str]], value: str, forms: list[str]) -> None:
    LEDGER.scan(texts)
    LEDGER.scan(texts, labels=(), untrusted=True)
    LEDGER.scan(texts, labels=["private"], untrusted=False, call_id=value)
    LEDGER.origin(value, forms=forms)
    LEDGER.sanctioned(value, forms=forms)
    decode_layers(value)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_TEXT, min_size=1, max_size=5), st.booleans())
def test_ingest_never_raises(texts: list[str], trusted: bool) -> None:
    led = TaintLedger(max_bytes=64 * 1024)
    for i, t in enumerate(texts):
        led.add_output(t, call_id=f"c{i}", tool="t", trusted=trusted, labels=["private"] if i % 2 else [])
        led.add_trusted_text(t, origin="user", ref=f"user:{i}")
        led.record_egress(f"c{i}", [("/x", t)])
    led.scan([("/x", t) for t in texts])
    assert led.untrusted_seen is (not trusted)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDS, st.integers(0, 10_000), st.integers(0, 200), st.booleans())
def test_long_enough_substring_is_always_found(text: str, start: int, extra: int, labelled: bool) -> None:
    led = TaintLedger()
    need = led.guaranteed_match
    src = led.add_output(text, call_id="c1", tool="doc", trusted=labelled, labels=["private"] if labelled else [])
    # pick a substring whose fold is at least w + k - 1 characters
    start %= max(1, len(text))
    end = start
    while end < len(text) and len(N.fold(text[start:end])) < need + extra % 40:
        end += 1
    sub = text[start:end]
    assume(len(N.fold(sub)) >= need)
    matches = led.scan([("/body", "PREFIX " + sub + " suffix")], labels=None, untrusted=not labelled)
    assert any(m.source == src and m.pointer == "/body" for m in matches)
    # and the same text, reversed
    matches = led.scan([("/body", sub[::-1])], labels=None, untrusted=not labelled)
    if all(len(N.fold(c)) <= 1 for c in sub):
        assert any(m.source == src for m in matches)


@settings(max_examples=100, deadline=None)
@given(WORDS)
def test_unrelated_text_rarely_matches(text: str) -> None:
    led = TaintLedger()
    led.add_output(text, call_id="c1", tool="doc", trusted=True, labels=["private"])
    other = "zq" + "".join(chr(0x4E00 + (ord(c) % 500)) for c in text[:200])
    assert led.scan([("/x", other)]) == ()


def test_guarantee_value() -> None:
    led = TaintLedger(min_match=20, window=24)
    assert led.guaranteed_match == 43
    assert TaintLedger(min_match=16, window=8).guaranteed_match == 23


TOKENISH = st.lists(
    st.one_of(
        st.sampled_from(["4485-9921-0037-5512", "+1 (555) 010-9999", "AKIA1234567890", "sk_live_9f8e7d6c5b4a", "x", "--", "__"]),
        st.text(st.sampled_from(list("abcXYZ0123456789-_.:/@#()+ \t\n,;é’")), max_size=16),
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=300)
@given(TOKENISH)
@example("id 4485-9921-0037-5512 and +1  (555)   010-9999, key=AKIA1234567890;")
def test_argument_keys_equal_ingest_keys(text: str) -> None:
    from toolguard.taint import _numbers, _secret_keys, _text_keys

    spaced = N.fold_spaced(text)
    codes = N.fold_codes(text, spaced=True)
    ingest = {key for key, kind, _ in _text_keys(spaced, codes, strict_mode=False, token_min=8, parents=True) if kind == "id"}
    ingest |= {key for key, _ in _numbers(spaced)}
    assert set(_secret_keys(text, 8)) == ingest


@settings(max_examples=100, deadline=None)
@given(TOKENISH, st.sampled_from(["AKIA1234567890", "4485992100375512", "sk_live_9f8e7d6c5b4a"]))
def test_labelled_token_found_in_any_argument(text: str, token: str) -> None:
    led = TaintLedger()
    led.add_output(f"the key is {token}.", call_id="c1", tool="vault", trusted=True, labels=["secret"])
    assert any(m.source.tool == "vault" for m in led.scan([("/x", f"{text} {token} {text}")]))
