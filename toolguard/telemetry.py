"""OpenTelemetry: one span per mediated call, and metrics of calls, findings, latency and bytes.

Only ``opentelemetry-api`` is imported. Without an SDK configured by the application every
call here is a no-op; with one, each call the guard mediates becomes a span named
``execute_tool {tool}`` (the GenAI semantic conventions' name for a tool execution), a
child of whatever span is current, so it nests inside LangChain/LangGraph traces that are
instrumented with OpenTelemetry. The tool itself runs inside the span: its own spans
nest below it.

Span attributes:

=============================  =================================================================
``gen_ai.operation.name``      ``execute_tool``
``gen_ai.tool.name``           the tool
``gen_ai.tool.call.id``        the model's call id
``toolguard.principal``        the principal the agent acts for
``toolguard.session``          the session (conversation) id
``toolguard.verdict``          ``allow`` / ``hold`` / ``deny``
``toolguard.finding_codes``    the codes of every finding (string array)
``toolguard.decision_id``      the decision id (as in the audit log)
``toolguard.taint_sources``    how many distinct taint sources the findings cite
``toolguard.redactions``       secrets redacted from the output (when any)
``toolguard.output.truncated`` True when the output was cut to its size cap
``error.type``                 the exception type, when the tool or toolguard raised
=============================  =================================================================

Metrics (instrumentation scope ``toolguard``):

==============================  =========  ==========================================================
``toolguard.calls``             counter    calls by ``toolguard.verdict``, ``toolguard.code`` (the
                                           headline code, ``none`` for a clean call), ``gen_ai.tool.name``
``toolguard.findings``          counter    findings by ``toolguard.code`` and ``toolguard.action``
``toolguard.decision.duration`` histogram  seconds to decide (core decision plus accounting), by verdict
``toolguard.egress.bytes``      counter    payload bytes of allowed calls, by ``toolguard.principal``
``toolguard.output.bytes``      counter    output bytes returned to the model, by ``toolguard.principal``
``toolguard.redactions``        counter    redactions by ``toolguard.redaction.kind``
==============================  =========  ==========================================================

Principal attributes on metrics have one series per principal: with very many principals
pass ``principal_metrics=False``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

# The API keeps the global tracer provider in ``trace._TRACER_PROVIDER`` (None until one is
# set). Reading it is the cheap "is anything recording?" test; if a future API renames it,
# ``Telemetry.tracing`` asks ``get_tracer_provider()`` instead. A provider named by the
# environment is only set on the first ``get_tracer_provider()``: then that is always asked.
_TRACER_SLOT_KNOWN = hasattr(trace, "_TRACER_PROVIDER")
_TRACER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ

try:  # the API's placeholder until the application sets a meter provider
    from opentelemetry.metrics._internal import _ProxyMeterProvider
except ImportError:  # pragma: no cover - a future API without it: always record
    class _ProxyMeterProvider:  # type: ignore[no-redef]
        pass

if TYPE_CHECKING:
    from .findings import Call, Decision

__all__ = ["Telemetry", "taint_source_count"]


def _version() -> str | None:
    return getattr(sys.modules.get("toolguard"), "__version__", None)


def taint_source_count(decision: Decision) -> int:
    """How many distinct earlier outputs the findings cite as the origin of argument values."""
    seen: set[str] = set()
    for f in decision.findings:
        for e in f.evidence:
            if e.kind == "taint":
                d = e.detail
                seen.add(str(d.get("call_id") or d.get("source") or d.get("ref") or sorted(d.items())))
            elif e.kind == "grounding":
                for cid in e.detail.get("from_untrusted") or ():
                    seen.add(str(cid))
    return len(seen)


class Telemetry:
    """Spans and metrics for mediated calls, through the OpenTelemetry API.

    Arguments:
        tracer_provider, meter_provider: providers to use (default: the global ones the
            application configured with the SDK; no-ops when it configured none).
        principal_metrics: put ``toolguard.principal`` on the byte counters (default True).

    Usage::

        guard = Guard(manifests, telemetry=Telemetry())   # the global providers
        guard = Guard(manifests, telemetry=False)         # no spans, no metrics
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None, principal_metrics: bool = True) -> None:
        version = _version()
        self._global_tracing = tracer_provider is None
        self._tracing_live = tracer_provider is not None
        self._global_metrics = meter_provider is None
        self._metrics_live = meter_provider is not None
        self._metrics_checked = 0.0
        self.tracer = trace.get_tracer("toolguard", version, tracer_provider=tracer_provider)
        meter = metrics.get_meter("toolguard", version or "", meter_provider=meter_provider)
        self.principal_metrics = principal_metrics
        self._calls = meter.create_counter("toolguard.calls", unit="{call}", description="Tool calls mediated, by verdict and headline finding code.")
        self._findings = meter.create_counter("toolguard.findings", unit="{finding}", description="Findings, by code and resolved action.")
        self._latency = meter.create_histogram("toolguard.decision.duration", unit="s", description="Time to decide a call (core decision and accounting).")
        self._egress = meter.create_counter("toolguard.egress.bytes", unit="By", description="Payload bytes sent out by allowed calls.")
        self._output = meter.create_counter("toolguard.output.bytes", unit="By", description="Tool output bytes returned to the model.")
        self._redactions = meter.create_counter("toolguard.redactions", unit="{redaction}", description="Secrets redacted from tool outputs.")

    def __repr__(self) -> str:
        return "Telemetry()"

    @contextmanager
    def span(self, call: Call, principal: str, session: str) -> Iterator[Any]:
        """Start the ``execute_tool`` span as a child of the current span and make it current.

        An exception leaving the block is recorded on the span (status ERROR, ``error.type``)
        and re-raised. While the application has set no tracer provider (the global one is
        still the API's proxy) there is nothing to record to, and no span is made at all.
        """
        if not self.tracing():
            yield None
            return
        tool = call.tool if isinstance(call.tool, str) else repr(call.tool)
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "toolguard.principal": principal,
            "toolguard.session": session,
        }
        if isinstance(call.id, str) and call.id:
            attrs["gen_ai.tool.call.id"] = call.id
        span = self.tracer.start_span(f"execute_tool {tool}", kind=SpanKind.INTERNAL, attributes=attrs)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                yield span
            except BaseException as exc:
                span.record_exception(exc)
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}"))
                raise

    def tracing(self) -> bool:
        """False while the application has set no tracer provider: a span would go nowhere.

        Asked on every call, so it avoids ``trace.get_tracer_provider()`` (which reads the
        environment each time no provider is set) while the API's global slot is still
        empty; a provider set later is seen on the next call. A True answer is kept (the
        global provider can be set once and never unset).
        """
        if self._tracing_live:
            return True
        if _TRACER_SLOT_KNOWN and getattr(trace, "_TRACER_PROVIDER", None) is None and not _TRACER_FROM_ENV:
            return False
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return False
        self._tracing_live = True
        return True

    def _metrics(self) -> bool:
        """False while the application has set no meter provider: nothing would be recorded.

        The global provider can be set once and never unset, so a True answer is kept.
        """
        if self._metrics_live:
            return True
        now = time.monotonic()
        if now < self._metrics_checked:
            return False
        if isinstance(metrics.get_meter_provider(), _ProxyMeterProvider):
            self._metrics_checked = now + 1.0  # look again in a second, not on every call
            return False
        self._metrics_live = True
        return True

    @property
    def metrics_enabled(self) -> bool:
        """Whether metrics are being recorded (a meter provider is set)."""
        return self._metrics()

    def decided(self, span: Any, decision: Decision, *, seconds: float) -> None:
        """Put the decision on the span and count it."""
        codes = list(decision.codes)
        if span is not None:
            span.set_attribute("toolguard.verdict", decision.verdict)
            span.set_attribute("toolguard.finding_codes", codes)
            span.set_attribute("toolguard.decision_id", decision.decision_id)
            span.set_attribute("toolguard.taint_sources", taint_source_count(decision))
            if any(c in ("guard.error", "store.unavailable") for c in codes):
                span.set_attribute("error.type", codes[0] if codes else "guard.error")
        if not self._metrics():
            return
        head = decision.stopping()[0].code if decision.stopping() else (codes[0] if codes else "none")
        self._calls.add(1, {"toolguard.verdict": decision.verdict, "toolguard.code": head, "gen_ai.tool.name": decision.tool})
        for f in decision.findings:
            self._findings.add(1, {"toolguard.code": f.code, "toolguard.action": f.action})
        self._latency.record(seconds, {"toolguard.verdict": decision.verdict})

    def egress(self, principal: str, nbytes: int) -> None:
        if nbytes > 0 and self._metrics():
            self._egress.add(nbytes, {"toolguard.principal": principal} if self.principal_metrics else {})

    def output(self, span: Any, principal: str, nbytes: int, redactions: Mapping[str, int], truncated: bool) -> None:
        if self._metrics():
            if nbytes > 0:
                self._output.add(nbytes, {"toolguard.principal": principal} if self.principal_metrics else {})
            for kind, n in redactions.items():
                self._redactions.add(n, {"toolguard.redaction.kind": kind})
        if span is not None:
            if redactions:
                span.set_attribute("toolguard.redactions", sum(redactions.values()))
            if truncated:
                span.set_attribute("toolguard.output.truncated", True)

    def revised(self, span: Any, decision: Decision) -> None:
        """The verdict changed after the tool ran (an output budget, an output that could not be checked)."""
        if span is not None:
            span.set_attribute("toolguard.verdict", decision.verdict)
            span.set_attribute("toolguard.finding_codes", list(decision.codes))
