"""Decision latency and the cost of wrapping a LangChain tool.

Prints a table: median and p99 of `decide` for a typical call (a schema with five
properties, two destinations), the same through `Guard.decide` (ids, session lock), and a
LangChain tool invoked bare and wrapped, with the wrapped/bare ratio. All numbers come from
the same run on the same machine; quote ratios, the machines are shared and noisy. The CPU
column (thread time, median over batches) leaves out the time spent waiting for a core.

    python benchmarks/decision.py [--n 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import cpu, measure, measure_interleaved
from _bench import percentile as p

from toolguard import Call, Guard, Policy, SessionView, decide
from toolguard.manifest import manifest_from_dict

MANIFEST = {
    "tool": "send_message",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 10},
            "cc": {"type": "string"},
            "subject": {"type": "string", "maxLength": 300},
            "body": {"type": "string", "maxLength": 100000},
            "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "required": ["to", "subject", "body"],
        "additionalProperties": False,
    },
    "destinations": [
        {"arg": "/to/*", "kind": "email", "allow": ["*@acme.example", "*@partner.example"]},
        {"arg": "/cc", "kind": "email", "allow": ["*@acme.example"]},
    ],
    "payload": ["/subject", "/body"],
    "output": {"trust": "trusted"},
}
ARGS = {
    "to": ["bob@acme.example"],
    "cc": "carol@acme.example",
    "subject": "Q3 report",
    "body": "Hi Bob, the Q3 report is attached. Numbers are up 4% on last quarter. Best, Alice",
    "priority": 3,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    m = manifest_from_dict(MANIFEST)
    policy = Policy()
    view = SessionView.empty("alice", "s")
    call = Call("send_message", ARGS, "c1")
    assert decide(call, m, view, policy).verdict == "allow"
    rows: list[tuple[str, list[float], float]] = []

    def row(name: str, fn: Callable[[], object], k: int) -> list[float]:
        samples = measure(fn, k)
        rows.append((name, samples, cpu(fn, k)))
        return samples

    row("decide (pure core), typical call", lambda: decide(call, m, view, policy), n)
    guard = Guard([m])
    session = guard.session("alice", "s")
    row("Guard.decide (ids, lock, view)", lambda: guard.decide(call, session), n)
    bad = Call("send_message", {**ARGS, "to": ["eve@evil.test"], "priority": 9}, "c2")
    row("decide, held + schema violation", lambda: decide(bad, m, view, policy), n // 4)
    # The same call after an untrusted page, in a session that holds a private record: the
    # untrusted-context rule runs, and looks the pattern-allowed recipients up in the ledger.
    page = manifest_from_dict({"tool": "page", "side_effect": "read", "arguments": {"type": "object"}})
    crm = manifest_from_dict({"tool": "crm", "side_effect": "read", "arguments": {"type": "object"},
                              "output": {"trust": "trusted", "labels": ["private"]}})
    g2 = Guard([m, page, crm])
    s2 = g2.session("alice", "s2")
    s2.add_user_text("Send Bob the Q3 report.")
    g2.run(s2, Call("crm", {}, "r"), lambda _a: '{"customer": "Ana Duarte", "email": "ana.duarte@correo.example"}')
    g2.run(s2, Call("page", {}, "p"), lambda _a: "Quarterly numbers are published at https://news.example/q3 by dana@partner.example. " * 12)
    assert g2.decide(call, s2).verdict == "allow"
    row("Guard.decide after untrusted + private", lambda: g2.decide(call, s2), n // 4)

    ratio_line = None
    cpu_ratio = 0.0
    try:
        from langchain_core.tools import StructuredTool

        def send_message(to: list[str], subject: str, body: str, cc: str = "", priority: int = 3) -> str:
            """Send a message."""
            return "sent"

        bare = StructuredTool.from_function(send_message, name="send_message")
        wrapped = guard.wrap(bare, principal="alice", conversation="s")
        tc = {"name": "send_message", "args": ARGS, "id": "call_1", "type": "tool_call"}
        assert wrapped.invoke(tc).status == "success"
        nb = max(4000, n // 5)
        # Bare and wrapped alternate in blocks, so that the ratio does not depend on the
        # machine's speed drifting between two back-to-back runs.
        (bare_s, wrap_s), (bare_cpu, wrap_cpu) = measure_interleaved([lambda: bare.invoke(tc), lambda: wrapped.invoke(tc)], nb)
        rows.append(("LangChain tool invoke, bare", bare_s, bare_cpu))
        rows.append(("LangChain tool invoke, wrapped", wrap_s, wrap_cpu))
        ratio_line = statistics.median(wrap_s) / statistics.median(bare_s)
        cpu_ratio = wrap_cpu / bare_cpu
    except ImportError as exc:  # the integration is optional
        print(f"(LangChain rows skipped: {exc})")

    print(f"{'measurement':44} {'median µs':>10} {'p99 µs':>10} {'CPU µs':>8} {'n':>7}")
    print("-" * 83)
    for name, s, cpu_us in rows:
        print(f"{name:44} {statistics.median(s):10.1f} {p(s, 0.99):10.1f} {cpu_us:8.1f} {len(s):7d}")
    if ratio_line is not None:
        print(f"{'wrapped / bare invoke (median ratio)':44} {ratio_line:10.2f}x {'':10} {cpu_ratio:7.2f}x")
    print("targets: decide median < 20 µs; wrapped/bare < 1.3x")


if __name__ == "__main__":
    main()
