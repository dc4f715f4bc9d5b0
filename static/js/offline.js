/* Offline (issue 7): the service worker's kept snapshot, the banner that says how old it is, and
 * the nearest points and settlements worked out here from the snapshot, as the API would answer. */

import { compassPoint, haversine } from "./distance.js";
import { passesBoxes, readFilter, serviceMask } from "./filters.js";
import { hasStatusIn, isStale, rankedDistance, trustOf } from "./points.js";

const RETRY_OFFLINE_MS = 60000; // on a weak link the "online" event never comes: try again now and then
const ONLINE_SETTLE_MS = 1500; // a connection that just came back often fails its very first request
const APOSTROPHES = /[’ʼ`´‘]/g; // each folded to "'", as locator/domain/filters.py's fold

/** Say whether the points come from the worker's copy, kept at `at` (ms), or (null) the network. */
export function showSnapshot(app, at) {
  app.snapshotAt = at;
  app.root.dataset.offline = at ? "true" : "false";
  if (!app.offlineBanner) return; // the embed has no worker, hence no banner
  app.offlineBanner.hidden = !at;
  app.offlineBanner.textContent = at ? app.words.text("offline", { time: app.words.clockTime(at) }) : "";
}

/** Load the points again (quietly) once the connection is back, or now and then while offline. */
export function refreshWhenOnline(app, reload) {
  function refreshIfOffline() {
    if (app.snapshotAt && navigator.onLine !== false) reload();
  }
  window.addEventListener("online", function () {
    window.setTimeout(refreshIfOffline, ONLINE_SETTLE_MS);
  });
  window.setInterval(refreshIfOffline, RETRY_OFFLINE_MS);
}

/** Register the service worker once the page has loaded, so installing it never competes with
 *  the first view. The embed has none (settings.serviceWorker is unset there). */
export function registerWorker(settings) {
  if (!settings.serviceWorker || !("serviceWorker" in navigator)) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(settings.serviceWorker).catch(function () {});
  });
}

/** The k best points passing the same filters the API would get from nearestQuery: exact
 *  haversine over every point, ranked by trust as /api/v1/nearest answers (search/ranking.py). */
export function nearestHere(app, lat, lon, k) {
  const settings = app.settings;
  const wanted = readFilter(app.form, settings.services);
  const fixed = settings.filters || {};
  const statuses = (fixed.status || "open").split(",");
  const mask = wanted.mask | serviceMask(fixed.services ? fixed.services.split(",") : [], settings.services);
  const now = Date.now();
  // as /api/v1/nearest: open now when only open or full points are asked for (or the box asks)
  const working = statuses.every(function (status) {
    return status === "open" || status === "full";
  });
  const openNowOnly = wanted.openOnly || (fixed.open_now ? fixed.open_now === "true" : working);
  const hits = [];
  const nowS = now / 1000;
  const weights = settings.trustWeights;
  app.points.forEach(function (p) {
    if (!hasStatusIn(p, statuses) || (p.services & mask) !== mask) return;
    if (openNowOnly && app.hours && !app.hours.isOpenNow(p, now)) return; // (not loaded: no hours)
    if (!passesBoxes(p, wanted)) return;
    const distance = haversine(lat, lon, p.lat, p.lon);
    const trust = trustOf(p, settings.staleAfterS, nowS);
    hits.push({ point: p, distance: distance, trust: trust, ranked: rankedDistance(distance, trust, weights) });
  });
  // The API's order (search/ranking.py): ranked distance, then distance, then id.
  hits.sort(function (a, b) {
    return (
      a.ranked - b.ranked ||
      a.distance - b.distance ||
      (a.point.id < b.point.id ? -1 : a.point.id > b.point.id ? 1 : 0)
    );
  });
  return hits.slice(0, k).map(function (hit) {
    const p = hit.point;
    const hours = app.hours ? app.hours.openNow(p, now) : { state: p.openingHours ? "" : "open_unknown" };
    return {
      properties: {
        id: p.id,
        name: p.name,
        status: p.status,
        kind: p.kind,
        address: p.address,
        settlement: p.settlement,
        lat: p.lat,
        lon: p.lon,
        stale: isStale(p, settings.staleAfterS),
        trust: hit.trust,
        verified_at: p.verifiedAt ? new Date(p.verifiedAt * 1000).toISOString() : null, // 0: never confirmed
        services: settings.services.filter(function (name, bit) {
          return p.services & (1 << bit);
        }),
        distance_m: hit.distance,
        opening_hours: p.openingHours,
        open_now: hours.openNow,
        hours_state: hours.state,
        next_change_at: hours.nextChange ? new Date(hours.nextChange).toISOString() : null,
        direction: compassPoint(lat, lon, p.lat, p.lon),
      },
    };
  });
}

function fold(value) {
  return value.toLowerCase().replace(APOSTROPHES, "'");
}

/** A Latin query as locator/search/transliteration.py's key and loose read it ("Brovary"). */
export function latinKeys(query) {
  const plain = query
    .toLowerCase()
    .replace(/[łøđıæœð]/g, function (c) {
      return LATIN_EXTRA[c];
    })
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "");
  const key = plain.replace(/[^a-z0-9]+/g, "");
  return [key, key.replace(/[yij]/g, "").replace(/w/g, "v").replace(/(.)\1+/g, "$1")];
}

// transliteration.py's LATIN_EXTRA: letters with no mark to strip
const LATIN_EXTRA = { ł: "l", ø: "o", đ: "d", ı: "i", æ: "ae", œ: "oe", ð: "d" };
const LATIN_QUERY = /^[\x00-\x7f\u00c0-\u024f]*[A-Za-z][\x00-\x7f\u00c0-\u024f]*$/;

/** Settlements of the kept points matching a name, best first, as /api/v1/places ranks them.
 *  A Latin query is matched on the snapshot's Latin keys (``latin``: name -> [key, loose]). */
export function placesHere(points, query, latin) {
  const needle = fold(query);
  const wanted = LATIN_QUERY.test(query) && latin ? latinKeys(query) : null;
  const matches = {};
  function matching(name) {
    if (!(name in matches)) {
      const keys = wanted && latin[name];
      matches[name] = keys
        ? keys[0].indexOf(wanted[0]) >= 0 || keys[1].indexOf(wanted[1]) >= 0
        : fold(name).indexOf(needle) >= 0;
    }
    return matches[name];
  }
  const groups = {};
  points.forEach(function (p) {
    if (!p.settlement || !matching(p.settlement)) return;
    const place = groups[p.settlement] || (groups[p.settlement] = { name: p.settlement, lat: 0, lon: 0, points: 0 });
    place.lat += p.lat;
    place.lon += p.lon;
    place.points += 1;
  });
  function rank(place) {
    const name = wanted ? latin[place.name][0] : fold(place.name);
    const target = wanted ? wanted[0] : needle;
    return [name !== target ? 1 : 0, name.indexOf(target) === 0 ? 0 : 1, -place.points];
  }
  return Object.keys(groups)
    .map(function (name) {
      const place = groups[name];
      return { name: name, lat: place.lat / place.points, lon: place.lon / place.points, points: place.points };
    })
    .sort(function (a, b) {
      const ra = rank(a);
      const rb = rank(b);
      return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
}

/** Ask the service worker to keep these points' pages (with phone numbers) for a lost connection. */
export function keepPointPages(ids) {
  let worker = null;
  try {
    worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  } catch (error) {
    return; // a sandboxed frame (the widget) may not even ask
  }
  if (worker) worker.postMessage({ type: "keep-points", ids: ids });
}
