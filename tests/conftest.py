"""Shared fixtures. Tests never see the developer's TOOLGUARD_* settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TOOLGUARD_"):
            monkeypatch.delenv(key, raising=False)
