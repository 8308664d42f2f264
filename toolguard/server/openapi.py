"""The OpenAPI 3.1 description of the approver API, written by hand (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from ..approvals.store import STATUSES

__all__ = ["openapi_spec"]


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_ERRORS = {
    "400": _error_response("Bad JSON or query."),
    "401": _error_response("Missing or invalid bearer token."),
    "403": _error_response("The approver lacks a required role, or is the principal of the held call."),
    "404": _error_response("No held call with this id."),
}
_DECIDE_ERRORS = {
    **_ERRORS,
    "409": _error_response("The held call was already decided."),
    "410": _error_response("The held call expired before the decision."),
    "413": _error_response("The request body is too large."),
    "415": _error_response("The body is not application/json."),
    "422": _error_response("Invalid decision: missing reason for a denial, edits not allowed, unknown fields."),
}


def openapi_spec() -> dict[str, Any]:
    """The API description as a dict (OpenAPI 3.1)."""
    hold_id = {"name": "hold_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "toolguard approvals",
            "version": "1",
            "description": (
                "Decide calls that toolguard held for human approval. Authenticate with an approver "
                "token (`toolguard approvers add NAME --role ROLE`) as `Authorization: Bearer <token>`. "
                "A caller sees and decides only holds whose tool names one of its roles, and never its own."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/holds": {
                "get": {
                    "operationId": "listHolds",
                    "summary": "Held calls the caller may decide (pending by default).",
                    "parameters": [
                        {
                            "name": "status", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": [*STATUSES, "all"]},
                            "description": "Repeatable; `all` for every status.",
                        },
                        {"name": "principal", "in": "query", "required": False, "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The holds.",
                            "content": {"application/json": {"schema": {
                                "type": "object",
                                "properties": {"holds": {"type": "array", "items": {"$ref": "#/components/schemas/Hold"}}, "count": {"type": "integer"}},
                                "required": ["holds", "count"],
                            }}},
                        },
                        **{k: v for k, v in _ERRORS.items() if k in ("400", "401")},
                    },
                }
            },
            "/api/holds/{hold_id}": {
                "get": {
                    "operationId": "showHold",
                    "summary": "One held call, with its findings, evidence and history.",
                    "parameters": [hold_id],
                    "responses": {
                        "200": {"description": "The hold.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hold"}}}},
                        **_ERRORS,
                    },
                }
            },
            "/api/holds/{hold_id}/approve": {
                "post": {
                    "operationId": "approveHold",
                    "summary": "Approve a pending held call, optionally with edited arguments (where the manifest allows).",
                    "parameters": [hold_id],
                    "requestBody": {"required": False, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Approve"}}}},
                    "responses": {
                        "200": {"description": "Approved.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hold"}}}},
                        **_DECIDE_ERRORS,
                    },
                }
            },
            "/api/holds/{hold_id}/deny": {
                "post": {
                    "operationId": "denyHold",
                    "summary": "Deny a pending held call (a reason is required).",
                    "parameters": [hold_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Deny"}}}},
                    "responses": {
                        "200": {"description": "Denied.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hold"}}}},
                        **_DECIDE_ERRORS,
                    },
                }
            },
            "/api/me": {
                "get": {
                    "operationId": "me",
                    "summary": "The approver the token belongs to.",
                    "responses": {
                        "200": {"description": "The approver.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Approver"}}}},
                        "401": _ERRORS["401"],
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An approver token."}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]}},
                    "required": ["error"],
                },
                "Approve": {
                    "type": "object",
                    "properties": {"reason": {"type": "string", "maxLength": 2000}, "args": {"type": "object", "description": "Edited arguments (decided again before they run)."}},
                    "additionalProperties": False,
                },
                "Deny": {
                    "type": "object",
                    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
                    "required": ["reason"],
                    "additionalProperties": False,
                },
                "Approver": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
                        "created_at": {"type": "number"}, "revoked_at": {"type": ["number", "null"]}, "active": {"type": "boolean"},
                    },
                },
                "Finding": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"}, "action": {"type": "string", "enum": ["allow", "hold", "deny"]},
                        "pointer": {"type": "string"}, "message": {"type": "string"},
                        "evidence": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}}, "additionalProperties": True}},
                    },
                },
                "Event": {
                    "type": "object",
                    "properties": {"event": {"type": "string"}, "at": {"type": "number"}, "actor": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]}},
                },
                "Hold": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "principal": {"type": "string"},
                        "session_id": {"type": "string"},
                        "tool": {"type": "string"},
                        "call_id": {"type": "string"},
                        "args": {"type": "object"},
                        "args_sha256": {"type": "string"},
                        "edited": {"type": "boolean"},
                        "original_args": {"type": ["object", "null"]},
                        "summary": {"type": "string"},
                        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                        "decision_id": {"type": "string"},
                        "requested_at": {"type": "number"},
                        "expires_at": {"type": "number"},
                        "roles": {"type": "array", "items": {"type": "string"}},
                        "editable": {"oneOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]},
                        "decided_by": {"type": ["string", "null"]},
                        "decided_at": {"type": ["number", "null"]},
                        "reason": {"type": ["string", "null"]},
                        "claimed_at": {"type": ["number", "null"]},
                        "finished_at": {"type": ["number", "null"]},
                        "result": {},
                        "error": {"type": ["string", "null"]},
                        "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                    },
                    "required": ["id", "status", "principal", "tool", "args", "args_sha256", "findings", "requested_at", "expires_at", "roles"],
                },
            },
        },
    }
