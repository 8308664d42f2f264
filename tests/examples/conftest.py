"""Load the example agents (single files under examples/agents/) as modules for their tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "agents"


def _load(name: str) -> ModuleType:
    key = f"toolguard_example_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example() -> Callable[[str], ModuleType]:
    """``example("email_assistant")`` is the module of examples/agents/email_assistant.py."""
    return _load


@pytest.fixture(autouse=True)
def _offline_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The examples use a real model when TOOLGUARD_EXAMPLE_MODEL is set: never in tests.
    monkeypatch.delenv("TOOLGUARD_EXAMPLE_MODEL", raising=False)
    # State the examples write by default (./.toolguard) goes to a fresh directory.
    monkeypatch.chdir(tmp_path)
