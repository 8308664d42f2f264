"""The approver server: JSON API, OpenAPI description and web page (``pip install 'toolguard[server]'``).

``toolguard serve --store URL`` runs it; in code::

    from toolguard.server import create_app, serve_in_thread

    app = create_app(approval_store, approver_store, secret_key=key)
    with serve_in_thread(app) as base_url:      # http://127.0.0.1:<free port>
        ...
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError
from .app import CSP, create_app

__all__ = ["CSP", "create_app", "serve_in_thread"]


@contextlib.contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> Iterator[str]:
    """Run ``app`` with uvicorn on a background thread; yield its base URL; stop it on exit.

    ``port=0`` picks a free port. Used by the tests and the benchmark; production runs
    ``toolguard serve``.
    """
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="toolguard-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the approver server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)
