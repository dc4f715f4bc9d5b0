"""Several app nodes on one PostgreSQL database, through gunicorn as production runs it: each node
its own copy of the project, instance directory and port. Mixed load across a database restart,
a failover to a promoted standby, a node killed mid-writes, a node starting while others serve.

No 500 ever; while the database is away, writes answer 503 and reads go on from memory; no
acknowledged write is lost; every node agrees with a brute-force oracle once the load stops; a
write on one node is seen by the others within a second. Needs PostgreSQL (pg_cluster_factory).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from node_load import (
    PacedReader,
    Reader,
    Writer,
    first_success_after,
    join_all,
    run_all,
    statuses,
    writers_of,
)
from node_support import (
    PROPAGATION_LIMIT_S,
    Node,
    assert_history_holds,
    assert_logs_clean,
    assert_nodes_agree_with_oracle,
    fixed_points,
    generate_points,
    measure_propagation,
    patch,
    percentile,
    seed_database,
    start_nodes,
    stop_nodes,
)
from pg_server import dbname_of
from server_support import Client

LOAD_S = 60.0  # the words: three nodes, one database, 60 s of mixed load
RESTART_AT_S = 25.0  # into the load, the database stops ...
DOWN_FOR_S = 3.0  # ... and is started again this much later
HOT_POINTS = 30  # writers of every node share these, so some race and get 412
PROPAGATION_WRITES = 50
RECOVERY_LIMIT_S = 10.0  # the database back (or the standby promoted) -> a write succeeds again


@pytest.fixture(scope="module")
def points_file(tmp_path_factory):
    return generate_points(tmp_path_factory.mktemp("nodes") / "points.geojson", 2_000)


def test_three_nodes_one_database_sixty_seconds_of_mixed_load_across_a_database_restart(
    pg_cluster_factory, points_file, tmp_path
):
    cluster = pg_cluster_factory()
    cluster.create_template()
    url = cluster.new_database()
    token = seed_database(url, points_file, tmp_path / "seed")
    with psycopg.connect(url) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM points ORDER BY id")]
    hot = random.Random(1).sample(ids, HOT_POINTS)
    nodes = [Node(f"node{i}", tmp_path, url) for i in range(3)]
    try:
        start_nodes(nodes)
        stop = threading.Event()
        loaders = []
        for i, node in enumerate(nodes):
            loaders.append(Reader(f"r{i}", node.name, node.port, stop, 100 + i))
            loaders.append(Writer(f"w{i}", node.name, node.port, stop, 200 + i, token, hot))
        began = time.monotonic()
        run_all(loaders)
        stop.wait(RESTART_AT_S)
        down_at = time.monotonic()
        cluster.stop("fast")
        stopped_at = time.monotonic()
        stop.wait(DOWN_FOR_S)
        cluster.start_again()
        up_at = time.monotonic()
        stop.wait(max(0.0, began + LOAD_S - time.monotonic()))
        stop.set()
        answers = join_all(loaders)
        agreed_in = assert_nodes_agree_with_oracle(url, nodes, random.Random(7), 30)
        targets = fixed_points(url, PROPAGATION_WRITES, set(hot))
        delays = measure_propagation(nodes, token, targets)
    finally:
        stop_nodes(nodes)

    counts = statuses(answers)
    unexpected = {key: n for key, n in counts.items() if key[1] not in {200, 304, 412, 503, 429}}
    assert not unexpected, f"{unexpected}\n{nodes[0].log_text()[-3000:]}"
    reads_while_down = [a for a in answers if a.kind in ("nearest", "bbox") and stopped_at < a.sent < up_at]
    assert reads_while_down, "no read was sent while the database was down"
    assert all(a.status == 200 and a.as_of for a in reads_while_down), Counter(
        (a.status, a.as_of) for a in reads_while_down
    )
    refusals = [a for a in answers if a.status == 503]
    assert refusals, "the database restart was never felt"
    assert all(a.kind in ("read", "patch") for a in refusals), "a read from memory answered 503"
    recovered = {}
    for node in nodes:
        writes = [a for a in answers if a.node == node.name and a.kind == "patch" and a.status == 200]
        after = [a.answered - up_at for a in writes if a.sent > up_at]
        assert after, f"{node.name} never wrote again after the restart"
        recovered[node.name] = min(after)
        assert recovered[node.name] < RECOVERY_LIMIT_S
    acknowledged = [write for loader in loaders for write in loader.tally.acknowledged]
    refused = [tag for loader in loaders for tag in loader.tally.refused]
    assert acknowledged and refused, "the writers never raced"
    assert_history_holds(url, acknowledged, refused)
    assert_logs_clean(nodes)
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    print(
        f"\nnodes: {len(answers)} answers in {LOAD_S:.0f} s, {dict(sorted(counts.items(), key=str))};"
        f" {len(acknowledged)} writes acknowledged, {len(refused)} answered 412, {len(refusals)} 503s;"
        f" database down {up_at - down_at:.1f} s (stop took {stopped_at - down_at:.1f} s),"
        f" {len(reads_while_down)} reads meanwhile all 200 with X-Data-As-Of;"
        f" first write after the restart: {', '.join(f'{k} {v:.2f} s' for k, v in recovered.items())};"
        f" every node agreed with the oracle (90 lookups, {agreed_in * 1000:.0f} ms after the load);"
        f" propagation p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms"
    )
    assert p99 < PROPAGATION_LIMIT_S, f"propagation p99 {p99:.3f} s"


def test_failover_to_a_promoted_standby_loses_no_acknowledged_write(
    pg_cluster_factory, points_file, tmp_path
):
    primary = pg_cluster_factory()
    primary.create_template()
    url = primary.new_database()
    token = seed_database(url, points_file, tmp_path / "seed")
    standby = primary.make_standby(tmp_path / "standby")
    # libpq tries the hosts in order and keeps the one that takes writes
    both = f"postgresql://locator@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/{dbname_of(url)}"
    both += "?target_session_attrs=read-write"
    with psycopg.connect(url) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM points ORDER BY id LIMIT 200")]
    nodes = [Node(f"node{i}", tmp_path, both) for i in range(2)]
    try:
        start_nodes(nodes)
        stop = threading.Event()
        writers = writers_of(nodes, token, ids, 2, stop)
        run_all(writers)
        stop.wait(3.0)
        stopping_at = time.monotonic()
        primary.stop(mode="fast")  # a planned switchover: every committed write has been sent
        stopped_at = time.monotonic()
        standby.promote()
        promoted_at = time.monotonic()
        deadline = promoted_at + RECOVERY_LIMIT_S
        while time.monotonic() < deadline:  # the writers' own answers say when each node is back
            answers = [a for writer in writers for a in list(writer.tally.answers)]
            if all(first_success_after(answers, node.name, promoted_at) for node in nodes):
                break
            stop.wait(0.1)
        stop.wait(1.5)  # and write on a while after
        stop.set()
        answers = join_all(writers)
    finally:
        stop_nodes(nodes)

    counts = statuses(answers)
    assert set(counts) <= {("read", 200), ("read", 503), ("patch", 200), ("patch", 503)}, counts
    refusals = [a for a in answers if a.status == 503]
    assert all(stopping_at <= a.answered for a in refusals), "a 503 before the primary stopped"
    back = {node.name: first_success_after(answers, node.name, promoted_at) for node in nodes}
    assert all(back.values()), f"writes never succeeded again: {back}"
    last_refusal = max((a.answered for a in refusals), default=stopping_at)
    acknowledged = [write for writer in writers for write in writer.tally.acknowledged]
    assert_history_holds(standby.url(dbname_of(url)), acknowledged)
    assert_logs_clean(nodes)
    before = sum(1 for a in answers if a.kind == "patch" and a.status == 200 and a.answered < stopping_at)
    print(
        f"\nfailover: {len(acknowledged)} writes acknowledged ({before} before the switchover), all on the"
        f" new primary; {len(refusals)} 503s, the last {last_refusal - stopping_at:.2f} s after the stop;"
        f" primary stopped in {stopped_at - stopping_at:.2f} s, standby promoted in"
        f" {promoted_at - stopped_at:.2f} s; first successful write after the stop began:"
        f" {', '.join(f'{k} {v - stopping_at:.2f} s' for k, v in back.items())}"
        f" ({', '.join(f'{v - promoted_at:.2f}' for v in back.values())} s after the promotion)"
    )
    assert before and all(v - promoted_at < RECOVERY_LIMIT_S for v in back.values())
    assert last_refusal < promoted_at + RECOVERY_LIMIT_S, "503s went on after the gap"


BIG = 10_000  # points a starting node reads and indexes
READ_EVERY_S = 0.01  # each node's reader: 100 lookups a second, well below what a node serves
WINDOW_S = 2.0  # p99 per window before the start, for the report
BASELINE_S = 6.0
# A killed node's sessions end with its sockets, and the write lock with them: the next write on
# another node does not wait. Held, it would wait lock_timeout (5 s) and answer 503. Half that,
# as the shared 2-core machine has taken 1.2 s for a GET and a PATCH under the writers' load.
LOCK_FREED_WITHIN_S = 2.5


@dataclass
class Fleet:
    """Three nodes on one database of BIG points (the session's server), kept for the module."""

    url: str
    token: str
    nodes: list[Node]


@pytest.fixture(scope="module")
def fleet(pg_cluster, tmp_path_factory) -> Iterator[Fleet]:
    base = tmp_path_factory.mktemp("fleet")
    url = pg_cluster.new_database()
    token = seed_database(url, generate_points(base / "points.geojson", BIG, seed=6), base / "seed")
    nodes = [Node(f"node{i}", base, url) for i in range(3)]
    try:
        start_nodes(nodes)
        yield Fleet(url, token, nodes)
    finally:
        stop_nodes(nodes)
        pg_cluster.drop_database(dbname_of(url))


@pytest.fixture
def running(fleet) -> Fleet:
    """The fleet with every node up (a test before may have killed one)."""
    start_nodes([node for node in fleet.nodes if not node.running()])
    return fleet


def test_a_node_killed_mid_writes_leaves_nothing_half_written_and_no_lock_held(running):
    url, token, nodes = running.url, running.token, running.nodes
    with psycopg.connect(url) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM points ORDER BY id LIMIT 240")]
    spare, ids = ids[-10:], ids[:-10]
    stop = threading.Event()
    writers = writers_of(nodes, token, ids, 2, stop)
    run_all(writers)
    try:
        stop.wait(3.0)
        killed_at = time.monotonic()
        nodes[0].server.kill()
        killed = time.monotonic() - killed_at
        survivor = Client(nodes[1].port)
        try:
            code, _ = patch(survivor, token, spare[0], "full", "after the kill")
        finally:
            survivor.close()
        next_write = time.monotonic() - killed_at
        assert code == 200
        stop.wait(2.0)
    finally:
        stop.set()
        answers = join_all(writers)
    with psycopg.connect(url, autocommit=True) as db:
        idle = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]
        locks = db.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]

    survivors = [a for a in answers if a.node != nodes[0].name]
    assert {a.status for a in survivors} == {200}, Counter(a.status for a in survivors)
    carried_on = [a for a in survivors if a.kind == "patch" and a.sent > killed_at]
    assert len(carried_on) >= 10, "the other nodes hardly wrote after the kill"
    victims = [a for a in answers if a.node == nodes[0].name]
    assert not [a for a in victims if a.status not in (200, None)], Counter(a.status for a in victims)
    acknowledged = [write for writer in writers for write in writer.tally.acknowledged]
    cut_off = [tag for writer in writers for tag in writer.tally.cut_off]
    assert_history_holds(url, acknowledged)  # with every point's version == its writes in history
    assert (idle, locks) == (0, 0), "a transaction or the write lock outlived the killed node"
    assert_logs_clean(nodes)
    print(
        f"\nnode kill: node0 (master and workers) killed in {killed:.2f} s mid-burst, {len(cut_off)} PATCHes"
        f" cut off; a write on node1 succeeded {next_write * 1000:.0f} ms after the kill;"
        f" {len(carried_on)} writes acknowledged on the other nodes after it;"
        f" {len(acknowledged)} in all, all kept"
    )
    assert next_write - killed < LOCK_FREED_WITHIN_S, f"the next write waited {next_write:.2f} s"


def window_p99s(latencies: list[tuple[float, float]], start: float, end: float) -> list[float]:
    """p99 of the latencies (sent, seconds) in each WINDOW_S from start to end."""
    found = []
    edge = start
    while edge + WINDOW_S <= end + 1e-9:
        inside = [seconds for sent, seconds in latencies if edge <= sent < edge + WINDOW_S]
        if inside:
            found.append(percentile(inside, 0.99))
        edge += WINDOW_S
    return found


def _change_counter(db) -> int:
    return db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]


def _lock_waits(url: str, stop: threading.Event, seen: list[int]) -> None:
    """Every ~20 ms until stop: how many sessions of the database wait for a lock."""
    with psycopg.connect(url, autocommit=True) as db:
        while not stop.is_set():
            seen.append(
                db.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ).fetchone()[0]
            )
            stop.wait(0.02)


def test_a_node_starting_at_ten_thousand_points_does_not_slow_the_others(running):
    """A starting node only reads: it writes nothing the others would have to follow (the change
    counter stays), makes no session wait for a lock, and the others answer every lookup meanwhile.

    Nodes are separate machines; here three share two cores, so the others' p99 during the start
    mostly measures the CPU the start takes from them. It is printed, side by side with the p99
    just before, for docs/benchmarks.md, and not asserted: a timing on a shared machine is a
    benchmark's figure, never a test's verdict (a 2x bound here failed CI once at 23 vs 10 ms)."""
    url, (first, second, restarted) = running.url, running.nodes
    restarted.server.stop()  # it starts again below, while the other two serve
    stop, watching = threading.Event(), threading.Event()
    readers = [
        PacedReader(f"p{i}", node.name, node.port, stop, 500 + i, READ_EVERY_S)
        for i, node in enumerate((first, second))
    ]
    waits: list[int] = []
    watcher = threading.Thread(target=_lock_waits, args=(url, watching, waits), daemon=True)
    run_all(readers)
    try:
        stop.wait(1.0)  # connections open, caches warm
        measured_from = time.monotonic()
        stop.wait(BASELINE_S)
        with psycopg.connect(url) as db:
            counter_before = _change_counter(db)
        watcher.start()
        starting_at = time.monotonic()
        restarted.start()
        ready_at = time.monotonic()
    finally:
        watching.set()
        stop.set()
        answers = join_all(readers)
        watcher.join(10)
    with psycopg.connect(url) as db:
        count = db.execute("SELECT count(*) FROM points").fetchone()[0]
        counter_after = _change_counter(db)

    assert count >= BIG and {a.status for a in answers} == {200}, statuses(answers)
    assert counter_after == counter_before, "the starting node wrote something the others follow"
    assert len(waits) >= 20 and max(waits) == 0, f"sessions waited for a lock during the start: {max(waits)}"
    latencies = [(a.sent, a.answered - a.sent) for a in answers if a.sent >= measured_from]
    baseline = window_p99s(latencies, measured_from, starting_at)
    during = [seconds for sent, seconds in latencies if starting_at <= sent < ready_at]
    assert len(during) >= 200, f"only {len(during)} lookups while the node started"
    before_p99 = percentile([seconds for sent, seconds in latencies if sent < starting_at], 0.99)
    during_p99 = percentile(during, 0.99)
    print(
        f"\nnode start: node2 up in {ready_at - starting_at:.1f} s at {count} points; read p99 on the other"
        f" two before: {before_p99 * 1000:.1f} ms (windows of {WINDOW_S:.0f} s:"
        f" {', '.join(f'{p * 1000:.1f}' for p in baseline)}), during the start: {during_p99 * 1000:.1f} ms"
        f" over {len(during)} lookups (p50 {percentile(during, 0.5) * 1000:.1f} ms); ratio"
        f" {during_p99 / before_p99:.2f}"
    )
