/* The nearest points to the reader ("near me", by geolocation) or to a place: asked of
 * /api/v1/nearest with the map's filters, or worked out from the kept points when offline, and
 * listed beside the map. */

import { narrowed, readFilter } from "./filters.js";
import { nearestHere } from "./offline.js";
import { showResults } from "./results.js";

const NEAREST_K = 5; // points listed
const HERE_DECIMALS = 5; // ~1 m: where "near me" was asked from, as the address bar keeps it
const GEOLOCATION = { enableHighAccuracy: false, timeout: 15000, maximumAge: 120000 };
const PERMISSION_DENIED = 1; // GeolocationPositionError.code
const HERE_MARKER = { radius: 9, color: "#0b3d91", weight: 3, fillOpacity: 0.4 };

// A narrowed box group as the API's comma list; the empty business type (state points) is the
// API's "none" (locator/domain/filters.py NO_BUSINESS_TYPE).
function partial(params, form, name, values) {
  const ticked = narrowed(form, name, values);
  if (!ticked) return;
  params.set(
    name,
    ticked
      .map(function (value) {
        return value === "" ? "none" : value;
      })
      .join(",")
  );
}

/** The API's URL for the nearest points to (lat, lon) with the page's fixed filters and the form's;
 *  null when a box group has nothing ticked: nothing passes, and the API has no word for that. */
export function nearestQuery(app, lat, lon) {
  const settings = app.settings;
  const wanted = readFilter(app.form, settings.services);
  if (nothingWanted(wanted)) return null;
  const params = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6), k: String(NEAREST_K) });
  Object.keys(settings.filters || {}).forEach(function (key) {
    params.set(key, settings.filters[key]);
  });
  const services = wanted.services.slice();
  if (settings.filters && settings.filters.services) {
    settings.filters.services.split(",").forEach(function (name) {
      if (services.indexOf(name) < 0) services.push(name);
    });
  }
  if (services.length) params.set("services", services.join(","));
  partial(params, app.form, "kind", wanted.kinds);
  partial(params, app.form, "category", wanted.categories);
  if (wanted.baseOnly) params.set("base", "true");
  if (wanted.bedOnly) params.set("bed", "true");
  partial(params, app.form, "business_type", wanted.businessTypes);
  if (wanted.openOnly) params.set("open_now", "true"); // (the API's default without status= too)
  return settings.nearestUrl + "?" + params.toString();
}

function nothingWanted(wanted) {
  return [wanted.kinds, wanted.categories, wanted.businessTypes].some(function (values) {
    return values && values.length === 0;
  });
}

/** List the nearest points to (lat, lon) under a heading; from the kept points when offline. */
export function findNearest(app, lat, lon, heading) {
  const query = app.snapshotAt ? null : nearestQuery(app, lat, lon);
  if (!query) {
    showResults(app, nearestHere(app, lat, lon, NEAREST_K), heading, [lat, lon]); // offline: from the snapshot
    return Promise.resolve();
  }
  return fetch(query)
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      showResults(app, data.features, heading, [lat, lon]);
    })
    .catch(function () {
      // the connection dropped since the points loaded: they are enough to answer
      if (app.points.length) showResults(app, nearestHere(app, lat, lon, NEAREST_K), heading, [lat, lon]);
      else app.statusLine.textContent = app.words.text("request_failed");
    });
}

/** The nearest points to the reader at (lat, lon), marked "you are here" on the map. The address
 *  bar keeps the place to ~1 m, so Back and a reload ask the same question again. */
export function nearMe(app, lat, lon) {
  const text = app.words.text;
  if (app.hereMarker) app.map.removeLayer(app.hereMarker);
  app.hereMarker = L.circleMarker([lat, lon], HERE_MARKER).bindTooltip(text("you_are_here")).addTo(app.map);
  app.question = { near: lat.toFixed(HERE_DECIMALS) + "," + lon.toFixed(HERE_DECIMALS) };
  return findNearest(app, lat, lon, text("nearest_to_you"));
}

/** The "near me" button: locate the reader, mark where they are, list what is nearest. */
export function startNearMe(app, button) {
  const text = app.words.text;
  button.addEventListener("click", function () {
    if (!navigator.geolocation) {
      app.statusLine.textContent = text("geo_unavailable");
      return;
    }
    app.statusLine.textContent = text("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        nearMe(app, position.coords.latitude, position.coords.longitude);
      },
      function (error) {
        app.statusLine.textContent = text(error.code === PERMISSION_DENIED ? "geo_denied" : "geo_unavailable");
      },
      GEOLOCATION
    );
  });
}
