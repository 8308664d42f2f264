"""Faults: a crash while the tool runs, stores that cannot be reached, failing audit, bugs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from eg_support import EMAIL, email, guard_with, manifests, sent

from toolguard import Call
from toolguard.audit import AuditLog
from toolguard.cutoff import SqlKillList
from toolguard.egress import SqlCounterStore
from toolguard.stores.sql import Database

SUPPORT = str(Path(__file__).parent)
BUDGET = {"send_email": {"limits": {"calls": {"max": 1, "per": "1d"}}}}


def test_a_process_crash_while_the_tool_runs_cannot_overrun_a_budget(tmp_path):
    db_path = tmp_path / "state.db"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {SUPPORT!r})
        from eg_support import EMAIL, email, guard_with, manifests
        from toolguard import Call
        from toolguard.egress import SqlCounterStore
        from toolguard.stores.sql import Database
        store = SqlCounterStore(Database("sqlite:///{db_path}"))
        g = guard_with(manifests(EMAIL, send_email={{"limits": {{"calls": {{"max": 1, "per": "1d"}}}}}}), counters=store)
        def crash(args):
            os._exit(17)  # the process dies while the email is (maybe) on its way
        g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c1"), crash)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 17, proc.stderr
    db = Database(f"sqlite:///{db_path}")
    try:
        g = guard_with(manifests(EMAIL, **BUDGET), counters=SqlCounterStore(db))
        out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c2"), sent)
        assert out.status == "held" and out.decision.codes == ("budget.exceeded",)
    finally:
        db.close()


def test_a_locked_counter_store_denies_with_store_unavailable(tmp_path):
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}", retries=1, busy_timeout=0.05)
    store = SqlCounterStore(db)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        g = guard_with(manifests(EMAIL, **BUDGET), counters=store)
        ran = []
        out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c1"), lambda a: ran.append(a))
        assert out.status == "denied" and "store.unavailable" in out.decision.codes and ran == []
        assert "fail closed" in out.decision.reason
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        db.close()


def test_a_kill_list_that_vanished_denies_every_call(tmp_path):
    path = tmp_path / "state.db"
    db = Database(f"sqlite:///{path}", retries=0, busy_timeout=0.05)
    kl = SqlKillList(db)
    g = guard_with(manifests(EMAIL), kill_list=kl)
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    path.mkdir()  # the database file is now a directory: nothing can open it
    result = {}

    def in_a_new_thread():  # a new thread opens a new connection
        result["out"] = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c1"), sent)

    t = threading.Thread(target=in_a_new_thread)
    t.start()
    t.join()
    db.close()
    out = result["out"]
    assert out.status == "denied" and out.decision.codes == ("store.unavailable",)


def test_an_audit_log_that_cannot_be_written_denies(tmp_path):
    link = tmp_path / "audit.jsonl"
    os.symlink("/dev/full", link)  # every write fails: no space left on device
    audit = AuditLog(link, fsync="never")
    g = guard_with(manifests(EMAIL), audit=audit)
    ran = []
    out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c1"), lambda a: ran.append(a))
    assert out.status == "denied" and "guard.error" in out.decision.codes and ran == []
    # The log refuses every later append too (its tail is unknown): still denied.
    out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c2"), lambda a: ran.append(a))
    assert out.status == "denied" and ran == []


@pytest.mark.parametrize(
    "classify",
    [lambda p: 1 / 0, lambda p: "platinum"],
    ids=["raises", "unknown-class"],
)
def test_an_accounting_failure_denies_with_guard_error(classify):
    g = guard_with(manifests(EMAIL, **BUDGET), principal_class=classify)
    ran = []
    out = g.run(g.session("alice"), Call("send_email", email("b@acme.example"), "c1"), lambda a: ran.append(a))
    assert out.status == "denied" and "guard.error" in out.decision.codes and ran == []
