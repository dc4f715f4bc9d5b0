"""backends_bench.py's figures as rows: one side-by-side table (SQLite, PostgreSQL, their ratio)
for docs/benchmarks.md's issue 18 section, and the usual rows (one per backend) for run.sh's table."""

from __future__ import annotations

from typing import Any

import common

NEAREST_TARGET_US = 50.0
PATCH_P99_TARGET_MS = 50.0
IMPORT_TARGET_S = 30.0
PROPAGATION_P99_TARGET_MS = 1000.0
BACKENDS = ("sqlite", "postgresql")
SHORT = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def build(raw: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(rows, side-by-side table) from the raw figures."""
    table: list[dict] = []

    def line(metric, target, values, unit, *, limit=None, only=BACKENDS, note="", digits=1):
        """values: backend -> number; limit: the target as a number (below it passes)."""
        cells = {
            name: f"{values[name]:,.{digits}f} {unit}".strip() if name in values else "–" for name in BACKENDS
        }
        verdict = {
            name: None if limit is None or name not in only or name not in values else values[name] < limit
            for name in BACKENDS
        }
        ratio = values["postgresql"] / values["sqlite"] if values.get("sqlite") else None
        table.append(
            {
                "metric": metric,
                "target": target,
                **cells,
                "ratio": f"{ratio:.2f}" if ratio is not None else "",
                "pass": verdict,
                "note": note,
            }
        )

    imports = raw["import"]
    line(
        "import 100,000 points (`flask points import`)",
        "< 30 s",
        {n: imports[n]["seconds"] for n in BACKENDS},
        "s",
        limit=IMPORT_TARGET_S,
    )
    if "store_import_points" in imports:
        line(
            "  of which the write: `store.import_points`",
            "",
            {n: imports["store_import_points"][n]["write_s"] for n in BACKENDS},
            "s",
            digits=2,
        )
    nearest = raw["nearest"]
    line(
        "nearest in process: `index.nearest` k=5, median",
        "< 50 µs",
        {n: nearest[n]["index_nearest"]["median_us"] for n in BACKENDS},
        "µs",
        limit=NEAREST_TARGET_US,
        note="p99 " + " / ".join(f"{nearest[n]['index_nearest']['p99_us']:.0f}" for n in BACKENDS) + " µs",
    )
    line(
        "nearest in process: the API's body (`sync` + `nearest_body`), median",
        "",
        {n: nearest[n]["api_body"]["median_us"] for n in BACKENDS},
        "µs",
        note="p99 " + " / ".join(f"{nearest[n]['api_body']['p99_us']:.0f}" for n in BACKENDS) + " µs",
    )
    line(
        "index: cold build from the database",
        "",
        {n: nearest[n]["cold_build_s"] for n in BACKENDS},
        "s",
        digits=2,
    )
    knn = raw["knn"]
    table.append(
        {
            "metric": f"KNN k=5, open or full ({knn['queries']:,} places): PostGIS `<->` vs in-memory index,"
            " median",
            "target": "",
            "sqlite": "–",
            "postgresql": f"PostGIS {knn['postgis_median_us']:,.0f} µs; "
            f"index {knn['index_median_us']:,.1f} µs",
            "ratio": f"{knn['ratio_postgis_to_index']:.1f}x",
            "pass": {n: None for n in BACKENDS},
            "note": f"PostGIS p95 {knn['postgis_p95_us']:,.0f} µs, its own execution time (EXPLAIN ANALYZE) "
            f"median {knn['postgis_server_execution_median_us']:,.0f} µs; "
            f"index p95 {knn['index_p95_us']:,.1f} µs; "
            f"same ids in the same order {knn['same_ids_in_same_order']}/{knn['queries']}; "
            "ratio = PostGIS / index",
        }
    )
    writes = raw["writes"]
    line(
        "PATCH status under the full read load: p99",
        "< 50 ms",
        {n: writes[n]["p99_ms"] for n in BACKENDS},
        "ms",
        limit=PATCH_P99_TARGET_MS,
        note="; ".join(
            f"{SHORT[n]}: p50 {writes[n]['p50_ms']:.1f} ms, p99 by round "
            + "/".join(f"{r['p99_ms']:.0f}" for r in writes[n]["rounds"])
            + " ms, reads "
            + "/".join(str(r["reads_rps"]) for r in writes[n]["rounds"])
            + " req/s, "
            f"{writes[n]['verify']['acknowledged'] - writes[n]['verify']['lost']}/"
            f"{writes[n]['verify']['acknowledged']} writes found"
            for n in BACKENDS
        ),
    )
    prop = raw["propagation"]["postgresql"]
    for q in ("p50", "p99"):
        line(
            f"propagation, PATCH on node A -> node B's nearest shows it: {q}",
            "< 1 s" if q == "p99" else "",
            {"postgresql": prop["nearest"][f"{q}_ms"]},
            "ms",
            limit=PROPAGATION_P99_TARGET_MS if q == "p99" else None,
            note=f"{prop['writes']} writes, timed from A's answer; max {prop['nearest']['max_ms']:.0f} ms, "
            f"from the PATCH's send p{q[1:]} {prop['nearest_from_send'][f'{q}_ms']:.1f} ms; B's "
            f"/api/v1/points/<id> (the database) p{q[1:]} {prop['point'][f'{q}_ms']:.1f} ms; not seen "
            f"within 5 s: {prop['not_seen_within_s']}",
        )
    nodes = raw["nodes"]
    line(
        "node start-up: process start to first 200 on /healthz",
        "",
        {n: nodes[f"{n} A"]["start_s"] for n in BACKENDS},
        "s",
        digits=2,
        note=f"PostgreSQL node B: {nodes['postgresql B']['start_s']:.2f} s",
    )
    for who, pick in (("master", lambda m: m["master"]), ("one worker", lambda m: m["workers"][0])):
        for key in ("rss", "pss"):
            line(
                f"node memory after start, {who}: {key.upper()}",
                "",
                {n: pick(nodes[f"{n} A"]["memory"])[f"{key}_mib"] for n in BACKENDS},
                "MiB",
                note=_after_load(nodes, who, key),
            )
    rows = []
    for item in table:
        for name in BACKENDS:
            if item[name] != "–":
                rows.append(
                    common.row(
                        f"[{SHORT[name]}] {item['metric'].strip()}",
                        item["target"],
                        item[name],
                        item["pass"][name],
                    )
                )
    return rows, table


def _after_load(nodes: dict, who: str, key: str) -> str:
    found = []
    for name in BACKENDS:
        after = nodes[f"{name} A"].get("memory_after_load")
        if after:
            part = after["master"] if who == "master" else after["workers"][0]
            found.append(f"{part[f'{key}_mib']:.0f}")
    return ("after the write rounds: " + " / ".join(found) + " MiB") if len(found) == 2 else ""
