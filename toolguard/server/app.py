"""The approver HTTP API and web page (starlette, served by uvicorn).

JSON API (bearer token: ``Authorization: Bearer <approver token>``)::

    GET  /api/holds[?status=pending&principal=P&limit=N]   holds the caller may decide
    GET  /api/holds/{id}                                    one hold, with its history
    POST /api/holds/{id}/approve   {"reason"?: str, "args"?: object}
    POST /api/holds/{id}/deny      {"reason": str}
    GET  /api/me                                            who the token belongs to
    GET  /openapi.json                                      this API, described

Errors are JSON ``{"error": {"code", "message"}}`` with precise statuses: 400 bad JSON,
401 missing/invalid token, 403 wrong role or self-approval, 404 unknown id, 405, 409 already
decided, 410 expired, 413 body too large, 415 not JSON, 422 invalid decision or forbidden
edit, 503 store unavailable. A refused request changes nothing.

The web page (``/``) logs in with the approver token (a signed, HttpOnly, SameSite=Strict
session cookie), lists the pending holds the approver may decide with their arguments,
findings and evidence (untrusted sources highlighted), and posts approve/deny forms that
carry a signed CSRF token; posts from another origin are refused. Every page is served
with a Content-Security-Policy that allows no script at all, and every value is escaped by
Jinja2's autoescape. The API never accepts the session cookie, only the bearer token.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Secret
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..approvals.approvers import Approver, ApproverStore, InvalidToken
from ..approvals.cli import error_code, escape_char
from ..approvals.store import (
    STATUSES,
    ApprovalRecord,
    ApprovalStore,
    EditNotAllowed,
    InvalidDecision,
)
from ..errors import (
    AlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    ConfigError,
    NotAnApprover,
    StoreError,
    StoreUnavailable,
    ToolguardError,
)
from .openapi import openapi_spec

__all__ = ["CSP", "create_app"]

log = logging.getLogger("toolguard.server")

HERE = Path(__file__).parent

#: No script at all: the page works with plain forms. Styles only from our own origin.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]
_SESSION_AGE = 12 * 3600
_CSRF_AGE = 12 * 3600

# Error class -> HTTP status, most specific first.
_STATUS_FOR: tuple[tuple[type[BaseException], int], ...] = (
    (InvalidToken, 401),
    (NotAnApprover, 403),
    (ApprovalNotFound, 404),
    (ApprovalExpired, 410),
    (AlreadyDecided, 409),
    (EditNotAllowed, 422),
    (InvalidDecision, 422),
    (ConfigError, 400),
    (StoreUnavailable, 503),
    (StoreError, 500),
)


def status_for(exc: BaseException) -> int:
    for cls, status in _STATUS_FOR:
        if isinstance(exc, cls):
            return status
    return 500


class ApiError(Exception):
    """A refused API request: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# --------------------------------------------------------------------------------------
# Middleware (one call shape: __init__(app, **options), __call__(scope, receive, send))


class SecurityHeadersMiddleware:
    """Adds the CSP and the other hardening headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _error(400, "bad_request", "invalid Content-Length")(scope, receive, send)
                    return
                if declared > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _error(413, "body_too_large", f"the request body exceeds {self.max_bytes} bytes")(scope, receive, send)


# --------------------------------------------------------------------------------------
# Presentation helpers


def safe_text(value: Any) -> str:
    """Text with control, bidi and invisible characters shown as ``\\uXXXX`` (HTML escaping is Jinja's job)."""
    s = value if isinstance(value, str) else str(value)
    out = []
    for ch in s:
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"):
            out.append(escape_char(ch))
        else:
            out.append(ch)
    return "".join(out)


def pretty_json(value: Any) -> str:
    return safe_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _left(seconds: float) -> str:
    s = int(seconds)
    if s <= 0:
        return "expired"
    if s >= 3600:
        return f"{s // 3600}h {(s % 3600) // 60}m"
    if s >= 60:
        return f"{s // 60}m {s % 60}s"
    return f"{s}s"


def _view(rec: ApprovalRecord, me: Approver, now: float) -> dict[str, Any]:
    findings = []
    for f in rec.findings:
        evidence = []
        for e in f.get("evidence", []):
            kind = str(e.get("kind", ""))
            detail = {k: v for k, v in e.items() if k != "kind"}
            evidence.append(
                {
                    "kind": kind,
                    "untrusted": kind in ("taint", "grounding"),
                    "source": safe_text(
                        " ".join(
                            f"{k}={detail[k]}" for k in ("tool", "call_id", "origin", "from_untrusted", "ref") if k in detail
                        )
                    ),
                    "detail": pretty_json(detail),
                }
            )
        findings.append(
            {
                "code": safe_text(f.get("code", "")),
                "action": safe_text(f.get("action", "")),
                "pointer": safe_text(f.get("pointer", "") or "/"),
                "message": safe_text(f.get("message", "")),
                "evidence": evidence,
            }
        )
    return {
        "id": rec.id,
        "status": rec.status,
        "tool": safe_text(rec.tool),
        "principal": safe_text(rec.principal),
        "session": safe_text(rec.session_id),
        "summary": safe_text(rec.summary),
        "args": pretty_json(rec.args),
        "original_args": pretty_json(rec.original_args) if rec.edited else None,
        "args_compact": safe_text(json.dumps(rec.args, ensure_ascii=False, sort_keys=True))[:200],
        "editable": rec.editable,
        "editable_text": "any argument" if rec.editable is True else ", ".join(rec.editable) if rec.editable else "",
        "findings": findings,
        "requested": _when(rec.requested_at),
        "expires": _when(rec.expires_at),
        "left": _left(rec.expires_at - now),
        "roles": ", ".join(rec.roles),
        "decided_by": safe_text(rec.decided_by or ""),
        "decided_at": _when(rec.decided_at),
        "reason": safe_text(rec.reason or ""),
        "own": rec.principal == me.name,
        "sha": rec.args_sha256,
    }


# --------------------------------------------------------------------------------------
# The application


class _App:
    """Holds the stores and helpers the endpoints share (built by :func:`create_app`)."""

    def __init__(self, approvals: ApprovalStore, approvers: ApproverStore, secret: str, max_body: int) -> None:
        self.approvals = approvals
        self.approvers = approvers
        self.max_body = max_body
        self.csrf = URLSafeTimedSerializer(secret, salt="toolguard-csrf")
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    # -- helpers -----------------------------------------------------------------------

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def bearer(self, request: Request) -> Approver:
        header = request.headers.get("authorization")
        if not header:
            raise ApiError(401, "missing_token", "authentication required: send Authorization: Bearer <approver token>",
                           {"WWW-Authenticate": 'Bearer realm="toolguard"'})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "invalid_token", "use Authorization: Bearer <approver token>",
                           {"WWW-Authenticate": 'Bearer realm="toolguard", error="invalid_request"'})
        try:
            return await self.call(self.approvers.authenticate, token.strip())  # type: ignore[no-any-return]
        except InvalidToken as exc:
            raise ApiError(401, "invalid_token", str(exc),
                           {"WWW-Authenticate": 'Bearer realm="toolguard", error="invalid_token"'}) from None

    async def json_body(self, request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        if not raw:
            return {}
        if ctype != "application/json":
            raise ApiError(415, "unsupported_media_type", "send the body as application/json")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        unknown = sorted(set(body) - {"reason", "args"})
        if unknown:
            raise ApiError(422, "invalid_decision", f"unknown field(s): {', '.join(map(repr, unknown))}; expected 'reason' and, to edit, 'args'")
        return body

    async def visible(self, me: Approver, hold_id: str) -> ApprovalRecord:
        rec: ApprovalRecord = await self.call(self.approvals.get, hold_id)
        if not me.may_decide(rec.roles):
            raise NotAnApprover(
                f"{me.name!r} has none of the roles that may see {rec.tool!r} holds (needs one of: {', '.join(rec.roles)})",
                approval_id=hold_id,
            )
        return rec

    # -- session (web page) ------------------------------------------------------------

    def csrf_token(self, request: Request) -> str:
        nonce = request.session.get("csrf")
        if not isinstance(nonce, str):
            nonce = secrets.token_urlsafe(24)
            request.session["csrf"] = nonce
        return str(self.csrf.dumps(nonce))

    def check_csrf(self, request: Request, token: Any) -> bool:
        nonce = request.session.get("csrf")
        if not isinstance(nonce, str) or not isinstance(token, str) or not token:
            return False
        try:
            value = self.csrf.loads(token, max_age=_CSRF_AGE)
        except BadSignature:
            return False
        return isinstance(value, str) and hmac.compare_digest(value, nonce)

    @staticmethod
    def same_origin(request: Request) -> bool:
        """Refuse cross-site posts even before the CSRF token is looked at."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    async def web_user(self, request: Request) -> Approver | None:
        name = request.session.get("approver")
        fp = request.session.get("fp")
        if not isinstance(name, str) or not isinstance(fp, str):
            return None
        try:
            me: Approver = await self.call(self.approvers.get, name)
        except ToolguardError:
            return None
        if not me.active or not hmac.compare_digest(me.token_fingerprint, fp):
            return None
        return me

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)


def create_app(
    approvals: ApprovalStore,
    approvers: ApproverStore,
    *,
    secret_key: str | None = None,
    max_body: int = 64 * 1024,
    secure_cookies: bool = False,
) -> Starlette:
    """The approver server as an ASGI app: JSON API, OpenAPI description and web page.

    ``secret_key`` signs session cookies and CSRF tokens (random per process when None:
    sessions then end on restart). ``secure_cookies`` marks the cookie Secure (needed off
    loopback, behind TLS). Serve it with uvicorn::

        holds, people = open_stores("sqlite:///var/lib/toolguard/state.db")
        uvicorn.run(create_app(holds, people, secret_key=key), host="127.0.0.1", port=8600)
    """
    if secret_key is not None and len(secret_key) < 16:
        raise ConfigError("the server secret key must be at least 16 characters")
    secret = secret_key or secrets.token_urlsafe(32)
    state = _App(approvals, approvers, secret, max_body)

    # -- API -----------------------------------------------------------------------------

    async def api_list(request: Request) -> Response:
        me = await state.bearer(request)
        q = request.query_params
        unknown = sorted(set(q) - {"status", "principal", "limit"})
        if unknown:
            raise ApiError(400, "bad_query", f"unknown query parameter(s): {', '.join(unknown)}")
        statuses = q.getlist("status") or ["pending"]
        if statuses == ["all"]:
            wanted: Any = None
        else:
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise ApiError(400, "bad_query", f"unknown status {bad[0]!r}; expected one of: {', '.join(STATUSES)} or all")
            wanted = statuses
        try:
            limit = int(q.get("limit", "200"))
        except ValueError:
            raise ApiError(400, "bad_query", "limit must be an integer") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "bad_query", "limit must be between 1 and 1000")
        await state.call(state.approvals.expire)
        records = await state.call(state.approvals.list, status=wanted, principal=q.get("principal"), limit=5000)
        mine = [r.to_dict() for r in records if me.may_decide(r.roles)][:limit]
        return JSONResponse({"holds": mine, "count": len(mine)})

    async def api_show(request: Request) -> Response:
        me = await state.bearer(request)
        await state.call(state.approvals.expire)
        rec = await state.visible(me, request.path_params["hold_id"])
        return JSONResponse(rec.to_dict())

    async def _api_decide(request: Request, verdict: str) -> Response:
        me = await state.bearer(request)
        body = await state.json_body(request)
        hold_id = request.path_params["hold_id"]
        await state.visible(me, hold_id)
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ApiError(422, "invalid_decision", "'reason' must be a string")
        edited = body.get("args")
        if "args" in body and verdict == "deny":
            raise ApiError(422, "invalid_decision", "'args' (edited arguments) only apply to an approval")
        rec = await state.call(state.approvals.decide, hold_id, me, verdict, reason, edited_args=edited)
        return JSONResponse(rec.to_dict())

    async def api_approve(request: Request) -> Response:
        return await _api_decide(request, "approve")

    async def api_deny(request: Request) -> Response:
        return await _api_decide(request, "deny")

    async def api_me(request: Request) -> Response:
        me = await state.bearer(request)
        return JSONResponse(me.to_dict())

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_spec())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # -- web page ------------------------------------------------------------------------

    async def login_page(request: Request) -> Response:
        if await state.web_user(request) is not None:
            return RedirectResponse("/", status_code=303)
        return state.render("login.html", csrf=state.csrf_token(request), error=None)

    async def login(request: Request) -> Response:
        form = await request.form()
        if not state.same_origin(request) or not state.check_csrf(request, form.get("csrf_token")):
            return state.render("login.html", 403, csrf=state.csrf_token(request), error="The form expired or came from another site; try again.")
        token = form.get("token")
        try:
            me: Approver = await state.call(state.approvers.authenticate, token if isinstance(token, str) else "")
        except InvalidToken:
            return state.render("login.html", 401, csrf=state.csrf_token(request), error="That token is not valid.")
        request.session.clear()
        request.session.update({"approver": me.name, "fp": me.token_fingerprint, "csrf": secrets.token_urlsafe(24)})
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if state.same_origin(request) and state.check_csrf(request, form.get("csrf_token")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def index(request: Request) -> Response:
        me = await state.web_user(request)
        if me is None:
            return RedirectResponse("/login", status_code=303)
        now = time.time()
        await state.call(state.approvals.expire, now=now)
        pending = await state.call(state.approvals.list, status="pending", limit=5000)
        recent = await state.call(state.approvals.list, status=[s for s in STATUSES if s != "pending"], limit=5000)
        recent = sorted((r for r in recent if me.may_decide(r.roles)), key=lambda r: -(r.decided_at or r.requested_at))[:50]
        flash = request.session.pop("flash", None)
        return state.render(
            "index.html",
            me=me,
            holds=[_view(r, me, now) for r in pending if me.may_decide(r.roles)],
            recent=[_view(r, me, now) for r in recent],
            csrf=state.csrf_token(request),
            flash=flash if isinstance(flash, dict) else None,
        )

    async def web_decide(request: Request) -> Response:
        me = await state.web_user(request)
        if me is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        if not state.same_origin(request) or not state.check_csrf(request, form.get("csrf_token")):
            return state.render("error.html", 403, message="This form expired or came from another site. Reload the page and try again.")
        hold_id = request.path_params["hold_id"]
        verdict = form.get("verdict")
        reason = form.get("reason")
        edited_raw = form.get("args")
        edited: Any = None
        try:
            if verdict not in ("approve", "deny"):
                raise InvalidDecision("choose approve or deny")
            if verdict == "approve" and isinstance(edited_raw, str) and edited_raw.strip():
                try:
                    edited = json.loads(edited_raw)
                except json.JSONDecodeError as exc:
                    raise InvalidDecision(f"the edited arguments are not valid JSON: {exc}") from None
            rec = await state.call(
                state.approvals.decide, hold_id, me, verdict, reason if isinstance(reason, str) else None, edited_args=edited
            )
        except ToolguardError as exc:
            request.session["flash"] = {"kind": "error", "text": f"{hold_id}: {exc}"}
            return RedirectResponse(f"/#hold-{quote(hold_id, safe='')}", status_code=303)
        request.session["flash"] = {"kind": "ok", "text": f"{rec.id} ({rec.tool}): {rec.status}"}
        return RedirectResponse("/", status_code=303)

    # -- errors --------------------------------------------------------------------------

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)  # registered for ApiError only
        return _error(exc.status, exc.code, str(exc), exc.headers)

    async def on_toolguard_error(request: Request, exc: Exception) -> Response:
        status = status_for(exc)
        if status >= 500:
            log.error("toolguard server: %s", exc)
        headers = {"WWW-Authenticate": 'Bearer realm="toolguard", error="invalid_token"'} if status == 401 else None
        if _is_api(request):
            return _error(status, error_code(exc), str(exc), headers)
        return state.render("error.html", status, message=str(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        message = {404: "no such endpoint", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        if _is_api(request):
            return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message, getattr(exc, "headers", None))
        return state.render("error.html", exc.status_code, message=message)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("toolguard server: unhandled error")
        return _error(500, "internal_error", "internal error (see the server log)")

    exception_handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: on_api_error,
        ToolguardError: on_toolguard_error,
        HTTPException: on_http_error,
        Exception: on_crash,
    }

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/holds/{hold_id}/decide", web_decide, methods=["POST"]),
        Route("/api/holds", api_list, methods=["GET"]),
        Route("/api/holds/{hold_id}", api_show, methods=["GET"]),
        Route("/api/holds/{hold_id}/approve", api_approve, methods=["POST"]),
        Route("/api/holds/{hold_id}/deny", api_deny, methods=["POST"]),
        Route("/api/me", api_me, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=max_body),
        Middleware(
            SessionMiddleware,
            secret_key=Secret(secret),
            session_cookie="toolguard_session",
            max_age=_SESSION_AGE,
            same_site="strict",
            https_only=secure_cookies,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=exception_handlers)
    app.state.toolguard = state
    return app
