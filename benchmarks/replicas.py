"""Mediated calls per second: replicas on PostgreSQL versus one process on SQLite.

Every replica is its own process with its own Guard, and all of them mediate calls of *one*
principal (the worst case: every call charges the same counter series). Accounting is on:
two budgets per call (calls per hour, egress bytes per day), the kill list read per call,
and an audit log per process. Each replica runs ``guard.run`` (decide, account, run a
trivial tool, check its output) for ``--seconds`` after a common start; the table shows the
sum over replicas.

Two configurations of the shared stores:

* ``batched``: what ``policy.yaml: store:`` gives (counters leased 5% ahead) plus
  :class:`toolguard.stores.notify.WatchedKillList` (kill list cached until a cut-off is
  announced); the database is touched once per lease, not once per call.
* ``per call``: every call reserves in the database (``SqlCounterStore``) and reads the kill
  list (``SqlKillList``, no cache): the cost of strict sharing.

A second table shows how fast one replica learns what another did: a cut-off (a
``WatchedKillList`` polled by the other process, and, for comparison, the kill list opened
by URL with its fixed 1 s cache) and an approval (``toolguard.stores.notify.wait_for_decision``).

    python benchmarks/replicas.py [--seconds 3] [--rounds 20] [--postgres URL]

Without ``--postgres`` a private PostgreSQL server is started (tests/pgfixture.py; needs
Debian's ``postgresql`` package) and removed afterwards. The machines are shared: compare
rows of one run rather than runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import MESSAGE_MANIFEST  # noqa: E402

MANIFEST = {
    **MESSAGE_MANIFEST,
    "limits": {"calls": {"max": 10_000_000, "per": "1h"}, "egress_bytes": {"max": "100GB", "per": "1d"}},
}
ARGS = {"to": ["bob@acme.example"], "subject": "Q3 report", "body": "Hi Bob, the Q3 report is attached. Numbers are up 4%."}


def _replica(url: str, mode: str, index: int, folder: str, start_at: float, seconds: float, out: Any) -> None:
    from toolguard import Call, Guard, Policy
    from toolguard.audit import AuditLog
    from toolguard.cutoff import SqlKillList
    from toolguard.egress import SqlCounterStore
    from toolguard.manifest import ManifestSet, manifest_from_dict
    from toolguard.stores.notify import WatchedKillList
    from toolguard.stores.sql import Database

    db = Database(url)
    policy = Policy.model_validate({"store": url})
    audit = AuditLog(Path(folder) / f"audit-{mode}-{index}.jsonl")  # one writer per file
    if mode == "batched":  # counters from policy.store (leased), kill list cached until told
        kwargs: dict[str, Any] = {"kill_list": WatchedKillList(SqlKillList(db))}
    else:
        kwargs = {"counters": SqlCounterStore(db), "kill_list": SqlKillList(db)}
    guard = Guard(ManifestSet.of([manifest_from_dict(MANIFEST)]), policy=policy, audit=audit, telemetry=False, **kwargs)

    def tool(args: Any) -> str:
        return "queued"

    n = 0
    session = guard.session("fleet-principal", f"r{index}-0")
    for i in range(200):  # warm up: imports, prepared statements, first leases
        guard.run(session, Call("send_message", ARGS, f"w{i}"), tool)
    time.sleep(max(0.0, start_at - time.time()))
    end = time.perf_counter() + seconds
    lat: list[float] = []
    bad = 0
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        if n % 1000 == 0:  # keep session history small, as a real agent's conversation is
            session = guard.session("fleet-principal", f"r{index}-{n}")
        outcome = guard.run(session, Call("send_message", ARGS, f"c{n}"), tool)
        lat.append(time.perf_counter() - t0)
        bad += outcome.status != "executed"
        n += 1
    audit.close()
    db.close()
    out.put((n, bad, lat[:: max(1, len(lat) // 5000)]))


def _watcher(url: str, what: str, rounds: int, ready: Any, out: Any) -> None:
    """The other replica: learns of each round's cut-off or approval and reports when."""
    from toolguard.approvals import SqlApprovalStore
    from toolguard.cutoff import SqlKillList, open_kill_list
    from toolguard.stores.notify import WatchedKillList, open_notifier, wait_for_decision
    from toolguard.stores.sql import Database

    db = Database(url)
    if what == "approval":
        store, notifier = SqlApprovalStore(db), open_notifier(db)
        ready.set()
        for _ in range(rounds):
            hold_id = out.get()  # the parent's hold id
            rec = wait_for_decision(store, hold_id, 30.0, notifier=notifier)
            out.put((time.time(), rec.status))
            time.sleep(0.05)
        return
    kills = WatchedKillList(SqlKillList(db)) if what == "watched" else open_kill_list(url)
    for r in range(rounds):
        kills.get(f"p{r}")
    ready.set()
    for r in range(rounds):
        while kills.get(f"p{r}") is None:
            time.sleep(0.0005)
        out.put(time.time())


def propagation(url: str, what: str, rounds: int) -> list[float]:
    """Milliseconds from a change committed in this process to the other process seeing it."""
    from toolguard import Call, HoldRequest
    from toolguard.approvals import SqlApprovalStore, SqlApproverStore
    from toolguard.cutoff import SqlKillList
    from toolguard.findings import Finding, combine
    from toolguard.manifest import manifest_from_dict
    from toolguard.stores.sql import Database

    db = Database(url)
    kills, store = SqlKillList(db), SqlApprovalStore(db)
    approver = SqlApproverStore(db).add(f"ops{uuid.uuid4().hex[:6]}", ["ops"])[0]
    manifest = manifest_from_dict({**MANIFEST, "approval": {"roles": ["ops"]}})
    ctx = mp.get_context("spawn")
    ready, q = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_watcher, args=(url, what, rounds, ready, q))
    child.start()
    ready.wait(120)
    out = []
    for r in range(rounds):
        time.sleep(0.1 + 0.01 * (r % 7))  # not in step with any polling interval
        if what == "approval":
            finding = Finding(code="destination.not_allowed", message="held", pointer="/to/0", action="hold")
            decision = combine([finding], tool=manifest.tool, call_id=f"c{r}").with_id(f"d{r}")
            call = Call(manifest.tool, ARGS, f"c{r}")
            hold = store.create(HoldRequest(f"h_{uuid.uuid4().hex[:20]}", decision, call, "alice", "s", manifest, time.time()))
            q.put(hold.id)
            time.sleep(0.05)
            store.decide(hold.id, approver, "approve", "ok")
            committed = time.time()
            seen, status = q.get(timeout=60)
            assert status == "approved" or status in ("executing", "done"), status
        else:
            kills.cut(f"p{r}", "benchmark")
            committed = time.time()
            seen = q.get(timeout=60)
        out.append((seen - committed) * 1000)
    child.join(30)
    db.close()
    return out


def run(url: str, mode: str, processes: int, seconds: float, folder: Path) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 4.0 + processes  # after every replica imported and warmed up
    procs = [ctx.Process(target=_replica, args=(url, mode, i, str(folder), start_at, seconds, q)) for i in range(processes)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120 + seconds) for _ in procs]
    for p in procs:
        p.join(30)
    calls = sum(r[0] for r in results)
    bad = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    if bad:
        raise SystemExit(f"{bad} calls were not executed ({mode}, {processes} processes): the benchmark is broken")
    return {
        "per_s": calls / seconds,
        "p50_us": statistics.median(lat) * 1e6,
        "p99_us": lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=20, help="changes per propagation row")
    ap.add_argument("--postgres", help="a postgresql:// URL (default: start a private server)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="toolguard-replicas-"))

    cluster = None
    pg_url = args.postgres
    if pg_url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from pgfixture import start_cluster

        try:
            cluster = start_cluster()
            pg_url = cluster.url()
        except FileNotFoundError as exc:
            print(f"(PostgreSQL rows skipped: {exc})")

    def pg(tag: str) -> str:
        assert pg_url is not None
        import psycopg

        schema = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in pg_url else "?"
        return f"{pg_url}{sep}options=-csearch_path%3D{schema}"

    plan: list[tuple[str, str, int, Any]] = [
        ("SQLite", "batched", 1, lambda: f"sqlite:///{folder}/b1.db"),
        ("SQLite", "batched", 4, lambda: f"sqlite:///{folder}/b4.db"),
        ("SQLite", "per call", 1, lambda: f"sqlite:///{folder}/p1.db"),
        ("SQLite", "per call", 4, lambda: f"sqlite:///{folder}/p4.db"),
    ]
    if pg_url is not None:
        plan += [
            ("PostgreSQL", "batched", 1, lambda: pg("b1")),
            ("PostgreSQL", "batched", 4, lambda: pg("b4")),
            ("PostgreSQL", "per call", 1, lambda: pg("p1")),
            ("PostgreSQL", "per call", 4, lambda: pg("p4")),
        ]
    rows = []
    spread: list[tuple[str, str, list[float]]] = []
    try:
        for engine, mode, n, make_url in plan:
            res = run(make_url(), mode, n, args.seconds, folder)
            rows.append((engine, mode, n, res))
            print(f"  {engine} {mode} x{n}: {res['per_s']:.0f}/s", file=sys.stderr)
        def lite(tag: str) -> str:
            return f"sqlite:///{folder}/{tag}.db"

        engines: list[tuple[str, Callable[[str], str]]] = [("SQLite", lite)]
        if pg_url is not None:
            engines.append(("PostgreSQL", pg))
        for engine, make in engines:
            for what, label in (
                ("watched", "cut-off, WatchedKillList"),
                ("url", "cut-off, open_kill_list (1 s cache)"),
                ("approval", "approval, wait_for_decision"),
            ):
                ms = propagation(make(f"prop_{what}"), what, args.rounds)
                spread.append((engine, label, ms))
                print(f"  {engine} {label}: {statistics.median(ms):.1f} ms", file=sys.stderr)
    finally:
        if cluster is not None:
            cluster.destroy()

    print(f"{'store':12} {'sharing':10} {'processes':>9} {'calls/s':>10} {'p50 µs':>9} {'p99 µs':>9}")
    print("-" * 64)
    for engine, mode, n, res in rows:
        print(f"{engine:12} {mode:10} {n:9d} {res['per_s']:10.0f} {res['p50_us']:9.0f} {res['p99_us']:9.0f}")
    base = next((r for e, m, n, r in rows if e == "SQLite" and m == "batched" and n == 1), None)
    pg4 = next((r for e, m, n, r in rows if e == "PostgreSQL" and m == "batched" and n == 4), None)
    if base and pg4:
        print(f"PostgreSQL, 4 processes / SQLite, 1 process (batched): {pg4['per_s'] / base['per_s']:.2f}x")
    print(f"one principal shared by all replicas; {mp.cpu_count()} CPU(s); accounting on (2 budgets, kill list, audit)")
    print()
    print(f"{'store':12} {'another replica learns of':38} {'median ms':>10} {'max ms':>8}")
    print("-" * 71)
    for engine, label, ms in spread:
        print(f"{engine:12} {label:38} {statistics.median(ms):10.1f} {max(ms):8.1f}")
    print(f"{args.rounds} changes each; target: every change seen by the other replicas within 1000 ms")


if __name__ == "__main__":
    main()
