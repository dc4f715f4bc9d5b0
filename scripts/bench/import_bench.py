"""`flask --app app points import` of generated GeoJSON into an empty database, timed.

100,000 points (target under 30 s) and 13,000 (today's network), each the whole command as an
operator runs it. Then, in process, where the 100,000-point import spends its time: reading the
file (orjson, or geopandas for what it cannot take), validating every feature, writing (and
Point.to_record, which a write of changed points uses).
The timed 100,000-point database becomes the seed the other pieces copy.

Example: .venv/bin/python scripts/bench/import_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import common

from locator.io import files, gcpause
from locator.store import Store

TARGET_S = 30.0  # issue 5, at 100,000 points


def import_once(data_dir: Path, count: int, keep_seed: bool) -> dict:
    """Run the CLI import into a fresh database; return the wall time and what it printed."""
    source = common.geojson(data_dir, count)
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        db = Path(work) / "locator.db"
        common.flask(db, "users", "list")  # the empty database and its schema, outside the timing
        begin = time.perf_counter()
        printed = common.flask(db, "points", "import", str(source))
        took = time.perf_counter() - begin
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT count(*) FROM points").fetchone()[0]
        if keep_seed:
            common.keep_as_seed(db, data_dir / f"seed-{count}-s{common.SEED}.db")
    common.log(f"import of {count} points: {took:.1f} s ({printed.strip()})")
    return {"count": count, "seconds": round(took, 2), "stored": stored, "printed": printed.strip()}


def phases(data_dir: Path) -> dict:
    """Where the 100,000-point import spends its time, measured in this process."""
    source = common.geojson(data_dir, common.BIG)
    limits = files.ImportLimits(max_bytes=source.stat().st_size)  # the CLI run raises the limit too
    begin = time.perf_counter()
    with gcpause.paused():  # as read_points reads it
        files._read_records(source, limits)
    parse_s = time.perf_counter() - begin
    begin = time.perf_counter()
    points = files.read_points(source, limits=limits)
    read_s = time.perf_counter() - begin
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        store = Store(Path(work) / "locator.db")
        store.migrate()
        begin = time.perf_counter()
        store.import_points(points, by="bench")
        write_s = time.perf_counter() - begin
        store.close()
    begin = time.perf_counter()
    for point in points:
        point.to_record()
    to_record_s = time.perf_counter() - begin
    result = {
        "read_file_s": round(parse_s, 2),
        "validate_s": round(read_s - parse_s, 2),
        "write_s": round(write_s, 2),
        "to_record_all_points_s": round(to_record_s, 2),
    }
    common.log(f"import phases: {result}")
    return result


def main() -> int:
    args = common.arguments(
        __doc__.split("\n\n")[0], skip_phases=(int, 0, "1: skip the in-process breakdown")
    )
    big = import_once(args.data_dir, common.BIG, keep_seed=True)
    small = import_once(args.data_dir, common.SMALL, keep_seed=False)
    raw = {"imports": [big, small]}
    if not args.skip_phases and not args.quick:
        raw["phases_100k"] = phases(args.data_dir)
    rows = [
        common.row(
            f"import {common.BIG:,} points (GeoJSON, CLI)",
            f"< {TARGET_S:.0f} s",
            f"{big['seconds']:.1f} s",
            big["seconds"] < TARGET_S and big["stored"] == common.BIG,
            f"{big['stored']:,} stored",
        ),
        common.row(
            f"import {common.SMALL:,} points (GeoJSON, CLI)",
            "",
            f"{small['seconds']:.1f} s",
            None if small["stored"] == common.SMALL else False,
            f"{small['stored']:,} stored",
        ),
    ]
    if "phases_100k" in raw:
        p = raw["phases_100k"]
        rows.append(
            common.row(
                "  100k import in process: read file / validate / write",
                "",
                f"{p['read_file_s']:.1f} / {p['validate_s']:.1f} / {p['write_s']:.1f} s",
                None,
                f"Point.to_record for all points: {p['to_record_all_points_s']:.1f} s",
            )
        )
    common.save(args.data_dir, "import", rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
