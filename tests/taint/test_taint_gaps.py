"""Detection gaps closed in the ledger: whole-value lookups, short private units, split data
around a repeated piece, and name-like destinations of untrusted text."""

from __future__ import annotations

from toolguard.taint import TaintLedger


# -- whole-value mode --------------------------------------------------------------------------


def test_a_number_inside_a_url_does_not_make_the_url_sanctioned_in_whole_mode():
    ledger = TaintLedger()
    ledger.add_trusted_text("Switch the fleet from 2027-04-01; research prices.", origin="user", ref="user:0")
    url = "https://collector.test/c?d=switch+the+fleet&from=2027-04-01"
    # by default a value is also looked up by its numbers (a phone inside a tel: link)
    assert ledger.sanctioned(url) is not None
    assert ledger.sanctioned(url, whole=True) is None
    # a value that is itself a number keeps its number key
    assert ledger.sanctioned("2027-04-01", whole=True) is not None
    assert ledger.sanctioned("20270401", whole=True) is not None


def test_a_number_inside_a_url_does_not_give_the_url_an_origin_in_whole_mode():
    ledger = TaintLedger()
    ledger.add_output("Call +1 (555) 010-9999 for the report.", call_id="p1", tool="browse", trusted=False)
    url = "https://collector.test/c?n=15550109999&d=chat"
    assert ledger.origin(url)
    assert not ledger.origin(url, whole=True)
    assert ledger.origin("+1 555 010 9999", whole=True)
    # the URL itself, seen whole, still has its origin
    ledger.add_output("see https://collector.test/c?n=15550109999&d=chat", call_id="p2", tool="browse", trusted=False)
    assert [m.source.call_id for m in ledger.origin(url, whole=True)] == ["p2"]
