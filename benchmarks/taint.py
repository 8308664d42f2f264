"""Benchmark of the taint ledger (toolguard.taint): ingest speed, lookup latency, memory.

Run: ``.venv/bin/python benchmarks/taint.py`` (about 30-60 s). Prints one table.

* ingest: MB/s of realistic mixed text (English-like words with some ids, emails, URLs,
  numbers and non-ASCII punctuation, generated deterministically from a seeded random), added
  as 16 KB untrusted tool outputs, and as labelled (private) outputs.
* lookup: ``scan()`` of a 1 KB argument (half with a planted 60-character fragment of an
  ingested text, half clean), and ``origin()`` of an email, at ledger sizes 10 KB, 1 MB and
  10 MB; median and p99 over many repetitions (the machine is shared and noisy).
* memory: ``memory_bytes()`` per byte ingested at 10 MB, and the same measured with
  ``tracemalloc`` (bytes still allocated after ingest).
"""

from __future__ import annotations

import gc
import random
import statistics
import string
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolguard.taint import TaintLedger

WORDS = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change", "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer", "found", "study", "still", "learn", "should", "america", "world", "information", "report", "account", "invoice", "customer", "meeting", "schedule", "quarterly", "revenue", "contract", "shipment"]


def gen_text(nbytes: int, seed: int) -> str:
    """Deterministic English-like text with ids, emails, URLs, numbers and some non-ASCII."""
    r = random.Random(seed)
    out: list[str] = []
    n = 0
    alnum = string.ascii_letters + string.digits
    while n < nbytes:
        sent = []
        for _ in range(r.randint(5, 18)):
            x = r.random()
            if x < 0.01:
                w = "".join(r.choice(alnum) for _ in range(r.randint(10, 32)))
            elif x < 0.014:
                w = f"{r.choice(WORDS)}.{r.choice(WORDS)}@{r.choice(WORDS)}{r.randint(1, 99)}.example"
            elif x < 0.018:
                w = f"https://{r.choice(WORDS)}.{r.choice(WORDS)}.example/{r.choice(WORDS)}?id={r.randint(1, 10**6)}"
            elif x < 0.04:
                w = str(r.randint(0, 10 ** r.randint(1, 9)))
            else:
                w = WORDS[min(int(r.paretovariate(1.1)) - 1, len(WORDS) - 1)] if r.random() < 0.5 else r.choice(WORDS)
            if r.random() < 0.003:
                w += "\u2019s"
            sent.append(w)
        s = " ".join(sent).capitalize() + r.choice(".....?!") + (" " if r.random() < 0.9 else "\n\n")
        out.append(s)
        n += len(s)
    return "".join(out)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def build(total: int, chunk: int = 16 * 1024, seed: int = 0, labelled: bool = False) -> tuple[TaintLedger, list[str], float]:
    ledger = TaintLedger(max_bytes=1 << 34)
    texts = []
    made = 0
    i = 0
    while made < total:
        texts.append(gen_text(min(chunk, total - made), seed * 100_000 + i))
        made += len(texts[-1])
        i += 1
    gc.collect()
    t0 = time.perf_counter()
    for j, t in enumerate(texts):
        if labelled:
            ledger.add_output(t, call_id=f"c{j}", tool="read_doc", trusted=True, labels=("private",))
        else:
            ledger.add_output(t, call_id=f"c{j}", tool="browse", trusted=False)
    dt = time.perf_counter() - t0
    return ledger, texts, dt


def lookups(ledger: TaintLedger, texts: list[str], reps: int, seed: int) -> tuple[list[float], list[float], list[float], int]:
    r = random.Random(seed)
    clean_args = [gen_text(1024, 10_000_000 + seed * 1000 + i)[:1024] for i in range(16)]
    planted_args = []
    for i in range(16):
        src = r.choice(texts)
        a = r.randrange(0, max(1, len(src) - 60))
        frag = src[a : a + 60]
        base = clean_args[i]
        cut = r.randrange(0, len(base) - 60)
        planted_args.append(base[:cut] + frag + base[cut + 60 :])
    clean: list[float] = []
    planted: list[float] = []
    origin: list[float] = []
    found = 0
    # warm-up
    for a in clean_args[:4] + planted_args[:4]:
        ledger.scan([("/body", a)], labels=None, untrusted=True)
    for i in range(reps):
        a = clean_args[i % 16]
        t0 = time.perf_counter()
        ledger.scan([("/body", a)], labels=None, untrusted=True)
        clean.append(time.perf_counter() - t0)
        a = planted_args[i % 16]
        t0 = time.perf_counter()
        res = ledger.scan([("/body", a)], labels=None, untrusted=True)
        planted.append(time.perf_counter() - t0)
        found += bool(res)
        t0 = time.perf_counter()
        ledger.origin("someone.else@example.org", forms=("example.org",))
        origin.append(time.perf_counter() - t0)
    return clean, planted, origin, found


def main() -> None:
    t_start = time.perf_counter()
    rows: list[tuple[str, str]] = []

    # ingest throughput (untrusted: fingerprints + destination tokens; labelled: + secret tokens)
    ledger10, texts10, dt = build(10 * 1024 * 1024, seed=1)
    nbytes = sum(len(t.encode()) for t in texts10)
    rows.append(("ingest untrusted, 16 KB outputs", f"{nbytes / dt / 1e6:6.1f} MB/s"))
    _, _, dtl = build(4 * 1024 * 1024, seed=2, labelled=True)
    rows.append(("ingest private (labelled), 16 KB outputs", f"{4 * 1024 * 1024 / dtl / 1e6:6.1f} MB/s"))
    _, _, dtb = build(4 * 1024 * 1024, chunk=1024 * 1024, seed=3)
    rows.append(("ingest untrusted, 1 MB outputs", f"{4 * 1024 * 1024 / dtb / 1e6:6.1f} MB/s"))

    # memory per byte at 10 MB
    est = ledger10.memory_bytes()
    rows.append(("memory_bytes() per byte ingested (10 MB)", f"{est / nbytes:6.3f}"))
    del ledger10
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    led_tm, texts_tm, _ = build(4 * 1024 * 1024, seed=4)
    del texts_tm
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    nb_tm = 4 * 1024 * 1024
    rows.append(("tracemalloc bytes per byte ingested (4 MB)", f"{(after - before) / nb_tm:6.3f}"))
    del led_tm

    # lookup latency at three ledger sizes
    medians: dict[str, float] = {}
    for label, size in (("10 KB", 10 * 1024), ("1 MB", 1024 * 1024), ("10 MB", 10 * 1024 * 1024)):
        ledger, texts, _ = build(size, seed=5 + size % 7)
        clean, planted, origin, found = lookups(ledger, texts, reps=1500, seed=size % 1000)
        both = clean + planted
        medians[label] = statistics.median(both)
        rows.append(
            (
                f"scan 1 KB arg, ledger {label}: median / p99",
                f"{statistics.median(both) * 1e6:6.1f} / {pct(both, 0.99) * 1e6:6.1f} us",
            )
        )
        rows.append(
            (
                f"  clean / planted median ({found}/{len(planted)} planted found)",
                f"{statistics.median(clean) * 1e6:6.1f} / {statistics.median(planted) * 1e6:6.1f} us",
            )
        )
        rows.append((f"  origin(email) median / p99, ledger {label}", f"{statistics.median(origin) * 1e6:6.1f} / {pct(origin, 0.99) * 1e6:6.1f} us"))
        del ledger, texts
        gc.collect()
    rows.append(("lookup ratio 10 MB / 10 KB (median)", f"{medians['10 MB'] / medians['10 KB']:6.2f}"))

    width = max(len(a) for a, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 22}")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    print(f"\n(total {time.perf_counter() - t_start:.1f} s; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
