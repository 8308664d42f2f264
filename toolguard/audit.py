"""The audit log: append-only JSONL, every record hash-chained to the one before it.

One record per decision, per withheld or altered output, per approval event and per
cut-off event. Records follow the shape of OPA decision logs (``decision_id``,
``timestamp``, ``principal``, ``tool``, masked ``input`` plus ``args_sha256``, ``result``,
``findings``, ``manifest_digest``, ``policy_revision``). Each record carries:

* ``seq``: its position in the chain (1, 2, 3... across rotated files);
* ``prev``: the ``hash`` of the record before it (64 zeros for the first record ever);
* ``hash``: SHA-256 (HMAC-SHA-256 with a key) over the record's canonical JSON without
  ``hash`` (keys sorted, no spaces, ASCII), which includes ``prev``.

Editing, dropping, reordering or inserting a line breaks the chain at that line, and
:func:`verify` (``toolguard audit verify PATH``) says where, with the expected and found
values. Without a key, whoever can rewrite the whole file can also recompute every hash:
keep a copy of the latest ``hash`` elsewhere (or use a key) to detect that too.

Rotation (``rotate_bytes``) renames the active file to ``<stem>.<n>.jsonl`` and starts a
new one whose first record (``type: rotate``) carries the previous file's name and last
hash, so the chain runs unbroken across files. A damaged file is reported, never
truncated: opening a log whose last line is damaged raises (or, with
``on_corrupt="rotate"``, moves it aside and starts a new chain that names it).

One process writes one file: several writers on one file would interleave two chains.
Give each replica its own path. See docs/audit.md.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import re
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _esc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
import orjson

from ._pointer import WILDCARD
from .anchors import AnchorStore, AnchorWriter, log_name
from .errors import StoreError

if TYPE_CHECKING:
    from .findings import Call, Decision
    from .manifest import AuditSettings, Manifest, Policy

__all__ = [
    "GENESIS",
    "AuditCorrupted",
    "AuditLog",
    "Problem",
    "VerifyReport",
    "args_digest",
    "audit_cli",
    "canonical",
    "manifest_digest",
    "policy_revision",
    "read_records",
    "stats",
    "verify",
]

GENESIS = "0" * 64
FORMAT_VERSION = 1
_ROTATED = re.compile(r"^(?P<stem>.+)\.(?P<n>\d{6,})(?P<suffix>\.[^.]*)?$")

ArgsMode = Literal["masked", "full", "hash"]
OutputsMode = Literal["altered", "hash", "full"]
FsyncMode = Literal["always", "interval", "never"]
WriterMode = Literal["inline", "thread"]

log = logging.getLogger("toolguard")


class AuditCorrupted(StoreError):
    """Raised when an audit file is damaged where the writer must continue it (its last line)."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        super().__init__(message)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical(value: Any) -> str:
    """The canonical JSON that hashes are computed over: sorted keys, no spaces, ASCII only."""
    return _CANONICAL.encode(value)


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` with everything JSON cannot carry turned into strings (for logging args)."""
    if isinstance(value, str) or value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if depth > 64:
        return "<too deep>"
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    return repr(value)[:1000]


def args_digest(args: Any) -> str:
    """SHA-256 of the canonical JSON of ``args`` (of ``repr`` for values JSON cannot carry)."""
    try:
        text = canonical(args)
    except (TypeError, ValueError):
        text = canonical(_jsonable(args))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


_DIGESTS: dict[int, tuple[Any, str]] = {}


def manifest_digest(manifest: Manifest | None) -> str | None:
    """SHA-256 of the manifest's canonical JSON (cached per manifest object)."""
    if manifest is None:
        return None
    hit = _DIGESTS.get(id(manifest))
    if hit is None or hit[0] is not manifest:
        d = hashlib.sha256(canonical(manifest.model_dump(mode="json", by_alias=True)).encode()).hexdigest()
        _DIGESTS[id(manifest)] = hit = (manifest, d)
    return hit[1]


def policy_revision(policy: Policy) -> str:
    """SHA-256 of the policy's canonical JSON: which policy a decision was made under."""
    return hashlib.sha256(canonical(policy.model_dump(mode="json", by_alias=True)).encode()).hexdigest()


def _mask(args: Any, keep: set[str], ptr: str = "", within: set[str] | None = None) -> Any:
    """``args`` with every string not at a pointer in ``keep`` replaced by its length.

    ``within`` holds the pointers of the containers some kept string lies in (every prefix
    of a kept pointer): below any other container nothing is kept, and it is masked
    without computing pointers.
    """
    if within is None:
        within = set()
        for p in keep:
            i = p.find("/", 1)
            while i != -1:
                within.add(p[:i])
                i = p.find("/", i + 1)
        if keep:
            within.add("")
    if isinstance(args, str):
        return args if ptr in keep else f"<{len(args)} chars>"
    if ptr not in within:
        return _mask_all(args)
    if type(args) is dict:
        out = {}
        for k, v in args.items():
            sub = f"{ptr}/{k.replace('~', '~0').replace('/', '~1')}" if type(k) is str else f"{ptr}/{str(k).replace('~', '~0').replace('/', '~1')}"
            if type(v) is str:
                out[k] = v if sub in keep else f"<{len(v)} chars>"
            else:
                out[k] = _mask(v, keep, sub, within)
        return out
    if isinstance(args, dict):
        return {k: _mask(v, keep, f"{ptr}/{str(k).replace('~', '~0').replace('/', '~1')}", within) for k, v in args.items()}
    if isinstance(args, (list, tuple)):
        return [_mask(v, keep, f"{ptr}/{i}", within) for i, v in enumerate(args)]
    return _jsonable(args)


def _mask_all(args: Any) -> Any:
    """What :func:`_mask` gives for a value none of whose strings is kept."""
    if type(args) is str:
        return f"<{len(args)} chars>"
    if isinstance(args, str):
        return f"<{len(args)} chars>"
    if isinstance(args, dict):
        return {k: _mask_all(v) for k, v in args.items()}
    if isinstance(args, (list, tuple)):
        return [_mask_all(v) for v in args]
    return _jsonable(args)


def masked_input(args: Any, manifest: Manifest | None) -> Any:
    """``args`` with every string replaced by ``<N chars>`` except destination arguments.

    Destinations (addresses, URLs, channels) are what an investigation needs and what the
    findings quote anyway; payloads (bodies, queries) are what must not be copied around.
    """
    keep: set[str] = set()
    if manifest is not None and isinstance(args, dict):
        # the manifest's own compiled pointers; rendered text (markdown, html) is payload
        # too: it is masked
        for cd in manifest.compiled.destinations:
            if cd.spec.kind not in ("markdown", "html"):
                for p, v in cd.resolve(args):
                    if isinstance(v, str):
                        keep.add(p)
    return _mask(args, keep)


# --------------------------------------------------------------------------------------
# The per-call fast path: the arguments' canonical JSON and masked input in one walk
#
# A decision record needs two serialisations of the call's arguments: the canonical JSON
# of all of them (hashed into ``args_sha256``) and of their masked copy (``input``). For
# plain data (dicts with str keys, lists, tuples, str, int, bool, None, finite floats) one
# walk builds the masked copy and checks the types, and orjson writes both texts. orjson's
# output is the stdlib's canonical text byte for byte when it is ASCII without DEL (the
# stdlib escapes non-ASCII and DEL as \uXXXX; control characters and quotes are escaped
# alike) and holds no float (the stdlib writes 1e-05 where orjson writes 0.00001): anything
# else goes through :func:`canonical`, so every record stays the canonical JSON of its
# dict (tests/audit compare the two on many records).


class _Keep:
    """One node of a manifest's destination pointers as a tree: which strings the mask keeps.

    A node stands for every pointer pattern that reached it. ``keep``: a string here is a
    destination (some pattern ends here); ``keys``: the node below a given key or index
    (its pattern's next token, merged with the wildcards'); ``other``: the node below any
    other key or index (the wildcards' alone). ``None`` below: nothing there is kept.
    This is the set :func:`masked_input` resolves per call, compiled once per manifest.
    """

    __slots__ = ("keep", "keys", "other")

    def __init__(self, suffixes: frozenset[tuple[Any, ...]]) -> None:
        self.keep = () in suffixes
        rest = [s for s in suffixes if s]
        wild = frozenset(s[1:] for s in rest if s[0] is WILDCARD)
        self.other: _Keep | None = _Keep(wild) if wild else None
        self.keys: dict[str, _Keep | None] = {}
        for tok in {s[0] for s in rest if s[0] is not WILDCARD}:
            self.keys[tok] = _Keep(frozenset(s[1:] for s in rest if s[0] is WILDCARD or s[0] == tok))


_KEEP: dict[int, tuple[Any, _Keep | None]] = {}


def _keep_tree(manifest: Manifest) -> _Keep | None:
    """The manifest's kept pointers as a tree (cached per manifest object); None: keep nothing."""
    hit = _KEEP.get(id(manifest))
    if hit is None or hit[0] is not manifest:
        patterns = frozenset(cd.tokens for cd in manifest.compiled.destinations if cd.spec.kind not in ("markdown", "html"))
        if len(_KEEP) > 4096:
            _KEEP.clear()
        _KEEP[id(manifest)] = hit = (manifest, _Keep(patterns) if patterns else None)
    return hit[1]


# The inline record in C (``audit_line`` of the optional C core, toolguard/_taintc.c): the
# walk of :func:`_walk`, both canonical texts, the digests, the record's text and the write
# in one call. It takes plain data only and answers None for anything else (the Python path
# below then runs as it always did). Each log reads this once, when it is created (the tests
# swap it to compare both paths); ``TOOLGUARD_NO_ACCEL=1`` turns it off.
try:
    if os.environ.get("TOOLGUARD_NO_ACCEL", "") not in ("", "0"):
        raise ImportError("TOOLGUARD_NO_ACCEL is set")
    from ._taintc import AuditChain as _C_CHAIN
    from ._taintc import audit_line as _C_LINE
    from ._taintc import sha_extensions as _sha_extensions
except ImportError:  # not built (no C compiler at install time), or disabled
    _C_LINE = _C_CHAIN = None  # type: ignore[assignment,misc]

_LINE: Any = _C_LINE
# The chain's head and lock in the core (``AuditChain``), whose ``record`` takes
# :meth:`AuditLog._native`'s steps around ``audit_line`` too: the cached shape, the lock, the
# clock, the head. A log whose ``_line`` the tests swapped takes the steps in Python.
_CHAIN: Any = _C_CHAIN
_RECORD = _C_CHAIN is not None  # whether logs write through ``AuditChain.record`` (the tests turn it off)
# The core's own SHA-256 runs on the CPU's SHA extensions; without them OpenSSL's vector code
# (hashlib) is faster than its portable C, so the core is handed hashlib's for the unkeyed
# digests (HMAC-SHA-256 is the core's own either way: OpenSSL 3's one-shot HMAC costs more).
_SHA: Any = None if _C_LINE is None or _sha_extensions() else hashlib.sha256
_MODES = {"hash": 0, "masked": 1, "full": 2}
_STAMP_MAX = 253402300800.0  # 10000-01-01: the C core writes times before it (and from 1970)

_CKEEP: dict[int, tuple[Any, Any]] = {}


def _compiled(node: _Keep | None) -> Any:
    """A :class:`_Keep` tree as the C core reads it: ``(keep, keys, other, index)`` tuples.

    ``keys`` maps each token to its node (None when empty); ``index`` maps ``i`` to the node
    of the token ``str(i)`` (what :func:`_walk` looks up for the items of a list).
    """
    if node is None:
        return None
    keys = {k: _compiled(v) for k, v in node.keys.items()}
    index = {int(k): v for k, v in keys.items() if type(k) is str and k.isascii() and k.isdigit() and str(int(k)) == k}
    return (node.keep, keys or None, _compiled(node.other), index or None)


def _ctree(manifest: Manifest) -> Any:
    """:func:`_keep_tree` compiled for the C core (cached per manifest object)."""
    hit = _CKEEP.get(id(manifest))
    if hit is None or hit[0] is not manifest:
        if len(_CKEEP) > 4096:
            _CKEEP.clear()
        _CKEEP[id(manifest)] = hit = (manifest, _compiled(_keep_tree(manifest)))
    return hit[1]


_SCALARS = frozenset({int, bool, type(None)})
_DEL = b"\x7f"


def _walk(value: Any, node: _Keep | None, floats: list[float], depth: int) -> Any:
    """The masked copy of plain data (as :func:`masked_input` gives it); raise _NotPlain otherwise.

    Finite floats are kept and listed in ``floats`` (their text must come from the stdlib).
    """
    t = type(value)
    if t is str:
        return value if node is not None and node.keep else f"<{len(value)} chars>"
    if t in _SCALARS:
        return value
    if t is float:
        if value - value != 0.0:  # inf or nan: the general path writes their repr
            raise _NotPlain
        floats.append(value)
        return value
    if depth > 64:
        raise _NotPlain
    if t is dict:
        out = {}
        if node is None:
            for k, v in value.items():
                if type(k) is not str:
                    raise _NotPlain
                tv = type(v)
                out[k] = f"<{len(v)} chars>" if tv is str else v if tv in _SCALARS else _walk(v, None, floats, depth + 1)
            return out
        keys, other = node.keys, node.other
        for k, v in value.items():
            if type(k) is not str:
                raise _NotPlain
            sub = keys.get(k, other) if keys else other
            tv = type(v)
            if tv is str:
                out[k] = v if sub is not None and sub.keep else f"<{len(v)} chars>"
            elif tv in _SCALARS:
                out[k] = v
            elif tv is list and depth < 64 and (sub is None or not sub.keys):
                # the list branch below, written out: a list of destinations (``/to/*``) or
                # of payload, one frame fewer
                each = sub.other if sub is not None else None
                keep = each is not None and each.keep
                out[k] = [(x if keep else f"<{len(x)} chars>") if type(x) is str else _walk(x, each, floats, depth + 2)
                          for x in v]
            else:
                out[k] = _walk(v, sub, floats, depth + 1)
        return out
    if t is list:
        if node is None:
            return [f"<{len(v)} chars>" if type(v) is str else _walk(v, None, floats, depth + 1) for v in value]
        keys, other = node.keys, node.other
        if not keys:  # ``/to/*``: every item below the same node; strings without a call each
            keep = other is not None and other.keep
            return [(v if keep else f"<{len(v)} chars>") if type(v) is str else _walk(v, other, floats, depth + 1)
                    for v in value]
        return [_walk(v, keys.get(str(i), other), floats, depth + 1) for i, v in enumerate(value)]
    if t is tuple:  # pointers do not walk into tuples: nothing below one is kept
        return [_walk(v, None, floats, depth + 1) for v in value]
    raise _NotPlain


def _fast_json(value: Any) -> bytes | None:
    """orjson's text of float-free plain data when it is the canonical text, else None."""
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits, a lone surrogate...
        return None
    return out if out.isascii() and _DEL not in out else None


def _args_json(args: Any, manifest: Manifest | None, mode: str, text: bytes | None = None) -> tuple[bytes, Any]:
    """(the bytes ``args_sha256`` hashes, the record's ``input``) for one call.

    The input is None (``args: hash``: the record has none), the masked copy (plain data
    orjson writes as the stdlib would, see :func:`_fast_json`) or a :class:`_Raw` holding
    its canonical JSON. Nothing returned refers to ``args``: it is also what the background writer takes
    as the call's arguments, whatever the tool does to them afterwards. ``text``: orjson's
    sorted text of ``args`` when the caller has it already (:func:`_snapshot`).
    """
    floats: list[float] = []
    try:
        node = _keep_tree(manifest) if mode == "masked" and manifest is not None and type(args) is dict else None
        masked = _walk(args, node, floats, 0)  # for "full" and "hash" only the check counts
    except (_NotPlain, RecursionError):
        return _slow_args_json(args, manifest, mode)
    if floats:
        raw = None
    elif text is not None:
        raw = text if text.isascii() and _DEL not in text else None
    else:
        raw = _fast_json(args)
    if raw is None:
        raw = canonical(args).encode("ascii")
    if mode == "full":
        return raw, _Raw(raw.decode("ascii"))
    if mode == "masked":
        return raw, _Raw(canonical(masked)) if floats else masked
    return raw, None


# What the background writer's caller does instead of the walk: orjson writes the arguments
# (every type it cannot write, subclasses of str, int, dict and list, dates and dataclasses
# included, raises) and reads the text back, and the copy must equal the arguments. Equal
# means the same plain data: a tuple never equals the list it becomes, NaN and the
# infinities become null, an enum or UUID written as its value differs from it (the int and
# str enums are equal to their values, and the general path writes them as those values
# too). The copy, new objects no one else holds, then stands for the arguments in the
# writer, which walks it as :func:`_args_json` would walk the arguments.
_SNAPSHOT = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
             | orjson.OPT_PASSTHROUGH_DATACLASS)


_SNAPSHOT_MAX = 16384  # bytes of text above which the caller walks the arguments itself
_NO_COPY = object()  # no copy of the arguments: the caller serialised them itself


def _snapshot(args: Any) -> tuple[bytes, Any] | None:
    """``(text, copy)``: an immutable stand-in for plain-data ``args``, or None (then :func:`_args_json`).

    Above ``_SNAPSHOT_MAX`` bytes of text the copy is not made (``_NO_COPY``): a queued copy
    of large arguments would hold their memory twice (text and copy) where the masked copy
    is small, and the walk costs the caller per value, not per byte. The text is then the
    one :func:`_args_json` takes.
    """
    try:
        text = orjson.dumps(args, option=_SNAPSHOT)
        if len(text) > _SNAPSHOT_MAX:
            return text, _NO_COPY
        copy = orjson.loads(text)
    except (TypeError, ValueError):  # JSONEncodeError, JSONDecodeError
        return None
    try:
        same = type(copy) is type(args) and copy == args
    except Exception:  # a comparison that raises (a RecursionError on deep nesting)
        return None
    return (text, copy) if same else None


def _slow_args_json(args: Any, manifest: Manifest | None, mode: str) -> tuple[bytes, Any]:
    """:func:`_args_json` for any value: the stdlib encoder, ``repr`` for what JSON cannot carry."""
    try:
        text = canonical(args)
    except (TypeError, ValueError):
        text = canonical(_jsonable(args))
    if mode == "full":
        return text.encode("ascii"), _Raw(canonical(_jsonable(args)))
    if mode == "masked":
        return text.encode("ascii"), _Raw(canonical(masked_input(args, manifest)))
    return text.encode("ascii"), None


class _Raw:
    """A value's canonical JSON, written into the record as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _input_text(value: Any, mode: str) -> str | None:
    """The canonical JSON of an input as :func:`_args_json` gives it (None: the record has none).

    A masked copy holds no float (:func:`_args_json` gives those as :class:`_Raw`): orjson's
    sorted text is then the canonical text whenever it is ASCII without DEL (see
    :func:`_fast_json`); anything else goes through :func:`canonical`.
    """
    if mode == "hash":
        return None
    if type(value) is _Raw:
        return value.text
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an int beyond 64 bits...
        return canonical(value)
    return out.decode("ascii") if out.isascii() and _DEL not in out else canonical(value)


_STAMP: tuple[int, str] = (-(2**62), "")


def _timestamp(t: float) -> str:
    """RFC 3339 UTC with microseconds (``2025-01-31T12:00:00.123456Z``); the second is cached."""
    global _STAMP
    sec = int(t // 1)
    cached = _STAMP  # one read: the pair is replaced whole, never updated in place
    if cached[0] != sec:
        cached = _STAMP = (sec, datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    us = int((t - sec) * 1_000_000)
    return f"{cached[1]}.{us if us < 999_999 else 999_999:06d}Z"


def _digest(text: str, key: bytes | None) -> str:
    data = text.encode("ascii")
    if key is not None:
        return hmac.digest(key, data, "sha256").hex()
    return hashlib.sha256(data).hexdigest()


def _number(value: Any) -> str:
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"an audit record must be JSON: {value!r} is not a JSON number")
        return float.__repr__(value)
    if type(value) is int:
        return int.__repr__(value)
    return canonical(value)


def _str_json(value: Any) -> str:
    """Canonical JSON of one value; strings (the common case) without the encoder's set-up."""
    return _esc(value) if type(value) is str else canonical(value)


def _milli(x: float) -> str:
    """``float.__repr__(round(x, 3))`` for ``0 <= x < 1e12``, without making the float.

    ``round(x, 3)`` and ``%.3f`` both round the exact binary value to 3 decimals (the same
    correctly rounded conversion, ties to even); a decimal of at most 15 significant digits
    is the shortest text of the float nearest to it, so ``repr`` of the rounded float is
    that decimal with its trailing zeros cut (one kept after the point). Below 1e12 the
    value has at most 15 digits, and ``repr`` writes no exponent (it does from 1e16, and
    for nonzero values under 1e-4, which round to 0.0).
    """
    text = f"{x:.3f}".rstrip("0")
    return text + "0" if text[-1] == "." else text


def _timing_json(timing: Mapping[str, float]) -> str:
    """The ``timing`` object's canonical JSON, values rounded to 3 decimals; ValueError if one is not finite."""
    if len(timing) == 2 and "account_us" in timing and "decide_us" in timing:  # what the guard records
        a, d = timing["account_us"], timing["decide_us"]
        if type(a) is float and type(d) is float and 0.0 <= a < 1e12 and 0.0 <= d < 1e12:
            # :func:`_milli` of each, written out
            at = f"{a:.3f}".rstrip("0")
            dt = f"{d:.3f}".rstrip("0")
            return f'{{"account_us":{at}{"0" if at[-1] == "." else ""},"decide_us":{dt}{"0" if dt[-1] == "." else ""}}}'
    return "{" + ",".join([f"{_str_json(k)}:{_number(round(timing[k], 3))}" for k in sorted(timing)]) + "}"


_SHAPES: dict[tuple[str | None, ...], tuple[str, str, str, str]] = {}


def _shape(
    verdict: Any, reason: Any, principal: Any, session: Any, tool: Any, input_mode: str,
    manifest_digest: str | None, policy_revision: str | None,
) -> tuple[str, str, str, str]:
    """The text of a decision record between its per-call fields: ``(a, b, c, d)`` of :func:`_decision_parts`.

    These depend only on values most calls of one principal, session and tool share
    (verdict and headline reason, the names, the mode, the manifest and policy digests), so
    they are cached when every one is a plain ``str`` (or None for the digests): equal keys
    then always give equal text. Other values are serialised per call.
    """
    key = (verdict, reason, principal, session, tool, input_mode, manifest_digest, policy_revision)
    hit = _SHAPES.get(key)
    if hit is not None:
        return hit
    v = _str_json(verdict)
    shape = (
        f'{_fixed_fields(input_mode, manifest_digest, policy_revision)},"prev":"',
        f'","principal":{_str_json(principal)},"result":{{"reason":{_str_json(reason)},"verdict":{v}}},"seq":',
        f',"session":{_str_json(session)},"timestamp":"',
        f',"tool":{_str_json(tool)},"type":"decision","v":{int.__repr__(FORMAT_VERSION)},"verdict":{v}}}',
    )
    if (type(verdict) is str and type(reason) is str and type(principal) is str and type(session) is str
            and type(tool) is str and type(input_mode) is str
            and (manifest_digest is None or type(manifest_digest) is str)
            and (policy_revision is None or type(policy_revision) is str)):
        if len(_SHAPES) >= 4096:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape


def _decision_parts(
    decision: Decision, tool: str, call_id: str, principal: str, session: str, args_sha256: str, input_mode: str,
    input_json: str | None, manifest_digest: str | None, policy_revision: str | None, timing_json: str,
) -> tuple[str, str, str, str]:
    """A decision record's canonical JSON (without ``hash``) around its chain fields and time.

    The record is ``a + prev + b + str(seq) + c + timestamp + d`` (:func:`_decision_text`):
    everything but ``prev``, ``seq`` and ``timestamp`` is written before the log's lock is
    taken. The text is written in sorted key order: the fields of the call (ids, the
    arguments' digest and input, findings, timing) between the cached parts of
    :func:`_shape`. Every string goes through the standard library's ASCII escaper and
    every nested value through :func:`canonical` (``input_json`` is the input's canonical
    text, :func:`_input_text`), so the text is :func:`canonical` of the record's dict,
    character for character (tests/audit compare the two on generated records).
    """
    findings = decision.findings
    a, b, c, d = _shape(decision.verdict, decision.reason, principal, session, tool, input_mode, manifest_digest,
                        policy_revision)
    if findings:
        codes = canonical(list(decision.codes))
        found = canonical([_jsonable(f.to_dict()) for f in findings])
    else:
        codes = found = "[]"
    cid = _esc(call_id) if type(call_id) is str else canonical(call_id)
    did = decision.decision_id
    did = _esc(did) if type(did) is str else canonical(did)
    inp = "" if input_json is None else ',"input":' + input_json
    tim = ',"timing":' + timing_json if timing_json else ""
    return (
        f'{{"args_sha256":"{args_sha256}","call_id":{cid},"codes":{codes},"decision_id":{did},"findings":{found}{inp}{a}',
        b, c, f'"{tim}{d}',
    )


def _decision_text(parts: tuple[str, str, str, str], seq: int, prev: str, timestamp: str) -> bytes:
    """The record of :func:`_decision_parts` with its chain fields and time, as ASCII bytes."""
    a, b, c, d = parts
    return f"{a}{prev}{b}{int.__repr__(seq)}{c}{timestamp}{d}".encode("ascii")


@lru_cache(maxsize=256)
def _fixed_fields(input_mode: str, manifest_digest: str | None, policy_revision: str | None) -> str:
    """The decision record's fields that are the same for every call of one manifest and policy."""
    return (
        f',"input_mode":{_str_json(input_mode)},"manifest_digest":{"null" if manifest_digest is None else _str_json(manifest_digest)},'
        f'"policy_revision":{"null" if policy_revision is None else _str_json(policy_revision)}'
    )


class _NotPlain(Exception):
    """Raised by :func:`_walk` for a value that is not plain JSON data (the general path takes it)."""


# --------------------------------------------------------------------------------------
# Reading


def _last_line(path: Path) -> bytes | None:
    """The last line of ``path`` (with its newline, if any), or None for an empty file."""
    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb") as f:
        pos, tail = size, b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            tail = f.read(step) + tail
            cut = tail[:-1].rfind(b"\n")
            if cut != -1:
                return tail[cut + 1:]
    return tail


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        data = b""
        n = 0
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
            data = chunk
    return n if data.endswith(b"\n") else n + 1


def _parse_tail(path: Path, key: bytes | None) -> tuple[int, str] | None:
    """(seq, hash) of the last record of ``path``; raise AuditCorrupted when it is damaged."""
    raw = _last_line(path)
    if raw is None:
        return None

    def damaged(what: str) -> AuditCorrupted:
        line = _count_lines(path)
        return AuditCorrupted(f"{path}:{line}: {what} Run `toolguard audit verify {path}`; the file was left as it is.", path=str(path), line=line)

    if not raw.endswith(b"\n"):
        raise damaged("the audit log ends in an incomplete record (no newline: the writer stopped mid-write).")
    try:
        rec = json.loads(raw)
        stored = rec.pop("hash")
        seq = int(rec["seq"])
        ok = _digest(canonical(rec), key) == stored
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged("the last line is not a valid audit record.") from None
    if not ok:
        raise damaged("the last audit record does not match its hash (edited, or written with another key).")
    return seq, str(stored)


def _rotated_siblings(path: Path) -> list[tuple[int, Path]]:
    stem, suffix = (path.stem, path.suffix) if path.suffix else (path.name, "")
    out = []
    if path.parent.is_dir():
        for p in path.parent.iterdir():
            m = _ROTATED.match(p.name)
            if m and m.group("stem") == stem and (m.group("suffix") or "") == suffix:
                out.append((int(m.group("n")), p))
    return sorted(out)


def read_records(paths: Iterable[str | Path]) -> Iterator[tuple[Path, int, dict[str, Any] | None, bytes]]:
    """Yield ``(file, line number, record or None if unparseable, raw line)`` for every line."""
    for file in _expand(paths):
        with open(file, "rb") as f:
            for n, raw in enumerate(f, start=1):
                try:
                    rec = json.loads(raw)
                except ValueError:
                    rec = None
                yield file, n, rec if isinstance(rec, dict) else None, raw


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files in chain order: a directory becomes its ``*.jsonl`` files; rotated files first."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.iterdir() if q.is_file() and (q.suffix == ".jsonl" or _ROTATED.match(q.name))))
        else:
            files.append(p)

    def order(p: Path) -> tuple[str, str, float]:
        m = _ROTATED.match(p.name)
        if m:
            return (str(p.parent), m.group("stem") + (m.group("suffix") or ""), int(m.group("n")))
        return (str(p.parent), p.name, float("inf"))

    return sorted(dict.fromkeys(files), key=order)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an audit file, at ``file:line``."""

    file: str
    line: int
    kind: str  # truncated | json | format | edited | chain | seq | link | anchor
    message: str
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.message}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "kind": self.kind, "message": self.message,
                "expected": self.expected, "found": self.found}


@dataclass
class VerifyReport:
    """What :func:`verify` found: the records checked, the head hash, every problem."""

    files: list[str] = field(default_factory=list)
    records: int = 0
    head: str | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.files, "records": self.records, "head": self.head,
                "problems": [p.to_dict() for p in self.problems], "notes": self.notes}


def _short(h: Any) -> str:
    return str(h)[:16] if isinstance(h, str) else repr(h)


def verify(paths: Iterable[str | Path], *, key: bytes | None = None) -> VerifyReport:
    """Check every record's hash and the chain across ``paths`` (files or directories).

    Reports, by file and line: incomplete last lines, lines that are not JSON records,
    records whose hash does not match their content (edited), and breaks in the chain
    (a ``prev`` that is not the previous record's hash, or a jump in ``seq``: a record
    dropped, inserted or moved). After a break the check continues from the line that
    broke it, so every damaged place is reported, not just the first.
    """
    report = VerifyReport()
    files = _expand(paths)
    report.files = [str(f) for f in files]
    prev_hash: str | None = None
    prev_seq: int | None = None
    recent: dict[str, int] = {}  # hash -> line, for naming which line a 'prev' points at
    first = True
    for file in files:
        if not file.is_file():
            report.problems.append(Problem(str(file), 0, "format", "no such file"))
            continue
        recent.clear()
        name = str(file)
        last_line = 0
        with open(file, "rb") as f:
            for n, raw in enumerate(f, start=1):
                last_line = n
                if not raw.endswith(b"\n"):
                    report.problems.append(Problem(name, n, "truncated", "incomplete record: the line has no newline (the writer stopped mid-write, or the file was cut)"))
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError as exc:
                    report.problems.append(Problem(name, n, "json", f"not a JSON record ({exc.msg} at column {exc.colno})"))
                    prev_hash = None
                    continue
                except ValueError:
                    report.problems.append(Problem(name, n, "json", "not a JSON record (not UTF-8 text)"))
                    prev_hash = None
                    continue
                if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str) or not isinstance(rec.get("seq"), int) or "prev" not in rec:
                    report.problems.append(Problem(name, n, "format", "not an audit record (needs seq, prev and hash)"))
                    prev_hash = None
                    continue
                stored = rec.pop("hash")
                seq = rec["seq"]
                try:
                    computed = _digest(canonical(rec), key)
                except (TypeError, ValueError):
                    computed = "<not canonical JSON>"
                report.records += 1
                if computed != stored:
                    report.problems.append(Problem(name, n, "edited", "the record does not match its hash: it was edited (or the key is wrong)", _short(computed), _short(stored)))
                prev = rec.get("prev")
                if first:
                    first = False
                    if rec.get("type") == "rotate" and rec.get("prev_file"):
                        _check_link(file, rec, report, key)
                    elif prev != GENESIS:
                        report.problems.append(Problem(name, n, "chain", "the first record does not start a chain: records before it are missing", _short(GENESIS), _short(prev)))
                elif prev_hash is not None and prev != prev_hash:
                    where = recent.get(prev) if isinstance(prev, str) else None
                    points = f"it links to line {where}" if where is not None else "it links to no line seen in this file"
                    if prev_seq is not None and seq > prev_seq + 1:
                        hint = f"{seq - prev_seq - 1} record(s) missing before this line (seq {seq} follows seq {prev_seq}): dropped or moved"
                    elif prev_seq is not None and seq <= prev_seq:
                        hint = f"seq {seq} follows seq {prev_seq}: records reordered or a line inserted"
                    else:
                        hint = "the line before was edited and re-hashed, inserted, or replaced"
                    report.problems.append(Problem(name, n, "chain", f"chain broken: 'prev' is not the hash of line {n - 1}; {points}; {hint}", _short(prev_hash), _short(prev)))
                elif prev_seq is not None and seq != prev_seq + 1:
                    report.problems.append(Problem(name, n, "seq", "seq does not follow the line before", str(prev_seq + 1), str(seq)))
                if rec.get("type") == "rotate" and n != 1:
                    report.problems.append(Problem(name, n, "format", "a rotate record can only be the first line of a file"))
                prev_hash, prev_seq = stored, seq
                recent[stored] = n
                if len(recent) > 4096:
                    recent.pop(next(iter(recent)))
        if last_line == 0:
            report.notes.append(f"{name}: empty")
    report.head = prev_hash
    return report


def _check_link(file: Path, rec: Mapping[str, Any], report: VerifyReport, key: bytes | None) -> None:
    prev_file = file.parent / str(rec["prev_file"])
    if rec.get("corrupt"):
        report.notes.append(f"{file}: starts a new chain after the damaged file {rec['prev_file']}")
        return
    if not prev_file.is_file():
        report.notes.append(f"{file}: continues {rec['prev_file']} (not found beside it; the link was not checked)")
        return
    try:
        tail = _parse_tail(prev_file, key)
    except AuditCorrupted as exc:
        report.problems.append(Problem(str(file), 1, "link", f"continues {rec['prev_file']}, whose last record is damaged: {exc}"))
        return
    if tail is None or tail[1] != rec.get("prev"):
        report.problems.append(Problem(str(file), 1, "link", f"the rotate record does not match the last record of {rec['prev_file']}", _short(tail[1] if tail else None), _short(rec.get("prev"))))
    else:
        report.notes.append(f"{file}: continues {rec['prev_file']} (link checked)")


def stats(paths: Iterable[str | Path]) -> dict[str, Any]:
    """Counts of decision records by verdict, finding code, tool and principal (and by record type)."""
    by: dict[str, Counter[str]] = {k: Counter() for k in ("type", "verdict", "code", "tool", "principal", "redaction")}
    bad = 0
    for _, _, rec, _ in read_records(paths):
        if rec is None:
            bad += 1
            continue
        by["type"][str(rec.get("type"))] += 1
        if rec.get("type") == "decision":
            by["verdict"][str(rec.get("verdict"))] += 1
            by["tool"][str(rec.get("tool"))] += 1
            by["principal"][str(rec.get("principal"))] += 1
            for code in rec.get("codes") or ():
                by["code"][str(code)] += 1
        elif rec.get("type") == "output":
            for kind, n in (rec.get("report", {}).get("redactions") or {}).items():
                by["redaction"][str(kind)] += int(n)
    out: dict[str, Any] = {k: dict(v.most_common()) for k, v in by.items()}
    out["unreadable_lines"] = bad
    return out


# --------------------------------------------------------------------------------------
# Writing


class _Waiter:
    """A record whose writer waits for it: the hash, or the error that stopped it."""

    __slots__ = ("done", "error", "hash")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.hash = ""
        self.error: BaseException | None = None


# What the background writer's queue holds: (kind, payload, waiter or None).
_BODY = 0  # payload: a record body (dict), as append() takes it
_DECISION = 1  # payload: a decision with its arguments' texts (see AuditLog.decision)
_FLUSH = 2  # payload: None; completes its waiter when everything before it is written

_THREADED: weakref.WeakSet[AuditLog] = weakref.WeakSet()
_LINGER = 0.002  # seconds the writer lets records gather after a batch
_SLICE = 0.0002  # seconds of writing after which the writer lets other threads run


@atexit.register
def _close_threaded() -> None:
    """At interpreter exit, write out what background writers still hold, fsync and close."""
    for audit in list(_THREADED):
        with contextlib.suppress(Exception):
            audit.close()


class _Chain:
    """:class:`AuditLog`'s chain head, write state and lock without the C core (where its
    ``AuditChain`` keeps them): the fields :meth:`AuditLog._refresh_fd` and the other setters
    keep, and a lock (``with chain``, ``acquire``, ``release``)."""

    __slots__ = ("_lock", "dirty", "fd", "prev", "rotate_at", "seq", "size", "sync_due")

    def __init__(self, shapes: Any, key: Any, mode: int, sha: Any, clock: Any) -> None:
        self._lock = threading.Lock()
        self.seq = self.size = 0
        self.prev = ""
        self.dirty = False
        self.fd = self.rotate_at = -1
        self.sync_due = math.inf

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self, blocking: bool = True) -> bool:
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()


class _Watched:
    """An attribute of :class:`AuditLog` kept in ``log.__dict__[slot]``, whose setter then
    calls ``log.<refresh>()`` to update what the chain reads of it."""

    def __init__(self, slot: str, refresh: str) -> None:
        self.slot = slot
        self.refresh = refresh

    def __get__(self, log: Any, owner: Any = None) -> Any:
        return self if log is None else log.__dict__[self.slot]

    def __set__(self, log: Any, value: Any) -> None:
        log.__dict__[self.slot] = value
        getattr(log, self.refresh)()


class _Field:
    """An attribute of :class:`AuditLog` kept in its chain (``log._chain.<name>``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, log: Any, owner: Any = None) -> Any:
        return self if log is None else getattr(log._chain, self.name)

    def __set__(self, log: Any, value: Any) -> None:
        setattr(log._chain, self.name, value)


class AuditLog:
    """An append-only, hash-chained JSONL audit log. Thread-safe; one writing process per file.

    Arguments:
        path: the active file (created with its directory if missing).
        args: ``masked`` (default: strings replaced by their length, destinations kept),
            ``full`` (the raw arguments: what ``toolguard replay`` needs) or ``hash``
            (only ``args_sha256``).
        outputs: ``altered`` (default: an output record only when an output was redacted,
            truncated, replaced or withheld), ``hash`` (one for every output, with its
            SHA-256) or ``full`` (with the processed output text).
        fsync: ``always`` (fsync every record), ``interval`` (default: every record is
            written to the OS at once, fsync at most every ``fsync_interval`` seconds) or
            ``never`` (the OS decides). With the inline writer a process crash loses
            nothing in any mode.
        rotate_bytes: rotate when the active file reaches this size (None: never).
        key: with a key, hashes are HMAC-SHA-256: a rewrite needs the key, not just time.
        on_corrupt: ``raise`` (default) or ``rotate`` (move a damaged file aside and start a
            new chain whose first record names it).
        writer: ``inline`` (default: each record is serialised, hashed and written to the
            OS by the thread that makes it, before the call goes on) or ``thread`` (decision
            and output records are handed to one background thread that builds, hashes
            and writes them in order; see below).
        max_pending: with ``writer="thread"``, how many records may wait for the writer.
            A caller that finds the queue full waits for room (records are never dropped).

    The background writer (``writer="thread"``) takes the masking, the record's text, its
    hashes and the write off the calling thread (which still captures the call's arguments,
    as orjson's text and a copy read back from it, so that the record shows them as they
    were decided); the chain is the same (one writer, records in the order they were handed
    over) and ``toolguard audit verify`` checks it the same way. What it changes: a
    decision's record may reach the OS after the call ran. A process crash (``kill -9``)
    loses the records still queued (at most ``max_pending``), as an OS crash loses what was
    not yet fsynced in ``interval`` mode; a held call's records are out before the guard
    returns (its ``approval`` event is appended, which waits, behind its decision). A write error stops the log as
    in inline mode: every later record raises :class:`~toolguard.errors.StoreError` (the
    guard then denies every call with ``guard.error``), and the records queued behind the
    failed one are reported lost in the log. :meth:`append` (approval and cut-off events)
    waits until its record is written. :meth:`flush`, :meth:`close` and interpreter exit
    write out everything queued.

    Usage::

        audit = AuditLog("/var/log/toolguard/audit.jsonl", rotate_bytes=100_000_000)
        guard = Guard(manifests, audit=audit)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        args: ArgsMode = "masked",
        outputs: OutputsMode = "altered",
        fsync: FsyncMode = "interval",
        fsync_interval: float = 1.0,
        rotate_bytes: int | None = None,
        key: bytes | None = None,
        on_corrupt: Literal["raise", "rotate"] = "raise",
        clock: Any = time.time,
        writer: WriterMode = "inline",
        max_pending: int = 4096,
        anchors: AnchorStore | None = None,
        anchor_name: str | None = None,
    ) -> None:
        if args not in ("masked", "full", "hash"):
            raise ValueError(f"args must be 'masked', 'full' or 'hash', not {args!r}")
        if outputs not in ("altered", "hash", "full"):
            raise ValueError(f"outputs must be 'altered', 'hash' or 'full', not {outputs!r}")
        if fsync not in ("always", "interval", "never"):
            raise ValueError(f"fsync must be 'always', 'interval' or 'never', not {fsync!r}")
        if rotate_bytes is not None and rotate_bytes < 1024:
            raise ValueError("rotate_bytes must be at least 1024")
        if writer not in ("inline", "thread"):
            raise ValueError(f"writer must be 'inline' or 'thread', not {writer!r}")
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"max_pending must be a positive int, not {max_pending!r}")
        self.path = Path(path)
        self._key = key
        self._clock = clock
        self._line = _LINE
        self._sha = _SHA
        self._mode = _MODES[args]
        self._shapes: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # The chain's head, what the writes need and the log's lock, in the C core's
        # AuditChain when it is built (its record() writes an inline decision record in one
        # call), else in a _Chain; _seq, _prev, _size, _dirty, _fd ... read and write it.
        self._chain: Any = (_CHAIN if _CHAIN is not None else _Chain)(self._shapes, key, self._mode, _SHA, clock)
        self._lock: Any = self._chain
        self._closing = False
        self._failed: BaseException | None = None
        self._fd: Any = None
        self.args: ArgsMode = args
        self.outputs: OutputsMode = outputs
        self.fsync: FsyncMode = fsync
        self.fsync_interval = fsync_interval
        self.rotate_bytes = rotate_bytes
        self.writer: WriterMode = writer
        self.max_pending = max_pending
        # Heads anchored in the database at every fsync (toolguard.anchors), from a thread.
        self._anchors = AnchorWriter(anchors) if anchors is not None else None
        self.anchor_name = anchor_name if anchor_name is not None else log_name(path)
        self._seq = 0
        self._prev = GENESIS
        self._size = 0
        self._last_sync = time.monotonic()
        self._dirty = False
        self._open(on_corrupt)
        # The background writer: a FIFO the callers append to and one thread drains.
        self._pending: deque[tuple[int, Any, _Waiter | None]] = deque()
        self._qlock = threading.Lock()  # held while checking for room and appending
        self._room = threading.Condition(self._qlock)
        self._wake = threading.Event()
        self._idle = False
        self._blocked = 0
        self._thread: threading.Thread | None = None
        if writer == "thread":
            self._thread = threading.Thread(target=self._drain, name=f"toolguard-audit {self.path.name}", daemon=True)
            self._thread.start()
            _THREADED.add(self)

    @classmethod
    def from_settings(
        cls, settings: AuditSettings, *, key: bytes | None = None, writer: WriterMode | None = None, anchors: AnchorStore | None = None
    ) -> AuditLog:
        """Open the log a policy's ``audit`` section describes (its ``path`` must be set).

        ``writer`` overrides the section's ``writer`` (default ``inline``).
        """
        if settings.path is None:
            raise ValueError("the audit settings name no path")
        return cls(
            settings.path, args=settings.args, outputs=settings.outputs, fsync=settings.fsync,
            fsync_interval=settings.fsync_interval, rotate_bytes=settings.rotate_bytes, key=key,
            writer=writer if writer is not None else settings.writer, anchors=anchors,
        )

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r}, seq={self._seq})"

    # -- the state the chain keeps -------------------------------------------------------
    #
    # The head (_seq, _prev, _size, _dirty) lives in the chain; so does what the core's
    # record() reads of the rest, kept up to date by these setters: where records go (fd, -1
    # while the log is closed, closing or failed), when an fsync is due and when the file
    # rotates.

    _seq: Any = _Field("seq")
    _prev: Any = _Field("prev")
    _size: Any = _Field("size")
    _dirty: Any = _Field("dirty")

    _fd: Any = _Watched("_file", "_refresh_fd")
    _failed: Any = _Watched("_failure", "_refresh_fd")
    _closing: Any = _Watched("_shut", "_refresh_fd")
    fsync: Any = _Watched("_fsync", "_refresh_sync")
    fsync_interval: Any = _Watched("_fsync_interval", "_refresh_sync")
    _last_sync: Any = _Watched("_synced", "_refresh_sync")
    rotate_bytes: Any = _Watched("_rotate_bytes", "_refresh_rotate")

    def _refresh_fd(self) -> None:
        d = self.__dict__
        f = d.get("_file")
        self._chain.fd = f.fileno() if f is not None and d.get("_failure") is None and not d.get("_shut") else -1

    def _refresh_sync(self) -> None:
        d = self.__dict__
        mode = d.get("_fsync")
        if mode == "always":
            self._chain.sync_due = -math.inf
        elif mode == "interval" and "_synced" in d and "_fsync_interval" in d:
            self._chain.sync_due = d["_synced"] + d["_fsync_interval"]
        else:
            self._chain.sync_due = math.inf

    def _refresh_rotate(self) -> None:
        size = self.__dict__.get("_rotate_bytes")
        self._chain.rotate_at = -1 if size is None else size

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last record written (``(0, GENESIS)`` for an empty chain).

        With ``writer="thread"`` records still queued are not counted: :meth:`flush` first.
        """
        return self._seq, self._prev

    # -- opening and rotation ----------------------------------------------------------

    def _open(self, on_corrupt: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header: dict[str, Any] | None = None
        tail = None
        if self.path.exists():
            try:
                tail = _parse_tail(self.path, self._key)
            except AuditCorrupted:
                if on_corrupt != "rotate":
                    raise
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                os.replace(self.path, aside)
                header = {"type": "rotate", "prev_file": aside.name, "corrupt": True}
        if tail is not None:
            self._seq, self._prev = tail
        elif header is None:
            siblings = _rotated_siblings(self.path)
            if siblings:
                last = siblings[-1][1]
                t = _parse_tail(last, self._key)
                if t is not None:
                    self._seq, self._prev = t
                header = {"type": "rotate", "prev_file": last.name}
        self._fd = open(self.path, "ab", buffering=0)  # noqa: SIM115 - held open for appends
        self._size = self.path.stat().st_size
        if header is not None:
            self._write(header)

    def _rotate(self) -> None:
        self._sync(force=True)
        f, self._fd = self._fd, None  # the chain takes no record until the new file is open
        f.close()
        n = (_rotated_siblings(self.path)[-1][0] + 1) if _rotated_siblings(self.path) else 1
        stem, suffix = (self.path.stem, self.path.suffix) if self.path.suffix else (self.path.name, "")
        target = self.path.with_name(f"{stem}.{n:06d}{suffix}")
        os.replace(self.path, target)
        self._fd = open(self.path, "ab", buffering=0)  # noqa: SIM115
        self._size = 0
        self._write({"type": "rotate", "prev_file": target.name})

    # -- appending ---------------------------------------------------------------------

    def _write(self, body: Mapping[str, Any], buf: list[bytes] | None = None) -> str:
        return self._emit(self._text(body), buf)

    def _text(self, body: Mapping[str, Any]) -> bytes:
        """The canonical JSON of the next record (``v``, ``seq``, ``prev``, ``timestamp`` added)."""
        rec = {"v": FORMAT_VERSION, **body, "seq": self._seq + 1, "prev": self._prev}
        if "timestamp" not in rec:
            rec["timestamp"] = _timestamp(self._clock())
        try:
            return canonical(rec).encode("ascii")
        except (TypeError, ValueError) as exc:  # nothing written, nothing changed
            raise ValueError(f"an audit record must be JSON: {exc}") from None

    def _emit_inline(self, text: bytes) -> str:
        """:meth:`_emit` for the inline writer (under the lock): rotate when due; a failed
        write marks the log failed and raises StoreError."""
        try:
            h = self._emit(text)
            if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
                self._rotate()
        except OSError as exc:
            raise self._write_failed(exc) from exc
        return h

    def _emit(self, text: bytes, buf: list[bytes] | None = None) -> str:
        """Hash ``text`` (a record's canonical JSON with ``seq`` and ``prev``) and write it.

        With ``buf`` the line is collected there (the background writer writes a batch at
        once); the chain's head moves on either way.
        """
        key = self._key
        h = hmac.digest(key, text, "sha256").hex() if key is not None else hashlib.sha256(text).hexdigest()
        line = b"%b,\"hash\":\"%b\"}\n" % (text[:-1], h.encode("ascii"))
        if buf is None:
            n = self._fd.write(line)
            if n != len(line):  # a raw file may write less than asked
                self._write_bytes(line[n or 0:])
        else:
            buf.append(line)
        self._seq += 1
        self._prev = h
        self._size += len(line)
        self._dirty = True
        if buf is None:
            self._sync()
        return h

    def _write_bytes(self, data: bytes) -> None:
        written = 0
        while written < len(data):  # a raw file may write less than asked
            written += self._fd.write(data[written:])

    def _sync(self, force: bool = False) -> None:
        if not self._dirty or (self.fsync == "never" and not force):
            return
        now = time.monotonic()
        if force or self.fsync == "always" or now - self._last_sync >= self.fsync_interval:
            os.fsync(self._fd.fileno())
            self._last_sync = now
            self._dirty = False
            if self._anchors is not None:
                # Only what is on disk is anchored: a power loss cannot make it a false alarm.
                self._anchors.submit(self.anchor_name, self._seq, self._prev)
                if force:  # closing or rotating: written now, not left to the thread
                    self._anchors.flush()

    def _check_open(self) -> None:
        if self._failed is not None:
            raise StoreError(f"{self.path}: the audit log failed earlier ({self._failed}); reopen it")
        if self._fd is None or self._closing:
            raise StoreError(f"{self.path}: the audit log is closed")

    def _commit(self, body: Mapping[str, Any]) -> str:
        """Write one record under the lock (inline writer)."""
        with self._lock:
            self._check_open()
            return self._emit_inline(self._text(body))

    def append(self, body: Mapping[str, Any]) -> str:
        """Append one record (``v``, ``seq``, ``prev``, ``timestamp`` and ``hash`` are added); return its hash.

        Raises :class:`~toolguard.errors.StoreError` when the record cannot be written; after
        a failed write every later append fails too (the chain's tail is unknown), until the
        log is reopened. With ``writer="thread"`` the record goes through the writer's queue
        (after every record handed over before it) and this waits until it is written.
        """
        if "hash" in body:
            raise ValueError("an audit record cannot carry its own 'hash' (the log computes it)")
        if self._thread is None:
            return self._commit(dict(body))
        body = dict(body)
        if "timestamp" not in body:
            body["timestamp"] = _timestamp(self._clock())
        waiter = _Waiter()
        self._enqueue(_BODY, body, waiter)
        return self._wait(waiter)

    def _wait(self, waiter: _Waiter) -> str:
        while not waiter.done.wait(0.5):
            if self._thread is None or not self._thread.is_alive():
                raise StoreError(f"{self.path}: the audit writer stopped")
        if waiter.error is not None:
            exc = waiter.error
            if isinstance(exc, StoreError):
                raise exc
            if isinstance(exc, OSError):
                raise self._write_error(exc) from exc
            raise exc
        return waiter.hash

    def flush(self) -> None:
        """Write out every queued record (background writer), then fsync now (whatever the policy).

        Raises :class:`~toolguard.errors.StoreError` when the background writer failed.
        """
        if self._thread is not None and self._thread.is_alive() and not self._closing:
            waiter = _Waiter()
            self._enqueue(_FLUSH, None, waiter, force=True)
            self._wait(waiter)
        with self._lock:
            if self._fd is not None:
                self._sync(force=True)

    def close(self) -> None:
        """Write out every queued record, fsync and close the file."""
        thread = self._thread
        if thread is not None:
            with self._qlock:
                self._closing = True
                self._room.notify_all()
            self._wake.set()
            if thread is not threading.current_thread():
                thread.join()
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    self._sync(force=True)
                f, self._fd = self._fd, None
                f.close()
        if self._anchors is not None:
            self._anchors.stop()  # the last head written, and the anchor thread ended

    # -- the background writer ---------------------------------------------------------

    def _enqueue(self, kind: int, payload: Any, waiter: _Waiter | None, *, force: bool = False) -> None:
        """Hand a record to the writer; wait for room while ``max_pending`` records wait."""
        q = self._pending
        with self._qlock:
            if self._failed is not None or self._fd is None or self._closing:
                self._check_open()  # raises
            if len(q) >= self.max_pending and not force:
                self._blocked += 1
                try:
                    while len(q) >= self.max_pending:
                        self._wake.set()
                        self._room.wait(0.1)
                        self._check_open()
                finally:
                    self._blocked -= 1
            q.append((kind, payload, waiter))
        # Wake an idle writer once: until it runs (it needs the GIL the callers hold) the
        # event stays set, and setting it again would only cost each caller a lock.
        if waiter is not None or (self._idle and not self._wake.is_set()):
            self._wake.set()

    def _drain(self) -> None:
        """The writer thread: take records in order, write them in batches, fsync on time."""
        q = self._pending
        while True:
            if not q:
                if self._closing:
                    break
                self._idle = True
                if not q and not self._closing:  # a caller that appended meanwhile saw _idle (or we see q)
                    self._wake.wait(max(0.01, min(self.fsync_interval, 1.0)) if self.fsync == "interval" else 1.0)
                self._wake.clear()
                self._idle = False
                if not q:
                    with self._lock:
                        if self._fd is not None and self._failed is None:
                            try:
                                self._sync()  # due fsyncs happen even when no record follows
                            except OSError as exc:
                                self._fail(exc)
                continue
            batch: list[tuple[int, Any, _Waiter | None]] = []
            while q and len(batch) < 256:
                batch.append(q.popleft())
            with self._lock:
                try:
                    self._write_batch(batch)
                except Exception as exc:  # a bug: stop the log rather than lose records silently
                    log.exception("toolguard: the audit writer failed")
                    self._fail(exc)
                    for _, _, waiter in batch:
                        if waiter is not None and not waiter.done.is_set():
                            waiter.error = exc
                            waiter.done.set()
            if self._blocked:
                with self._qlock:
                    self._room.notify_all()
            if len(q) < 64 and not self._closing:
                # Let records gather for a moment and write them together: fewer wake-ups and
                # thread switches per record. A caller that waits (a full queue, append,
                # flush, close) sets the event and ends the pause at once.
                self._wake.wait(_LINGER)
                self._wake.clear()

    def _fail(self, exc: BaseException) -> None:
        if self._failed is None:
            self._failed = exc
            log.error("toolguard: the audit log %s cannot be written (%s); every later record fails", self.path, exc)

    def _write_batch(self, batch: list[tuple[int, Any, _Waiter | None]]) -> None:
        buf: list[bytes] = []
        done: list[tuple[_Waiter, str]] = []
        lost = 0
        started = time.perf_counter()
        for kind, payload, waiter in batch:
            if kind == _FLUSH:
                if buf and self._failed is None:
                    try:
                        self._write_bytes(b"".join(buf))
                    except OSError as exc:
                        self._fail(exc)
                    buf = []
                if waiter is not None:
                    waiter.error = self._failed
                    waiter.done.set()
                continue
            if self._failed is not None or self._fd is None:
                lost += waiter is None
                if waiter is not None:
                    waiter.error = self._failed or StoreError(f"{self.path}: the audit log is closed")
                    waiter.done.set()
                continue
            try:
                if kind == _DECISION:
                    seq, prev = self._seq + 1, self._prev
                    h = self._emit(self._decision_payload_text(payload, seq, prev), buf)
                else:
                    h = self._write(payload, buf)
                if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
                    self._write_bytes(b"".join(buf))
                    buf = []
                    self._rotate()
            except Exception as exc:
                # An OSError, or (a bug) a record that is not JSON: the chain's tail is no
                # longer known, so the log stops and every later record fails (fail closed).
                if not isinstance(exc, OSError):
                    log.exception("toolguard: the audit writer could not write a record")
                self._fail(exc)
                buf = []
                lost += waiter is None
                if waiter is not None:
                    waiter.error = exc
                    waiter.done.set()
                continue
            if waiter is not None:
                done.append((waiter, h))
            now = time.perf_counter()
            if now - started > _SLICE:
                # Let a calling thread that waits for the GIL run now rather than at the end
                # of the interpreter's switch interval (5 ms).
                time.sleep(0)
                started = time.perf_counter()
        if buf and self._failed is None:
            try:
                self._write_bytes(b"".join(buf))
                self._sync()
            except OSError as exc:
                self._fail(exc)
        for waiter, h in done:
            waiter.hash = h
            waiter.error = self._failed
            waiter.done.set()
        if lost:
            log.error("toolguard: %d audit record(s) of %s were lost after a write error", lost, self.path)

    # -- record builders ---------------------------------------------------------------

    def _decision_body(
        self, decision: Decision, call: Call, principal: str, session: str, manifest: Manifest | None,
        policy_revision: str | None, timing: Mapping[str, float] | None, extra: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "decision",
            "decision_id": decision.decision_id,
            "principal": principal,
            "session": session,
            "tool": decision.tool or (call.tool if isinstance(call.tool, str) else repr(call.tool)),
            "call_id": call.id if isinstance(call.id, str) else repr(call.id),
            "verdict": decision.verdict,
            "result": {"verdict": decision.verdict, "reason": decision.reason},
            "codes": list(decision.codes),
            "findings": [_jsonable(f.to_dict()) for f in decision.findings],
            "args_sha256": args_digest(call.args),
            "input_mode": self.args,
            "manifest_digest": manifest_digest(manifest),
            "policy_revision": policy_revision,
        }
        if self.args == "full":
            body["input"] = _jsonable(call.args)
        elif self.args == "masked":
            body["input"] = masked_input(call.args, manifest)
        if timing:
            body["timing"] = {k: round(v, 3) for k, v in timing.items()}
        if extra:
            body.update(_jsonable(dict(extra)))
        return body

    def _decision_payload_text(self, payload: tuple[Any, ...], seq: int, prev: str) -> bytes:
        """The text of a queued decision (background writer), with its chain fields."""
        decision, tool, call_id, args_raw, input_value, principal, session, manifest, revision, timing, stamp, copy = payload
        if copy is not _NO_COPY:  # a snapshot: args_raw is orjson's text of ``copy``
            args_raw, input_value = _args_json(copy, manifest, self.args, args_raw)
        if type(timing) is tuple:  # (account_us, decide_us) from :meth:`_decision_timed`
            timing = {"account_us": timing[0], "decide_us": timing[1]}
        parts = _decision_parts(decision, tool, call_id, principal, session, hashlib.sha256(args_raw).hexdigest(),
                                self.args, _input_text(input_value, self.args), manifest_digest(manifest), revision,
                                _timing_json(timing) if timing else "")
        return _decision_text(parts, seq, prev, _timestamp(stamp))

    def decision(
        self,
        decision: Decision,
        call: Call,
        *,
        principal: str,
        session: str,
        manifest: Manifest | None,
        policy_revision: str | None = None,
        timing: Mapping[str, float] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Append the record of one decision (OPA decision-log shape); return its hash.

        With ``writer="thread"`` the record is queued and ``""`` is returned (the hash is
        known once it is written; :meth:`flush` waits for it).
        """
        tool = decision.tool or (call.tool if isinstance(call.tool, str) else repr(call.tool))
        call_id = call.id if isinstance(call.id, str) else repr(call.id)
        if extra is not None:
            body = self._decision_body(decision, call, principal, session, manifest, policy_revision, timing, extra)
            if self._thread is None:
                return self.append(body)
            body["timestamp"] = _timestamp(self._clock())
            self._enqueue(_BODY, body, None)
            return ""
        try:
            if self._thread is not None:
                # The arguments are captured now, on this thread: the tool may change its
                # argument dict once the call goes on (and the writer is then still to run).
                # Plain data is captured as orjson's text and a copy read back from it
                # (:func:`_snapshot`), which the writer masks, checks and hashes; anything
                # else is serialised here as the inline writer does. The rest is the
                # writer's: the digests, the timing's text, the record.
                snap = _snapshot(call.args)
                copy: Any = _NO_COPY
                if snap is None:
                    args_raw, input_value = _args_json(call.args, manifest, self.args)
                elif snap[1] is _NO_COPY:  # large: walked here, orjson's text reused
                    args_raw, input_value = _args_json(call.args, manifest, self.args, snap[0])
                else:
                    args_raw, copy = snap
                    input_value = None
                payload = (decision, tool, call_id, args_raw, input_value, principal, session, manifest,
                           policy_revision, dict(timing) if timing else None, self._clock(), copy)
                self._enqueue(_DECISION, payload, None)
                return ""
            # The inline writer serialises the arguments before the call goes on.
            if self._line is not None:
                h = self._native(decision, tool, call_id, call.args, principal, session, manifest, policy_revision,
                                 _timing_json(timing) if timing else "")
                if h is not None:
                    return h
            args_raw, input_value = _args_json(call.args, manifest, self.args)
            parts = _decision_parts(decision, tool, call_id, principal, session, hashlib.sha256(args_raw).hexdigest(),
                                    self.args, _input_text(input_value, self.args), manifest_digest(manifest),
                                    policy_revision, _timing_json(timing) if timing else "")
            # Only the chain's own fields and the time are filled in under the lock.
            with self._lock:
                self._check_open()
                return self._emit_inline(_decision_text(parts, self._seq + 1, self._prev, _timestamp(self._clock())))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"an audit record must be JSON: {exc}") from None

    def _native(
        self, decision: Decision, tool: str, call_id: str, args: Any, principal: str, session: str,
        manifest: Manifest | None, policy_revision: str | None, timing: tuple[float, float] | str,
    ) -> str | None:
        """The inline record in one call of the C core (``audit_line``); None: nothing was
        written, the Python path must run (arguments that are not plain data, a field of
        another type, a time or timing the core does not write).

        The record is the Python path's, byte for byte: the fields of the call between the
        cached parts of :func:`_shape`, the walk of :func:`_walk` and the texts of
        :func:`canonical`, :func:`_timing_json` and :func:`_timestamp` (tests/audit compare
        both on generated records). ``timing``: ``(account_us, decide_us)`` or the timing's text.
        """
        findings = decision.findings
        if findings:
            codes = canonical(list(decision.codes))
            found = canonical([_jsonable(f.to_dict()) for f in findings])
        else:
            codes = found = "[]"
        verdict, reason = decision.verdict, decision.reason
        if self._line is _LINE and _RECORD:
            # the steps below in one call of the core (AuditChain.record); Ellipsis: the shape
            # is not cached yet
            record = self._chain.record
            try:
                got: Any = record(self, verdict, reason, principal, session, tool, manifest, policy_revision, call_id,
                                  decision.decision_id, codes, found, args, timing)
                if got is Ellipsis:
                    self._shape_of((verdict, reason, principal, session, tool, id(manifest), policy_revision), manifest)
                    got = record(self, verdict, reason, principal, session, tool, manifest, policy_revision, call_id,
                                 decision.decision_id, codes, found, args, timing)
            except OSError as exc:  # the write failed; the core marked the log failed under its lock
                raise self._write_failed(exc) from exc
            if got is None or type(got) is str:  # Ellipsis: a shape the log does not cache (names not plain str): below
                return got
        # :func:`_shape`'s parts and the manifest's compiled tree, cached together per log
        key = (verdict, reason, principal, session, tool, id(manifest), policy_revision)
        hit = self._shapes.get(key)
        if hit is None or hit[0] is not manifest:
            hit = self._shape_of(key, manifest)
        _, a, b, c, d, tree = hit
        with self._lock:
            if self._failed is not None or self._fd is None or self._closing:
                self._check_open()  # raises
            stamp = self._clock()
            if type(stamp) is not float or not 0.0 <= stamp < _STAMP_MAX:
                stamp = _timestamp(stamp)
            try:
                out = self._line(self._fd.fileno(), self._key, args, tree if type(args) is dict else None, self._mode,
                                 call_id, decision.decision_id, codes, found, a, b, c, d, timing, self._seq + 1,
                                 self._prev, stamp, self._sha)
                if out is None:
                    return None
                # :meth:`_emit` and :meth:`_emit_inline` after the write
                h: str
                n: int
                h, n = out
                self._seq += 1
                self._prev = h
                self._size += n
                self._dirty = True
            except OSError as exc:
                raise self._write_failed(exc) from exc
            self._due()  # an fsync or a rotation when due, still under the lock
            return h

    def _write_error(self, exc: OSError) -> StoreError:
        """The error a write, fsync or rotation error of this log raises as."""
        return StoreError(f"{self.path}: cannot write the audit log: {exc.strerror or exc}")

    def _write_failed(self, exc: OSError) -> StoreError:
        """Mark the log failed by ``exc`` (a write, fsync or rotation error); the error to raise."""
        self._failed = exc
        return self._write_error(exc)

    def _due(self) -> None:
        """The end of :meth:`_native` (under the lock): fsync and rotate when due.
        ``AuditChain.record`` calls it when its own reading of the same tests says one may be
        due (the chain's ``sync_due`` and ``rotate_at``)."""
        try:
            fsync = self.fsync
            if fsync == "always" or (fsync == "interval" and time.monotonic() - self._last_sync >= self.fsync_interval):
                self._sync()
            if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
                self._rotate()
        except OSError as exc:
            raise self._write_failed(exc) from exc

    def _shape_of(self, key: tuple[Any, ...], manifest: Manifest | None) -> tuple[Any, ...]:
        """``(manifest, a, b, c, d, tree)`` for :meth:`_native`: :func:`_shape`'s parts and the
        compiled tree of the manifest's kept pointers (None: keep nothing, or not ``masked``).

        Kept in the log's cache when :func:`_shape` would cache its parts (every name a plain
        ``str``): equal keys then always give equal text.
        """
        verdict, reason, principal, session, tool, _, revision = key
        digest = manifest_digest(manifest)
        parts = _shape(verdict, reason, principal, session, tool, self.args, digest, revision)
        tree = _ctree(manifest) if self.args == "masked" and manifest is not None else None
        hit = (manifest, *parts, tree)
        if (type(verdict) is str and type(reason) is str and type(principal) is str and type(session) is str
                and type(tool) is str and (revision is None or type(revision) is str)):
            if len(self._shapes) >= 4096:
                self._shapes.clear()
            self._shapes[key] = hit
        return hit

    def _decision_timed(
        self, decision: Decision, call: Call, principal: str, session: str, manifest: Manifest | None,
        policy_revision: str | None, decide_us: float, account_us: float,
    ) -> str:
        """:meth:`decision` with ``timing={"decide_us": decide_us, "account_us": account_us}``.

        The record is the same, byte for byte; what differs is the calling thread's work:
        no timing dict (the writer builds its text from the two numbers) and, with the
        background writer, the snapshot and the hand-over written out (:func:`_snapshot`
        and :meth:`_enqueue` for a queue with room). The accounting's fast path calls it.
        """
        if type(decide_us) is not float or type(account_us) is not float:
            return self.decision(decision, call, principal=principal, session=session, manifest=manifest,
                                 policy_revision=policy_revision,
                                 timing={"decide_us": decide_us, "account_us": account_us})
        args = call.args
        if self._thread is None:
            # :meth:`decision`'s inline branch: serialised here, written before the call goes on
            try:
                tool = decision.tool or (call.tool if isinstance(call.tool, str) else repr(call.tool))
                call_id = call.id if isinstance(call.id, str) else repr(call.id)
                if self._line is not None:
                    h = self._native(decision, tool, call_id, args, principal, session, manifest, policy_revision,
                                     (account_us, decide_us))
                    if h is not None:
                        return h
                args_raw, input_value = _args_json(args, manifest, self.args)
                parts = _decision_parts(
                    decision, tool, call_id, principal, session,
                    hashlib.sha256(args_raw).hexdigest(), self.args, _input_text(input_value, self.args),
                    manifest_digest(manifest), policy_revision,
                    _timing_json({"account_us": account_us, "decide_us": decide_us}),
                )
                with self._lock:
                    self._check_open()
                    return self._emit_inline(_decision_text(parts, self._seq + 1, self._prev, _timestamp(self._clock())))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"an audit record must be JSON: {exc}") from None
        # :func:`_snapshot`, written out (see there): orjson's text and a copy read back
        # from it, kept when the copy equals the arguments
        copy: Any = _NO_COPY
        text: bytes | None
        try:
            text = orjson.dumps(args, option=_SNAPSHOT)
            if len(text) <= _SNAPSHOT_MAX:
                copy = orjson.loads(text)
                if type(copy) is not type(args) or copy != args:
                    text = None
        except Exception:  # JSONEncodeError, JSONDecodeError, a comparison that raises
            text = None
        try:
            if text is None:
                copy = _NO_COPY
                text, input_value = _args_json(args, manifest, self.args)
            elif copy is _NO_COPY:  # large: walked here, orjson's text reused
                text, input_value = _args_json(args, manifest, self.args, text)
            else:
                input_value = None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"an audit record must be JSON: {exc}") from None
        tool = decision.tool or (call.tool if isinstance(call.tool, str) else repr(call.tool))
        call_id = call.id if isinstance(call.id, str) else repr(call.id)
        item = (_DECISION, (decision, tool, call_id, text, input_value, principal, session, manifest,
                            policy_revision, (account_us, decide_us), self._clock(), copy), None)
        q = self._pending
        with self._qlock:
            # :meth:`_enqueue` for a log that is open and a queue with room
            room = self._failed is None and self._fd is not None and not self._closing and len(q) < self.max_pending
            if room:
                q.append(item)
        if not room:
            self._enqueue(*item)
        elif self._idle and not self._wake.is_set():
            self._wake.set()
        return ""

    def output(self, *, decision_id: str, principal: str, session: str, tool: str, call_id: str,
               report: Mapping[str, Any], output: Any = None, extra: Mapping[str, Any] | None = None) -> str:
        """Append the record of one tool output (what was redacted, cut, replaced or withheld).

        With ``writer="thread"`` the record (built on this thread) is queued and ``""`` returned.
        """
        body: dict[str, Any] = {
            "type": "output", "decision_id": decision_id, "principal": principal, "session": session,
            "tool": tool, "call_id": call_id, "report": _jsonable(dict(report)),
        }
        if output is not None and self.outputs in ("hash", "full"):
            from .outputs import as_text

            text = as_text(output)
            body["output_sha256"] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            if self.outputs == "full":
                body["output"] = text
        if extra:
            body.update(_jsonable(dict(extra)))
        if self._thread is not None:
            if "hash" in body:
                raise ValueError("an audit record cannot carry its own 'hash' (the log computes it)")
            body["timestamp"] = _timestamp(self._clock())
            self._enqueue(_BODY, body, None)
            return ""
        return self.append(body)

    def approval(self, event: str, *, hold_id: str, decision_id: str = "", principal: str = "", tool: str = "",
                 actor: str = "", reason: str | None = None, detail: Mapping[str, Any] | None = None) -> str:
        """Append one approval event (``requested``, ``approved``, ``denied``, ``expired``, ``executed``...)."""
        body: dict[str, Any] = {
            "type": "approval", "event": event, "hold_id": hold_id, "decision_id": decision_id,
            "principal": principal, "tool": tool, "actor": actor,
        }
        if reason is not None:
            body["reason"] = reason
        if detail:
            body["detail"] = _jsonable(dict(detail))
        return self.append(body)

    def cutoff(self, event: Literal["cut", "lift"], *, principal: str, reason: str, by: str,
               evidence: Mapping[str, Any] | None = None) -> str:
        """Append a cut-off event (a principal cut off by a rule or an operator, or lifted)."""
        return self.append({"type": "cutoff", "event": event, "principal": principal, "reason": reason,
                            "by": by, "evidence": _jsonable(dict(evidence or {}))})


# --------------------------------------------------------------------------------------
# CLI: toolguard audit verify | tail | stats


@click.group("audit")
def audit_cli() -> None:
    """Verify, read and summarise the hash-chained audit log."""


def _key(key_file: str | None) -> bytes | None:
    if key_file is None:
        return None
    try:
        return Path(key_file).read_bytes().strip()
    except OSError as exc:
        raise click.BadParameter(f"cannot read the key file: {exc.strerror or exc}", param_hint="--key-file") from None


def _exists(paths: Sequence[str]) -> None:
    for p in paths:
        if not Path(p).exists():
            raise click.BadParameter(f"{p}: no such file or directory", param_hint="PATH")


@audit_cli.command("verify")
@click.argument("paths", nargs=-1, required=True)
@click.option("--key-file", default=None, help="The HMAC key the log was written with.")
@click.option("--store", "store", default=None, metavar="URL",
              help="The state database the log anchored its head in (sqlite:///..., postgresql://...): "
                   "also check that no anchored record was cut or rewritten.")
@click.option("--anchor", "anchor_names", multiple=True, metavar="NAME",
              help="An anchor name to check besides the files' own paths (a log written elsewhere).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def _verify_cmd(paths: tuple[str, ...], key_file: str | None, store: str | None, anchor_names: tuple[str, ...], as_json: bool) -> None:
    """Check every hash and the chain; name each damaged line. Exit 1 on any problem.

    PATH is a file, several files, or a directory (its files are taken in chain order).
    With --store, records cut from the end of the log are found too: the log anchors its
    head in the database at every fsync.
    """
    _exists(paths)
    report = verify(paths, key=_key(key_file))
    if store is not None:
        from .anchors import check_anchors
        from .errors import StoreError as _StoreError
        from .stores.sql import open_database

        try:
            db = open_database(store)
        except (_StoreError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint="--store") from None
        try:
            checked, found = check_anchors(paths, AnchorStore(db), names=anchor_names)
        finally:
            db.close()
        for name, message in found:
            report.problems.append(Problem(name, 0, "anchor", message))
        if not checked:
            report.notes.append("anchors: the database holds no anchor for these files")
        elif not found:
            report.notes.append(f"anchors: {checked} anchored head(s), each found in the files")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for note in report.notes:
            click.echo(note)
        for p in report.problems[:200]:
            click.echo(str(p), err=True)
        if len(report.problems) > 200:
            click.echo(f"... and {len(report.problems) - 200} more problems", err=True)
        if report.ok:
            click.echo(f"ok: {report.records} records in {len(report.files)} file(s), chain intact; head {report.head}")
        else:
            click.echo(f"FAILED: {len(report.problems)} problem(s) in {report.records} records", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _line(rec: Mapping[str, Any]) -> str:
    t = rec.get("type")
    ts = rec.get("timestamp", "")
    if t == "decision":
        codes = ",".join(rec.get("codes") or []) or "-"
        return f"{ts}  {rec.get('verdict', '?'):5}  {rec.get('tool')}  {rec.get('principal')}  {codes}  {rec.get('decision_id')}"
    if t == "output":
        r = rec.get("report") or {}
        what = ", ".join(f"{k}={v}" for k, v in (r.get("redactions") or {}).items()) or "-"
        return f"{ts}  output {rec.get('tool')}  {rec.get('principal')}  redactions: {what}  truncated={r.get('truncated')}  {rec.get('decision_id')}"
    if t == "approval":
        return f"{ts}  approval {rec.get('event')}  {rec.get('tool')}  {rec.get('principal')}  by {rec.get('actor') or '-'}  {rec.get('hold_id')}"
    if t == "cutoff":
        return f"{ts}  cutoff {rec.get('event')}  {rec.get('principal')}  by {rec.get('by')}: {rec.get('reason')}"
    if t == "rotate":
        return f"{ts}  rotate (continues {rec.get('prev_file')})"
    return f"{ts}  {t}"


@audit_cli.command("tail")
@click.argument("paths", nargs=-1, required=True)
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(min=1), help="How many records.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON lines.")
def _tail_cmd(paths: tuple[str, ...], count: int, as_json: bool) -> None:
    """Print the last records, one line each (decisions: time, verdict, tool, principal, codes, id)."""
    _exists(paths)
    from collections import deque

    last: deque[tuple[Path, int, dict[str, Any] | None, bytes]] = deque(maxlen=count)
    for item in read_records(paths):
        last.append(item)
    for file, n, rec, raw in last:
        if rec is None:
            click.echo(f"{file}:{n}: <unreadable line; run `toolguard audit verify`>", err=True)
        elif as_json:
            click.echo(raw.decode("ascii", "replace").rstrip("\n"))
        else:
            click.echo(_line(rec))


@audit_cli.command("stats")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def _stats_cmd(paths: tuple[str, ...], as_json: bool) -> None:
    """Count decisions by verdict, finding code, tool and principal."""
    _exists(paths)
    s = stats(paths)
    if as_json:
        click.echo(json.dumps(s, indent=2, sort_keys=True))
        return
    for section in ("type", "verdict", "code", "tool", "principal", "redaction"):
        rows = s[section]
        if not rows:
            continue
        click.echo(f"{section}:")
        width = max(len(k) for k in rows)
        for k, v in rows.items():
            click.echo(f"  {k:<{width}}  {v}")
    if s["unreadable_lines"]:
        click.echo(f"unreadable lines: {s['unreadable_lines']} (run `toolguard audit verify`)", err=True)
