"""The accounting layer: what the guard does around each decision besides deciding.

After the pure core decides a call, :meth:`Accounting.after_decide` (in this order):

1. reserves the call's budgets (:mod:`toolguard.egress`) when the verdict is allow. The
   reservation is counted *before* the tool runs, so a crash between deciding and running
   can only over-count. A budget that does not fit adds ``budget.exceeded`` (hold by
   default) and the decision is recombined;
2. counts the decision against the cut-off rules (:mod:`toolguard.cutoff`) and, when a rule
   fires, cuts the principal off: the call gets ``principal.cut_off`` (deny) at once;
3. writes the decision to the audit log (:mod:`toolguard.audit`);
4. puts the decision on the call's span and metrics (:mod:`toolguard.telemetry`).

After the tool ran, :meth:`Accounting.after_execute` applies the output constraints
(:mod:`toolguard.outputs`: schema, redaction, size cap), counts the output edge (bytes and
distinct items of labelled output returned into the principal's sessions) and, when an
output budget does not fit, withholds the output (the verdict becomes hold or deny).

Everything fails closed: any exception here turns the decision into a deny
(``store.unavailable`` when a store cannot be reached, ``guard.error`` otherwise), and an
output that cannot be checked is withheld.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import _pointer
from . import outputs as _outputs
from ._pointer import Resolver
from ._pointer import compile_resolver as compile_pointer
from .anchors import AnchorStore
from .audit import AuditLog, policy_revision
from .cutoff import CutOff, CutoffRules, KillList, MemoryKillList, lift, open_kill_list
from .egress import (
    Breach,
    Budgets,
    Charge,
    CounterStore,
    LeasedCounterStore,
    MemoryCounterStore,
    Reservation,
    _check_charges,
    open_counter_store,
)
from .errors import StoreUnavailable
from .findings import Call, Decision, Evidence, Finding, combine
from .manifest import OUTWARD_EFFECTS, Manifest, ManifestSet, Policy
from .outputs import (
    OutputReport,
    output_items,
    process_output,
    untouched,
    untouched_plan,
    untouched_with,
)
from .taint import _C

if TYPE_CHECKING:
    from .session import Session
    from .telemetry import Telemetry

__all__ = ["Accounting", "Track", "destination_key", "egress_bytes", "error_decision", "measure_egress"]

log = logging.getLogger("toolguard")


def error_decision(call: Call, exc: BaseException, decision: Decision | None = None) -> Decision:
    """A deny for an internal failure: ``store.unavailable`` for StoreUnavailable, else ``guard.error``.

    The findings of ``decision`` (if any) are kept beside the error; its id is kept too.
    """
    code = "store.unavailable" if isinstance(exc, StoreUnavailable) else "guard.error"
    what = "a state store is unavailable" if code == "store.unavailable" else f"toolguard failed ({type(exc).__name__})"
    finding = Finding(
        code=code,
        message=f"{what} while accounting for this call; denied to fail closed",
        action="deny",
        evidence=(Evidence("error", {"type": type(exc).__name__, "detail": str(exc)[:300]}),),
    )
    tool = call.tool if isinstance(call.tool, str) else ""
    kept = list(decision.findings) if decision is not None else []
    out = combine([*kept, finding], tool=tool, call_id=call.id if isinstance(call.id, str) else "")
    return out.with_id(decision.decision_id) if decision is not None else out


def _recombine(decision: Decision, extra: list[Finding]) -> Decision:
    return combine([*decision.findings, *extra], tool=decision.tool, call_id=decision.call_id).with_id(decision.decision_id)


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class _EgressPlan:
    """What measuring a call's egress needs from its manifest, parsed once."""

    dests: tuple[tuple[str, Resolver, tuple[str, ...]], ...]  # (kind, resolver, roots)
    payload: tuple[Resolver, ...] | None
    outward: bool
    # The payload pointers' keys when each is one plain key (``/body``), all distinct and
    # none the first key of a destination pointer: no string is then reached twice, and
    # :func:`egress_bytes` adds sizes without remembering pointers.
    disjoint: tuple[str, ...] | None = None
    # Each destination pointer as ``(key, each)`` when every one is ``/key`` (False) or
    # ``/key/*`` (True), the shapes :func:`~toolguard._pointer.compile_resolver` looks up
    # directly: :func:`egress_bytes` then reads their values without building pointers.
    dest_keys: tuple[tuple[str, bool], ...] | None = None


def _dest_keys(manifest: Manifest) -> tuple[tuple[str, bool], ...] | None:
    out = []
    for cd in manifest.compiled.destinations:
        tokens = cd.spec.tokens
        if not (len(tokens) in (1, 2) and isinstance(tokens[0], str) and not _pointer._is_index(tokens[0])
                and (len(tokens) == 1 or tokens[1] is _pointer.WILDCARD)):
            return None
        out.append((tokens[0], len(tokens) == 2))
    return tuple(out)


_PLANS: dict[int, tuple[Manifest, _EgressPlan]] = {}

#: The C core's ``egress_size`` (the disjoint branch of :func:`_plan_bytes`), or None without
#: it (or with ``TOOLGUARD_NO_ACCEL=1``); the tests swap it to compare both.
_C_EGRESS: Any = _C.egress_size if _C is not None else None


def _plan_of(manifest: Manifest) -> _EgressPlan:
    hit = _PLANS.get(id(manifest))
    if hit is None or hit[0] is not manifest:
        payload_tokens = manifest.payload_tokens
        disjoint: tuple[str, ...] | None = None
        if payload_tokens is not None and all(len(t) == 1 and isinstance(t[0], str) for _, t in payload_tokens):
            keys = tuple(t[0] for _, t in payload_tokens)
            firsts = {spec.tokens[0] if spec.tokens else None for spec in manifest.destinations}
            if len(set(keys)) == len(keys) and all(isinstance(f, str) for f in firsts) and not firsts & set(keys):
                disjoint = keys
        plan = _EgressPlan(
            # the manifest's own compiled destination pointers
            tuple((cd.spec.kind, cd.resolve, cd.spec.roots) for cd in manifest.compiled.destinations),
            tuple(compile_pointer(t) for _, t in payload_tokens) if payload_tokens is not None else None,
            manifest.side_effect in OUTWARD_EFFECTS,
            disjoint,
            _dest_keys(manifest),
        )
        _PLANS[id(manifest)] = hit = (manifest, plan)
    return hit[1]


def _payload_bytes(payload: tuple[Resolver, ...], args: dict[str, Any]) -> tuple[int, set[str]]:
    """UTF-8 bytes of every string the payload pointers reach (each counted once), and their pointers."""
    seen: set[str] = set()
    total = 0
    for resolve in payload:
        for ptr, value in resolve(args):
            if type(value) is str:
                if ptr not in seen:
                    seen.add(ptr)
                    total += _utf8(value)
                continue
            for p, s in _pointer.walk_strings(value, ptr):
                if p not in seen:
                    seen.add(p)
                    total += _utf8(s)
    return total, seen


def measure_egress(call: Call, manifest: Manifest) -> tuple[int, list[tuple[str, str, str, tuple[str, ...]]]]:
    """Bytes a call sends out, and its destinations as ``(kind, value, pointer, roots)``.

    Bytes are the UTF-8 sizes of the payload strings (the manifest's ``payload`` pointers;
    without them, for an outward tool, every string that is not a destination) plus the
    destination values themselves (a URL carries data in its path and query).
    """
    plan = _plan_of(manifest)
    args = call.args if isinstance(call.args, dict) else {}
    dests: list[tuple[str, str, str, tuple[str, ...]]] = []
    for kind, resolve, roots in plan.dests:
        for ptr, value in resolve(args):
            if isinstance(value, str):
                dests.append((kind, value, ptr, roots))
    total = 0
    if plan.payload is not None:
        total, seen = _payload_bytes(plan.payload, args)
        total += sum(_utf8(v) for _, v, p, _ in dests if p not in seen)
    elif plan.outward:
        total = sum(_utf8(s) for _, s in _pointer.walk_strings(args))
    else:
        total = sum(_utf8(v) for k, v, _, _ in dests if k not in ("markdown", "html"))
    return total, dests


def egress_bytes(call: Call, manifest: Manifest) -> int:
    """The first item of :func:`measure_egress` alone, without listing the destinations."""
    return _plan_bytes(_plan_of(manifest), call, manifest)


def _plan_bytes(plan: _EgressPlan, call: Call, manifest: Manifest) -> int:
    """:func:`egress_bytes` with the manifest's plan at hand (the fast path keeps it)."""
    payload = plan.payload
    if payload is None:
        return measure_egress(call, manifest)[0]
    args = call.args if isinstance(call.args, dict) else {}
    if plan.disjoint is not None:
        if plan.dest_keys is not None and _C_EGRESS is not None:
            total = _C_EGRESS(args, plan.disjoint, plan.dest_keys)  # the loops below, in C
            if total >= 0:
                return total  # type: ignore[no-any-return]
        # no string is reached twice: add sizes without remembering pointers
        total = 0
        for key in plan.disjoint:
            if key in args:
                value = args[key]
                if type(value) is str:
                    total += len(value) if value.isascii() else _utf8(value)
                else:
                    total += sum(_utf8(s) for _, s in _pointer.walk_strings(value))
        dest_keys = plan.dest_keys
        if dest_keys is not None:
            # what the ``/key`` and ``/key/*`` resolvers reach, read in place
            for key, each in dest_keys:
                if key not in args:
                    continue
                value = args[key]
                if not each:
                    if isinstance(value, str):
                        total += len(value) if value.isascii() else _utf8(value)
                    continue
                items = value if isinstance(value, list) else value.values() if isinstance(value, dict) else ()
                for item in items:
                    if isinstance(item, str):
                        total += len(item) if item.isascii() else _utf8(item)
            return total
        for _, resolve, _ in plan.dests:
            total += sum(_utf8(value) for _, value in resolve(args) if isinstance(value, str))
        return total
    total, seen = _payload_bytes(payload, args)
    for _, resolve, _ in plan.dests:
        total += sum(_utf8(value) for ptr, value in resolve(args) if isinstance(value, str) and ptr not in seen)
    return total


def destination_key(kind: str, value: str, roots: tuple[str, ...] = ()) -> list[str]:
    """The normalised destinations a value names, as budgets count them.

    URLs count by host (``https://a.example/x`` and ``/y`` are one destination); every other
    kind by its normalised form; markdown/html by the hosts of the URLs inside. A value that
    does not parse counts as itself, lower-cased.
    """
    from .destinations import InvalidDestination, extract_urls, parse_destination

    if kind in ("markdown", "html"):
        out = []
        for emb in extract_urls(value, kind):
            out.extend(destination_key("url", emb.url))
        return out
    try:
        d = parse_destination(kind, value, roots=roots)
    except (InvalidDestination, ValueError):
        return [f"{kind}:{value.strip().lower()[:500]}"]
    if kind == "url":
        return [f"host:{d.host}" if d.host else f"url:{d.normalized}"]
    return [f"{kind}:{d.normalized}"]


@dataclass(frozen=True)
class _ChargePlan:
    """The call-edge budgets of one (principal, class, tool), with their charges prebuilt.

    ``template`` holds the charges of a call with 0 egress bytes (None when a budget counts
    per destination: those charges depend on the call); :meth:`charges` fills in the bytes.
    """

    manifest: Manifest
    slots: tuple[Any, ...]
    by_destination: bool
    egress_metric: bool
    template: tuple[Charge, ...] | None

    def charges(self, egress_bytes: int) -> list[Charge]:
        return [
            Charge(c.key, c.limit, c.per, egress_bytes, None, c.budget, c.metric) if c.metric == "egress_bytes" else c
            for c in self.template or ()
        ]


@dataclass(slots=True)
class Track:
    """What the accounting layer keeps about one call while it is mediated.

    Without a span it is its own context manager (``with accounting.track(...) as t``
    hands out the record itself): nothing else is built per call.
    """

    call: Call
    principal: str
    session: str
    span: Any = None
    egress_bytes: int = 0

    def __enter__(self) -> Track:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _FastPlan:
    """What the fused fast path needs about one (principal, tool), resolved once.

    ``series`` holds ``(key, per, cost)`` of the call-edge charges, the cost None where it
    is the call's egress bytes; None when the call edge cannot be served from leases
    (budgets per destination or distinct destinations, a store without leases).
    ``output_free`` is True when no output-edge budget applies.
    """

    manifest: Manifest
    cls: str
    call_free: bool  # no call-edge budget at all
    series: tuple[tuple[str, float, int | None], ...] | None
    egress: bool  # a call-edge budget counts egress bytes
    output_free: bool
    measure: _EgressPlan | None = None  # the manifest's egress plan, when ``egress``
    # :func:`~toolguard.outputs.untouched_plan` of the manifest's output spec (None: use
    # :func:`~toolguard.outputs.untouched`)
    output: tuple[Any, int, tuple[Any, ...], int] | None = None


def _budget_finding(b: Breach, manifest: Manifest | None, policy: Policy, principal: str, edge: str) -> Finding:
    c = b.charge
    cost = 1 if c.member is not None else c.cost
    what = "this output" if edge == "output" else "this call"
    return Finding(
        code="budget.exceeded",
        message=f"{c.budget} ({c.describe()}) would be exceeded for principal {principal!r}: {b.used} used, {what} needs {cost} more",
        action=policy.action_for("budget.exceeded", manifest),
        evidence=(Evidence("limit", {**b.to_dict(), "edge": edge, "principal": principal}),),
    )


class Accounting:
    """Budgets, cut-off rules, output constraints, audit and telemetry around each decision.

    The guard builds one from its keyword options; build one yourself to share stores
    between guards. Any argument left as None takes its default: counters and kill list
    from ``policy.store`` when set (else in memory), the audit log from ``policy.audit.path``
    when set (else none), telemetry through the global OpenTelemetry providers
    (``telemetry=False`` for none).

    Arguments:
        manifests, policy: what the guard decides with.
        counters: a :class:`~toolguard.egress.CounterStore`.
        kill_list: a :class:`~toolguard.cutoff.KillList`.
        audit: an :class:`~toolguard.audit.AuditLog`.
        telemetry: a :class:`~toolguard.telemetry.Telemetry`, or False.
        principal_class: ``principal -> class name | None``, consulted before
            ``principals.members``.
        clock: the wall clock for windows (``time.time``).
    """

    def __init__(
        self,
        manifests: ManifestSet,
        policy: Policy,
        *,
        counters: CounterStore | None = None,
        kill_list: KillList | None = None,
        audit: AuditLog | None = None,
        telemetry: Telemetry | Literal[False] | None = None,
        principal_class: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.manifests = manifests
        self.policy = policy
        self.counters: CounterStore = counters if counters is not None else (
            open_counter_store(policy.store) if policy.store else MemoryCounterStore()
        )
        self.kill_list: KillList = kill_list if kill_list is not None else (
            open_kill_list(policy.store) if policy.store else MemoryKillList()
        )
        self.audit: AuditLog | None = audit if audit is not None else (
            AuditLog.from_settings(policy.audit, anchors=_open_anchors(policy.store)) if policy.audit.path else None
        )
        if telemetry is None:
            from .telemetry import Telemetry  # opentelemetry-api is imported only when used

            telemetry = Telemetry()
        self.telemetry: Telemetry | None = telemetry if telemetry is not False else None
        self.budgets = Budgets(policy, principal_class=principal_class)
        self.rules = CutoffRules(policy.cutoff)
        self._no_rules = not self.rules
        self.policy_revision = policy_revision(policy)
        self.clock = clock
        self._usage: dict[str, Mapping[str, int]] = {}
        self._plans: dict[tuple[str, str, str], _ChargePlan] = {}
        self._fast: dict[tuple[str, str], _FastPlan] = {}
        #: Whether the fused fast path may serve calls (False: every call takes the general
        #: path; the tests run both on the same calls and compare).
        self.fast_path = True

    def __repr__(self) -> str:
        return f"Accounting(counters={self.counters!r}, kill_list={self.kill_list!r}, audit={self.audit!r})"

    # -- reads -------------------------------------------------------------------------

    def cut_off_reason(self, principal: str) -> str | None:
        """Why ``principal`` is cut off, or None (what the session view carries)."""
        return self.kill_list.get(principal)

    def usage_hint(self, principal: str) -> Mapping[str, int]:
        """The counter usage seen at the principal's last reservation in this process (for views)."""
        return self._usage.get(principal, {})

    def usage(self, principal: str, tools: list[str] | None = None) -> list[dict[str, Any]]:
        """Every budget that applies to ``principal`` (over ``tools``, default all) with its use now.

        Each row: ``budget``, ``metric``, ``series``, ``used``, ``max``, ``per``. Per-destination
        series are not listed (there is one per destination).
        """
        cls = self.budgets.principal_class(principal)
        probes: list[Charge] = []
        for name in tools if tools is not None else sorted(self.manifests.manifests):
            probes.extend(self.budgets.probes(principal, cls, name, self.manifests.get(name)))
        res = self.counters.peek(probes, self.clock())
        return [
            {"budget": c.budget, "metric": c.metric, "series": c.key, "used": res.usage.get(c.key, 0), "max": c.limit, "per": c.per}
            for c in probes
        ]

    # -- the call's span ---------------------------------------------------------------

    def track(self, call: Call, session: Session) -> AbstractContextManager[Track]:
        """Open the call's span (current while the tool runs) and the per-call record."""
        if self.telemetry is None or not self.telemetry.tracing():
            return Track(call, session.principal, session.session_id)
        return self._span_track(self.telemetry, call, session)

    @staticmethod
    @contextmanager
    def _span_track(telemetry: Telemetry, call: Call, session: Session) -> Iterator[Track]:
        t = Track(call, session.principal, session.session_id)
        with telemetry.span(call, session.principal, session.session_id) as span:
            t.span = span
            yield t

    # -- before the tool runs ----------------------------------------------------------

    def after_decide(self, track: Track | None, call: Call, session: Session, decision: Decision, decide_seconds: float = 0.0) -> Decision:
        """Budgets, cut-off rules, audit and telemetry for a decided call; returns the final decision."""
        t0 = time.perf_counter()
        if self.fast_path and decision.verdict == "allow" and (not decision.findings or self._no_rules):
            fast = self._fast_decide(t0, track, call, session, decision, decide_seconds)
            if fast is not None:
                return fast
        principal = session.principal
        manifest = self.manifests.get(call.tool) if isinstance(call.tool, str) else None
        egress = 0
        cut: CutOff | None = None
        try:
            decision, egress, cut = self._account(call, principal, manifest, decision)
        except Exception as exc:
            log.exception("toolguard: accounting failed for %r", call.tool)
            decision, egress = error_decision(call, exc, decision), 0
        account_s = time.perf_counter() - t0
        try:
            if self.audit is not None:
                if cut is not None:
                    self.audit.cutoff("cut", principal=cut.principal, reason=cut.reason, by=cut.by, evidence=cut.evidence)
                self.audit.decision(
                    decision, call, principal=principal, session=session.session_id, manifest=manifest,
                    policy_revision=self.policy_revision,
                    timing={"decide_us": decide_seconds * 1e6, "account_us": account_s * 1e6},
                )
        except Exception as exc:
            log.exception("toolguard: cannot write the audit record of %r", call.tool)
            decision = error_decision(call, exc, decision)
        if self.telemetry is not None:
            try:
                self.telemetry.decided(track.span if track else None, decision, seconds=decide_seconds + account_s)
                if decision.verdict == "allow":
                    self.telemetry.egress(principal, egress)
            except Exception as exc:
                log.exception("toolguard: telemetry failed")
                decision = error_decision(call, exc, decision)
        if track is not None:
            track.egress_bytes = egress
        return decision

    # -- the fused fast path -----------------------------------------------------------
    #
    # The common case, "an allowed call, every budget served from a still-valid lease (or no
    # budgets), no cut-off rule can fire, telemetry recording nothing, output not altered",
    # done in as few steps as possible. Each step below is the general path's own step with
    # the branches that cannot apply left out; anything else returns None and the general
    # path runs, unchanged (tests/egress run both on the same calls and compare decisions,
    # counters, usage hints and audit records).

    def _quiet(self, track: Track | None) -> bool:
        """Whether telemetry records nothing for this call (no span, no meter provider)."""
        tel = self.telemetry
        return tel is None or ((track is None or track.span is None) and not tel._metrics())

    def _fast_plan(self, principal: str, tool: str) -> _FastPlan | None:
        classify = self.budgets._classify
        key = (principal, tool) if classify is None else (principal, f"{tool}\x00{self.budgets.principal_class(principal)}")
        plan = self._fast.get(key)
        manifest = self.manifests.get(tool)
        if plan is not None and plan.manifest is manifest:
            return plan
        if manifest is None:
            return None
        cls = self.budgets.principal_class(principal)
        charge_plan = self._charge_plan(principal, manifest)
        series: tuple[tuple[str, float, int | None], ...] | None = None
        template = charge_plan.template
        if template is not None and isinstance(self.counters, LeasedCounterStore) and all(c.member is None for c in template):
            _check_charges(template)
            if len({c.key for c in template}) == len(template):
                series = tuple((c.key, c.per, None if c.metric == "egress_bytes" else c.cost) for c in template)
        _, out_slots = self.budgets.slots(cls, manifest.tool, manifest)
        plan = _FastPlan(manifest, cls, not charge_plan.slots, series, charge_plan.egress_metric, not out_slots,
                         _plan_of(manifest) if charge_plan.egress_metric else None, untouched_plan(manifest.output))
        if len(self._fast) > 100_000:
            self._fast.clear()
        self._fast[key] = plan
        return plan

    def _fast_decide(self, t0: float, track: Track | None, call: Call, session: Session, decision: Decision, decide_seconds: float) -> Decision | None:
        """:meth:`after_decide` for the common case, or None when the general path must run.

        Nothing is counted before None is returned: the general path then does all the work.
        The steps are those of :meth:`_quiet`, :meth:`_fast_plan` (a cached plan) and
        :func:`egress_bytes`, written out.
        """
        principal = session.principal
        tool = call.tool
        egress = 0
        usage: dict[str, int] | None = None
        try:
            if type(tool) is not str:
                return None
            tel = self.telemetry
            if tel is not None and ((track is not None and track.span is not None) or tel._metrics()):
                return None  # telemetry records this call: the general path
            plan = self._fast.get((principal, tool)) if self.budgets._classify is None else None
            if plan is None or plan.manifest is not self.manifests.manifests.get(tool):
                plan = self._fast_plan(principal, tool)
                if plan is None:
                    return None
            if not plan.call_free:
                series = plan.series
                counters = self.counters
                if series is None or not isinstance(counters, LeasedCounterStore):  # series is only set for one
                    return None
                if plan.egress:
                    measure = plan.measure
                    egress = _plan_bytes(measure, call, plan.manifest) if measure is not None else egress_bytes(call, plan.manifest)
                # Nothing is counted unless every charge fits its lease: after an exception
                # up to here, or a None, the general path does all the work (and fails closed).
                usage = counters.spend(series, self.clock(), egress)
                if usage is None:
                    return None  # a lease ran out or its bucket ended: the general path takes new ones
        except Exception:
            log.debug("toolguard: the fast path gave way to the general path", exc_info=True)
            return None
        if usage is not None:
            try:
                hints = self._usage
                if len(hints) > 100_000:
                    hints.clear()
                before = hints.get(principal)
                # usage replaces every series it names (the common case: it names all of them)
                hints[principal] = usage if before is None or before.keys() <= usage.keys() else {**before, **usage}
            except Exception as exc:  # as in the general path: counted, then denied
                log.exception("toolguard: accounting failed for %r", call.tool)
                decision, egress = error_decision(call, exc, decision), 0
        audit = self.audit
        if audit is not None:
            try:
                audit._decision_timed(
                    decision, call, principal, session.session_id, plan.manifest, self.policy_revision,
                    decide_seconds * 1e6, (time.perf_counter() - t0) * 1e6,
                )
            except Exception as exc:
                log.exception("toolguard: cannot write the audit record of %r", call.tool)
                decision = error_decision(call, exc, decision)
        if track is not None:
            track.egress_bytes = egress
        return decision

    def _account(self, call: Call, principal: str, manifest: Manifest | None, decision: Decision, *, force: bool = False) -> tuple[Decision, int, CutOff | None]:
        egress = 0
        dests: list[tuple[str, str, str, tuple[str, ...]]] = []
        if (decision.verdict == "allow" or force) and manifest is not None:
            plan = self._charge_plan(principal, manifest)
            call_slots = plan.slots
            need_bytes = plan.egress_metric or (self.telemetry is not None and self.telemetry.metrics_enabled)
            if call_slots or need_bytes:
                egress, dests = measure_egress(call, manifest)
            if call_slots:
                if plan.template is not None:
                    charges = plan.charges(egress)
                else:
                    keys: list[str] = []
                    if plan.by_destination:
                        for kind, value, _, roots in dests:
                            keys.extend(destination_key(kind, value, roots))
                    charges = self.budgets.call_charges(principal, call_slots, egress, keys)
                if force:
                    self.counters.reserve(charges, self.clock(), force=True)
                    return decision, egress, None
                decision = self._reserve(charges, decision, manifest, principal, "call")
        if force:
            return decision, egress, None
        decision, cut = self._rules(principal, decision, decision)
        return decision, egress, cut

    def _charge_plan(self, principal: str, manifest: Manifest) -> _ChargePlan:
        """The call-edge budgets of ``principal`` on ``manifest``'s tool, and their charges (cached).

        The series keys and limits depend only on (principal, class, tool): they are built
        once and only the costs are filled in per call. Budgets per destination depend on
        the call's destinations and are built per call.
        """
        cls = self.budgets.principal_class(principal)
        key = (principal, cls, manifest.tool)
        plan = self._plans.get(key)
        if plan is None or plan.manifest is not manifest:
            slots, _ = self.budgets.slots(cls, manifest.tool, manifest)
            by_dest = any(s.scope == "dest" or s.metric == "distinct_destinations" for s in slots)
            template = None if by_dest or not slots else tuple(self.budgets.call_charges(principal, slots, 0, []))
            plan = _ChargePlan(manifest, slots, by_dest, any(s.metric == "egress_bytes" for s in slots), template)
            if len(self._plans) > 100_000:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _reserve(self, charges: list[Charge], decision: Decision, manifest: Manifest | None, principal: str, edge: str) -> Decision:
        now = self.clock()
        res: Reservation = self.counters.reserve(charges, now)
        if not res.ok:
            extra = [_budget_finding(b, manifest, self.policy, principal, edge) for b in res.breaches]
            decision = _recombine(decision, extra)
            if decision.verdict == "allow":  # the policy lets over-budget calls through: count them
                res = self.counters.reserve(charges, now, force=True)
        if len(self._usage) > 100_000:
            self._usage.clear()
        self._usage[principal] = {**self._usage.get(principal, {}), **res.usage}
        return decision

    def _rules(self, principal: str, decision: Decision, event: Decision) -> tuple[Decision, CutOff | None]:
        """Count ``event`` against the cut-off rules; cut off and deny ``decision`` when one fires."""
        if not self.rules:
            return decision, None
        matched = list(self.rules.matching(event))
        if not matched:
            return decision, None
        charges = self.rules.charges(principal, matched)
        res = self.counters.reserve(charges, self.clock(), force=True)
        fired = {b.charge.key for b in res.breaches}
        for c, charge in zip(matched, charges, strict=False):
            if charge.key not in fired:
                continue
            evidence = {
                "rule": c.id, "when": c.rule.when, "count": c.rule.count, "within": c.rule.within,
                "observed": res.usage.get(charge.key, 0), "decision_id": decision.decision_id,
                "tool": decision.tool, "codes": list(event.codes),
            }
            entry = self.kill_list.cut(principal, self.rules.reason(c), evidence, by=f"rule:{c.id}", at=self.clock())
            log.warning("toolguard: principal %r cut off by rule %s: %s", principal, c.id, entry.reason)
            finding = Finding(
                code="principal.cut_off",
                message=f"principal {principal!r} is cut off: {entry.reason}",
                action="deny",
                evidence=(Evidence("rule", {"principal": principal, "reason": entry.reason, "by": entry.by, **evidence}),),
            )
            return _recombine(decision, [finding]), entry
        return decision, None

    # -- after the tool ran ------------------------------------------------------------

    def after_execute(self, track: Track | None, call: Call, session: Session, decision: Decision, result: Any, *, withhold: bool = True) -> tuple[Any, Decision]:
        """Output constraints and output-edge budgets; returns (what the model may see, decision).

        When the decision is no longer allow, the output is withheld (the first item is None).
        With ``withhold=False`` (a call an approver let run) output budgets are counted but
        never withhold the output; the constraints (schema, redaction, cap) still apply.
        """
        principal = session.principal
        if self.fast_path and decision.verdict == "allow" and type(result) is str and type(call.tool) is str:
            # The short path: no output budget, nothing recorded, an output left as it is.
            try:
                plan = self._fast.get((principal, call.tool)) if self.budgets._classify is None else None
                tel = self.telemetry
                audit = self.audit
                if (
                    plan is not None and plan.output_free and plan.manifest is self.manifests.manifests.get(call.tool)
                    and (audit is None or audit.outputs == "altered")
                    and (tel is None or ((track is None or track.span is None) and not tel._metrics()))  # _quiet
                ):
                    quick = plan.output
                    if quick is None:
                        if untouched(result, plan.manifest.output):
                            return result, decision
                    else:
                        # untouched_with's first step: too few digits for any pattern without a trigger
                        digits = _outputs._C_PLAIN_OUTPUT(result, quick[0], quick[1])
                        if 0 <= digits < quick[3] or (digits != -1 and untouched_with(result, quick, plan.manifest.output)):
                            return result, decision
            except Exception:
                log.debug("toolguard: the short output path failed; the general path checks the output", exc_info=True)
        manifest = self.manifests.get(call.tool) if isinstance(call.tool, str) else None
        spec = manifest.output if manifest is not None else None
        span = track.span if track is not None else None
        try:
            value, report = process_output(result, spec, tool=str(call.tool))
        except Exception as exc:
            log.exception("toolguard: cannot check the output of %r", call.tool)
            out = error_decision(call, exc, decision)
            self._output_record(call, session, out, OutputReport(), None, withheld=True, quiet=True)
            if self.telemetry is not None and span is not None:
                self.telemetry.revised(span, out)
            return None, out
        if report.redactions:
            log.warning(
                "toolguard: redacted %d secret(s) from the output of %s (%s)", report.redaction_count, call.tool,
                ", ".join(f"{k}={v}" for k, v in sorted(report.redactions.items())),
            )
        new = decision
        cut: CutOff | None = None
        try:
            if not report.replaced and manifest is not None:
                cls = self.budgets.principal_class(principal)
                _, out_slots = self.budgets.slots(cls, manifest.tool, manifest)
                if out_slots:
                    items = output_items(value, spec) if any(s.metric == "output_items" for s in out_slots) else []
                    charges = self.budgets.output_charges(principal, out_slots, report.final_bytes, items)
                    if withhold:
                        new = self._reserve(charges, decision, manifest, principal, "output")
                    else:
                        self.counters.reserve(charges, self.clock(), force=True)
                    if new is not decision and new.verdict != "allow":
                        delta = combine([f for f in new.findings if f not in decision.findings], tool=new.tool, call_id=new.call_id)
                        new, cut = self._rules(principal, new, delta)
            withheld = new.verdict != "allow"
            if self.audit is not None and cut is not None:
                self.audit.cutoff("cut", principal=cut.principal, reason=cut.reason, by=cut.by, evidence=cut.evidence)
            self._output_record(call, session, new, report, None if withheld else value, withheld=withheld)
        except Exception as exc:
            log.exception("toolguard: output accounting failed for %r", call.tool)
            new, withheld = error_decision(call, exc, decision), True
        if self.telemetry is not None:
            try:
                self.telemetry.output(span, principal, 0 if withheld else report.final_bytes, report.redactions, report.truncated)
                if new is not decision:
                    self.telemetry.revised(span, new)
            except Exception as exc:
                log.exception("toolguard: telemetry failed")
                new, withheld = error_decision(call, exc, new), True
        return (None if withheld else value), new

    def _output_record(self, call: Call, session: Session, decision: Decision, report: OutputReport, value: Any, *, withheld: bool, quiet: bool = False) -> None:
        if self.audit is None:
            return
        if not (withheld or report.altered or self.audit.outputs != "altered"):
            return
        try:
            self.audit.output(
                decision_id=decision.decision_id, principal=session.principal, session=session.session_id,
                tool=str(call.tool), call_id=str(call.id), report=report.to_dict(), output=value,
                extra={"withheld": withheld, "verdict": decision.verdict, "codes": list(decision.codes)},
            )
        except Exception:
            if not quiet:
                raise
            log.exception("toolguard: cannot write the audit record of a withheld output")

    def charge_approved(self, call: Call, session: Session) -> int:
        """Count the budgets of a call an approver let run (counted even over budget); return its egress bytes.

        Call it before running the tool, as the guard does for allowed calls.
        """
        manifest = self.manifests.get(call.tool) if isinstance(call.tool, str) else None
        allow = combine([], tool=str(call.tool), call_id=str(call.id))
        _, egress, _ = self._account(call, session.principal, manifest, allow, force=True)
        if self.telemetry is not None:
            self.telemetry.egress(session.principal, egress)
        return egress

    def held(self, decision: Decision, call: Call, session: Session, hold_id: str) -> None:
        """Record that a held call went to the approval store (audit ``approval``/``requested``)."""
        if self.audit is not None:
            self.audit.approval(
                "requested", hold_id=hold_id, decision_id=decision.decision_id, principal=session.principal,
                tool=decision.tool, actor="toolguard", reason=decision.reason,
            )

    # -- operator actions --------------------------------------------------------------

    def cut(self, principal: str, reason: str, operator: str) -> CutOff:
        """Cut ``principal`` off by hand (recorded in the audit log)."""
        entry = self.kill_list.cut(principal, reason, {"operator": operator}, by=f"operator:{operator}", at=self.clock())
        if self.audit is not None:
            self.audit.cutoff("cut", principal=principal, reason=entry.reason, by=entry.by, evidence=entry.evidence)
        return entry

    def lift(self, principal: str, operator: str) -> CutOff | None:
        """Lift a cut-off and forget the principal's rule counts (recorded in the audit log)."""
        entry = lift(principal, operator, self.kill_list, self.counters)
        if entry is not None and self.audit is not None:
            self.audit.cutoff("lift", principal=principal, reason=entry.reason, by=f"operator:{operator}", evidence={"was": entry.by})
        return entry


def _open_anchors(url: str | None) -> AnchorStore | None:
    """Where the audit log anchors its head: the policy's SQL store, if it has one."""
    if not url or url.startswith("memory:"):
        return None
    from .stores.sql import open_database

    return AnchorStore(open_database(url))
