"""Fixtures of the server tests: a real uvicorn server on 127.0.0.1 over a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from srv_support import MAX_BODY, SECRET_KEY, Server

from toolguard.approvals import open_stores
from toolguard.server import create_app, serve_in_thread


@pytest.fixture
def srv(tmp_path: Any) -> Iterator[Server]:
    holds, people = open_stores(f"sqlite:///{tmp_path}/state.db")
    tokens = {}
    for name, roles in (("bob", ["mail-approvers"]), ("carol", ["finance"]), ("alice", ["mail-approvers"])):
        tokens[name] = people.add(name, roles)[1]
    app = create_app(holds, people, secret_key=SECRET_KEY, max_body=MAX_BODY)
    with serve_in_thread(app) as base:
        yield Server(base, holds, people, tokens)
    holds.db.close()  # type: ignore[attr-defined]
