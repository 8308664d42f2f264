"""Tell approvers a call is waiting: notifiers called when a hold is created.

:class:`WebhookNotifier` POSTs a JSON body to a URL, signed with HMAC-SHA256 over the exact
body bytes::

    X-Toolguard-Signature: sha256=<hex digest>
    X-Toolguard-Event: hold.created

The body names the hold, its tool, principal, finding codes, expiry and roles, but never the
arguments nor the finding messages that quote them (they may be private; the approver reads
them on the authenticated page).
It carries a unique ``delivery`` id and ``sent_at`` so a receiver can refuse replays.
A receiver checks the signature with :func:`verify_signature`.

Deliveries run on a background thread with a bounded queue and a few retries, so a slow or
dead webhook never delays or loses a hold; a failure is logged. Usage::

    notifier = WebhookNotifier("https://hooks.example/toolguard", secret=os.environ["HOOK_SECRET"])
    store = SqlApprovalStore(db, notifiers=[notifier])
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..errors import ConfigError

if TYPE_CHECKING:
    from .store import ApprovalRecord

__all__ = ["SIGNATURE_HEADER", "Notifier", "WebhookNotifier", "sign", "verify_signature"]

log = logging.getLogger("toolguard.approvals")

SIGNATURE_HEADER = "X-Toolguard-Signature"


@runtime_checkable
class Notifier(Protocol):
    """Called once for every new hold. Must not block for long and must not raise on delivery errors."""

    def notify(self, record: ApprovalRecord) -> None: ...


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def _payload(record: ApprovalRecord) -> dict[str, Any]:
    return {
        "event": "hold.created",
        "delivery": uuid.uuid4().hex,
        "sent_at": time.time(),
        "hold": {
            "id": record.id,
            "tool": record.tool,
            "principal": record.principal,
            "session_id": record.session_id,
            "codes": [f.get("code") for f in record.findings],
            "requested_at": record.requested_at,
            "expires_at": record.expires_at,
            "roles": list(record.roles),
            "args_sha256": record.args_sha256,
        },
    }


class WebhookNotifier:
    """POST a signed JSON notice to ``url`` for every new hold (background thread, bounded retries).

    Arguments:
        url: an ``http`` or ``https`` URL.
        secret: the HMAC key shared with the receiver (at least 16 characters).
        timeout: seconds per attempt.
        retries: extra attempts after a failure (with a doubling back-off).
        link: optional base URL of the approval page, added to the body as ``hold.url``.
    """

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        link: str | None = None,
        max_queue: int = 1000,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"webhook URL {url!r} must be an http or https URL with a host")
        if len(secret) < 16:
            raise ConfigError("the webhook secret must be at least 16 characters")
        self.url = url
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.link = link.rstrip("/") if link else None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.url!r}, secret='**********')"

    def body_for(self, record: ApprovalRecord) -> bytes:
        payload = _payload(record)
        if self.link:
            payload["hold"]["url"] = f"{self.link}/#hold-{record.id}"
        return json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")

    def notify(self, record: ApprovalRecord) -> None:
        body = self.body_for(record)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._worker, name="toolguard-webhook", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.failed += 1
            log.error("toolguard: webhook queue full; notice for hold %s dropped", record.id)

    def deliver(self, body: bytes) -> bool:
        """Send one body now (with retries); True when the receiver answered 2xx."""
        request_headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            "X-Toolguard-Event": "hold.created",
            "User-Agent": "toolguard-webhook",
        }
        delay = self.backoff
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, data=body, headers=request_headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # scheme checked
                    if 200 <= resp.status < 300:
                        return True
                    reason = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    log.error("toolguard: webhook %s refused the notice: %s", self.url, reason)
                    return False
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = str(getattr(exc, "reason", exc))
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        log.error("toolguard: webhook %s failed after %d attempts: %s", self.url, self.retries + 1, reason)
        return False

    def _worker(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is None:
                    return
                if self.deliver(body):
                    self.delivered += 1
                else:
                    self.failed += 1
            except Exception:  # the worker never dies on one bad delivery
                self.failed += 1
                log.exception("toolguard: webhook delivery crashed")
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notice was attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the worker thread."""
        self.flush(timeout)
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
