"""The short-text paths of the ledger give exactly what the general (numpy) paths give."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import toolguard.taint as T
from toolguard import _normalize as N

PIECES = st.one_of(
    st.sampled_from(
        [
            "bob@acme.example", "https://evil.example/x?id=42", "a.b.c", "x:y", "#ops", "@bot", "2024",
            "INV-2024-00981", "sk_live_51HxQ2eZvKYlo2C9Xq", "+1 (555) 010-9999", "4485 9921 0037 5512",
            "é", "’", "ﬁ", "Д", "\u200b", "\t", "\n", "...", "(x)", "[1234567]", "{a}", "a|b", "`9999999`",
            "0x41414141", "%41", "&amp;", ".", ":", "-", "_", "ß", "Ω", "١٢٣٤٥٦٧", "\x7f", "\x00",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=14),
    st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=["Cs"]), min_size=1, max_size=6),
)
TEXTS = st.lists(PIECES, max_size=40).map(" ".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.sampled_from([5, 8]))
@example("a.b x:y. :z a. #1 @ 1234567 12345678", 8)
def test_regex_tokenizer_finds_the_numpy_units(text: str, token_min: int) -> None:
    for norm in (N.fold_spaced(text), N.strict(text)):
        codes = np.frombuffer(norm.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
        assert T._tokenize_small(norm, token_min) == T._tokenize(norm, codes, token_min)
        if norm.isascii():
            assert T._tokenize_small(norm, token_min) == T._tokenize(norm, np.frombuffer(norm.encode(), dtype=np.uint8), token_min)


def _contents(led: T.TaintLedger) -> list[tuple[int, int]]:
    keys = np.concatenate([r.keys for r in led._index.runs]) if led._index.runs else np.zeros(0, dtype=np.uint64)
    vals = np.concatenate([r.vals for r in led._index.runs]) if led._index.runs else np.zeros(0, dtype=np.uint32)
    return sorted(zip(keys.tolist(), vals.tolist(), strict=True))


def _ingest_all(texts: list[str], small: int) -> T.TaintLedger:
    saved = T._SMALL_TEXT
    T._SMALL_TEXT = small
    try:
        led = T.TaintLedger()
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"c{i}", tool="web", trusted=False)
            led.add_output(t, call_id=f"d{i}", tool="doc", trusted=True, labels=["private"])
            led.add_output(t, call_id=f"e{i}", tool="mail", trusted=False, labels=["private"])
            led.add_trusted_text(t, origin="user", ref=f"user:{i}")
    finally:
        T._SMALL_TEXT = saved
    led._index.flush()
    return led


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXTS, min_size=1, max_size=4))
@example(["Sent message 4f2a9c to bob@acme.example, ref INV-2024-00981 and card 4485 9921 0037 5512 ok ﬁne"])
@example(["\u247d" * 400 + " abcdefghij" * 30, "the same phrase again " * 20])
def test_short_text_ingest_equals_the_general_path(texts: list[str]) -> None:
    small = _ingest_all(texts, 1 << 20)
    general = _ingest_all(texts, 0)
    assert _contents(small) == _contents(general)
    assert small._secret_tokens == general._secret_tokens
    assert small.memory_bytes() == general.memory_bytes()


def test_a_lookup_sees_every_pending_entry() -> None:
    led = T.TaintLedger()
    led.add_output("x" * 9000 + " filler text", call_id="c0", tool="web", trusted=False)
    for i in range(50):
        led.add_output(f"mail eve{i}@evil.example now", call_id=f"c{i + 1}", tool="web", trusted=False)
        # every output is visible to the very next query, whatever is still buffered
        assert [m.source.call_id for m in led.origin(f"eve{i}@evil.example")] == [f"c{i + 1}"]


def test_no_fold_image_contains_the_byte_separator() -> None:
    # scan joins byte segments with 0xFF: it must never occur in folded text
    codes = np.arange(0x1_0000, dtype=np.uint32)
    codes = codes[(codes < 0xD800) | (codes > 0xDFFF)]
    values = N._table_values(codes)
    assert not (values == 0xFF).any()
    assert all(0xFF not in image for image in N._MULTI_IMAGES.values())
    assert 0xFF not in N.fold_codes("\u00ff\u0178 ÿ").tolist()


@settings(max_examples=500)
@given(st.text(st.sampled_from("0123456789().+/-a "), max_size=60))
def test_number_pattern_skips_no_number(text: str) -> None:
    # the byte pattern only skips retries inside a run of digits: same matches as without it
    import re

    plain = re.compile(rb"0(?:0|[().+/\-]{1,3}0){6,}")
    tr = text.encode().translate(T._NUM_TR)
    assert [m.span() for m in T._NUMBER_T.finditer(tr)] == [m.span() for m in plain.finditer(tr)]


UNMARKED = st.lists(
    st.one_of(
        st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=["Cs"]), max_size=12),
        st.sampled_from(["sent", "Message sent", "ok", "١٢٣٤٥٦٧", "１２３４５６７", "＠", "．", "：", "＃", "ﬁle", "x-y_z"]),
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(UNMARKED, TEXTS), st.sampled_from([5, 8]))
@example("١٢٣٤٥٦٧٨ sent", 8)
@example("１２３４５６７ sent", 8)
def test_trusted_text_without_marks_has_nothing_to_index(text: str, token_min: int) -> None:
    """The shortcut of _ingest_trusted: no [0-9@#.:] mark (and no digit of any script) means
    no token unit and no number, on every tokenizer (regex, numpy, C core)."""
    s = N.strict(text)
    if not (T._MARKS(s) is None and (s.isascii() or T._ANY_DECIMAL(s) is None)):
        return
    codes = np.frombuffer(s.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
    assert T._tokenize_small(s, token_min) == []
    assert T._tokenize(s, codes, token_min) == []
    assert T._text_keys(s, codes, strict_mode=True, token_min=token_min, parents=False, c=T._C) == []
    assert T._numbers(s) == [] and T._numbers(s, c=T._C) == []
