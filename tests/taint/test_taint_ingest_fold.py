"""The C core's one-call ingest of a slice (``ingest_fold``) and of a text's run (``key_run``)
against the passes they replace, and ledgers built with and without them.

``ingest_fold`` stands for ``latin_spaced`` followed by ``latin_fp`` with every position mapped
to the text (what ``TaintLedger._ingest_taint`` did with numpy); ``key_run`` for the distinct
fingerprints (``_sort_unique``), the distinct token keys hashed and sorted, both concatenated
and then put in the index's stable order.
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

# ASCII words and separators (runs of spaces of every length, so the fold's 16-byte blocks
# hold from none to all spaces), digits and number punctuation, controls, other whitespace,
# and characters whose fold image is one ASCII character, several, none, or not ASCII
LATINISH = st.lists(
    st.sampled_from([*"abcxyzABC 0123456789\t\n.-_@/:()+,'", " " * 7, " " * 17, "é", "’", "ﬁ", "ß", "\u00a0", "\x01", "Д", "ǅ", "𝐀",
                     ",350", "'000", "2,350,000", ", 120"]),
    max_size=300,
).map("".join)
TABLE, CACHE, IMAGE = N._ASCII_SPACED_MARKED, N._SUB_CACHE[True], N._spaced_image


@pytest.fixture(autouse=True)
def _core() -> Iterator[None]:
    with core(True):
        yield


def _expected_fold(text: str, prefix: bytes, prefix_pos: list[int], base: int, k: int, w: int) -> tuple[object, ...] | None:
    """What ingest_fold stands for: latin_spaced, then latin_fp, positions mapped to the text."""
    lat = C.latin_spaced(text, TABLE, CACHE, IMAGE)
    if lat is None:
        return None
    sp, ib = lat
    to_text = np.frombuffer(ib, dtype=np.intp) if ib is not None else np.arange(len(sp), dtype=np.intp)

    def where(at: list[int]) -> list[int]:
        # latin_fp's convention: a negative position is the prefix's code at + len(prefix)
        return [prefix_pos[a + len(prefix)] if a < 0 else int(to_text[a]) + base for a in at]

    hb, pb, nums, tail_c, tail_p = C.latin_fp(sp, prefix, k, w)
    positions = where(np.frombuffer(pb, dtype=np.int64).tolist())
    numbers = list(zip([d for d, _ in nums], where([a for _, a in nums]), strict=True))
    tail = where(np.frombuffer(tail_p, dtype=np.int64).tolist())
    return sp, ib, hb, positions, numbers, tail_c, tail


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    LATINISH,
    st.binary(max_size=60).map(lambda b: b.replace(b" ", b"")),
    st.integers(0, 1 << 40),
    st.integers(4, 40),
    st.integers(1, 40),
    st.integers(0, 2**32),
)
@example("ab " * 200, b"", 0, 20, 24, 0)
@example("aaaa aaaa aaaa", b"aaa", 5, 3, 4, 1)  # ties everywhere
@example(" " * 40 + "x" * 40 + " " * 40, b"", 0, 4, 4, 2)  # blocks of spaces only, then none
@example("Invoice 4485 9921 0037 5512 ’quoted’ ﬁne ß " * 9, b"carried", 1000, 20, 24, 3)
def test_ingest_fold_equals_latin_spaced_then_latin_fp(text: str, prefix: bytes, base: int, k: int, w: int, seed: int) -> None:
    prefix_pos = np.random.default_rng(seed).integers(0, 1 << 40, size=len(prefix)).tolist()
    got = C.ingest_fold(text, TABLE, CACHE, IMAGE, prefix, np.array(prefix_pos, dtype=np.int64).tobytes(), base, k, w)
    want = _expected_fold(text, prefix, prefix_pos, base, k, w)
    if want is None:
        assert got is None
        return
    assert got is not None
    sp, ib, hb, pb, nums, tail_c, tail_p = got
    assert (sp, ib, hb) == want[:3]
    assert np.frombuffer(pb, dtype=np.int64).tolist() == want[3]
    assert nums == want[4]
    assert tail_c == want[5]
    assert np.frombuffer(tail_p, dtype=np.int64).tolist() == want[6]


def _expected_run(fp: list[int], fp_pos: list[int], keys: list[str], pos: list[int], offset: int) -> tuple[list[int], list[int]]:
    """What _ingest_taint handed the index before key_run, put in the index's stable order."""
    h, p = np.array(fp, dtype=np.uint64), np.array(fp_pos, dtype=np.int64)
    if h.shape[0]:
        h, p = T._sort_unique(h, p)
    uniq = dict(zip(reversed(keys), reversed(pos), strict=True))
    th = T._key_hashes(list(uniq))
    tp = np.fromiter(uniq.values(), dtype=np.int64, count=len(uniq))
    order = np.argsort(th, kind="stable")
    hashes = np.concatenate((h, th[order]))
    vals = (np.concatenate((p, tp[order])) + offset).astype(np.uint32)
    stable = np.argsort(hashes, kind="stable")
    return hashes[stable].tolist(), vals[stable].tolist()


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([0, 1, 7, 1 << 40, (1 << 64) - 1]) | st.integers(0, (1 << 64) - 1), max_size=300),
    st.lists(st.tuples(st.sampled_from(["d\x00", "s\x00"]), st.text("ab1@.", min_size=1, max_size=6)), max_size=60),
    st.integers(0, 1 << 20),
    st.integers(0, 2**32),
)
@example([5] * 40 + [1 << 63] * 3 + [5], [("d\x00", "a1"), ("s\x00", "a1"), ("d\x00", "a1")], 7, 0)
def test_key_run_equals_the_python_passes(fp: list[int], tokens: list[tuple[str, str]], offset: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    fp_pos = np.cumsum(rng.integers(0, 3, size=len(fp))).tolist()
    keys = [ns + key for ns, key in tokens]
    pos = rng.integers(0, 1 << 20, size=len(keys)).tolist()
    kb, vb = C.key_run(np.array(fp, dtype=np.uint64), np.array(fp_pos, dtype=np.int64), keys, pos, offset)
    want_k, want_v = _expected_run(fp, fp_pos, keys, pos, offset)
    assert np.frombuffer(kb, dtype=np.uint64).tolist() == want_k
    assert np.frombuffer(vb, dtype=np.uint32).tolist() == want_v


def test_the_new_functions_raise_on_malformed_input() -> None:
    with pytest.raises(ValueError):
        C.ingest_fold("abc", b"short", {}, IMAGE, b"", b"", 0, 20, 24)
    with pytest.raises(ValueError):  # one position per prefix code
        C.ingest_fold("abc", TABLE, {}, IMAGE, b"ab", b"\x00" * 8, 0, 20, 24)
    with pytest.raises(ValueError):
        C.ingest_fold("abc", TABLE, {}, IMAGE, b"", b"", 0, 0, 24)
    with pytest.raises(ZeroDivisionError):  # the image callback's error comes through
        C.ingest_fold("é", TABLE, {}, lambda ch: 1 // 0, b"", b"", 0, 20, 24)
    with pytest.raises(ValueError):
        C.key_run(np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.int64), [], [], 0)
    with pytest.raises(ValueError):
        C.key_run(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), ["a"], [], 0)
    with pytest.raises(TypeError):
        C.key_run(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), [b"a"], [0], 0)


PAGE = st.lists(st.sampled_from([*"abc xyz 0123456789.-@/:", "’", "ﬁ", " user42@mail.example ", " https://a.example/x?id=9 ", "Д"]), max_size=1500).map("".join)
PAGES = st.lists(PAGE, min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAGES, st.integers(0, 3))
def test_ledgers_agree_with_and_without_the_core(texts: list[str], private_every: int) -> None:
    """The index (keys and positions), the token counters and the entry counts of ledgers built
    on the C core and on the numpy fallback, texts untrusted, private, and trusted."""
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, t in enumerate(texts):
            if private_every and i % private_every == 0:
                led.add_output(t, call_id=f"p{i}", tool="read_doc", trusted=True, labels=["private"])
            else:
                led.add_output(t, call_id=f"u{i}", tool="web", trusted=False)
    assert _contents(fast) == _contents(slow)
    assert (fast._secret_tokens, fast._contact_tokens, fast._postal_tokens) == (slow._secret_tokens, slow._contact_tokens, slow._postal_tokens)
    assert fast._entries == slow._entries


def test_a_text_of_several_slices_and_a_flushed_buffer_agree() -> None:
    """A text of three slices (the carry between them, at text positions) after small outputs
    buffered in the index, and small outputs after it: the runs agree entry by entry, in order."""
    big = "Invoice INV-2024-00981 for bob@acme.example, card 4485 9921 0037 5512, ’quoted’ ﬁne. " * 28_000
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i in range(30):
            led.add_output(f"page {i} of the report, id A{i}B{i}C{i}D{i} and 55501{i:05d} " * 40, call_id=f"s{i}", tool="web", trusted=False)
        led.add_output(big, call_id="big", tool="web", trusted=False)
        led.add_output(big[:20_000], call_id="doc", tool="read_doc", trusted=True, labels=["private"])
        led._index.flush()
    assert [(r.keys.tolist(), r.vals.tolist()) for r in fast._index.runs] == [(r.keys.tolist(), r.vals.tolist()) for r in slow._index.runs]
    assert fast._entries == slow._entries
