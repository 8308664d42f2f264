"""The decision record's fast path gives the general path's bytes: masking, digests, record text."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolguard import Call
from toolguard.audit import (
    AuditLog,
    _args_json,
    _input_text,
    _jsonable,
    _keep_tree,
    _NotPlain,
    _timing_json,
    _walk,
    args_digest,
    canonical,
    masked_input,
    read_records,
    verify,
)
from toolguard.findings import combine
from toolguard.manifest import manifest_from_dict

# Destination pointers of every shape the tree must merge: keys, indexes, wildcards at any
# depth, an escaped slash and a literal star (``~2``), and patterns that overlap.
POINTERS = ["/to/*", "/cc", "/links/*/href", "/*/0", "/0", "/a~1b/*", "/~2", "/deep/*/*/x", "/deep/k/0/x", "/html"]
MANIFEST = manifest_from_dict({
    "tool": "t",
    "side_effect": "external_write",
    "arguments": {"type": "object"},
    "destinations": [
        {"arg": p, "kind": "html" if p == "/html" else "url" if "href" in p else "email"} for p in POINTERS
    ],
})

KEYS = st.sampled_from(["to", "cc", "links", "href", "0", "1", "a/b", "*", "deep", "k", "x", "html", "é", "\x7f", "q\"~"])
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030, blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(
    TEXT, st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e-05, 1e16, 0.1, -0.0, 123.456]),
)
PLAIN = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5), st.tuples(inner, inner)),
    max_leaves=25,
)
ARGS = st.dictionaries(KEYS, PLAIN, max_size=6)


def reference(args: Any, mode: str) -> tuple[str, str | None]:
    """``args_sha256`` and the ``input`` text as the general path computes them."""
    if mode == "full":
        return args_digest(args), canonical(_jsonable(args))
    if mode == "masked":
        return args_digest(args), canonical(masked_input(args, MANIFEST))
    return args_digest(args), None


@settings(max_examples=400, deadline=None)
@given(args=st.one_of(ARGS, PLAIN))
@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
def test_the_walk_and_orjson_give_the_general_paths_digest_and_input(mode, args):
    raw, value = _args_json(args, MANIFEST, mode)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)


@settings(max_examples=400, deadline=None)
@given(args=ARGS)
def test_the_pointer_tree_keeps_what_the_pointers_resolve(args):
    try:
        masked = _walk(args, _keep_tree(MANIFEST), [], 0)
    except _NotPlain:
        return
    assert masked == masked_input(args, MANIFEST)


class Odd(str):
    pass


@pytest.mark.parametrize("args", [
    {"to": [float("nan")]}, {"to": {1: "x"}}, {"to": Odd("x@a.example")}, {"x": object()}, {"big": 2**80},
    {"deep": [[[[[[[[]]]]]]]] * 3}, {"s": "\ud800"}, {"d": {"e": float("inf")}},
])
@pytest.mark.parametrize("mode", ["masked", "full", "hash"])
def test_values_that_are_not_plain_take_the_general_path(mode, args):
    raw, value = _args_json(args, MANIFEST, mode)
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, mode)) == reference(args, mode)


def test_nesting_beyond_the_walks_limit_takes_the_general_path():
    args: Any = {"to": "x"}
    for _ in range(80):
        args = {"n": [args]}
    raw, value = _args_json(args, MANIFEST, "masked")
    assert (hashlib.sha256(raw).hexdigest(), _input_text(value, "masked")) == reference(args, "masked")


@pytest.mark.parametrize("timing", [
    {"decide_us": 12.34567, "account_us": 3.0}, {"decide_us": 1, "account_us": 2.5}, {"account_us": 1e20, "decide_us": 1e-7},
    {"decide_us": 0.0005, "account_us": 0.0}, {"z": 1.25, "a": 2}, {"decide_us": 5.0},
])
def test_the_timing_text_is_canonical(timing):
    assert _timing_json(timing) == canonical({k: round(v, 3) for k, v in timing.items()})


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_timing_that_is_not_finite_is_refused(bad):
    with pytest.raises(ValueError):
        _timing_json({"decide_us": bad, "account_us": 1.0})


NAMES = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030, blacklist_categories=("Cs",)), max_size=8)


@settings(max_examples=60, deadline=None)
@given(principal=NAMES, session=NAMES, tool=NAMES, args=ARGS)
def test_records_with_any_names_are_canonical_and_verify(tmp_path_factory, principal, session, tool, args):
    p = tmp_path_factory.mktemp("log") / "a.jsonl"
    for key in (None, b"k3y"):
        p.unlink(missing_ok=True)
        log = AuditLog(p, key=key)
        d = combine([], tool=tool, call_id="c").with_id("1" * 32)
        log.decision(d, Call(tool, args, "c"), principal=principal, session=session, manifest=MANIFEST,
                     policy_revision="r", timing={"decide_us": 1.5, "account_us": 2.25})
        log.close()
        assert verify([p], key=key).ok
        (_, _, rec, raw), = list(read_records([p]))
        assert rec is not None
        h = rec.pop("hash")
        assert raw.decode("ascii") == canonical(rec)[:-1] + ',"hash":"' + h + '"}\n'
        assert rec["principal"] == principal and rec["session"] == session
        assert rec["args_sha256"] == args_digest(args)
        assert json.loads(canonical(rec["input"])) == json.loads(canonical(masked_input(args, MANIFEST)))
