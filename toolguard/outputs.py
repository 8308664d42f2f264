"""Output constraints: what a tool returns is checked before it reaches the model.

:func:`process_output` applies a manifest's ``output`` section to a tool's result, in order:

1. **Schema** (``output.schema``, JSON Schema 2020-12). Output that does not conform is
   *replaced* by a short error the model can read; the error names the failed rules and
   paths, never the offending values (they may be an injection payload or private data).
2. **Redaction** of secrets: API keys and tokens of common providers, private keys, JWTs,
   credit card numbers (Luhn-checked, known issuer prefixes) and the manifest's own
   ``output.redact`` patterns. Each match becomes ``[REDACTED:<kind>]``; the report counts
   redactions per kind and never holds the secret.
3. **Size cap** (``output.max_bytes``): the output is cut at a UTF-8 boundary and ends with
   a marker saying how much was cut. The marker counts against the cap.

Result shapes handled: ``str``; lists (LangChain content blocks ``{"type": "text", "text":
...}``, plain strings, JSON values); dicts and other JSON values (a string that holds JSON is
validated as JSON). Redaction walks every string (and every integer, for card numbers) in
nested lists and dicts; dict keys are left alone. Objects with a ``content`` attribute
(LangChain messages) have their content processed and are copied with ``model_copy``.
Other objects are scanned through ``str()``: if a secret shows, the object is replaced by
its redacted text. Output over the cap that is not text (a dict, a list of non-text values)
becomes its truncated JSON text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jsonschema

from . import _pointer
from .manifest import OutputSpec
from .session import _as_text
from .taint import _C

#: The C core's ``plain_output`` (:func:`untouched`'s scan in one pass), or None without it
#: (or with ``TOOLGUARD_NO_ACCEL=1``); the tests swap it to compare both.
_C_PLAIN_OUTPUT: Any = _C.plain_output if _C is not None else None

__all__ = ["BUILTIN_PATTERNS", "OutputReport", "Redactor", "output_items", "process_output", "untouched"]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(
    r"^(?:4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|22)|35(?:2[89]|[3-8])|62)"
)


def _is_card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits.isdigit() and bool(_CARD_PREFIX.match(digits)) and _luhn(digits)


_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_WORD = _ALNUM | frozenset("_-")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class _Secret:
    """One built-in secret pattern.

    ``triggers`` are substrings one of which must occur (in the lower-cased text when
    ``lower``) before the regex runs at all: most outputs hold no secret, and a substring
    test costs far less than a regex scan. Every regex starts with a literal or a small
    character set so that the scan itself is fast; boundaries (the characters that must not
    come right before the match) are checked on each match instead of with a look-behind.
    ``min_digits``: every match holds at least this many ASCII digits (a text with fewer
    cannot match; :func:`untouched` counts them before running the regex).
    """

    kind: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    lower: bool = False
    not_before: frozenset[str] = frozenset()
    min_digits: int = 0


def _secret(
    kind: str, rx: str, triggers: tuple[str, ...] = (), *, lower: bool = False,
    not_before: frozenset[str] = frozenset(), min_digits: int = 0,
) -> _Secret:
    return _Secret(kind, re.compile(rx), triggers, lower, not_before, min_digits)


_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")

#: The built-in secret patterns, most specific first. Credit card candidates are also
#: Luhn- and issuer-prefix-checked.
BUILTIN_PATTERNS: tuple[_Secret, ...] = (
    _secret("private_key", r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?s:.*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|.*\Z)", ("PRIVATE KEY",)),
    _secret("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", ("eyJ",), not_before=_WORD),
    _secret("aws_access_key_id", r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)[A-Z0-9]{16}(?![A-Za-z0-9])", _AWS_PREFIXES, not_before=_ALNUM),
    _secret("aws_secret_access_key", r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", ("secret",), lower=True),
    _secret("github_token", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])", ("gh",)),
    _secret("slack_token", r"xox[abposre]-[A-Za-z0-9-]{10,}", ("xox",)),
    _secret("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}", ("hooks.slack.com",)),
    _secret("stripe_key", r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_live_", "k_test_")),
    _secret("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}", ("sk-ant-",)),
    _secret("openai_key", r"sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{32,}", ("sk-",), not_before=_ALNUM),
    _secret("google_api_key", r"AIza[0-9A-Za-z_-]{35}", ("AIza",)),
    _secret("bearer_token", r"(?i:bearer\s+)[A-Za-z0-9._~+/-]{20,}=*", ("bearer",), lower=True, not_before=_ALNUM),
    _secret("credit_card", r"[0-9](?:[ -]?[0-9]){12,18}(?![0-9])", not_before=_DIGITS, min_digits=13),
)


_SHORT_TEXT = 24  # characters: up to this length _triggered runs one regex search

# Characters of ordinary text, most frequent first; any other character counts as rarer.
_COMMON = " etaoinsrhldcu.mwfgypb,vk0123456789-:/"


def _gate(trigger: str) -> str:
    """The character of ``trigger`` least likely to occur in ordinary text (the first of equals).

    Only a speed choice: whichever character is chosen, a text holding the trigger holds it.
    """
    return max(trigger, key=lambda ch: _COMMON.find(ch) if ch in _COMMON else len(_COMMON))


class Redactor:
    """Finds and replaces secrets in text: the built-in patterns plus ``extra`` regexes.

    ``extra`` patterns (a manifest's ``output.redact``) run after the built-ins, each on its
    own (their flags and groups cannot interfere); their kind is ``pattern:<n>``.
    """

    def __init__(self, extra: Sequence[str] = (), *, builtin: bool = True) -> None:
        self._builtin = BUILTIN_PATTERNS if builtin else ()
        self._extra = tuple((f"pattern:{i}", re.compile(p)) for i, p in enumerate(extra))
        self._untriggered = tuple(p for p in self._builtin if not p.triggers)
        self._triggers = tuple(dict.fromkeys(t for p in self._builtin if not p.lower for t in p.triggers))
        self._lower_triggers = tuple(dict.fromkeys(t for p in self._builtin if p.lower for t in p.triggers))
        # The triggers grouped by one character of each (its rarest in ordinary text, see
        # _gate): a group is skipped at the cost of one test when its character does not
        # occur, and a trigger cannot occur without each of its characters.
        groups: dict[str, list[str]] = {}
        for t in self._triggers:
            groups.setdefault(_gate(t), []).append(t)
        self._trigger_groups = tuple((first, tuple(ts)) for first, ts in groups.items())
        # For short texts one search of all triggers at once is cheaper than the groups; on
        # long texts with no trigger (the common case) the groups' substring tests win.
        self._trigger_rx = re.compile("|".join(map(re.escape, self._triggers))) if self._triggers else None
        self._lower_rx = re.compile("|".join(map(re.escape, self._lower_triggers))) if self._lower_triggers else None
        # Every trigger with the index of its gate, for the C core's one-pass scan
        # (:func:`untouched`); None when one is not ASCII (the core reads ASCII triggers only).
        gates = [(t, t.index(_gate(t)), False) for t in self._triggers]
        gates += [(t, t.index(_gate(t)), True) for t in self._lower_triggers]
        self._gates: Any = (
            _C.output_gates(tuple((t.encode("ascii"), i, low) for t, i, low in gates))
            if _C is not None and all(t.isascii() for t, _, _ in gates) else None
        )

    def _triggered(self, text: str) -> bool:
        """Whether any pattern's trigger occurs in ``text`` (what the per-pattern tests look for)."""
        if len(text) <= _SHORT_TEXT:
            # an alternation of escaped literals matches exactly where one of them occurs
            return (self._trigger_rx is not None and self._trigger_rx.search(text) is not None) or (
                self._lower_rx is not None and self._lower_rx.search(text.lower()) is not None
            )
        for first, group in self._trigger_groups:
            if first in text:
                for t in group:
                    if t in text:
                        return True
        if self._lower_triggers:
            lowered = text.lower()
            for t in self._lower_triggers:
                if t in lowered:
                    return True
        return False

    def redact(self, text: str, counts: Counter[str]) -> str:
        """``text`` with every secret replaced by ``[REDACTED:<kind>]``; ``counts`` is updated."""
        builtin = self._builtin
        if builtin and not self._triggered(text):
            # No pattern's trigger occurs (the common case): only the patterns without
            # triggers can match, and the per-pattern loop below is skipped.
            builtin = self._untriggered
        lowered: str | None = None
        for p in builtin:
            if p.triggers:
                if p.lower:
                    if lowered is None:
                        lowered = text.lower()
                    hay = lowered
                else:
                    hay = text
                for t in p.triggers:
                    if t in hay:
                        break
                else:
                    continue
            new = p.regex.sub(lambda m, p=p: self._sub(m, p, counts), text)  # type: ignore[misc]
            if new is not text and new != text:
                text, lowered = new, None
        for kind, rx in self._extra:
            text, n = rx.subn(f"[REDACTED:{kind}]", text)
            if n:
                counts[kind] += n
        return text

    @staticmethod
    def _sub(m: re.Match[str], p: _Secret, counts: Counter[str]) -> str:
        start = m.start()
        if start and p.not_before and m.string[start - 1] in p.not_before:
            return m.group()
        if p.kind == "credit_card" and not _is_card(m.group()):
            return m.group()
        counts[p.kind] += 1
        return f"[REDACTED:{p.kind}]"


_REDACTORS: dict[tuple[str, ...], Redactor] = {}
_VALIDATORS: dict[int, tuple[Any, Any]] = {}
_CACHE_LOCK = threading.Lock()


def _redactor(extra: tuple[str, ...]) -> Redactor:
    r = _REDACTORS.get(extra)
    if r is None:
        with _CACHE_LOCK:
            r = _REDACTORS[extra] = Redactor(extra)
    return r


def _validator(spec: OutputSpec) -> Any:
    hit = _VALIDATORS.get(id(spec))
    if hit is None or hit[0] is not spec:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **(spec.schema_ or {})}
        v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        with _CACHE_LOCK:
            _VALIDATORS[id(spec)] = hit = (spec, v)
    return hit[1]


@dataclass(frozen=True)
class OutputReport:
    """What :func:`process_output` did: redactions per kind, truncation, schema failures.

    ``original_bytes`` and ``final_bytes`` are UTF-8 sizes of the output as text before and
    after processing. Nothing in the report quotes the output itself.
    """

    redactions: Mapping[str, int] = field(default_factory=dict)
    truncated: bool = False
    original_bytes: int = 0
    final_bytes: int = 0
    schema_errors: tuple[str, ...] = ()

    @property
    def replaced(self) -> bool:
        """True when the output failed its schema and the model got an error instead."""
        return bool(self.schema_errors)

    @property
    def altered(self) -> bool:
        return self.replaced or self.truncated or bool(self.redactions)

    @property
    def redaction_count(self) -> int:
        return sum(self.redactions.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "redactions": dict(sorted(self.redactions.items())),
            "truncated": self.truncated,
            "original_bytes": self.original_bytes,
            "final_bytes": self.final_bytes,
            "schema_errors": list(self.schema_errors),
        }


def as_text(value: Any) -> str:
    """An output as the text the model reads (content blocks joined, JSON for the rest)."""
    return _as_text(value)


def _size(value: Any) -> int:
    text = value if isinstance(value, str) else _as_text(value)
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


# -- schema ------------------------------------------------------------------------------


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _schema_errors(value: Any, spec: OutputSpec) -> list[str]:
    v = _validator(spec)
    candidates = [value]
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            candidates.append(json.loads(value))
    elif isinstance(value, list) and value and all(isinstance(b, Mapping) and b.get("type") == "text" for b in value):
        with contextlib.suppress(ValueError):
            candidates.append(json.loads("".join(str(b.get("text", "")) for b in value)))
    errors: list[str] = []
    for cand in reversed(candidates):  # the parsed JSON first: its errors are the useful ones
        found = sorted(v.iter_errors(cand), key=lambda e: [str(p) for p in e.absolute_path])
        if not found:
            return []
        if not errors:
            for err in found[:5]:
                path = _pointer.format_pointer([p if isinstance(p, int) else str(p)[:40] for p in err.absolute_path])
                errors.append(f"{path or '/'} does not satisfy {err.validator}: {_short(err.validator_value)}")
    return errors


# -- redaction ---------------------------------------------------------------------------


def _redact(value: Any, r: Redactor, counts: Counter[str], depth: int = 0) -> Any:
    if isinstance(value, str):
        return r.redact(value, counts)
    if depth > 64:
        return value
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        if 13 <= len(text) <= 19 and _is_card(text):
            counts["credit_card"] += 1
            return "[REDACTED:credit_card]"
        return value
    if isinstance(value, list):
        return [_redact(v, r, counts, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v, r, counts, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: _redact(v, r, counts, depth + 1) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", "replace")
        before = sum(counts.values())
        out = r.redact(text, counts)
        return out if sum(counts.values()) != before else value
    content = getattr(value, "content", None)
    if content is not None and hasattr(value, "model_copy"):
        return value.model_copy(update={"content": _redact(content, r, counts, depth + 1)})
    text = str(value)
    before = sum(counts.values())
    out = r.redact(text, counts)
    return out if sum(counts.values()) != before else value


# -- size cap ----------------------------------------------------------------------------


def _marker(original: int, kept: int) -> str:
    return f"\n[toolguard: output truncated: {original} bytes, showing the first {kept}]"


def _cut(text: str, budget: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= budget:
        return text
    return data[: max(budget, 0)].decode("utf-8", "ignore")


def _cap_text(text: str, cap: int, original: int) -> str:
    # The marker's own size depends on how much is kept; two passes settle it.
    keep = max(cap - len(_marker(original, cap).encode()), 0)
    kept = _cut(text, keep)
    return kept + _marker(original, len(kept.encode("utf-8", "surrogatepass")))


def _cap(value: Any, cap: int) -> tuple[Any, bool]:
    size = _size(value)
    if size <= cap:
        return value, False
    if isinstance(value, str):
        return _cap_text(value, cap, size), True
    if isinstance(value, list) and all(isinstance(b, str) or (isinstance(b, Mapping) and b.get("type") == "text") for b in value):
        marker_room = len(_marker(size, cap).encode())
        left = max(cap - marker_room, 0)
        out: list[Any] = []
        for b in value:
            text = b if isinstance(b, str) else str(b.get("text", ""))
            n = len(text.encode("utf-8", "surrogatepass")) + (1 if out else 0)
            if n <= left:
                out.append(b)
                left -= n
                continue
            cut = _cut(text, left - (1 if out else 0))
            if cut:
                out.append(cut if isinstance(b, str) else {**b, "text": cut})
            break
        kept = _size(out)
        marker = _marker(size, kept)
        out.append(marker if all(isinstance(b, str) for b in value) else {"type": "text", "text": marker})
        return out, True
    return _cap_text(as_text(value), cap, size), True


# -- the pipeline ------------------------------------------------------------------------


def process_output(result: Any, spec: OutputSpec | None, *, tool: str = "") -> tuple[Any, OutputReport]:
    """Apply ``spec`` (a manifest's ``output``) to ``result``: schema, redaction, size cap.

    Returns the processed output (what the model may see) and a report. With ``spec`` None
    (an unknown tool) only the built-in redaction runs. Raises only on a bug; the guard
    treats any exception as "the output cannot be checked" and withholds it.

    ::

        value, report = process_output("key AKIAIOSFODNN7EXAMPLE", manifest.output, tool="t")
        # value == "key [REDACTED:aws_access_key_id]"; report.redactions == {"aws_access_key_id": 1}
    """
    spec = spec if spec is not None else OutputSpec()
    original = _size(result)
    if spec.schema_ is not None:
        errors = _schema_errors(result, spec)
        if errors:
            text = (
                f"toolguard withheld the output of {tool!r}: it does not match the tool's declared output schema "
                f"({'; '.join(errors)}). Do not rely on this tool's output for this call."
            )
            return text, OutputReport({}, False, original, len(text.encode()), tuple(errors))
    counts: Counter[str] = Counter()
    value = _redact(result, _redactor(spec.redact), counts)
    if not counts:
        value = result  # nothing redacted: hand back the tool's own object, not a copy
    truncated = False
    if spec.max_bytes is not None and (counts or original > spec.max_bytes):
        value, truncated = _cap(value, spec.max_bytes)
    final = _size(value) if (truncated or counts) else original
    if not counts and not truncated:
        return value, OutputReport(_NO_REDACTIONS, False, original, final, ())
    return value, OutputReport(dict(counts), truncated, original, final, ())


_NO_REDACTIONS: Mapping[str, int] = MappingProxyType({})


def untouched_plan(spec: OutputSpec) -> tuple[Any, int, tuple[_Secret, ...], int] | None:
    """What :func:`untouched_with` needs of ``spec``, worked out once: the built-in
    redactor's triggers compiled for the C core, the size cap (-1: none), the patterns
    without a trigger, and the fewest digits any of those can match (0: one needs none).
    None when the core cannot answer for this spec (a schema or extra redaction patterns, or
    no C core): use :func:`untouched`.

    A caller may take a ``plain_output`` answer of ``0 <= digits < floor`` (the last item)
    as "untouched" without :func:`untouched_with`: no pattern can match then.
    """
    if spec.schema_ is not None or spec.redact or _C_PLAIN_OUTPUT is None:
        return None
    r = _redactor(())
    if r._gates is None:
        return None
    untriggered = r._untriggered
    floor = min((p.min_digits for p in untriggered), default=2**62)
    return r._gates, -1 if spec.max_bytes is None else spec.max_bytes, untriggered, floor


def untouched_with(result: str, plan: tuple[Any, int, tuple[_Secret, ...], int], spec: OutputSpec) -> bool:
    """:func:`untouched` of a ``str`` with the spec's :func:`untouched_plan` at hand."""
    gates, cap, untriggered, _ = plan
    digits = _C_PLAIN_OUTPUT(result, gates, cap)  # the trigger scan, the digits and the size in one pass
    if digits == -1:
        return False  # a trigger occurs, or the text is over the cap
    if digits == -2:
        return untouched(result, spec)  # a text the core does not read
    for p in untriggered:
        if p.min_digits and digits < p.min_digits:
            continue  # the pattern needs more digits than the text holds
        if p.regex.search(result) is not None:
            return False
    return True


def untouched(result: Any, spec: OutputSpec) -> bool:
    """True when :func:`process_output` would hand ``result`` back unaltered (the short path).

    Only a ``str`` output qualifies, under a spec with no schema and no extra redaction
    patterns, when no built-in pattern's trigger occurs in it, no pattern without a trigger
    matches anywhere in it, and it fits the size cap. False means "not known": run
    :func:`process_output`. True is exact: the general path returns the same object and a
    report with no redaction, no truncation and no schema error (tests/egress check both
    on the same outputs).
    """
    if type(result) is not str or spec.schema_ is not None or spec.redact:
        return False
    r = _redactor(())
    cap = spec.max_bytes
    if _C_PLAIN_OUTPUT is not None and r._gates is not None and result.isascii():
        return untouched_with(result, (r._gates, -1 if cap is None else cap, r._untriggered, 0), spec)
    if r._triggered(result):
        return False
    digits = -1
    for p in r._untriggered:
        if p.min_digits:
            if digits < 0:
                # ASCII digits never occur inside a multi-byte UTF-8 sequence: this counts
                # the text's [0-9] characters exactly, in C.
                encoded = result.encode("utf-8", "surrogatepass")
                digits = len(encoded) - len(encoded.translate(None, b"0123456789"))
            if digits < p.min_digits:
                continue  # the pattern needs more digits than the text holds
        if p.regex.search(result) is not None:
            return False
    return cap is None or len(result) <= cap // 4 or _size(result) <= cap


def output_items(value: Any, spec: OutputSpec | None) -> list[str]:
    """The distinct item keys of an output (what ``output_items`` budgets count).

    With ``output.items`` (a pointer such as ``/documents/*``) each value it names is an item,
    keyed by the value at ``output.item_key`` inside it (``/id``) or by its content digest.
    Without it, a list output's elements are the items, and any other output is one item.
    A string holding JSON is parsed first.
    """
    data = value
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = value
    spec = spec if spec is not None else OutputSpec()
    if spec.items is not None:
        found = [v for _, v in _pointer.resolve(data, _pointer.parse_pointer(spec.items))]
    elif isinstance(data, list):
        found = list(data)
    else:
        found = [data]
    key_toks = _pointer.parse_pointer(spec.item_key, wildcards=False) if spec.item_key else None
    out: list[str] = []
    for item in found:
        if item is None or item == "" or item == [] or item == {}:
            continue
        if key_toks is not None:
            hits = list(_pointer.resolve(item, key_toks))
            if hits and isinstance(hits[0][1], (str, int)) and not isinstance(hits[0][1], bool):
                out.append(f"id:{hits[0][1]}")
                continue
        out.append("sha256:" + hashlib.sha256(_canonical(item).encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return list(dict.fromkeys(out))


def _canonical(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
