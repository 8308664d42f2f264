"""Audit chain heads anchored in the state database: records cut from the end of the log,
or a log rewritten with a fresh valid chain, are found by ``audit verify --store``.
Real files and a real SQLite database (and PostgreSQL where the suite runs it)."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner
from pgfixture import SQL_BACKENDS, store_url

from toolguard import Call, Guard
from toolguard.anchors import AnchorStore, check_anchors, log_name
from toolguard.audit import AuditLog, verify
from toolguard.cli import main as cli
from toolguard.stores.sql import open_database


@pytest.fixture(params=SQL_BACKENDS)
def url(request, tmp_path):
    return store_url(request.param, request, tmp_path)


def _write(path, anchors, n, *, fsync="always", start=0):
    log = AuditLog(path, fsync=fsync, anchors=anchors)
    for i in range(start, start + n):
        log.append({"type": "note", "i": i})
    log.close()
    return log


def _cut_last_lines(path, k):
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-k]))


def test_every_fsync_anchors_the_head(url, tmp_path):
    db = open_database(url)
    anchors = AnchorStore(db)
    path = tmp_path / "audit.jsonl"
    log = _write(path, anchors, 5)
    a = anchors.get(log_name(path))
    assert a is not None and (a.seq, a.hash) == log.head
    assert check_anchors([path], anchors) == (1, [])
    db.close()


def test_records_cut_from_the_end_are_found(url, tmp_path):
    db = open_database(url)
    anchors = AnchorStore(db)
    path = tmp_path / "audit.jsonl"
    _write(path, anchors, 6)
    _cut_last_lines(path, 2)
    assert verify([path]).ok  # the chain alone cannot tell
    checked, problems = check_anchors([path], anchors)
    assert checked == 1 and len(problems) == 1
    assert "seq 6" in problems[0][1] and "end at seq 4" in problems[0][1] and "cut from the end" in problems[0][1]
    db.close()


def test_a_log_rewritten_with_a_fresh_valid_chain_is_found(url, tmp_path):
    db = open_database(url)
    anchors = AnchorStore(db)
    path = tmp_path / "audit.jsonl"
    _write(path, anchors, 4)
    forged = tmp_path / "forged" / "audit.jsonl"
    forged.parent.mkdir()
    _write(forged, None, 4, start=100)  # same length, other records, a valid chain
    shutil.copy(forged, path)
    assert verify([path]).ok
    _, problems = check_anchors([path], anchors)
    assert len(problems) == 1 and "rewritten" in problems[0][1]
    db.close()


def test_an_anchor_only_moves_forward(url):
    db = open_database(url)
    anchors = AnchorStore(db)
    anchors.put("log-a", 5, "h5", at=1.0)
    anchors.put("log-a", 3, "h3", at=2.0)  # a late or replayed write cannot move it back
    anchors.put("log-b", 1, "b1", at=3.0)
    assert [(a.log, a.seq, a.hash) for a in anchors.list()] == [("log-a", 5, "h5"), ("log-b", 1, "b1")]
    anchors.put("log-a", 7, "h7", at=4.0)
    assert anchors.get("log-a").seq == 7
    db.close()


def test_without_an_fsync_nothing_is_anchored(tmp_path):
    db = open_database(f"sqlite:///{tmp_path}/state.db")
    anchors = AnchorStore(db)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync="interval", fsync_interval=3600, anchors=anchors)
    log.append({"type": "note"})
    assert anchors.get(log_name(path)) is None  # not yet on disk for sure: no anchor
    log.close()  # close syncs, then anchors
    assert anchors.get(log_name(path)).seq == 1
    db.close()


def test_cli_verify_with_store_fails_on_a_cut_log(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    db = open_database(url)
    path = tmp_path / "audit.jsonl"
    _write(path, AnchorStore(db), 5)
    db.close()
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", str(path), "--store", url])
    assert ok.exit_code == 0, ok.output
    assert "1 anchored head(s), each found in the files" in ok.output
    _cut_last_lines(path, 1)
    assert runner.invoke(cli, ["audit", "verify", str(path)]).exit_code == 0
    bad = runner.invoke(cli, ["audit", "verify", str(path), "--store", url])
    assert bad.exit_code == 1
    assert "cut from the end" in bad.output


def test_cli_verify_store_without_anchors_says_so(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path, None, 2)
    r = CliRunner().invoke(cli, ["audit", "verify", str(path), "--store", f"sqlite:///{tmp_path}/empty.db"])
    assert r.exit_code == 0 and "holds no anchor for these files" in r.output


def test_policy_store_and_audit_path_anchor_the_guard_log(tmp_path):
    (tmp_path / "tools.yaml").write_text(yaml.safe_dump({
        "tool": "send_email",
        "side_effect": "external_write",
        "arguments": {"type": "object", "properties": {"to": {"type": "string"}}},
        "destinations": [{"arg": "/to", "kind": "email", "allow": ["*@acme.example"]}],
    }))
    db_path = tmp_path / "state.db"
    log = tmp_path / "audit.jsonl"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({
        "store": f"sqlite:///{db_path}",
        "audit": {"path": str(log), "fsync": "always"},
    }))
    g = Guard.from_path(tmp_path, telemetry=False)
    s = g.session("alice")
    for i in range(3):
        g.run(s, Call("send_email", {"to": "bob@acme.example"}, str(i)), lambda args: "sent")
    g.accounting.audit.close()
    db = open_database(f"sqlite:///{db_path}")
    try:
        checked, problems = check_anchors([log], AnchorStore(db))
        assert checked == 1 and problems == []
        assert AnchorStore(db).get(log_name(log)).seq == verify([log]).records
    finally:
        db.close()


def test_rotated_logs_are_checked_across_their_files(tmp_path):
    db = open_database(f"sqlite:///{tmp_path}/state.db")
    anchors = AnchorStore(db)
    logdir = tmp_path / "logs"
    log = AuditLog(logdir / "audit.jsonl", fsync="always", rotate_bytes=1024, anchors=anchors)
    for i in range(40):
        log.append({"type": "note", "i": i, "pad": "x" * 60})
    log.close()
    assert len(list(logdir.iterdir())) > 2  # rotated several times
    assert verify([logdir]).ok
    assert check_anchors([logdir], anchors) == (1, [])
    assert check_anchors([logdir / "audit.jsonl"], anchors)[1] == []  # the active file alone: no false alarm
    _cut_last_lines(logdir / "audit.jsonl", 1)
    assert "cut from the end" in check_anchors([logdir], anchors)[1][0][1]
    db.close()
