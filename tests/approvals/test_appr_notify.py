"""The webhook notifier, against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from appr_support import hold_request

from toolguard import ConfigError
from toolguard.approvals import (
    MemoryApprovalStore,
    SqlApprovalStore,
    WebhookNotifier,
    verify_signature,
)
from toolguard.approvals.notify import SIGNATURE_HEADER, sign
from toolguard.stores.sql import Database

SECRET = "s3cret-for-the-webhook-tests"


class Receiver:
    """A real HTTP server that records what it receives and answers with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.event.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/toolguard"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request, tmp_path):
    made = []

    def make(notifier):
        if request.param == "memory":
            return MemoryApprovalStore(notifiers=[notifier])
        db = Database(f"sqlite:///{tmp_path}/n.db")
        made.append(db)
        return SqlApprovalStore(db, notifiers=[notifier])

    yield make
    for db in made:
        db.close()


def test_a_new_hold_is_posted_signed(receiver, make_store):
    notifier = WebhookNotifier(receiver.url, SECRET, link="http://127.0.0.1:8600")
    store = make_store(notifier)
    req = hold_request()
    store.submit(req)
    assert notifier.flush(10)
    notifier.close()
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER.lower()])
    assert headers["content-type"] == "application/json" and headers["x-toolguard-event"] == "hold.created"
    payload = json.loads(body)
    assert payload["event"] == "hold.created" and payload["hold"]["id"] == req.hold_id
    assert payload["hold"]["tool"] == "send_email" and payload["hold"]["principal"] == "alice"
    assert payload["hold"]["codes"] == ["destination.not_allowed"]
    assert payload["hold"]["url"] == f"http://127.0.0.1:8600/#hold-{req.hold_id}"
    assert "eve@evil.test" not in body.decode(), "arguments never leave in a notification"
    store.submit(req)  # the same hold again: idempotent, no second notice
    assert notifier.flush(5) and len(receiver.received) == 1


def test_signature_checks():
    body = b'{"event":"hold.created"}'
    good = sign(SECRET, body)
    assert good.startswith("sha256=") and verify_signature(SECRET, body, good)
    assert not verify_signature(SECRET, body + b" ", good)
    assert not verify_signature("another-secret-of-length", body, good)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, "sha256=" + "0" * 64)


def test_a_failing_receiver_is_retried_and_never_loses_the_hold():
    receiver = Receiver(status=503)
    try:
        notifier = WebhookNotifier(receiver.url, SECRET, retries=2, backoff=0.01)
        store = MemoryApprovalStore(notifiers=[notifier])
        req = hold_request()
        store.submit(req)
        assert notifier.flush(10)
        assert len(receiver.received) == 3 and notifier.failed == 1 and notifier.delivered == 0
        assert store.get(req.hold_id).status == "pending"
        notifier.close()
    finally:
        receiver.close()


def test_a_client_error_is_not_retried():
    receiver = Receiver(status=401)
    try:
        notifier = WebhookNotifier(receiver.url, SECRET, retries=3, backoff=0.01)
        MemoryApprovalStore(notifiers=[notifier]).submit(hold_request())
        assert notifier.flush(10)
        assert len(receiver.received) == 1 and notifier.failed == 1
        notifier.close()
    finally:
        receiver.close()


def test_an_unreachable_receiver_never_blocks_the_hold():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nobody listens there
    notifier = WebhookNotifier(f"http://127.0.0.1:{port}/", SECRET, retries=1, backoff=0.01, timeout=1)
    store = MemoryApprovalStore(notifiers=[notifier])
    req = hold_request()
    store.submit(req)
    assert store.get(req.hold_id).status == "pending"
    assert notifier.flush(10) and notifier.failed == 1
    notifier.close()


@pytest.mark.parametrize(
    "url, secret, match",
    [
        pytest.param("ftp://127.0.0.1/x", SECRET, "http or https", id="scheme"),
        pytest.param("http:///nohost", SECRET, "with a host", id="no-host"),
        pytest.param("http://127.0.0.1/x", "short", "at least 16", id="short-secret"),
    ],
)
def test_bad_configuration(url, secret, match):
    with pytest.raises(ConfigError, match=match):
        WebhookNotifier(url, secret)


def test_the_secret_stays_out_of_reprs():
    assert SECRET not in repr(WebhookNotifier("http://127.0.0.1:9/x", SECRET))
