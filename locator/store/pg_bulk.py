"""Many rows into PostgreSQL by COPY instead of one INSERT each.

The store writes rows with executemany of plain INSERTs (SQLite's way, where each costs a few
µs). On PostgreSQL each is a statement of its own, and psycopg spends 40-80 µs of Python on
each even pipelined: an import of 100,000 points (100,000 upserts and 100,000 history rows) took
16 of its 19 s there (issue 18's benchmark). COPY sends the same rows as one stream: a plain
INSERT becomes COPY into the table; an upsert (ON CONFLICT ... DO UPDATE) becomes COPY into a
temporary table, then one INSERT ... SELECT with the same ON CONFLICT clause. Same rows, same
order (history ids are given in it), same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

BULK_MIN_ROWS = 500  # below this, executemany is about as quick and simpler to read in a log
_INSERT = re.compile(
    r"^INSERT INTO (?P<table>\w+) \((?P<columns>[\w\", ]+)\) VALUES \((?:\?, )*\?\)"
    r"(?P<conflict> ON CONFLICT \((?P<key>\w+)\) DO UPDATE SET .+)?$",
    re.DOTALL,
)


def plan(
    sql: str, rows: Sequence[Sequence], *, in_transaction: bool
) -> tuple[str, list[str], str, str] | None:
    """(table, columns, ON CONFLICT clause or "", key column) when these rows can go by COPY;
    None otherwise: few rows, another statement, outside a transaction (the temporary table
    lives until COMMIT), or an upsert naming one key twice, which one INSERT ... SELECT refuses
    where row-by-row upserts let the last one win."""
    if len(rows) < BULK_MIN_ROWS or not in_transaction:
        return None
    match = _INSERT.match(sql)
    if match is None:
        return None
    columns = [name.strip().strip('"') for name in match["columns"].split(",")]
    conflict = match["conflict"] or ""
    if len(columns) != len(rows[0]) or "?" in conflict:
        return None
    if conflict:
        at = columns.index(match["key"]) if match["key"] in columns else None
        if at is None or len({row[at] for row in rows}) != len(rows):
            return None
    return match["table"], columns, conflict, match["key"] or ""


def copy_rows(raw, table: str, columns: list[str], conflict: str, rows: Sequence[Sequence]) -> None:
    """Write the rows by COPY on this connection (inside the caller's transaction)."""
    names = ", ".join(f'"{column}"' for column in columns)
    target = table
    if conflict:
        target = f"bulk_{table}"
        raw.execute(f"CREATE TEMP TABLE {target} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conflict:
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target}{conflict}")
            cursor.execute(f"DROP TABLE {target}")
