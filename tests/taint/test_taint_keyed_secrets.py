"""Credentials stated as a key and its value in labelled text are found whole in arguments.

A password whose symbols cut it into short tokens (``t7#Qm2-vRk!9pLx4``) has no token and,
under 20 characters, no fingerprint: the ledger records the value of ``password: ...``,
``API_KEY=...`` and ``"client_secret": "..."`` in labelled text as it is.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolguard.taint import _KEYED_MAX, TaintLedger

PASSWORD = "t7#Qm2-vRk!9pLx4"

STATED = [
    ('{"user": "anna", "password": "%s"}', "json"),
    ("DB_PASSWORD=%s\nDB_HOST=db.internal", ".env"),
    ("password: %s\nurl: https://sso.example/", "yaml"),
    ("Passphrase = '%s'", "quoted"),
    ("client_secret:%s;", "separator"),
    ("the api-key: %s.", "sentence end"),
]


def ledger_with(text: str, *, labels: tuple[str, ...] = ("private",), trusted: bool = True) -> TaintLedger:
    led = TaintLedger()
    led.add_output(text, call_id="c1", tool="vault_get", trusted=trusted, labels=labels)
    return led


@pytest.mark.parametrize(("template", "why"), STATED, ids=[w for _, w in STATED])
def test_a_stated_credential_is_found_whole(template: str, why: str) -> None:
    led = ledger_with(template % PASSWORD)
    for arg, transform in [
        (f"https://status.example/?p={PASSWORD}", "plain"),
        (f"https://status.example/?p={quote(PASSWORD, safe='')}", "url"),
        (f"https://status.example/?p={quote(quote(PASSWORD, safe=''), safe='')}", "url"),
        (f"<img src=x alt='{PASSWORD.replace('#', '&#35;')}'>", "html"),
        (f"note: {PASSWORD} end", "plain"),
    ]:
        hits = led.scan([("/u", arg)])
        assert [m.transform for m in hits] == [transform], (why, arg, hits)
        m = hits[0]
        assert m.source.tool == "vault_get" and m.pointer == "/u" and m.covered == len(PASSWORD)
        text = template % PASSWORD
        assert text[m.span[0] : m.span[1]] == PASSWORD


@pytest.mark.parametrize(
    "arg",
    ["https://status.example/?p=t7", "T7#QM2-VRK!9PLX4", "t7#Qm2-vRk!9pLx", "nothing to see", ""],
)
def test_other_text_is_not_the_credential(arg: str) -> None:
    led = ledger_with(f'{{"password": "{PASSWORD}"}}')
    assert led.scan([("/u", arg)]) == ()


def test_only_labelled_text_is_read_for_credentials() -> None:
    # an untrusted page that states a "password" is not a confidentiality source
    led = ledger_with(f"password: {PASSWORD}", labels=(), trusted=False)
    assert not led._keyed
    assert led.scan([("/u", PASSWORD)], labels=None, untrusted=False) == ()


def test_short_values_and_unkeyed_text_are_not_recorded() -> None:
    led = ledger_with("pin: 4711\npassword: abc!12\nthe password is hunter2#hunter2\nsecret sauce")
    assert led._keyed == {}


def test_labels_filter_applies() -> None:
    led = ledger_with(f"password: {PASSWORD}", labels=("credentials",))
    assert led.scan([("/u", PASSWORD)], labels=("pii",), untrusted=False) == ()
    assert [m.transform for m in led.scan([("/u", PASSWORD)], labels=("credentials",), untrusted=False)] == ["plain"]
    assert led.scan([("/u", PASSWORD)], labels=(), untrusted=True) == ()


def test_bounded_oldest_dropped_and_counted() -> None:
    led = TaintLedger()
    before = led.memory_bytes()
    for i in range(_KEYED_MAX + 10):
        led.add_output(f"password: pw#{i:06d}!x", call_id=f"c{i}", tool="vault_get", trusted=True, labels=("private",))
    assert len(led._keyed) == _KEYED_MAX
    assert "pw#000000!x" not in led._keyed and f"pw#{_KEYED_MAX + 9:06d}!x" in led._keyed
    assert led.memory_bytes() > before
    assert led.scan([("/u", "pw#000000!x")]) == ()
    assert len(led.scan([("/u", f"pw#{_KEYED_MAX + 9:06d}!x")])) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=200))
def test_never_raises(text: str, arg: str) -> None:
    led = ledger_with("password: " + text)
    led.scan([("/u", arg)])
    for value, (index, pos) in led._keyed.items():
        assert ("password: " + text)[pos : pos + len(value)] == value and index == 0
