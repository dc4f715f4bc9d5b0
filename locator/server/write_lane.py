"""The gunicorn worker of scripts/gunicorn.conf.py: gthread with a lane of its own for writes.

gthread hands every request to one first-come-first-served pool of threads. Under a rush of
reads an operator's status update waited behind every read queued before it (issue 5: p50
76 ms, p99 196 ms of waiting at full read load, the write itself ~10 ms). This worker looks
at the request line before queueing: POST, PUT, PATCH and DELETE go to a small pool of their
own, so a write waits only for other writes (which SQLite serialises anyway). Everything else,
including anything it cannot read yet, takes the usual way.

The lane alone still left a write sharing the GIL with every read in flight: each SQL statement
gives the GIL up, and getting it back from CPU-bound reads took up to the 5 ms switch interval
each time. So a read about to start while a write is in flight waits for it first (at most
READ_YIELD_S, and never past YIELD_WINDOW_S into a spell of writes): PATCH p99 40 against 120 ms
at full read load, side by side (docs/benchmarks.md). Reads then wait about as long as the
writes run, a few milliseconds a few times a second.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gunicorn.workers.gthread import ThreadWorker

WRITE_METHODS = (b"POST ", b"PUT ", b"PATCH ", b"DELETE ")
PEEK_BYTES = 7  # the longest method above and its space
# Two: a long write (an import through the console, a slow upload) leaves the other free for
# status updates; more would only add threads contending for the GIL.
WRITE_THREADS = 2
READ_YIELD_S = 0.02  # the longest a read waits for writes in flight before it starts
YIELD_WINDOW_S = 0.1  # writes busy for longer than this (an import) no longer hold reads back


def is_write(head: bytes) -> bool:
    """Whether a request's first bytes start with a method that changes something."""
    return head.startswith(WRITE_METHODS)


class WriteLaneWorker(ThreadWorker):
    """gthread, with writes served by their own threads instead of queueing behind reads."""

    def init_process(self) -> None:
        self.write_pool = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="write")
        self.writes_done = threading.Condition()
        self.writing = 0  # writes in flight in this worker
        self.writing_since = 0.0  # when the current spell of writes began (time.monotonic)
        super().init_process()  # runs the worker's loop until it stops

    def enqueue_req(self, conn) -> None:
        conn.write_lane = not (self.cfg.is_ssl or conn.is_http2) and is_write(_head(conn))
        if not conn.write_lane:
            super().enqueue_req(conn)
            return
        done = self.write_pool.submit(self.handle, conn)
        done.add_done_callback(lambda future: self.method_queue.defer(self.finish_request, conn, future))

    def handle(self, conn):
        """Serve one request: a write counted in flight, a read after any young writes in flight."""
        if not getattr(conn, "write_lane", False):
            with self.writes_done:
                if self.writing and time.monotonic() - self.writing_since < YIELD_WINDOW_S:
                    self.writes_done.wait(READ_YIELD_S)
            return super().handle(conn)
        with self.writes_done:
            if not self.writing:
                self.writing_since = time.monotonic()
            self.writing += 1
        try:
            return super().handle(conn)
        finally:
            with self.writes_done:
                self.writing -= 1
                if not self.writing:
                    self.writes_done.notify_all()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.write_pool.shutdown(wait=False)

    def handle_quit(self, sig, frame) -> None:
        self.write_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)


def _head(conn) -> bytes:
    """The next request's first bytes, without consuming them: what the parser read ahead,
    else a peek at the socket (empty when nothing has arrived yet)."""
    if conn.parser is not None:
        buffered = conn.parser.unreader.buf.getvalue()
        if buffered:
            return buffered[:PEEK_BYTES]
    try:
        return conn.sock.recv(PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # BlockingIOError: nothing yet; a reset connection fails in handle() as before
        return b""
