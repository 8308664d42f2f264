"""The approver command line: ``toolguard approvals``, ``toolguard approvers``, ``toolguard serve``.

Commands::

    toolguard approvals list [--status S] [--all] [--stuck] [--json]   held calls (pending by default)
    toolguard approvals show ID [--json]                                one held call in full
    toolguard approvals approve ID [--reason R] [--args JSON]           approve (optionally with edits)
    toolguard approvals deny ID --reason R                              deny
    toolguard approvals cancel ID --reason R                            cancel a pending or approved call
    toolguard approvals resolve ID --failed|--done --reason R           close a call stuck in `executing`
    toolguard approvers add NAME --role R [--role R2]                   prints the token, once
    toolguard approvers list [--json]
    toolguard approvers revoke NAME
    toolguard serve [--host 127.0.0.1] [--port 8600]                    the HTTP API and web page

Every command takes ``--store URL`` (or ``TOOLGUARD_STORE``; default: the SQLite file at
:func:`toolguard.stores.sql.default_sqlite_path`). Deciding commands identify the approver
with ``--token`` (or ``TOOLGUARD_APPROVER_TOKEN``; prefer the variable, a command line is
visible to other users) and optionally ``--as NAME``, which must match the token.

Exit codes: 0 done; 1 refused or failed (the message on stderr; with ``--json`` a JSON
``{"error": {"code", "message"}}`` on stdout too); 2 usage error.

Held arguments come from the model and may be attacker-written: every value is shown with
control, format and non-ASCII characters escaped, never interpreted by the terminal.
"""

from __future__ import annotations

import json
import os
import sys
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import (
    AlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    ConfigError,
    NotAnApprover,
    StoreError,
    ToolguardError,
)
from .approvers import ApproverExists, ApproverNotFound, ApproverStore, InvalidToken
from .store import (
    STATUSES,
    ApprovalRecord,
    ApprovalStore,
    EditNotAllowed,
    InvalidDecision,
    InvalidTransition,
    open_stores,
)

__all__ = ["approvals", "approvers", "error_code", "escape_char", "safe", "serve"]

EXIT_OK = 0
EXIT_ERROR = 1

_STATUS_STYLE = {
    "pending": "bold yellow", "approved": "green", "denied": "red", "expired": "dim", "executing": "cyan",
    "done": "bold green", "failed": "bold red", "cancelled": "dim",
}  # fmt: skip


def error_code(exc: BaseException) -> str:
    """A stable, machine-readable code for an error (shared by the CLI's --json and the HTTP API)."""
    for cls, code in (
        (InvalidToken, "invalid_token"),
        (NotAnApprover, "not_an_approver"),
        (ApprovalNotFound, "not_found"),
        (ApproverNotFound, "approver_not_found"),
        (ApprovalExpired, "expired"),
        (AlreadyDecided, "already_decided"),
        (InvalidTransition, "invalid_transition"),
        (EditNotAllowed, "edit_not_allowed"),
        (InvalidDecision, "invalid_decision"),
        (ApproverExists, "approver_exists"),
        (ConfigError, "config_error"),
        (StoreError, "store_error"),
    ):
        if isinstance(exc, cls):
            return code
    return "error"


# --------------------------------------------------------------------------------------
# Output helpers


def _console() -> Console:
    probe = Console()
    width = None if probe.is_terminal or "COLUMNS" in os.environ else 160
    return Console(highlight=False, width=width, soft_wrap=False)


def escape_char(ch: str) -> str:
    """``ch`` as a JSON ``\\u`` escape (a surrogate pair beyond U+FFFF): escaped text stays valid JSON."""
    n = ord(ch)
    if n <= 0xFFFF:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def safe(text: Any, limit: int | None = None) -> str:
    """``text`` with control, format (bidi, invisible) and separator characters escaped."""
    s = text if isinstance(text, str) else str(text)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") and ch not in ("\n",):
            out.append(escape_char(ch))
        else:
            out.append(ch)
    s = "".join(out)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def _args_text(value: Any, *, indent: int | None = None, limit: int | None = None) -> str:
    # ensure_ascii escapes every non-ASCII character: confusables and bidi tricks show up as \uXXXX.
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, indent=indent)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _in(seconds: float) -> str:
    sign = "" if seconds >= 0 else "-"
    s = abs(int(seconds))
    if s >= 86400:
        return f"{sign}{s // 86400}d{(s % 86400) // 3600}h"
    if s >= 3600:
        return f"{sign}{s // 3600}h{(s % 3600) // 60}m"
    if s >= 60:
        return f"{sign}{s // 60}m{s % 60}s"
    return f"{sign}{s}s"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))


def _fail(exc: BaseException, as_json: bool) -> NoReturn:
    message = str(exc)
    if as_json:
        _echo_json({"error": {"code": error_code(exc), "message": message}})
    click.echo(f"error: {safe(message)}", err=True)
    raise click.exceptions.Exit(EXIT_ERROR)


def _run(as_json: bool, body: Callable[[], None]) -> None:
    try:
        body()
    except ToolguardError as exc:
        _fail(exc, as_json)


def _records_table(records: list[ApprovalRecord], now: float, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("id", "status", "tool", "principal", "requested", "expires in", "why held", "arguments"):
        table.add_column(name, overflow="fold")
    for r in records:
        expires = _in(r.expires_at - now) if r.status == "pending" else "-"
        if r.status == "approved" and r.run_by is not None:
            expires = f"start within {_in(r.run_by - now)}"
        if r.status == "executing" and r.claimed_at is not None:
            expires = f"claimed {_in(now - r.claimed_at)} ago"
        table.add_row(
            Text(r.id), _status(r.status), Text(safe(r.tool)), Text(safe(r.principal)), Text(_when(r.requested_at)),
            Text(expires), Text(safe(r.summary, 80)), Text(_args_text(r.args, limit=80)),
        )
    return table


def _show(console: Console, r: ApprovalRecord, now: float) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    rows: list[tuple[str, Text]] = [
        ("id", Text(r.id)),
        ("status", _status(r.status)),
        ("tool", Text(safe(r.tool))),
        ("principal", Text(safe(r.principal))),
        ("session", Text(safe(r.session_id))),
        ("requested", Text(_when(r.requested_at))),
        ("expires", Text(f"{_when(r.expires_at)}" + (f" (in {_in(r.expires_at - now)})" if r.status == "pending" else ""))),
        *(
            [("start by", Text(f"{_when(r.run_by)} (in {_in(r.run_by - now)})"))]
            if r.status == "approved" and r.run_by is not None
            else []
        ),
        ("may decide", Text(", ".join(r.roles))),
        ("editable", Text(str(r.editable) if isinstance(r.editable, bool) else ", ".join(r.editable))),
        ("args sha256", Text(r.args_sha256)),
        ("why held", Text(safe(r.summary))),
    ]
    if r.decided_by or r.decided_at:
        rows.append(("decided", Text(f"{safe(r.decided_by or '-')} at {_when(r.decided_at)}: {safe(r.reason or '')}")))
    if r.error:
        rows.append(("error", Text(safe(r.error), style="red")))
    if r.result_json is not None:
        rows.append(("result", Text(safe(r.result_json, 2000))))
    for k, v in rows:
        head.add_row(k, v)
    console.print(head)
    console.print(Text("arguments" + (" (edited by the approver)" if r.edited else "") + ":", style="bold"))
    console.print(Text(_args_text(r.args, indent=2)), soft_wrap=True)
    if r.edited:
        console.print(Text("arguments the model asked for:", style="bold"))
        console.print(Text(_args_text(r.original_args, indent=2)), soft_wrap=True)
    findings = Table(title="findings", title_justify="left")
    for name in ("action", "code", "argument", "message", "evidence"):
        findings.add_column(name, overflow="fold")
    for f in r.findings:
        evidence = []
        for e in f.get("evidence", []):
            kind = e.get("kind", "")
            detail = {k: v for k, v in e.items() if k != "kind"}
            prefix = "UNTRUSTED SOURCE " if kind in ("taint", "grounding") else ""
            evidence.append(f"{prefix}{kind}: {_args_text(detail, limit=300)}")
        findings.add_row(
            Text(str(f.get("action", "")), style="yellow" if f.get("action") == "hold" else "red"),
            Text(safe(f.get("code", ""))), Text(safe(f.get("pointer", "") or "/")),
            Text(safe(f.get("message", ""), 500)), Text("\n".join(evidence) or "-"),
        )
    console.print(findings)
    if r.history:
        hist = Table(title="history", title_justify="left")
        for name in ("when", "event", "by", "why"):
            hist.add_column(name, overflow="fold")
        for e in r.history:
            hist.add_row(Text(_when(e.at)), Text(e.event), Text(safe(e.actor or "-")), Text(safe(e.reason or "")))
        console.print(hist)


# --------------------------------------------------------------------------------------
# Options


def _store_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--store", "store_url", envvar="TOOLGUARD_STORE", metavar="URL", default=None,
        help="The state store (sqlite:///path, postgresql://..., memory://); env TOOLGUARD_STORE; default: the SQLite file under TOOLGUARD_HOME or ./.toolguard.",
    )(f)


def _json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


def _identity_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--token", envvar="TOOLGUARD_APPROVER_TOKEN", metavar="TOKEN", default=None,
        help="Your approver token (prefer the env TOOLGUARD_APPROVER_TOKEN).",
    )(f)
    return click.option("--as", "as_name", envvar="TOOLGUARD_APPROVER", metavar="NAME", default=None, help="Your approver name (must match the token).")(f)


def _stores(url: str | None) -> tuple[ApprovalStore, ApproverStore]:
    return open_stores(url)


def _authenticate(store: ApproverStore, token: str | None, name: str | None) -> Any:
    if not token:
        raise InvalidToken("no approver token: pass --token or set TOOLGUARD_APPROVER_TOKEN")
    return store.authenticate(token, name)


# --------------------------------------------------------------------------------------
# toolguard approvals


@click.group("approvals", context_settings={"help_option_names": ["-h", "--help"]})
def approvals() -> None:
    """Held calls: list, show, approve, deny."""


@approvals.command("list")
@_store_option
@_json_option
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only these statuses (repeatable; default: pending).")
@click.option("--all", "all_", is_flag=True, help="Every status.")
@click.option("--principal", default=None, help="Only holds of this principal.")
@click.option("--stuck", is_flag=True, help="Calls left `executing` (a worker crashed or is still running): an operator must look.")
@click.option("--older-than", "older_than", type=float, default=0.0, show_default=True, help="With --stuck: claimed at least this many seconds ago.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def list_cmd(store_url: str | None, as_json: bool, statuses: tuple[str, ...], all_: bool, principal: str | None, stuck: bool, older_than: float, limit: int) -> None:
    """List held calls (pending ones unless told otherwise); expired holds are marked first."""

    def body() -> None:
        store, _ = _stores(store_url)
        now = time.time()
        store.expire(now=now)
        if stuck:
            wanted: Any = ("executing",)
        elif all_:
            wanted = None
        else:
            wanted = statuses or ("pending",)
        records = store.list(status=wanted, principal=principal, limit=limit)
        if stuck:
            records = [r for r in records if r.claimed_at is not None and now - r.claimed_at >= older_than]
        if as_json:
            _echo_json([r.to_dict() for r in records])
            return
        label = "stuck (executing)" if stuck else ("all" if all_ else "/".join(wanted or ()))
        console = _console()
        if not records:
            console.print(Text(f"no held calls ({label})"), soft_wrap=True)
            return
        console.print(_records_table(records, now, f"{len(records)} held call{'s' if len(records) != 1 else ''} ({label})"))
        if stuck:
            console.print(Text("These were claimed and never finished; they are never re-run automatically. "
                               "Check whether the tool ran, then close each with: toolguard approvals resolve ID --done|--failed --reason ..."), soft_wrap=True)

    _run(as_json, body)


@approvals.command("show")
@click.argument("hold_id", metavar="ID")
@_store_option
@_json_option
def show_cmd(hold_id: str, store_url: str | None, as_json: bool) -> None:
    """Show one held call: arguments, findings with evidence, and its history."""

    def body() -> None:
        store, _ = _stores(store_url)
        now = time.time()
        store.expire(now=now)
        rec = store.get(hold_id)
        if as_json:
            _echo_json(rec.to_dict())
        else:
            _show(_console(), rec, now)

    _run(as_json, body)


def _parse_args_option(args_json: str | None, args_file: str | None) -> Any:
    if args_json is not None and args_file is not None:
        raise InvalidDecision("pass either --args or --args-file, not both")
    raw = args_json
    if args_file is not None:
        try:
            raw = sys.stdin.read() if args_file == "-" else open(args_file, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise InvalidDecision(f"cannot read {args_file}: {exc.strerror or exc}") from None
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidDecision(f"edited arguments are not valid JSON: {exc}") from None


def _decided(rec: ApprovalRecord, as_json: bool) -> None:
    if as_json:
        _echo_json(rec.to_dict())
        return
    what = f"{rec.status} by {safe(rec.decided_by or '')}"
    if rec.edited:
        what += " with edited arguments (they will be decided again before they run)"
    _console().print(Text(f"hold {rec.id} ({safe(rec.tool)}): {what}"), soft_wrap=True)


@approvals.command("approve")
@click.argument("hold_id", metavar="ID")
@click.option("--reason", default=None, help="Why (recorded with the decision).")
@click.option("--args", "args_json", default=None, metavar="JSON", help="Approve with these edited arguments (only where the manifest allows).")
@click.option("--args-file", default=None, metavar="FILE", help="Edited arguments from a JSON file (- for stdin).")
@_identity_options
@_store_option
@_json_option
def approve_cmd(hold_id: str, reason: str | None, args_json: str | None, args_file: str | None, token: str | None, as_name: str | None, store_url: str | None, as_json: bool) -> None:
    """Approve a held call (it then runs once, when the agent resumes it)."""

    def body() -> None:
        store, approvers_ = _stores(store_url)
        who = _authenticate(approvers_, token, as_name)
        edited = _parse_args_option(args_json, args_file)
        _decided(store.decide(hold_id, who, "approve", reason, edited_args=edited), as_json)

    _run(as_json, body)


@approvals.command("deny")
@click.argument("hold_id", metavar="ID")
@click.option("--reason", required=True, help="Why (recorded with the decision and shown to the agent).")
@_identity_options
@_store_option
@_json_option
def deny_cmd(hold_id: str, reason: str, token: str | None, as_name: str | None, store_url: str | None, as_json: bool) -> None:
    """Deny a held call (it never runs)."""

    def body() -> None:
        store, approvers_ = _stores(store_url)
        who = _authenticate(approvers_, token, as_name)
        _decided(store.decide(hold_id, who, "deny", reason), as_json)

    _run(as_json, body)


def _may_act(store: ApprovalStore, approvers_: ApproverStore, hold_id: str, token: str | None, as_name: str | None) -> tuple[Any, ApprovalRecord]:
    who = _authenticate(approvers_, token, as_name)
    rec = store.get(hold_id)
    if not who.may_decide(rec.roles):
        raise NotAnApprover(f"{who.name!r} has none of the roles that may act on {rec.tool!r} (needs one of: {', '.join(rec.roles)})", approval_id=hold_id)
    return who, rec


@approvals.command("cancel")
@click.argument("hold_id", metavar="ID")
@click.option("--reason", required=True, help="Why.")
@_identity_options
@_store_option
@_json_option
def cancel_cmd(hold_id: str, reason: str, token: str | None, as_name: str | None, store_url: str | None, as_json: bool) -> None:
    """Cancel a pending or approved call: it will never run."""

    def body() -> None:
        store, approvers_ = _stores(store_url)
        who, _ = _may_act(store, approvers_, hold_id, token, as_name)
        _decided(store.cancel(hold_id, by=who.name, reason=reason), as_json)

    _run(as_json, body)


@approvals.command("resolve")
@click.argument("hold_id", metavar="ID")
@click.option("--done", "outcome", flag_value="done", help="The tool did run.")
@click.option("--failed", "outcome", flag_value="failed", help="The tool did not run, or failed.")
@click.option("--reason", required=True, help="What you found (recorded).")
@_identity_options
@_store_option
@_json_option
def resolve_cmd(hold_id: str, outcome: str | None, reason: str, token: str | None, as_name: str | None, store_url: str | None, as_json: bool) -> None:
    """Close a call stuck in `executing` after checking by hand what happened (it is never re-run)."""

    def body() -> None:
        if outcome is None:
            raise InvalidDecision("say what happened: --done or --failed")
        store, approvers_ = _stores(store_url)
        who, _ = _may_act(store, approvers_, hold_id, token, as_name)
        note = f"closed by {who.name}: {reason}"
        rec = store.finish(hold_id, result={"operator": who.name, "note": reason}, now=None) if outcome == "done" else store.finish(hold_id, error=note)
        if as_json:
            _echo_json(rec.to_dict())
        else:
            _console().print(Text(f"hold {rec.id}: {rec.status} ({safe(note)})"), soft_wrap=True)

    _run(as_json, body)


# --------------------------------------------------------------------------------------
# toolguard approvers


@click.group("approvers", context_settings={"help_option_names": ["-h", "--help"]})
def approvers() -> None:
    """Approvers: add (prints the token once), list, revoke."""


@approvers.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role that may decide held calls (repeatable); manifests name roles in approval.roles.")
@_store_option
@_json_option
def approvers_add(name: str, roles: tuple[str, ...], store_url: str | None, as_json: bool) -> None:
    """Add an approver and print its token (shown this once; only its hash is stored)."""

    def body() -> None:
        _, store = _stores(store_url)
        approver, token = store.add(name, roles)
        if as_json:
            _echo_json({**approver.to_dict(), "token": token})
            return
        console = _console()
        console.print(Text(f"approver {approver.name} added with roles: {', '.join(approver.roles)}"), soft_wrap=True)
        console.print(Text("token (shown once; store it now, it cannot be recovered):", style="bold"), soft_wrap=True)
        click.echo(token)

    _run(as_json, body)


@approvers.command("list")
@_store_option
@_json_option
def approvers_list(store_url: str | None, as_json: bool) -> None:
    """List approvers (tokens are never shown)."""

    def body() -> None:
        _, store = _stores(store_url)
        items = store.list()
        if as_json:
            _echo_json([a.to_dict() for a in items])
            return
        console = _console()
        if not items:
            console.print(Text("no approvers; add one with: toolguard approvers add NAME --role ROLE"), soft_wrap=True)
            return
        table = Table(title=f"{len(items)} approver{'s' if len(items) != 1 else ''}", title_justify="left")
        for col in ("name", "roles", "added", "status"):
            table.add_column(col, overflow="fold")
        for a in items:
            status = Text("active", style="green") if a.active else Text(f"revoked {_when(a.revoked_at)}", style="dim")
            table.add_row(Text(a.name), Text(", ".join(a.roles)), Text(_when(a.created_at)), status)
        console.print(table)

    _run(as_json, body)


@approvers.command("revoke")
@click.argument("name")
@_store_option
@_json_option
def approvers_revoke(name: str, store_url: str | None, as_json: bool) -> None:
    """Revoke an approver: its token stops working at once (its past decisions stay attributed)."""

    def body() -> None:
        _, store = _stores(store_url)
        approver = store.revoke(name)
        if as_json:
            _echo_json(approver.to_dict())
        else:
            _console().print(Text(f"approver {approver.name} revoked at {_when(approver.revoked_at)}"), soft_wrap=True)

    _run(as_json, body)


# --------------------------------------------------------------------------------------
# toolguard serve


@click.command("serve", context_settings={"help_option_names": ["-h", "--help"]})
@_store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (keep loopback unless behind a TLS proxy).")
@click.option("--port", type=click.IntRange(0, 65535), default=8600, show_default=True)
@click.option("--secret-key", envvar="TOOLGUARD_SECRET_KEY", default=None, metavar="KEY", help="Signs session cookies and CSRF tokens (env TOOLGUARD_SECRET_KEY; default: random per start, which logs everyone out on restart).")
@click.option("--secure-cookies/--no-secure-cookies", default=None, help="Mark cookies Secure (default: on unless the host is loopback).")
def serve(store_url: str | None, host: str, port: int, secret_key: str | None, secure_cookies: bool | None) -> None:
    """Run the approver HTTP API and web page (needs: pip install 'toolguard[server]')."""
    try:
        import uvicorn

        from ..server import create_app
    except ImportError as exc:
        click.echo(f"error: the server needs its extra ({exc}). Install it with: pip install 'toolguard[server]'", err=True)
        raise click.exceptions.Exit(EXIT_ERROR) from None
    loopback = host in ("127.0.0.1", "::1", "localhost")
    try:
        holds, people = _stores(store_url)
        app = create_app(holds, people, secret_key=secret_key, secure_cookies=(not loopback) if secure_cookies is None else secure_cookies)
    except ToolguardError as exc:
        _fail(exc, False)
    if not loopback:
        click.echo("warning: listening beyond loopback; put a TLS proxy in front (tokens and cookies travel in clear otherwise)", err=True)
    click.echo(f"toolguard approvals on http://{host}:{port}/ (API: /api/holds, OpenAPI: /openapi.json)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
