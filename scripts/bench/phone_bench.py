"""The public map on a slow phone: Chromium under Lighthouse's mobile profile (issue 17).

Debian's Chromium, a 390x844 touch screen (device scale 3), and the DevTools throttling Lighthouse's
mobile profile names: 150 ms round trip, 1.6 Mbit/s down, 0.75 Mbit/s up, the CPU slowed 4x.
Each load is a fresh context (empty cache) against gunicorn on 127.0.0.1; map tiles are answered
with a 1x1 PNG and left out of the bytes, anything not on 127.0.0.1 is refused. Measured, for the
demo data (data/points.geojson) and for 13,000 random points across Ukraine (today's network):
- time to first markers: navigation start until the first point or cluster icon is on the map;
- bytes before first markers: every response (HTML, scripts, styles, data; headers included, as
  the Resource Timing API's transferSize counts them) finished by then;
- "near me": from the tap until the first result is wholly on screen: inside the window and
  every scrolling box around it (geolocation granted at once, the map already loaded).

Example: .venv/bin/python scripts/bench/phone_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import common
from map_bench import CHROMIUM, CHROMIUM_ARGS, TILE_HOST, local_only, tile_png

LOADS = 3
RTT_MS = 150
DOWN_BYTES_S = 1_600_000 / 8
UP_BYTES_S = 750_000 / 8
CPU_SLOWDOWN = 4
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36",
    "locale": "uk-UA",
    "timezone_id": "Europe/Kyiv",
}
KYIV = {"latitude": 50.4501, "longitude": 30.5234}
TARGETS = {"demo_first_ms": 1500, "national_first_ms": 2500, "national_bytes": 200_000, "near_me_ms": 500}
TIMEOUT_MS = 120_000

# When the first point or cluster icon joins the map (a MutationObserver: no polling cost).
FIRST_MARKER = """
(() => {
  const marks = (window.__phone = {});
  new MutationObserver((changes, observer) => {
    if (document.querySelector(".leaflet-marker-pane .poi, .leaflet-marker-pane .marker-cluster")) {
      marks.first_marker = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""

# The bytes of every response of this site finished before the first marker, tiles aside.
BYTES_BEFORE = """
(tileHost) => {
  const at = window.__phone.first_marker;
  const nav = performance.getEntriesByType("navigation")[0];
  let bytes = nav.transferSize, count = 1;
  for (const entry of performance.getEntriesByType("resource")) {
    if (entry.responseEnd > at || new URL(entry.name).hostname === tileHost) continue;
    bytes += entry.transferSize;
    count += 1;
  }
  return { at: at, bytes: bytes, responses: count };
}
"""

# Tap "near me" and wait until the first result is wholly on screen (or give up after 10 s):
# inside the window and inside every scrolling box around it (a panel that clips it hides it).
NEAR_ME = """
async () => {
  const wholly = (el) => {
    const box = el.getBoundingClientRect();
    const inWindow = box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth;
    if (box.height <= 0 || !inWindow) return false;
    for (let up = el.parentElement; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const clip = up.getBoundingClientRect();
      if (box.top < clip.top || box.bottom > clip.bottom || box.left < clip.left || box.right > clip.right) {
        return false;
      }
    }
    return true;
  };
  const started = performance.now();
  document.getElementById("near-me").click();
  return await new Promise((resolve) => {
    const check = () => {
      const first = document.querySelector("#results li, #results .result");
      if (first && wholly(first)) {
        const box = first.getBoundingClientRect();
        return resolve({ ms: performance.now() - started, top: box.top, bottom: box.bottom });
      }
      if (performance.now() - started > 10000) {
        const box = first ? first.getBoundingClientRect() : null;
        return resolve({ ms: null, top: box && box.top, bottom: box && box.bottom });
      }
      requestAnimationFrame(check);
    };
    check();
  });
}
"""


def load(browser, server: common.Server, png: bytes, near_me: bool) -> dict:
    """One cold load of "/" on the throttled phone; optionally "near me" once it is drawn."""
    foreign: list[str] = []
    route = local_only(png, foreign)

    context = browser.new_context(**PHONE)
    try:
        context.route("**/*", route)
        context.add_init_script(FIRST_MARKER)
        context.grant_permissions(["geolocation"], origin=server.base)
        context.set_geolocation(KYIV)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": RTT_MS,
                "downloadThroughput": DOWN_BYTES_S,
                "uploadThroughput": UP_BYTES_S,
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.goto(server.base + "/", wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function("() => window.__phone && window.__phone.first_marker", timeout=TIMEOUT_MS)
        first = page.evaluate(BYTES_BEFORE, TILE_HOST)
        result = {
            "first_marker_ms": round(first["at"]),
            "bytes": first["bytes"],
            "responses": first["responses"],
        }
        if near_me:
            page.wait_for_function(
                "() => document.getElementById('map-app').dataset.loaded === 'true'", timeout=TIMEOUT_MS
            )
            tapped = page.evaluate(NEAR_ME)
            result["near_me_ms"] = None if tapped["ms"] is None else round(tapped["ms"])
            result["near_me_box"] = [tapped["top"], tapped["bottom"]]
        result["foreign_requests"] = foreign
    finally:
        context.close()
    common.log(f"phone load: {result}")
    return result


def measure(browser, server: common.Server, png: bytes, loads: int) -> list[dict]:
    load(browser, server, png, near_me=False)  # the server's first answers (bodies made, cached)
    return [load(browser, server, png, near_me=True) for _ in range(loads)]


def median_of(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if r.get(key) is not None]
    return common.median(values) if len(values) == len(results) else None


def main() -> int:
    args = common.arguments(__doc__.split("\n\n")[0], loads=(int, LOADS, "measured page loads per data set"))
    from playwright.sync_api import sync_playwright

    loads = 1 if args.quick else args.loads
    env_tiles = {"LOCATOR_TILE_URL": f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"}
    national_seed = common.seed_db(args.data_dir, common.SMALL)
    measured: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        demo_db = work / "demo" / "locator.db"
        demo_db.parent.mkdir()
        common.flask(demo_db, "points", "import", str(common.ROOT / "data" / "points.geojson"))
        png = tile_png()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for name, db in (
                    ("demo", demo_db),
                    ("national", common.copy_db(national_seed, work / "national")),
                ):
                    with common.gunicorn(
                        name, "app:app", common.app_env(db, **env_tiles), work, "/"
                    ) as server:
                        measured[name] = measure(browser, server, png, loads)
            finally:
                browser.close()
    demo_first = median_of(measured["demo"], "first_marker_ms")
    national_first = median_of(measured["national"], "first_marker_ms")
    national_bytes = median_of(measured["national"], "bytes")
    demo_bytes = median_of(measured["demo"], "bytes")
    near = [r.get("near_me_ms") for name in measured for r in measured[name]]
    near_me = common.median([v for v in near if v is not None]) if all(v is not None for v in near) else None
    foreign = sum(len(r["foreign_requests"]) for name in measured for r in measured[name])
    profile = f"{RTT_MS} ms RTT, 1.6/0.75 Mbit/s, CPU {CPU_SLOWDOWN}x, 390x844"

    def each(name: str, key: str, scale: float, unit: str) -> str:
        return ", ".join(
            f"{r[key] / scale:.2f}{unit}" if r.get(key) is not None else "cut off" for r in measured[name]
        )

    rows = [
        common.row(
            "phone: demo map, time to first markers (median)",
            f"< {TARGETS['demo_first_ms'] / 1000:.1f} s",
            f"{demo_first / 1000:.2f} s",
            demo_first < TARGETS["demo_first_ms"] and not foreign,
            f"{profile}; loads {each('demo', 'first_marker_ms', 1000, ' s')}; "
            f"{demo_bytes / 1000:.0f} KB by then",
        ),
        common.row(
            "phone: 13,000 points, time to first markers (median)",
            f"< {TARGETS['national_first_ms'] / 1000:.1f} s",
            f"{national_first / 1000:.2f} s",
            national_first < TARGETS["national_first_ms"] and not foreign,
            f"loads {each('national', 'first_marker_ms', 1000, ' s')}",
        ),
        common.row(
            "phone: 13,000 points, bytes before first markers (median)",
            f"< {TARGETS['national_bytes'] / 1000:.0f} KB",
            f"{national_bytes / 1000:.0f} KB",
            national_bytes < TARGETS["national_bytes"],
            f"loads {each('national', 'bytes', 1000, ' KB')} (headers included, tiles excluded)",
        ),
        common.row(
            "phone: near me, tap to first result wholly on screen (median)",
            f"< {TARGETS['near_me_ms'] / 1000:.1f} s",
            "cut off" if near_me is None else f"{near_me / 1000:.2f} s",
            near_me is not None and near_me < TARGETS["near_me_ms"],
            "taps " + ", ".join("cut off" if v is None else f"{v / 1000:.2f} s" for v in near),
        ),
    ]
    common.save(args.data_dir, "phone", rows, {"profile": profile, "loads": measured})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
