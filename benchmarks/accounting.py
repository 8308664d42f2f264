"""The added per-call cost of accounting and audit (budgets, cut-off, output checks, audit log).

For each configuration it times what the guard runs for one call on top of the decision
core (the accounting's fused fast path on, as by default; two rows turn it off to show the
general path on the same configuration): the kill-list read, the call's span context, ``Accounting.after_decide`` (budgets,
cut-off rules, audit record, telemetry) and ``Accounting.after_execute`` (output checks,
output budgets, output record). The bare decision core is timed in the same run for
comparison. Medians and p99s in microseconds, CPU time of the calling thread and of the
whole process (which includes the audit log's background writer in the rows that use it:
work moved off the caller's thread still counts there); the machines are shared, so
compare rows of one run rather than runs. The last line times the TARGET call in blocks
alternating with the decision core and a bare LangChain tool call, so that its ratios do
not depend on the machine's speed drifting during the run.

    python benchmarks/accounting.py [--n 20000]

Target (issue 5): accounting + audit add < 15 µs median per call with SQLite in WAL mode,
batched where safe (leased counters, cached kill list, audit written to the OS per record
and fsynced once a second).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import MESSAGE_MANIFEST, measure, measure_interleaved, percentile

from toolguard import Call, Guard, Policy, SessionView, decide
from toolguard.audit import AuditLog
from toolguard.cutoff import SqlKillList
from toolguard.egress import LeasedCounterStore, MemoryCounterStore, SqlCounterStore
from toolguard.manifest import ManifestSet, manifest_from_dict
from toolguard.outputs import process_output
from toolguard.stores.sql import Database

MANIFEST = MESSAGE_MANIFEST
LIMITS = {"calls": {"max": 10**9, "per": "1h"}, "egress_bytes": {"max": "1TB", "per": "1d"}}
ARGS = {"to": ["bob@acme.example"], "subject": "Q3 report", "body": "Hi Bob, the Q3 report is attached. Numbers are up 4%. Best, Alice"}
OUTPUT = "Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC."


def cpu(fn: Callable[[], object], n: int, flush: Callable[[], object], batch: int = 50) -> tuple[float, float]:
    """CPU microseconds per call: (median of this thread's, over batches of ``batch`` calls;
    mean of the whole process's, over all ``n`` calls and the ``flush`` after them).

    On a shared, loaded machine wall-clock samples include the time the process waited for
    a core; CPU time does not, so it is the steadier measure of what a call costs. The
    process column includes every thread (the audit log's background writer): work moved
    off the caller's thread still shows there. It is a mean over the whole run rather than
    a median of batches, because the writer's work does not fall into the batch that made it.
    """
    per_call = []
    gc.disable()
    try:
        p0 = time.process_time_ns()
        for _ in range(max(1, n // batch)):
            t0 = time.thread_time_ns()
            for _ in range(batch):
                fn()
            per_call.append((time.thread_time_ns() - t0) / 1000 / batch)
        flush()
        proc = (time.process_time_ns() - p0) / 1000 / (max(1, n // batch) * batch)
    finally:
        gc.enable()
    return statistics.median(per_call), proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    tmp = Path(tempfile.mkdtemp(prefix="toolguard-bench-"))
    plain = manifest_from_dict(MANIFEST)
    budgeted = manifest_from_dict({**MANIFEST, "limits": LIMITS})
    small = manifest_from_dict({**MANIFEST, "limits": {"calls": {"max": 50, "per": "1h"}, "egress_bytes": {"max": "1MB", "per": "1d"}}})
    policy = Policy()
    call = Call("send_message", ARGS, "c1")
    view = SessionView.empty("alice", "s")
    rows: list[tuple[str, list[float], tuple[float, float]]] = []
    audits: list[AuditLog] = []

    def row(name: str, fn: Callable[[], object]) -> None:
        samples = measure(fn, n)
        flush_all()
        times = cpu(fn, n, flush_all)
        rows.append((name, samples, times))

    def flush_all() -> None:  # nothing queued by one row is left for the next one to write
        for a in audits:
            a.flush()

    def audit_log(name: str, **kwargs: Any) -> AuditLog:
        a = AuditLog(tmp / name, **kwargs)
        audits.append(a)
        return a

    row("decide (pure core), for comparison", lambda: decide(call, plain, view, policy))
    db = Database(f"sqlite:///{tmp / 'state.db'}")
    counter = [0]

    def accounting_row(name: str, manifest: object, *, fresh_principal: bool = False, fast: bool = True,
                       **kwargs: object) -> Callable[[], None]:
        g = Guard(ManifestSet.of([manifest]), policy=policy, **kwargs)  # type: ignore[list-item]
        acc = g.accounting
        acc.fast_path = fast
        session = g.session("alice", "s")
        decision = decide(call, manifest, view, policy).with_id("0" * 32)  # type: ignore[arg-type]

        def one() -> None:
            s = session
            if fresh_principal:  # a new principal every call: budgets never run out
                counter[0] += 1
                s = g.session(f"p{counter[0]}", "s")
            acc.cut_off_reason(s.principal)
            with acc.track(call, s) as track:
                d = acc.after_decide(track, call, s, decision, 0.0)
                assert d.verdict == "allow", d
                acc.after_execute(track, call, s, d, OUTPUT)

        one()
        row(name, one)
        return one

    accounting_row("memory stores, no budgets, no audit", plain, telemetry=False)
    accounting_row("  same, general path (fast path off)", plain, telemetry=False, fast=False)
    accounting_row("+ telemetry through the API (no SDK)", plain)
    accounting_row("memory counters, 2 budgets", budgeted, telemetry=False, counters=MemoryCounterStore())
    accounting_row("SQLite counters, 2 budgets, no lease", budgeted, telemetry=False, counters=SqlCounterStore(db))
    accounting_row("SQLite counters, 2 budgets, leased 5%", budgeted, telemetry=False, counters=LeasedCounterStore(SqlCounterStore(db)))
    accounting_row(
        "  same, a new lease every call (new principals)", small, fresh_principal=True, telemetry=False,
        counters=LeasedCounterStore(SqlCounterStore(db)),
    )
    accounting_row("SQLite kill list, read every call", plain, telemetry=False, kill_list=SqlKillList(db))
    accounting_row("SQLite kill list, 1 s cache", plain, telemetry=False, kill_list=SqlKillList(db, cache_ttl=1.0))
    accounting_row("audit log (masked input, fsync 1 s)", plain, telemetry=False, audit=audit_log("a1.jsonl"))
    accounting_row("audit log, background writer", plain, telemetry=False, audit=audit_log("a1t.jsonl", writer="thread"))
    target = accounting_row(
        "TARGET: SQLite leased + cached kill list + audit",
        budgeted, telemetry=False, counters=LeasedCounterStore(SqlCounterStore(db)),
        kill_list=SqlKillList(db, cache_ttl=1.0), audit=audit_log("a2.jsonl"),
    )
    accounting_row(
        "TARGET, audit by the background writer",
        budgeted, telemetry=False, counters=LeasedCounterStore(SqlCounterStore(db)),
        kill_list=SqlKillList(db, cache_ttl=1.0), audit=audit_log("a2t.jsonl", writer="thread"),
    )
    accounting_row(
        "  same, general path (fast path off)", budgeted, fast=False, telemetry=False,
        counters=LeasedCounterStore(SqlCounterStore(db)), kill_list=SqlKillList(db, cache_ttl=1.0),
        audit=audit_log("a2g.jsonl", writer="thread"),
    )
    accounting_row(
        "SQLite unleased + uncached kill list + audit",
        budgeted, telemetry=False, counters=SqlCounterStore(db), kill_list=SqlKillList(db), audit=audit_log("a3.jsonl"),
    )

    # The pieces alone.
    mem = MemoryCounterStore()
    sql = SqlCounterStore(db)
    g = Guard(ManifestSet.of([budgeted]), telemetry=False)
    charges = g.accounting.budgets.call_charges("alice", g.accounting.budgets.slots("default", "send_message", budgeted)[0], 120, [])
    now = time.time()
    row("  CounterStore.reserve, memory (2 series)", lambda: mem.reserve(charges, now))
    row("  CounterStore.reserve, SQLite (2 series)", lambda: sql.reserve(charges, now))
    audit = audit_log("a4.jsonl")
    d = decide(call, plain, view, policy).with_id("0" * 32)
    row("  AuditLog.decision (masked input)", lambda: audit.decision(d, call, principal="alice", session="s", manifest=plain))
    queued = audit_log("a5.jsonl", writer="thread")
    row("  same, background writer", lambda: queued.decision(d, call, principal="alice", session="s", manifest=plain))
    row("  process_output (short text, size cap)", lambda: process_output(OUTPUT, plain.output, tool="t"))

    print(f"{'added per call (accounting + audit)':48} {'median µs':>10} {'p99 µs':>10} {'CPU µs':>8} {'proc CPU':>9} {'n':>7}")
    print("-" * 97)
    for name, samples, (cpu_us, proc_us) in rows:
        print(f"{name:48} {statistics.median(samples):10.1f} {percentile(samples, 0.99):10.1f} {cpu_us:8.1f} {proc_us:9.1f} {len(samples):7d}")
    print("CPU µs: the calling thread (median of batches); proc CPU: the whole process, writer thread included (mean)")
    print("target: the TARGET row < 15 µs median (SQLite in WAL mode, batched where safe)")
    # The machine is shared and its speed swings between runs: the same run's decision core
    # (a fixed amount of work) says how fast this run's machine was.
    by_name = {name: samples for name, samples, _ in rows}
    core = statistics.median(by_name["decide (pure core), for comparison"])
    for name in ("TARGET: SQLite leased + cached kill list + audit", "TARGET, audit by the background writer"):
        print(f"{name} / decide core (median wall): {statistics.median(by_name[name]) / core:.2f}x (core {core:.1f} µs)")
    # The TARGET call beside the decision core and a bare LangChain tool call, in alternating
    # blocks: the ratios do not depend on the machine's speed drifting during the run.
    refs: list[tuple[str, Callable[[], object]]] = [("decide core", lambda: decide(call, plain, view, policy))]
    try:
        from langchain_core.tools import StructuredTool

        def send_message(to: list[str], subject: str, body: str) -> str:
            """Send a message."""
            return "sent"

        bare = StructuredTool.from_function(send_message, name="send_message")
        tc = {"name": "send_message", "args": ARGS, "id": "call_1", "type": "tool_call"}
        refs.append(("bare LangChain tool invoke", lambda: bare.invoke(tc)))
    except ImportError as exc:  # the integration is optional
        print(f"(the bare tool call is left out: {exc})")
    walls, cpus = measure_interleaved([target, *(fn for _, fn in refs)], max(4000, n // 2))
    flush_all()
    t = statistics.median(walls[0])
    print(f"TARGET, alternating blocks: {t:.1f} µs median wall ({cpus[0]:.1f} µs CPU)", end="")
    for (name, _), w, c in zip(refs, walls[1:], cpus[1:], strict=True):
        print(f"; {name} {statistics.median(w):.1f} µs: {t / statistics.median(w):.2f}x ({cpus[0] / c:.2f}x CPU)", end="")
    print()
    for a in audits:
        a.close()
    db.close()


if __name__ == "__main__":
    main()
