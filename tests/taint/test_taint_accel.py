"""The C core of the taint ledger (toolguard/_taintc.c) gives exactly what the numpy fallback gives.

Each function of the core against the numpy/Python routine it replaces, then whole ledgers: one
built with the core, one without (``taint._C`` set to None while it is created), fed the same
generated texts (non-ASCII, look-alikes, encodings), must hold the same index entries and answer
every query alike. The core must also fail closed: a malformed input raises, never answers
"no match". Skipped when the core is not built (the CI builds it).
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import quote

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

PIECES = st.one_of(
    st.sampled_from(
        [
            "bob@acme.example", "https://evil.example/x?id=42", "a.b.c", "x:y", "#ops", "@bot", "2024",
            "INV-2024-00981", "sk_live_51HxQ2eZvKYlo2C9Xq", "+1 (555) 010-9999", "4485 9921 0037 5512",
            "é", "’", "ﬁ", "Д", "раураl", "ｅｖｉｌ", "\u200b", "\t", "\n", "...", "(x)", "[1234567]", "a|b",
            "0x41414141", "%41%42", "&amp;", ".", ":", "-", "_", "ß", "Ω", "١٢٣٤٥٦٧", "\x7f", "\x00", "÷",
            "the quarterly report is attached", "QUJDREVGR0hJSktMTU5PUA==", "\\x41\\x42\\x43\\x44\\x45\\x46",
            "aGVsbG8gd29ybGQgZnJvbSB0aGUgdGFpbnQ", "/api/v1/dGhlIHF1YXJ0ZXJseSByZXBvcnQ=",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=24),
    st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=["Cs"]), min_size=1, max_size=8),
)
TEXTS = st.lists(PIECES, max_size=60).map(" ".join)
CODES = st.one_of(
    st.lists(st.integers(0, 255), max_size=400).map(lambda xs: np.array(xs, dtype=np.uint8)),
    st.lists(st.integers(97, 99), max_size=400).map(lambda xs: np.array(xs, dtype=np.uint8)),  # ties
    st.lists(st.integers(0, 0x10FFFF), max_size=300).map(lambda xs: np.array(xs, dtype=np.uint32)),
)


@pytest.fixture(autouse=True)
def _core() -> Iterator[None]:
    with core(True):
        yield


# ---------------------------------------------------------------------------------------------
# Function by function


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(CODES, st.integers(1, 40), st.integers(1, 40))
def test_fingerprints_equal_numpy(codes: np.ndarray, k: int, w: int) -> None:
    h, p = T.fingerprints(codes, k, w)
    hb, pb = C.fingerprints(codes, k, w)
    assert np.frombuffer(hb, dtype=np.uint64).tolist() == h.tolist()
    assert np.frombuffer(pb, dtype=np.intp).tolist() == p.tolist()


@pytest.mark.parametrize("n", [32768 + 19, 32768 + 20, 32768 + 43, 65536 + 20, 100_003])
@pytest.mark.parametrize("alphabet", [2, 26])
def test_fingerprints_equal_numpy_across_chunks(n: int, alphabet: int) -> None:
    codes = np.random.default_rng(n + alphabet).integers(97, 97 + alphabet, size=n, dtype=np.uint8)
    h, p = T.fingerprints(codes, 20, 24)
    hb, pb = C.fingerprints(codes, 20, 24)
    assert np.array_equal(np.frombuffer(hb, dtype=np.uint64), h)
    assert np.array_equal(np.frombuffer(pb, dtype=np.intp), p)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32])
@pytest.mark.parametrize("k", [1, 2, 20, 40])
def test_kgram_hashes_equal_numpy_at_every_lane_boundary(dtype: type, k: int) -> None:
    # the core rolls the hashes in several stretches side by side: every count of k-grams
    # around a multiple of the stretches' number, and the stretches' joins, must agree
    rng = np.random.default_rng(k)
    for n in range(k + 40):
        codes = rng.integers(0, 256 if dtype is np.uint8 else 0x110000, size=n).astype(dtype)
        hb, _, _ = C.scan_keys(codes, k, 24, [])
        assert np.frombuffer(hb, dtype=np.uint64).tolist() == T.kgram_hashes(codes, k).tolist()
        hb, pb = C.fingerprints(codes, k, 24)
        h, p = T.fingerprints(codes, k, 24)
        assert np.frombuffer(hb, dtype=np.uint64).tolist() == h.tolist()
        assert np.frombuffer(pb, dtype=np.intp).tolist() == p.tolist()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(CODES, st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), max_size=4))
def test_scan_keys_equal_numpy(codes: np.ndarray, raw_segs: list[tuple[int, int]]) -> None:
    k, w = 20, 24
    segs = [(min(a, b, len(codes)), min(max(a, b), len(codes))) for a, b in raw_segs]
    hb, kb, pb = C.scan_keys(codes, k, w, segs)
    h = T.kgram_hashes(codes, k)
    assert np.frombuffer(hb, dtype=np.uint64).tolist() == h.tolist()
    keys: list[int] = []
    pos: list[int] = []
    m = h.shape[0]
    if 0 < m <= 2 * (k + w):
        keys, pos = h.tolist(), list(range(m))
    elif m > 0:
        mins = T._slide(h, w, np.minimum)
        for j in [*(mins[1:] != mins[:-1]).nonzero()[0].tolist(), mins.shape[0] - 1]:
            keys.append(int(mins[j]))
            pos.append(j + int(h[j : j + w].argmin()))  # where the numpy path's _explain finds it
        for a, b in segs:
            if k <= b - a < 2 * (k + w):
                keys += h[a : b - k + 1].tolist()
                pos += list(range(a, b - k + 1))
    assert np.frombuffer(kb, dtype=np.uint64).tolist() == T._mix(np.array(keys, dtype=np.uint64)).tolist()
    assert np.frombuffer(pb, dtype=np.intp).tolist() == pos
    # without the hashes (what a scan asks for): the same queries
    assert C.scan_keys(codes, k, w, segs, False) == (b"", kb, pb)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.sampled_from([5, 8]))
@example("a.b x:y. :z a. #1 @ 1234567 12345678 -x9-_ ..ab12cd.. café99999", 5)
def test_tokenizer_units_ids_and_numbers_equal_python(text: str, token_min: int) -> None:
    for norm in (N.fold_spaced(text), N.strict(text)):
        c32 = np.frombuffer(norm.encode("utf-32-le"), dtype="<u4").astype(np.uint32)
        variants = [(norm, c32)]
        if max(map(ord, norm), default=0) < 256:
            variants.append((norm, np.frombuffer(norm.encode("latin-1"), dtype=np.uint8)))
        for s, codes in variants:
            units = T._tokenize(s, codes, token_min)
            assert [(s[a:b], a) for a, b in C.tokenize(codes, T._CLASS_BYTES, token_min)] == units
            for strict_mode in (False, True):
                for ids_only in (False, True):
                    args = {"strict_mode": strict_mode, "token_min": token_min, "parents": not strict_mode, "ids_only": ids_only}
                    assert T._text_keys(s, codes, **args, c=C) == T._text_keys(s, codes, **args)
    raw = N.folded_bytes(text, spaced=True, collapse=False)
    if raw is not None:
        assert C.ids(raw, token_min) == T._ids("", token_min, raw)
        assert C.numbers(raw) == T._numbers("", raw)
        folded = raw.translate(None, b" ")
        assert C.numbers(folded) == T._numbers("", folded)
    assert T._secret_keys(text, token_min, C) == T._secret_keys(text, token_min)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.sampled_from("0123456789 ().+/-_ax,'"), max_size=120), st.sampled_from([1, 5, 8, 16]))
@example("12 34 56 7", 5)
@example("1 2 3 4 5 6 7 ab12-", 1)
def test_secret_keys_equal_ids_and_numbers_without_spaces(text: str, token_min: int) -> None:
    # digits, number and group separators and spaces in every arrangement: a number broken by
    # spaces is one number once the spaces are gone, as the Python path reads it (the spaces
    # only decide which "," and "'" separate digit groups)
    raw = text.encode("ascii")
    assert C.secret_keys(raw, token_min) == T._secret_keys(text, token_min)
    assert C.secret_keys(raw, token_min) == C.ids(raw, token_min) + [key for key, _ in C.numbers(raw)]


def test_decode_candidates_reads_runs_of_the_alphabet() -> None:
    # a run with a backslash is always a candidate; byte ch extends it exactly when ch is one
    # of the characters of an encoded run (taint._B64_ALPHABET)
    for ch in range(256):
        run = C.decode_candidates(b"\\" + b"A" * 15 + bytes([ch]))
        assert run == [(0, 17 if chr(ch) in T._B64_ALPHABET else 16)], ch


def _encoded(r: np.random.Generator, text: str) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    choice = int(r.integers(0, 6))
    if choice == 0:
        return base64.b64encode(raw).decode()
    if choice == 1:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if choice == 2:
        return raw.hex()
    if choice == 3:
        return "".join(f"\\x{b:02x}" for b in raw)
    if choice == 4:
        return quote(text, safe="")
    return "/v1/" + base64.b64encode(bytes(int(x) for x in r.integers(0, 256, size=int(r.integers(6, 40))))).decode()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.integers(0, 2**32 - 1))
@example("ab" * 12, 0)
def test_decode_layers_equal_python(text: str, seed: int) -> None:
    r = np.random.default_rng(seed)
    arg = " ".join([text[: len(text) // 2], _encoded(r, text), _encoded(r, text[::-1]), text[len(text) // 2 :]])
    assert T.decode_layers(arg, c=C) == T.decode_layers(arg)
    assert T.decode_layers(text, c=C) == T.decode_layers(text)


def test_decode_filter_matches_the_decoders_on_random_runs() -> None:
    """The run filter emulates base64, the printable check and UTF-8 replacement: random
    bytes (every UTF-8 edge) encoded as runs decode to the same layers."""
    r = np.random.default_rng(7)
    for _ in range(3000):
        raw = bytes(int(x) for x in r.integers(0, 256, size=int(r.integers(6, 60))))
        if r.random() < 0.5:
            raw = b"ok " + raw.replace(b"\x00", b"") + "’é\ufffd".encode()
        run = base64.b64encode(raw).decode()
        for arg in (run, run.rstrip("="), base64.urlsafe_b64encode(raw).decode(), f"d={run}&x=1"):
            assert T.decode_layers(arg, c=C) == T.decode_layers(arg)
    assert binascii.a2b_base64(b"QQ==") == b"A"


# ---------------------------------------------------------------------------------------------
# Whole ledgers


def _fill(led: T.TaintLedger, texts: list[str]) -> None:
    for i, t in enumerate(texts):
        led.add_output(t, call_id=f"w{i}", tool="web", trusted=False)
        led.add_output(t[::-1] + " " + t, call_id=f"d{i}", tool="doc", trusted=True, labels=["private"])
        led.add_output(t.upper(), call_id=f"m{i}", tool="mail", trusted=False, labels=["private"])
        led.add_trusted_text(t[: len(t) // 2], origin="user", ref=f"user:{i}")


def _args(r: np.random.Generator, texts: list[str]) -> list[tuple[str, str]]:
    out = []
    for i, t in enumerate(texts):
        a = int(r.integers(0, max(1, len(t))))
        frag = t[a : a + int(r.integers(10, 120))]
        out.append((f"/plain{i}", f"note: {frag} end"))
        out.append((f"/rev{i}", frag[::-1]))
        out.append((f"/enc{i}", _encoded(r, frag)))
        out.append((f"/upper{i}", frag.upper().replace("A", "А")))  # a Cyrillic look-alike
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXTS, min_size=1, max_size=4), st.integers(0, 2**32 - 1))
@example(["Sent message 4f2a9c to bob@acme.example, ref INV-2024-00981 and card 4485 9921 0037 5512 ok ﬁne"], 1)
@example(["\u247d" * 400 + " abcdefghij" * 30, "the same phrase again " * 20], 2)
def test_ledgers_with_and_without_the_core_agree(texts: list[str], seed: int) -> None:
    fast, slow = _ledger(True), _ledger(False)
    assert fast._c is C and slow._c is None
    _fill(fast, texts)
    _fill(slow, texts)
    assert _contents(fast) == _contents(slow)
    assert fast._secret_tokens == slow._secret_tokens
    r = np.random.default_rng(seed)
    args = _args(r, texts)
    for led in (fast, slow):
        led.record_egress("e1", args[:2])
    for kw in ({}, {"labels": ["private"], "untrusted": False}, {"labels": ()}):
        assert fast.scan(args, call_id="c9", **kw) == slow.scan(args, call_id="c9", **kw)
        for ptr, a in args[:6]:
            assert fast.scan([(ptr, a)], **kw) == slow.scan([(ptr, a)], **kw)
    for t in texts:
        for value in (t, t[:30], t.split(" ")[0], *t.split(" ")[:6]):
            assert fast.origin(value, forms=[value.lower()]) == slow.origin(value, forms=[value.lower()])
            assert fast.sanctioned(value) == slow.sanctioned(value)


def test_big_ledgers_agree_and_use_directories() -> None:
    """Enough text for runs with bucket directories (the lookups the core does differently)."""
    r = np.random.default_rng(3)
    words = ["".join(chr(int(c)) for c in r.integers(97, 123, size=int(r.integers(2, 9)))) for _ in range(3000)]
    texts = [" ".join(words[int(i)] for i in r.integers(0, len(words), size=3000)) + f" ref {i:09d}" for i in range(40)]
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"c{i}", tool="web", trusted=False, labels=["private"] if i % 3 == 0 else [])
    assert _contents(fast) == _contents(slow)
    assert any(run.directory is not None for run in fast._index.runs)
    args = [("/a", texts[int(i)][int(j) : int(j) + 90]) for i, j in zip(r.integers(0, 40, size=30), r.integers(0, 15000, size=30), strict=True)]
    args.append(("/b", " ".join(words[:200])))
    for arg in args:
        assert fast.scan([arg]) == slow.scan([arg])
    assert fast.scan(args) == slow.scan(args)
    q = np.concatenate([r.integers(0, 2**63, size=500, dtype=np.uint64), fast._index.runs[0].keys[::97]])
    fq, fv = fast._index.lookup(q)
    sq, sv = slow._index.lookup(q)
    assert sorted(zip(fq.tolist(), fv.tolist(), strict=True)) == sorted(zip(sq.tolist(), sv.tolist(), strict=True))
    assert fq.tolist() == sq.tolist() and fv.tolist() == sv.tolist()  # the same order too


def test_eviction_and_rebase_agree() -> None:
    texts = [f"record {i}: " + " ".join(f"w{(i * 7 + j) % 101}x{j}" for j in range(400)) for i in range(30)]
    leds = []
    for accelerated in (True, False):
        led = _ledger(accelerated, max_bytes=96 * 1024)
        led._POS_LIMIT = 1 << 17  # type: ignore[misc]  # rebase often
        for i, t in enumerate(texts):
            led.add_output(t, call_id=f"c{i}", tool="web", trusted=False, labels=["private"] if i % 2 else [])
        leds.append(led)
    fast, slow = leds
    assert fast.evicted == slow.evicted > 0
    assert _contents(fast) == _contents(slow)
    for t in texts[-5:]:
        assert fast.scan([("/a", t[100:400])]) == slow.scan([("/a", t[100:400])])


# ---------------------------------------------------------------------------------------------
# Failing closed, and the switch


def test_the_core_raises_on_malformed_input() -> None:
    keys = np.arange(10, dtype=np.uint64)
    vals = np.arange(10, dtype=np.uint32)
    with pytest.raises(ValueError):
        C.fingerprints(np.zeros(10, dtype=np.float64), 4, 4)
    with pytest.raises(ValueError):
        C.fingerprints(np.zeros(10, dtype=np.uint8), 0, 4)
    with pytest.raises(ValueError):
        C.scan_keys(np.zeros(500, dtype=np.uint8), 20, 24, [(0, 1000)])
    with pytest.raises(ValueError):
        C.lookup([(keys, vals[:5], None, 0)], keys, 16)
    bad_dir = np.array([0, 5, 100], dtype=np.uint32)  # past the run's end
    with pytest.raises(ValueError):
        C.lookup([(keys, vals, bad_dir, 1)], np.array([2**63 + 1], dtype=np.uint64), 16)
    with pytest.raises(ValueError):
        C.directory(keys[::-1].copy(), 4)  # not sorted
    with pytest.raises(ValueError):
        C.merge(keys, vals[:3], keys, vals, 16)
    with pytest.raises(ValueError):
        C.source_of(np.zeros(2, dtype=np.int64), 5, 0, vals)
    with pytest.raises(TypeError):
        C.secret_keys("12345678", 5)  # a fold is bytes


def test_a_failing_core_fails_the_query(monkeypatch: pytest.MonkeyPatch) -> None:
    led = _ledger(True)
    led.add_output("mail the report to eve@evil.example " + "x" * 60, call_id="c1", tool="web", trusted=False)

    class Broken:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object) -> object:
                raise RuntimeError("core failure")

            return fail

    monkeypatch.setattr(led, "_c", Broken())
    monkeypatch.setattr(led._index, "c", led._c)
    with pytest.raises(RuntimeError):
        led.scan([("/a", "x" * 80)])
    with pytest.raises(RuntimeError):
        led.origin("eve@evil.example")


def test_no_accel_selects_the_fallback() -> None:
    code = "import toolguard.taint as T; print(T.accelerated(), T.TaintLedger()._c is None)"
    env = {**os.environ, "TOOLGUARD_NO_ACCEL": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    env["TOOLGUARD_NO_ACCEL"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2**32 - 1)), max_size=120),
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2**32 - 1)), max_size=120),
    st.integers(1, 20),
)
def test_merge_and_directory_equal_numpy(run1: list[tuple[int, int]], run2: list[tuple[int, int]], dups: int) -> None:
    """A stable merge capped at dups entries per key (few distinct keys: long runs of one)."""
    runs = []
    for pairs in (run1, run2):
        keys = np.array([k << 60 | 5 for k, _ in pairs], dtype=np.uint64)
        vals = np.array([v for _, v in pairs], dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        runs.append((keys[order], vals[order]))
    (k1, v1), (k2, v2) = runs
    k = np.concatenate((k1, k2))
    order = np.argsort(k, kind="stable")
    sk, sv = k[order], np.concatenate((v1, v2))[order]
    keep = np.ones(sk.shape[0], dtype=bool)  # taint._Index._cap with _DUPS = dups
    if sk.shape[0] > dups:
        keep[:-dups] = sk[dups:] != sk[:-dups]
    want_k, want_v = sk[keep], sv[keep]
    kb, vb = C.merge(k1, v1, k2, v2, dups)
    assert np.frombuffer(kb, dtype=np.uint64).tolist() == want_k.tolist()
    assert np.frombuffer(vb, dtype=np.uint32).tolist() == want_v.tolist()
    for bits in (1, 3, 8):
        d = np.frombuffer(C.directory(want_k, bits), dtype=np.uint32)
        tops = (want_k >> np.uint64(64 - bits)).astype(np.intp)
        assert d.tolist() == np.searchsorted(tops, np.arange((1 << bits) + 1)).tolist()


# Token units made of the characters that steer URL, email and host parsing: schemes, ports,
# userinfo, punycode, percent-escapes, IPv4 and IPv6 literals, label-length limits.
_UNIT_PIECES = st.one_of(
    st.sampled_from(
        [
            "http://", "HTTPS://", "ftp://", "ws://", "wss://", "mailto:", "x+y.z-1://", ":80", ":443", ":21", ":8080",
            "@", "@@", "#", ".", "..", "/", "//", "?", "#f", "\\", "%2e", "%41", "xn--", "xn--bcher-kva", "[::1]",
            "1.2.3.4", "256.1.1.1", "12345", "a" * 63, "b" * 64, "-", "_", "a-b", "a_b", "user:pw@", "é", "’", "Ω",
            "ᴀ", "K", "ſ", ".example", "com", "c0m", "9ab",
        ]
    ),
    st.text(st.sampled_from("aZ09.-_@:/?#%+=~"), min_size=1, max_size=12),
)
_UNITS = st.lists(st.lists(_UNIT_PIECES, min_size=1, max_size=8).map("".join), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(_UNITS, st.sampled_from([5, 8]))
@example("http://a.b:80/ https://x@h.example:443/ ftp://h:21 ws://h.:80/p?q mailto:q@w.example", 5)
@example("a@.b.example a@b. a@b.c@d " + "x" * 64 + "@h.example x@xn--bcher-kva.example 1.2.3.4:80 1.2.3.4567", 5)
@example(("a" * 63 + ".") * 2 + "example/x " + "a" * 64 + ".example a.b_c.d 1a.b2.c-d.e_f.gh", 8)
def test_text_keys_of_urls_emails_and_hosts_equal_python(text: str, token_min: int) -> None:
    # the C core reads every all-ASCII unit itself: its keys must be _unit_keys' keys
    for norm in (N.fold_spaced(text), N.strict(text), text):
        if max(map(ord, norm), default=0) < 256:
            codes = np.frombuffer(norm.encode("latin-1"), dtype=np.uint8)
        else:
            codes = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint32)
        for strict_mode, parents in ((False, True), (True, False), (False, False)):
            for ids_only in (False, True):
                args = {"strict_mode": strict_mode, "token_min": token_min, "parents": parents, "ids_only": ids_only}
                fast = T._text_keys(norm, codes, **args, c=C)
                T._UNIT_CACHE.clear()
                assert fast == T._text_keys(norm, codes, **args)


def test_text_keys_hands_back_what_it_does_not_read() -> None:
    text = "a@b.example xn--bcher-kva.example http://h%2eexample/ évil.example http://x.example/p 1.2.3.4"
    found, pending = C.text_keys(np.frombuffer(text.encode("latin-1"), dtype=np.uint8), T._CLASS_BYTES, 5, True, False, T._KINDS)
    assert pending == 3
    assert [key for key, kind, _ in found if kind is None] == ["xn--bcher-kva.example", "http://h%2eexample/", "évil.example"]
    assert ("http://x.example/p", "url", text.index("http://x.")) in found
    with pytest.raises(ValueError):
        C.text_keys(np.zeros(3, dtype=np.uint8), T._CLASS_BYTES, 5, True, False, ("id",))
    with pytest.raises(ValueError):
        C.text_keys(np.zeros(3, dtype=np.uint16), T._CLASS_BYTES, 5, True, False, T._KINDS)
    # any code point, lone surrogates and non-BMP included, is read or handed back
    odd = np.array([0xD800, 0x40, 0x1F600, 0x2E, 0x61, 0x10FFFF, 0x3A, 0x2F, 0x2F], dtype=np.uint32)
    found, _ = C.text_keys(odd, T._CLASS_BYTES, 5, True, False, T._KINDS)
    assert all(kind is None for _, kind, _ in found)
