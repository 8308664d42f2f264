"""The C core's scan path (``scan_query``, ``scan_tokens``, ``fold_offsets``) gives what the
separate functions it stands for give, and scans with and without the core agree.

``TaintLedger._scan_core`` hands the core a call's batch as parts (spaced folds, reversal as a
flag) and gets back the hits of its fingerprint and token queries with their sources. Each
step is checked here against the functions that are themselves checked against numpy
(tests/taint/test_taint_accel.py): the batch ``_batch`` would build, ``scan_keys``,
``_key_hashes``, ``lookup`` and ``source_of``; then whole ledgers, one with the core and one
without, must give equal ``scan`` and ``origin`` answers. Skipped when the core is not built.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from core_support import core
from core_support import ledger as _ledger
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import toolguard.taint as T
from toolguard import _normalize as N

C = pytest.importorskip("toolguard._taintc")

# a spaced fold (ASCII bytes with spaces), a code array of bytes, or one of code points
_SPACED = st.text(st.sampled_from("ab  c1."), max_size=90).map(lambda s: (s.encode("ascii"), T._SQ_SPACED))
_BYTES = st.lists(st.integers(0, 254), max_size=90).map(lambda xs: (np.array(xs, dtype=np.uint8), 0))
_WIDE = st.lists(st.integers(0, 0x10FFFF), max_size=70).map(lambda xs: (np.array(xs, dtype=np.uint32), 0))
_TIES = st.lists(st.integers(97, 98), max_size=120).map(lambda xs: (np.array(xs, dtype=np.uint8), 0))
_PART = st.one_of(_SPACED, _BYTES, _WIDE, _TIES)


@pytest.fixture(autouse=True)
def _core() -> Iterator[None]:
    with core(True):
        yield


def _codes(part: tuple[object, int]) -> np.ndarray:
    """A part's codes as the batch takes them: spaces of a spaced fold out, reversed if asked."""
    codes, how = part
    if how & T._SQ_SPACED:
        assert isinstance(codes, bytes)
        arr = np.frombuffer(codes.replace(b" ", b""), dtype=np.uint8)
    else:
        arr = np.asarray(codes)
    return arr[::-1] if how & T._SQ_REVERSED else arr


def _reference(parts: list[tuple[object, int]], k: int, w: int, tokens: list[str], runs: list[T._Run], starts: np.ndarray, nsrc: int, base: int) -> tuple[int, list[tuple[int, int, int, int]], list[int]]:
    """What scan_query must answer, from the batch as _batch builds it and the functions of the
    core that are compared with numpy one by one."""
    arrays = [_codes(p) for p in parts]
    sep = T._SENTINEL8 if all(a.dtype == np.uint8 for a in arrays) else T._SENTINEL
    pieces: list[np.ndarray] = []
    segs = [(0, 0)]
    lens: list[int] = []
    pos = 0
    for (_, how), arr in zip(parts, arrays, strict=True):
        n = arr.shape[0]
        if not how & T._SQ_SEGMENT:
            pieces.append(arr)
            pos += n
            segs[0] = (0, pos)
            lens.append(n)
        elif n < k:
            lens.append(-1)
        else:
            pieces += [sep, arr]
            segs.append((pos + 1, pos + 1 + n))
            pos += 1 + n
            lens.append(n)
    batch = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    if batch.dtype != np.uint8:
        batch = batch.astype(np.uint32)
    _, kb, pb = C.scan_keys(batch, k, w, segs, False)
    fp = np.frombuffer(kb, dtype=np.uint64)
    q = np.concatenate((fp, T._key_hashes(tokens))) if tokens else fp
    qpos = np.frombuffer(pb, dtype=np.intp).tolist() + [-1] * len(tokens)
    qb, vb = C.lookup([(r.keys, r.vals, r.directory, r.bits) for r in runs], q, 16)
    qi = np.frombuffer(qb, dtype=np.intp).tolist()
    vals = np.frombuffer(vb, dtype=np.uint32)
    srcs = np.frombuffer(C.source_of(starts, nsrc, base, vals), dtype=np.intp).tolist()
    hits = [(qq, qpos[qq], v, s) for qq, v, s in zip(qi, vals.tolist(), srcs, strict=True)]
    return int(fp.shape[0]), hits, lens


def _runs(r: np.random.Generator, keys: np.ndarray) -> list[T._Run]:
    """An index holding about half of ``keys`` (some several times), plus random keys; one run
    big enough for a directory."""
    pick = keys[r.random(keys.shape[0]) < 0.5] if keys.shape[0] else keys
    small = np.sort(np.concatenate((pick, pick[: pick.shape[0] // 3], r.integers(0, 2**63, size=50, dtype=np.uint64))))
    big = np.sort(np.concatenate((pick[::2], r.integers(0, 2**64 - 1, size=5000, dtype=np.uint64))))
    return [
        T._Run(big, r.integers(0, 3000, size=big.shape[0]).astype(np.uint32), C),
        T._Run(small, r.integers(0, 3000, size=small.shape[0]).astype(np.uint32), C),
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_PART, max_size=3),
    st.lists(st.tuples(_PART, st.booleans()), max_size=4),
    st.lists(st.text(max_size=12), max_size=5),
    st.sampled_from([(20, 24), (4, 3), (1, 8), (5, 1)]),
    st.integers(0, 2**32 - 1),
)
@example([(b"the quarterly report is attached " * 3, T._SQ_SPACED)], [], ["s\x00abc123456"], (20, 24), 0)
@example([(np.arange(300, dtype=np.uint32), 0)], [], [], (1, 8), 1)  # increasing hashes: every window searched again
def test_scan_query_equals_scan_keys_lookup_and_source_of(
    stream: list[tuple[object, int]], segments: list[tuple[tuple[object, int], bool]], tokens: list[str], kw: tuple[int, int], seed: int
) -> None:
    k, w = kw
    parts = stream + [(codes, how | T._SQ_SEGMENT | (T._SQ_REVERSED if rev else 0)) for (codes, how), rev in segments]
    r = np.random.default_rng(seed)
    assert C.scan_query(parts, k, w, tokens, [], 16, np.zeros(1, dtype=np.int64), 1, 0)[1:] == ([], None)
    # (about) the keys the scan will query, so that the index holds some of them
    arrays = [_codes(p) for p in parts]
    probe = np.concatenate([a.astype(np.uint32) for a in arrays]) if arrays else np.zeros(0, dtype=np.uint32)
    _, pk, _ = C.scan_keys(probe, k, w, [], False)
    keys = np.concatenate((np.frombuffer(pk, dtype=np.uint64), T._key_hashes(tokens)))
    runs = _runs(r, keys)
    starts = np.sort(r.choice(3000, size=8, replace=False)).astype(np.int64)
    starts[0] = 0
    for base in (0, 17):
        got = C.scan_query(parts, k, w, tokens, runs, 16, starts, 8, base)
        n_fp, hits, lens = _reference(parts, k, w, tokens, runs, starts, 8, base)
        assert got[0] == n_fp
        assert got[1] == hits
        assert got[2] == (lens if hits else None)


def test_scan_query_window_queries_fall_back_on_crafted_hashes() -> None:
    # with k = 1 a k-gram's hash is its code: increasing codes make every window's minimum
    # leave at once (the budgeted search gives up), decreasing ones never (a new minimum
    # enters each time); both must give scan_keys' queries
    for codes in (np.arange(5000, dtype=np.uint32), np.arange(5000, 0, -1).astype(np.uint32)):
        _, kb, pb = C.scan_keys(codes, 1, 24, [(0, codes.shape[0])], False)
        keys = np.sort(np.frombuffer(kb, dtype=np.uint64))
        run = T._Run(keys, np.arange(keys.shape[0], dtype=np.uint32), C)
        n_fp, hits, _ = C.scan_query([(codes, 0)], 1, 24, [], [run], 16, np.zeros(1, dtype=np.int64), 1, 0)
        assert n_fp == len(kb) // 8 == len(hits)
        assert [h[1] for h in hits] == np.frombuffer(pb, dtype=np.intp).tolist()


def test_scan_query_fails_closed_on_malformed_input() -> None:
    runs: list[T._Run] = []
    starts = np.zeros(1, dtype=np.int64)
    ok = [(b"abc def", T._SQ_SPACED)]
    assert C.scan_query(ok, 4, 4, [], runs, 16, starts, 1, 0) == (3, [], None)  # 3 k-grams, no run
    for parts in (
        [(b"abc", 8)],  # an unknown flag
        [(np.zeros(4, dtype=np.uint32), T._SQ_SPACED)],  # a spaced fold is bytes
        [(b"abc", T._SQ_SEGMENT), (b"abc", 0)],  # the stream comes first
        [(np.zeros(4, dtype=np.float64), 0)],
    ):
        with pytest.raises(ValueError):
            C.scan_query(parts, 4, 4, [], runs, 16, starts, 1, 0)
    with pytest.raises(ValueError):
        C.scan_query(ok, 0, 4, [], runs, 16, starts, 1, 0)
    with pytest.raises(ValueError):
        C.scan_query(ok, 4, 4, [], runs, 16, starts, 5, 0)  # more sources than starts
    keys = np.arange(10, dtype=np.uint64)
    bad = T._Run(keys, np.arange(10, dtype=np.uint32), C)
    bad.vals = bad.vals[:5]
    with pytest.raises(ValueError):
        C.scan_query([(keys.astype(np.uint8), 0)], 4, 4, [], [bad], 16, starts, 1, 0)
    with pytest.raises(AttributeError):
        C.scan_query(ok, 4, 4, [], [object()], 16, starts, 1, 0)
    with pytest.raises(TypeError):
        C.scan_query(ok, 4, 4, [["unhashable"]], runs, 16, starts, 1, 0)
    with pytest.raises(IndexError):
        C.fold_offsets(b"a b", [2])
    with pytest.raises(IndexError):
        C.fold_offsets(b"a b", [-1])
    with pytest.raises(TypeError):
        C.scan_tokens("a@b.example", 8)


_TOKEN_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["bob@acme.example", "mailto:eve@x.example", "https://evil.example/x?id=42", "a@b", "@", "://", "x://", "(a@b.c)", "’", "é", "ﬁ", "\t", "+1 (555) 010-9999", "4485 9921", "12345678"]),
        st.text(st.sampled_from("ab1@:/.<>()'\",;|`*^[]{}!\\ -"), min_size=1, max_size=16),
    ),
    max_size=30,
).map(" ".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_TOKEN_TEXT, st.sampled_from([5, 8]))
@example("write to (bob@acme.example), see <https://x.example/p>; a@b@c ://x mailto:q@w.example", 8)
@example("call +1 (555) 010-9999 or 4485 9921 0037 5512, ref INV-2024-00981 and 1234567", 5)
def test_scan_tokens_and_fold_offsets_equal_python(text: str, token_min: int) -> None:
    lat = N.latin_spaced_map(text)
    if lat is None:
        return
    sp, idx0 = lat
    keys, units = C.scan_tokens(sp, token_min)
    assert keys == C.secret_keys(sp, token_min) == T._secret_keys(text, token_min, C, sp)
    assert T._contact_keys(units) == T._secret_units(text, sp) == T._secret_units(text)
    index = N.fold_index(text).tolist()
    if index:
        ps = [*sorted({0, len(index) - 1, len(index) // 2}), 0]
        got = C.fold_offsets(sp, ps)
        assert [int(idx0[i]) if idx0 is not None else i for i in got] == [index[p] for p in ps]


_ARGS = st.lists(
    st.sampled_from(
        [
            "Quarterly revenue for ACME rose 12% to 4485 9921 0037 5512 — ﬁnal ﬁgures",
            "the customer bob@acme.example asked about invoice INV-2024-00981",
            "visit https://evil.example/collect?id=42 now",
            "ssenisub ot yltcerid seussi lla tropeR",
            "Ｒｅｐｏｒｔ ａｌｌ ｉｓｓｕｅｓ directly to business",
            "cmVwb3J0IGFsbCBpc3N1ZXMgZGlyZWN0bHkgdG8gYnVzaW5lc3M=",
            "%52eport%20all%20issues%20directly",
            "ok",
            "",
            "Д" * 30,
        ]
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ARGS, st.integers(0, 3))
@example(["Report all issues directly to business’s ﬁnance team, ref INV-2024-00981"], 0)
def test_scans_with_and_without_the_core_agree(args: list[str], cut: int) -> None:
    docs = [
        "Report all issues directly to business’s ﬁnance team, ref INV-2024-00981 and bob@acme.example. " * 3,
        "Quarterly revenue for ACME rose 12% to 4485 9921 0037 5512, see https://evil.example/collect?id=42 ok",
        "Ｒｅｐｏｒｔ ａｌｌ ｉｓｓｕｅｓ directly to business " + "Д" * 40,
    ]
    fast, slow = _ledger(True), _ledger(False)
    for led in (fast, slow):
        for i, d in enumerate(docs):
            led.add_output(d, call_id=f"w{i}", tool="web", trusted=False)
            led.add_output(d, call_id=f"p{i}", tool="doc", trusted=True, labels=["private"])
    items = [(f"/a{i}", a) for i, a in enumerate(args)]
    for kw in ({}, {"labels": ["private"], "untrusted": False}, {"labels": ()}):
        assert fast.scan(items, call_id="c1", **kw) == slow.scan(items, call_id="c1", **kw)
    # split across calls: egress recorded, then the rest of a fragment
    text = docs[0][:120]
    for led in (fast, slow):
        led.record_egress("e1", [("/x", text[: 30 + 10 * cut]), ("/y", args[0])])
    tail = [("/x", text[30 + 10 * cut : 90]), *items]
    assert fast.scan(tail, call_id="c2") == slow.scan(tail, call_id="c2")
    for v in (*args, "bob@acme.example", "https://evil.example/collect?id=42"):
        assert fast.origin(v) == slow.origin(v)


def _lookup_reference(runs: list[tuple[np.ndarray, np.ndarray]], q: np.ndarray, dups: int) -> list[tuple[int, int]]:
    """What lookup answers, by a plain walk: for each query and run, the values of the first
    ``dups`` entries with the query's key, sorted by (query index, value)."""
    out: list[tuple[int, int]] = []
    for keys, vals in runs:
        kl, vl = keys.tolist(), vals.tolist()
        for i, key in enumerate(q.tolist()):
            at = [j for j, x in enumerate(kl) if x == key][:dups]
            out += [(i, vl[j]) for j in at]
    return sorted(out)


# keys spread evenly (hashes), or piled up in a few buckets (crafted: the same top bits, or a
# narrow range of them), with repeats
_KEYS = st.one_of(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=300),
    st.lists(st.integers(0, 2**20).map(lambda x: (0xABCD << 48) | x), min_size=1, max_size=300),
    st.lists(st.sampled_from([0, 1, 2**63, 2**64 - 1, 5 << 56, (5 << 56) + 1]), min_size=1, max_size=60),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_KEYS, min_size=1, max_size=3), st.integers(1, 12), st.integers(1, 18), st.integers(0, 2**32 - 1))
def test_lookup_searching_buckets_from_a_guess_equals_a_plain_walk(
    key_lists: list[list[int]], bits: int, dups: int, seed: int
) -> None:
    # every run gets a directory (whatever its size, so that small generated runs use one):
    # the search starts at the guess of the key's place in its bucket and must still find
    # every entry, in buckets piled up or empty, at both ends of the key space
    r = np.random.default_rng(seed)
    runs = []
    for keys in key_lists:
        k = np.sort(np.array(keys, dtype=np.uint64))
        runs.append((k, r.integers(0, 2**32 - 1, size=k.shape[0], dtype=np.uint64).astype(np.uint32)))
    pool = np.concatenate([k for k, _ in runs])
    q = np.concatenate((r.choice(pool, size=min(40, pool.shape[0])), r.integers(0, 2**64 - 1, size=20, dtype=np.uint64), pool[:3] + np.uint64(1)))
    with_dir = [(k, v, C.directory(k, bits), bits) for k, v in runs]
    without = [(k, v, None, 0) for k, v in runs]
    want = _lookup_reference(runs, q, dups)
    for rs in (with_dir, without, with_dir[:1] + without[1:]):
        qb, vb = C.lookup(rs, q, dups)
        got = list(zip(np.frombuffer(qb, dtype=np.intp).tolist(), np.frombuffer(vb, dtype=np.uint32).tolist(), strict=True))
        assert got == want


@pytest.mark.parametrize("wide", [False, True])
def test_scan_query_hashes_equal_scan_keys_at_every_lane_boundary(wide: bool) -> None:
    # every k-gram of the batch is in the index, so every fingerprint query hits: the hashes
    # scan_query rolls (four chains) must be scan_keys' (kgram_hashes) at every length
    r = np.random.default_rng(7)
    for k, w in ((20, 24), (3, 2), (1, 8)):
        for n in [*range(k, k + 70), 300, 1001]:
            codes = r.integers(0, 0x10FFFF if wide else 250, size=n).astype(np.uint32 if wide else np.uint8)
            _, kb, pb = C.scan_keys(codes, k, w, [(0, n)], False)
            keys = np.frombuffer(kb, dtype=np.uint64)
            order = np.argsort(keys, kind="stable")
            run = T._Run(keys[order], np.arange(keys.shape[0], dtype=np.uint32)[order], C)
            n_fp, hits, _ = C.scan_query([(codes, 0)], k, w, [], [run], 16, np.zeros(1, dtype=np.int64), 1, 0)
            assert n_fp == keys.shape[0]
            positions = np.frombuffer(pb, dtype=np.intp).tolist()
            assert sorted({h[0] for h in hits}) == list(range(n_fp))
            assert all(h[1] == positions[h[0]] for h in hits)


_ARG_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            ["bob@acme.example", "https://evil.example/x?id=42", "4485 9921 0037 5512", "INV-2024-00981", "’", "é", "ﬁ", "Д", "\x00", "\t", "%41", "&amp;", "a+b", "+"]
        ),
        st.text(st.sampled_from("ab1@:/.%&+=-_ "), min_size=1, max_size=12),
        st.text(st.sampled_from("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="), min_size=16, max_size=40),
        st.text(st.sampled_from("0123456789abcdef"), min_size=16, max_size=40),
    ),
    max_size=20,
).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ARG_TEXT, st.sampled_from([5, 8]))
@example("Report to bob@acme.example cmVwb3J0IGFsbCBpc3N1ZXMgZGlyZWN0bHk= 4485 9921 0037 5512 ﬁnal", 8)
@example("a+b%41", 8)
@example("", 8)
def test_scan_arg_equals_the_calls_it_stands_for(text: str, token_min: int) -> None:
    got = C.scan_arg(text, token_min, N._ASCII_SPACED_MARKED, N._SUB_CACHE[True], N._spaced_image)
    lat = N.latin_spaced_map(text)
    if lat is None:
        assert got is None
        return
    assert got is not None
    sp, idx, keys, units, runs = got
    assert sp == lat[0]
    assert (idx is None) == (lat[1] is None)
    if idx is not None:
        assert np.frombuffer(idx, dtype=np.intp).tolist() == lat[1].tolist()
    assert (keys, units) == C.scan_tokens(sp, token_min)
    want = C.decode_candidates(text.encode("ascii", "replace"))
    # (the runs of 16 or more characters of the alphabet the Python path finds, each kept
    # when the filter keeps it alone)
    raw = text.encode("ascii", "replace")
    runs_py = [(a, a + len(run)) for a, run in T._long_runs(text)]
    assert want == [(a, b) for a, b in runs_py if C.decode_candidates(raw[a:b])]
    if runs is None:
        # nothing to decode: no run, no "%", "&" or "+", and so no layer at all
        assert want == [] and not any(ch in text for ch in "%&+")
        assert T.decode_layers(text, c=C) == T.decode_layers(text) == []
    else:
        assert runs == want
        assert T.decode_layers(text, c=C, runs=runs) == T.decode_layers(text)


def test_lookup_in_runs_fetched_ahead_equals_searchsorted() -> None:
    # runs big enough for their memory to be fetched ahead (FETCH_AHEAD_MIN entries), one of
    # them with a bucket piled up by keys sharing their top bits, searched together
    r = np.random.default_rng(11)
    even = np.sort(r.integers(0, 2**64 - 1, size=70_000, dtype=np.uint64))
    piled = np.sort(np.concatenate((r.integers(0, 2**64 - 1, size=40_000, dtype=np.uint64), np.uint64(7 << 58) + r.integers(0, 2**20, size=3000, dtype=np.uint64))))
    runs = [T._Run(k, r.integers(0, 2**31, size=k.shape[0]).astype(np.uint32), C) for k in (even, piled)]
    assert all(run.directory is not None and run.keys.shape[0] >= 2**15 for run in runs)
    q = np.concatenate((r.choice(even, 500), r.choice(piled, 500), r.integers(0, 2**64 - 1, size=500, dtype=np.uint64)))
    want = []
    for run in runs:
        lo = np.searchsorted(run.keys, q, side="left")
        hi = np.searchsorted(run.keys, q, side="right")
        for i in range(q.shape[0]):
            want += [(i, int(v)) for v in run.vals[lo[i] : min(hi[i], lo[i] + 16)]]
    qb, vb = C.lookup([(run.keys, run.vals, run.directory, run.bits) for run in runs], q, 16)
    got = list(zip(np.frombuffer(qb, dtype=np.intp).tolist(), np.frombuffer(vb, dtype=np.uint32).tolist(), strict=True))
    assert got == sorted(want)
