/* The nearest points to the reader ("near me", by geolocation) or to a place: asked of
 * /api/v1/nearest with the map's filters, or worked out from the kept points when offline, and
 * listed beside the map. */

import { pointUrl, showOnMap } from "./clusters.js";
import { readFilter } from "./filters.js";
import { directionsUrl, el, link } from "./words.js";
import { nearestHere } from "./offline.js";

const NEAREST_K = 5; // points listed
const FIT_PADDING_PX = 30;
const FIT_MAX_ZOOM = 15;
const GEOLOCATION = { enableHighAccuracy: false, timeout: 15000, maximumAge: 120000 };
const PERMISSION_DENIED = 1; // GeolocationPositionError.code
const HERE_MARKER = { radius: 9, color: "#0b3d91", weight: 3, fillOpacity: 0.4 };

/** The API's URL for the nearest points to (lat, lon) with the page's fixed filters and the form's. */
function nearestQuery(app, lat, lon) {
  const settings = app.settings;
  const wanted = readFilter(app.form, settings.services);
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
  if (wanted.kinds && wanted.kinds.length === 1) params.set("kind", wanted.kinds[0]);
  if (wanted.categories && wanted.categories.length === 1) params.set("category", wanted.categories[0]);
  if (wanted.baseOnly) params.set("base", "true");
  if (wanted.openOnly) params.set("open_now", "true"); // (the API's default without status= too)
  return settings.nearestUrl + "?" + params.toString();
}

function resultItem(app, p) {
  const words = app.words;
  const item = el("li", "result" + (p.stale ? " result-stale" : ""));
  const title = el("h3");
  title.appendChild(link(pointUrl(app, p.id), p.name, app.settings.embed));
  item.appendChild(title);
  const direction = words.compass[p.direction] || p.direction;
  const line = el("p", "result-distance", words.distanceText(p.distance_m) + " · " + direction + " · ");
  line.appendChild(el("span", "badge badge-" + p.status, words.status[p.status]));
  if (p.kind === "mobile") line.appendChild(el("span", "badge badge-mobile", words.text("mobile")));
  item.appendChild(line);
  const hours = app.hours // "closed by schedule, opens at 09:00" (hours.js, when loaded)
    ? app.hours.featureHoursLine(p, words, Date.now())
    : p.hours_state === "open_unknown" ? words.hours.text.hours_not_given : "";
  if (hours) item.appendChild(el("p", "hours-line hours-" + p.hours_state, hours));
  const where = [p.address, p.settlement].filter(Boolean).join(", ");
  if (where) item.appendChild(el("p", null, where));
  item.appendChild(el("p", "age", words.text("verified", { age: words.ageText(Date.parse(p.verified_at) / 1000) })));
  if (p.stale) item.appendChild(el("p", "stale-warning", words.text("stale")));
  if (p.services.length) {
    const names = p.services.map(function (name) {
      return words.service[name] || name;
    });
    item.appendChild(el("p", "services-line", names.join(" · ")));
  }
  const actions = el("p", "actions");
  const show = el("button", "link-button", words.text("show_on_map"));
  show.type = "button";
  show.addEventListener("click", function () {
    showOnMap(app, p.id);
  });
  actions.appendChild(show);
  actions.appendChild(document.createTextNode(" · "));
  actions.appendChild(link(directionsUrl(p.lat, p.lon), words.text("directions"), true));
  item.appendChild(actions);
  return item;
}

function renderNearest(app, features, heading, origin) {
  app.results.textContent = "";
  app.statusLine.textContent = features.length ? heading : app.words.text("none_found");
  const bounds = L.latLngBounds([origin]);
  features.forEach(function (feature) {
    const p = feature.properties;
    app.results.appendChild(resultItem(app, p));
    bounds.extend([p.lat, p.lon]);
  });
  if (features.length) app.map.fitBounds(bounds, { padding: [FIT_PADDING_PX, FIT_PADDING_PX], maxZoom: FIT_MAX_ZOOM });
  app.root.dataset.nearest = String(features.length);
}

/** List the nearest points to (lat, lon) under a heading; from the kept points when offline. */
export function findNearest(app, lat, lon, heading) {
  if (app.snapshotAt) {
    renderNearest(app, nearestHere(app, lat, lon, NEAREST_K), heading, [lat, lon]); // offline: from the snapshot
    return Promise.resolve();
  }
  return fetch(nearestQuery(app, lat, lon))
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      renderNearest(app, data.features, heading, [lat, lon]);
    })
    .catch(function () {
      // the connection dropped since the points loaded: they are enough to answer
      if (app.points.length) renderNearest(app, nearestHere(app, lat, lon, NEAREST_K), heading, [lat, lon]);
      else app.statusLine.textContent = app.words.text("request_failed");
    });
}

/** The "near me" button: locate the reader, mark where they are, list what is nearest. */
export function startNearMe(app, button) {
  const text = app.words.text;
  let hereMarker = null;
  button.addEventListener("click", function () {
    if (!navigator.geolocation) {
      app.statusLine.textContent = text("geo_unavailable");
      return;
    }
    app.statusLine.textContent = text("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        const lat = position.coords.latitude;
        const lon = position.coords.longitude;
        if (hereMarker) app.map.removeLayer(hereMarker);
        hereMarker = L.circleMarker([lat, lon], HERE_MARKER).bindTooltip(text("you_are_here")).addTo(app.map);
        findNearest(app, lat, lon, text("nearest_to_you"));
      },
      function (error) {
        app.statusLine.textContent = text(error.code === PERMISSION_DENIED ? "geo_denied" : "geo_unavailable");
      },
      GEOLOCATION
    );
  });
}
