"""``toolguard replay``: tables and summary, JSON, mismatches (exit 1) and the policy diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolguard.cli import main

HERE = Path(__file__).parent
CURRENT = str(HERE / "manifests" / "current")
OLD = str(HERE / "manifests" / "old")
CORPUS = HERE.parent / "corpus" / "traces"
WRONG = CORPUS / "wrong_expectation.jsonl"
GOOD = [str(p) for p in sorted(CORPUS.glob("*.jsonl")) if p != WRONG]


def run(*args: str):
    return CliRunner(catch_exceptions=False).invoke(main, list(args))


def test_good_corpus_passes_with_tables_and_summary():
    result = run("replay", *GOOD, "-m", CURRENT)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "trace inbox-injection (" in out and "principal alice)" in out
    assert "destination.untrusted_origin" in out
    lines = out.splitlines()
    summary = next(line for line in lines if line.startswith("summary:"))
    assert summary.startswith("summary: 9 traces, ")
    expectations = next(line for line in lines if line.startswith("expectations:"))
    assert "MISMATCH" not in out
    stop_met, stop_expected = expectations.split("stop ")[1].split(" met")[0].split("/")
    assert stop_met == stop_expected


def test_mismatch_exits_1_and_lists_each_one():
    result = run("replay", str(WRONG), "-m", CURRENT)
    assert result.exit_code == 1
    out = result.stdout
    assert "MISMATCH" in out
    assert "expectations: stop 0/1 met, allow 0/1 met" in out
    assert "2 mismatches:" in out
    assert "  wrong-expectation call c1 (send_email): expected stop, got allow (-)" in out
    assert "  wrong-expectation call c2 (send_email): expected allow, got deny (schema.invalid)" in out


def test_json_output():
    result = run("replay", *GOOD, str(WRONG), "-m", CURRENT, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"calls", "summary", "notes"}
    first = data["calls"][0]
    assert {"trace", "call", "tool", "verdict", "codes"} <= set(first)
    assert data["summary"]["calls"] == len(data["calls"])
    assert [(m["trace"], m["call"]) for m in data["summary"]["mismatches"]] == [("wrong-expectation", "c1"), ("wrong-expectation", "c2")]
    assert any("duplicate key 'to'" in n for n in data["notes"])


def test_compare_lists_changes_and_transitions():
    result = run("replay", *GOOD, "-m", CURRENT, "--compare", OLD)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "policy diff: 2 calls changed verdict (old -> new)" in out
    assert "transitions: allow->hold: 1; hold->deny: 1" in out
    assert "partner-email" in out and "destination.not_allowed" in out


def test_compare_json_has_changes():
    result = run("replay", *GOOD, "-m", CURRENT, "--compare", OLD, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["summary"]["changes"] == {"allow->hold": 1, "hold->deny": 1}
    assert sorted((c["trace"], c["call"], c["transition"]) for c in data["changes"]) == [
        ("langchain-messages-to-dict", "lc2", "hold->deny"),
        ("partner-email", "c1", "allow->hold"),
    ]
    change = next(c for c in data["changes"] if c["call"] == "lc2")
    assert change["old"]["verdict"] == "hold" and "destination.untrusted_origin" in change["old"]["codes"]
    assert change["new"]["codes"][0] == "destination.untrusted_origin"


def test_compare_policy_overrides_the_old_directory_policy():
    # Old manifests under the current policy: only the allow-list change remains.
    result = run("replay", *GOOD, "-m", CURRENT, "--compare", OLD, "--compare-policy", str(Path(CURRENT) / "policy.yaml"), "--json")
    assert json.loads(result.stdout)["summary"]["changes"] == {"allow->hold": 1}


def test_fail_on_change():
    assert run("replay", *GOOD, "-m", CURRENT, "--compare", OLD, "--fail-on-change").exit_code == 1
    assert run("replay", *GOOD, "-m", CURRENT, "--compare", CURRENT, "--fail-on-change").exit_code == 0


def test_no_change_says_so():
    result = run("replay", *GOOD, "-m", CURRENT, "--compare", CURRENT)
    assert "policy diff: no verdict changed" in result.stdout


def test_invalid_trace_line_is_a_precise_error(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(WRONG.read_text() + '{"id": "x", "messages": [}\n')
    result = run("replay", str(p), "-m", CURRENT)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{p}:2:26: invalid JSON: Expecting value" in result.stderr
    assert "Traceback" not in result.output


def test_manifest_errors_of_both_sets_are_listed():
    bad = str(HERE / "manifests" / "bad")
    result = run("replay", *GOOD, "-m", bad, "--compare", bad, "--policy", str(Path(CURRENT) / "policy.yaml"))
    assert result.exit_code == 1
    assert result.stderr.count("unknown key 'sideeffect'") == 2


@pytest.mark.parametrize(
    "args",
    [["--compare-policy", "x.yaml"], ["--fail-on-change"]],
    ids=["compare-policy-alone", "fail-on-change-alone"],
)
def test_compare_options_need_compare(args):
    result = run("replay", *GOOD, "-m", CURRENT, *args)
    assert result.exit_code == 2
    assert "needs --compare" in result.stderr
