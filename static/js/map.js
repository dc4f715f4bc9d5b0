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
import { startSearch } from "./search.js";
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
  points: [], // {id, lat, lon, status, kind, category, base, services, verifiedAt, name, ...}
  features: [], // one per point, as supercluster reads them
  snapshotAt: null, // offline: when the server last confirmed the worker's copy (ms); null online
  hours: null, // static/js/hours.js once loaded (only when a point has opening hours)
};

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
      settings.services = data.services;
      const table = decodeTable(data);
      app.points = table.points;
      app.features = table.features;
      const shown = applyFilters(app);
      if (kept === 0) kept = Date.parse(data.generated_at) || Date.now();
      showSnapshot(app, kept);
      // the body may be older than this moment, but the server confirmed it is current (ETag)
      if (!app.results.childElementCount) {
        app.statusLine.textContent = app.words.plural("loaded", { n: shown, time: app.words.clockTime(kept || Date.now()) });
      }
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
        applyFilters(app);
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
startNearMe(app, document.getElementById("near-me"));
startSearch(app, document.getElementById("search-form"), document.getElementById("search-input"));
app.form.addEventListener("change", function () {
  applyFilters(app);
});
refreshWhenOnline(app, function () {
  loadPoints(true);
});
registerWorker(settings);
loadPoints();
