"""The examples' manifests and policies load cleanly through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from toolguard.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agents"


@pytest.mark.parametrize("name", ["email_assistant", "research_agent", "support_agent"])
def test_example_manifests_validate(name):
    done = CliRunner().invoke(main, ["validate", str(EXAMPLES / "manifests" / name)])
    assert done.exit_code == 0, done.output
    assert " OK" in done.output
