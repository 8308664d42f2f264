"""The inline record in C (``audit_line`` of toolguard/_taintc.c) writes the Python path's bytes.

Every test writes the same records through a log with the C core and one without it (or
through the background writer, whose record text is the Python path's) and compares the
files byte for byte, then checks them with ``toolguard audit verify``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import random
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit_fastpath import ARGS, KEYS, MANIFEST, NAMES, ODD, PLAIN

from toolguard import Call
from toolguard import audit as A
from toolguard.audit import (
    AuditLog,
    _ctree,
    _NotPlain,
    _timestamp,
    _timing_json,
    _walk,
    audit_cli,
    canonical,
    read_records,
    verify,
)
from toolguard.errors import StoreError
from toolguard.findings import Evidence, Finding, combine
from toolguard.manifest import manifest_from_dict

C = pytest.importorskip("toolguard._taintc")
pytestmark = pytest.mark.skipif(A._LINE is None, reason="the C core is disabled (TOOLGUARD_NO_ACCEL)")

T0 = 1_700_000_000.25


class Text(str):
    pass


class Number(int):
    pass


class Mapping(dict):  # type: ignore[type-arg]
    pass


class Items(list):  # type: ignore[type-arg]
    pass


# Values the core refuses (the Python path writes them) next to plain ones it takes.
UNUSUAL = [
    {"to": Text("x@a.example")}, {"n": Number(3)}, {"m": Mapping(a="b")}, {"l": Items(["x"])}, {1: "x"},
    {"to": [float("nan")]}, {"f": float("inf")}, {"big": 2**64}, {"big": -(2**200)},
    {"s": "\ud800\udfff\udc00"}, {"é": "ü\x7f\x00\x1f\u2028"}, {"emoji": "\U0001f600", "to": ["\U0001f600@a.example"]},
    {"to": ("a@b.example",)}, {"x": object()}, {"x": b"bytes"}, {"x": OrderedDict(a=1)}, {"x": {"y": {1.5: "k"}}},
    {"x": -0.0, "y": 1e-05, "z": 1e16, "w": 5e-324, "v": 1.7976931348623157e308}, "a string", 12, None, [1, "x"],
    ("t", 1), {"to": [], "cc": {}, "links": [[]]}, {chr(c): c for c in range(0, 300, 7)},
    {f"k{i}": i for i in range(40)},  # more keys than the short sort takes
]

POINTER_TOKENS = st.sampled_from(["to", "cc", "*", "0", "1", "a~1b", "~2", "k", "x", "href", "links", "é"])
POINTERS = st.lists(st.lists(POINTER_TOKENS, min_size=1, max_size=3).map(lambda t: "/" + "/".join(t)), max_size=4, unique=True)


def manifest_with(pointers: list[str]) -> Any:
    return manifest_from_dict({
        "tool": "t", "side_effect": "external_write", "arguments": {"type": "object"},
        "destinations": [{"arg": p, "kind": "url" if "href" in p else "email"} for p in pointers],
    })


def write(path: Path, native: bool | str, records: list[tuple[Any, ...]], **kwargs: Any) -> tuple[bytes, int]:
    """Write ``records`` through a fresh log; (the file's bytes, how many the C core wrote).

    ``native``: True or "record", the default path (``AuditChain.record``: the steps around the
    line in the core too); "line", the steps in Python around the core's ``audit_line``;
    False, the Python path alone.
    """
    log = AuditLog(path, clock=lambda: T0, **kwargs)
    wrote = [0]
    python = [0]  # records the Python path serialised (the record path: all the others are the core's)
    args_json = A._args_json
    if not native:
        log._line = None
    elif native == "line" and log._line is not None:
        line = log._line

        def counted(*args: Any) -> Any:
            out = line(*args)
            wrote[0] += out is not None
            return out

        log._line = counted
    elif A._RECORD:

        def counted_python(*args: Any) -> Any:
            python[0] += 1
            return args_json(*args)

        A._args_json = counted_python
    try:
        for how, d, call, manifest, timing in records:
            if how == "timed":
                log._decision_timed(d, call, "p", "s", manifest, "r", *timing)
            else:
                log.decision(d, call, principal="p", session="s", manifest=manifest, policy_revision="r", timing=timing)
    except Exception:
        python[0] = len(records)  # a record that raised: the Python path's too
        raise
    finally:
        A._args_json = args_json
    log.close()
    if native is True and A._RECORD:
        wrote[0] = len(records) - python[0]
    return path.read_bytes(), wrote[0]


def same_files(tmp: Path, records: list[tuple[Any, ...]], **kwargs: Any) -> int:
    """The C core's file (both ways in) against the Python path's and the background writer's;
    how many lines were the core's."""
    key = kwargs.get("key")
    native, wrote = write(tmp / "c.jsonl", True, records, **kwargs)
    line, wrote_line = write(tmp / "l.jsonl", "line", records, **kwargs)
    python, _ = write(tmp / "py.jsonl", False, records, **kwargs)
    thread, _ = write(tmp / "t.jsonl", False, records, writer="thread", **kwargs)
    assert native == line == python == thread
    assert wrote == wrote_line
    assert verify([tmp / "c.jsonl"], key=key).ok
    return wrote


def decision(findings: list[Finding] | None = None, decision_id: Any = "0" * 32) -> Any:
    return combine(findings or [], tool="t", call_id="c").with_id(decision_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.one_of(ARGS, PLAIN, st.sampled_from(ODD + UNUSUAL)), mode=st.sampled_from(["masked", "full", "hash"]),
       key=st.sampled_from([None, b"k3y", b"x" * 100]),
       timing=st.one_of(st.none(), st.tuples(st.floats(min_value=0.0, max_value=2e12), st.floats(min_value=0.0, max_value=1e6))))
def test_records_are_the_python_paths_bytes(tmp_path_factory, args, mode, key, timing):
    d = decision()
    call = Call("t", args, "c")
    records = [("timed" if timing is not None else "decision", d, call, MANIFEST, timing)] * 2
    if timing is not None:
        records.append(("decision", d, call, MANIFEST, {"decide_us": timing[1], "account_us": timing[0]}))
    wrote = same_files(tmp_path_factory.mktemp("log"), records, args=mode, key=key)
    # the core writes every record of plain data (a timing pair beyond 1e12 µs excepted)
    try:
        _walk(args, None, [], 0)
    except _NotPlain:
        assert wrote == 0
    else:
        assert wrote == sum(1 for how, *_, t in records if how != "timed" or t[0] < 1e12)


@settings(max_examples=100, deadline=None)
@given(pointers=POINTERS, args=st.one_of(ARGS, st.dictionaries(POINTER_TOKENS, PLAIN, max_size=5)))
def test_any_destination_pointers_mask_as_the_python_path_does(tmp_path_factory, pointers, args):
    manifest = manifest_with(pointers)
    wrote = same_files(tmp_path_factory.mktemp("log"), [("decision", decision(), Call("t", args, "c"), manifest, None)])
    assert wrote <= 1


@settings(max_examples=80, deadline=None)
@given(principal=NAMES, session=NAMES, tool=NAMES, call_id=NAMES, decision_id=NAMES,
       findings=st.lists(st.builds(
           Finding, code=st.sampled_from(["destination.not_allowed", "guard.error"]), message=NAMES,
           action=st.sampled_from(["allow", "hold", "deny"]), pointer=st.sampled_from(["", "/to/0"]),
           evidence=st.lists(st.builds(Evidence, st.just("limit"), st.dictionaries(KEYS, PLAIN, max_size=2)), max_size=1).map(tuple),
       ), max_size=2),
       revision=st.one_of(st.none(), NAMES), args=ARGS)
def test_any_names_and_findings_are_the_python_paths_bytes(tmp_path_factory, principal, session, tool, call_id, decision_id,
                                                           findings, revision, args):
    d = combine(findings, tool=tool, call_id=call_id).with_id(decision_id)
    tmp = tmp_path_factory.mktemp("log")
    files = []
    for native in (True, False):
        log = AuditLog(tmp / f"{native}.jsonl", clock=lambda: T0)
        if not native:
            log._line = None
        log.decision(d, Call(tool, args, call_id), principal=principal, session=session, manifest=MANIFEST,
                     policy_revision=revision, timing={"decide_us": 1.5})
        log._decision_timed(d, Call(tool, args, call_id), principal, session, MANIFEST, revision, 2.0, 3.0)
        log.close()
        files.append((tmp / f"{native}.jsonl").read_bytes())
        assert verify([tmp / f"{native}.jsonl"]).ok
    assert files[0] == files[1]


def test_the_core_writes_plain_data_and_declines_the_rest(tmp_path):
    plain = [{"to": ["a@b.example"], "body": "x", "n": [1, 2.5, None, True, 2**63 - 1, -(2**63)], "t": ("x",)},
             {"é": "ü\x7f\x00\U0001f600\ud800"}, {"big": 2**64}, {"k": {"to": []}}]
    declined = [{"to": Text("x")}, {"to": [float("nan")]}, {1: "x"}, {"x": object()}]
    records = [("decision", decision(), Call("t", a, "c"), MANIFEST, None) for a in plain]
    (tmp_path / "a").mkdir()
    assert same_files(tmp_path / "a", records) == len(plain)
    records = [("decision", decision(), Call("t", a, "c"), MANIFEST, None) for a in declined]
    (tmp_path / "b").mkdir()
    assert same_files(tmp_path / "b", records) == 0


def test_nesting_beyond_the_limit_takes_the_python_path(tmp_path):
    args: Any = {"to": "x"}
    for _ in range(80):
        args = {"n": [args]}
    assert same_files(tmp_path, [("decision", decision(), Call("t", args, "c"), MANIFEST, None)]) == 0


def test_the_record_of_a_huge_int_raises_as_before(tmp_path):
    # int.__repr__ refuses more than 4300 digits: the record cannot be written either way
    for native in (True, False):
        log = AuditLog(tmp_path / f"{native}.jsonl")
        if not native:
            log._line = None
        with pytest.raises(ValueError, match="an audit record must be JSON"):
            log.decision(decision(), Call("t", {"n": 10**5000}, "c"), principal="p", session="s", manifest=MANIFEST)
        log.close()
        assert (tmp_path / f"{native}.jsonl").read_bytes() == b""


def test_fields_of_other_types_take_the_python_path(tmp_path):
    # a decision id that is not a str, a clock that gives an int, a time beyond the year 9999
    records = [("decision", decision(decision_id=12), Call("t", {"to": ["a"]}, "c"), MANIFEST, None)]
    assert same_files(tmp_path, records) == 0
    for clock in (lambda: 1_700_000_000, lambda: 1e12, lambda: -5.5):
        files = []
        for native in (True, False):
            p = tmp_path / f"{native}-{random.random()}.jsonl"
            log = AuditLog(p, clock=clock)
            if not native:
                log._line = None
            try:
                log.decision(decision(), Call("t", {"to": ["a"]}, "c"), principal="p", session="s", manifest=MANIFEST)
            except ValueError as exc:
                files.append(type(exc))
            else:
                files.append(p.read_bytes())
            log.close()
        assert files[0] == files[1]


def test_rotation_and_reopening_keep_one_chain(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, rotate_bytes=2048, key=b"k")
    for i in range(30):
        log._decision_timed(decision(), Call("t", {"to": [f"u{i}@a.example"], "body": "x" * i}, f"c{i}"), "p", "s",
                            MANIFEST, None, 1.0, 2.0)
    log.close()
    log = AuditLog(p, key=b"k")
    log.decision(decision(), Call("t", {"to": ["z@a.example"]}, "c"), principal="p", session="s", manifest=MANIFEST)
    log.close()
    report = verify([tmp_path], key=b"k")
    assert report.ok and report.records > 30 and len(report.files) > 3
    res = CliRunner().invoke(audit_cli, ["verify", str(tmp_path)])
    assert res.exit_code == 1  # without the key every hash differs
    (tmp_path / "k").write_bytes(b"k")
    res = CliRunner().invoke(audit_cli, ["verify", "--key-file", str(tmp_path / "k"), str(tmp_path)])
    assert res.exit_code == 0, res.output


def test_a_write_error_fails_the_log_closed(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, fsync="never")
    call = Call("t", {"to": ["a@b.example"]}, "c")
    log._decision_timed(decision(), call, "p", "s", MANIFEST, None, 1.0, 2.0)
    with log._lock:
        log._fd.close()
        log._fd = open("/dev/full", "ab", buffering=0)  # noqa: SIM115
    with pytest.raises(StoreError, match="cannot write the audit log"):
        log._decision_timed(decision(), call, "p", "s", MANIFEST, None, 1.0, 2.0)
    with pytest.raises(StoreError, match="failed earlier"):
        log.decision(decision(), call, principal="p", session="s", manifest=MANIFEST)
    assert log.head[0] == 1
    log.close()
    assert verify([p]).ok


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70000])
@pytest.mark.parametrize("key", [None, b"", b"k3y", bytes(range(64)), bytes(range(65)), b"x" * 300])
def test_the_digest_is_hashlibs(size, key):
    data = os.urandom(size)
    expected = hashlib.sha256(data).hexdigest() if key is None else hmac.digest(key, data, "sha256").hex()
    assert C.sha256_hex(data, key) == expected
    assert C.sha256_hex(data, key, True) == expected  # the portable block function too


@settings(max_examples=3000, deadline=None)
@given(t=st.one_of(st.floats(min_value=0.0, max_value=253402300799.0), st.floats(min_value=1.6e9, max_value=1.9e9),
                   st.integers(min_value=0, max_value=2**34).map(lambda s: s + 0.9999995),
                   st.integers(min_value=0, max_value=2**34).map(lambda s: math.nextafter(float(s), 0.0))))
def test_the_timestamp_is_pythons(t):
    assert C.stamp_text(t) == _timestamp(t)


@settings(max_examples=2000, deadline=None)
@given(a=st.floats(min_value=0.0, max_value=1e12, exclude_max=True), d=st.sampled_from([0.0, 0.0005, 0.0015, 2.5, 999999999999.9995, -0.0]))
def test_the_timing_is_pythons(tmp_path_factory, a, d):
    # through a record: the core writes the timing of a (account_us, decide_us) pair itself
    p = tmp_path_factory.mktemp("log") / "a.jsonl"
    log = AuditLog(p, clock=lambda: T0, args="hash")
    log._decision_timed(decision(), Call("t", {}, "c"), "p", "s", None, None, d, a)
    log.close()
    [(_, _, rec, _)] = list(read_records([p]))
    assert rec is not None
    assert canonical(rec["timing"]) == _timing_json({"account_us": a, "decide_us": d})


def test_the_compiled_tree_indexes_only_what_str_of_an_index_gives():
    m = manifest_with(["/0/x", "/01/x", "/*/y", "/k/2"])
    _keep, keys, other, index = _ctree(m)
    assert set(keys) == {"0", "01", "k"} and set(index) == {0}
    assert other is not None and other[0] is False


def test_without_the_core_or_with_no_accel_the_python_path_writes(tmp_path):
    code = "import toolguard.audit as A; print(A._LINE is None)"
    for env, expected in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TOOLGUARD_NO_ACCEL": env},
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


@pytest.mark.parametrize("key", [None, b"k3y"])
def test_hashlibs_digest_in_the_core_gives_the_same_file(tmp_path, key):
    # where the CPU lacks the SHA extensions the core takes hashlib's SHA-256 (unkeyed digests)
    files = []
    for sha in (None, hashlib.sha256, None):
        p = tmp_path / f"{len(files)}.jsonl"
        log = AuditLog(p, clock=lambda: T0, key=key)
        log._sha = sha
        for args in ({"to": ["a@b.example"], "body": "x" * 3000}, {"é": ["\U0001f600", 1.5, 2**70]}, {}):
            log._decision_timed(decision(), Call("t", args, "c"), "p", "s", MANIFEST, "r", 1.0, 2.0)
        log.close()
        files.append(p.read_bytes())
        assert verify([p], key=key).ok
    files[2] = write(tmp_path / "py.jsonl", False, [
        ("timed", decision(), Call("t", args, "c"), MANIFEST, (1.0, 2.0))
        for args in ({"to": ["a@b.example"], "body": "x" * 3000}, {"é": ["\U0001f600", 1.5, 2**70]}, {})
    ], key=key)[0]
    assert files[0] == files[1] == files[2]


def test_a_digest_function_that_fails_leaves_the_record_to_the_python_path(tmp_path):
    def broken(data: Any) -> Any:
        raise RuntimeError("no digest")

    log = AuditLog(tmp_path / "a.jsonl", clock=lambda: T0)
    log._sha = broken
    log._decision_timed(decision(), Call("t", {"to": ["a"]}, "c"), "p", "s", MANIFEST, "r", 1.0, 2.0)
    log.close()
    python, _ = write(tmp_path / "py.jsonl", False, [("timed", decision(), Call("t", {"to": ["a"]}, "c"), MANIFEST, (1.0, 2.0))])
    assert (tmp_path / "a.jsonl").read_bytes() == python


# -- the steps around the line in the core (AuditChain.record) -----------------------------------

needs_record = pytest.mark.skipif(not A._RECORD, reason="the C core is disabled (TOOLGUARD_NO_ACCEL)")


@needs_record
def test_the_record_path_syncs_every_record_with_fsync_always(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    log = AuditLog(tmp_path / "a.jsonl", fsync="always")
    for i in range(5):
        log._decision_timed(decision(), Call("t", {"to": [f"u{i}@a.example"]}, f"c{i}"), "p", "s", MANIFEST, None, 1.0, 2.0)
        assert not log._dirty and len(synced) == i + 1
    never = AuditLog(tmp_path / "b.jsonl", fsync="never")
    never._decision_timed(decision(), Call("t", {}, "c"), "p", "s", MANIFEST, None, 1.0, 2.0)
    assert never._dirty and len(synced) == 5
    log.close()
    never.close()
    assert verify([tmp_path / "a.jsonl"]).ok and verify([tmp_path / "b.jsonl"]).ok


@needs_record
def test_the_record_path_refuses_a_closed_log_and_a_failed_fsync(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    log.close()
    with pytest.raises(StoreError, match="closed"):
        log._decision_timed(decision(), Call("t", {}, "c"), "p", "s", MANIFEST, None, 1.0, 2.0)
    p = tmp_path / "b.jsonl"
    log = AuditLog(p, fsync="always")
    log._decision_timed(decision(), Call("t", {}, "c"), "p", "s", MANIFEST, None, 1.0, 2.0)
    r, w = os.pipe()
    try:
        with log._lock:  # a pipe takes the write but cannot be fsynced (EINVAL)
            log._fd.close()
            log._fd = open(w, "ab", buffering=0, closefd=False)  # noqa: SIM115
        with pytest.raises(StoreError, match="cannot write the audit log"):
            log._decision_timed(decision(), Call("t", {}, "c2"), "p", "s", MANIFEST, None, 1.0, 2.0)
        assert log._failed is not None and log.head[0] == 2  # written to the pipe, then the fsync failed
        with pytest.raises(StoreError, match="failed earlier"):
            log._decision_timed(decision(), Call("t", {}, "c3"), "p", "s", MANIFEST, None, 1.0, 2.0)
    finally:
        os.close(r)
        os.close(w)
    assert verify([p]).ok


@needs_record
def test_threads_through_the_record_path_keep_one_chain(tmp_path):
    import threading

    p = tmp_path / "a.jsonl"
    log = AuditLog(p, rotate_bytes=64 * 1024, key=b"k")
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        for j in range(150):
            call = Call("t", {"to": [f"u{i}@a.example"], "body": "x" * j}, f"c{i}-{j}")
            if j % 10 == 0:  # the Python path in between, under the same lock
                log.decision(decision(), call, principal=f"p{i}", session="s", manifest=MANIFEST)
            else:
                log._decision_timed(decision(), call, f"p{i}", "s", MANIFEST, None, 1.0, 2.0)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    report = verify([tmp_path], key=b"k")
    assert report.ok and len(report.files) > 2
    decisions = [rec for _, _, rec, _ in read_records(sorted(tmp_path.glob("a*.jsonl"))) if rec and rec.get("type") == "decision"]
    assert len(decisions) == 8 * 150 and len({r["call_id"] for r in decisions}) == 8 * 150


@needs_record
def test_a_failed_rotation_leaves_no_file_descriptor_to_write_to(tmp_path, monkeypatch):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, rotate_bytes=1024)

    def refuse(*_a: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StoreError, match="cannot write the audit log"):
        for i in range(20):
            log._decision_timed(decision(), Call("t", {"to": [f"u{i}@a.example"], "body": "x" * 100}, f"c{i}"),
                                "p", "s", MANIFEST, None, 1.0, 2.0)
    assert log._failed is not None and log._chain.fd == -1  # the closed file's number is not kept
    with pytest.raises(StoreError, match="failed earlier"):
        log._decision_timed(decision(), Call("t", {}, "c"), "p", "s", MANIFEST, None, 1.0, 2.0)
    log.close()
    assert verify([p]).ok


@needs_record
def test_a_cycle_through_the_chain_is_collected(tmp_path):
    import gc
    import weakref

    class Clock:
        log: Any = None

        def __call__(self) -> float:
            return T0

    def make() -> Any:
        clock = Clock()
        log = AuditLog(tmp_path / "a.jsonl", clock=clock)
        clock.log = log  # log -> chain -> clock -> log
        log.close()
        return weakref.ref(clock)

    ref = make()
    gc.collect()
    assert ref() is None
    blank = A._CHAIN.__new__(A._CHAIN)  # never initialised: the Python path, not a crash
    assert blank.record(None, "allow", "no findings", "p", "s", "t", None, None, "c", "d", "[]", "[]", {}, (1.0, 2.0)) is None
