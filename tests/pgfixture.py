"""A private PostgreSQL cluster for the tests, and the list of store backends to run suites over.

The session fixture ``postgres_url`` (tests/conftest.py) calls :func:`start_cluster`: initdb
in a fresh temporary folder, a free port on 127.0.0.1, the Unix socket inside that folder,
fsync off (the data is thrown away), a database named ``toolguard``; at the end of the
session the server is stopped (``pg_ctl stop -m immediate``) and the folder removed.

PostgreSQL refuses to run as root: when the tests run as root, the cluster runs as the
system user ``toolguard-pg`` (created with ``useradd --system`` if missing). A small
watchdog process stops the server and removes its folder if the test process dies without
cleaning up (SIGKILL, a CI timeout).

The binaries are looked up under ``/usr/lib/postgresql/<version>/bin`` (Debian's layout;
the highest version wins), then on ``PATH``. When they are missing the PostgreSQL tests are
skipped, except when the environment variable ``CI`` is set: in CI a missing server fails.

A store suite runs over every backend by parametrizing its fixture with :data:`BACKENDS`
(or :data:`SQL_BACKENDS`) and asking :func:`store_url` for a fresh URL::

    @pytest.fixture(params=BACKENDS)
    def store(request, tmp_path):
        url = store_url(request.param, request, tmp_path)
        ...

Each PostgreSQL test gets its own empty schema (``options=-csearch_path=...`` in the URL), so
tests never see each other's rows and no database has to be created per test.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "BACKENDS",
    "SQL_BACKENDS",
    "Cluster",
    "find_bindir",
    "fresh_schema_url",
    "start_cluster",
    "store_url",
]

PG_USER = "toolguard-pg"
DB_NAME = "toolguard"
DB_ROLE = "toolguard"

#: Every backend a store suite should pass: the in-memory reference, a SQLite file, PostgreSQL.
BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
#: The SQL backends only.
SQL_BACKENDS = BACKENDS[1:]


def _version_key(path: str) -> tuple[int, ...]:
    m = re.search(r"/postgresql/([\d.]+)/bin", path)
    return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key, reverse=True)
    for initdb in found:
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").is_file() and (bindir / "postgres").is_file():
            return bindir
    initdb_path = shutil.which("initdb")
    if initdb_path is not None:
        bindir = Path(os.path.realpath(initdb_path)).parent
        if (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running private PostgreSQL server (see :func:`start_cluster`)."""

    bindir: Path
    root: Path
    port: int
    run_as: tuple[int, int] | None
    stopped: bool = False
    watchdog: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = DB_NAME) -> str:
        return f"postgresql://{DB_ROLE}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if self.run_as is not None:
            kwargs.update(user=self.run_as[0], group=self.run_as[1], extra_groups=[])
            env["HOME"] = str(self.root)
        proc = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, env=env, cwd=self.root, check=False, **kwargs
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{self.tail()}")
        return proc

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> None:
        """Start the server (again, after :meth:`stop`) on the same port."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.stopped = False

    def stop(self, mode: str = "immediate") -> None:
        if not self.stopped:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
            self.stopped = True

    def destroy(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.watchdog is not None and self.watchdog.stdin is not None:
            with contextlib.suppress(Exception):
                self.watchdog.stdin.close()
                self.watchdog.wait(10)
            self.watchdog = None

    def guard(self) -> None:
        """Start the watchdog: it cleans up when this process exits, however it exits."""
        uid, gid = self.run_as if self.run_as is not None else (-1, -1)
        self.watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self.bindir / "pg_ctl"), str(self.data), str(self.root), str(uid), str(gid)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the test run must not kill it first
        )


_WATCHDOG = r"""
import shutil, subprocess, sys
sys.stdin.buffer.read()  # end of file: the test process closed it or died
pg_ctl, data, root, uid, gid = sys.argv[1:6]
kw = {} if uid == "-1" else {"user": int(uid), "group": int(gid), "extra_groups": []}
subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, check=False, cwd="/", **kw)
shutil.rmtree(root, ignore_errors=True)
"""


def _run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run the server as: None unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True, capture_output=True,
        )
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


def start_cluster(*, max_connections: int = 300) -> Cluster:
    """initdb, start and create the ``toolguard`` database; the caller must :meth:`Cluster.destroy` it.

    Raises :class:`FileNotFoundError` when no PostgreSQL binaries are installed.
    """
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    run_as = _run_as()
    root = Path(tempfile.mkdtemp(prefix="toolguard-pg-"))
    if run_as is not None:
        os.chown(root, *run_as)
    cluster = Cluster(bindir, root, 0, run_as)
    atexit.register(cluster.destroy)
    cluster.guard()
    cluster._run(
        str(bindir / "initdb"), "-D", str(cluster.data), "-U", DB_ROLE, "--auth=trust",
        "-E", "UTF8", "--locale=C", "--no-sync",
    )
    base_conf = (cluster.data / "postgresql.conf").read_text()
    last: Exception | None = None
    for _ in range(5):
        cluster.port = _free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(cluster.port),
            "unix_socket_directories": f"'{root}'",
            "max_connections": str(max_connections),
            "fsync": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            "log_min_error_statement": "panic",
        }
        conf = base_conf + "\n# toolguard tests\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        (cluster.data / "postgresql.conf").write_text(conf)
        try:
            cluster.start()
            break
        except RuntimeError as exc:  # most likely the port was taken in between: try another
            last = exc
    else:
        cluster.destroy()
        raise RuntimeError(f"PostgreSQL did not start: {last}")
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return cluster


@contextlib.contextmanager
def cluster_or_skip() -> Iterator[Cluster]:
    """A running cluster for a test session; skip (outside CI) or fail (in CI) without PostgreSQL."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed (pip install 'toolguard[postgres]')")
    try:
        cluster = start_cluster()
    except FileNotFoundError as exc:
        _missing(str(exc))
    try:
        yield cluster
    finally:
        cluster.destroy()


def _missing(why: str) -> Any:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {why}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {why}")


def fresh_schema_url(base_url: str) -> str:
    """``base_url`` with an empty schema of its own first on the search path."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


def store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store URL of backend ``kind`` (``memory``, ``sqlite`` or ``postgresql``)."""
    if kind == "memory":
        return f"memory://{uuid.uuid4().hex}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/state-{uuid.uuid4().hex[:8]}.db"
    if kind == "postgresql":
        return fresh_schema_url(request.getfixturevalue("postgres_url"))
    raise ValueError(f"unknown store backend {kind!r}; expected memory, sqlite or postgresql")


def wait_until(predicate: Any, timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
