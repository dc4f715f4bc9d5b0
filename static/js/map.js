/* The public map's entry module (also the embed widget's): reads the server's settings and
 * words from the page (data-settings, data-labels), loads every point once (the compact table),
 * and starts each part: clusters.js draws, filters.js filters, nearest.js and search.js answer,
 * offline.js covers for a lost connection. Leaflet (L), supercluster and folium's map script
 * are classic scripts that have run before this module (see templates/_map_scripts.html). */

import { applyFilters, nameControls, startClusters } from "./clusters.js";
import { judgeHoursWith } from "./filters.js";
import { startNearMe } from "./nearest.js";
import { refreshWhenOnline, registerWorker, showSnapshot } from "./offline.js";
import { decodeTable } from "./points.js";
import { startViewToggle } from "./results.js";
import { startSearch } from "./search.js";
import { restoreAnswer, startState } from "./state.js";
import { makeWords } from "./words.js";

const root = document.getElementById("map-app");
const settings = JSON.parse(root.dataset.settings);
const app = {
  root: root,
  settings: settings,
  words: makeWords(JSON.parse(root.dataset.labels)),
  map: window[settings.map], // folium's map, named in the settings
  form: document.getElementById("filters"),
  statusLine: document.getElementById("status-line"),
  results: document.getElementById("results"),
  offlineBanner: document.getElementById("offline-banner"),
  latin: {}, // settlement -> [key, loose key] (locator/search/transliteration.py)
  count: document.getElementById("point-count"),
  points: [], // {id, lat, lon, status, kind, category, base, services, verifiedAt, name, ...}
  features: [], // one per point, as supercluster reads them
  snapshotAt: null, // offline: when the server last confirmed the worker's copy (ms); null online
  dataAt: 0, // when the points shown were current (ms)
  complete: false, // the whole table has come (not only the opening view's points)
  hours: null, // static/js/hours.js once loaded (only when a point has opening hours)
};

// Draw what passes the filters and say how many: of how many, when the filters hide some.
function filterAndCount() {
  const shown = applyFilters(app);
  const total = app.points.length;
  const values = { n: total, shown: shown, time: app.words.clockTime(app.dataAt || Date.now()) };
  if (app.count) app.count.textContent = app.words.plural(shown < total ? "loaded_filtered" : "loaded", shown < total ? values : { n: shown, time: values.time });
  return shown;
}

// The points of a compact table (the whole one, or the opening view's) become the map's.
function takeTable(data) {
  settings.services = data.services;
  const table = decodeTable(data);
  app.points = table.points;
  app.features = table.features;
}

/* Many points: the opening view's first (settings.viewUrl, a box the server works out from the
 * opening centre and zoom, preloaded by the page), a small answer, so markers show before the
 * whole table has crossed a slow link (issue 17: 13,000 points, first markers in under 2.5 s on a
 * 1.6 Mbit/s phone). The whole table is asked for once that is in, and replaces it. */
function loadViewFirst() {
  return fetch(settings.viewUrl, { headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(function (data) {
      if (!data || app.complete) return;
      takeTable(data);
      applyFilters(app); // drawn, not counted: the count waits for the whole table
    })
    .catch(function () {}); // the whole table answers anyway
}

// quiet: a refresh of points already shown (back online); a failure then changes nothing.
function loadPoints(quiet) {
  const text = app.words.text;
  if (!quiet) app.statusLine.textContent = text("loading");
  let kept = null;
  return fetch(settings.pointsUrl, { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      if (settings.snapshotHeader && response.headers.get(settings.snapshotHeader)) {
        kept = Date.parse(response.headers.get("Date") || "") || 0; // when the server sent it
      }
      return response.json();
    })
    .then(function (data) {
      app.complete = true;
      takeTable(data);
      app.latin = data.latin || {}; // settlement -> its Latin keys, for the offline search
      if (kept === 0) kept = Date.parse(data.generated_at) || Date.now();
      // the body may be older than this moment, but the server confirmed it is current (ETag)
      app.dataAt = kept || Date.now();
      filterAndCount();
      showSnapshot(app, kept);
      if (app.statusLine.textContent === text("loading")) app.statusLine.textContent = "";
      if (!quiet) restoreAnswer(app, state);
      root.dataset.loaded = "true";
      judgeHours();
    })
    .catch(function () {
      if (quiet) return;
      app.statusLine.textContent = text("load_failed");
      root.dataset.loaded = "error";
    });
}

// Opening hours: the library comes after the first markers, and only when a point has hours;
// then the filters run again, now judging the hours (data-hours: "none", "ready" or "failed").
function judgeHours() {
  const needed = app.points.some(function (point) {
    return Boolean(point.openingHours);
  });
  if (!needed) {
    root.dataset.hours = "none";
    return;
  }
  import("./hours.js")
    .then(function (hours) {
      return hours.loadHours().then(function () {
        app.hours = hours;
        judgeHoursWith(hours.isOpenNow);
        filterAndCount(); // "open now" now judges the hours: the count says so too
        root.dataset.hours = "ready";
        if (settings.serviceWorker) hours.keepForOffline();
      });
    })
    .catch(function () {
      root.dataset.hours = "failed"; // hours count as not given: the status alone decides
    });
}

// (the embed has no worker, and in its sandbox even reading navigator.serviceWorker throws)
if (settings.serviceWorker && "serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (app.hours) app.hours.keepForOffline();
  });
}
startClusters(app);
nameControls(app);
const state = startState(app); // the filters as the address says, before the points are drawn
startNearMe(app, document.getElementById("near-me"));
startSearch(app, document.getElementById("search-form"), document.getElementById("search-input"));
startViewToggle(app, document.getElementById("view-toggle"));
const legend = document.getElementById("legend");
if (legend && window.matchMedia("(min-width: 800px)").matches) legend.open = true; // folded on a phone
app.form.addEventListener("change", filterAndCount);
refreshWhenOnline(app, function () {
  loadPoints(true);
});
registerWorker(settings);
// Offline the worker's whole table is as quick; online, the view first has the link to itself.
if (settings.viewUrl && navigator.onLine) loadViewFirst().then(loadPoints);
else loadPoints();
