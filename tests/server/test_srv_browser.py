"""The approval page in a real browser: Debian's chromium driven by Playwright.

An argument value that tries to inject HTML and script must show up as text, fire no
dialog and trip no CSP report; approving from the page changes the hold's status.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from srv_support import XSS

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium); required in CI",
    ),
]

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    pg.dialogs = []
    pg.console_messages = []

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("console", lambda msg: pg.console_messages.append(msg.text))
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def _login(page, srv, who="bob"):
    page.goto(srv.base + "/")
    assert page.url == srv.base + "/login"
    page.fill("#token", srv.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url(srv.base + "/")


def test_injection_is_rendered_as_text_and_approval_changes_status(srv, page):
    hid = srv.hold(args={"to": ["eve@evil.test"], "subject": XSS, "body": XSS})
    _login(page, srv)
    card = page.locator(f"#hold-{hid}")
    assert card.is_visible()
    args_text = card.locator("pre.args").inner_text()
    assert XSS in args_text  # shown, character for character
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    untrusted = card.locator(".evidence.untrusted")
    assert untrusted.count() == 1 and "read_inbox" in untrusted.inner_text()
    assert card.locator(".summary").inner_text().startswith("Held because:")

    card.locator("form.approve input[name=reason]").fill("checked by phone")
    card.locator("form.approve button").click()
    page.wait_for_url(srv.base + "/")
    assert "approved" in page.locator("#flash").inner_text()
    assert page.locator(f"#hold-{hid}").count() == 0
    row = page.locator(f"#recent-{hid}")
    assert "approved" in row.inner_text() and "bob" in row.inner_text()
    assert XSS[:20] in row.inner_text()
    rec = srv.holds.get(hid)
    assert (rec.status, rec.decided_by, rec.reason) == ("approved", "bob", "checked by phone")

    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    assert not [m for m in page.console_messages if "Content Security Policy" in m], page.console_messages


def test_deny_from_the_page_needs_a_reason(srv, page):
    hid = srv.hold()
    _login(page, srv)
    card = page.locator(f"#hold-{hid}")
    card.locator("form.deny button").click()  # the browser refuses: the reason is required
    assert srv.holds.get(hid).status == "pending"
    card.locator("form.deny input[name=reason]").fill("not a customer address")
    card.locator("form.deny button").click()
    page.wait_for_url(srv.base + "/")
    assert "denied" in page.locator(f"#recent-{hid}").inner_text()
    assert srv.holds.get(hid).status == "denied"


def test_the_principal_sees_its_own_hold_without_buttons(srv, page):
    hid = srv.hold(principal="alice")
    _login(page, srv, "alice")
    card = page.locator(f"#hold-{hid}")
    assert "cannot decide it" in card.inner_text()
    assert card.locator("button").count() == 0


def test_a_bad_token_does_not_log_in_and_logout_works(srv, page):
    page.goto(srv.base + "/login")
    page.fill("#token", "tga_forged")
    page.click("button[type=submit]")
    assert "not valid" in page.locator(".flash.error").inner_text()
    _login(page, srv)
    page.click("button.link")
    page.wait_for_url(srv.base + "/login")
    page.goto(srv.base + "/")
    assert page.url == srv.base + "/login"


def test_an_editable_hold_approved_unchanged_keeps_its_arguments(srv, page):
    # Invisible tag characters and a bidi override: shown escaped, and still the same call.
    args = {"to": ["eve@evil.test"], "subject": "Q3\U000e0041\u202e", "body": "line 1\nline 2"}
    hid = srv.hold(args=args)
    _login(page, srv)
    card = page.locator(f"#hold-{hid}")
    assert "\\udb40\\udc41\\u202e" in card.locator("pre.args").inner_text()
    card.locator("form.approve button").click()
    page.wait_for_url(srv.base + "/")
    rec = srv.holds.get(hid)
    assert rec.status == "approved" and not rec.edited and rec.args == args


def test_editing_in_the_page(srv, page):
    hid = srv.hold()
    _login(page, srv)
    box = page.locator(f"#hold-{hid} form.approve textarea[name=args]")
    box.fill('{"to": ["eve@evil.test"], "subject": "Q3 (summary)", "body": "see the portal"}')
    page.locator(f"#hold-{hid} form.approve button").click()
    page.wait_for_url(srv.base + "/")
    rec = srv.holds.get(hid)
    assert rec.status == "approved" and rec.edited and rec.args["subject"] == "Q3 (summary)"
    other = srv.hold()
    page.goto(srv.base + "/")
    page.locator(f"#hold-{other} form.approve textarea[name=args]").fill('{"to": ["mallory@evil.test"], "subject": "Q3", "body": "numbers"}')
    page.locator(f"#hold-{other} form.approve button").click()
    page.wait_for_url(srv.base + "/**")
    assert "may not be edited" in page.locator("#flash").inner_text()
    assert srv.holds.get(other).status == "pending"
