/* The map's state in the address bar (issue 17): the question (a place, or "near me" to ~1 m),
 * the filters, the open point and, on a phone, list or map. Written with history.replaceState
 * as it changes and read once at the start, so Back from a point's page, a reload or a shared
 * link come back to the same answer. Links to point pages carry it too: their link back to
 * the map (locator/web/public.py MAP_STATE) comes back here. The widget keeps none: its address is the
 * partner's embed code. */

import { showOnMap } from "./clusters.js";
import { narrowed, readFilter } from "./filters.js";
import { nearMe } from "./nearest.js";
import { searchPlace } from "./search.js";

const NEAR = /^(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$/; // "lat,lon"

// A narrowed box group (kinds, categories, business types): its ticked values, comma-separated.
function partial(params, form, name, values) {
  const ticked = narrowed(form, name, values);
  if (ticked) params.set(name, ticked.join(","));
}

/** The state as a query string (without "?"): what Back should bring back. */
export function stateQuery(app) {
  const params = new URLSearchParams();
  const question = app.question || {};
  if (question.place) params.set("place", question.place);
  if (question.near) params.set("near", question.near);
  const wanted = readFilter(app.form, app.settings.services);
  if (wanted.services.length) params.set("services", wanted.services.join(","));
  if (wanted.openOnly) params.set("open", "1");
  if (wanted.baseOnly) params.set("base", "1");
  if (wanted.bedOnly) params.set("bed", "1");
  partial(params, app.form, "kind", wanted.kinds);
  partial(params, app.form, "category", wanted.categories);
  partial(params, app.form, "business_type", wanted.businessTypes);
  if (app.selected) params.set("point", app.selected);
  if (app.question && app.root.dataset.view === "map") params.set("view", "map");
  return params.toString();
}

function save(app) {
  const query = stateQuery(app);
  const url = location.pathname + (query ? "?" + query : "") + location.hash;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", url);
}

// Tick a group's boxes as the address says; a group it does not name keeps the page's defaults.
function tick(form, name, value) {
  if (value === null) return;
  const wanted = value.split(",");
  form.querySelectorAll('input[name="' + name + '"]').forEach(function (box) {
    if (!box.disabled) box.checked = wanted.indexOf(box.value) >= 0;
  });
}

/** Set the filters from the address (before the points are drawn); keep the state from now on. */
export function startState(app) {
  if (app.settings.embed) return null;
  const params = new URLSearchParams(location.search);
  ["services", "open", "base", "bed", "kind", "category", "business_type"].forEach(function (name) {
    tick(app.form, name, params.get(name));
  });
  app.onState = function () {
    save(app);
  };
  app.form.addEventListener("change", app.onState);
  app.map.on("popupopen", function (event) {
    const source = event.popup._source; // the marker the popup belongs to (Leaflet 1.9)
    app.selected = (source && source.pointId) || event.popup.pointId || null;
    save(app);
  });
  app.map.on("popupclose", function () {
    app.selected = null;
    save(app);
  });
  // A point's page is opened with the state, for its link back to the map.
  document.addEventListener("click", function (event) {
    const a = event.target.closest && event.target.closest("a.point-link");
    if (a) a.search = stateQuery(app);
  });
  return params;
}

/** Once the points are in: ask the address's question again, then open its point. */
export function restoreAnswer(app, params) {
  if (!params) return;
  const place = params.get("place");
  const near = NEAR.exec(params.get("near") || "");
  if (params.get("view") === "map") app.root.dataset.view = "map";
  let asked = null;
  if (place) {
    document.getElementById("search-input").value = place;
    asked = searchPlace(app, place.slice(0, 100));
  } else if (near) {
    asked = nearMe(app, Number(near[1]), Number(near[2]));
  }
  const id = params.get("point");
  Promise.resolve(asked).then(function () {
    if (id) showOnMap(app, id);
    else save(app);
  });
}
