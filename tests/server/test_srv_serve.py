"""`toolguard serve` as a real process: it starts, serves the API and page, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
from srv_support import hold_request

from toolguard.approvals import open_stores

SERVE = "from toolguard.approvals.cli import serve; serve(prog_name='toolguard serve')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_command_runs_the_server(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    holds, people = open_stores(url)
    _, token = people.add("bob", ["mail-approvers"])
    req = hold_request()
    holds.submit(req)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLGUARD_")}
    env["TOOLGUARD_STORE"] = url
    env["TOOLGUARD_SECRET_KEY"] = "serve-test-secret-key-0123456789"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        resp = httpx.post(f"{base}/api/holds/{req.hold_id}/approve", headers={"Authorization": f"Bearer {token}"}, json={"reason": "ok"})
        assert resp.status_code == 200 and resp.json()["status"] == "approved"
        assert "server" not in resp.headers  # no server banner
        assert httpx.get(base + "/login").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        holds.db.close()  # type: ignore[attr-defined]
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal after a graceful shutdown
    assert f"http://127.0.0.1:{port}/" in err
    assert holds.get(req.hold_id).decided_by == "bob"
