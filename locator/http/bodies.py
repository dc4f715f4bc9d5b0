"""Response bodies: compression, and the few big bodies kept per ETag (which answer gets which
encoding is http/encoding.py's decision).

The map's data for 100,000 points is a 20 MB table, 2.4 MB in brotli: made and compressed
again after every write, in every worker, it cost ~1 s of Python and ~1.5-2.3 s of brotli
before the next map load could be answered. Now a point's row is serialised once per Point
object (a write makes a new one), so a new table is mostly a join (~0.2 s); the first brotli
copy after a change is made at a quick quality (~0.5 s, about 12 % larger) and the best one in a
background thread, which replaces it when done (brotli releases the GIL), unless newer data came
within UPGRADE_AFTER_S; a body being made is made once, other threads of the worker waiting;
and the compressed copies go to files the server's workers share (SharedCopies), so a write
costs the server one copy, not one per worker."""

from __future__ import annotations

import fcntl
import gzip
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import brotli

CACHED_BODIES = 16  # serialised responses (and their compressed forms) kept per process, by ETag
BR_QUALITY_SMALL = 1  # a 4 KB answer: 19 µs and 1.4 KB at quality 1, 80 µs and 1.2 KB at 4
BR_QUALITY_KEPT = 4  # a kept body whose ETag rolls each minute (GeoJSON with "stale" flags)
BR_QUALITY_KEPT_LONG = 9  # the map's data, kept until the data changes: 20 MB -> 2.4 MB in ~1.5 s
BR_QUALITY_QUICK = 5  # ...whose first copy after a change: 20 MB -> 2.7 MB in ~0.6 s
UPGRADE_AFTER_S = 2.0  # ...and its best copy made only if no newer quick copy came in this time
GZIP_LEVEL = 6


def compress(body: bytes, encoding: str, quality: int) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=quality)
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


class SharedCopies:
    """Compressed copies of big bodies in files beside the database, named by ETag: the workers
    of a server make each one once between them, instead of once each after every write. A
    lock file per copy makes the others wait for the one making it."""

    KEEP = 12  # files kept, newest first (copies and their lock files); older ones go

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        """At start: copies left by a server on a database file since replaced must not be
        taken for this one's."""
        for path in self.directory.iterdir():
            path.unlink(missing_ok=True)

    def read(self, key: str) -> bytes | None:
        try:
            return (self.directory / _file_name(key)).read_bytes()
        except OSError:
            return None

    def write(self, key: str, body: bytes) -> None:
        """Written whole, then renamed into place: a reader never sees half of a copy."""
        draft = self.directory / f".{_file_name(key)}.{os.getpid()}.{threading.get_ident()}"
        try:
            draft.write_bytes(body)
            os.replace(draft, self.directory / _file_name(key))
            self._prune()
        except OSError:
            draft.unlink(missing_ok=True)  # a full disk: the copy stays in this worker only

    def remove(self, key: str) -> None:
        (self.directory / _file_name(key)).unlink(missing_ok=True)

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        try:
            fd = os.open(self.directory / f"{_file_name(key)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield  # no lock file, no sharing of the work: each worker makes its own
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # also between threads: each has its own descriptor
            yield
        finally:
            os.close(fd)  # (and the lock with it)

    def _prune(self) -> None:
        def age(path: Path) -> float:
            try:
                return path.stat().st_mtime
            except OSError:
                return 0.0

        kept = sorted(self.directory.glob("[!.]*"), key=age, reverse=True)
        for path in kept[self.KEEP :]:
            path.unlink(missing_ok=True)


def _file_name(key: str) -> str:
    return key.replace("|", ".")


class BodyCache:
    """A few recent response bodies by key (an ETag, and an encoding), so a surge of identical
    reads serialises and compresses once; compressed copies also go to ``shared``."""

    def __init__(
        self,
        size: int = CACHED_BODIES,
        upgrade_after_s: float = UPGRADE_AFTER_S,
        shared: SharedCopies | None = None,
    ):
        self.size = size
        self.upgrade_after_s = upgrade_after_s
        self.shared = shared
        self._quick_copies = 0  # quick copies made so far: a newer one cancels an older's upgrade
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        body = self.items.get(key)
        if body is not None:
            return body
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # one thread makes it; the others wait and take its body
            body = self.items.get(key)
            if body is None:
                body = make()
                self._put(key, body)
        with self._lock:
            self._making.pop(key, None)
        return body

    def kept_copy(self, etag: str, encoding: str) -> bytes | None:
        """A compressed copy already made, by this worker or another: the best one, else the
        quick one (read again each time, until the best one replaces it)."""
        key = f"{etag}|{encoding}"
        # Memory first: a quick copy is in memory only in the worker making its best one, which
        # drops it when the best is in. Files only then (every API list read asks, most of them
        # for small answers that never have a copy).
        found = self.items.get(key) or self.items.get(f"{key}|quick")
        if found is None and self.shared is not None:
            found = self.shared.read(key)
            if found is not None:
                self._put(key, found)
            else:
                found = self.shared.read(f"{key}|quick")
        return found

    def compressed(self, etag: str, raw: bytes, encoding: str, quality: int, *, quick: bool = True) -> bytes:
        """raw compressed, kept by ETag and encoding. Brotli above BR_QUALITY_QUICK is first made
        at that quality, and at ``quality`` in a background thread, which replaces it when done
        (quick=False: made at ``quality`` now)."""
        found = self.kept_copy(etag, encoding)
        if found is not None:
            return found
        key = f"{etag}|{encoding}"
        with self.shared.lock(key) if self.shared is not None else nullcontext():
            found = self.kept_copy(etag, encoding)  # another worker made it while this one waited
            if found is not None:
                return found
            if encoding != "br" or quality <= BR_QUALITY_QUICK or not quick:
                made = self.get_or_make(key, lambda: compress(raw, encoding, quality))
                self._share(key, made)
                return made
            return self.get_or_make(f"{key}|quick", lambda: self._quick_now_best_later(key, raw, quality))

    def _quick_now_best_later(self, key: str, raw: bytes, quality: int) -> bytes:
        quick_key = f"{key}|quick"
        made = compress(raw, "br", BR_QUALITY_QUICK)
        self._share(quick_key, made)
        with self._lock:
            self._quick_copies += 1
            mine = self._quick_copies

        def best() -> None:
            # Only for data that stays: when operators write every few seconds, each new
            # version would cost its best copy, to be thrown away at the next write.
            time.sleep(self.upgrade_after_s)
            if self._quick_copies != mine:
                return  # newer data came meanwhile; its own thread decides for it
            body = compress(raw, "br", quality)
            self._put(key, body)
            self._share(key, body)
            with self._lock:
                self.items.pop(quick_key, None)
            if self.shared is not None:
                self.shared.remove(quick_key)

        threading.Thread(target=best, name="locator-brotli", daemon=True).start()
        return made

    def _share(self, key: str, body: bytes) -> None:
        if self.shared is not None:
            self.shared.write(key, body)

    def _put(self, key: str, body: bytes) -> None:
        with self._lock:
            self.items[key] = body
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
