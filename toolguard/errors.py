"""Exceptions raised by toolguard.

A policy *decision* (deny, hold) is never an exception: it is a :class:`~toolguard.Decision`
value. Exceptions are for misuse (a bad manifest, a bad configuration) and for
infrastructure (a store that cannot be reached). Inside the mediator every exception is
caught in exactly one place and turned into a deny with the finding code ``guard.error``,
so the guard fails closed.

The hierarchy::

    ToolguardError
    ├── ManifestError          a manifest or policy file cannot be loaded (every issue listed)
    ├── TraceError             a trace or message file cannot be read (toolguard.replay)
    ├── ConfigError            a bad setting: unknown store scheme, missing extra, bad value
    ├── StoreError             a store failed
    │   └── StoreUnavailable   the store cannot be reached (the guard denies: store.unavailable)
    └── ApprovalError          an approval operation was refused
        ├── ApprovalNotFound   no held call with that id
        ├── ApprovalExpired    the hold expired before the decision
        ├── AlreadyDecided     the hold was already decided (or claimed)
        └── NotAnApprover      the identity may not decide this hold
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AlreadyDecided",
    "ApprovalError",
    "ApprovalExpired",
    "ApprovalNotFound",
    "ConfigError",
    "ManifestError",
    "ManifestIssue",
    "NotAnApprover",
    "StoreError",
    "StoreUnavailable",
    "ToolguardError",
]


class ToolguardError(Exception):
    """Root of every exception toolguard raises on purpose."""


@dataclass(frozen=True)
class ManifestIssue:
    """One problem found while loading a manifest or policy file.

    ``pointer`` is a JSON pointer into the document (``/destinations/0/allow``);
    ``line`` and ``column`` are 1-based positions in the file, when known.
    """

    file: str
    pointer: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where} {self.pointer or '/'}: {self.message}"


class ManifestError(ToolguardError):
    """Raised when manifests or the policy file cannot be loaded; lists every issue found."""

    def __init__(self, issues: Sequence[ManifestIssue]) -> None:
        self.issues: tuple[ManifestIssue, ...] = tuple(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.issues)
        head = f"{n} manifest error{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])

    def __repr__(self) -> str:
        return f"ManifestError(issues={list(self.issues)!r})"


class ConfigError(ToolguardError):
    """Raised for a bad setting: an unknown store scheme, a missing optional extra, a bad value."""


class StoreError(ToolguardError):
    """Raised when a store operation fails."""


class StoreUnavailable(StoreError):
    """Raised when a store cannot be reached after the bounded retry."""


class ApprovalError(ToolguardError):
    """Raised when an approval operation is refused; nothing was changed."""

    def __init__(self, message: str, *, approval_id: str | None = None) -> None:
        self.approval_id = approval_id
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, approval_id={self.approval_id!r})"


class ApprovalNotFound(ApprovalError):
    """Raised when no held call has the given id."""


class ApprovalExpired(ApprovalError):
    """Raised when a decision arrives after the hold expired."""


class AlreadyDecided(ApprovalError):
    """Raised when a hold was already decided, claimed or executed."""


class NotAnApprover(ApprovalError):
    """Raised when an identity may not decide a hold (wrong role, revoked, or the principal itself)."""
