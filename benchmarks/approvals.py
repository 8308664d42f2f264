"""Hold -> approve -> execute latency, with the approval over the HTTP API on loopback.

Each run: the guard holds a call into a SQLite approval store (one file, WAL), an approver
approves it with ``POST /api/holds/{id}/approve`` on a real uvicorn server on 127.0.0.1
(httpx, keep-alive, bearer token), and the agent side executes it with
``execute_approved`` (atomic claim, hash check, result recorded). Prints median and p99 per
stage and end to end; the machines are shared and noisy, so quote medians.

    python benchmarks/approvals.py [--n 200]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from toolguard import Call, Guard
from toolguard.approvals import execute_approved, open_stores
from toolguard.manifest import ManifestSet, manifest_from_dict
from toolguard.server import create_app, serve_in_thread

MANIFEST = {
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "body": {"type": "string"},
        },
        "required": ["to", "subject", "body"],
    },
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "approval": {"roles": ["mail-approvers"], "ttl": "1h"},
}
ARGS = {"to": ["partner@outside.example"], "subject": "Q3 report", "body": "Numbers are up 4% on last quarter."}


def p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="runs (at least 50)")
    n = max(50, ap.parse_args().n)
    with tempfile.TemporaryDirectory() as tmp:
        holds, approvers = open_stores(f"sqlite:///{tmp}/state.db")
        _, token = approvers.add("bob", ["mail-approvers"])
        guard = Guard(ManifestSet.of([manifest_from_dict(MANIFEST)]), holds=holds)
        session = guard.session("alice", "bench")
        sent: list[object] = []
        tools = {"send_email": lambda args: sent.append(args) or "sent"}
        stages: dict[str, list[float]] = {"hold (decide + store)": [], "approve (HTTP API)": [], "execute (claim, run, record)": [], "end to end": []}
        app = create_app(holds, approvers, secret_key="bench-secret-key-0123456789")
        with serve_in_thread(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(n + 10):
                gc.collect()
                t0 = time.perf_counter()
                out = guard.run(session, Call("send_email", ARGS, f"c{i}"), tools["send_email"])
                t1 = time.perf_counter()
                resp = client.post(f"/api/holds/{out.hold_id}/approve", json={"reason": "bench"})
                t2 = time.perf_counter()
                res = execute_approved(holds, out.hold_id, tools, guard)
                t3 = time.perf_counter()
                if out.status != "held" or resp.status_code != 200 or res.status != "executed":
                    raise SystemExit(f"run {i}: unexpected {out.status} / HTTP {resp.status_code} / {res.status}")
                if i < 10:
                    continue  # warm-up
                for name, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                    stages[name].append(value * 1000)
        holds.db.close()  # type: ignore[attr-defined]
    assert len(sent) == n + 10
    print(f"hold -> approve -> execute over HTTP on loopback, SQLite store, {n} runs")
    print(f"{'stage':32} {'median ms':>10} {'p99 ms':>10} {'max ms':>10}")
    print("-" * 66)
    for name, s in stages.items():
        print(f"{name:32} {statistics.median(s):10.2f} {p(s, 0.99):10.2f} {max(s):10.2f}")
    print("target: end to end median < 50 ms (the approver's think time is not counted)")


if __name__ == "__main__":
    main()
