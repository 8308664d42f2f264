"""`make bench`: every benchmark, one summary table.

Runs the focused benchmark scripts (decision, taint, accounting, approvals) as
subprocesses, measures decisions per second with 1 and 2 threads and replay throughput
here, and prints one table of the headline numbers followed by each script's own table.
All numbers come from one run on one machine: quote medians and ratios, the machines
are shared and noisy.

    python benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from decision import ARGS, MANIFEST  # noqa: E402

from toolguard import Call, Guard  # noqa: E402
from toolguard.manifest import load_manifests, manifest_from_dict  # noqa: E402


def run_script(name: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(HERE / name), *args], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return f"({name} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode})"
    return out.stdout


def grab(text: str, label: str, col: int = 0) -> str:
    """The ``col``-th number on the first line starting with ``label``."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            nums = re.findall(r"-?\d+(?:\.\d+)?", line[len(line) - len(line.lstrip()) + len(label):])
            if len(nums) > col:
                return nums[col]
    return "?"


def decisions_per_second(threads: int, seconds: float) -> float:
    guard = Guard([manifest_from_dict(MANIFEST)])
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        session = guard.session(f"p{i}", "s")
        call = Call("send_message", ARGS, f"c{i}")
        n = 0
        while time.perf_counter() < stop:
            guard.decide(call, session)
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def replay_throughput(rounds: int) -> float:
    from toolguard.replay import load_traces, replay

    corpus = ROOT / "tests" / "corpus" / "traces"
    manifests = ROOT / "tests" / "cli" / "manifests" / "current"
    files = sorted(p for p in corpus.glob("*.jsonl") if "wrong" not in p.name)
    traces = load_traces(*files)
    ms = load_manifests(manifests)
    calls = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        report = replay(traces, lambda: Guard(ms))
        calls += len(report.calls)
    return calls / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = ap.parse_args().quick
    n = "5000" if quick else "20000"

    decision = run_script("decision.py", "--n", n)
    taint = run_script("taint.py")
    accounting = run_script("accounting.py")
    approvals = run_script("approvals.py")
    dps1 = statistics.median(decisions_per_second(1, 1.0) for _ in range(3))
    dps2 = statistics.median(decisions_per_second(2, 1.0) for _ in range(3))
    try:
        rps = replay_throughput(5 if quick else 20)
    except Exception as exc:
        rps = float("nan")
        print(f"(replay throughput failed: {exc})")

    rows = [
        ("decision", "decide, typical call: median µs", grab(decision, "decide (pure core)"), "< 20"),
        ("decision", "decide, typical call: p99 µs", grab(decision, "decide (pure core)", 1), ""),
        ("decision", "Guard.decide: median µs", grab(decision, "Guard.decide"), ""),
        ("langchain", "wrapped / bare tool invoke", grab(decision, "wrapped / bare"), "< 1.3x"),
        ("accounting", "TARGET added per call: median µs", grab(accounting, "TARGET: SQLite leased"), "< 15"),
        ("accounting", "TARGET, alternating blocks: median µs", grab(accounting, "TARGET, alternating blocks:"), "< 15"),
        ("throughput", "decisions/s, 1 thread", f"{dps1:,.0f}", ""),
        ("throughput", "decisions/s, 2 threads", f"{dps2:,.0f}", ""),
        ("replay", "replayed calls/s", f"{rps:,.0f}", ""),
    ]
    print(f"toolguard benchmarks: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    print(f"{'area':12} {'measurement':40} {'value':>12} {'target':>8}")
    print("-" * 76)
    for area, what, value, target in rows:
        print(f"{area:12} {what:40} {value:>12} {target:>8}")
    for title, text in (("decision", decision), ("taint ledger", taint), ("accounting and audit", accounting), ("approvals", approvals)):
        print()
        print(f"== {title} " + "=" * (70 - len(title)))
        print(text.rstrip())


if __name__ == "__main__":
    main()
