"""How a process follows PostgreSQL's change counter without asking it on every lookup.

A daemon thread of each server process holds one connection of its own that LISTENs on the
counter's channel: every write on any node NOTIFYs the new value at its COMMIT, so the thread
hears it within milliseconds. The same connection reads the counter itself once a second,
which catches a notification lost with a connection and shows that the database is still
there. While that connection is down (a restart, a failover), the thread polls the counter
through the pool every POLL_S and tries to LISTEN again; lookups keep using the last value
heard, so they never wait for the database.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import psycopg
import psycopg_pool

from locator.store.errors import StoreBusy

if TYPE_CHECKING:
    from locator.store.postgres import PostgresConnection

POLL_S = 0.25  # while the notification connection is down; also how long one wait for NOTIFY lasts
CONFIRM_EVERY_S = 1.0  # the listening connection reads the counter itself this often

logger = logging.getLogger(__name__)


class ChangeListener:
    """The change counter as this process last heard it, kept by a thread of its own."""

    def __init__(self, owner: PostgresConnection, channel: str, read_seq: str):
        self.owner = owner
        self.channel = channel
        self.read_seq = read_seq
        self.listening = False  # the notification connection is up
        self.contact_at = 0.0  # monotonic time the database last answered this thread
        self._heard: int | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> threading.Thread:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-changes", daemon=True)
                self._thread.start()
            return self._thread

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2 * POLL_S + 1)

    def heard(self, known: int) -> int:
        """The latest counter heard; the first call of a process asks the database itself
        (known when it cannot be reached: the caller keeps what it has)."""
        if self._thread is None:
            self.start()
        heard = self._heard
        if heard is None:
            try:
                heard = self.owner.change_seq()
            except StoreBusy:  # (StoreUnavailable too)
                return known
            self.raise_to(heard)
        return heard

    def raise_to(self, seq: int) -> None:
        """A counter this process saw (a notification, its own write): never moves back."""
        with self._lock:
            if self._heard is None or seq > self._heard:
                self._heard = seq

    def _set(self, seq: int) -> None:
        """The counter as the database says it is now (it may be lower after a restore or a
        failover that lost transactions: readers then rebuild)."""
        with self._lock:
            self._heard = seq
        self.contact_at = time.monotonic()

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = self.owner.connect()
            except psycopg.Error as error:
                self._down(error)
                self._poll()
                self._stop.wait(POLL_S)
                continue
            try:
                with conn:
                    self._listen(conn)
            except psycopg.Error as error:
                self._down(error)

    def _listen(self, conn: psycopg.Connection) -> None:
        conn.execute(f"LISTEN {self.channel}")
        self._set(conn.execute(self.read_seq).fetchone()[0])
        self.listening = True
        self.owner.mark_available()
        confirmed = time.monotonic()
        while not self._stop.is_set():
            for notification in conn.notifies(timeout=POLL_S):
                self.raise_to(int(notification.payload))
            if time.monotonic() - confirmed >= CONFIRM_EVERY_S:
                self._set(conn.execute(self.read_seq).fetchone()[0])
                confirmed = time.monotonic()

    def _poll(self) -> None:
        """The fallback: the counter through the pool while LISTEN cannot be had; an answer
        also tells callers the database is back."""
        try:
            with self.owner.pooled(timeout=POLL_S) as conn:
                seq = conn.execute(self.read_seq).fetchone()[0]
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            return
        self._set(seq)
        self.owner.mark_available()

    def _down(self, error: psycopg.Error) -> None:
        if self.listening:
            logger.warning("change notifications lost (%s): polling until back", type(error).__name__)
        self.listening = False
        self.owner.mark_unavailable()  # callers fail at once instead of each waiting for a connect
