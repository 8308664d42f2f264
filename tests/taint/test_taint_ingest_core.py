"""The C core's ingest functions (``latin_fp``, ``latin_spaced``, ``ascii_tr``, ``strict_ascii``)
against the Python and numpy code they replace, and ledgers built with and without them.

Each function is compared on generated inputs with the composition it stands for; the ledger
tests compare what is indexed (keys, positions, token counters) with the numpy fallback,
including texts long enough to be ingested in several slices (the carry between slices).
"""

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

# ASCII words and separators, digits and number punctuation, controls, whitespace of several
# kinds, and characters whose fold image is one ASCII character, several, none, or not ASCII
LATINISH = st.text(
    st.sampled_from([*"abcxyzABC 0123456789\t\n\r.-_@/:()+", "é", "’", "ﬁ", "ß", "\u200b", "\u00a0", "\x7f", "\x01", "Д", "ǅ", "·", "\ud800", "𝐀", "ｅ"]),
    max_size=200,
)
SPACED = st.lists(st.sampled_from([*"ab  01234567.-()+/x,'", "123", ",000"]), max_size=400).map(lambda s: "".join(s).encode("ascii"))


@pytest.fixture(autouse=True)
def _core() -> Iterator[None]:
    with core(True):
        yield


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(SPACED, st.binary(max_size=60).map(lambda b: b.replace(b" ", b"")), st.integers(4, 40), st.integers(1, 40))
@example(b"ab " * 200, b"", 20, 24)
@example(b"aaaa aaaa aaaa", b"aaa", 3, 4)  # ties everywhere
def test_latin_fp_equals_the_numpy_passes(sp: bytes, prefix: bytes, k: int, w: int) -> None:
    hb, pb, nums, tail_c, tail_p = C.latin_fp(sp, prefix, k, w)
    folded = sp.translate(None, b" ")
    codes = np.frombuffer(prefix + folded, dtype=np.uint8)
    # the position in sp of each folded code, the prefix's as -len(prefix) .. -1
    idx = np.concatenate((np.arange(len(prefix), dtype=np.intp) - len(prefix), np.flatnonzero(np.frombuffer(sp, dtype=np.uint8) != 0x20)))
    h, p = T.fingerprints(codes, k, w)
    assert np.frombuffer(hb, dtype=np.uint64).tolist() == T._mix(h).tolist()
    assert np.frombuffer(pb, dtype=np.int64).tolist() == idx[p].tolist()
    assert nums == [(d, int(idx[len(prefix) + a])) for d, a in T._numbers("", sp)]  # (read with the spaces)
    tail = (k - 1) + (w - 1)  # at least 3: the ledger's k is at least 4
    assert tail_c == codes.tobytes()[-tail:]
    assert np.frombuffer(tail_p, dtype=np.int64).tolist() == idx[-tail:].tolist()


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(LATINISH)
@example("ﬁ" * 50 + "é" * 300)
@example("x\u200by ’ ﬁ")
def test_latin_spaced_equals_the_codec_path(text: str) -> None:
    want = N.latin_spaced_map(text)
    got = N.latin_spaced_map(text, C)
    if want is None or got is None:
        assert want is None and got is None
        return
    assert got[0] == want[0]
    assert (got[1] is None) == (want[1] is None)
    if want[1] is not None and got[1] is not None:
        assert got[1].tolist() == want[1].tolist()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(LATINISH, st.sampled_from([b"", b" ", b" -0"]))
def test_ascii_tr_equals_encode_and_translate(text: str, delete: bytes) -> None:
    for table in (T._POSTAL_TR, T._SAME, T._NUM_TR):
        assert C.ascii_tr(text, table, delete) == text.encode("ascii", "replace").translate(table, delete)


def _strict_reference(raw: bytes) -> bytes:
    b = raw.translate(N._STRICT_BYTES, N._STRICT_DROP_ASCII)
    while b"  " in b:
        b = b.replace(b"  ", b" ")
    return b.strip(b" ")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), LATINISH.map(lambda s: s.encode("utf-8", "surrogatepass"))))
@example(b"  A\t\x01 \x0b B  ")
def test_strict_ascii_equals_translate_and_collapse(raw: bytes) -> None:
    assert C.strict_ascii(raw, N._STRICT_BYTES, N._STRICT_DROP_ASCII) == _strict_reference(raw)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(LATINISH)
def test_strict_with_the_core_equals_strict(text: str) -> None:
    assert N.strict(text, core=C) == N.strict(text)


def test_the_ingest_functions_raise_on_malformed_input() -> None:
    with pytest.raises(ValueError):
        C.latin_fp(b"abc", b"", 0, 4)
    with pytest.raises(ValueError):
        C.ascii_tr("abc", b"short", b"")
    with pytest.raises(ValueError):
        C.strict_ascii(b"abc", b"short", b"")
    with pytest.raises(TypeError):
        C.latin_spaced("é", N._ASCII_SPACED_MARKED, {}, lambda ch: 7)
    with pytest.raises(ZeroDivisionError):  # the image callback's error comes through
        C.latin_spaced("é", N._ASCII_SPACED_MARKED, {}, lambda ch: 1 // 0)


@pytest.mark.parametrize(
    "texts",
    [
        # a Latin text of more than one slice (1 << 20 characters): the second slice takes
        # the carried codes as latin_fp's prefix
        ["Invoice INV-2024-00981 for bob@acme.example, card 4485 9921 0037 5512, ’quoted’ ﬁne. " * 13_000],
        # a first slice not Latin at its start (the vectorised path) but at its end: its carry
        # (codes below 256) is latin_fp's prefix in the second slice
        ["東京 λόγος " * 100 + "plain text with ids A1B2C3D4E5 and 5550109999 " * 23_000],
        # a first slice that ends in Greek: its carry (codes above 255) sends the Latin second
        # slice down the vectorised path
        ["λόγος " * 174_763 + "then plain text with ids A1B2C3D4E5 and 5550109999 " * 50],
        # short and small texts: the short-text path
        ["ok", "sent to eve@evil.example", "x" * 30, "’ ﬁ 1234567", ""],
    ],
)
def test_ledgers_agree_on_long_and_short_texts(texts: list[str]) -> None:
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"u{i}", tool="web", trusted=False)
            led.add_output(t, call_id=f"p{i}", tool="read_doc", trusted=True, labels=["private"])
    assert _contents(fast) == _contents(slow)
    assert (fast._secret_tokens, fast._contact_tokens, fast._postal_tokens) == (slow._secret_tokens, slow._contact_tokens, slow._postal_tokens)
    assert fast._entries == slow._entries
    assert [raw for _, raw in fast._trusted] == [raw for _, raw in slow._trusted]


def test_a_value_whose_fold_only_looks_percent_encoded_has_keys() -> None:
    """``"%³Ã"`` folds to ``"%3a"``, an escape its text does not hold: decoding it changes
    nothing, and the keys are the value's own (this recursed without end before)."""
    led = T.TaintLedger()
    led.add_output("payload %³Ã here", call_id="c1", tool="web", trusted=False)
    assert "%3a" in T._value_keys("%³Ã", strict_mode=False)
    assert led.origin("%³Ã") == led.origin("%³Ã")
    assert T._value_keys("a%2Eb", strict_mode=False) == ["a.b", "a%2eb"]  # a real escape still decodes
