"""toolguard: a tool-call firewall for LLM agents.

Every tool has a manifest (what it accepts, where it sends data, what it changes, whether
its output can be trusted); the :class:`Guard` stands between the agent loop and the real
tools, decides every call (allow, deny, or hold for a human approver) and records where
each value came from. Decisions are deterministic and explained by stable finding codes.
"""

from __future__ import annotations

import contextlib

from .errors import (
    AlreadyDecided,
    ApprovalError,
    ApprovalExpired,
    ApprovalNotFound,
    ConfigError,
    ManifestError,
    ManifestIssue,
    NotAnApprover,
    StoreError,
    StoreUnavailable,
    ToolguardError,
)
from .findings import FINDING_CODES, Action, Call, Decision, Evidence, Finding
from .guard import Guard, HoldRequest, HoldSink, MemoryHoldSink, Outcome
from .manifest import Manifest, ManifestSet, Policy, load_manifests, load_policy
from .policy import decide, extend_checks
from .session import Session, SessionView

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AlreadyDecided",
    "ApprovalError",
    "ApprovalExpired",
    "ApprovalNotFound",
    "Call",
    "ConfigError",
    "decide",
    "Decision",
    "Evidence",
    "extend_checks",
    "Finding",
    "FINDING_CODES",
    "Guard",
    "HoldRequest",
    "HoldSink",
    "load_manifests",
    "load_policy",
    "Manifest",
    "ManifestError",
    "ManifestIssue",
    "ManifestSet",
    "MemoryHoldSink",
    "NotAnApprover",
    "Outcome",
    "Policy",
    "Session",
    "SessionView",
    "StoreError",
    "StoreUnavailable",
    "ToolguardError",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith("toolguard."):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "toolguard"
