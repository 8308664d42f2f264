"""Held actions: durable approvals, approvers, exactly-once execution, notifications.

A held call is a promise to a person: it must survive crashes, reach the right approver, and
run exactly once, or never. The pieces:

* :mod:`.store`: :class:`ApprovalStore` (protocol), :class:`MemoryApprovalStore`,
  :class:`SqlApprovalStore`; a store is a :class:`~toolguard.HoldSink`.
* :mod:`.approvers`: :class:`ApproverStore`, approver tokens (stored hashed), revocation.
* :mod:`.executor`: :func:`execute_approved` (claim, re-decide edits, run, record),
  :func:`wait_for_decision`, and :class:`Resumer` for blocking and deferred agent loops.
* :mod:`.notify`: :class:`WebhookNotifier` (HMAC-SHA256 signed) for new holds.
* :mod:`.cli`: the ``toolguard approvals``, ``toolguard approvers`` and ``toolguard serve`` commands.

Usage::

    from toolguard import Guard
    from toolguard.approvals import Resumer, open_stores

    holds, approvers = open_stores("sqlite:///var/lib/toolguard/state.db")
    guard = Guard.from_path("manifests/", holds=holds)
"""

from __future__ import annotations

from .approvers import (
    Approver,
    ApproverExists,
    ApproverNotFound,
    ApproverStore,
    InvalidToken,
    MemoryApproverStore,
    SqlApproverStore,
)
from .executor import (
    Resolution,
    Resumer,
    aexecute_approved,
    await_decision,
    execute_approved,
    wait_for_decision,
)
from .notify import Notifier, WebhookNotifier, verify_signature
from .store import (
    STATUSES,
    ApprovalEvent,
    ApprovalRecord,
    ApprovalStore,
    ArgumentsTampered,
    EditNotAllowed,
    InvalidDecision,
    InvalidTransition,
    MemoryApprovalStore,
    SqlApprovalStore,
    open_stores,
)

__all__ = [
    "STATUSES",
    "ApprovalEvent",
    "ApprovalRecord",
    "ApprovalStore",
    "Approver",
    "ApproverExists",
    "ApproverNotFound",
    "ApproverStore",
    "ArgumentsTampered",
    "EditNotAllowed",
    "InvalidDecision",
    "InvalidToken",
    "InvalidTransition",
    "MemoryApprovalStore",
    "MemoryApproverStore",
    "Notifier",
    "Resolution",
    "Resumer",
    "SqlApprovalStore",
    "SqlApproverStore",
    "WebhookNotifier",
    "aexecute_approved",
    "await_decision",
    "execute_approved",
    "open_stores",
    "verify_signature",
    "wait_for_decision",
]
