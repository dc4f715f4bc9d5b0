"""Rate limiting of anonymous API use, per client address (token buckets, in process memory).

Each worker process keeps its own buckets, so the effective limit is the setting times the
number of workers; that is enough to stop one client from hogging the site during a surge
without a shared store. A fuller limit (per cluster) belongs in nginx in front (docs/deployment.md, "nginx").
A hand-written bucket, not Flask-Limiter: it is 40 lines and Flask-Limiter pulls in `rich`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_TRACKED = 100_000  # addresses remembered at once; full buckets are dropped first


class TokenBuckets:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.clock = clock  # seconds, only ever compared with itself
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(per_minute)  # a burst of one minute's worth
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token; return 0 if allowed, else the seconds to wait for the next one."""
        if self.rate <= 0:
            return 0.0
        now = self.clock() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_TRACKED:
                self._forget_full(now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.capacity:
                del self._buckets[key]


def retry_after(wait_s: float) -> int:
    return max(1, math.ceil(wait_s))
