"""The decision core's fast paths give exactly what the general code gives.

The shape check accepts well-formed arguments with a recursive fast path and names problems
with a full walk; pointers resolve breadth-first; parsed destinations are memoised per
manifest entry. Each is checked here against a plain reference on generated values,
including the odd ones (control and invisible characters, lone surrogates, non-string keys,
NaN, str/int subclasses, nesting at the depth cap).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolguard import Call, Policy, SessionView, _pointer, decide
from toolguard.manifest import manifest_from_dict
from toolguard.policy import Context, _plain, _shape, _walk_shape


class _Str(str):
    pass


class _Int(int):
    pass


clean_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x3FF, exclude_categories=("Cc", "Cs")), max_size=8)
odd_text = st.text(
    alphabet=st.sampled_from(["\u200b", "\x00", "\x7f", "\ud800", "\n", "\t", "\u202e", "\U000e0041", "\u00ad", "é", "a"]),
    min_size=1,
    max_size=6,
)
clean = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | clean_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(clean_text, children, max_size=4),
    max_leaves=12,
)
odd = (
    st.sampled_from([math.nan, math.inf, -math.inf, b"bytes", ("tuple",), _Str("sub"), _Int(3), object()])
    | odd_text
    | st.dictionaries(odd_text, clean, min_size=1, max_size=2)
    | st.dictionaries(st.integers(), clean, min_size=1, max_size=2)
)


@st.composite
def arguments(draw: st.DrawFn) -> dict[Any, Any]:
    """Well-formed arguments, with (usually) one odd value planted somewhere inside."""
    args: dict[Any, Any] = draw(st.dictionaries(clean_text, clean, max_size=5))
    if draw(st.booleans()) or not args:
        return args if args or draw(st.booleans()) else {draw(clean_text): draw(odd)}
    # Walk down a random path of containers and plant the odd value there.
    node: Any = args
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        k = draw(st.sampled_from(keys))
        child = node[k]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child
            continue
        node[k] = draw(odd)
        break
    return args


def _slow_shape(args: dict[str, Any], policy: Policy) -> list[tuple[str, str, str]]:
    ctx = Context(Call("t", args, "c"), None, SessionView.empty(), policy)
    out: list[Any] = []
    _walk_shape(args, ctx, out)
    return sorted((f.code, f.pointer, f.message) for f in out)


def _fast_shape(args: dict[str, Any], policy: Policy) -> list[tuple[str, str, str]]:
    ctx = Context(Call("t", args, "c"), None, SessionView.empty(), policy)
    out: list[Any] = []
    _shape(args, ctx, out)
    return sorted((f.code, f.pointer, f.message) for f in out)


@pytest.mark.parametrize("max_depth,max_bytes", [(32, 1 << 20), (2, 1 << 20), (3, 40)], ids=["defaults", "shallow", "tiny-cap"])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=arguments())
def test_shape_fast_path_reports_exactly_what_the_full_walk_reports(args: dict[Any, Any], max_depth: int, max_bytes: int) -> None:
    policy = Policy(max_depth=max_depth, max_argument_bytes=max_bytes)
    assert _fast_shape(args, policy) == _slow_shape(args, policy)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "plain", "b": 1, "c": None, "d": [True, 2.5, "x"]},
        {"a": {"b": {"c": ["deep"]}}},
        {},
    ],
    ids=["flat", "nested", "empty"],
)
def test_plain_accepts_well_formed_arguments(value: dict[str, Any]) -> None:
    assert _plain(value, 0, 32) >= 0


@pytest.mark.parametrize(
    "value",
    [
        {"a": "zero\u200bwidth"},
        {"a": "lone \ud800"},
        {"a\x00": "key with NUL"},
        {1: "int key"},
        {"a": math.nan},
        {"a": _Str("subclass")},
        {"a": _Int(3)},
        {"a": ("tuple",)},
        {"a": b"bytes"},
    ],
    ids=["invisible", "surrogate", "key-control", "int-key", "nan", "str-subclass", "int-subclass", "tuple", "bytes"],
)
def test_plain_declines_anything_the_walk_must_look_at(value: dict[Any, Any]) -> None:
    assert _plain(value, 0, 32) == -1


def test_plain_declines_nesting_at_the_depth_cap() -> None:
    assert _plain({"a": {"b": ["c"]}}, 0, 2) == -1
    assert _plain({"a": {"b": []}}, 0, 2) >= 0  # an empty container at the cap is fine


def _ref_resolve(value: Any, tokens: tuple[Any, ...], prefix: str = "") -> list[tuple[str, Any]]:
    if not tokens:
        return [(prefix, value)]
    head, rest = tokens[0], tokens[1:]
    out: list[tuple[str, Any]] = []
    if head is _pointer.WILDCARD:
        if isinstance(value, list):
            for i, item in enumerate(value):
                out += _ref_resolve(item, rest, f"{prefix}/{i}")
        elif isinstance(value, dict):
            for k, item in value.items():
                out += _ref_resolve(item, rest, prefix + "/" + str(k).replace("~", "~0").replace("/", "~1"))
        return out
    if isinstance(value, dict):
        if head in value:
            out += _ref_resolve(value[head], rest, prefix + "/" + head.replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list) and head.isdigit() and (head == "0" or not head.startswith("0")) and int(head) < len(value):
        out += _ref_resolve(value[int(head)], rest, f"{prefix}/{head}")
    return out


def _ref_strings(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(prefix, value)]
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, item in value.items():
            out += _ref_strings(item, prefix + "/" + str(k).replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _ref_strings(item, f"{prefix}/{i}")
    return out


keys = st.sampled_from(["a", "b", "0", "1", "01", "x/y", "t~n", "*"])
docs = st.recursive(
    st.text(max_size=3) | st.integers(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=15,
)
pointers = st.lists(st.sampled_from(["a", "b", "0", "1", "01", "x~1y", "t~0n", "*", "~2"]), max_size=4).map(lambda ts: "".join("/" + t for t in ts))


@settings(max_examples=400, deadline=None)
@given(doc=docs, pointer=pointers)
def test_resolve_names_the_same_locations_in_the_same_order_as_a_depth_first_walk(doc: Any, pointer: str) -> None:
    tokens = _pointer.parse_pointer(pointer)
    assert _pointer.resolve(doc, tokens) == _ref_resolve(doc, tokens)


@settings(max_examples=400, deadline=None)
@given(doc=docs)
def test_walk_strings_lists_every_string_in_document_order(doc: Any) -> None:
    assert _pointer.walk_strings(doc) == _ref_strings(doc)


MANIFEST = {
    "tool": "send",
    "side_effect": "external_write",
    "arguments": {"type": "object", "properties": {"to": {"type": "array", "items": {"type": "string"}}}},
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
}


def test_memoised_destinations_decide_like_fresh_ones() -> None:
    m = manifest_from_dict(MANIFEST)
    view = SessionView.empty()
    calls = [["bob@acme.example"], ["eve@evil.test"], ["eve@evil.test", "bob@acme.example"], ["bob@acme.example"]]
    first = [decide(Call("send", {"to": to}, "c"), m, view) for to in calls]
    again = [decide(Call("send", {"to": to}, "c"), m, view) for to in calls]  # served from the memo
    fresh = [decide(Call("send", {"to": to}, "c"), manifest_from_dict(MANIFEST), view) for to in calls]
    assert [d.verdict for d in first] == ["allow", "hold", "hold", "allow"]
    assert [(d.verdict, d.codes, [f.pointer for f in d.findings]) for d in again] == [
        (d.verdict, d.codes, [f.pointer for f in d.findings]) for d in fresh
    ]
    assert again[2].findings[0].pointer == "/to/0"  # the pointer is part of the memo key


def test_path_destinations_are_never_memoised(tmp_path: Any) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    m = manifest_from_dict(
        {
            "tool": "read_file",
            "side_effect": "read",
            "arguments": {"type": "object", "properties": {"path": {"type": "string"}}},
            "destinations": [{"arg": "/path", "kind": "path", "roots": [str(root)]}],
        }
    )
    view = SessionView.empty()
    call = Call("read_file", {"path": str(root / "link")}, "c")
    (root / "link").mkdir()
    assert decide(call, m, view).verdict == "allow"
    (root / "link").rmdir()
    (root / "link").symlink_to(outside)  # the same argument now leaves the root
    assert decide(call, m, view).codes == ("path.outside_root",)


def test_slot_constructors_make_the_same_frozen_values() -> None:
    import dataclasses

    from toolguard.destinations import Destination, _dest
    from toolguard.findings import Decision, _decision
    from toolguard.taint import Source, _source

    assert _decision("hold", (), "t", "c", "d") == Decision("hold", (), "t", "c", "d")
    assert _source(3, "c1", "web", False, frozenset({"private"}), 9) == Source(3, "c1", "web", False, frozenset({"private"}), 9)
    made = _dest("url", "https://A.example/", "https://a.example/", host="a.example")
    assert made == Destination("url", "https://A.example/", "https://a.example/", host="a.example")
    assert made.flags == frozenset() and made.scheme is None  # the dataclass defaults
    assert hash(made) == hash(Destination("url", "https://A.example/", "https://a.example/", host="a.example"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.host = "evil.test"  # type: ignore[misc]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in ([k] if isinstance(k, str) else []) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


wide_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x10FFFF), max_size=8)
wide = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | wide_text | odd,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(wide_text | odd_text, children, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("max_depth", [32, 2, 0])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=arguments() | st.dictionaries(wide_text, wide, max_size=5) | wide)
def test_the_c_walk_sizes_as_plain_does_or_leaves_it_to_python(args: Any, max_depth: int) -> None:
    """The C core's plain_size equals _plain wherever it answers; it answers -1 ("ask the
    Python walk") only where _plain does too, or where a string is not printable (which
    _plain may still accept as clean)."""
    C = pytest.importorskip("toolguard._taintc")
    c, py = C.plain_size(args, max_depth), _plain(args, 0, max_depth)
    if c >= 0:
        assert c == py
    elif py >= 0:
        assert any(not s.isprintable() for s in _strings(args))


def test_the_c_walk_on_chosen_values() -> None:
    C = pytest.importorskip("toolguard._taintc")
    for value in ({"a": "plain", "b": 1, "c": None, "d": [True, 2.5, "x"]}, {"e": "émoji 😀 Ω"}, {}, [1, "x"], "text", 3, 2.5):
        assert C.plain_size(value, 32) == _plain(value, 0, 32) >= 0
    for value in ({"a": "zero\u200bwidth"}, {"a": "lone \ud800"}, {"a\x00": "k"}, {1: "x"}, {"a": math.nan}, {"a": math.inf},
                  {"a": _Str("s")}, {"a": _Int(3)}, {"a": ("t",)}, {"a": b"b"}, {"a": object()}, {"a": "\x7f"}):
        assert C.plain_size(value, 32) == -1
    assert C.plain_size({"a": {"b": ["c"]}}, 2) == -1 == _plain({"a": {"b": ["c"]}}, 0, 2)
    deep: Any = "x"
    for _ in range(500):
        deep = [deep]
    assert C.plain_size(deep, 10_000) == -1  # the C walk never goes deeper than 200 levels
    with pytest.raises(TypeError):
        C.plain_size({}, "32")
