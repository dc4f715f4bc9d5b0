"""The cyclic garbage collector paused around bulk work: an import of 100,000 points (issue 5).

An import builds millions of dicts, lists and Points, none of them in a reference cycle, and
every full collection walks all that are alive: a third of the import's time (orjson alone
reads the 100,000-point file in 0.5 s without collections, 2 s with them). Reference counting
still frees everything at once; the collector resumes when the last paused job of the process
ends, so jobs in several threads never leave it off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_jobs = 0  # paused jobs under way in this process
_was_enabled = False  # the collector's state before the first of them


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (as it was again after the last such block)."""
    global _jobs, _was_enabled
    with _lock:
        if _jobs == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _jobs += 1
    try:
        yield
    finally:
        with _lock:
            _jobs -= 1
            if _jobs == 0 and _was_enabled:
                gc.enable()
