"""Findings, decisions and the rule that combines them.

Checks yield :class:`Finding` values; each finding carries a stable ``code`` from
:data:`FINDING_CODES`. The action of a finding is resolved from, in order: the tool's
manifest ``actions``, the policy file's ``actions``, the code's default below. The
decision's verdict combines the actions of all findings with the precedence

    deny > hold > allow

and a call with no findings is allowed. The headline reason is the message of the most
relevant finding: highest action first, then the code's rank in :data:`FINDING_CODES`
(declaration order: the more specific, more dangerous codes come first), then the argument
pointer. The result never depends on the order checks ran in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._frozen import slot_constructor

__all__ = [
    "ACTIONS",
    "FINDING_CODES",
    "Action",
    "Call",
    "Decision",
    "Evidence",
    "Finding",
    "FindingCode",
    "combine",
]

Action = Literal["allow", "hold", "deny"]
ACTIONS: tuple[Action, ...] = ("allow", "hold", "deny")
_RANK: dict[str, int] = {"allow": 0, "hold": 1, "deny": 2}


@dataclass(frozen=True, slots=True)
class FindingCode:
    """A stable finding code: its default action and what it means (docs/findings.md)."""

    code: str
    default: Action
    summary: str


def _codes(*rows: tuple[str, Action, str]) -> dict[str, FindingCode]:
    return {code: FindingCode(code, default, summary) for code, default, summary in rows}


#: Every finding code toolguard emits, most relevant first. Codes are public API: they
#: never change meaning, and new ones are only added.
FINDING_CODES: dict[str, FindingCode] = _codes(
    ("guard.error", "deny", "toolguard itself failed while deciding; the call is denied (fail closed)."),
    ("store.unavailable", "deny", "A state store could not be reached; the call is denied (fail closed)."),
    ("principal.cut_off", "deny", "The principal is on the cut-off list until an operator lifts it."),
    ("tool.unknown", "deny", "No manifest declares this tool."),
    ("call.malformed", "deny", "The arguments are not a JSON object of JSON values with string keys."),
    ("call.too_large", "deny", "The arguments exceed the size cap."),
    ("call.too_deep", "deny", "The arguments nest deeper than the depth cap."),
    ("call.invalid_unicode", "deny", "A string holds lone surrogates or non-characters."),
    ("schema.invalid", "deny", "The arguments violate the manifest's argument schema."),
    ("destination.invalid", "deny", "A destination argument cannot be parsed as its declared kind."),
    ("path.outside_root", "deny", "A path argument resolves outside the manifest's declared roots."),
    ("destination.untrusted_origin", "deny", "A destination came from untrusted content, not from the user."),
    ("payload.private_data", "deny", "Private-labelled data is sent to a destination not allowed for it."),
    ("markdown.remote_resource", "deny", "Rendered text loads a remote resource that carries session data."),
    ("url.data_in_query", "hold", "A URL to a non-allowed host carries session data or encoded data."),
    ("payload.encoded_blob", "hold", "A payload to a non-allowed destination carries an encoded or compressed blob."),
    ("destination.suspicious_host", "hold", "A non-allowed destination host is an IP literal, mixed-script or confusable."),
    ("destination.not_allowed", "hold", "A destination is not on the manifest's allow-list."),
    ("budget.exceeded", "hold", "A declared budget (calls, bytes, destinations) would be exceeded."),
    ("context.untrusted_side_effect", "hold", "A side-effecting call after untrusted content, not grounded in trusted text."),
    ("side_effect.requires_approval", "hold", "The policy requires approval for this side-effect class."),
    ("call.hidden_characters", "hold", "A string holds control, bidi or invisible format characters."),
)
_CODE_RANK: dict[str, int] = {code: i for i, code in enumerate(FINDING_CODES)}


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call as the model asked for it.

    ``args`` is whatever the model sent (expected: a JSON object); the decision core checks
    its shape before anything else, so it may be any Python value here.
    """

    tool: str
    args: Any
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "id": self.id}


@dataclass(frozen=True, slots=True)
class Evidence:
    """A fact behind a finding: a taint source, a normalised destination, a schema rule, a budget.

    ``kind`` names what ``detail`` describes (``taint``, ``destination``, ``schema``,
    ``limit``, ``rule``, ``error``); ``detail`` holds JSON-serialisable facts.
    """

    kind: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.detail)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a call is not simply allowed.

    ``pointer`` is the JSON pointer of the argument concerned ("" for the whole call);
    ``action`` is the resolved action after manifest and policy overrides.
    """

    code: str
    message: str
    pointer: str = ""
    action: Action = "deny"
    evidence: tuple[Evidence, ...] = ()

    @property
    def relevance(self) -> tuple[int, int, str]:
        """Sort key for the headline reason: higher action, then code rank, then pointer."""
        return (-_RANK[self.action], _CODE_RANK.get(self.code, len(_CODE_RANK)), self.pointer)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "action": self.action,
            "pointer": self.pointer,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of deciding one call: a verdict, the findings behind it and a headline reason.

    ``decision_id`` is filled in by the guard (the pure core leaves it empty).
    """

    verdict: Action
    findings: tuple[Finding, ...] = ()
    tool: str = ""
    call_id: str = ""
    decision_id: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple([f.code for f in self.findings]) if self.findings else ()

    @property
    def reason(self) -> str:
        """The headline: the most relevant finding's message, or why the call passed."""
        if not self.findings:
            return "no findings"
        return self.findings[0].message

    def stopping(self) -> tuple[Finding, ...]:
        """The findings whose action is not ``allow`` (the ones that made the verdict)."""
        return tuple(f for f in self.findings if f.action != "allow")

    def with_id(self, decision_id: str) -> Decision:
        return _decision(self.verdict, self.findings, self.tool, self.call_id, decision_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "tool": self.tool,
            "call_id": self.call_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


#: ``Decision(...)`` without the frozen ``__init__`` (a third of its cost; the same value).
_decision = slot_constructor(Decision)


def combine(findings: Iterable[Finding], *, tool: str = "", call_id: str = "", decision_id: str = "") -> Decision:
    """Combine findings into a decision: deny > hold > allow, findings sorted by relevance.

    The order of ``findings`` does not matter: the same set always gives the same decision.
    """
    if not findings:  # the common case: nothing to sort or rank
        return _decision("allow", (), tool, call_id, decision_id)
    ordered = tuple(sorted(findings, key=lambda f: (f.relevance, f.message)))
    verdict: Action = "allow"
    for f in ordered:
        if _RANK[f.action] > _RANK[verdict]:
            verdict = f.action
    return _decision(verdict, ordered, tool, call_id, decision_id)
