"""Bounded memory: eviction of the oldest sources, and what survives it."""

from __future__ import annotations

import random
import string
import tracemalloc

import pytest

from toolguard.taint import TaintLedger

WORDS = ["river", "stone", "market", "violet", "engine", "paper", "orbit", "candle", "harbor", "silver", "meadow", "lantern", "copper"]


def page(i: int, n: int = 6000) -> tuple[str, str, str]:
    """An untrusted page with its own destination and its own 60-character sentence."""
    r = random.Random(i)
    email = f"drop{i}@attacker{i}.example"
    marker = " ".join("".join(r.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(8))
    filler = " ".join(r.choice(WORDS) + (str(r.randint(0, 99)) if r.random() < 0.05 else "") for _ in range(n // 7))
    return f"{filler[: n // 2]} mail {email} now. {marker}. {filler[n // 2 :]}", email, marker


@pytest.mark.parametrize("max_bytes", [48 * 1024, 256 * 1024], ids=["48KB", "256KB"])
def test_eviction_bounds_memory_and_keeps_the_newest(max_bytes: int) -> None:
    led = TaintLedger(max_bytes=max_bytes)
    led.add_trusted_text("please research these sites", origin="user", ref="user:0")
    pages = [page(i) for i in range(150)]
    ingested = 0
    for i, (text, _, _) in enumerate(pages):
        led.add_output(text, call_id=f"c{i}", tool="browse", trusted=False)
        ingested += len(text)
        assert led.memory_bytes() <= max_bytes
    assert ingested > 2 * max_bytes
    assert led.untrusted_seen
    assert led.evicted > 0
    assert len(led.sources) == 151  # metadata survives
    # the oldest evidence is gone ...
    _, old_email, old_marker = pages[0]
    assert led.origin(old_email) == ()
    assert led.scan([("/q", old_marker)], labels=(), untrusted=True) == ()
    # ... the newest is still found
    _, new_email, new_marker = pages[-1]
    assert [m.source.call_id for m in led.origin(new_email)] == ["c149"]
    assert any(m.source.call_id == "c149" for m in led.scan([("/q", new_marker)], labels=(), untrusted=True))


def test_eviction_keeps_untrusted_seen_when_everything_is_gone() -> None:
    led = TaintLedger(max_bytes=8 * 1024)
    led.add_output(page(1, 40_000)[0], call_id="c1", tool="browse", trusted=False)
    assert led.untrusted_seen
    assert led.memory_bytes() <= 8 * 1024
    led.add_trusted_text("hello", origin="user", ref="user:0")
    assert led.untrusted_seen and len(led.sources) == 2


def test_trusted_text_is_bounded_too() -> None:
    led = TaintLedger(max_bytes=256 * 1024)
    for i in range(600):
        contacts = " ".join(f"friend{i}.{j}@corp.example" for j in range(40))
        led.add_trusted_text(f"message {i}: write to {contacts} " + "blah " * 100, origin="user", ref=f"user:{i}")
        assert led.memory_bytes() <= 256 * 1024
    assert led.sanctioned("friend599.3@corp.example") is not None
    assert led.sanctioned("friend0.3@corp.example") is None
    assert led.evicted > 0
    assert not led.untrusted_seen


def test_egress_memory_is_bounded() -> None:
    led = TaintLedger(egress_max_chars=1000)
    for i in range(500):
        led.record_egress(f"c{i}", [("/a", "x" * 300), ("/b", "y" * 10)])
    assert sum(p.codes.shape[0] for p in led._egress) <= 1000
    assert led.memory_bytes() < 16 * 1024


def test_memory_estimate_is_honest() -> None:
    texts = [page(i, 16_000)[0] for i in range(40)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    led = TaintLedger()
    for i, t in enumerate(texts):
        led.add_output(t, call_id=f"c{i}", tool="browse", trusted=False)
    measured = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    est = led.memory_bytes()
    assert 0.6 * measured <= est <= 1.6 * measured, (est, measured)
    assert est <= sum(len(t) for t in texts)  # <= 1 byte per byte ingested


def test_positions_rebase(monkeypatch: pytest.MonkeyPatch) -> None:
    # stream positions are uint32; exercise the rebase with a tiny limit
    monkeypatch.setattr(TaintLedger, "_POS_LIMIT", 1 << 16)
    led = TaintLedger()
    pages = [page(i, 5000) for i in range(40)]
    for i, (text, _, _) in enumerate(pages):
        led.add_output(text, call_id=f"c{i}", tool="browse", trusted=False)
    assert led._base > 0
    assert led.evicted > 0
    for i in (39, 38, 37):
        _, email, marker = pages[i]
        assert [m.source.call_id for m in led.origin(email)] == [f"c{i}"]
        (m,) = [m for m in led.scan([("/q", marker)], labels=(), untrusted=True) if m.transform == "plain"]
        a, b = m.span
        assert pages[i][0][a:b] in marker


@pytest.mark.parametrize(("dir_min", "cap"), [(16, 64), (16, 2), (1 << 30, 64)], ids=["directory", "narrow-directory", "searchsorted"])
def test_lookup_paths_agree(monkeypatch: pytest.MonkeyPatch, dir_min: int, cap: int) -> None:
    # Big runs get a bucket directory; keys of buckets wider than the cap fall back to a binary
    # search. Every path must give the same answers.
    import toolguard.taint as T

    pages = [page(i, 3000) for i in range(30)]

    def answers() -> list[object]:
        led = TaintLedger()
        for i, (text, _, _) in enumerate(pages):
            led.add_output(text, call_id=f"c{i}", tool="browse", trusted=False)
        out: list[object] = []
        for text, email, marker in pages:
            out.append([m.to_dict() for m in led.origin(email)])
            out.append([m.to_dict() for m in led.scan([("/q", marker), ("/r", text[100:400])], labels=(), untrusted=True)])
        return out

    reference = answers()
    monkeypatch.setattr(T, "_DIR_MIN", dir_min)
    monkeypatch.setattr(T, "_DIR_CAP", cap)
    assert answers() == reference
    assert all(reference[0::2])  # every email found
