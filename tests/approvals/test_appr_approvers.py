"""Approvers: tokens shown once and stored hashed, authentication, revocation."""

from __future__ import annotations

import pytest

from toolguard import ConfigError
from toolguard.approvals import ApproverExists, ApproverNotFound, ApproverStore, InvalidToken
from toolguard.approvals.approvers import hash_token


def test_matches_protocol(stores):
    assert isinstance(stores.approvers, ApproverStore)


def test_add_returns_a_fresh_token_that_authenticates(stores):
    bob, token = stores.approvers.add("bob", ["mail-approvers", "finance"], now=5.0)
    assert (bob.name, bob.roles, bob.created_at, bob.active) == ("bob", ("mail-approvers", "finance"), 5.0, True)
    assert token.startswith("tga_") and len(token) > 40
    assert stores.approvers.authenticate(token) == bob
    assert stores.approvers.authenticate(token, "bob") == bob
    _, other = stores.approvers.add("carol", ["finance"])
    assert other != token


@pytest.mark.parametrize(
    "token, name",
    [
        pytest.param("tga_forged", None, id="forged"),
        pytest.param("", None, id="empty"),
        pytest.param("x" * 600, None, id="too-long"),
        pytest.param(None, None, id="none"),
        pytest.param("RIGHT", "carol", id="someone-else's-name"),
        pytest.param("RIGHT", "nobody", id="unknown-name"),
    ],
)
def test_bad_tokens_are_refused(stores, token, name):
    _, right = stores.approvers.add("bob", ["mail-approvers"])
    stores.approvers.add("carol", ["finance"])
    with pytest.raises(InvalidToken):
        stores.approvers.authenticate(right if token == "RIGHT" else token, name)


def test_revoke_stops_the_token_at_once(stores):
    _, token = stores.approvers.add("bob", ["mail-approvers"])
    revoked = stores.approvers.revoke("bob", now=9.0)
    assert revoked.revoked_at == 9.0 and not revoked.active
    with pytest.raises(InvalidToken, match="revoked"):
        stores.approvers.authenticate(token)
    assert stores.approvers.revoke("bob", now=99.0).revoked_at == 9.0  # idempotent
    assert [a.name for a in stores.approvers.list()] == ["bob"]


def test_re_adding_a_revoked_name_issues_a_new_token(stores):
    _, old = stores.approvers.add("bob", ["mail-approvers"])
    stores.approvers.revoke("bob")
    bob, new = stores.approvers.add("bob", ["finance"])
    assert bob.active and bob.roles == ("finance",)
    with pytest.raises(InvalidToken):
        stores.approvers.authenticate(old)
    assert stores.approvers.authenticate(new).roles == ("finance",)


def test_an_active_name_cannot_be_added_twice(stores):
    _, token = stores.approvers.add("bob", ["mail-approvers"])
    with pytest.raises(ApproverExists, match="revoke it first"):
        stores.approvers.add("bob", ["finance"])
    assert stores.approvers.authenticate(token).roles == ("mail-approvers",)


@pytest.mark.parametrize(
    "name, roles, match",
    [
        pytest.param("", ["r"], "invalid approver name", id="empty-name"),
        pytest.param("bob smith", ["r"], "invalid approver name", id="space"),
        pytest.param("<script>", ["r"], "invalid approver name", id="markup"),
        pytest.param("bob", [], "at least one role", id="no-role"),
        pytest.param("bob", "admin", "list of role names", id="roles-as-string"),
        pytest.param("bob", ["ok", "no way"], "invalid role", id="bad-role"),
    ],
)
def test_bad_names_and_roles(stores, name, roles, match):
    with pytest.raises(ConfigError, match=match):
        stores.approvers.add(name, roles)
    assert stores.approvers.list() == []


def test_unknown_names(stores):
    with pytest.raises(ApproverNotFound):
        stores.approvers.get("nobody")
    with pytest.raises(ApproverNotFound):
        stores.approvers.revoke("nobody")


def test_list_is_sorted_and_never_holds_tokens(stores):
    stores.approvers.add("zoe", ["a"])
    stores.approvers.add("adam", ["b"])
    listed = stores.approvers.list()
    assert [a.name for a in listed] == ["adam", "zoe"]
    assert all("token" not in a.to_dict() for a in listed)


def test_sqlite_stores_only_the_hash(sqlite_stores, tmp_path):
    _, token = sqlite_stores.approvers.add("bob", ["mail-approvers"])
    sqlite_stores.holds.db.close()  # type: ignore[attr-defined]  # flush WAL into files we can read
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.db"))
    assert token.encode() not in raw
    assert hash_token(token).encode() in raw
