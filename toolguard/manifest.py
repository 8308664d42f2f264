"""Tool manifests and the policy file: the declarations every decision is made against.

A manifest is YAML, one tool per document (several documents per file, or a top-level
list, are fine). Loading validates everything a decision will rely on, once:

* the document shape (pydantic models with ``extra="forbid"``: unknown keys are errors);
* the argument schema, as a valid JSON Schema Draft 2020-12, compiled once;
* every argument pointer (destinations, payload, deciding, editable) against that schema,
  so a typo cannot silently switch a check off;
* every allow-list pattern, normalised like the values it will be matched against.

Every problem in every file is collected and raised together as a
:class:`~toolguard.errors.ManifestError`, each issue with file, line, column and JSON pointer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
import jsonschema_rs
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from . import _pointer
from ._yaml import Document, load_documents
from .destinations import AllowList
from .errors import ManifestError, ManifestIssue
from .findings import FINDING_CODES, Action

__all__ = [
    "BUDGET_NAMES",
    "Approval",
    "AuditSettings",
    "Budget",
    "CutoffRule",
    "DestinationLimits",
    "DestinationSpec",
    "Limits",
    "Manifest",
    "ManifestSet",
    "OutputSpec",
    "Policy",
    "PrincipalLimits",
    "Principals",
    "SideEffect",
    "load_manifests",
    "load_policy",
    "parse_duration",
    "parse_size",
]

SideEffect = Literal["none", "read", "local_write", "external_write", "destructive", "financial"]
SIDE_EFFECTS: tuple[str, ...] = ("none", "read", "local_write", "external_write", "destructive", "financial")
#: Side effects that change the world outside the agent's own sandbox.
OUTWARD_EFFECTS = frozenset({"external_write", "destructive", "financial"})

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
    "ki": 1024, "kib": 1024, "mi": 1024**2, "mib": 1024**2, "gi": 1024**3, "gib": 1024**3, "ti": 1024**4, "tib": 1024**4,
}


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"30s"``, ``"15m"``, ``"1h"``, ``"1d"``; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '15m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        raise ValueError(f"invalid duration {value!r}: use seconds or a number with ms, s, m, h, d or w")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"invalid duration {value!r}: it must be positive")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from ``1024``, ``"1MB"``, ``"512KiB"``; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string like '1MB'")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := _SIZE.match(value)):
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])
    else:
        raise ValueError(f"invalid size {value!r}: use bytes or a number with KB, MB, GB, KiB, MiB, GiB")
    if size < 0:
        raise ValueError(f"invalid size {value!r}: it must not be negative")
    return size


# Keywords whose semantics the two validators may implement differently (ECMA-262 versus
# Python regular expressions; format checkers). Where a schema uses them, both validators
# must accept a call for it to be valid.
_DIVERGENT_KEYWORDS = frozenset({"pattern", "patternProperties", "format", "$dynamicRef", "$dynamicAnchor"})


def _uses(schema: Any, keywords: frozenset[str]) -> bool:
    if isinstance(schema, dict):
        return any(k in keywords or _uses(v, keywords) for k, v in schema.items())
    if isinstance(schema, list):
        return any(_uses(v, keywords) for v in schema)
    return False


class SchemaValidator:
    """Validates a call's arguments against a manifest's JSON Schema (Draft 2020-12).

    A compiled validator (jsonschema-rs) answers "is it valid?" in about a microsecond; the
    reference implementation (python-jsonschema) explains violations with paths. They are
    combined so that a disagreement can only deny: arguments are valid only if the compiled
    validator accepts them and, for schemas using keywords whose semantics may differ
    between the two (regular expressions, formats), the reference accepts them too.
    """

    __slots__ = ("double_check", "fast", "ref")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.ref = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        self.ref.is_valid({})  # resolve local references now rather than on the first call
        try:
            self.fast: Any = jsonschema_rs.validator_for(schema, validate_formats=True)
        except Exception:
            self.fast = None
        self.double_check = self.fast is None or _uses(schema, _DIVERGENT_KEYWORDS)

    def is_valid(self, instance: Any) -> bool:
        if self.fast is not None:
            try:
                ok = self.fast.is_valid(instance)
            except Exception:
                return bool(self.ref.is_valid(instance))
            if not ok:
                return False
            if not self.double_check:
                return True
        return bool(self.ref.is_valid(instance))

    def iter_errors(self, instance: Any) -> Iterator[tuple[str, str, str, str]]:
        """``(pointer, message, keyword, schema_path)`` for every violation, reference first.

        If only the compiled validator objects, its errors are reported, so an invalid call
        always carries at least one explained violation.
        """
        found = False
        for err in self.ref.iter_errors(instance):
            found = True
            yield (
                _pointer.format_pointer(list(err.absolute_path)),
                err.message,
                str(err.validator),
                _pointer.format_pointer(list(err.absolute_schema_path)),
            )
        if found or self.fast is None:
            return
        try:
            fast_errors = list(self.fast.iter_errors(instance))
        except Exception as exc:
            yield ("", f"the arguments could not be validated: {exc}", "error", "")
            return
        for e in fast_errors:
            yield (_pointer.format_pointer(list(e.instance_path)), e.message, "schema", _pointer.format_pointer(list(e.schema_path)))


@dataclass(frozen=True, slots=True)
class CompiledDestination:
    spec: DestinationSpec
    tokens: tuple[Any, ...]
    allow: AllowList
    allow_declared: bool
    #: ``value -> [(pointer, value)]`` for ``tokens`` (:func:`toolguard._pointer.compile_resolver`).
    resolve: Callable[[Any], list[tuple[str, Any]]]
    #: Parsed and matched values, ``(pointer, value) -> Dest`` (the decision core's memo;
    #: bounded there). Values of kind ``path`` are never memoised: the file system can
    #: change between two calls.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)


@dataclass(frozen=True, slots=True)
class Compiled:
    """The parts of a manifest the decision core reads on every call, as plain attributes."""

    validator: SchemaValidator
    destinations: tuple[CompiledDestination, ...]
    payload: tuple[tuple[Any, ...], ...] | None
    deciding: tuple[tuple[Any, ...], ...]
    outward: bool
    #: The tool has a destination of kind ``url``: a call requests those URLs.
    requests: bool = False
    #: A destination entry is declared ``public`` (labelled data never goes there).
    has_public: bool = False
    #: A destination entry names where the call itself goes (any kind but ``markdown`` and
    #: ``html``, whose entries name only the links inside the text): without one, the text of
    #: an outward call goes to a place the manifest does not declare.
    has_own_destination: bool = False
    #: Tokens of the ``recipient`` pointer, when declared.
    recipient: tuple[Any, ...] | None = None
    #: Tokens of the ``output.about`` pointer, when declared.
    about: tuple[Any, ...] | None = None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Budget(_Model):
    """At most ``max`` units per sliding window of ``per`` seconds."""

    max: int = Field(ge=0)
    per: float

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, v: Any) -> float:
        return parse_duration(v)


class SizeBudget(Budget):
    """At most ``max`` bytes per sliding window (``max`` accepts sizes such as ``1MB``)."""

    @field_validator("max", mode="before")
    @classmethod
    def _max(cls, v: Any) -> int:
        return parse_size(v)


class Limits(_Model):
    """Per-principal budgets for one tool (counted by the egress layer)."""

    calls: Budget | None = None
    egress_bytes: SizeBudget | None = None
    distinct_destinations: Budget | None = None
    output_bytes: SizeBudget | None = None
    output_items: Budget | None = None


class Approval(_Model):
    """Who may decide a held call of this tool, and for how long it may wait."""

    roles: tuple[str, ...] = ("approver",)
    ttl: float = 3600.0
    editable: bool | tuple[str, ...] = False
    #: Hold every call of this tool for an approver (finding side_effect.requires_approval).
    required: bool = False

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, v: Any) -> float:
        return parse_duration(v)


class OutputSpec(_Model):
    """What the tool returns: whether to trust it, its labels, and constraints on it."""

    trust: Literal["trusted", "untrusted"] = "untrusted"
    labels: tuple[str, ...] = ()
    max_bytes: int | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    rendered: bool = False
    redact: tuple[str, ...] = ()
    #: Where the distinct items of the output are (``/documents/*``), and the key of each
    #: item (``/id``): what ``limits.output_items`` counts (docs/egress.md, "Output edge").
    items: str | None = None
    item_key: str | None = None
    #: The argument that names whose own record the output is (``/order_id``: the order's
    #: customer). Labelled data from it may go, in clear, to that party through a tool whose
    #: ``recipient`` argument names the same party (docs/threat-model.md, example 15).
    about: str | None = None

    @field_validator("items", "item_key", "about")
    @classmethod
    def _item_pointers(cls, v: str | None) -> str | None:
        if v is not None:
            _pointer.parse_pointer(v)
        return v

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _max_bytes(cls, v: Any) -> int | None:
        return None if v is None else parse_size(v)

    @field_validator("redact")
    @classmethod
    def _redact(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"redact pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return v


class DestinationSpec(_Model):
    """One argument (pointer, ``*`` for every item) that names where data goes."""

    arg: str
    kind: Literal["email", "url", "domain", "host", "iban", "phone", "channel", "path", "markdown", "html"]
    allow: tuple[str, ...] | None = None
    roots: tuple[str, ...] = ()
    #: The allowed places of this entry are readable by anyone (a public repository, issue
    #: tracker, status page, shared bucket): allowed for the action, never for labelled data.
    public: bool = False
    _tokens: tuple[Any, ...] = PrivateAttr(default=())
    _allow: AllowList | None = PrivateAttr(default=None)

    @field_validator("arg")
    @classmethod
    def _arg(cls, v: str) -> str:
        if v == "":
            raise ValueError("the whole argument object cannot be a destination; name an argument such as /to")
        _pointer.parse_pointer(v)
        return v

    @property
    def tokens(self) -> tuple[Any, ...]:
        return self._tokens

    @property
    def allow_list(self) -> AllowList:
        """The compiled allow-list (the kind ``url`` for markdown and html containers)."""
        assert self._allow is not None, "DestinationSpec used before Manifest validation"
        return self._allow

    @property
    def url_kind(self) -> str:
        return "url" if self.kind in ("markdown", "html") else self.kind


class Manifest(_Model):
    """The declaration of one tool. See README.md, "Manifest reference"."""

    tool: str = Field(min_length=1, max_length=200)
    description: str = ""
    side_effect: SideEffect
    arguments: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    destinations: tuple[DestinationSpec, ...] = ()
    payload: tuple[str, ...] | None = None
    deciding: tuple[str, ...] = ()
    #: The argument from which the tool itself resolves who receives the call (a reply to the
    #: customer of ``/order_id``); see ``output.about``.
    recipient: str | None = None
    output: OutputSpec = OutputSpec()
    approval: Approval = Approval()
    limits: Limits = Limits()
    actions: dict[str, Action] = Field(default_factory=dict)

    _validator: Any = PrivateAttr(default=None)
    _compiled: Compiled | None = PrivateAttr(default=None)
    _payload_tokens: tuple[tuple[str, tuple[Any, ...]], ...] | None = PrivateAttr(default=None)
    _deciding_tokens: tuple[tuple[str, tuple[Any, ...]], ...] = PrivateAttr(default=())
    _source: str = PrivateAttr(default="")

    @field_validator("tool")
    @classmethod
    def _tool(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:\-]+", v):
            raise ValueError("a tool name may hold only letters, digits, '_', '-', '.' and ':'")
        return v

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: dict[str, Action]) -> dict[str, Action]:
        for code in v:
            if code not in FINDING_CODES:
                raise ValueError(f"unknown finding code {code!r}; see docs/findings.md for the list")
        return v

    @property
    def validator(self) -> SchemaValidator:
        """The compiled Draft 2020-12 validator of the argument schema."""
        return self._validator  # type: ignore[no-any-return]

    @property
    def compiled(self) -> Compiled:
        """Hot-path view of the manifest (built at load time)."""
        # Straight from the private-attribute dict: pydantic's __getattr__ costs ~2 µs a call,
        # a tenth of the whole decision budget.
        c: Compiled | None = self.__pydantic_private__["_compiled"]  # type: ignore[index]
        if c is None:
            raise RuntimeError(f"manifest {self.tool!r} was not loaded through load_manifests/manifest_from_dict")
        return c

    @property
    def payload_tokens(self) -> tuple[tuple[str, tuple[Any, ...]], ...] | None:
        """Parsed payload pointers; None means "every argument that is not a destination"."""
        return self._payload_tokens

    @property
    def deciding_tokens(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        return self._deciding_tokens

    @property
    def source(self) -> str:
        """Where the manifest was loaded from (file path), for messages."""
        return self._source


BudgetName = Literal["calls", "egress_bytes", "distinct_destinations", "output_bytes", "output_items"]
BUDGET_NAMES: tuple[str, ...] = ("calls", "egress_bytes", "distinct_destinations", "output_bytes", "output_items")


class DestinationLimits(_Model):
    """Budgets per principal and normalised destination (one series per destination)."""

    calls: Budget | None = None
    egress_bytes: SizeBudget | None = None


class PrincipalLimits(Limits):
    """The budgets of one principal class (docs/egress.md, "Budgets").

    The :class:`Limits` fields are totals over every tool; ``tools`` adds budgets per tool
    (on top of each manifest's own ``limits``); ``per_destination`` adds budgets per
    normalised destination. A class inherits every field of ``principals.default`` it does
    not set itself (set a field to ``null`` to drop an inherited budget).
    """

    tools: dict[str, Limits] = Field(default_factory=dict)
    per_destination: DestinationLimits = DestinationLimits()


class Principals(_Model):
    """The ``principals`` section of policy.yaml: budgets per principal class.

    ``members`` maps a principal name or an ``fnmatch`` pattern (``trial-*``) to a class;
    exact names win over patterns, and patterns are tried in file order. A principal that
    matches nothing is in the ``default`` class. ``counted_labels`` are the output labels
    whose bytes and items count against the class ``output_*`` budgets.
    """

    default: PrincipalLimits = PrincipalLimits()
    classes: dict[str, PrincipalLimits] = Field(default_factory=dict)
    members: dict[str, str] = Field(default_factory=dict)
    counted_labels: tuple[str, ...] = ("private", "proprietary")

    @model_validator(mode="after")
    def _members(self) -> Principals:
        for name, cls_name in self.members.items():
            if cls_name != "default" and cls_name not in self.classes:
                known = ", ".join(["default", *sorted(self.classes)])
                raise ValueError(f"members: {name!r} is put in the unknown class {cls_name!r} (classes: {known})")
        if "default" in self.classes:
            raise ValueError("classes: 'default' is reserved; set its budgets under principals.default")
        return self


class CutoffRule(_Model):
    """One cut-off condition: ``count`` events of kind ``when`` within ``within`` (docs/egress.md).

    ``when`` is ``denied``, ``held`` or a finding code (``budget.exceeded``,
    ``payload.private_data``...). ``budget`` narrows ``budget.exceeded`` to one budget name;
    ``tool`` narrows any rule to one tool. ``id`` names the rule in the cut-off reason (by
    default a digest of the rule, so that editing a rule starts its count afresh).
    """

    when: str
    count: StrictInt = Field(ge=1, le=1_000_000)
    within: float
    budget: BudgetName | None = None
    tool: str | None = None
    id: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("when")
    @classmethod
    def _when(cls, v: str) -> str:
        if v in ("denied", "held") or v in FINDING_CODES:
            return v
        raise ValueError(f"unknown event {v!r}: use 'denied', 'held' or a finding code such as 'budget.exceeded' (docs/findings.md)")

    @model_validator(mode="after")
    def _budget_needs_budget_event(self) -> CutoffRule:
        if self.budget is not None and self.when != "budget.exceeded":
            raise ValueError(f"'budget' only narrows 'when: budget.exceeded', not 'when: {self.when}'")
        if self.when == "principal.cut_off":
            raise ValueError("'principal.cut_off' cannot trigger a cut-off (the principal is already cut off)")
        return self


class AuditSettings(_Model):
    """The ``audit`` section of policy.yaml (docs/audit.md)."""

    path: str | None = None
    args: Literal["masked", "full", "hash"] = "masked"
    outputs: Literal["altered", "hash", "full"] = "altered"
    fsync: Literal["always", "interval", "never"] = "interval"
    fsync_interval: float = 1.0
    rotate_bytes: int | None = None
    #: ``inline`` writes each record before the call goes on; ``thread`` queues it for a
    #: background writer (docs/audit.md: what a crash can lose with it).
    writer: Literal["inline", "thread"] = "inline"

    @field_validator("fsync_interval", mode="before")
    @classmethod
    def _interval(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("rotate_bytes", mode="before")
    @classmethod
    def _rotate(cls, v: Any) -> int | None:
        if v is None:
            return None
        size = parse_size(v)
        if size < 4096:
            raise ValueError(f"rotate_bytes {v!r} is too small: use at least 4KiB")
        return size


class Policy(_Model):
    """The global policy file (policy.yaml): defaults that apply to every tool."""

    unknown_tools: Literal["deny", "hold"] = "deny"
    actions: dict[str, Action] = Field(default_factory=dict)
    side_effects: dict[SideEffect, Action] = Field(default_factory=lambda: {"financial": "hold"})  # type: ignore[arg-type]
    max_argument_bytes: int = 1024 * 1024
    max_depth: int = 32
    #: Minimum length of a string fragment that counts as carrying session data.
    min_fragment: int = 20
    #: Budgets per principal class (docs/egress.md), cut-off rules, the store URL, the audit log.
    principals: Principals = Principals()
    cutoff: tuple[CutoffRule, ...] = ()
    store: str | None = None
    audit: AuditSettings = AuditSettings()

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: dict[str, Action]) -> dict[str, Action]:
        for code in v:
            if code not in FINDING_CODES:
                raise ValueError(f"unknown finding code {code!r}; see docs/findings.md for the list")
        return v

    @field_validator("max_argument_bytes", mode="before")
    @classmethod
    def _max_bytes(cls, v: Any) -> int:
        return parse_size(v)

    def action_for(self, code: str, manifest: Manifest | None) -> Action:
        """Resolve a finding's action: manifest override, then policy override, then default."""
        if manifest is not None:
            a = manifest.actions.get(code)
            if a is not None:
                return a
        a = self.actions.get(code)
        if a is not None:
            return a
        return FINDING_CODES[code].default


@dataclass(frozen=True)
class ManifestSet:
    """The loaded manifests, by tool name; immutable once built."""

    manifests: Mapping[str, Manifest]

    def get(self, tool: str) -> Manifest | None:
        return self.manifests.get(tool)

    def __contains__(self, tool: object) -> bool:
        return tool in self.manifests

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.manifests.values())

    def __len__(self) -> int:
        return len(self.manifests)

    @classmethod
    def of(cls, manifests: Iterable[Manifest]) -> ManifestSet:
        """Build a set from manifests made in code; duplicate tool names raise ManifestError."""
        out: dict[str, Manifest] = {}
        issues = []
        for m in manifests:
            if m.tool in out:
                issues.append(ManifestIssue(m.source or "<code>", "/tool", f"tool {m.tool!r} is declared twice"))
            out[m.tool] = m
        if issues:
            raise ManifestError(issues)
        return cls(out)


# --------------------------------------------------------------------------------------
# Loading


def _issue(doc: Document | None, file: str, pointer: str, message: str) -> ManifestIssue:
    line, col = doc.position(pointer) if doc is not None else (None, None)
    return ManifestIssue(file=file, pointer=pointer, message=message, line=line, column=col)


def _loc_pointer(loc: Sequence[Any], prefix: str = "") -> str:
    parts = [p for p in loc if not (isinstance(p, str) and p in {"function-after", "function-before", "function-plain"})]
    # pydantic adds the union member's name ("email", "url", ...) for Literal unions; keep keys only.
    return prefix + _pointer.format_pointer(parts)


def _pydantic_issues(exc: ValidationError, doc: Document, file: str, prefix: str) -> list[ManifestIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # Aliased field: the YAML key is "schema".
        loc = ["schema" if p == "schema_" else p for p in loc]
        pointer = _loc_pointer(loc, prefix)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
        elif err["type"] == "missing":
            msg = f"missing required key {loc[-1]!r}"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        issues.append(_issue(doc, file, pointer, msg))
    return issues


def _schema_at(schema: Any, tokens: tuple[Any, ...]) -> tuple[bool, str]:
    """Check that an argument pointer can exist under ``schema``; (ok, reason)."""
    node = schema
    walked = ""
    for tok in tokens:
        if not isinstance(node, dict):
            return True, ""
        if any(k in node for k in ("$ref", "anyOf", "oneOf", "allOf", "$dynamicRef", "if")):
            return True, ""  # too dynamic to follow statically; accept
        if tok is _pointer.WILDCARD:
            if "items" in node:
                node = node["items"]
            elif "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
                node = node["additionalProperties"]
            else:
                return True, ""
            walked += "/*"
            continue
        props = node.get("properties")
        if isinstance(props, dict) and tok in props:
            node = props[tok]
        elif isinstance(props, dict) and not node.get("patternProperties") and not isinstance(
            node.get("additionalProperties"), dict
        ):
            known = ", ".join(sorted(map(str, props))) or "none"
            return False, f"argument {walked}/{tok} is not in the argument schema (properties: {known})"
        elif node.get("type") == "array" and isinstance(node.get("items"), dict) and str(tok).isdigit():
            node = node["items"]
        else:
            return True, ""
        walked += f"/{tok}"
    return True, ""


_SCHEMA_META = jsonschema.Draft202012Validator(
    jsonschema.Draft202012Validator.META_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def _finish(m: Manifest, doc: Document | None, file: str, prefix: str) -> list[ManifestIssue]:
    """Load-time checks that need the whole manifest: schema, pointers, allow-lists."""
    issues: list[ManifestIssue] = []
    m._source = file
    schema = m.arguments
    schema_ok = True
    for err in sorted(_SCHEMA_META.iter_errors(schema), key=lambda e: list(e.absolute_path)):
        schema_ok = False
        ptr = prefix + "/arguments" + _pointer.format_pointer(list(err.absolute_path))
        issues.append(_issue(doc, file, ptr, f"invalid JSON Schema: {err.message}"))
    if schema_ok and schema.get("type", "object") != "object":
        schema_ok = False
        issues.append(_issue(doc, file, prefix + "/arguments/type", "the argument schema must describe an object (type: object)"))
    if schema_ok:
        try:
            m._validator = SchemaValidator({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema})
        except Exception as exc:
            issues.append(_issue(doc, file, prefix + "/arguments", f"cannot compile the argument schema: {exc}"))

    def check_pointer(ptr: str, where: str) -> tuple[Any, ...] | None:
        try:
            toks = _pointer.parse_pointer(ptr)
        except ValueError as exc:
            issues.append(_issue(doc, file, prefix + where, str(exc)))
            return None
        ok, reason = _schema_at(m.arguments, toks)
        if not ok:
            issues.append(_issue(doc, file, prefix + where, reason))
        return toks

    for i, d in enumerate(m.destinations):
        toks = check_pointer(d.arg, f"/destinations/{i}/arg")
        if toks is not None:
            d._tokens = toks
        try:
            d._allow = AllowList(d.url_kind, d.allow or ())
        except ValueError as exc:
            issues.append(_issue(doc, file, prefix + f"/destinations/{i}/allow", str(exc)))
        if d.kind == "path" and not d.roots:
            issues.append(_issue(doc, file, prefix + f"/destinations/{i}/roots", "a path destination needs 'roots': the directories it may resolve into"))
        if d.kind != "path" and d.roots:
            issues.append(_issue(doc, file, prefix + f"/destinations/{i}/roots", "'roots' only applies to kind 'path'"))
        if d.public and not d.allow and d.kind != "path":
            issues.append(_issue(doc, file, prefix + f"/destinations/{i}/public", "'public' marks allowed places: it needs 'allow' (or 'roots' for kind 'path')"))
    if m.payload is not None:
        m._payload_tokens = tuple(
            (p, t) for j, p in enumerate(m.payload) if (t := check_pointer(p, f"/payload/{j}")) is not None
        )
    m._deciding_tokens = tuple(
        (p, t) for j, p in enumerate(m.deciding) if (t := check_pointer(p, f"/deciding/{j}")) is not None
    )
    recipient_tokens: tuple[Any, ...] | None = None
    if m.recipient is not None:
        recipient_tokens = check_pointer(m.recipient, "/recipient")
        if recipient_tokens is not None and any(t is _pointer.WILDCARD for t in recipient_tokens):
            issues.append(_issue(doc, file, prefix + "/recipient", "'recipient' names one argument: no '*'"))
        if m.recipient not in m.deciding:
            issues.append(_issue(doc, file, prefix + "/recipient", "'recipient' must also be listed in 'deciding': who receives the call decides it"))
        if m.side_effect not in OUTWARD_EFFECTS:
            issues.append(_issue(doc, file, prefix + "/recipient", "'recipient' applies to tools that send (external_write, destructive, financial)"))
        if any(d.kind not in ("markdown", "html") for d in m.destinations):
            issues.append(_issue(doc, file, prefix + "/recipient", "'recipient' is for a tool that resolves where the call goes itself: it declares no destination of its own"))
    about_tokens: tuple[Any, ...] | None = None
    if m.output.about is not None:
        about_tokens = check_pointer(m.output.about, "/output/about")
        if about_tokens is not None and any(t is _pointer.WILDCARD for t in about_tokens):
            issues.append(_issue(doc, file, prefix + "/output/about", "'about' names one argument: no '*'"))
    if isinstance(m.approval.editable, tuple):
        for j, p in enumerate(m.approval.editable):
            check_pointer(p, f"/approval/editable/{j}")
    if m.output.schema_ is not None:
        for err in _SCHEMA_META.iter_errors(m.output.schema_):
            ptr = prefix + "/output/schema" + _pointer.format_pointer(list(err.absolute_path))
            issues.append(_issue(doc, file, ptr, f"invalid JSON Schema: {err.message}"))
    if not issues:
        m._compiled = Compiled(
            validator=m._validator,
            destinations=tuple(
                CompiledDestination(d, d._tokens, d._allow, bool(d.allow), _pointer.compile_resolver(d._tokens))  # type: ignore[arg-type]
                for d in m.destinations
            ),
            payload=None if m._payload_tokens is None else tuple(t for _, t in m._payload_tokens),
            deciding=tuple(t for _, t in m._deciding_tokens),
            outward=m.side_effect in OUTWARD_EFFECTS,
            requests=any(d.kind == "url" for d in m.destinations),
            has_public=any(d.public for d in m.destinations),
            has_own_destination=any(d.kind not in ("markdown", "html") for d in m.destinations),
            recipient=recipient_tokens,
            about=about_tokens,
        )
    return issues


def manifest_from_dict(data: Any, *, file: str = "<dict>", doc: Document | None = None, prefix: str = "") -> Manifest:
    """Validate one manifest given as a dict; raise ManifestError listing every issue."""
    manifest, issues = _build(data, doc, file, prefix)
    if issues or manifest is None:
        raise ManifestError(issues)
    return manifest


def _build(data: Any, doc: Document | None, file: str, prefix: str) -> tuple[Manifest | None, list[ManifestIssue]]:
    if not isinstance(data, dict):
        return None, [_issue(doc, file, prefix, f"a manifest must be a mapping, not {type(data).__name__}")]
    try:
        m = Manifest.model_validate(data)
    except ValidationError as exc:
        if doc is None:
            doc = Document(data=data)
        return None, _pydantic_issues(exc, doc, file, prefix)
    issues = _finish(m, doc, file, prefix)
    return (None if issues else m), issues


def _iter_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.name not in ("policy.yaml", "policy.yml") and p.is_file())
    return [path]


def _read_docs(file: Path, issues: list[ManifestIssue]) -> list[Document]:
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        issues.append(ManifestIssue(name, "", f"not UTF-8 text: {exc}"))
        return []
    except OSError as exc:
        issues.append(ManifestIssue(name, "", f"cannot read: {exc.strerror or exc}"))
        return []
    try:
        docs = list(load_documents(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(
            ManifestIssue(name, "", f"invalid YAML: {problem}", mark.line + 1 if mark else None, mark.column + 1 if mark else None)
        )
        return []
    for d in docs:
        for p in d.problems:
            issues.append(ManifestIssue(name, p.pointer, p.message, p.line, p.column))
    return docs


def load_manifests(*paths: str | Path) -> ManifestSet:
    """Load manifests from files and directories (``*.yaml``/``*.yml``, recursively).

    Every problem in every file is collected first; then one ManifestError lists them all.
    ``policy.yaml`` files inside a directory are skipped (load them with :func:`load_policy`).
    """
    issues: list[ManifestIssue] = []
    found: dict[str, Manifest] = {}
    first_seen: dict[str, str] = {}
    if not paths:
        raise ManifestError([ManifestIssue("<none>", "", "no manifest path given")])
    for path in map(Path, paths):
        if not path.exists():
            issues.append(ManifestIssue(str(path), "", "no such file or directory"))
            continue
        files = _iter_files(path)
        if path.is_dir() and not files:
            issues.append(ManifestIssue(str(path), "", "the directory holds no .yaml or .yml manifest"))
        for file in files:
            for doc in _read_docs(file, issues):
                items: list[tuple[Any, str]]
                if doc.data is None:
                    continue
                if isinstance(doc.data, list):
                    items = [(item, f"/{i}") for i, item in enumerate(doc.data)]
                else:
                    items = [(doc.data, "")]
                for data, prefix in items:
                    m, errs = _build(data, doc, str(file), prefix)
                    issues.extend(errs)
                    if m is None:
                        continue
                    if m.tool in found:
                        issues.append(
                            _issue(doc, str(file), prefix + "/tool", f"tool {m.tool!r} is already declared in {first_seen[m.tool]}")
                        )
                        continue
                    line = doc.position(prefix + "/tool")[0]
                    first_seen[m.tool] = f"{file}:{line}" if line else str(file)
                    found[m.tool] = m
    if issues:
        raise ManifestError(issues)
    return ManifestSet(found)


def load_policy(path: str | Path | None) -> Policy:
    """Load policy.yaml (or return the defaults for None); raise ManifestError on any problem."""
    if path is None:
        return Policy()
    file = Path(path)
    issues: list[ManifestIssue] = []
    if not file.is_file():
        raise ManifestError([ManifestIssue(str(file), "", "no such policy file")])
    docs = _read_docs(file, issues)
    if issues:
        raise ManifestError(issues)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise ManifestError([ManifestIssue(str(file), "", "a policy file must hold exactly one mapping")])
    try:
        return Policy.model_validate(docs[0].data)
    except ValidationError as exc:
        raise ManifestError(_pydantic_issues(exc, docs[0], str(file), "")) from None
