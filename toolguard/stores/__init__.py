"""State stores. Each kind of state (approvals, counters, cut-off list, audit head) has a
protocol, an in-memory reference implementation and SQL implementations selected by URL
(``memory://``, ``sqlite:///path``, ``postgresql://...``). See :mod:`toolguard.stores.sql`."""
