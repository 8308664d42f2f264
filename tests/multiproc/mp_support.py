"""The replicas of the multi-process tests: manifests, policy, and a fleet of worker processes."""

from __future__ import annotations

import collections
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: Calls budget of ``send_capped`` per principal (the global budget the replicas share).
BUDGET = 50
#: Units one replica may hold leased and unspent (toolguard.egress.LeasedCounterStore, 5%).
LEASE = math.ceil(BUDGET * 0.05)

_EMAIL_ARGS = {
    "type": "object",
    "properties": {"to": {"type": "array", "items": {"type": "string"}}, "subject": {"type": "string"}, "body": {"type": "string"}},
    "required": ["to", "subject", "body"],
    "additionalProperties": False,
}
_MAIL = {
    "side_effect": "external_write",
    "arguments": _EMAIL_ARGS,
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/subject", "/body"],
    "output": {"trust": "trusted"},
    "approval": {"roles": ["mail-approvers"], "ttl": "1h"},
}
MANIFESTS: list[dict[str, Any]] = [
    {"tool": "send_email", **_MAIL},
    {"tool": "send_capped", **_MAIL, "limits": {"calls": {"max": BUDGET, "per": "1h"}}},
    {
        "tool": "lookup",
        "side_effect": "read",
        "arguments": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        "output": {"trust": "trusted"},
    },
]
POLICY: dict[str, Any] = {"actions": {"budget.exceeded": "deny"}}


class WorkerDied(Exception):
    """A worker process exited (or was killed) while the test waited for its answer."""


class Worker:
    """One replica process; :meth:`send` a command, :meth:`result` its answer."""

    def __init__(self, url: str, effects: Path, index: int, log: Path) -> None:
        self.index = index
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "mp_worker.py"), url, str(effects), str(index)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT, text=True, bufsize=1,
            env={k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")},
        )
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._early: dict[int, dict[str, Any]] = {}
        self._next = 1
        threading.Thread(target=self._read, daemon=True).start()
        self.pid: int = self.result(0, timeout=60)["pid"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._replies.put(json.loads(line))
        self._replies.put(None)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, cmd: str, **args: Any) -> int:
        msg_id = self._next
        self._next += 1
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": msg_id, "cmd": cmd, "args": args}) + "\n")
        self.proc.stdin.flush()
        return msg_id

    def result(self, msg_id: int, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while msg_id not in self._early:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"worker {self.index} did not answer command {msg_id} within {timeout}s\n{self.stderr()}")
            try:
                reply = self._replies.get(timeout=left)
            except queue.Empty:
                continue
            if reply is None:
                self._replies.put(None)
                raise WorkerDied(f"worker {self.index} exited ({self.proc.poll()})\n{self.stderr()}")
            self._early[reply["id"]] = reply
        reply = self._early.pop(msg_id)
        if not reply["ok"]:
            raise AssertionError(f"worker {self.index} failed: {reply['error']}")
        return reply["result"]

    def call(self, cmd: str, *, wait: float = 60.0, **args: Any) -> Any:
        """Send a command and return its answer (waiting at most ``wait`` seconds)."""
        return self.result(self.send(cmd, **args), wait)

    def stderr(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


class Fleet:
    """Four replicas on one database; a dead one is replaced by :meth:`ensure`."""

    def __init__(self, kind: str, url: str, folder: Path, size: int = 4) -> None:
        self.kind = kind
        self.url = url
        self.folder = folder
        self.effects = folder / "effects.log"
        self.effects.touch()
        self.workers: list[Worker | None] = [None] * size
        self.ensure()

    def ensure(self) -> list[Worker]:
        # Started together: their imports overlap.
        starting = []
        for i, w in enumerate(self.workers):
            if w is None or not w.alive:
                if w is not None:
                    w.stop()
                starting.append(i)
        threads = [threading.Thread(target=self._spawn, args=(i,)) for i in starting]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out = [w for w in self.workers if w is not None and w.alive]
        if len(out) != len(self.workers):
            raise RuntimeError(f"could not start {len(self.workers)} replicas")
        return out

    def _spawn(self, i: int) -> None:
        self.workers[i] = Worker(self.url, self.effects, i, self.folder / f"worker-{i}.log")

    def __getitem__(self, i: int) -> Worker:
        w = self.workers[i]
        assert w is not None
        return w

    def all(self) -> list[Worker]:
        return [self[i] for i in range(len(self.workers))]

    def stop(self) -> None:
        for w in self.workers:
            if w is not None:
                w.stop()

    def effects_of(self, prefix: str) -> list[tuple[str, str, int]]:
        """Effect lines ``(event, subject, pid)`` whose subject starts with ``prefix``."""
        out = []
        for line in self.effects.read_text().splitlines():
            event, subject, pid = line.split(" ")
            if subject.startswith(prefix):
                out.append((event, subject, int(pid)))
        return out


def counts(effects: list[tuple[str, str, int]], event: str) -> collections.Counter[str]:
    """How many times each subject had ``event``."""
    return collections.Counter(s for e, s, _ in effects if e == event)
