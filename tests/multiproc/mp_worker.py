"""One replica for the multi-process tests: its own Guard on a shared database.

Run as ``python mp_worker.py URL EFFECTS INDEX``. It reads one JSON command per line on
stdin and answers one JSON line on stdout (``{"id", "ok", "result" | "error"}``), one
command at a time. Every tool it runs appends ``<event> <subject> <pid>`` lines to the
shared EFFECTS file (O_APPEND, one write per line), so the test can count what ran where.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from mp_support import MANIFESTS, POLICY

from toolguard import Call, Guard, Policy
from toolguard.approvals import SqlApprovalStore, SqlApproverStore, execute_approved
from toolguard.cutoff import SqlKillList
from toolguard.manifest import ManifestSet, manifest_from_dict
from toolguard.stores.notify import WatchedKillList, open_notifier, wait_for_decision
from toolguard.stores.sql import open_database

URL, EFFECTS, INDEX = sys.argv[1], sys.argv[2], int(sys.argv[3])
PID = os.getpid()

# The protocol owns the real stdout; anything else printed goes to stderr.
_OUT = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)

db = open_database(URL)
holds = SqlApprovalStore(db)
approvers = SqlApproverStore(db)
policy = Policy.model_validate({**POLICY, "store": URL})
notifier = open_notifier(db)
# Counters come from policy.store (shared, leased); the kill list is cached until a change is announced.
kills = WatchedKillList(SqlKillList(db), notifier)
guard = Guard(
    ManifestSet.of(manifest_from_dict(m) for m in MANIFESTS), policy=policy, holds=holds, kill_list=kills, telemetry=False
)
_server: Any = None


def effect_line(event: str, subject: str) -> None:
    fd = os.open(EFFECTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{event} {subject} {PID}\n".encode())
    finally:
        os.close(fd)


class Tool:
    """The real tool: records that it started and finished; may block forever once (to be killed)."""

    def __init__(self, block_on: int | None = None, work: float = 0.0) -> None:
        self.block_on = block_on
        self.work = work
        self.runs = 0

    def __call__(self, args: dict[str, Any]) -> str:
        subject = str(args.get("subject") or args.get("q"))
        effect_line("start", subject)
        self.runs += 1
        if self.block_on is not None and self.runs == self.block_on:
            effect_line("blocked", subject)
            time.sleep(600)  # the test SIGKILLs us here, mid-execution
        if self.work:
            time.sleep(self.work)
        effect_line("done", subject)
        return "sent"


def _sleep_until(t: float | None) -> None:
    if t is not None:
        time.sleep(max(0.0, t - time.time()))


def cmd_hammer(principal: str, tool: str, n: int, start_at: float | None = None, block_on: int | None = None) -> dict[str, Any]:
    """``n`` allowed-looking calls of ``tool`` by ``principal``; tally what became of them."""
    run = Tool(block_on)
    session = guard.session(principal, f"w{INDEX}")
    tally: dict[str, int] = {}
    _sleep_until(start_at)
    for i in range(n):
        call = Call(tool, {"to": ["bob@acme.example"], "subject": f"{principal}-{INDEX}-{i}", "body": "numbers"}, f"c{INDEX}-{i}")
        out = guard.run(session, call, run)
        key = out.status + ":" + ",".join(sorted(set(out.decision.codes)))
        tally[key] = tally.get(key, 0) + 1
    return tally


def cmd_hold(principal: str, n: int = 1) -> list[str]:
    """``n`` calls that are held (a destination off the allow-list); their hold ids."""
    session = guard.session(principal, f"w{INDEX}-held")
    ids = []
    for i in range(n):
        call = Call("send_email", {"to": ["eve@evil.test"], "subject": f"{principal}-hold-{INDEX}-{i}", "body": "b"}, f"h{INDEX}-{i}")
        out = guard.run(session, call, Tool())
        if out.status != "held" or out.hold_id is None:
            raise AssertionError(f"expected a hold, got {out.status}: {out.decision.reason}")
        ids.append(out.hold_id)
    return ids


def cmd_serve() -> str:
    """Serve the approver HTTP API on 127.0.0.1 (a free port) until ``stop_serve``."""
    global _server
    from toolguard.server import create_app, serve_in_thread

    _server = serve_in_thread(create_app(holds, approvers, secret_key="multiproc-secret-key-0123456789"))
    return str(_server.__enter__())


def cmd_stop_serve() -> None:
    global _server
    if _server is not None:
        _server.__exit__(None, None, None)
        _server = None


def cmd_wait_execute(hold_id: str, timeout: float) -> dict[str, Any]:
    """Wait (woken by the change notifier) for the decision, then execute the call if approved."""
    rec = wait_for_decision(holds, hold_id, timeout, notifier=notifier)
    woke = time.time()
    res = execute_approved(holds, hold_id, {"send_email": Tool()}, guard)
    return {"woke": woke, "seen": rec.status, "status": res.status, "ran_here": res.ran_here}


def cmd_loop(principal: str, tool: str, timeout: float) -> dict[str, Any]:
    """Call ``tool`` again and again until the principal is cut off (or ``timeout``)."""
    session = guard.session(principal, f"w{INDEX}-loop")
    run = Tool()
    last_allowed_start = None
    deadline = time.time() + timeout
    i = 0
    while time.time() < deadline:
        started = time.time()
        out = guard.run(session, Call(tool, {"q": f"{principal}-{INDEX}-{i}"}, f"l{INDEX}-{i}"), run)
        i += 1
        if out.status == "executed":
            last_allowed_start = started
        elif "principal.cut_off" in out.decision.codes:
            return {"denied_at": time.time(), "last_allowed_start": last_allowed_start, "calls": i}
        else:
            raise AssertionError(f"unexpected {out.status}: {out.decision.reason}")
    return {"denied_at": None, "last_allowed_start": last_allowed_start, "calls": i}


def cmd_cut(principal: str) -> float:
    """Cut ``principal`` off from this replica; the time the cut-off was committed."""
    guard.accounting.cut(principal, "cut off by the multi-process test", "ops")
    return time.time()


def cmd_call(principal: str, tool: str) -> list[str]:
    out = guard.run(guard.session(principal, f"w{INDEX}-one"), Call(tool, {"q": "x"}, "one"), Tool())
    return [out.status, *out.decision.codes]


def cmd_drain(block_on: int | None = None, work: float = 0.02, idle: float = 1.0) -> dict[str, Any]:
    """Execute every approved call until none is left for ``idle`` seconds; tally the outcomes."""
    run = Tool(block_on, work)
    tally: dict[str, int] = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle:
        ready = holds.list(status="approved", limit=50)
        if not ready:
            time.sleep(0.02)
            continue
        quiet_since = time.monotonic()
        for rec in ready:
            res = execute_approved(holds, rec.id, {"send_email": run}, guard)
            key = f"{res.status}:{'here' if res.ran_here else 'elsewhere'}"
            tally[key] = tally.get(key, 0) + 1
    return tally


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith("cmd_")}


def main() -> None:
    _OUT.write(json.dumps({"id": 0, "ok": True, "result": {"pid": PID}}) + "\n")
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            result = COMMANDS[msg["cmd"]](**msg.get("args", {}))
            reply = {"id": msg["id"], "ok": True, "result": result}
        except Exception as exc:  # reported to the test, which fails with it
            reply = {"id": msg["id"], "ok": False, "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
        _OUT.write(json.dumps(reply) + "\n")
    cmd_stop_serve()


if __name__ == "__main__":
    threading.current_thread().name = f"replica-{INDEX}"
    main()
