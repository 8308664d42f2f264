"""The mediator: runs the tool only on allow, records outputs, fails closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from toolguard import Call, Guard, MemoryHoldSink, Policy, load_manifests

HERE = Path(__file__).parent / "manifests"
EMAIL_OK = {"to": ["bob@acme.example"], "subject": "hi", "body": "the report"}


class Recorder:
    def __init__(self, result="sent"):
        self.calls = []
        self.result = result

    def __call__(self, args):
        self.calls.append(args)
        return self.result


@pytest.fixture
def guard():
    return Guard(load_manifests(HERE))


def test_allow_runs_tool_once(guard):
    tool = Recorder()
    s = guard.session("alice", "c1")
    out = guard.run(s, Call("send_email", EMAIL_OK, "c1"), tool)
    assert out.status == "executed" and out.result == "sent"
    assert tool.calls == [EMAIL_OK]
    assert out.decision.decision_id  # the guard assigns an id
    assert [r.verdict for r in s.calls] == ["allow"]


def test_deny_never_runs_tool(guard):
    tool = Recorder()
    out = guard.run(guard.session("alice"), Call("send_email", {"to": "x"}, "c2"), tool)
    assert out.status == "denied" and tool.calls == []
    assert "toolguard denied the call to 'send_email'" in out.message
    assert "schema.invalid" in out.message


def test_hold_goes_to_sink_and_never_runs(guard):
    tool = Recorder()
    out = guard.run(guard.session("alice"), Call("send_email", {**EMAIL_OK, "to": ["eve@evil.test"]}, "c3"), tool)
    assert out.status == "held" and tool.calls == []
    assert out.hold_id and out.hold_id in guard.holds.holds  # type: ignore[attr-defined]
    req = guard.holds.holds[out.hold_id]  # type: ignore[attr-defined]
    assert req.principal == "alice" and req.call.args["to"] == ["eve@evil.test"]
    assert out.hold_id in out.message and "approval" in out.message


def test_internal_error_denies_with_guard_error():
    def broken_decide(call, manifest, view, policy):
        raise KeyError("boom")

    g = Guard(load_manifests(HERE), decide=broken_decide)
    tool = Recorder()
    out = g.run(g.session("alice"), Call("send_email", EMAIL_OK, "c"), tool)
    assert out.status == "denied" and out.decision.codes == ("guard.error",)
    assert tool.calls == []
    assert out.decision.findings[0].evidence[0].detail["type"] == "KeyError"


def test_hold_sink_failure_denies():
    class BrokenSink(MemoryHoldSink):
        def submit(self, request):
            raise OSError("disk full")

    g = Guard(load_manifests(HERE), holds=BrokenSink())
    tool = Recorder()
    out = g.run(g.session("a"), Call("send_email", {**EMAIL_OK, "to": ["eve@evil.test"]}, "c"), tool)
    assert out.status == "denied" and out.decision.codes == ("store.unavailable",)
    assert tool.calls == []


def test_output_recorded_with_manifest_trust_and_labels(guard):
    s = guard.session("alice")
    guard.run(s, Call("read_notes", {"query": "q"}, "n1"), Recorder("the secret plan is to launch on tuesday"))
    guard.run(s, Call("fetch_url", {"url": "https://example.org/"}, "f1"), Recorder("<html>page</html>"))
    by_call = {src.call_id: src for src in s.ledger.sources}
    assert by_call["n1"].trusted and by_call["n1"].labels == frozenset({"private"})
    assert not by_call["f1"].trusted
    assert s.ledger.untrusted_seen


def test_tool_exception_propagates_and_records_nothing(guard):
    def failing(args):
        raise ValueError("tool broke")

    s = guard.session("alice")
    with pytest.raises(ValueError, match="tool broke"):
        guard.run(s, Call("fetch_url", {"url": "https://example.org/"}, "f"), failing)
    assert s.ledger.sources == ()


def test_poisoned_session_fails_closed(guard):
    s = guard.session("alice")
    s.poisoned = "test"
    out = guard.run(s, Call("send_email", EMAIL_OK, "c"), Recorder())
    assert out.status == "denied" and out.decision.codes == ("guard.error",)


def test_evicted_session_keeps_taint():
    g = Guard(load_manifests(HERE), max_sessions=2)
    s = g.session("alice", "x")
    g.run(s, Call("fetch_url", {"url": "https://example.org/"}, "f"), Recorder("page"))
    g.session("bob", "1")
    g.session("bob", "2")  # evicts alice/x
    again = g.session("alice", "x")
    assert again is not s
    assert again.ledger.untrusted_seen


def test_async_run(guard):
    calls = []

    async def tool(args):
        calls.append(args)
        return "ok"

    async def main():
        s = guard.session("alice")
        ok = await guard.arun(s, Call("send_email", EMAIL_OK, "a1"), tool)
        held = await guard.arun(s, Call("send_email", {**EMAIL_OK, "to": ["x@evil.test"]}, "a2"), tool)
        return ok, held

    ok, held = asyncio.run(main())
    assert ok.status == "executed" and held.status == "held" and len(calls) == 1


def test_from_path_uses_policy_beside_manifests(tmp_path):
    (tmp_path / "m.yaml").write_text((HERE / "send_email.yaml").read_text())
    (tmp_path / "policy.yaml").write_text("actions: {destination.not_allowed: deny}\n")
    g = Guard.from_path(tmp_path)
    assert g.policy.actions == {"destination.not_allowed": "deny"}
    assert g.decide(Call("send_email", {**EMAIL_OK, "to": ["x@evil.test"]}, "c"), g.session("a")).verdict == "deny"
    g2 = Guard.from_path(tmp_path, policy=Policy())
    assert g2.policy.actions == {}


def test_policy_store_holds_calls_durably(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    g = Guard(load_manifests(HERE), policy=Policy(store=url))
    out = g.run(g.session("alice"), Call("send_email", {**EMAIL_OK, "to": ["eve@evil.test"]}, "c"), Recorder())
    assert out.status == "held"
    from toolguard.approvals.store import open_stores

    assert open_stores(url)[0].get(out.hold_id).status == "pending"


def test_decision_ids_are_unique_across_threads_and_forks():
    """Ids come from a pool of OS randomness: no two calls, threads or processes share one."""
    import os
    import threading

    from toolguard.guard import new_decision_id

    ids: list[str] = []

    def take() -> None:
        got = [new_decision_id() for _ in range(2000)]
        ids.extend(got)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 16000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)

    new_decision_id()  # the parent holds a partly used pool
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its next ids and leaves at once
        os.close(r)
        os.write(w, "".join(new_decision_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        child = f.read()
    os.waitpid(pid, 0)
    parent = "".join(new_decision_id() for _ in range(4))
    assert len(child) == 128 and child != parent
    assert not {child[i : i + 32] for i in range(0, 128, 32)} & {parent[i : i + 32] for i in range(0, 128, 32)}
