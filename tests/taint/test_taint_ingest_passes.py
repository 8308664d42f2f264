"""The C core's one-pass ingest functions (``keyed_values``, ``non_ascii``, ``strict_utf8``,
``sort_unique``, ``sort_run``) against the Python and numpy passes they replace, and whole
ledgers built with and without them from labelled texts that state credentials, hold
non-ASCII characters, lone surrogates and postal addresses."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from core_support import contents as _contents
from core_support import core
from core_support import ledger as _ledger
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import toolguard.taint as T
from toolguard import _normalize as N

C = pytest.importorskip("toolguard._taintc")

# key words in several cases, the pieces of a stated value (labels, quotes, blanks,
# separators, delimiters, the characters stripped from its end), characters of every UTF-8
# length (a value is cut at 128 bytes), lone surrogates, and ASCII whitespace of the bytes \s
KEYED = st.lists(
    st.sampled_from(
        [
            "pass", "PASSWORD", "pwd", "Secret", "key", "TOKEN", "api_key", "client_secret", "_-",
            ":", "=", " ", "\t", "\n", '"', "'", "`", ",", ";", "<", ">", ".", ")", "]", "}",
            "a", "Zz9", "x" * 20, "é", "€", "𝐀", "\ud800", "\x0b", "\x1c", "ab" * 40, "é" * 70,
            "𝐀" * 33, "-x", "t7#Qm2-vRk!9pLx4",
        ]
    ),
    max_size=40,
).map("".join)
# texts whose strict form goes through strict_utf8 (ASCII, inert characters) or not
STRICTISH = st.text(
    st.sampled_from([*"abcXYZ 019.-@:", "\t", "\n", "\x0b", "\x1c", "\x00", "\x7f", "é", "’", "“", "–", "€", "ß", "ﬁ", "Ä", "\u200b", "\u00a0", "𝐀", "\ud800", "東"]),
    max_size=200,
)


@pytest.fixture(autouse=True)
def _core() -> Iterator[None]:
    with core(True):
        yield


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(KEYED)
@example("password: t7#Qm2-vRk!9pLx4")
@example('{"client_secret": "' + "é" * 63 + 'ab"}')  # the cut at 128 bytes falls inside a character
@example("API_KEY=\ud800abcdefgh\ud800...")
@example("tokenizer_settings_x=abcdefghij")  # a key longer than 12 letters after the word
def test_keyed_values_equals_the_regular_expression(text: str) -> None:
    assert C.keyed_values(text) == T._keyed_values(text)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(STRICTISH)
def test_non_ascii_equals_the_codec_pass(text: str) -> None:
    assert C.non_ascii(text) == N.non_ascii_chars(text)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(STRICTISH)
@example("  A\t\x01 \x0b B  é’ ")
def test_strict_utf8_equals_strict_ascii_of_the_encoded_text(text: str) -> None:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        assert C.strict_utf8(text, N._STRICT_BYTES, N._STRICT_DROP_ASCII) is None
        return
    assert C.strict_utf8(text, N._STRICT_BYTES, N._STRICT_DROP_ASCII) == C.strict_ascii(raw, N._STRICT_BYTES, N._STRICT_DROP_ASCII)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(STRICTISH)
def test_strict_encoded_equals_strict(text: str) -> None:
    s = N.strict(text)
    for got in (N.strict_encoded(text, core=C), N.strict_encoded(text, core=C, chars=N.non_ascii_chars(text)), N.strict_encoded(text)):
        assert got == (s, s.encode("utf-8"))


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([0, 1, 7, 255, 256, 1 << 40, 1 << 63, (1 << 64) - 1]) | st.integers(0, (1 << 64) - 1), min_size=1, max_size=400),
    st.integers(0, 2**32),
)
@example([5] * 40 + [1 << 63] * 3 + [5], 0)  # a bucket beyond the insertion sort's size, ties
def test_sort_unique_equals_the_numpy_passes(keys: list[int], seed: int) -> None:
    h = np.array(keys, dtype=np.uint64)
    p = np.cumsum(np.random.default_rng(seed).integers(0, 3, size=h.shape[0])).astype(np.int64)
    want, got = T._sort_unique(h, p), T._sort_unique(h, p, C)
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([0, 1, 7, 255, 256, 1 << 40, 1 << 63, (1 << 64) - 1]) | st.integers(0, (1 << 64) - 1), max_size=400),
    st.integers(0, 2**32),
)
@example([9] * 50 + [3] * 2 + [9], 1)  # a bucket beyond the insertion sort's size, ties
def test_sort_run_equals_a_stable_argsort(keys: list[int], seed: int) -> None:
    h = np.array(keys, dtype=np.uint64)
    v = np.random.default_rng(seed).integers(0, 2**32, size=h.shape[0]).astype(np.uint32)
    order = np.argsort(h, kind="stable")
    kb, vb = C.sort_run(h, v)
    assert np.frombuffer(kb, dtype=np.uint64).tolist() == h[order].tolist()
    assert np.frombuffer(vb, dtype=np.uint32).tolist() == v[order].tolist()


def test_the_new_functions_raise_on_malformed_input() -> None:
    with pytest.raises(ValueError):
        C.sort_unique(np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError):
        C.sort_unique(b"1234567", b"12345678")
    with pytest.raises(ValueError):
        C.sort_run(np.zeros(2, dtype=np.uint64), np.zeros(3, dtype=np.uint32))
    with pytest.raises(ValueError):
        C.strict_utf8("abc", b"short", b"")
    with pytest.raises(ValueError):
        C.strict_utf8("abc", N._STRICT_BYTES, b"\xff")
    with pytest.raises(TypeError):
        C.keyed_values(b"password: abcdefghij")
    with pytest.raises(TypeError):
        C.non_ascii(b"abc")


LABELLED = st.lists(st.one_of(KEYED, STRICTISH, st.just("Ship to 221 Baker Street, London NW1 6XE today. ")), min_size=1, max_size=6).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LABELLED, min_size=1, max_size=4))
def test_ledgers_agree_on_labelled_texts(texts: list[str]) -> None:
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"p{i}", tool="read_doc", trusted=True, labels=["private"])
            led.add_output(t, call_id=f"u{i}", tool="web", trusted=False, labels=["private"])
            led.add_output(t, call_id=f"t{i}", tool="send", trusted=True)
    assert _contents(fast) == _contents(slow)
    assert fast._keyed == slow._keyed
    assert (fast._secret_tokens, fast._contact_tokens, fast._postal_tokens) == (slow._secret_tokens, slow._contact_tokens, slow._postal_tokens)
    assert fast._entries == slow._entries
    assert [raw for _, raw in fast._trusted] == [raw for _, raw in slow._trusted]
    assert fast.memory_bytes() == slow.memory_bytes()


def test_ledgers_agree_past_the_keyed_bound() -> None:
    """More stated credentials than a ledger keeps: the same ones dropped, oldest first."""
    texts = [" ".join(f"password: s3cr3t-{i:04d}-{j:04d}" for j in range(300)) for i in range(5)]
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"p{i}", tool="read_doc", trusted=True, labels=["private"])
    assert len(fast._keyed) == T._KEYED_MAX
    assert list(fast._keyed.items()) == list(slow._keyed.items())
    assert _contents(fast) == _contents(slow)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([b"abcdefgh", b"x", b"0", b"12", b"9876543", b"(", b")", b"+", b"-", b"/", b".", b"  ", b"\xff", b"/9", b",", b"'", b"123", b" "]), max_size=60).map(b"".join))
@example(b"abcdefgh" * 3 + b"1234567")  # a number after whole eight-byte stretches without digits
@example(b"abcdefg1234567")
def test_numbers_equal_the_regular_expression(raw: bytes) -> None:
    """The C core's numbers skip eight bytes at a time where none is a digit, and read group
    separators and decimal parts as the regular expressions do."""
    assert C.numbers(raw) == T._numbers("", raw)
