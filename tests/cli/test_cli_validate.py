"""``toolguard validate``: every manifest and policy error, with file:line:col, and exit 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolguard.cli import main

HERE = Path(__file__).parent
CURRENT = HERE / "manifests" / "current"
BAD = HERE / "manifests" / "bad"
ROOT = HERE.parent.parent


def run(*args: str):
    return CliRunner(catch_exceptions=False).invoke(main, list(args))


def test_valid_directory_counts_manifests_and_names_policy():
    result = run("validate", str(CURRENT))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"4 manifests OK (policy: {CURRENT / 'policy.yaml'})"
    assert result.stderr == ""


def test_single_file_without_policy():
    result = run("validate", str(CURRENT / "web.yaml"))
    assert result.exit_code == 0
    assert result.stdout.strip() == "1 manifest OK"


def test_explicit_policy_file_is_loaded():
    result = run("validate", str(CURRENT / "mail.yaml"), "--policy", str(BAD / "policy.yaml"))
    assert result.exit_code == 1
    assert f"{BAD / 'policy.yaml'}:2:3 /actions: " in result.stderr
    assert "unknown finding code 'destination.not_alowed'" in result.stderr


def test_every_error_of_every_bad_file_is_reported():
    result = run("validate", str(BAD))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected = [
        f"{BAD / 'broken.yaml'}:4:1 /: invalid YAML",
        f"{BAD / 'pointer.yaml'}:10:10 /destinations/0/arg: argument /recipient is not in the argument schema (properties: channel, text)",
        f"{BAD / 'typo.yaml'}:1:1 /side_effect: missing required key 'side_effect'",
        f"{BAD / 'typo.yaml'}:2:13 /sideeffect: unknown key 'sideeffect'",
        f"{BAD / 'policy.yaml'}:2:3 /actions: ",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert lines[-1] == "5 errors"
    assert "Traceback" not in result.output


def test_policy_and_manifest_errors_are_reported_together():
    result = run("validate", str(BAD / "typo.yaml"), "--policy", str(BAD / "policy.yaml"))
    assert result.exit_code == 1
    assert "typo.yaml" in result.stderr and "policy.yaml" in result.stderr
    assert result.stderr.splitlines()[-1] == "3 errors"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "no/such/dir"], "no/such/dir /: no such file or directory"),
        (["validate", str(CURRENT), "--policy", "no/such/policy.yaml"], "no/such/policy.yaml /: no such policy file"),
    ],
    ids=["missing-path", "missing-policy"],
)
def test_missing_files_are_errors_not_tracebacks(args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_two_policy_files_are_ambiguous(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(CURRENT, a)
    shutil.copytree(HERE / "manifests" / "old", b)
    result = run("validate", str(a), str(b))
    assert result.exit_code == 1
    assert "found 2 policy files" in result.stderr and "--policy" in result.stderr


def test_usage_error_exits_2():
    result = run("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def _script() -> list[str]:
    exe = Path(sys.executable).parent / "toolguard"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "toolguard.cli"]


def test_console_script_runs_in_a_subprocess():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")}
    env["NO_COLOR"] = "1"
    ok = subprocess.run([*_script(), "validate", str(CURRENT)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("4 manifests OK")
    bad = subprocess.run([*_script(), "validate", str(BAD)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert bad.returncode == 1
    assert "unknown key 'sideeffect'" in bad.stderr
    assert "\x1b[" not in bad.stderr  # not a terminal, NO_COLOR: no escape codes
    assert "Traceback" not in bad.stderr


def test_module_entry_point_runs():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")}
    res = subprocess.run([sys.executable, "-m", "toolguard.cli", "--version"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "toolguard, version 0.1.0"


def test_lazy_commands_load_on_use_and_explain_a_missing_extra(monkeypatch):
    from toolguard import cli

    monkeypatch.setitem(cli._LAZY_COMMANDS, "check", ("toolguard.cli:validate", "Validate (lazily loaded).", ""))
    monkeypatch.setitem(cli._LAZY_COMMANDS, "fly", ("toolguard_no_such_module:fly", "Fly.", "wings"))
    listed = run("--help")
    assert listed.exit_code == 0
    assert "check" in listed.stdout and "fly" in listed.stdout and "replay" in listed.stdout
    ok = run("check", str(CURRENT / "web.yaml"))
    assert ok.exit_code == 0 and ok.stdout.strip() == "1 manifest OK"
    missing = run("fly", "--to", "moon")
    assert missing.exit_code == 1
    assert "the 'fly' command cannot load" in missing.stderr
    assert "pip install 'toolguard[wings]'" in missing.stderr
