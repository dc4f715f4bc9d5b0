"""The kept response bodies (locator/bodies.py): made once however many threads ask, brotli's
quick copy at once and the best one later, only for data that stays."""

from __future__ import annotations

import gzip
import threading
import time

import brotli

from locator.http.bodies import BR_QUALITY_KEPT_LONG, BR_QUALITY_QUICK, BodyCache, SharedCopies

RAW = b"".join(b'["p%05d",50.%05d,30.%05d,"open","fixed"],' % (i, i * 7, i * 13) for i in range(20_000))


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.02)


def test_a_body_is_made_once_however_many_threads_ask_for_it():
    cache = BodyCache()
    made = []
    started = threading.Event()

    def make() -> bytes:
        made.append(threading.get_ident())
        started.set()
        time.sleep(0.3)  # long enough for every other thread to ask meanwhile
        return b"the body"

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get_or_make("e1", make))) for _ in range(6)]
    threads[0].start()
    started.wait(5)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got == [b"the body"] * 6 and len(made) == 1


def test_brotli_goes_out_quick_at_once_and_best_once_made():
    cache = BodyCache(upgrade_after_s=0.05)
    first = cache.compressed("e1", RAW, "br", BR_QUALITY_KEPT_LONG)
    assert first == brotli.compress(RAW, quality=BR_QUALITY_QUICK)
    best = brotli.compress(RAW, quality=BR_QUALITY_KEPT_LONG)
    assert len(best) < len(first)
    wait_for(lambda: cache.compressed("e1", RAW, "br", BR_QUALITY_KEPT_LONG) == best)
    assert "e1|br|quick" not in cache.items  # the quick copy is let go


def test_newer_data_cancels_the_best_copy_of_the_old():
    cache = BodyCache(upgrade_after_s=0.4)
    newer = RAW.replace(b"open", b"full")
    cache.compressed("old", RAW, "br", BR_QUALITY_KEPT_LONG)
    cache.compressed("new", newer, "br", BR_QUALITY_KEPT_LONG)  # a write came within 0.4 s
    best_new = brotli.compress(newer, quality=BR_QUALITY_KEPT_LONG)
    wait_for(lambda: cache.items.get("new|br") == best_new)
    time.sleep(0.2)
    assert "old|br" not in cache.items
    assert cache.compressed("old", RAW, "br", BR_QUALITY_KEPT_LONG) == brotli.compress(
        RAW, quality=BR_QUALITY_QUICK
    )


def test_gzip_and_quick_false_are_made_at_once_at_their_quality():
    cache = BodyCache(upgrade_after_s=0.01)
    assert gzip.decompress(cache.compressed("e1", RAW, "gzip", BR_QUALITY_KEPT_LONG)) == RAW
    warm = cache.compressed("e2", RAW, "br", BR_QUALITY_KEPT_LONG, quick=False)
    assert warm == brotli.compress(RAW, quality=BR_QUALITY_KEPT_LONG)
    time.sleep(0.1)
    assert sorted(cache.items) == ["e1|gzip", "e2|br"]  # no quick copy, no thread


def test_the_cache_keeps_only_the_newest_bodies():
    cache = BodyCache(size=3)
    for i in range(7):
        cache.get_or_make(f"e{i}", lambda i=i: b"%d" % i)
    assert list(cache.items) == ["e4", "e5", "e6"]


def test_workers_share_each_copy_through_files(tmp_path):
    """Two caches on one directory, as two gunicorn workers: the second takes the first's
    copies (given other bytes to compress, it would answer differently if it made its own)."""
    one = BodyCache(upgrade_after_s=0.05, shared=SharedCopies(tmp_path / "bodies"))
    two = BodyCache(upgrade_after_s=0.05, shared=SharedCopies(tmp_path / "bodies"))
    quick = one.compressed("e1", RAW, "br", BR_QUALITY_KEPT_LONG)
    assert two.compressed("e1", b"not the body", "br", BR_QUALITY_KEPT_LONG) in (
        quick,
        brotli.compress(RAW, quality=BR_QUALITY_KEPT_LONG),
    )
    best = brotli.compress(RAW, quality=BR_QUALITY_KEPT_LONG)
    wait_for(lambda: two.compressed("e1", b"not the body", "br", BR_QUALITY_KEPT_LONG) == best)
    assert two.kept_copy("e1", "br") == best and two.kept_copy("e1", "gzip") is None
    assert sorted(p.name for p in (tmp_path / "bodies").iterdir()) == ["e1.br", "e1.br.lock"]


def test_workers_asking_at_once_make_one_copy_between_them(tmp_path):
    caches = [BodyCache(shared=SharedCopies(tmp_path / "bodies")) for _ in range(4)]
    bodies = [RAW + b"%d" % i for i in range(4)]  # each would make a copy of its own bytes
    got = [None] * 4
    gate = threading.Barrier(4)

    def ask(i: int) -> None:
        gate.wait(5)
        got[i] = caches[i].compressed("e1", bodies[i], "gzip", 9)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(got)) == 1 and gzip.decompress(got[0]) in bodies


def test_copies_are_let_go_oldest_first_and_cleared_at_start(tmp_path):
    shared = SharedCopies(tmp_path / "bodies")
    cache = BodyCache(shared=shared)
    for i in range(SharedCopies.KEEP + 5):
        cache.compressed(f"e{i:02d}", RAW, "gzip", 9)
        time.sleep(0.01)  # (distinct modification times)
    names = sorted(p.name for p in (tmp_path / "bodies").iterdir())
    assert len(names) == SharedCopies.KEEP
    assert f"e{SharedCopies.KEEP + 4:02d}.gzip" in names and "e00.gzip" not in names
    SharedCopies(tmp_path / "bodies").clear()
    assert list((tmp_path / "bodies").iterdir()) == []
