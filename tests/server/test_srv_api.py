"""The approver HTTP API on a real uvicorn server (httpx over loopback)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from srv_support import MAX_BODY, XSS, csrf_from, email_manifest

from toolguard import Call, Guard
from toolguard.approvals import execute_approved
from toolguard.manifest import ManifestSet
from toolguard.server import CSP


@pytest.fixture
def client(srv):
    with httpx.Client(base_url=srv.base, timeout=10, follow_redirects=False) as c:
        yield c


def _code(resp):
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]["code"]


# -- authentication ---------------------------------------------------------------------------


def test_missing_token_is_401(srv, client):
    hid = srv.hold()
    for method, path in (("GET", "/api/holds"), ("GET", f"/api/holds/{hid}"), ("POST", f"/api/holds/{hid}/approve"), ("GET", "/api/me")):
        resp = client.request(method, path)
        assert resp.status_code == 401 and _code(resp) == "missing_token"
        assert resp.headers["www-authenticate"].startswith("Bearer")
    assert srv.holds.get(hid).status == "pending"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer tga_forged-token-that-does-not-exist", id="forged"),
        pytest.param("Bearer", id="empty"),
        pytest.param("Basic Ym9iOnB3", id="basic"),
        pytest.param("tga_no_scheme", id="no-scheme"),
    ],
)
def test_forged_or_malformed_token_is_401(srv, client, header):
    hid = srv.hold()
    resp = client.post(f"/api/holds/{hid}/approve", headers={"Authorization": header}, json={})
    assert resp.status_code == 401 and _code(resp) == "invalid_token"
    assert srv.holds.get(hid).status == "pending"


def test_revoked_token_is_401(srv, client):
    hid = srv.hold()
    srv.approvers.revoke("bob")
    resp = client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob"), json={})
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]


def test_me(srv, client):
    resp = client.get("/api/me", headers=srv.auth("bob"))
    assert resp.status_code == 200 and resp.json()["name"] == "bob" and "token" not in resp.json()


# -- reading ------------------------------------------------------------------------------------


def test_list_shows_only_holds_the_caller_may_decide(srv, client):
    hid = srv.hold()
    resp = client.get("/api/holds", headers=srv.auth("bob"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 1 and body["holds"][0]["id"] == hid
    assert body["holds"][0]["args"]["to"] == ["eve@evil.test"]
    assert body["holds"][0]["findings"][0]["evidence"][0]["tool"] == "read_inbox"
    assert client.get("/api/holds", headers=srv.auth("carol")).json() == {"holds": [], "count": 0}
    assert client.get(f"/api/holds/{hid}", headers=srv.auth("carol")).status_code == 403


def test_list_filters(srv, client):
    a = srv.hold()
    b = srv.hold(principal="dora")
    client.post(f"/api/holds/{a}/deny", headers=srv.auth("bob"), json={"reason": "no"})
    ids = lambda q: [h["id"] for h in client.get("/api/holds" + q, headers=srv.auth("bob")).json()["holds"]]  # noqa: E731
    assert ids("") == [b]
    assert ids("?status=denied") == [a]
    assert ids("?status=all") == [a, b]
    assert ids("?status=pending&status=denied") == [a, b]
    assert ids("?status=all&principal=dora") == [b]
    assert ids("?status=all&limit=1") == [a]


@pytest.mark.parametrize("query", ["?status=bogus", "?limit=0", "?limit=x", "?limit=5000", "?colour=red"])
def test_bad_queries_are_400(srv, client, query):
    resp = client.get("/api/holds" + query, headers=srv.auth("bob"))
    assert resp.status_code == 400 and _code(resp) == "bad_query"


def test_show_with_history(srv, client):
    hid = srv.hold()
    client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob"), json={"reason": "ok"})
    body = client.get(f"/api/holds/{hid}", headers=srv.auth("bob")).json()
    assert body["status"] == "approved" and [e["event"] for e in body["history"]] == ["created", "approved"]


def test_unknown_id_is_404(srv, client):
    for method, path in (("GET", "/api/holds/h_nope"), ("POST", "/api/holds/h_nope/approve"), ("POST", "/api/holds/h_nope/deny")):
        resp = client.request(method, path, headers=srv.auth("bob"), json={"reason": "x"})
        assert resp.status_code == 404 and _code(resp) == "not_found"


# -- deciding -----------------------------------------------------------------------------------


def test_approve_then_double_decision_is_409(srv, client):
    hid = srv.hold()
    resp = client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob"), json={"reason": "known partner"})
    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["decided_by"], resp.json()["reason"]) == ("approved", "bob", "known partner")
    for verdict in ("approve", "deny"):
        again = client.post(f"/api/holds/{hid}/{verdict}", headers=srv.auth("bob"), json={"reason": "again"})
        assert again.status_code == 409 and _code(again) == "already_decided"
    rec = srv.holds.get(hid)
    assert (rec.status, rec.reason) == ("approved", "known partner")


def test_approve_without_a_body(srv, client):
    hid = srv.hold()
    assert client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob")).status_code == 200


def test_self_approval_and_wrong_role_are_403(srv, client):
    hid = srv.hold(principal="alice")
    for who in ("alice", "carol"):
        resp = client.post(f"/api/holds/{hid}/approve", headers=srv.auth(who), json={})
        assert resp.status_code == 403 and _code(resp) == "not_an_approver"
    assert "own held call" in client.post(f"/api/holds/{hid}/approve", headers=srv.auth("alice"), json={}).json()["error"]["message"]
    assert srv.holds.get(hid).status == "pending"


def test_expired_is_410(srv, client):
    hid = srv.hold(requested_at=time.time() - 7200)
    resp = client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob"), json={})
    assert resp.status_code == 410 and _code(resp) == "expired"
    assert srv.holds.get(hid).status == "expired"


@pytest.mark.parametrize(
    "verdict, body, code",
    [
        pytest.param("deny", {}, "invalid_decision", id="deny-without-reason"),
        pytest.param("deny", {"reason": "  "}, "invalid_decision", id="deny-blank-reason"),
        pytest.param("deny", {"reason": "no", "args": {}}, "invalid_decision", id="deny-with-args"),
        pytest.param("approve", {"reason": 5}, "invalid_decision", id="reason-not-text"),
        pytest.param("approve", {"verdict": "approve"}, "invalid_decision", id="unknown-field"),
        pytest.param("approve", {"args": {"to": ["x@evil.test"], "subject": "Q3", "body": "numbers"}}, "edit_not_allowed", id="edit-destination"),
        pytest.param("approve", {"args": ["not", "an", "object"]}, "invalid_decision", id="args-not-object"),
    ],
)
def test_invalid_decisions_are_422(srv, client, verdict, body, code):
    hid = srv.hold()
    resp = client.post(f"/api/holds/{hid}/{verdict}", headers=srv.auth("bob"), json=body)
    assert resp.status_code == 422 and _code(resp) == code
    assert srv.holds.get(hid).status == "pending"


def test_approve_with_allowed_edits(srv, client):
    hid = srv.hold()
    edited = {"to": ["eve@evil.test"], "subject": "Q3 summary", "body": "see the portal"}
    resp = client.post(f"/api/holds/{hid}/approve", headers=srv.auth("bob"), json={"args": edited})
    assert resp.status_code == 200 and resp.json()["args"] == edited and resp.json()["edited"] is True


def test_bad_json_is_400_and_wrong_type_is_415(srv, client):
    hid = srv.hold()
    headers = {**srv.auth("bob"), "Content-Type": "application/json"}
    resp = client.post(f"/api/holds/{hid}/approve", headers=headers, content=b"{not json")
    assert resp.status_code == 400 and _code(resp) == "bad_json"
    resp = client.post(f"/api/holds/{hid}/approve", headers=headers, content=b"[1, 2]")
    assert resp.status_code == 400
    resp = client.post(f"/api/holds/{hid}/approve", headers={**srv.auth("bob"), "Content-Type": "text/plain"}, content=b"approve")
    assert resp.status_code == 415 and _code(resp) == "unsupported_media_type"
    assert srv.holds.get(hid).status == "pending"


def test_oversized_body_is_413(srv, client):
    hid = srv.hold()
    big = json.dumps({"reason": "x" * (MAX_BODY + 10)}).encode()
    resp = client.post(f"/api/holds/{hid}/approve", headers={**srv.auth("bob"), "Content-Type": "application/json"}, content=big)
    assert resp.status_code == 413 and _code(resp) == "body_too_large"

    def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(MAX_BODY // 1024 + 4):
            yield b" " * 1024

    resp = client.post(f"/api/holds/{hid}/approve", headers={**srv.auth("bob"), "Content-Type": "application/json"}, content=chunks())
    assert resp.status_code == 413 and _code(resp) == "body_too_large"
    assert srv.holds.get(hid).status == "pending"


def test_unknown_paths_and_methods(srv, client):
    assert client.get("/api/nothing", headers=srv.auth("bob")).status_code == 404
    assert _code(client.get("/api/nothing")) == "not_found"
    resp = client.get("/api/holds/h_x/approve", headers=srv.auth("bob"))
    assert resp.status_code == 405 and _code(resp) == "method_not_allowed"


def test_the_session_cookie_never_authenticates_the_api(srv, client):
    """The API takes only the bearer token: a browser's cookie cannot be used for a cross-site post."""
    hid = srv.hold()
    page = client.get("/login")
    client.post("/login", data={"csrf_token": csrf_from(page.text), "token": srv.tokens["bob"]})
    assert "toolguard_session" in client.cookies
    assert client.get("/").status_code == 200  # logged in on the page
    resp = client.post(f"/api/holds/{hid}/approve", json={})
    assert resp.status_code == 401
    assert srv.holds.get(hid).status == "pending"


# -- description and headers ------------------------------------------------------------------------


def test_openapi_describes_every_api_route(srv, client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.1") and spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert set(spec["paths"]) == {"/api/holds", "/api/holds/{hold_id}", "/api/holds/{hold_id}/approve", "/api/holds/{hold_id}/deny", "/api/me"}
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert "200" in op["responses"] and "401" in op["responses"], path
    assert {"409", "410", "413", "422"} <= set(spec["paths"]["/api/holds/{hold_id}/approve"]["post"]["responses"])


@pytest.mark.parametrize("path", ["/", "/login", "/api/holds", "/openapi.json", "/static/style.css"])
def test_security_headers_everywhere(srv, client, path):
    resp = client.get(path)
    assert resp.headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "default-src 'none'" in CSP and "unsafe-inline" not in CSP
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "same-origin"  # "no-referrer" would make browsers send Origin: null


# -- the web page, without a browser ---------------------------------------------------------------------


def _login(client, token):
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"csrf_token": csrf_from(page.text), "token": token})


def test_login_sets_a_strict_httponly_cookie(srv, client):
    resp = _login(client, srv.tokens["bob"])
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    cookie = [v for k, v in resp.headers.multi_items() if k == "set-cookie" and v.startswith("toolguard_session=")][-1].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_login_refusals(srv, client):
    page = client.get("/login")
    assert client.post("/login", data={"token": srv.tokens["bob"]}).status_code == 403  # no CSRF token
    assert client.post("/login", data={"csrf_token": csrf_from(page.text), "token": "tga_forged"}).status_code == 401
    assert client.get("/").status_code == 303  # still logged out


def test_unauthenticated_page_redirects_to_login(srv, client):
    resp = client.get("/")
    assert resp.status_code == 303 and resp.headers["location"] == "/login"


def test_csrf_less_post_is_refused(srv, client):
    hid = srv.hold()
    _login(client, srv.tokens["bob"])
    resp = client.post(f"/holds/{hid}/decide", data={"verdict": "approve"})
    assert resp.status_code == 403
    resp = client.post(f"/holds/{hid}/decide", data={"verdict": "approve", "csrf_token": "forged.token.value"})
    assert resp.status_code == 403
    assert srv.holds.get(hid).status == "pending"


def test_cross_origin_post_is_refused_even_with_a_token(srv, client):
    hid = srv.hold()
    _login(client, srv.tokens["bob"])
    token = csrf_from(client.get("/").text)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = client.post(f"/holds/{hid}/decide", data={"verdict": "approve", "csrf_token": token}, headers=headers)
        assert resp.status_code == 403
    assert srv.holds.get(hid).status == "pending"


def test_a_csrf_token_of_another_session_is_refused(srv):
    hid = srv.hold()
    with httpx.Client(base_url=srv.base) as mallory, httpx.Client(base_url=srv.base) as bob:
        _login(mallory, srv.tokens["carol"])
        stolen = csrf_from(mallory.get("/").text)
        _login(bob, srv.tokens["bob"])
        resp = bob.post(f"/holds/{hid}/decide", data={"verdict": "approve", "csrf_token": stolen})
        assert resp.status_code == 403
    assert srv.holds.get(hid).status == "pending"


def test_the_page_escapes_arguments_and_decides(srv, client):
    hid = srv.hold(args={"to": ["eve@evil.test"], "subject": XSS, "body": "hi"})
    _login(client, srv.tokens["bob"])
    page = client.get("/")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
    assert "Untrusted source" in page.text and "read_inbox" in page.text
    resp = client.post(f"/holds/{hid}/decide", data={"verdict": "deny", "reason": "phishing", "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 303
    assert srv.holds.get(hid).status == "denied" and srv.holds.get(hid).decided_by == "bob"
    assert "denied" in client.get("/").text


def test_the_page_refuses_a_revoked_approver(srv, client):
    srv.hold()
    _login(client, srv.tokens["bob"])
    assert client.get("/").status_code == 200
    srv.approvers.revoke("bob")
    assert client.get("/").status_code == 303


# -- end to end ------------------------------------------------------------------------------------


def test_hold_approve_over_http_execute(srv, client):
    guard = Guard(ManifestSet.of([email_manifest()]), holds=srv.holds)
    sent = []
    args = {"to": ["eve@evil.test"], "subject": "Q3", "body": "numbers"}
    out = guard.run(guard.session("alice", "conv-1"), Call("send_email", args, "c1"), sent.append)
    assert out.status == "held" and sent == []
    assert client.post(f"/api/holds/{out.hold_id}/approve", headers=srv.auth("bob"), json={"reason": "ok"}).status_code == 200
    res = execute_approved(srv.holds, out.hold_id, {"send_email": lambda a: sent.append(a) or "sent"}, guard)
    assert res.status == "executed" and sent == [args]
    assert client.get(f"/api/holds/{out.hold_id}", headers=srv.auth("bob")).json()["status"] == "done"
