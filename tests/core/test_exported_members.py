"""The public surface is curated: every public name is listed, sorted, and reports as toolguard.X."""

from __future__ import annotations

import subprocess
import sys

import toolguard


def test_all_is_sorted_and_complete():
    public = [name for name in vars(toolguard) if not name.startswith("_") and name not in {"annotations"}]
    modules = {name for name in public if type(getattr(toolguard, name)).__name__ == "module"}
    assert sorted(toolguard.__all__, key=str.casefold) == toolguard.__all__
    assert set(toolguard.__all__) == set(public) - modules


def test_public_classes_report_the_package():
    assert toolguard.Guard.__module__ == "toolguard"
    assert toolguard.Decision.__module__ == "toolguard"
    assert repr(toolguard.ManifestError([])).startswith("ManifestError(")


def test_import_does_not_pull_optional_extras():
    code = "import sys, toolguard; print(sorted(m for m in ('langchain', 'langgraph', 'starlette', 'uvicorn', 'psycopg', 'playwright') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
