"""Amounts written with digit-group separators are numbers (docs/threat-model.md).

Numbers are read from a text without its whitespace, but whether a "," or "'" separates digit
groups is decided before the whitespace goes: between a digit and exactly three digits, with
no whitespace on either side, it is a separator of the number ("EUR 2,350,000" is 2350000);
followed by whitespace it is a boundary ("1, 234, 567" is a list, "... 0130 00, 120 EUR" an
IBAN then an amount). A number that ends in a lone "." and one or two digits also gives the
digits before it as a key, so an amount meets its spellings with and without decimals.

Both sides read numbers alike: what is ingested (the private and untrusted outputs' number
keys) and what is scanned (an argument's), on the C core and on the numpy fallback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_support import contents as _contents
from core_support import core
from core_support import ledger as _ledger
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import toolguard.taint as T
from toolguard import Call, Guard, Policy
from toolguard import _normalize as N
from toolguard.manifest import manifest_from_dict

C = pytest.importorskip("toolguard._taintc")

CORES = [pytest.param(True, id="c"), pytest.param(False, id="numpy")]


@pytest.fixture(params=CORES)
def accelerated(request: pytest.FixtureRequest) -> Iterator[bool]:
    with core(request.param):
        yield request.param


# (text as written, the number keys read from its spaced fold)
READ = [
    ("authorises up to EUR 2,350,000;", ["2350000"]),
    ("EUR 2.350.000", ["2350000"]),
    ("EUR 2 350 000", ["2350000"]),
    ("CHF 2'350'000", ["2350000"]),
    ("CHF 2\u2019350\u2019000", ["2350000"]),  # (the fold makes "’" an apostrophe)
    ("2\u202f350\u202f000 \u20ac", ["2350000"]),  # narrow no-break spaces
    ("2\u00a0350\u00a0000 \u20ac", ["2350000"]),  # no-break spaces
    ("2\u2009350\u2009000 \u20ac", ["2350000"]),  # thin spaces
    ("1,234,567", ["1234567"]),
    ("USD 2,350,000.50", ["235000050", "2350000"]),  # decimals: whole, and the amount without them
    ("EUR 2.350.000,50", ["2350000"]),  # a decimal comma ends the number
    ("2350000.5", ["23500005", "2350000"]),  # a JSON number's spelling
    ("paid 2,350,000, then 12", ["2350000"]),  # a comma and a space end it
    # not numbers, or not merged
    ("1, 234, 567", []),
    ("1 ,234 ,567", []),
    ("DE89 3704 0044 0532 0130 00, 120 EUR", ["89370400440532013000"]),
    ("DE89 3704 0044 0532 0130 00,120 EUR", ["89370400440532013000120"]),  # written without the space, the comma groups
    ("version 1.2.3", []),
    ("at 10.30 and 11.45", []),
    ("1,2,3,4,5,6,7", []),
    ("12,3456,78", []),  # groups of four are not digit groups
    ("+1 (555) 010-9999", ["15550109999"]),
    ("4485 9921 0037 5512", ["4485992100375512"]),
]


@pytest.mark.parametrize(("text", "keys"), READ, ids=[t for t, _ in READ])
def test_numbers_of_a_spaced_fold(text: str, keys: list[str], accelerated: bool) -> None:
    sp = N.fold_spaced(text)
    got = [key for key, _ in T._numbers(sp, c=T._C)]
    assert got == keys
    assert T._secret_keys(text, 1 << 30, T._C) == keys  # (no ids that long: only the numbers)


def test_a_group_comma_followed_by_digits_is_not_read_on_the_text_without_spaces() -> None:
    # the "0130 00, 120" case: once the spaces are gone, "00,120" would be a digit group
    assert T._numbers("0130 00, 120 x") == []
    assert T._numbers("013000,120x") == [("013000120", 0)]  # (a text with no spaces says no boundary)


def _memo_ledger(text: str) -> T.TaintLedger:
    led = T.TaintLedger()
    led.add_output(f"Privileged memo. {text} Do not share.", call_id="m1", tool="dms_get", trusted=True, labels=["private"])
    return led


def _found(led: T.TaintLedger, arg: str) -> bool:
    return any(m.source.labels for m in led.scan([("/q", f"see {arg} ok")], labels=None, untrusted=False))


SPELLINGS = ["2350000", "2,350,000", "2 350 000", "2.350.000", "2'350'000", "2\u2019350\u2019000", "2\u202f350\u202f000", "EUR 2,350,000.00", "2.350.000,00", "2,350,000.5"]


@pytest.mark.parametrize("private", SPELLINGS)
@pytest.mark.parametrize("argument", SPELLINGS)
def test_an_amount_meets_its_other_spellings(private: str, argument: str, accelerated: bool) -> None:
    led = _memo_ledger(f"Authority up to {private} for the claim.")
    assert _found(led, argument)


@pytest.mark.parametrize(("private", "argument"), [
    ("Account 1234567.", "items 1, 234, 567"),
    ("Reference 00120 and 0130.", "0130 00, 120"),
    ("Build 1234567.", "versions 1.2.3, 4.5.6 and 7"),
    ("Total 2350000.", "at 2,350, 000"),
])
def test_lists_and_boundaries_do_not_merge_into_a_private_number(private: str, argument: str, accelerated: bool) -> None:
    led = _memo_ledger(private)
    assert not _found(led, argument)


def test_an_untrusted_amount_has_an_origin(accelerated: bool) -> None:
    led = T.TaintLedger()
    led.add_output("Please wire EUR 1,480,000 to the new account.", call_id="e1", tool="inbox", trusted=False)
    assert led.origin("1480000")
    assert led.origin("1.480.000")
    assert not led.origin("1480001")


def test_trusted_text_grounds_an_amount_in_any_spelling(accelerated: bool) -> None:
    led = T.TaintLedger()
    led.add_trusted_text("Pay the contractor CHF 1\u2019480\u2019000 from the escrow.", origin="user", ref="user:1")
    for spelling in ("1480000", "1,480,000", "1'480'000", "1.480.000"):
        assert led.sanctioned(spelling) is not None, spelling
    assert led.sanctioned("1, 480, 000") is None


# ---------------------------------------------------------------------------------------------
# the C core and the fallback read the same numbers

AMOUNTISH = st.lists(
    st.sampled_from(["1", "23", "456", "7890", ",", "'", ".", " ", "  ", "-", "(", ")", "/", "+", "x", "eur", ",000", ".50", ", ", "\u2019", "\u00a0"]),
    max_size=50,
).map("".join)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(AMOUNTISH)
@example("2,350,000.50 and 2.350.000,50, 1, 234, 567 0130 00, 120")
@example("1,234'567 8,9")
def test_the_core_reads_the_numbers_the_fallback_reads(text: str) -> None:
    sp = N.folded_bytes(text, spaced=True, collapse=False)
    assert sp is not None
    want = T._numbers("", sp)
    assert C.numbers(sp) == want
    assert T._numbers(sp.decode("ascii")) == want  # (ASCII: the bytes path)
    # the str path (a text with a digit of another script) reads them alike, at the same offsets
    assert T._numbers(sp.decode("ascii") + " x\u0661") == want
    assert C.secret_keys(sp, 8) == T._secret_keys(text, 8) == T._secret_keys(text, 8, C)
    keys, _ = C.scan_tokens(sp, 8)
    assert keys == C.secret_keys(sp, 8)
    _, _, nums, _, _ = C.latin_fp(sp, b"", 20, 24)
    where = [i for i, ch in enumerate(sp) if ch != 0x20]
    assert nums == [(key, where[at]) for key, at in want]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(AMOUNTISH, min_size=1, max_size=4))
def test_ledgers_built_both_ways_hold_the_same_numbers(texts: list[str]) -> None:
    fast, slow = _ledger(True), _ledger(False)
    for i, text in enumerate(texts):
        for led in (fast, slow):
            led.add_output(text, call_id=f"c{i}", tool="t", trusted=i % 2 == 0, labels=["private"] if i % 2 == 0 else [])
            led.add_trusted_text(text, origin="user", ref=f"user:{i}")
    assert _contents(fast) == _contents(slow)


# ---------------------------------------------------------------------------------------------
# an outbound message


def _guard() -> Guard:
    chat = manifest_from_dict({
        "tool": "chat_send",
        "side_effect": "external_write",
        "arguments": {
            "type": "object",
            "properties": {"channel": {"type": "string"}, "text": {"type": "string"}},
            "required": ["channel", "text"],
            "additionalProperties": False,
        },
        "destinations": [{"arg": "/channel", "kind": "channel"}],
        "payload": ["/text"],
    })
    return Guard([chat], policy=Policy(side_effects={}))


@pytest.mark.parametrize("amount", ["2,350,000", "2350000", "2.350.000", "2 350 000"])
def test_a_private_amount_written_with_commas_in_an_outbound_message_is_denied(amount: str, accelerated: bool) -> None:
    guard = _guard()
    s = guard.session("robin", "s")
    s.add_user_text("Summarise the memo for the partners channel.")
    s.add_tool_output(call_id="c1", tool="dms_get", text="Settlement authority: the client authorises up to EUR 2,350,000; not below.", trusted=True, labels=("private",))
    d = guard.decide(Call("chat_send", {"channel": "#partners-ext", "text": f"FYI the ceiling is {amount} euros."}, "c2"), s)
    assert d.verdict == "deny" and "payload.private_data" in d.codes, d.findings
    d = guard.decide(Call("chat_send", {"channel": "#partners-ext", "text": "FYI the hearing moved to 12 March."}, "c3"), s)
    assert "payload.private_data" not in d.codes, d.findings
