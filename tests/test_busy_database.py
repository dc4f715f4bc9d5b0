"""A write that finds the database held by another writer past busy_timeout: 503 with
Retry-After and nothing written, never a 500 ("database is locked" must not reach a user)."""

from __future__ import annotations

import sqlite3

from helpers import assert_problem, db_state


def test_a_write_blocked_by_another_writer_is_503_with_retry_after_and_writes_nothing(
    client, store, seeded, make_user, make_token
):
    make_user("olena", "admin")
    token = make_token("olena")
    point = seeded[0]
    before = db_state(store)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # like a restore or a huge import holding the write lock
    try:
        response = client.patch(
            f"/api/v1/points/{point.id}",
            json={"status": "closed"},
            headers={"Authorization": f"Bearer {token}", "If-Match": f'"v{point.version}"'},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_problem(response, 503, None)
    assert response.headers["Retry-After"] == "5"
    assert db_state(store) == before
    again = client.patch(
        f"/api/v1/points/{point.id}",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {token}", "If-Match": f'"v{point.version}"'},
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    assert store.get(point.id).status.value == "closed"
