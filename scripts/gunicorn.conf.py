"""gunicorn settings for the locator (see README, "Production")."""

import os

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
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None


def when_ready(server):
    """Build the nearest index once in the master (the app is preloaded), so every worker,
    including one recycled under load, forks with it instead of reading every point first."""
    server.app.wsgi().extensions["locator.index"].sync()
