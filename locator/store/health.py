"""The SQL behind /metrics: counts of points by status, stale points and the time of the last
change (the write probe of /healthz is each connection class's own ``probe``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from locator.domain.point import format_time
from locator.domain.validation import parse_time
from locator.store.rows import PUBLIC_STATUS

if TYPE_CHECKING:
    from locator.store.points import Store

# The same order as PointFilter / Point.public_status: unconfirmed outweighs open and full.
POINTS_BY_STATUS = "SELECT " + PUBLIC_STATUS + ", count(*) FROM points WHERE archived = 0 GROUP BY 1"


def stats(store: Store, stale_before: datetime) -> dict[str, Any]:
    """Points by public status (archived apart), stale points, and the last change, read in one
    transaction so the numbers agree with each other."""
    with store.read_transaction() as conn:
        by_status = dict(conn.execute(POINTS_BY_STATUS).fetchall())
        archived = conn.execute("SELECT count(*) FROM points WHERE archived = 1").fetchone()[0]
        stale = conn.execute(
            "SELECT count(*) FROM points WHERE archived = 0 AND (verified_at IS NULL OR verified_at < ?)",
            [format_time(stale_before)],
        ).fetchone()[0]
        last = conn.execute("SELECT at FROM history ORDER BY id DESC LIMIT 1").fetchone()
        seq = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
    return {
        "by_status": by_status,
        "archived": archived,
        "stale": stale,
        "last_change_at": parse_time(last[0]) if last else None,
        "seq": seq,
    }
