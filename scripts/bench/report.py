"""Gather the pieces' results into one table; print it, and with --write update docs/benchmarks.md.

The document is generated except for the block between NOTES_START and NOTES_END, which is kept
as it is from one run to the next (the diagnosis written by people).

Example: .venv/bin/python scripts/bench/report.py --data-dir /tmp/locator-bench --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import common
import report_backends

PIECES = (
    ("nearest", "nearest_bench.py", "Nearest lookups in process"),
    ("http", "http_bench.py", "HTTP through gunicorn, side by side with bare Flask"),
    ("writes", "writes_under_load.py", "Writes under read load"),
    ("import", "import_bench.py", "Import"),
    ("map", "map_bench.py", "Map page in headless Chromium"),
    ("phone", "phone_bench.py", "The map on a slow phone (Lighthouse's mobile profile)"),
    ("backends", "backends_bench.py", report_backends.TITLE),
    ("planner", "planner_bench.py", "The planner: coverage and where to send mobile points"),
)
OWN_SECTION = {"backends"}  # pieces with a section of their own instead of rows and raw figures
NOTES_START = "<!-- notes: kept by report.py from run to run -->"
NOTES_END = "<!-- /notes -->"
BULKY = {"server_logs_tail"}  # raw keys left out of the document
VERDICT = {True: "PASS", False: "MISS", None: ""}


def described(script: str) -> str:
    """The piece's own description: its module docstring without the example line."""
    source = (common.BENCH / script).read_text()
    text = ast.get_docstring(ast.parse(source)) or ""
    return "\n".join(line for line in text.splitlines() if not line.startswith("Example:")).strip()


def command(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"


def machine() -> dict[str, str]:
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    memory_gib = int(meminfo["MemTotal"].split()[0]) / 1024 / 1024
    dirty = command(
        "git", "-C", str(common.ROOT), "status", "--porcelain", "--", "locator", "templates", "static"
    )
    return {
        "cpus (nproc)": str(os.cpu_count()),
        "memory": f"{memory_gib:.1f} GiB (MemTotal {meminfo['MemTotal'].strip()})",
        "cpu model": cpu,
        "load average at report": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": command(str(common.VENV_BIN / "gunicorn"), "--version"),
        "wrk": command("wrk", "--version"),
        "chromium": command("/usr/bin/chromium", "--version"),
        "code": command("git", "-C", str(common.ROOT), "log", "-1", "--format=%h %s")
        + ("" if dirty in ("", "?") else " (plus uncommitted changes in locator/, templates/ or static/)"),
    }


def calibration(data_dir: Path) -> str:
    """The CPU check at the start and the end of the run: how much the machine's speed moved."""
    found = []
    for name in ("start", "end"):
        path = data_dir / "results" / f"calibration-{name}.json"
        if path.is_file():
            check = json.loads(path.read_text())
            load = " ".join(f"{x:.1f}" for x in check["load_average"])
            found.append(f"{name} {check['ms']:.0f} ms (load average {load})")
    return "; ".join(found) or "not measured"


def load(data_dir: Path) -> dict[str, dict]:
    results = {}
    for name, _, _ in PIECES:
        path = data_dir / "results" / f"{name}.json"
        if path.is_file():
            results[name] = json.loads(path.read_text())
    return results


def table_rows(results: dict[str, dict], own_sections: bool = False) -> list[dict]:
    rows = []
    for name, script, _ in PIECES:
        if name in OWN_SECTION and not own_sections:
            continue
        if name in results:
            rows.extend(results[name]["rows"])
        else:
            rows.append(common.row(f"{script}: no results", "", "did not run or failed", False))
    return rows


def print_table(rows: list[dict]) -> None:
    width = max(len(r["metric"]) for r in rows)
    measured = max(len(r["measured"]) for r in rows)
    print()
    print(f"{'metric':<{width}}  {'target':<12}  {'measured':<{measured}}  result")
    print("-" * (width + measured + 26))
    for r in rows:
        print(f"{r['metric']:<{width}}  {r['target']:<12}  {r['measured']:<{measured}}  {VERDICT[r['pass']]}")
    misses = [r["metric"].strip() for r in rows if r["pass"] is False]
    print()
    print(f"{len(misses)} target(s) missed" + (": " + "; ".join(misses) if misses else ""))


def markdown(rows: list[dict], results: dict[str, dict], info: dict[str, str], started: float | None) -> str:
    now = time.gmtime()
    took = f", the whole run took {(time.time() - started) / 60:.1f} min" if started else ""
    lines = [
        "# Benchmarks",
        "",
        "Issue 5: fast at national scale (100,000 points), and proven so. Everything here is",
        "generated by `scripts/bench/run.sh` except the notes block; rerun it to refresh the figures.",
        "",
        "## How to rerun",
        "",
        "```sh",
        "./scripts/bench/run.sh            # 11-14 minutes on 2 cores; rewrites this file",
        "./scripts/bench/run.sh --quick    # a short try of the harness; prints, writes nothing",
        "```",
        "",
        "It installs what it needs (`wrk` and `chromium` from Debian if missing, the test",
        "requirements into `.venv`), generates the data sets with `scripts/generate_points.py`",
        "(`--area ukraine --seed 1`, 100,000 and 13,000 points, cached in `/tmp/locator-bench` or",
        "`$BENCH_DATA_DIR`), and runs the pieces in `scripts/bench/`, each of which can also run alone",
        "(`.venv/bin/python scripts/bench/nearest_bench.py --help`). All load goes to 127.0.0.1 only,",
        "bounded in time. Servers are gunicorn with `scripts/gunicorn.conf.py` (WEB_CONCURRENCY=2,",
        "ACCESS_LOG=0), on a copy of a database holding the 100,000 generated points.",
        "",
        "This machine is small and shared, so absolute figures move from run to run (by a factor",
        "of two at times); HTTP figures are therefore compared side by side in the same run, as",
        "ratios to a bare Flask app served the same way.",
        "",
        f"## Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', now)}{took}",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines += [
        "",
        "| metric | target | measured | result | notes |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        metric = r["metric"].replace("|", "\\|")
        indent = "&nbsp;&nbsp;" if r["metric"].startswith("  ") else ""
        cells = [indent + metric.strip(), r["target"], r["measured"], VERDICT[r["pass"]], r.get("note", "")]
        lines.append("| " + " | ".join(c.replace("|", "\\|") if i else c for i, c in enumerate(cells)) + " |")
    if "backends" in results:
        lines += ["", own_section(results["backends"], time.time())]
    lines += ["", "## Raw figures", ""]
    for name, script, title in PIECES:
        if name not in results or name in OWN_SECTION:
            continue
        raw = {k: v for k, v in results[name]["raw"].items() if k not in BULKY}
        lines += [
            f"### {title} (`scripts/bench/{script}`)",
            "",
            described(script),
            "",
            "<details><summary>raw figures</summary>",
            "",
            "```json",
            json.dumps(raw, indent=1, ensure_ascii=False),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def own_section(result: dict, finished: float) -> str:
    return report_backends.section(result, described("backends_bench.py"), finished)


def notes_block(existing: str) -> str:
    if NOTES_START in existing and NOTES_END in existing:
        start = existing.index(NOTES_START)
        return existing[start : existing.index(NOTES_END) + len(NOTES_END)]
    return f"{NOTES_START}\n## Notes\n\n(Diagnosis of the misses goes here; report.py keeps it.)\n{NOTES_END}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--write", type=Path, help="the Markdown file to update (docs/benchmarks.md)")
    parser.add_argument("--started", type=float, help="when the run started (seconds since the epoch)")
    parser.add_argument("--calibrate", metavar="NAME", help="only time the CPU check now, as NAME")
    parser.add_argument(
        "--section",
        choices=["backends"],
        help="with --write: only replace this piece's section of the document, the rest kept as it is",
    )
    args = parser.parse_args()
    if args.calibrate:
        check = {"ms": common.calibration_ms(), "load_average": os.getloadavg()}
        (args.data_dir / "results").mkdir(parents=True, exist_ok=True)
        (args.data_dir / "results" / f"calibration-{args.calibrate}.json").write_text(json.dumps(check))
        print(f"CPU check ({args.calibrate}): {check['ms']} ms, load average {check['load_average']}")
        return 0
    results = load(args.data_dir)
    if args.section:
        result = report_backends.load(args.data_dir)
        if result is None:
            sys.exit(f"no results of {args.section} in {args.data_dir}")
        print_table(result["rows"])
        if args.write:
            text = own_section(result, report_backends.finished_at(args.data_dir))
            args.write.write_text(report_backends.replace_in(args.write.read_text(), text))
            print(f"\nwrote the {args.section} section of {args.write}")
        return 0
    rows = table_rows(results)
    print_table(table_rows(results, own_sections=True))
    if args.write:
        existing = args.write.read_text() if args.write.is_file() else ""
        info = machine() | {"CPU check (fixed pure-Python loop, best of 3)": calibration(args.data_dir)}
        text = markdown(rows, results, info, args.started)
        head, _, tail = text.partition("## Raw figures")
        args.write.write_text(head + notes_block(existing) + "\n\n## Raw figures" + tail + "\n")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
