"""The hash-chained audit log: writing, rotation, tamper detection, damaged files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from toolguard import Call, Guard, ManifestSet
from toolguard.audit import (
    GENESIS,
    AuditCorrupted,
    AuditLog,
    args_digest,
    canonical,
    read_records,
    stats,
    verify,
)
from toolguard.manifest import manifest_from_dict
from toolguard.policy import decide
from toolguard.session import SessionView

EMAIL = manifest_from_dict({
    "tool": "send_email",
    "side_effect": "external_write",
    "arguments": {"type": "object", "properties": {"to": {"type": "array", "items": {"type": "string"}}, "body": {"type": "string"}}, "required": ["to", "body"]},
    "destinations": [{"arg": "/to/*", "kind": "email", "allow": ["*@acme.example"]}],
    "payload": ["/body"],
    "output": {"trust": "trusted"},
})
MS = ManifestSet.of([EMAIL])


def write(path: Path, n: int, **kwargs) -> AuditLog:
    log = AuditLog(path, **kwargs)
    for i in range(n):
        log.append({"type": "note", "i": i})
    return log


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_records_chain_from_genesis_and_verify(tmp_path):
    p = tmp_path / "a.jsonl"
    log = write(p, 5)
    seq, head = log.head
    log.close()
    recs = [json.loads(x) for x in lines(p)]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev"] == GENESIS
    assert all(recs[i]["prev"] == recs[i - 1]["hash"] for i in range(1, 5))
    assert (seq, head) == (5, recs[-1]["hash"])
    body = dict(recs[2])
    h = body.pop("hash")
    import hashlib

    assert hashlib.sha256(canonical(body).encode()).hexdigest() == h
    report = verify([p])
    assert report.ok and report.records == 5 and report.head == head


def test_reopening_continues_the_chain(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 3).close()
    log = write(p, 2)
    log.close()
    recs = [json.loads(x) for x in lines(p)]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5] and recs[3]["prev"] == recs[2]["hash"]
    assert verify([p]).ok


def _edit(ls: list[str]) -> list[str]:
    r = json.loads(ls[2])
    r["i"] = 99
    ls[2] = json.dumps(r) + "\n"
    return ls


def _edit_and_rehash(ls: list[str]) -> list[str]:
    import hashlib

    r = json.loads(ls[2])
    r.pop("hash")
    r["i"] = 99
    r["hash"] = hashlib.sha256(canonical(r).encode()).hexdigest()
    ls[2] = json.dumps(r) + "\n"
    return ls


def _insert_forged(ls: list[str]) -> list[str]:
    import hashlib

    prev = json.loads(ls[2])
    forged = {"v": 1, "type": "note", "i": -1, "seq": prev["seq"] + 1, "prev": prev["hash"], "timestamp": prev["timestamp"]}
    forged["hash"] = hashlib.sha256(canonical(forged).encode()).hexdigest()
    return [*ls[:3], json.dumps(forged) + "\n", *ls[3:]]


TAMPER = [
    ("edited", _edit, [(3, "edited")]),
    ("edited-and-rehashed", _edit_and_rehash, [(4, "chain")]),
    ("dropped", lambda ls: ls[:2] + ls[3:], [(3, "chain")]),
    ("reordered", lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], [(2, "chain"), (3, "chain"), (4, "chain")]),
    ("inserted", _insert_forged, [(5, "chain")]),
    ("duplicated", lambda ls: [*ls[:3], ls[2], *ls[3:]], [(4, "chain")]),
    ("first-dropped", lambda ls: ls[1:], [(1, "chain")]),
    ("not-json", lambda ls: [*ls[:2], "{oops\n", *ls[2:]], [(3, "json")]),
    ("cut-short", lambda ls: [*ls[:5], ls[5][:40]], [(6, "truncated")]),
]


@pytest.mark.parametrize(("name", "tamper", "expected"), TAMPER, ids=[t[0] for t in TAMPER])
def test_verify_finds_every_kind_of_tampering_and_says_where(tmp_path, name, tamper, expected):
    p = tmp_path / "a.jsonl"
    write(p, 6).close()
    p.write_text("".join(tamper(lines(p))))
    report = verify([p])
    assert not report.ok
    found = [(pr.line, pr.kind) for pr in report.problems]
    for item in expected:
        assert item in found, (name, [str(x) for x in report.problems])
    for pr in report.problems:
        assert str(pr).startswith(f"{p}:{pr.line}: ")


def test_verify_messages_name_expected_and_found(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 6).close()
    ls = lines(p)
    hashes = [json.loads(x)["hash"] for x in ls]
    p.write_text("".join(ls[:2] + ls[3:]))
    [problem] = verify([p]).problems
    assert problem.line == 3 and problem.expected == hashes[1][:16] and problem.found == hashes[2][:16]
    assert "1 record(s) missing before this line (seq 4 follows seq 2)" in problem.message


def test_rotation_keeps_one_chain_across_files(tmp_path):
    p = tmp_path / "audit.jsonl"
    log = write(p, 60, rotate_bytes=2048)
    log.close()
    rotated = sorted(tmp_path.glob("audit.0*.jsonl"))
    assert len(rotated) >= 3
    first = json.loads(lines(rotated[1])[0])
    prev_last = json.loads(lines(rotated[0])[-1])
    assert first["type"] == "rotate" and first["prev_file"] == rotated[0].name and first["prev"] == prev_last["hash"]
    report = verify([tmp_path])
    assert report.ok, [str(x) for x in report.problems]
    assert report.records == 60 + len(rotated)  # one rotate record per new file
    # The active file alone verifies too, and its link to the previous file is checked.
    single = verify([p])
    assert single.ok and any("link checked" in n for n in single.notes)


def test_a_missing_rotated_file_breaks_the_chain(tmp_path):
    p = tmp_path / "audit.jsonl"
    write(p, 60, rotate_bytes=2048).close()
    rotated = sorted(tmp_path.glob("audit.0*.jsonl"))
    rotated[1].unlink()
    report = verify([tmp_path])
    assert not report.ok and any(pr.kind == "chain" and pr.file == str(rotated[2]) and pr.line == 1 for pr in report.problems)


def test_reopening_after_a_rotation_continues_from_the_rotated_file(tmp_path):
    p = tmp_path / "audit.jsonl"
    log = write(p, 5, rotate_bytes=1024)
    log.close()
    p.unlink(missing_ok=True)  # e.g. the process stopped right after renaming
    write(p, 2).close()
    assert verify([tmp_path]).ok


def test_a_damaged_tail_is_reported_and_never_truncated(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 3).close()
    damaged = p.read_bytes() + b'{"v":1,"type":"note","seq":4,"pr'
    p.write_bytes(damaged)
    with pytest.raises(AuditCorrupted, match=r"a\.jsonl:4: the audit log ends in an incomplete record") as info:
        AuditLog(p)
    assert info.value.line == 4
    assert p.read_bytes() == damaged  # left exactly as it was
    report = verify([p])
    assert [(x.line, x.kind) for x in report.problems] == [(4, "truncated"), (4, "json")]


def test_an_edited_tail_is_refused(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 3).close()
    ls = lines(p)
    p.write_text("".join(_edit([*ls[:2], ls[2], ls[2]])[:3]))
    with pytest.raises(AuditCorrupted, match="does not match its hash"):
        AuditLog(p)


def test_on_corrupt_rotate_moves_the_file_aside_and_names_it(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 3).close()
    p.write_bytes(p.read_bytes() + b"garbage")
    log = AuditLog(p, on_corrupt="rotate")
    log.append({"type": "note"})
    log.close()
    aside = [q for q in tmp_path.iterdir() if ".corrupt-" in q.name]
    assert len(aside) == 1 and aside[0].read_bytes().endswith(b"garbage")
    first = json.loads(lines(p)[0])
    assert first["type"] == "rotate" and first["corrupt"] is True and first["prev_file"] == aside[0].name
    report = verify([p])
    assert report.ok and any("after the damaged file" in n for n in report.notes)


def test_concurrent_appends_keep_one_chain(tmp_path):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, fsync="never")
    start = threading.Barrier(16)

    def worker(t):
        start.wait()
        for i in range(100):
            log.append({"type": "note", "t": t, "i": i})

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    report = verify([p])
    assert report.ok and report.records == 1600


def test_hmac_key(tmp_path):
    p = tmp_path / "a.jsonl"
    write(p, 3, key=b"s3cret").close()
    assert verify([p], key=b"s3cret").ok
    assert not verify([p]).ok and not verify([p], key=b"wrong").ok
    with pytest.raises(AuditCorrupted):
        AuditLog(p)  # the tail does not verify without the key
    AuditLog(p, key=b"s3cret").close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"args": "all"}, "args must be"), ({"outputs": "x"}, "outputs must be"), ({"fsync": "sometimes"}, "fsync must be"), ({"rotate_bytes": 10}, "at least 1024")],
    ids=["args", "outputs", "fsync", "rotate"],
)
def test_bad_settings(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        AuditLog(tmp_path / "a.jsonl", **kwargs)


def test_records_must_be_json(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="must be JSON"):
        log.append({"x": object()})
    with pytest.raises(ValueError, match="must be JSON"):
        log.append({"x": float("nan")})
    log.close()
    assert verify([tmp_path / "a.jsonl"]).records == 0


@pytest.mark.parametrize("fsync", ["always", "interval", "never"])
def test_every_fsync_mode_writes_each_record_at_once(tmp_path, fsync):
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, fsync=fsync)
    log.append({"type": "note"})
    assert len(lines(p)) == 1  # on disk (in the OS) before close
    log.close()


# --------------------------------------------------------------------------------------
# Decision records


def run_guard(tmp_path, **audit_kwargs):
    audit = AuditLog(tmp_path / "audit.jsonl", **audit_kwargs)
    g = Guard(MS, audit=audit, telemetry=False)
    s = g.session("alice", "conv-1")
    outs = [
        g.run(s, Call("send_email", {"to": ["bob@acme.example"], "body": "Q3 numbers: 4.2M"}, "c1"), lambda a: "sent"),
        g.run(s, Call("send_email", {"to": ["eve@evil.example"], "body": "hello"}, "c2"), lambda a: "sent"),
        g.run(s, Call("send_email", {"to": "x"}, "c3"), lambda a: "sent"),
    ]
    audit.close()
    recs = [r for _, _, r, _ in read_records([tmp_path / "audit.jsonl"])]
    return outs, recs


def test_decision_records_have_the_decision_log_shape(tmp_path):
    outs, recs = run_guard(tmp_path)
    decisions = [r for r in recs if r["type"] == "decision"]
    assert [r["verdict"] for r in decisions] == ["allow", "hold", "deny"]
    r = decisions[1]
    for key in ("decision_id", "timestamp", "principal", "session", "tool", "call_id", "verdict", "codes", "findings",
                "args_sha256", "input", "manifest_digest", "policy_revision", "timing", "result", "seq", "prev", "hash"):
        assert key in r, key
    assert r["decision_id"] == outs[1].decision.decision_id and r["principal"] == "alice" and r["session"] == "conv-1"
    assert r["codes"] == ["destination.not_allowed"] and r["findings"][0]["pointer"] == "/to/0"
    assert r["args_sha256"] == args_digest({"to": ["eve@evil.example"], "body": "hello"})
    assert r["timestamp"].endswith("Z") and r["timing"]["decide_us"] > 0
    # A held call also leaves an approval record with its hold id.
    [appr] = [x for x in recs if x["type"] == "approval"]
    assert appr["event"] == "requested" and appr["hold_id"] == outs[1].hold_id and appr["decision_id"] == r["decision_id"]


def test_masked_input_keeps_destinations_and_hides_payloads(tmp_path):
    _, recs = run_guard(tmp_path)
    r = recs[0]
    assert r["input_mode"] == "masked"
    assert r["input"] == {"to": ["bob@acme.example"], "body": "<16 chars>"}
    assert "4.2M" not in (tmp_path / "audit.jsonl").read_text()


def test_hash_mode_logs_no_input(tmp_path):
    _, recs = run_guard(tmp_path, args="hash")
    assert "input" not in recs[0] and recs[0]["args_sha256"]


def test_full_mode_lets_a_decision_be_replayed_from_its_record(tmp_path):
    _, recs = run_guard(tmp_path, args="full")
    from toolguard.audit import manifest_digest

    for r in (x for x in recs if x["type"] == "decision"):
        assert r["manifest_digest"] == manifest_digest(EMAIL)
        again = decide(Call(r["tool"], r["input"], r["call_id"]), MS.get(r["tool"]), SessionView.empty(r["principal"], r["session"]))
        assert again.verdict == r["verdict"] and list(again.codes) == r["codes"]
        assert args_digest(r["input"]) == r["args_sha256"]


def test_stats_count_by_verdict_code_tool_principal(tmp_path):
    run_guard(tmp_path)
    s = stats([tmp_path / "audit.jsonl"])
    assert s["verdict"] == {"allow": 1, "hold": 1, "deny": 1}
    assert s["tool"] == {"send_email": 3} and s["principal"] == {"alice": 3}
    assert s["code"]["destination.not_allowed"] == 1 and s["code"]["schema.invalid"] >= 1
    assert s["type"] == {"decision": 3, "approval": 1}
