"""Approvers: the people (or services) who may decide held calls.

An approver has a name, roles and a token. The token is random, shown once when the approver
is added, and stored only as its SHA-256 hash; authentication hashes the presented token and
compares with :func:`hmac.compare_digest`. Revoking an approver keeps the row (so decisions
stay attributable) and makes its token useless at once.

A manifest's ``approval.roles`` names the roles that may decide a held call of that tool; an
approver needs at least one of them. The principal on whose behalf the agent acted can never
decide its own held call, whatever its roles (checked by the approval store).

Usage::

    approvers = MemoryApproverStore()
    alice, token = approvers.add("alice", roles=["mail-approvers"])   # show `token` once
    who = approvers.authenticate(token)                                # -> Approver("alice", ...)
    approvers.revoke("alice")
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from ..errors import ApprovalError, ConfigError, NotAnApprover
from ..stores.sql import Database, Tx

__all__ = [
    "Approver",
    "ApproverExists",
    "ApproverNotFound",
    "ApproverStore",
    "InvalidToken",
    "MemoryApproverStore",
    "SqlApproverStore",
    "hash_token",
    "new_token",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,127}")
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_TOKEN_PREFIX = "tga_"
_MAX_TOKEN = 512


class ApproverExists(ApprovalError):
    """Raised when adding an approver whose name is already taken by an active approver."""


class ApproverNotFound(ApprovalError):
    """Raised when no approver has the given name."""


class InvalidToken(NotAnApprover):
    """Raised when a token is missing, unknown, does not belong to the named approver, or was revoked."""


@dataclass(frozen=True)
class Approver:
    """An authenticated identity that may decide held calls requiring one of its ``roles``.

    ``token_fingerprint`` is the first 16 hex digits of the token's SHA-256: it lets a web
    session notice that the approver was revoked and re-added, and reveals nothing usable.
    """

    name: str
    roles: tuple[str, ...]
    created_at: float
    revoked_at: float | None = None
    token_fingerprint: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_decide(self, roles: Iterable[str]) -> bool:
        """True when this approver is active and holds one of ``roles``."""
        return self.active and bool(set(self.roles) & set(roles))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "roles": list(self.roles),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
        }


def new_token() -> str:
    """A fresh approver token: 256 random bits, URL-safe, with a recognisable prefix."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid approver name {name!r}: use 1-128 letters, digits and '_.@+-', starting with a letter or digit"
        )
    return name


def check_roles(roles: Any) -> tuple[str, ...]:
    if isinstance(roles, str) or not isinstance(roles, Iterable):
        raise ConfigError("roles must be a list of role names")
    out = tuple(dict.fromkeys(roles))
    if not out:
        raise ConfigError("an approver needs at least one role")
    for r in out:
        if not isinstance(r, str) or not _ROLE.fullmatch(r):
            raise ConfigError(f"invalid role {r!r}: use 1-64 letters, digits and '_.:-', starting with a letter or digit")
    return out


def _usable_token(token: Any) -> str:
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise InvalidToken("missing or malformed approver token")
    return token


def _verify(approver: Approver | None, stored_hash: str | None, token: str, name: str | None) -> Approver:
    presented = hash_token(token)
    # Compare even when nothing was found, so a miss and a mismatch take the same time.
    ok = hmac.compare_digest(stored_hash or "0" * 64, presented) and approver is not None
    if not ok or approver is None or (name is not None and not hmac.compare_digest(approver.name, name)):
        raise InvalidToken("invalid approver token")
    if not approver.active:
        raise InvalidToken(f"the approver {approver.name!r} was revoked")
    return approver


@runtime_checkable
class ApproverStore(Protocol):
    """Where approvers live. Implementations: :class:`MemoryApproverStore`, :class:`SqlApproverStore`."""

    def add(self, name: str, roles: Sequence[str], *, now: float | None = None) -> tuple[Approver, str]:
        """Create an approver and return it with its token (the only time the token is seen).

        Re-adding a revoked name replaces it (new token, new roles); an active name raises
        :class:`ApproverExists`.
        """
        ...

    def get(self, name: str) -> Approver:
        """The approver named ``name`` (revoked or not); :class:`ApproverNotFound` otherwise."""
        ...

    def list(self) -> builtins.list[Approver]:
        """Every approver, revoked ones included, by name."""
        ...

    def revoke(self, name: str, *, now: float | None = None) -> Approver:
        """Revoke an approver: its token stops working at once. Revoking twice is a no-op."""
        ...

    def authenticate(self, token: str, name: str | None = None) -> Approver:
        """The active approver holding ``token`` (and named ``name``, when given).

        Raises :class:`InvalidToken` for a missing, unknown, mismatched or revoked token.
        """
        ...


class MemoryApproverStore:
    """The in-memory reference :class:`ApproverStore` (tests, single-process demos)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._by_name: dict[str, tuple[Approver, str]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def __repr__(self) -> str:
        return f"MemoryApproverStore(approvers={len(self._by_name)})"

    def add(self, name: str, roles: Sequence[str], *, now: float | None = None) -> tuple[Approver, str]:
        name, role_tuple = check_name(name), check_roles(roles)
        token = new_token()
        digest = hash_token(token)
        with self._lock:
            old = self._by_name.get(name)
            if old is not None and old[0].active:
                raise ApproverExists(f"an active approver named {name!r} already exists; revoke it first")
            approver = Approver(name, role_tuple, now if now is not None else self._clock(), None, digest[:16])
            self._by_name[name] = (approver, digest)
        return approver, token

    def get(self, name: str) -> Approver:
        with self._lock:
            found = self._by_name.get(name)
        if found is None:
            raise ApproverNotFound(f"no approver named {name!r}")
        return found[0]

    def list(self) -> builtins.list[Approver]:
        with self._lock:
            return [a for _, (a, _) in sorted(self._by_name.items())]

    def revoke(self, name: str, *, now: float | None = None) -> Approver:
        with self._lock:
            found = self._by_name.get(name)
            if found is None:
                raise ApproverNotFound(f"no approver named {name!r}")
            approver, digest = found
            if approver.active:
                approver = replace(approver, revoked_at=now if now is not None else self._clock())
                self._by_name[name] = (approver, digest)
            return approver

    def authenticate(self, token: str, name: str | None = None) -> Approver:
        token = _usable_token(token)
        presented = hash_token(token)
        with self._lock:
            if name is not None:
                found = self._by_name.get(name)
            else:
                found = next((v for v in self._by_name.values() if hmac.compare_digest(v[1], presented)), None)
        return _verify(found[0] if found else None, found[1] if found else None, token, name)


_APPROVER_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE toolguard_approvers ("
    " name TEXT PRIMARY KEY,"
    " roles_json TEXT NOT NULL,"
    " token_sha256 TEXT NOT NULL UNIQUE,"
    " created_at DOUBLE PRECISION NOT NULL,"
    " revoked_at DOUBLE PRECISION"
    ")",
)


class SqlApproverStore:
    """An :class:`ApproverStore` in a SQL database (SQLite by default, PostgreSQL alike).

    ``SqlApproverStore(open_database("sqlite:///var/lib/toolguard/state.db"))``
    """

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock
        db.migrate("approvers", _APPROVER_SCHEMA)

    def __repr__(self) -> str:
        return f"SqlApproverStore({self.db!r})"

    @staticmethod
    def _row(row: tuple[Any, ...]) -> tuple[Approver, str]:
        name, roles_json, digest, created_at, revoked_at = row
        approver = Approver(
            name=name,
            roles=tuple(json.loads(roles_json)),
            created_at=float(created_at),
            revoked_at=float(revoked_at) if revoked_at is not None else None,
            token_fingerprint=digest[:16],
        )
        return approver, digest

    _COLS = "name, roles_json, token_sha256, created_at, revoked_at"

    def add(self, name: str, roles: Sequence[str], *, now: float | None = None) -> tuple[Approver, str]:
        name, role_tuple = check_name(name), check_roles(roles)
        token = new_token()
        digest = hash_token(token)
        at = now if now is not None else self._clock()

        def body(tx: Tx) -> None:
            row = tx.one("SELECT revoked_at FROM toolguard_approvers WHERE name = ?", (name,))
            if row is not None and row[0] is None:
                raise ApproverExists(f"an active approver named {name!r} already exists; revoke it first")
            # Only a revoked row may be replaced: on PostgreSQL another replica may have added
            # the name between the SELECT above and this statement.
            changed = tx.execute(
                "INSERT INTO toolguard_approvers (name, roles_json, token_sha256, created_at, revoked_at)"
                " VALUES (?, ?, ?, ?, NULL)"
                " ON CONFLICT (name) DO UPDATE SET roles_json = excluded.roles_json,"
                " token_sha256 = excluded.token_sha256, created_at = excluded.created_at, revoked_at = NULL"
                " WHERE toolguard_approvers.revoked_at IS NOT NULL",
                (name, json.dumps(list(role_tuple)), digest, at),
            )
            if changed == 0:
                raise ApproverExists(f"an active approver named {name!r} already exists; revoke it first")

        self.db.run(body)
        return Approver(name, role_tuple, at, None, digest[:16]), token

    def _find(self, where: str, value: str) -> tuple[Approver, str] | None:
        rows = self.db.query(f"SELECT {self._COLS} FROM toolguard_approvers WHERE {where} = ?", (value,))
        return self._row(rows[0]) if rows else None

    def get(self, name: str) -> Approver:
        found = self._find("name", name)
        if found is None:
            raise ApproverNotFound(f"no approver named {name!r}")
        return found[0]

    def list(self) -> builtins.list[Approver]:
        rows = self.db.query(f"SELECT {self._COLS} FROM toolguard_approvers ORDER BY name")
        return [self._row(r)[0] for r in rows]

    def revoke(self, name: str, *, now: float | None = None) -> Approver:
        at = now if now is not None else self._clock()

        def body(tx: Tx) -> tuple[Any, ...] | None:
            tx.execute("UPDATE toolguard_approvers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name))
            return tx.one(f"SELECT {self._COLS} FROM toolguard_approvers WHERE name = ?", (name,))

        row = self.db.run(body)
        if row is None:
            raise ApproverNotFound(f"no approver named {name!r}")
        return self._row(row)[0]

    def authenticate(self, token: str, name: str | None = None) -> Approver:
        token = _usable_token(token)
        found = self._find("name", name) if name is not None else self._find("token_sha256", hash_token(token))
        return _verify(found[0] if found else None, found[1] if found else None, token, name)
