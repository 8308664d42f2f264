"""The pure decision core: ``decide(call, manifest, view, policy) -> Decision``.

``decide`` does no I/O, reads no clock and touches no global state: everything it needs is
passed in, so the same call against the same session view and policy always gets the same
decision, and the function can be replayed and property-tested. The guard
(:mod:`toolguard.guard`) is the shell around it that reads stores, writes the audit log and
runs the tool.

Checks are small functions that return (or, as generators, yield) findings, registered
in :data:`CHECKS` and run in order; :func:`decide` collects every finding, never only the
first, and combines them with deny > hold > allow (:func:`toolguard.findings.combine`). A call whose shape is
broken (not a JSON object, too large, too deep, lone surrogates) stops after the shape
check: nothing else can be trusted about it.

Add a check with :func:`extend_checks`::

    def no_fridays(ctx):
        if ctx.call.tool == "deploy":
            yield ctx.finding("side_effect.requires_approval", "deploys need a second look")

    decide = extend_checks({"fridays": no_fridays})
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import _pointer
from .destinations import (
    Destination,
    EmbeddedURL,
    InvalidDestination,
    extract_urls,
    parse_destination,
)
from .findings import Action, Call, Decision, Evidence, Finding, combine
from .manifest import Compiled, CompiledDestination, DestinationSpec, Manifest, Policy

if TYPE_CHECKING:
    from .session import SessionView

__all__ = ["CHECKS", "FINAL_CHECKS", "Check", "Context", "Dest", "decide", "decide_in", "extend_checks", "show"]

DEFAULT_POLICY = Policy()

# Characters that have no business in tool arguments: C0/C1 controls other than tab, LF and
# CR; bidi embeddings, overrides and isolates (Trojan Source); zero-width and other invisible
# format characters; the Unicode tag block (used to smuggle invisible ASCII).
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def show(value: Any, limit: int = 80) -> str:
    """A value quoted for a message: escaped, and truncated with its full length noted."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(text)} chars)"
    return repr(text)


@dataclass(frozen=True, slots=True)
class Dest:
    """One destination value of a call, parsed and matched against its allow-list."""

    spec: DestinationSpec
    pointer: str
    raw: str
    dest: Destination | None
    error: InvalidDestination | None
    allowed: str | None
    enforced: bool
    embedded: EmbeddedURL | None = None

    def evidence(self) -> Evidence:
        detail: dict[str, Any] = {"pointer": self.pointer, "destination_kind": self.spec.kind, "value": self.raw[:200]}
        if self.dest is not None:
            detail["normalized"] = self.dest.normalized[:200]
            if self.dest.host:
                detail["host"] = self.dest.host
            if self.dest.flags:
                detail["flags"] = sorted(self.dest.flags)
        if self.allowed:
            detail["matched_pattern"] = self.allowed
        if self.embedded is not None:
            detail["offset"] = [self.embedded.start, self.embedded.end]
            detail["resource"] = self.embedded.resource
        return Evidence("destination", detail)


class Context:
    """What a check sees: the call, its manifest, the session view and the policy.

    Derived facts (parsed destinations, payload strings) are computed once, on first use.
    """

    __slots__ = ("__dict__", "_dests", "_payload", "c", "call", "decision_id", "manifest", "policy", "view")

    def __init__(self, call: Call, manifest: Manifest | None, view: SessionView, policy: Policy, decision_id: str = "") -> None:
        self.call = call
        self.manifest = manifest
        self.view = view
        self.policy = policy
        #: Given by the guard (the pure core makes no ids); the decision carries it.
        self.decision_id = decision_id
        self._dests: list[Dest] | None = None
        self._payload: list[tuple[str, str]] | None = None
        self.c: Compiled = manifest.compiled if manifest is not None else None  # type: ignore[assignment]

    def finding(self, code: str, message: str, pointer: str = "", evidence: tuple[Evidence, ...] = (), *, action: Action | None = None) -> Finding:
        """Make a finding whose action is resolved by manifest, then policy, then default."""
        if action is None or (self.manifest is not None and code in self.manifest.actions):
            action = self.policy.action_for(code, self.manifest)
        return Finding(code=code, message=message, pointer=pointer, action=action, evidence=evidence)

    @property
    def args(self) -> dict[str, Any]:
        args: dict[str, Any] = self.call.args
        return args

    @property
    def dests(self) -> list[Dest]:
        """Every destination value of the call (URLs inside markdown/html values included)."""
        # Computed once per call. (Not functools.cached_property: in Python 3.11 it takes a
        # lock on every first access, which is every call here.)
        if self._dests is None:
            self._dests = self._find_dests()
        return self._dests

    def _find_dests(self) -> list[Dest]:
        outward = self.c.outward
        out: list[Dest] = []
        for cd in self.c.destinations:
            spec = cd.spec
            for ptr, value in cd.resolve(self.args):
                if not isinstance(value, str):
                    continue  # the schema check reports wrong types
                if spec.kind in ("markdown", "html"):
                    for emb in extract_urls(value, spec.kind):
                        out.append(self._parse(cd, ptr, emb.url, "url", cd.allow_declared, emb))
                elif spec.kind == "path":
                    out.append(self._parse(cd, ptr, value, "path", outward or cd.allow_declared))
                else:
                    memo = cd.memo
                    d = memo.get((ptr, value))
                    if d is None:
                        if len(memo) >= _MEMO_LIMIT:
                            memo.clear()
                        d = self._parse(cd, ptr, value, spec.kind, outward or cd.allow_declared)
                        if len(value) <= _MEMO_VALUE_MAX:
                            memo[(ptr, value)] = d
                    out.append(d)
        return out

    @staticmethod
    def _parse(cd: CompiledDestination, ptr: str, value: str, kind: str, enforced: bool, emb: EmbeddedURL | None = None) -> Dest:
        try:
            d = parse_destination(kind, value, roots=cd.spec.roots)
        except InvalidDestination as exc:
            return Dest(cd.spec, ptr, value, None, exc, None, enforced, emb)
        if cd.allow_declared:
            allowed = cd.allow.match(d)
        else:
            # A path that resolved inside its roots is where the manifest allows it to be.
            allowed = "<roots>" if d.kind == "path" else None
        return Dest(cd.spec, ptr, value, d, None, allowed, enforced, emb)

    @property
    def payload(self) -> list[tuple[str, str]]:
        """The ``(pointer, text)`` strings that carry data out of the call.

        Declared ``payload`` pointers when the manifest has them; otherwise, for a tool with
        an outward side effect, every string argument that is not a destination (secure
        default); otherwise none.
        """
        if self._payload is None:
            self._payload = self._find_payload()
        return self._payload

    def _find_payload(self) -> list[tuple[str, str]]:
        if self.c.payload is not None:
            out: list[tuple[str, str]] = []
            for toks in self.c.payload:
                for ptr, value in _pointer.resolve(self.args, toks):
                    out.extend(_pointer.walk_strings(value, ptr))
            return out
        if not self.c.outward:
            return []
        dest_ptrs = {d.pointer for d in self.dests}
        return [(p, s) for p, s in _pointer.walk_strings(self.args) if p not in dest_ptrs]


Check = Callable[[Context], Iterable[Finding]]

_MEMO_LIMIT = 4096  # parsed destinations memoised per manifest destination entry
_MEMO_VALUE_MAX = 2048  # longer values are parsed every time rather than pinned


# --------------------------------------------------------------------------------------
# Checks


def _clean_text(s: str) -> bool:
    """No invisible/control character and no lone surrogate (``isprintable`` implies both)."""
    return s.isprintable() or (_HIDDEN.search(s) is None and (s.isascii() or _SURROGATE.search(s) is None))


def _plain(value: Any, depth: int, max_depth: int) -> int:
    """The size :func:`_shape` would count for ``value``, or -1 if it would report anything.

    The fast path for well-formed arguments (nearly every call): exact built-in types only,
    clean strings, within the depth cap. Anything else returns -1 and the full walk, which
    names what is wrong, runs instead. Scalars are handled inline: this runs on every call.
    """
    tv = type(value)
    if tv is dict:
        if depth >= max_depth and value:
            return -1
        size = 2
        for k, item in value.items():
            if type(k) is not str or not (k.isprintable() or _clean_text(k)):
                return -1
            ti = type(item)
            if ti is str:
                if not (item.isprintable() or _clean_text(item)):
                    return -1
                size += len(k) + 4 + len(item)
            elif ti is int or ti is bool or item is None:
                size += len(k) + 12
            else:
                n = _plain(item, depth + 1, max_depth)
                if n < 0:
                    return -1
                size += len(k) + 4 + n
        return size
    if tv is list:
        if depth >= max_depth and value:
            return -1
        size = 2
        for item in value:
            ti = type(item)
            if ti is str:
                if not (item.isprintable() or _clean_text(item)):
                    return -1
                size += len(item)
            elif ti is int or ti is bool or item is None:
                size += 8
            else:
                n = _plain(item, depth + 1, max_depth)
                if n < 0:
                    return -1
                size += n
        return size
    if tv is str:
        return len(value) if _clean_text(value) else -1
    if tv is int or tv is bool or value is None:
        return 8
    if tv is float and math.isfinite(value):
        return 8
    return -1


def _c_plain() -> Callable[[Any, int], int] | None:
    from .taint import _C  # the C core, or None without it (or with TOOLGUARD_NO_ACCEL set)

    if _C is None:
        return None
    fn: Callable[[Any, int], int] = _C.plain_size
    return fn


#: :func:`_plain` in the C core (``toolguard._taintc``), or None without it.
_C_PLAIN = _c_plain()


def _shape(args: dict[str, Any], ctx: Context, out: list[Finding]) -> None:
    """Walk the arguments once: JSON types, string keys, depth, size, Unicode hygiene.

    A recursive fast path accepts well-formed arguments; otherwise an iterative walk names
    every problem. In it a node's path is kept as (parent path, key) links and only turned
    into a pointer for a finding.
    """
    policy = ctx.policy
    if policy.max_depth <= 200:
        # The C core's walk first (same rule, strings printable); -1 there is "not known"
        n = _C_PLAIN(args, policy.max_depth) if _C_PLAIN is not None else -1
        if n < 0:
            n = _plain(args, 0, policy.max_depth)
        if 0 <= n <= policy.max_argument_bytes:
            return
    _walk_shape(args, ctx, out)


def _walk_shape(args: dict[str, Any], ctx: Context, out: list[Finding]) -> None:
    """The full shape walk: names every problem :func:`_plain` declined."""
    policy = ctx.policy
    max_depth = policy.max_depth
    max_bytes = policy.max_argument_bytes
    size = 0
    too_deep = False
    hidden = _HIDDEN.search
    # (value, path link, depth); a path link is None (the root) or (parent link, key).
    stack: list[tuple[Any, Any, int]] = [(args, None, 0)]
    pop = stack.pop
    push = stack.append
    while stack:
        value, link, depth = pop()
        tv = type(value)
        if tv is str:
            size += len(value)
            if not value.isascii() and _SURROGATE.search(value):
                p = _link_ptr(link)
                out.append(ctx.finding("call.invalid_unicode", f"the string at {p or '/'} holds a lone surrogate, which is not valid Unicode text", p))
                continue
            m = hidden(value)
            if m is not None:
                p = _link_ptr(link)
                ch = f"U+{ord(m.group()):04X}"
                out.append(
                    ctx.finding(
                        "call.hidden_characters",
                        f"the string at {p or '/'} holds the invisible or control character {ch}",
                        p,
                        (Evidence("rule", {"character": ch}),),
                    )
                )
        elif tv is int or tv is bool or value is None:
            size += 8
        elif tv is dict or isinstance(value, dict):
            if depth >= max_depth and value:
                too_deep = True
                continue
            size += 2
            for k, item in value.items():
                if type(k) is not str:
                    p = _link_ptr(link)
                    out.append(ctx.finding("call.malformed", f"argument keys must be strings; found {type(k).__name__} key {show(k)} at {p or '/'}", p))
                    continue
                size += len(k) + 4
                if not k.isascii() and _SURROGATE.search(k):
                    p = _link_ptr(link)
                    out.append(ctx.finding("call.invalid_unicode", f"an argument key at {p or '/'} holds a lone surrogate", p))
                    continue
                if hidden(k):
                    p = _link_ptr((link, k))
                    out.append(ctx.finding("call.malformed", f"the argument key {show(k)} holds control or invisible characters", p))
                push((item, (link, k), depth + 1))
        elif tv is list or isinstance(value, list):
            if depth >= max_depth and value:
                too_deep = True
                continue
            size += 2
            for i, item in enumerate(value):
                push((item, (link, i), depth + 1))
        elif isinstance(value, str):  # str subclasses: checked like str
            push((str(value), link, depth))
        elif isinstance(value, (bool, int)):
            size += 8
        elif isinstance(value, float):
            size += 8
            if not math.isfinite(value):
                p = _link_ptr(link)
                out.append(ctx.finding("call.malformed", f"the number at {p or '/'} is {value}, which JSON cannot carry", p))
        else:
            p = _link_ptr(link)
            out.append(ctx.finding("call.malformed", f"the value at {p or '/'} is a {type(value).__name__}, not a JSON value", p))
        if size > max_bytes:
            out.append(ctx.finding("call.too_large", f"the arguments exceed the {max_bytes}-byte cap"))
            return
    if too_deep:
        out.append(ctx.finding("call.too_deep", f"the arguments nest deeper than {max_depth} levels"))


def _link_ptr(link: Any) -> str:
    keys: list[Any] = []
    while link is not None:
        link, key = link
        keys.append(key)
    keys.reverse()
    return _pointer.format_pointer(keys)


def check_shape(ctx: Context) -> list[Finding]:
    """The call must be a JSON object of JSON values, within size and depth caps."""
    out: list[Finding] = []
    if not isinstance(ctx.call.tool, str) or not ctx.call.tool:
        out.append(ctx.finding("call.malformed", "the call names no tool"))
        return out
    if not isinstance(ctx.call.args, dict):
        out.append(ctx.finding("call.malformed", f"the arguments must be a JSON object, not {type(ctx.call.args).__name__}"))
        return out
    _shape(ctx.call.args, ctx, out)
    return out


def check_tool(ctx: Context) -> list[Finding]:
    """A tool with no manifest gets ``tool.unknown`` (deny unless the policy says hold)."""
    out: list[Finding] = []
    if ctx.manifest is None:
        out.append(ctx.finding(
            "tool.unknown",
            f"no manifest declares the tool {show(ctx.call.tool)}",
            action=ctx.policy.actions.get("tool.unknown", ctx.policy.unknown_tools),
        ))
    return out


def check_cut_off(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    if ctx.view.cut_off:
        out.append(ctx.finding(
            "principal.cut_off",
            f"principal {show(ctx.view.principal)} is cut off: {ctx.view.cut_off}",
            evidence=(Evidence("rule", {"principal": ctx.view.principal, "reason": ctx.view.cut_off}),),
        ))
    return out


def check_schema(ctx: Context) -> list[Finding]:
    """Validate the arguments against the manifest's schema; report every violation."""
    out: list[Finding] = []
    validator = ctx.c.validator
    if validator.is_valid(ctx.call.args):
        return out
    for ptr, message, keyword, schema_path in sorted(validator.iter_errors(ctx.call.args)):
        if len(message) > 300:
            message = message[:300] + "..."
        out.append(ctx.finding(
            "schema.invalid",
            f"{ptr or '/'}: {message}",
            ptr,
            (Evidence("schema", {"keyword": keyword, "schema_path": schema_path}),),
        ))
    return out


_SUSPICIOUS_FLAGS = frozenset(
    {"ip_literal", "ipv4_mapped", "noncanonical_ip", "percent_encoded_host", "mixed_script", "confusable", "userinfo"}
)


def check_destinations(ctx: Context) -> list[Finding]:
    """Parse every destination, match it against its allow-list, flag odd hosts."""
    out: list[Finding] = []
    for d in ctx.dests:
        if d.error is not None:
            reason = getattr(d.error, "reason", "invalid")
            if d.embedded is not None and reason == "url.relative":
                continue  # a relative link in rendered text resolves against its own page, not a foreign host
            code = "path.outside_root" if reason.startswith("path.outside_root") or reason == "path.traversal" or reason == "path.encoded_traversal" else "destination.invalid"
            out.append(ctx.finding(code, f"{d.pointer}: {show(d.raw)} is not a valid {d.spec.kind if d.embedded is None else 'url'} destination: {d.error}", d.pointer, (d.evidence(),)))
            continue
        assert d.dest is not None
        if d.allowed is not None:
            continue
        if "special_scheme" in d.dest.flags:
            out.append(ctx.finding(
                "destination.invalid",
                f"{d.pointer}: {show(d.raw)} uses the {d.dest.scheme}: scheme, which is not a network destination and is not on the allow-list",
                d.pointer,
                (d.evidence(),),
            ))
            continue
        odd = sorted(d.dest.flags & _SUSPICIOUS_FLAGS)
        if odd:
            out.append(ctx.finding(
                "destination.suspicious_host",
                f"{d.pointer}: {show(d.raw)} is not on the allow-list and its host looks deceptive ({', '.join(odd)})",
                d.pointer,
                (d.evidence(),),
            ))
        if d.enforced and d.spec.allow is None and d.embedded is None and _user_typed(ctx, d):
            # No allow-list declared: the user decides. A destination the user typed passes;
            # one the model chose is held; one from untrusted content is denied (exfil).
            continue
        if d.enforced:
            # The message names the refused value, not the allow-list: model-facing text must
            # not teach an injected instruction which destinations would pass.
            out.append(ctx.finding(
                "destination.not_allowed",
                f"{d.pointer}: {show(d.dest.normalized)} is not on the allow-list for {d.spec.arg}",
                d.pointer,
                (d.evidence(),),
            ))
    return out


def _user_typed(ctx: Context, d: Dest) -> bool:
    """The destination (whole value; for URLs and hosts, also the host) is in trusted text."""
    assert d.dest is not None
    forms = [d.dest.normalized]
    if d.dest.kind in ("url", "domain", "host") and d.dest.host:
        forms.append(d.dest.host)
    # Whole values: a number the user typed does not make a destination that contains it
    # (14155550198@sms.evil.test) one the user typed. Phone numbers and IBANs are met by
    # their digits, as people write them in groups.
    whole = d.dest.kind not in ("phone", "iban")
    return ctx.view.ledger.sanctioned(d.raw, forms=forms, whole=whole) is not None


def check_side_effect(ctx: Context) -> list[Finding]:
    """The policy may require approval for a whole side-effect class (default: financial)."""
    out: list[Finding] = []
    m = ctx.manifest
    assert m is not None
    if m.approval.required:
        out.append(ctx.finding(
            "side_effect.requires_approval",
            f"every call of {m.tool} needs an approver (manifest approval.required)",
            evidence=(Evidence("rule", {"side_effect": m.side_effect, "manifest": "approval.required"}),),
            action="hold",
        ))
        return out
    action = ctx.policy.side_effects.get(m.side_effect)
    if action is not None and action != "allow":
        out.append(ctx.finding(
            "side_effect.requires_approval",
            f"the policy requires approval for {m.side_effect} tools",
            evidence=(Evidence("rule", {"side_effect": m.side_effect, "policy": f"side_effects.{m.side_effect}"}),),
            action=action,
        ))
    return out


def _exfil_checks(final: bool = False) -> dict[str, Check]:
    from . import exfil

    return dict(exfil.FINAL_CHECKS if final else exfil.CHECKS)


def _quiet_rule() -> tuple[frozenset[Check], Callable[[Context], bool]]:
    from . import exfil

    return exfil.QUIET, exfil.quiet


#: The exfiltration checks skipped when :func:`toolguard.exfil.quiet` says none can fire.
_QUIET, _quiet = _quiet_rule()


#: The checks ``decide`` runs, in order. ``shape`` runs first; if it finds a broken call,
#: nothing else runs.
CHECKS: Mapping[str, Check] = MappingProxyType({
    "shape": check_shape,
    "cut_off": check_cut_off,
    "tool": check_tool,
    "schema": check_schema,
    "destinations": check_destinations,
    "side_effect": check_side_effect,
    **_exfil_checks(),
})
#: Checks that run whether or not the tool has a manifest; every other check needs one.
NO_MANIFEST_CHECKS = frozenset({"shape", "cut_off", "tool"})

#: Checks that run only when no other finding denies the call: they catch what is wrong
#: with a call that is otherwise fine (the lethal-trifecta rule), and tell the approver of
#: a held call where its deciding arguments came from.
FINAL_CHECKS: Mapping[str, Check] = MappingProxyType(_exfil_checks(final=True))

_SHAPE_STOPPERS = frozenset({"call.malformed", "call.too_large", "call.too_deep", "call.invalid_unicode"})


def _decide(checks: Mapping[str, Check], call: Call, manifest: Manifest | None, view: SessionView, policy: Policy) -> Decision:
    return decide_in(Context(call, manifest, view, policy), checks)


def decide_in(ctx: Context, checks: Mapping[str, Check] = CHECKS) -> Decision:
    """:func:`decide` on a prepared :class:`Context` (the guard keeps it for what follows)."""
    if checks is CHECKS:
        return _decide_builtin(ctx)
    call, manifest = ctx.call, ctx.manifest
    tool = call.tool if isinstance(call.tool, str) else ""
    findings: list[Finding] = []
    quiet: bool | None = None  # computed at the first exfiltration check
    for name, check in checks.items():
        if manifest is None and name not in NO_MANIFEST_CHECKS:
            continue
        if check in _QUIET:
            if quiet is None:
                quiet = _quiet(ctx)
            if quiet:
                continue
        found = check(ctx)
        if found:  # built-in checks return a list, empty when they find nothing
            findings.extend(found)
            if name == "shape" and any(f.code in _SHAPE_STOPPERS for f in findings):
                return combine(findings, tool=tool, call_id=call.id, decision_id=ctx.decision_id)
    # The final checks run unless something already denies: on a held call they tell the
    # approver where its deciding arguments came from; on a denied one they would only pile
    # a generic hold on top of the real reason.
    if manifest is not None and (not findings or all(f.action != "deny" for f in findings)):
        for check in FINAL_CHECKS.values():
            if check in _QUIET and (quiet if quiet is not None else _quiet(ctx)):
                continue
            found = check(ctx)
            if found:
                findings.extend(found)
    return combine(findings, tool=tool, call_id=call.id, decision_id=ctx.decision_id)


_EXFIL_CHECKS = tuple(_exfil_checks().values())
_FINAL = tuple(FINAL_CHECKS.values())


def _decide_builtin(ctx: Context) -> Decision:
    """The general loop of :func:`decide_in` for the built-in checks, written out.

    Every call runs this; spelled out, it skips the per-check bookkeeping (a check that can
    find nothing for this call is not called). It decides exactly as the loop does: shape
    first (a broken call stops there), the cut-off, then, with a manifest, schema,
    destinations, side effect and the exfiltration checks (skipped together when
    :func:`toolguard.exfil.quiet` says none can fire), and the final checks unless a finding
    denies. tests/exfil compare both on every case.
    """
    call, manifest = ctx.call, ctx.manifest
    tool = call.tool if isinstance(call.tool, str) else ""
    findings = check_shape(ctx)
    if findings and any(f.code in _SHAPE_STOPPERS for f in findings):
        return combine(findings, tool=tool, call_id=call.id, decision_id=ctx.decision_id)
    if ctx.view.cut_off:
        findings += check_cut_off(ctx)
    if manifest is None:
        findings += check_tool(ctx)
        return combine(findings, tool=tool, call_id=call.id, decision_id=ctx.decision_id)
    findings += check_schema(ctx)
    findings += check_destinations(ctx)
    findings += check_side_effect(ctx)
    # _QUIET is read at call time: a test may empty it to switch the skip off
    quiet = bool(_QUIET) and _quiet(ctx)
    if not quiet:
        for check in _EXFIL_CHECKS:
            findings += check(ctx)
    if not quiet and (not findings or all(f.action != "deny" for f in findings)):
        for check in _FINAL:
            findings += check(ctx)
    return combine(findings, tool=tool, call_id=call.id, decision_id=ctx.decision_id)


def decide(call: Call, manifest: Manifest | None, view: SessionView, policy: Policy = DEFAULT_POLICY) -> Decision:
    """Decide one call against its manifest (None: unknown tool), the session view and the policy.

    Pure and deterministic. It may raise only on a bug; the guard turns any exception into a
    ``guard.error`` deny.
    """
    return _decide(CHECKS, call, manifest, view, policy)


def extend_checks(extra: Mapping[str, Check]) -> Callable[[Call, Manifest | None, SessionView, Policy], Decision]:
    """Return a ``decide`` function that also runs ``extra`` checks (after the built-in ones)."""
    checks = {**CHECKS, **extra}

    def decide_extended(call: Call, manifest: Manifest | None, view: SessionView, policy: Policy = DEFAULT_POLICY) -> Decision:
        return _decide(checks, call, manifest, view, policy)

    return decide_extended
