"""The counter store contract: atomic reservations over sliding windows, memory and SQLite."""

from __future__ import annotations

import math
import threading

import pytest
from eg_support import BACKENDS, open_stores

from toolguard.egress import (
    DEFAULT_BUCKETS,
    Charge,
    CounterStore,
    LeasedCounterStore,
    MemoryCounterStore,
    SqlCounterStore,
)
from toolguard.stores.sql import Database

HOUR = 3600.0
T0 = 1_700_000_000.0


@pytest.fixture(params=[*BACKENDS, "leased-memory", "leased-sqlite"])
def store(request, tmp_path) -> CounterStore:
    kind = request.param
    if kind.startswith("leased-"):
        return LeasedCounterStore(open_stores(kind[len("leased-"):], request, tmp_path)[0])
    return open_stores(kind, request, tmp_path)[0]


def calls(limit: int, key: str = "alice/all/calls/3600", cost: int = 1) -> Charge:
    return Charge(key, limit, HOUR, cost, None, "test", "calls")


def dest(limit: int, member: str, key: str = "alice/all/destinations/3600") -> Charge:
    return Charge(key, limit, HOUR, 1, member, "test", "distinct_destinations")


def test_store_matches_protocol(store):
    assert isinstance(store, CounterStore)


def test_reserve_counts_until_the_limit_then_refuses(store):
    for i in range(3):
        res = store.reserve([calls(3)], T0 + i)
        assert res.ok and res.usage["alice/all/calls/3600"] == i + 1
    res = store.reserve([calls(3)], T0 + 4)
    assert not res.ok
    [b] = res.breaches
    assert b.used == 3 and b.charge.limit == 3
    assert b.to_dict()["used"] == 3
    assert store.peek([calls(3)], T0 + 5).usage["alice/all/calls/3600"] == 3


def test_a_refused_reservation_counts_nothing_on_any_series(store):
    bytes_key = "alice/all/egress_bytes/3600"
    assert store.reserve([calls(10), calls(100, bytes_key, 90)], T0).ok
    res = store.reserve([calls(10), calls(100, bytes_key, 20)], T0 + 1)
    assert not res.ok and [b.charge.key for b in res.breaches] == [bytes_key]
    usage = store.peek([calls(10), calls(100, bytes_key, 0)], T0 + 2).usage
    assert usage == {"alice/all/calls/3600": 1, bytes_key: 90}


def test_a_single_charge_larger_than_its_budget_never_fits(store):
    res = store.reserve([calls(100, "k/bytes/3600", 101)], T0)
    assert not res.ok and res.breaches[0].used == 0


def test_zero_budget_refuses_everything_and_zero_cost_always_fits(store):
    assert not store.reserve([calls(0)], T0).ok
    assert store.reserve([calls(0, cost=0)], T0).ok


def test_force_counts_and_still_reports(store):
    assert store.reserve([calls(1)], T0).ok
    res = store.reserve([calls(1)], T0 + 1, force=True)
    assert res.ok and len(res.breaches) == 1 and res.usage["alice/all/calls/3600"] == 2


def test_window_never_forgets_early_and_forgets_after_one_extra_bucket(store):
    width = HOUR / DEFAULT_BUCKETS
    assert store.reserve([calls(1)], T0).ok
    # Anything inside the window [T0, T0 + per) is still counted...
    assert not store.reserve([calls(1)], T0 + HOUR - 0.001).ok
    # ...and the event is gone once a full window plus the bucket granularity has passed.
    assert store.reserve([calls(1)], T0 + HOUR + width + 0.001).ok


def test_sliding_not_fixed_window(store):
    width = HOUR / DEFAULT_BUCKETS
    assert store.reserve([calls(2)], T0).ok
    assert store.reserve([calls(2)], T0 + HOUR / 2).ok
    # After the first event left the window only the second one counts.
    assert store.reserve([calls(2)], T0 + HOUR + width + 1).ok
    assert not store.reserve([calls(2)], T0 + HOUR + width + 2).ok


@pytest.mark.parametrize("back", [1.0, 600.0, 10 * HOUR, 1e6], ids=["1s", "10m", "10h", "11d"])
def test_clock_going_backwards_never_resets_a_window(store, back):
    assert store.reserve([calls(2)], T0).ok
    assert store.reserve([calls(2)], T0 - back).ok
    assert not store.reserve([calls(2)], T0 - back).ok
    assert store.peek([calls(2)], T0 - back).usage["alice/all/calls/3600"] == 2
    # The window moves on from the latest time seen, not from the lagging clock.
    assert store.reserve([calls(2)], T0 + HOUR + HOUR / DEFAULT_BUCKETS + 1).ok


def test_distinct_members_count_once_per_window(store):
    assert store.reserve([dest(2, "a@x.example")], T0).ok
    assert store.reserve([dest(2, "a@x.example")], T0 + 1).ok
    assert store.reserve([dest(2, "b@x.example")], T0 + 2).ok
    res = store.reserve([dest(2, "c@x.example")], T0 + 3)
    assert not res.ok and res.breaches[0].used == 2
    assert store.reserve([dest(2, "b@x.example")], T0 + 4).ok


def test_distinct_members_of_one_call_add_up(store):
    res = store.reserve([dest(2, "a"), dest(2, "b"), dest(2, "c")], T0)
    assert not res.ok
    assert store.peek([Charge("alice/all/destinations/3600", 2, HOUR, 0, "")], T0).usage["alice/all/destinations/3600"] == 0


def test_a_member_is_exact_its_last_sighting_keeps_it_in_the_window(store):
    assert store.reserve([dest(1, "a")], T0).ok
    assert store.reserve([dest(1, "a")], T0 + HOUR - 1).ok  # refreshes the sighting
    assert not store.reserve([dest(1, "b")], T0 + HOUR + 10).ok
    assert store.reserve([dest(1, "b")], T0 + 2 * HOUR).ok


def test_distinct_members_with_time_going_backwards(store):
    assert store.reserve([dest(1, "a")], T0).ok
    assert not store.reserve([dest(1, "b")], T0 - 5 * HOUR).ok


def test_peek_changes_nothing(store):
    for _ in range(3):
        assert store.peek([calls(1), dest(1, "a")], T0).ok
    assert store.reserve([calls(1)], T0).ok


def test_clear_forgets_a_prefix_only(store):
    store.reserve([calls(5, "alice/cutoff=r1/events/3600"), calls(5, "bob/cutoff=r1/events/3600")], T0)
    assert store.clear("alice/cutoff=") >= 1
    usage = store.peek([calls(5, "alice/cutoff=r1/events/3600"), calls(5, "bob/cutoff=r1/events/3600")], T0).usage
    assert usage == {"alice/cutoff=r1/events/3600": 0, "bob/cutoff=r1/events/3600": 1}


def test_prune_keeps_what_a_window_can_see(store):
    store.reserve([calls(5), dest(5, "a")], T0)
    store.prune(T0 + 10)
    assert store.peek([calls(5)], T0 + 10).usage["alice/all/calls/3600"] == 1
    store.prune(T0 + 3 * HOUR)
    assert store.peek([calls(5)], T0 + 3 * HOUR).usage["alice/all/calls/3600"] == 0


@pytest.mark.parametrize(
    ("charge", "now", "match"),
    [
        (Charge("k", 1, HOUR, -1), T0, "cost must be a non-negative int"),
        (Charge("k", 1, HOUR, True), T0, "cost must be a non-negative int"),  # type: ignore[arg-type]
        (Charge("k", 1, 0.0), T0, "per must be a positive number"),
        (Charge("k", 1, math.nan), T0, "per must be a positive number"),
        (Charge("k", -1, HOUR), T0, "limit must be a non-negative int"),
        (Charge("k", 1, HOUR), math.nan, "now must be a finite number"),
        (Charge("k", 1, HOUR), math.inf, "now must be a finite number"),
        (Charge("k", 1, HOUR), True, "now must be a finite number"),
    ],
    ids=["negative-cost", "bool-cost", "zero-window", "nan-window", "negative-limit", "nan-now", "inf-now", "bool-now"],
)
def test_bad_charges_are_refused_precisely(store, charge, now, match):
    with pytest.raises(ValueError, match=match):
        store.reserve([charge], now)


def _hammer(reserve, n_threads: int, tries: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)

    def worker(i: int) -> None:
        start.wait()
        for j in range(tries):
            ok = reserve(i, j)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_sixteen_threads_of_one_principal_never_overshoot(store):
    limit = 100
    byte_key = "alice/all/egress_bytes/3600"
    results = _hammer(lambda i, j: store.reserve([calls(limit), calls(10 * limit, byte_key, 7), dest(1000, f"d{i}")], T0 + j * 0.01).ok, 16, 25)
    assert results.count(True) == limit
    usage = store.peek([calls(limit), calls(10 * limit, byte_key, 0)], T0 + 1).usage
    assert usage == {"alice/all/calls/3600": limit, byte_key: 7 * limit}


def test_sixteen_threads_on_separate_connections_never_overshoot(tmp_path):
    # Each thread has its own Database object: as close to separate processes as one test gets.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    dbs = [Database(url) for _ in range(16)]
    stores = [SqlCounterStore(db) for db in dbs]
    try:
        results = _hammer(lambda i, j: stores[i].reserve([calls(40)], T0 + j).ok, 16, 6)
        assert results.count(True) == 40
        assert stores[0].peek([calls(40)], T0 + 10).usage["alice/all/calls/3600"] == 40
    finally:
        for db in dbs:
            db.close()


def test_sql_counts_survive_a_new_connection(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = Database(url)
    SqlCounterStore(first).reserve([calls(2), dest(5, "a")], T0)
    first.close()
    second = Database(url)
    try:
        again = SqlCounterStore(second)
        assert again.peek([calls(2)], T0 + 1).usage["alice/all/calls/3600"] == 1
        assert again.reserve([calls(2)], T0 + 1).ok
        assert not again.reserve([calls(2)], T0 + 2).ok
    finally:
        second.close()


# --------------------------------------------------------------------------------------
# Leases: batching on a shared store without under-counting

WIDTH = HOUR / DEFAULT_BUCKETS
ALIGNED = math.floor(T0 / WIDTH) * WIDTH  # the start of a bucket


def test_a_lease_is_counted_in_the_shared_store_before_it_is_spent():
    inner = MemoryCounterStore()
    leased = LeasedCounterStore(inner, share=0.1)
    assert leased.reserve([calls(100)], ALIGNED).ok
    assert inner.peek([calls(100)], ALIGNED).usage["alice/all/calls/3600"] == 11  # 1 spent + 10 leased
    assert leased.peek([calls(100)], ALIGNED).usage["alice/all/calls/3600"] == 1
    for i in range(10):  # spent from the lease: the shared store is not asked
        assert leased.reserve([calls(100)], ALIGNED + i).ok
    assert inner.peek([calls(100)], ALIGNED + 10).usage["alice/all/calls/3600"] == 11
    assert leased.reserve([calls(100)], ALIGNED + 11).ok  # the lease ran out: a new one
    assert inner.peek([calls(100)], ALIGNED + 11).usage["alice/all/calls/3600"] == 22


def test_a_lease_ends_with_its_bucket_and_its_rest_is_given_back():
    inner = MemoryCounterStore()
    leased = LeasedCounterStore(inner, share=0.1)
    assert leased.reserve([calls(100)], ALIGNED).ok
    assert leased.reserve([calls(100)], ALIGNED + WIDTH + 1).ok  # next bucket: new lease, old rest back
    assert inner.peek([calls(100)], ALIGNED + WIDTH + 1).usage["alice/all/calls/3600"] == 1 + 1 + 10
    leased.flush()
    assert inner.peek([calls(100)], ALIGNED + WIDTH + 2).usage["alice/all/calls/3600"] == 2


def test_units_spent_from_a_lease_are_remembered_a_full_window_after_they_were_spent():
    inner = MemoryCounterStore()
    leased = LeasedCounterStore(inner, share=0.5)
    assert leased.reserve([calls(3)], ALIGNED).ok  # 1 spent + a lease of 2, counted in this bucket
    spent_at = ALIGNED + WIDTH - 0.5  # the last moment the lease may be spent
    assert leased.reserve([calls(3)], spent_at).ok
    assert leased.reserve([calls(3)], spent_at).ok
    # One window after the last spending, all three are still counted...
    assert not leased.reserve([calls(3)], spent_at + HOUR - 0.1).ok
    assert inner.peek([calls(3)], spent_at + HOUR - 0.1).usage["alice/all/calls/3600"] == 3
    # ...and forgotten one bucket later.
    assert leased.reserve([calls(3)], spent_at + HOUR + WIDTH + 1).ok


def test_a_lease_that_does_not_fit_falls_back_to_the_exact_cost():
    inner = MemoryCounterStore()
    leased = LeasedCounterStore(inner, share=0.5)
    for _ in range(10):
        assert leased.reserve([calls(10)], ALIGNED).ok
    assert not leased.reserve([calls(10)], ALIGNED).ok
    assert inner.peek([calls(10)], ALIGNED).usage["alice/all/calls/3600"] == 10


def test_a_crash_leaves_the_lease_counted(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db = Database(url)
    leased = LeasedCounterStore(SqlCounterStore(db), share=0.1)
    assert leased.reserve([calls(100)], ALIGNED).ok
    db.close()  # the process dies: no flush, the rest of the lease is never given back
    db2 = Database(url)
    try:
        assert SqlCounterStore(db2).peek([calls(100)], ALIGNED).usage["alice/all/calls/3600"] == 11
    finally:
        db2.close()


def test_two_leasing_processes_on_one_database_never_overshoot(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    dbs = [Database(url) for _ in range(2)]
    stores = [LeasedCounterStore(SqlCounterStore(db), share=0.05) for db in dbs]
    try:
        results = _hammer(lambda i, j: stores[i % 2].reserve([calls(200)], ALIGNED + j * 0.01).ok, 16, 20)
        wins = results.count(True)
        # Never more than the limit; at most each process's unspent lease (5% of 200) short of it.
        assert 200 - 2 * 10 <= wins <= 200
        for s in stores:
            s.flush()
        assert SqlCounterStore(dbs[0]).peek([calls(200)], ALIGNED + 1).usage["alice/all/calls/3600"] == wins
    finally:
        for db in dbs:
            db.close()


def test_member_and_forced_charges_always_reach_the_shared_store():
    inner = MemoryCounterStore()
    leased = LeasedCounterStore(inner, share=0.5)
    assert leased.reserve([dest(1, "a")], T0).ok
    assert not leased.reserve([dest(1, "b")], T0).ok
    assert leased.reserve([calls(1)], T0, force=True).ok
    assert leased.reserve([calls(1)], T0, force=True).ok
    assert inner.peek([calls(1)], T0).usage["alice/all/calls/3600"] == 2


def test_lease_share_must_be_a_fraction():
    with pytest.raises(Exception, match="share must be"):
        LeasedCounterStore(MemoryCounterStore(), share=1.5)
