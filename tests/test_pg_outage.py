"""A PostgreSQL store across a database outage, in one process as a gunicorn worker runs it
(several threads writing, the change listener running): refused at once while the database is
away (StoreUnavailable), writing again soon after it is back, however long it was away.

psycopg_pool retries a failed connect after 1, 2, 4, 8 ... s without bound; when every retry
chain waited like that, a node answered 503 for seconds (after a minute's outage, up to a
minute) with the database long back. store/postgres.py RECONNECT_GIVE_UP_S ends each chain.
"""

from __future__ import annotations

import itertools
import threading
import time

from locator.store import StoreUnavailable, open_store

OUTAGE_S = 8.5  # the pool's retries (from the stop): ~1, 3, 7, 15 s; the database is back at ~9.5
BACK_WITHIN_S = 2.0  # from the database accepting connections to the first write committed
THREADS = 4  # as a worker's read and write threads, each with its own connection
PAUSE_S = 0.1  # between a thread's writes (after a refusal too): operators keep trying


def record(n: int) -> dict:
    return {
        "id": f"o{n}",
        "name": f"Outage {n}",
        "kind": "fixed",
        "status": "open",
        "lat": 50.45,
        "lon": 30.52,
    }


def test_writes_succeed_soon_after_a_long_outage(pg_cluster_factory, tmp_path):
    cluster = pg_cluster_factory()
    cluster.create_template()
    store = open_store(tmp_path / "node.db", url=cluster.new_database())
    stop = threading.Event()
    numbers = itertools.count()
    committed: list[float] = []
    unexpected: list[str] = []

    def write_on() -> None:
        while not stop.is_set():
            try:
                store.create(record(next(numbers)), by="test")
                committed.append(time.monotonic())
            except StoreUnavailable:
                pass
            except Exception as error:  # anything else fails the test
                unexpected.append(repr(error))
            stop.wait(PAUSE_S)

    threads = [threading.Thread(target=write_on, daemon=True) for _ in range(THREADS)]
    try:
        store.migrate()
        store.checkpoint_in_background(1.0)  # the change listener, as gunicorn's post_fork starts it
        for thread in threads:
            thread.start()
        stop.wait(1.0)
        assert committed, "nothing was written before the outage"
        cluster.stop("fast")
        stopped_at = time.monotonic()
        stop.wait(OUTAGE_S)
        cluster.start_again()
        back_at = time.monotonic()
        while not [when for when in committed if when > back_at]:
            assert time.monotonic() - back_at < 3 * OUTAGE_S, "writes never came back"
            stop.wait(PAUSE_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        stop.set()
        store.dispose()
    during = [when for when in committed if stopped_at < when < back_at]
    took = min(when for when in committed if when > back_at) - back_at
    print(
        f"\noutage: down {back_at - stopped_at:.1f} s, first write {took:.2f} s after the database was back"
    )
    assert not unexpected and not during, (unexpected[:5], len(during))
    assert took < BACK_WITHIN_S, f"the first write after the outage waited {took:.2f} s"
