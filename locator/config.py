"""Every setting, read from environment variables, with defaults and validation.

A wrong value stops start-up with a message naming the variable and what it accepts.
The table in docs/configuration.md is generated from SETTINGS (scripts/settings_table.py) and
checked by tests/test_docs.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locator.config_values import (
    addresses,
    bounds,
    center,
    directory_or_empty,
    flag,
    frame_ancestors,
    http_url,
    one_of,
    positive_float,
    postgres_url_or_empty,
    region_names,
    whole,
)


class ConfigError(RuntimeError):
    """A setting has a value the app cannot run with."""


ROOT = Path(__file__).resolve().parent.parent  # the project: templates, static, data, instance


def project_path(setting: str) -> Path:
    """Relative paths in settings are relative to the project, wherever the app starts from."""
    candidate = Path(setting)
    return candidate if candidate.is_absolute() else ROOT / candidate


DB_DOC = (
    "SQLite file, made if missing. With LOCATOR_DATABASE_URL only its directory is used, for this "
    "node's own files (the workers' shared counter and compressed bodies)."
)
POSTGRES_TAKES = "empty, or a postgresql:// URL (libpq's; several hosts allowed)"
POSTGRES_DOC = (
    "PostgreSQL 15+ with PostGIS 3 instead of SQLite: several app nodes on one database "
    "(docs/deployment.md). Add target_session_attrs=read-write when it lists a standby."
)
POOL_DOC = (
    "PostgreSQL connections per server process at most; a request holds one while it runs, and "
    "waits up to 5 s for one (then 503)."
)


@dataclass(frozen=True)
class Setting:
    env: str
    key: str
    default: str
    parse: Callable[[str], Any]
    accepts: str
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("LOCATOR_DB", "DATABASE", "instance/locator.db", str, "a file path", DB_DOC),
    Setting("LOCATOR_DATABASE_URL", "DATABASE_URL", "", postgres_url_or_empty, POSTGRES_TAKES, POSTGRES_DOC),
    Setting(
        "LOCATOR_DATABASE_POOL_SIZE",
        "DATABASE_POOL_SIZE",
        "8",
        whole(1, 100),
        "a whole number 1-100",
        POOL_DOC,
    ),
    Setting(
        "LOCATOR_SYNCHRONOUS",
        "SYNCHRONOUS",
        "NORMAL",
        one_of("NORMAL", "FULL"),
        "NORMAL or FULL",
        "SQLite's fsync policy (docs/deployment.md): FULL fsyncs every commit, NORMAL only checkpoints.",
    ),
    Setting(
        "LOCATOR_SEED_FILE",
        "SEED_FILE",
        "data/points.geojson",
        str,
        "a file path",
        "Points `flask --app app points seed` imports into an empty database "
        "(scripts/serve.sh runs it; empty value: no seeding).",
    ),
    Setting(
        "LOCATOR_STALE_HOURS",
        "STALE_HOURS",
        "12",
        positive_float,
        "a number of hours > 0",
        "A status not confirmed for longer than this is shown as stale.",
    ),
    Setting(
        "LOCATOR_TILE_URL",
        "TILE_URL",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        http_url("{z}", "{x}", "{y}"),
        "an http(s) URL template with {z}, {x}, {y}",
        "Map tiles: the only thing the pages load from another host.",
    ),
    Setting(
        "LOCATOR_TILE_ATTRIBUTION",
        "TILE_ATTRIBUTION",
        "© OpenStreetMap contributors",
        str,
        "text",
        "Attribution shown on the map for the tiles.",
    ),
    Setting(
        "LOCATOR_MAP_CENTER",
        "MAP_CENTER",
        "50.4501,30.5234",
        center,
        "lat,lon",
        "Where the map opens before the user's position is known.",
    ),
    Setting("LOCATOR_MAP_ZOOM", "MAP_ZOOM", "9", whole(0, 19), "a whole number 0-19", "Opening map zoom."),
    Setting(
        "LOCATOR_CACHE_SECONDS",
        "CACHE_SECONDS",
        "30",
        whole(0),
        "a whole number of seconds >= 0",
        "Cache-Control max-age of API reads (clients revalidate with ETag after it).",
    ),
    Setting(
        "LOCATOR_ENV",
        "ENV",
        "development",
        one_of("development", "production"),
        "development or production",
        "production requires SECRET_KEY and marks the session cookie Secure (HTTPS only).",
    ),
    Setting(
        "SECRET_KEY",
        "SECRET_KEY",
        "",
        str,
        "a long random string",
        "Signs session cookies and CSRF tokens (32+ characters in production, where it is required);"
        " in development a random key is made once and kept in secret_key beside the database.",
    ),
    Setting(
        "LOCATOR_REPORTS_TO_UNCONFIRM",
        "REPORTS_TO_UNCONFIRM",
        "3",
        whole(1),
        "a whole number >= 1",
        "Open citizen reports that a working point is closed which mark it unconfirmed.",
    ),
    Setting(
        "LOCATOR_REPORT_WINDOW_HOURS",
        "REPORT_WINDOW_HOURS",
        "6",
        positive_float,
        "a number of hours > 0",
        "Only reports this recent (and newer than the last verification) count towards unconfirmed.",
    ),
    Setting(
        "LOCATOR_REPORT_DISTINCT_SENDERS",
        "REPORT_DISTINCT_SENDERS",
        "1",
        flag,
        "0 or 1",
        "1: one report per sender network counts towards unconfirmed (0: every report counts).",
    ),
    Setting(
        "LOCATOR_SENDER_PREFIX_V4",
        "SENDER_PREFIX_V4",
        "24",
        whole(8, 32),
        "a prefix length 8-32",
        "IPv4 addresses in one network this large are one sender for reports and logins.",
    ),
    Setting(
        "LOCATOR_SENDER_PREFIX_V6",
        "SENDER_PREFIX_V6",
        "48",
        whole(16, 128),
        "a prefix length 16-128",
        "IPv6 addresses in one network this large are one sender for reports and logins.",
    ),
    Setting(
        "LOCATOR_REPORTS_PER_SENDER_HOUR",
        "REPORTS_PER_SENDER_HOUR",
        "5",
        whole(1),
        "a whole number >= 1",
        "Reports one sender network may send per hour; more get 429 with Retry-After.",
    ),
    Setting(
        "LOCATOR_REPORTS_PER_POINT_HOUR",
        "REPORTS_PER_POINT_HOUR",
        "20",
        whole(1),
        "a whole number >= 1",
        "Reports about one point accepted per hour from one sender network; more get 429.",
    ),
    Setting(
        "LOCATOR_SESSION_HOURS",
        "SESSION_HOURS",
        "12",
        positive_float,
        "a number of hours > 0",
        "An operator's session ends this long after logging in.",
    ),
    Setting(
        "LOCATOR_API_RATE_PER_MIN",
        "API_RATE_PER_MIN",
        "600",
        whole(0),
        "a whole number >= 0 (0: no limit)",
        "Anonymous API requests per minute per client address, per worker process; then 429.",
    ),
    Setting(
        "LOCATOR_TRUSTED_PROXIES",
        "TRUSTED_PROXIES",
        "0",
        whole(0),
        "a whole number >= 0",
        "Reverse proxies in front (nginx: 1): client address and scheme come from X-Forwarded-*.",
    ),
    Setting(
        "LOCATOR_PUBLIC_URL",
        "PUBLIC_URL",
        "",
        http_url(site=True),
        "an http(s) URL without credentials, query or fragment, e.g. https://poi.example.ua, or empty",
        "The site's address in the absolute URLs it hands out; empty: the request's, never X-Forwarded-Host.",
    ),
    Setting(
        "LOCATOR_EMBED_ANCESTORS",
        "EMBED_ANCESTORS",
        "*",
        frame_ancestors,
        "a CSP source list, e.g. * or https://kyiv.example https://*.gov.ua",
        "Sites allowed to frame /embed (CSP frame-ancestors); every other page refuses framing.",
    ),
    Setting(
        "LOCATOR_METRICS_ALLOW",
        "METRICS_ALLOW",
        "127.0.0.1,::1",
        addresses,
        "comma-separated IP addresses or networks, e.g. 127.0.0.1,10.0.0.0/8 (empty: nobody)",
        "Client addresses that may read /metrics; everyone else gets 404.",
    ),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        "METRICS_DIR",
        "",
        directory_or_empty,
        "an existing directory, or empty",
        "Where gunicorn workers keep their metrics so /metrics adds them up (scripts/gunicorn.conf.py"
        " makes a fresh one); empty: each process reports only its own requests.",
    ),
    Setting(
        "LOCATOR_REQUEST_LOG",
        "REQUEST_LOG",
        "stderr",
        one_of("stderr", "stdout", "off"),
        "stderr, stdout or off",
        "Where the one-JSON-line-per-request log goes.",
    ),
    Setting(
        "LOCATOR_LOG_CLIENT_ADDRESS",
        "LOG_CLIENT_ADDRESS",
        "0",
        flag,
        "0 or 1",
        "1: request log lines carry the client's address (personal data: off by default).",
    ),
    Setting(
        "LOCATOR_IMPORT_MAX_BYTES",
        "IMPORT_MAX_BYTES",
        "52428800",
        whole(1),
        "a whole number of bytes >= 1",
        "Largest file an import accepts (console upload and CLI); a bigger upload gets 413.",
    ),
    Setting(
        "LOCATOR_IMPORT_MAX_FEATURES",
        "IMPORT_MAX_FEATURES",
        "200000",
        whole(1),
        "a whole number >= 1",
        "Most points one import file may hold.",
    ),
    Setting(
        "LOCATOR_IMPORT_STAGED_HOURS",
        "IMPORT_STAGED_HOURS",
        "3",
        positive_float,
        "a number of hours > 0",
        "How long an uploaded file waits for its dry run to be applied; older ones are deleted.",
    ),
    Setting(
        "LOCATOR_BOUNDS",
        "BOUNDS",
        "22.0,44.3,40.3,52.4",
        bounds,
        "min_lon,min_lat,max_lon,max_lat in degrees",
        "Every written point and stop (API, console, import) must lie in this box (default: Ukraine).",
    ),
    # Businesses' sign-in links (issue 20) are also mailed when a host is set; none is needed.
    Setting(
        "LOCATOR_SMTP_HOST",
        "SMTP_HOST",
        "",
        str,
        "a host name, or empty",
        "Mail server for businesses' sign-in links; empty: the reviewer passes the link on.",
    ),
    Setting("LOCATOR_SMTP_PORT", "SMTP_PORT", "587", whole(1, 65535), "a TCP port 1-65535", "Its port."),
    Setting(
        "LOCATOR_SMTP_STARTTLS",
        "SMTP_STARTTLS",
        "1",
        flag,
        "1 or 0",
        "Whether to start TLS before logging in (1 unless the server is local).",
    ),
    Setting("LOCATOR_SMTP_USER", "SMTP_USER", "", str, "a user name, or empty", "SMTP login (empty: none)."),
    Setting("LOCATOR_SMTP_PASSWORD", "SMTP_PASSWORD", "", str, "text", "SMTP password."),
    Setting(
        "LOCATOR_SMTP_FROM",
        "SMTP_FROM",
        "locator@localhost",
        str,
        "an e-mail address",
        "The sender of the mailed sign-in links.",
    ),
    Setting(
        "LOCATOR_APPROXIMATE_REGIONS",
        "APPROXIMATE_REGIONS",
        "",
        region_names,
        "comma-separated region names (any spelling), or empty",
        "Points in these regions are published only approximately (issue 20) unless an admin makes"
        " one public: new points there default to approximate, and only an admin may set one public."
        " Points stored before: `flask points apply-region-visibility`.",
    ),
    Setting(
        "PORT", "PORT", "5000", whole(1, 65535), "a TCP port 1-65535", "Port scripts/serve.sh serves on."
    ),
)


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every setting from the environment; raise ConfigError naming the first bad one."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        try:
            config[setting.key] = setting.parse(raw)
        except (ValueError, TypeError, OverflowError):
            secret = setting.env in ("SECRET_KEY", "LOCATOR_SMTP_PASSWORD") or "@" in raw  # a URL's password
            shown = "(hidden)" if secret else repr(raw)
            raise ConfigError(f"{setting.env}={shown} is not valid: expected {setting.accepts}") from None
    if config["ENV"] == "production" and len(config["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY must be set ({MIN_SECRET_KEY_LENGTH}+ characters) when LOCATOR_ENV=production"
        )
    return config


MIN_SECRET_KEY_LENGTH = 32
