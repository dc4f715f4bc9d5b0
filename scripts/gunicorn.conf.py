"""gunicorn settings for the locator (docs/deployment.md, "gunicorn")."""

import gc
import os
import shutil
import socket
import tempfile
from pathlib import Path

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # one per core is right for CPU-bound JSON work
# Reads are CPU-bound Python and share one GIL per worker: past two threads each extra one only
# adds contention (issue 5: an operator's PATCH at full read load, p99 185 ms with 4 threads and
# 45 ms with 2; slow clients wait in nginx's buffers, not in a thread).
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# gthread, plus threads of its own for POST/PUT/PATCH/DELETE so that a write never queues behind
# reads (locator/write_lane.py).
worker_class = "locator.server.write_lane.WriteLaneWorker"
CHECKPOINT_EVERY_S = 1.0  # WAL checkpoints in a thread of each worker, not in commits (post_fork)
preload_app = True  # import once in the master: a recycled worker is back in milliseconds
control_socket_disable = True  # gunicorn 27's default socket path is shared by every instance
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 200000  # recycle rarely: a fresh worker costs a moment under load
max_requests_jitter = 2000
# The app logs one JSON line per request without addresses or query strings (LOCATOR_REQUEST_LOG);
# gunicorn's own access log has both, so it is off unless asked for.
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None

# Workers write their request metrics here and /metrics adds them up (prometheus_client's
# multiprocess mode). Set before the app (and prometheus_client) is imported; emptied at each
# start so counters begin at zero with the server.
OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
METRICS_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="locator-metrics-"))
METRICS_DIR.mkdir(parents=True, exist_ok=True)
for stale in METRICS_DIR.glob("*.db"):
    stale.unlink()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)


def child_exit(server, worker):
    """A worker's counters stay counted after it exits; only its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this file made (one given in the environment stays)."""
    if OWN_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def when_ready(server):
    """Build the nearest index once in the master (the app is preloaded), so every worker,
    including one recycled under load, forks with it instead of reading every point first."""
    app = server.app.wsgi()
    index = app.extensions.get("locator.index")
    if index is not None:  # (the benchmarks' bare Flask yardstick runs with these settings too)
        index.sync()
        from locator.web import api

        api.warm_map_data(app)  # and the map's data, compressed: a fresh server's first map load
        # folium (and pandas with it) loaded once here, shared by every worker after the fork,
        # so no citizen's first map page waits for it; create_app itself never loads them.
        import folium  # noqa: F401
    # Move everything loaded so far (100,000 points: millions of objects) out of the garbage
    # collector's reach: a worker's full collection walked them all, stopping every thread of
    # the worker for 1.0-3.9 s, several times a minute under load (issue 5); frozen, 8-25 ms.
    gc.collect()
    gc.freeze()
    for listener in server.LISTENERS:
        if listener.family in (socket.AF_INET, socket.AF_INET6):
            # accept() only once the request has begun to arrive, so the worker can see at once
            # whether it is a write (locator/write_lane.py); nginx's `listen ... deferred`.
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)


def post_fork(server, worker):
    """Each worker checkpoints the WAL in a thread of its own, never inside a request's commit."""
    store = server.app.wsgi().extensions.get("locator.store")
    if store is not None:
        store.checkpoint_in_background(CHECKPOINT_EVERY_S)
