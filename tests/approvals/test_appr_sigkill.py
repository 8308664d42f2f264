"""Crash safety: SIGKILL a process at every step of hold -> approve -> execute, 50 times.

Each run is a real Python process on a real SQLite file. It holds a call, approves it and
executes it; the "tool" appends the hold id to a file, so executions can be counted. The
process prints a marker after each step; the test kills it (SIGKILL) either while it waits
at a chosen marker or a few milliseconds after one (landing inside the next step's
transaction or the tool). Afterwards a recovery pass does what an operator's worker would
(decide what is pending, execute what is approved, leave ``executing`` alone) and the test
checks: no hold the agent was told about is lost, nothing ran twice, every ``done`` record
ran exactly once, and a record left ``executing`` was never re-run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from toolguard.approvals import execute_approved, open_stores

pytestmark = pytest.mark.slow

RUNS = 50
PARALLEL = 5
MARKERS = ["start", "held", "approved", "tool-start", "tool-done", "finished"]

# A fork server: it imports toolguard once, then forks one fresh process per run (so 50 runs
# take seconds, not minutes). Each run opens its own database connection after the fork,
# reports its pid and a marker after each step through a FIFO, and is SIGKILLed by the test.
ZYGOTE = r"""
import os, signal, sys, time, traceback

from toolguard import Call, Guard
from toolguard.approvals import execute_approved, open_stores
from toolguard.manifest import ManifestSet, manifest_from_dict

MANIFEST = {
    "tool": "send_email", "side_effect": "external_write",
    "arguments": {"type": "object", "properties": {"to": {"type": "array", "items": {"type": "string"}},
                  "subject": {"type": "string"}, "body": {"type": "string"}}},
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "approval": {"roles": ["mail-approvers"], "ttl": "1h"},
}
URL, LOG = sys.argv[1], sys.argv[2]


def one_run(run, pause_at, out):
    def marker(name, extra=""):
        out.write(f"{name} {extra}\n")
        out.flush()
        if name == pause_at:
            time.sleep(60)  # the test kills us here

    marker("pid", str(os.getpid()))
    holds, approvers = open_stores(URL)  # a fresh connection, opened after the fork
    guard = Guard(ManifestSet.of([manifest_from_dict(MANIFEST)]), holds=holds)
    marker("start")
    state = {}

    def send_email(args):
        marker("tool-start")
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(f"{state['hid']} {run}\n")
            f.flush()
            os.fsync(f.fileno())
        marker("tool-done")
        return "sent"

    call = Call("send_email", {"to": ["eve@evil.test"], "subject": run, "body": "b"}, "c1")
    outcome = guard.run(guard.session("agent", run), call, send_email)
    assert outcome.status == "held", outcome
    state["hid"] = outcome.hold_id
    marker("held", outcome.hold_id)
    bob = approvers.authenticate(os.environ["APPROVER_TOKEN"])
    holds.decide(outcome.hold_id, bob, "approve", "looks fine")
    marker("approved")
    res = execute_approved(holds, outcome.hold_id, {"send_email": send_email}, guard)
    marker("finished", res.status)


signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runs are reaped automatically
sys.stdout.write("ready\n")
sys.stdout.flush()
for line in sys.stdin:
    run, pause_at, fifo = line.split()
    if os.fork() == 0:
        code = 0
        try:
            with open(fifo, "w", encoding="utf-8") as out:
                try:
                    one_run(run, pause_at, out)
                    out.write("exit 0\n")
                except BaseException:
                    out.write("error " + traceback.format_exc().replace("\n", " | ") + "\n")
                    code = 1
        finally:
            os._exit(code)
"""


def _plan(rng: random.Random) -> list[tuple[str, str, float | None]]:
    """(run id, marker, delay): delay None = kill while paused at the marker; else kill that many seconds after it."""
    plan = []
    for i in range(RUNS):
        marker = MARKERS[i % len(MARKERS)]
        # Two of every three rounds pause exactly at each step; the third dies a random moment after one.
        delay = None if (i // len(MARKERS)) % 3 != 2 else rng.uniform(0.0, 0.03)
        plan.append((f"run-{i:02d}", marker, delay))
    return plan


class ForkServer:
    def __init__(self, script: Path, url: str, log: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), url, str(log)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.lock = threading.Lock()

    def start(self, run: str, pause_at: str, fifo: Path) -> None:
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(f"{run} {pause_at} {fifo}\n")
            self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()


def _one_run(server: ForkServer, tmp: Path, run: str, marker: str, delay: float | None) -> dict[str, object]:
    fifo = tmp / f"{run}.fifo"
    os.mkfifo(fifo)
    server.start(run, marker if delay is None else "-", fifo)
    seen: list[str] = []
    held_id = None
    killed = False
    ended = ""
    pid = None
    with open(fifo, encoding="utf-8") as markers:
        for line in markers:
            name, _, extra = line.strip().partition(" ")
            seen.append(name)
            if name == "pid":
                pid = int(extra)
            elif name == "held":
                held_id = extra
            elif name in ("exit", "error"):
                ended = line.strip()
            if name == marker and pid is not None:
                if delay:
                    time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                except ProcessLookupError:  # it finished within the delay
                    pass
                break
        # Read until the process's end of the FIFO closes (it exited or was killed).
        for line in markers.read().splitlines():
            name = line.partition(" ")[0]
            seen.append(name)
            if name == "held":
                held_id = line.partition(" ")[2]
            if name in ("exit", "error"):
                ended = line.strip()
    if not killed:
        assert ended == "exit 0", f"{run} failed without being killed: {ended}"
    else:
        assert not ended.startswith("error"), f"{run} failed before it was killed: {ended}"
    return {"run": run, "marker": marker, "delay": delay, "seen": seen, "held_id": held_id, "killed": killed}


def test_sigkill_at_every_step_loses_nothing_and_runs_nothing_twice(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    log = tmp_path / "executions.log"
    log.touch()
    script = tmp_path / "zygote.py"
    script.write_text(ZYGOTE, encoding="utf-8")
    holds, approvers = open_stores(url)
    bob, token = approvers.add("bob", ["mail-approvers"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")}
    env["APPROVER_TOKEN"] = token

    results: list[dict[str, object]] = []
    lock = threading.Lock()
    plan = _plan(random.Random(20240604))

    server = ForkServer(script, url, log, env)

    failures: list[BaseException] = []

    def worker(chunk):
        try:
            for run, marker, delay in chunk:
                r = _one_run(server, tmp_path, run, marker, delay)
                with lock:
                    results.append(r)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    chunks = [plan[i::PARALLEL] for i in range(PARALLEL)]
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    server.close()
    assert not failures, failures
    assert len(results) == RUNS

    killed = [r for r in results if r["killed"]]
    # Runs killed at a marker are always killed; a run killed "a few ms after" a marker may
    # finish first on a loaded machine (that run then checks a clean exit instead).
    assert all(r["killed"] for r in results if not r["delay"]), "every run killed at a marker must be killed"
    assert len(killed) >= RUNS // 2, f"only {len(killed)} of {RUNS} runs were killed"
    assert {r["marker"] for r in killed if r["delay"] is None} == set(MARKERS)

    # No hold lost: every hold id the agent was given exists in the store.
    records = {rec.id: rec for rec in holds.list(status=None, limit=10_000)}
    for r in results:
        if r["held_id"]:
            assert r["held_id"] in records, f"{r['run']}: hold {r['held_id']} was reported to the agent but is lost"
    by_run = Counter(rec.session_id for rec in records.values())
    assert all(n == 1 for n in by_run.values()), "one hold per run"

    # Recovery, as a worker would do it: decide what is pending, execute what is approved,
    # never touch what is executing.
    current: dict[str, str] = {}

    def send_email(args):
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{current['id']} recovery\n")
        return "sent"

    for rec in list(records.values()):
        if rec.status == "pending":
            holds.decide(rec.id, bob, "approve", "recovered")
        if holds.get(rec.id).status == "approved":
            current["id"] = rec.id
            res = execute_approved(holds, rec.id, {"send_email": send_email})
            assert res.status == "executed" and res.ran_here

    executions = Counter(line.split()[0] for line in log.read_text(encoding="utf-8").splitlines() if line.strip())
    final = {rec.id: rec for rec in holds.list(status=None, limit=10_000)}
    assert set(executions) <= set(final), "every execution belongs to a stored hold"
    assert max(executions.values(), default=0) <= 1, f"executed twice: {[k for k, v in executions.items() if v > 1]}"
    stuck = 0
    for rec in final.values():
        assert rec.status in ("done", "executing"), (rec.id, rec.status)
        if rec.status == "done":
            assert executions[rec.id] == 1, f"{rec.id} is done but ran {executions[rec.id]} times"
        else:
            stuck += 1  # claimed, then the process died: left for an operator, never re-run
            assert executions[rec.id] <= 1
    # Runs killed after the claim (paused at tool-start/tool-done) must be the stuck ones.
    for r in results:
        if r["killed"] and r["delay"] is None and r["marker"] in ("tool-start", "tool-done"):
            rec = final[str(r["held_id"])]
            assert rec.status == "executing"
            assert executions[rec.id] == (1 if r["marker"] == "tool-done" else 0)
    paused_after_claim = [r for r in results if r["killed"] and r["delay"] is None and r["marker"] in ("tool-start", "tool-done")]
    assert stuck >= len(paused_after_claim) > 0
    print(f"\n{RUNS} runs, {len(killed)} killed, {len(final)} holds, {sum(executions.values())} executions, {stuck} left executing for an operator")
