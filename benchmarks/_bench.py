"""Helpers shared by the benchmark scripts: timing and the message-sending workload."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

#: A message tool with a three-property schema and one allow-listed destination: the
#: workload of the accounting and replica benchmarks.
MESSAGE_MANIFEST: dict[str, Any] = {
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


def measure(fn: Callable[[], object], n: int) -> list[float]:
    """Wall-clock microseconds of each of ``n`` calls (after a warm-up), with GC paused."""
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


def percentile(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def cpu(fn: Callable[[], object], n: int, batch: int = 50) -> float:
    """Median CPU microseconds per call of this thread, over batches of ``batch`` calls.

    On a shared, loaded machine wall-clock samples include the time the process waited for
    a core; CPU time (``thread_time``) does not, so it is the steadier measure of what a
    call costs.
    """
    for _ in range(min(1000, n // 10)):
        fn()
    per_call = []
    gc.disable()
    try:
        for _ in range(max(1, n // batch)):
            t0 = time.thread_time_ns()
            for _ in range(batch):
                fn()
            per_call.append((time.thread_time_ns() - t0) / 1000 / batch)
    finally:
        gc.enable()
    return statistics.median(per_call)


def measure_interleaved(fns: list[Callable[[], object]], n: int, block: int = 50) -> tuple[list[list[float]], list[float]]:
    """Time several functions in alternating blocks of ``block`` calls.

    Returns, per function, the wall-clock microseconds of each call and the median CPU
    microseconds per call over its blocks. Alternating blocks make a ratio between the
    functions immune to the machine speeding up or slowing down during the run (a shared
    machine does both), which timing one function after the other is not.
    """
    for fn in fns:
        for _ in range(min(1000, n // 10)):
            fn()
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    gc.disable()
    try:
        for _ in range(max(1, n // block)):
            for fn, wall, cpu_samples in zip(fns, walls, cpus, strict=True):
                c0 = cpu_clock()
                for _ in range(block):
                    t0 = clock()
                    fn()
                    wall.append((clock() - t0) / 1000)
                cpu_samples.append((cpu_clock() - c0) / 1000 / block)
    finally:
        gc.enable()
    return walls, [statistics.median(c) for c in cpus]
