"""The yardstick for http_bench.py: a bare Flask app that answers one constant JSON.

Served with the same gunicorn settings as the locator, so the ratio of their requests per
second shows what the locator's own work costs on this machine.
"""

from flask import Flask

app = Flask(__name__)

ANSWER = {"type": "FeatureCollection", "features": [], "ok": True}


@app.get("/")
def constant():
    """Return the same small JSON every time."""
    return ANSWER
