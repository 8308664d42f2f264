"""``toolguard init``: manifest skeletons for LangChain tools, which then validate."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from toolguard import load_manifests
from toolguard.cli import main

TOOLS = textwrap.dedent(
    '''
    from langchain_core.tools import tool


    @tool
    def send_sms(number: str, text: str) -> str:
        """Send a text message to a phone number."""
        return "sent"


    @tool
    def lookup_order(order_id: int) -> str:
        """Look up an order by its id."""
        return "shipped"


    TOOLS = [send_sms, lookup_order]
    NOT_A_TOOL = 42
    '''
)


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / "cli_init_tools.py").write_text(TOOLS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "cli_init_tools"


def run(*args: str):
    return CliRunner(catch_exceptions=False).invoke(main, list(args))


def test_one_tool_to_stdout_is_a_manifest(module, tmp_path):
    result = run("init", f"{module}:send_sms")
    assert result.exit_code == 0, result.output
    assert "tool: send_sms" in result.stdout
    out = tmp_path / "out" / "send_sms.yaml"
    out.parent.mkdir()
    out.write_text(result.stdout)
    assert [m.tool for m in load_manifests(out)] == ["send_sms"]


def test_list_of_tools_to_a_directory_writes_one_file_each_and_validates(module, tmp_path):
    out = tmp_path / "manifests"
    out.mkdir()
    result = run("init", f"{module}:TOOLS", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["lookup_order.yaml", "send_sms.yaml"]
    assert f"wrote {out / 'send_sms.yaml'}" in result.stderr
    checked = run("validate", str(out))
    assert checked.exit_code == 0, checked.stderr
    assert checked.stdout.strip() == "2 manifests OK"


def test_list_of_tools_to_one_file_is_multi_document(module, tmp_path):
    out = tmp_path / "all.yaml"
    assert run("init", f"{module}:TOOLS", "-o", str(out)).exit_code == 0
    assert sorted(m.tool for m in load_manifests(out)) == ["lookup_order", "send_sms"]


def test_existing_file_needs_force(module, tmp_path):
    out = tmp_path / "sms.yaml"
    out.write_text("keep me")
    result = run("init", f"{module}:send_sms", "-o", str(out))
    assert result.exit_code == 1
    assert "already exists; pass --force to overwrite" in result.stderr
    assert out.read_text() == "keep me"
    assert run("init", f"{module}:send_sms", "-o", str(out), "--force").exit_code == 0
    assert "tool: send_sms" in out.read_text()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("cli_init_tools:NOT_A_TOOL", "cli_init_tools:NOT_A_TOOL is a int; expected a LangChain tool"),
        ("cli_init_tools:missing", "missing"),
        ("no_such_module_xyz:tool", "no_such_module_xyz"),
        ("no-colon", "no-colon"),
    ],
    ids=["not-a-tool", "missing-attribute", "missing-module", "no-colon"],
)
def test_bad_targets_are_errors(module, target, message):
    result = run("init", target)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
