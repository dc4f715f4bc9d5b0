"""The change counter, published in shared memory so that readers need not ask SQLite for it.

Every write transaction bumps meta.seq, and every worker asks before each lookup whether it
moved. Asking SQLite costs a statement (a third of a nearest lookup, and it pushes the tree out
of the CPU's cache); reading 8 bytes from a page every process maps costs nothing. So each
writer also publishes the new value here, in a file beside the database (``<db>-seq``, like
SQLite's own -wal and -shm), while it holds SQLite's write lock and before it commits:

- the published value is never behind a committed one, so a reader that finds its own value
  here has missed nothing;
- a rolled-back or crashed writer may leave a value ahead of the database: readers then ask
  SQLite on each lookup, as they did before this file existed, until the next commit;
- a writer that does not publish (an older release, the sqlite3 shell) is still noticed, because
  readers ask SQLite at least once every CONFIRM_EVERY_S anyway.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

CONFIRM_EVERY_S = 1.0
_SEQ = struct.Struct("<q")  # one aligned 8-byte integer: read and written whole on every CPU we run on


class SeqBeacon:
    """The shared page; ``None`` from ``read`` when it cannot be mapped (the caller asks SQLite)."""

    def __init__(self, database: str):
        self.path = Path(f"{database}-seq")
        self._map: mmap.mmap | None = None
        self._failed = False

    def _mapped(self) -> mmap.mmap | None:
        if self._map is None and not self._failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    if os.fstat(fd).st_size < _SEQ.size:
                        os.ftruncate(fd, _SEQ.size)  # a new file reads as zero
                    self._map = mmap.mmap(fd, _SEQ.size)  # shared, and still shared after a fork
                finally:
                    os.close(fd)
            except OSError:
                self._failed = True  # (a read-only directory): SQLite answers every time
        return self._map

    def read(self) -> int | None:
        mapped = self._mapped()
        return None if mapped is None else _SEQ.unpack_from(mapped)[0]

    def publish(self, seq: int) -> None:
        """Called with SQLite's write lock held, before COMMIT (see the module's docstring)."""
        mapped = self._mapped()
        if mapped is not None:
            _SEQ.pack_into(mapped, 0, seq)
