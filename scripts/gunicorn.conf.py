"""gunicorn settings for the locator (see README, "Production")."""

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # one per core is right for CPU-bound JSON work
threads = int(os.environ.get("GUNICORN_THREADS", "4"))  # threads cover slow clients on weak links
worker_class = "gthread"
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
    index = server.app.wsgi().extensions.get("locator.index")
    if index is not None:  # (the benchmarks' bare Flask yardstick runs with these settings too)
        index.sync()
