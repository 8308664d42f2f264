"""Sessions: one conversation of one principal, and the read-only view the core decides on.

A :class:`Session` is mutable and owned by the guard: it records the user's and the system's
words (trusted text), every tool output with the trust and labels its manifest gives, and
what left in each allowed call. :meth:`Session.view` hands the decision core a
:class:`SessionView`: an immutable snapshot of the facts a decision needs plus read-only
access to the taint ledger and to the URLs the session requested (the guard decides under
the session's lock, so neither changes during a decision).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .taint import Source, TaintLedger

__all__ = ["ABOUT_MAX", "REQUESTED_MAX", "CallRecord", "LedgerView", "Session", "SessionView"]

#: How many requested URLs a session remembers (the most recent; an older URL requested
#: again is judged afresh, never let through by a forgotten fact).
REQUESTED_MAX = 4096

#: Trusted outputs whose party (``output.about``) a session remembers, the most recent kept.
ABOUT_MAX = 4096


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What the session remembers of one decided call."""

    call_id: str
    tool: str
    verdict: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionView:
    """Everything the decision core may know about the session, read-only.

    ``ledger`` is the session's taint ledger, or a :class:`LedgerView` of it when a turn
    horizon is set (only the query methods are used by the core).
    ``cut_off`` is the reason the principal is cut off, or None. ``usage`` holds counter
    snapshots keyed by budget name (filled by the accounting layer, empty otherwise).
    """

    principal: str
    session_id: str
    ledger: TaintLedger
    cut_off: str | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    #: Normalised URLs that calls of this session already requested (allowed or approved
    #: calls, most recent :data:`REQUESTED_MAX`): the data in such a URL has reached its
    #: host already, so sending the identical URL again carries nothing new.
    requested: Collection[str] = frozenset()
    #: Source index -> the party a trusted output is the own record of (the value of its
    #: manifest's ``output.about`` argument, case-folded): see :meth:`Session.add_tool_output`.
    about: Mapping[int, str] = field(default_factory=dict)

    @property
    def untrusted_seen(self) -> bool:
        return self.ledger.untrusted_seen

    @classmethod
    def empty(cls, principal: str = "anonymous", session_id: str = "") -> SessionView:
        """A view of a fresh session (no trusted text, no tool output)."""
        return cls(principal=principal, session_id=session_id, ledger=TaintLedger())


_TRUSTED_TEXT = ("user", "system")


class LedgerView:
    """The taint ledger as the model saw it when it chose the calls of the current turn.

    Tool outputs recorded at or after ``horizon`` (a source index) are hidden: under
    LangGraph the calls of one model turn run concurrently, and a sibling call's output can
    reach the ledger before another call of the same turn is decided although the model
    never saw it. Hiding it makes the decision independent of scheduling. The user's and
    the system's words are never hidden (the model saw them before it answered, whenever
    they were recorded). Read-only: it offers the query side of :class:`TaintLedger`.
    """

    __slots__ = ("_seen", "horizon", "ledger")

    def __init__(self, ledger: TaintLedger, horizon: int) -> None:
        self.ledger = ledger
        self.horizon = horizon
        self._seen: bool | None = None

    def _visible(self, src: Source) -> bool:
        return src.index < self.horizon or src.tool in _TRUSTED_TEXT

    @property
    def untrusted_seen(self) -> bool:
        if self._seen is None:
            self._seen = any(not s.trusted and self._visible(s) for s in self.ledger.sources)
        return self._seen

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.ledger.sources if self._visible(s))

    def origin(self, value: str, *, forms: Any = (), whole: bool = False, exact: bool = False) -> tuple[Any, ...]:
        return tuple(m for m in self.ledger.origin(value, forms=forms, whole=whole, exact=exact) if self._visible(m.source))

    def sanctioned(self, value: str, *, forms: Any = (), whole: bool = False) -> Source | None:
        src = self.ledger.sanctioned(value, forms=forms, whole=whole)
        return src if src is not None and self._visible(src) else None

    def scan(self, texts: Any, **kwargs: Any) -> tuple[Any, ...]:
        return tuple(m for m in self.ledger.scan(texts, **kwargs) if self._visible(m.source))

    def addressed_to(self, source: Source, address: str) -> bool:
        return self._visible(source) and self.ledger.addressed_to(source, address)


class Session:
    """One conversation of one principal. Thread-safe; created by :meth:`Guard.session`."""

    def __init__(self, principal: str, session_id: str, *, ledger: TaintLedger | None = None, history: int = 1000) -> None:
        if not isinstance(principal, str) or not principal:
            raise ValueError("a session needs a non-empty principal")
        self.principal = principal
        self.session_id = session_id
        self.ledger = ledger if ledger is not None else TaintLedger()
        self.calls: deque[CallRecord] = deque(maxlen=history)
        self._lock = threading.RLock()
        #: Tool outputs from this source index on are hidden from decisions (see
        #: :class:`LedgerView`); set by the agent middleware when the model answers.
        self.horizon: int | None = None
        #: Set when the guard failed to record something that entered the model's context;
        #: every later call in the session is then denied (fail closed).
        self.poisoned: str | None = None
        self._user_turns = 0
        self._system_turns = 0
        self._requested: dict[str, None] = {}
        self._about: dict[int, str] = {}
        self._plain_view: tuple[TaintLedger, SessionView] | None = None

    def __repr__(self) -> str:
        return f"Session(principal={self.principal!r}, session_id={self.session_id!r}, sources={len(self.ledger.sources)})"

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def add_user_text(self, text: str) -> Source:
        """Record the user's own words: trusted text (a destination the user typed is sanctioned)."""
        with self._lock:
            self._user_turns += 1
            return self.ledger.add_trusted_text(_as_text(text), origin="user", ref=f"user:{self._user_turns}")

    def add_system_text(self, text: str) -> Source:
        """Record the system prompt or developer instructions: trusted text."""
        with self._lock:
            self._system_turns += 1
            return self.ledger.add_trusted_text(_as_text(text), origin="system", ref=f"system:{self._system_turns}")

    def add_tool_output(
        self, *, call_id: str, tool: str, text: str, trusted: bool, labels: tuple[str, ...] = (), about: str | None = None
    ) -> Source:
        """Record a tool's output as a taint source (untrusted) and/or confidentiality source (labels).

        ``about``: the party whose own record a trusted output is (the value of the argument
        its manifest's ``output.about`` names); labelled data from it may go, in clear, to that
        party through a tool whose ``recipient`` argument names the same value."""
        with self._lock:
            src = self.ledger.add_output(_as_text(text), call_id=call_id, tool=tool, trusted=trusted, labels=labels)
            if about and trusted:
                self._about[src.index] = about.strip().casefold()
                if len(self._about) > ABOUT_MAX:
                    del self._about[next(iter(self._about))]  # the oldest: its record is judged as usual
            return src

    def add_requested(self, urls: Iterable[str]) -> None:
        """Remember normalised URLs a call requested (see :attr:`SessionView.requested`)."""
        with self._lock:
            requested = self._requested
            for url in urls:
                requested.pop(url, None)
                requested[url] = None
            while len(requested) > REQUESTED_MAX:
                del requested[next(iter(requested))]

    def record_call(self, record: CallRecord) -> None:
        with self._lock:
            self.calls.append(record)

    def view(self, *, cut_off: str | None = None, usage: Mapping[str, Any] | None = None) -> SessionView:
        if cut_off is None and not usage and self.horizon is None:
            # The common view (no cut-off, no usage hint, no turn horizon) holds only live
            # references (the ledger, the requested-URL keys): one is made per ledger and
            # reused, which spares building a frozen dataclass on every call.
            cached = self._plain_view
            if cached is not None and cached[0] is self.ledger:
                return cached[1]
            view = SessionView(
                principal=self.principal, session_id=self.session_id, ledger=self.ledger, requested=self._requested.keys(), about=self._about
            )
            self._plain_view = (self.ledger, view)
            return view
        ledger: Any = self.ledger if self.horizon is None else LedgerView(self.ledger, self.horizon)
        return SessionView(
            principal=self.principal,
            session_id=self.session_id,
            ledger=ledger,
            cut_off=cut_off,
            usage=usage or {},
            requested=self._requested.keys(),
            about=self._about,
        )


def _as_text(value: Any) -> str:
    """Tool output and messages as text for the ledger (LangChain content may be a list of blocks)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, Mapping):
                text = item.get("text")
                parts.append(text if isinstance(text, str) else _json(item))
            else:
                parts.append(_as_text(item))
        return "\n".join(parts)
    if value is None:
        return ""
    return _json(value)


def _json(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
