"""Benchmark of the taint ledger (toolguard.taint): ingest speed, lookup latency, memory.

Run: ``.venv/bin/python benchmarks/taint.py`` (about 30-60 s). Prints one table.

* ingest: MB/s of realistic mixed text (English-like words with some ids, emails, URLs,
  numbers and non-ASCII punctuation, generated deterministically from a seeded random), added
  as tool outputs of 16 KB and of 1 MB: four untrusted pages for one private document.
* lookup: ``scan()`` of a 1 KB argument (half with a planted 60-character fragment of an
  ingested text, half clean), and ``origin()`` of an email, at ledger sizes 10 KB, 1 MB and
  10 MB; median and p99 over many repetitions (the machine is shared and noisy).
* memory: ``memory_bytes()`` per byte ingested at 10 MB, and the same measured with
  ``tracemalloc`` (bytes still allocated after ingest).
* short texts (the fixed cost paid on every tool call): ``scan()`` of a 100-character argument
  at each ledger size, and adding a 4-to-100-character tool output or user message to a 1 MB
  session.

Times are wall clock and CPU (thread) time: on a loaded machine the wall clock includes the
time spent waiting for a core. The footer says whether the ledger's C core was used; run with
``TOOLGUARD_NO_ACCEL=1`` to measure the numpy fallback.
"""

from __future__ import annotations

import gc
import itertools
import os
import random
import statistics
import string
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolguard.taint import _UNIT_CACHE, TaintLedger, accelerated

WORDS = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change", "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer", "found", "study", "still", "learn", "should", "america", "world", "information", "report", "account", "invoice", "customer", "meeting", "schedule", "quarterly", "revenue", "contract", "shipment"]


# A vocabulary of realistic size: the common words above, then 8000 made-up words, drawn with
# Zipf frequencies (rank r has weight 1/r), so common phrases repeat as they do in real text.
_VR = random.Random(12345)
_SYLLABLES = ["ka", "ro", "mi", "te", "sa", "lo", "ne", "ri", "ta", "po", "la", "ve", "di", "no", "ra", "se", "mo", "ti", "pa", "le", "gu", "fi", "be", "zo", "cha", "the", "sto", "an", "er", "in", "on", "or"]
VOCAB = list(dict.fromkeys(WORDS + ["".join(_VR.choice(_SYLLABLES) for _ in range(_VR.randint(2, 4))) for _ in range(8000)]))
_CUM = list(itertools.accumulate(1.0 / r for r in range(1, len(VOCAB) + 1)))


def gen_text(nbytes: int, seed: int) -> str:
    """Deterministic English-like text with ids, emails, URLs, numbers and some non-ASCII."""
    r = random.Random(seed)
    out: list[str] = []
    n = 0
    alnum = string.ascii_letters + string.digits
    while n < nbytes:
        words = r.choices(VOCAB, cum_weights=_CUM, k=r.randint(5, 18))
        sent = []
        for w in words:
            x = r.random()
            if x < 0.01:
                w = "".join(r.choice(alnum) for _ in range(r.randint(10, 32)))
            elif x < 0.014:
                w = f"{r.choice(VOCAB)}.{r.choice(VOCAB)}@{r.choice(VOCAB)}{r.randint(1, 99)}.example"
            elif x < 0.018:
                w = f"https://{r.choice(VOCAB)}.{r.choice(VOCAB)}.example/{r.choice(VOCAB)}?id={r.randint(1, 10**6)}"
            elif x < 0.04:
                w = str(r.randint(0, 10 ** r.randint(1, 9)))
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


def build(
    total: int, chunk: int = 16 * 1024, seed: int = 0, private_every: int = 5
) -> tuple[TaintLedger, list[str], float, float]:
    """A session of ``total`` bytes of tool output: untrusted pages, and every
    ``private_every``-th output a private document (trusted tool, labelled). Outputs are
    ``chunk`` bytes, smaller for small sessions so that every session has a private document."""
    ledger = TaintLedger()  # the default budget (32 MB): no eviction up to 10 MB
    chunk = min(chunk, max(1024, total // (2 * private_every)))
    texts = []
    made = 0
    i = 0
    while made < total:
        texts.append(gen_text(min(chunk, total - made), seed * 100_000 + i))
        made += len(texts[-1])
        i += 1
    gc.collect()
    w0, c0 = time.perf_counter(), time.thread_time()
    for j, t in enumerate(texts):
        if private_every and j % private_every == private_every - 1:
            ledger.add_output(t, call_id=f"c{j}", tool="read_doc", trusted=True, labels=("private",))
        else:
            ledger.add_output(t, call_id=f"c{j}", tool="browse", trusted=False)
    return ledger, texts, time.perf_counter() - w0, time.thread_time() - c0


def timed(f: Callable[[], object]) -> tuple[float, float, object]:
    w0, c0 = time.perf_counter(), time.thread_time()
    r = f()
    return time.perf_counter() - w0, time.thread_time() - c0, r


def make_args(texts: list[str], seed: int) -> tuple[list[str], list[str]]:
    """16 clean 1 KB arguments, and the same with a 60-character fragment of the session planted."""
    r = random.Random(seed)
    clean = [gen_text(1024, 10_000_000 + seed * 1000 + i)[:1024] for i in range(16)]
    planted = []
    for i in range(16):
        src = r.choice(texts)
        a = r.randrange(0, max(1, len(src) - 60))
        cut = r.randrange(0, len(clean[i]) - 60)
        planted.append(clean[i][:cut] + src[a : a + 60] + clean[i][cut + 60 :])
    return clean, planted


def make_short_args(texts: list[str], seed: int) -> list[str]:
    """16 arguments of 100 characters, every other one with a 60-character fragment of the
    session in it."""
    r = random.Random(seed)
    out = []
    for i in range(16):
        arg = gen_text(200, 20_000_000 + seed * 1000 + i)[:100]
        if i % 2:
            src = r.choice(texts)
            a = r.randrange(0, max(1, len(src) - 60))
            arg = arg[:20] + src[a : a + 60] + arg[80:]
        out.append(arg)
    return out


def short_outputs(seed: int) -> list[str]:
    """64 short tool outputs and messages, 4 to 100 characters ("ok", "sent", a line with an
    id or an email, a sentence)."""
    r = random.Random(seed)
    fixed = ["ok", "sent", "done", "true", "[]", "Message sent.", "status: 200", "3 results"]
    out = []
    for i in range(64):
        if i % 4 == 0:
            out.append(fixed[(i // 4) % len(fixed)])
        else:
            n = r.randint(4, 100)
            out.append(gen_text(n + 40, 30_000_000 + seed * 1000 + i)[:n])
    return out


def us(x: float) -> str:
    return f"{x * 1e6:6.1f}"


def main() -> None:
    t_start = time.perf_counter()
    rows: list[tuple[str, str]] = []

    # ingest throughput: untrusted pages (fingerprints + destination tokens) mixed with
    # private documents (fingerprints + secret tokens), as 16 KB and as 1 MB outputs; the
    # median of 3 runs of 4 MB each
    for label, chunk in (("16 KB", 16 * 1024), ("1 MB", 1024 * 1024)):
        rates = []
        for rep in range(3):
            _, texts, wall, cpu = build(4 * 1024 * 1024, chunk=chunk, seed=10 + rep)
            nb = sum(len(t.encode()) for t in texts)
            rates.append((nb / wall / 1e6, nb / cpu / 1e6))
        rows.append((f"ingest, {label} outputs (wall / CPU, median of 3)", f"{statistics.median(r[0] for r in rates):6.1f} / {statistics.median(r[1] for r in rates):6.1f} MB/s"))

    # memory per byte at 10 MB: the estimate, and what tracemalloc sees
    gc.collect()
    _UNIT_CACHE.clear()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    led_tm, texts_tm, _, _ = build(10 * 1024 * 1024, seed=4)
    nb_tm = sum(len(t.encode()) for t in texts_tm)
    del texts_tm
    _UNIT_CACHE.clear()  # shared by all ledgers, bounded (2048 entries): not the ledger's
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rows.append(("memory_bytes() per byte ingested (10 MB)", f"{led_tm.memory_bytes() / nb_tm:6.3f}"))
    rows.append(("tracemalloc bytes per byte ingested (10 MB)", f"{(after - before) / nb_tm:6.3f}"))
    del led_tm
    gc.collect()

    # lookup latency at three ledger sizes, interleaved so that the noise of a shared machine
    # falls on all three alike
    sizes = (("10 KB", 10 * 1024), ("1 MB", 1024 * 1024), ("10 MB", 10 * 1024 * 1024))
    ledgers = {}
    short_src = []
    for label, size in sizes:
        ledger, texts, _, _ = build(size, seed=5 + size % 7)
        ledgers[label] = (ledger, *make_args(texts, size % 1000))
        short_src.append((label, texts))
    shorts = {label: make_short_args(texts_l, 7) for label, texts_l in short_src}
    res: dict[str, dict[str, list[float]]] = {
        label: {"clean": [], "planted": [], "clean_cpu": [], "planted_cpu": [], "origin": [], "origin_cpu": [], "short": [], "short_cpu": []} for label, _ in sizes
    }
    found = dict.fromkeys(ledgers, 0)
    for ledger, clean, planted in ledgers.values():  # warm-up
        for a in clean[:4] + planted[:4]:
            ledger.scan([("/body", a)])
    reps = 1000
    for i in range(reps):
        for label, (ledger, clean_args, planted_args) in ledgers.items():
            r = res[label]
            clean, planted = clean_args[i % 16], planted_args[i % 16]
            w, c, _ = timed(lambda: ledger.scan([("/body", clean)]))  # noqa: B023 - called at once
            r["clean"].append(w)
            r["clean_cpu"].append(c)
            w, c, m = timed(lambda: ledger.scan([("/body", planted)]))  # noqa: B023
            r["planted"].append(w)
            r["planted_cpu"].append(c)
            found[label] += bool(m)
            w, c, _ = timed(lambda: ledger.origin("someone.else@example.org", forms=("example.org",)))  # noqa: B023
            r["origin"].append(w)
            r["origin_cpu"].append(c)
            short = shorts[label][i % 16]
            w, c, _ = timed(lambda: ledger.scan([("/body", short)]))  # noqa: B023
            r["short"].append(w)
            r["short_cpu"].append(c)
    med: dict[str, tuple[float, float]] = {}
    for label, _ in sizes:
        r = res[label]
        both, both_cpu = r["clean"] + r["planted"], r["clean_cpu"] + r["planted_cpu"]
        med[label] = (statistics.median(both), statistics.median(both_cpu))
        rows.append((f"scan 1 KB arg, ledger {label}: median / p99 wall", f"{us(med[label][0])} / {us(pct(both, 0.99))} us"))
        rows.append((f"  median CPU clean / planted ({found[label]}/{reps} planted found)", f"{us(statistics.median(r['clean_cpu']))} / {us(statistics.median(r['planted_cpu']))} us"))
        rows.append(("  origin(email) median / p99 wall, median CPU", f"{us(statistics.median(r['origin']))} / {us(pct(r['origin'], 0.99))} / {us(statistics.median(r['origin_cpu']))} us"))
        rows.append(("  scan 100-char arg: median / p99 wall, median CPU", f"{us(statistics.median(r['short']))} / {us(pct(r['short'], 0.99))} / {us(statistics.median(r['short_cpu']))} us"))
    rows.append(("lookup ratio 10 MB / 10 KB (median wall / CPU)", f"{med['10 MB'][0] / med['10 KB'][0]:6.2f} / {med['10 MB'][1] / med['10 KB'][1]:6.2f}"))

    # short texts, the ledger's fixed cost on every tool call: a tool output or a message of 4
    # to 100 characters added to a 1 MB session (median over 64 texts, 6400 additions each)
    for label, add in (
        ("untrusted output", lambda led, t, j: led.add_output(t, call_id=f"s{j}", tool="browse", trusted=False)),
        ("trusted output", lambda led, t, j: led.add_output(t, call_id=f"s{j}", tool="send", trusted=True)),
        ("private output", lambda led, t, j: led.add_output(t, call_id=f"s{j}", tool="read_doc", trusted=True, labels=("private",))),
        ("user message", lambda led, t, j: led.add_trusted_text(t, origin="user", ref=f"user:{j}")),
    ):
        led_s, _, _, _ = build(1024 * 1024, seed=8)
        outs = short_outputs(3)
        walls, cpus = [], []
        for j in range(6400):
            t = outs[j % 64]
            w, c, _ = timed(lambda: add(led_s, t, j))  # noqa: B023
            walls.append(w)
            cpus.append(c)
        rows.append((f"add {label}, 4-100 chars: median / p99 wall, median CPU", f"{us(statistics.median(walls))} / {us(pct(walls, 0.99))} / {us(statistics.median(cpus))} us"))

    width = max(len(a) for a, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 26}")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n(total {time.perf_counter() - t_start:.1f} s; python {sys.version.split()[0]}; numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; CPU = thread time, which excludes waiting for a core)"
    )
    if accelerated():
        print("taint core: C (toolguard._taintc); TOOLGUARD_NO_ACCEL=1 measures the numpy fallback")
    else:
        print("taint core: numpy fallback (toolguard._taintc not built, or TOOLGUARD_NO_ACCEL set)")


if __name__ == "__main__":
    main()
