"""The added per-call cost of accounting and audit (budgets, cut-off, output checks, audit log).

Prints a table of medians and p99s, all from the same run: the bare decision core, a guarded
call with accounting switched off as far as it goes (no budgets, no audit, no telemetry), and
then each layer on top, with memory and SQLite (WAL) stores. The "added" column is the
median of the row minus the median of the guarded call without accounting.

    python benchmarks/accounting.py [--n 20000]

Target (issue 5): accounting + audit add < 15 µs median per call with SQLite in WAL mode.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolguard import Call, Guard, Policy, SessionView, decide  # noqa: E402
from toolguard.audit import AuditLog  # noqa: E402
from toolguard.cutoff import MemoryKillList, SqlKillList  # noqa: E402
from toolguard.egress import MemoryCounterStore, SqlCounterStore  # noqa: E402
from toolguard.manifest import ManifestSet, manifest_from_dict  # noqa: E402
from toolguard.outputs import process_output  # noqa: E402
from toolguard.stores.sql import Database  # noqa: E402

MANIFEST = {
    "tool": "send_message",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 10},
            "subject": {"type": "string", "maxLength": 300},
            "body": {"type": "string", "maxLength": 100000},
        },
        "required": ["to", "subject", "body"],
        "additionalProperties": False,
    },
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/subject", "/body"],
    "output": {"trust": "trusted", "max_bytes": 65536},
}
LIMITS = {"calls": {"max": 10**9, "per": "1h"}, "egress_bytes": {"max": "1TB", "per": "1d"}}
ARGS = {"to": ["bob@acme.example"], "subject": "Q3 report", "body": "Hi Bob, the Q3 report is attached. Numbers are up 4%. Best, Alice"}
OUTPUT = "Message 7f3a queued for delivery to bob@acme.example at 10:42 UTC."


def measure(fn: Callable[[], object], n: int) -> list[float]:
    for _ in range(min(1000, n // 10)):
        fn()
    samples = []
    gc.disable()
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            fn()
            samples.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        gc.enable()
    return samples


def p99(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    tmp = Path(tempfile.mkdtemp(prefix="toolguard-bench-"))
    plain = manifest_from_dict(MANIFEST)
    budgeted = manifest_from_dict({**MANIFEST, "limits": LIMITS})
    policy = Policy()
    call = Call("send_message", ARGS, "c1")
    tool = lambda args: OUTPUT  # noqa: E731
    rows: list[tuple[str, list[float]]] = []

    view = SessionView.empty("alice", "s")
    rows.append(("decide (pure core)", measure(lambda: decide(call, plain, view, policy), n)))

    def guard_row(name: str, manifest: object, **kwargs: object) -> None:
        g = Guard(ManifestSet.of([manifest]), policy=policy, **kwargs)  # type: ignore[list-item]
        s = g.session("alice", "s")
        assert g.run(s, call, tool).status == "executed"
        rows.append((name, measure(lambda: g.run(s, call, tool), n)))

    guard_row("Guard.run, no accounting (baseline)", plain, telemetry=False)
    guard_row("+ budgets, memory counters", budgeted, telemetry=False, counters=MemoryCounterStore())
    db = Database(f"sqlite:///{tmp / 'state.db'}")
    guard_row("+ budgets, SQLite counters (WAL)", budgeted, telemetry=False, counters=SqlCounterStore(db))
    guard_row("+ SQLite kill list (read per call)", plain, telemetry=False, kill_list=SqlKillList(db))
    guard_row("+ SQLite kill list, 1 s cache", plain, telemetry=False, kill_list=SqlKillList(db, cache_ttl=1.0))
    guard_row("+ audit log (fsync interval 1 s)", plain, telemetry=False, audit=AuditLog(tmp / "a1.jsonl"))
    guard_row("+ telemetry (API, no SDK: no-op)", plain)
    guard_row(
        "all: SQLite budgets + kill list + audit",
        budgeted, telemetry=False, counters=SqlCounterStore(db), kill_list=SqlKillList(db), audit=AuditLog(tmp / "a2.jsonl"),
    )
    guard_row(
        "all, memory budgets + kill list + audit",
        budgeted, telemetry=False, counters=MemoryCounterStore(), kill_list=MemoryKillList(), audit=AuditLog(tmp / "a3.jsonl"),
    )

    # The layers alone, outside the guard.
    mem = MemoryCounterStore()
    sql = SqlCounterStore(db)
    g = Guard(ManifestSet.of([budgeted]), telemetry=False)
    charges = g.accounting.budgets.call_charges("alice", g.accounting.budgets.slots("default", "send_message", budgeted)[0], 120, [])
    now = time.time()
    rows.append(("  CounterStore.reserve, memory (2 series)", measure(lambda: mem.reserve(charges, now), n)))
    rows.append(("  CounterStore.reserve, SQLite (2 series)", measure(lambda: sql.reserve(charges, now), n)))
    audit = AuditLog(tmp / "a4.jsonl")
    d = decide(call, plain, view, policy).with_id("0" * 32)
    rows.append(("  AuditLog.decision (masked input)", measure(lambda: audit.decision(d, call, principal="alice", session="s", manifest=plain), n)))
    rows.append(("  process_output (short text, cap set)", measure(lambda: process_output(OUTPUT, plain.output, tool="t"), n)))

    base = statistics.median(rows[1][1])
    print(f"{'measurement':44} {'median µs':>10} {'p99 µs':>10} {'added µs':>10} {'n':>7}")
    print("-" * 85)
    for i, (name, s) in enumerate(rows):
        med = statistics.median(s)
        added = f"{med - base:10.1f}" if 1 < i <= 9 else " " * 10
        print(f"{name:44} {med:10.1f} {p99(s):10.1f} {added} {len(s):7d}")
    print("target: accounting + audit add < 15 µs median per call with SQLite (WAL)")
    db.close()


if __name__ == "__main__":
    main()
