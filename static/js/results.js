/* The answer in view (issue 17, part 3): the nearest points listed and numbered 1, 2, 3..., the
 * same numbers on the map's markers, the filters folded away and the focus on the list (a screen
 * reader announces it). On a phone the list takes the whole panel and the map comes with a
 * button, so the first results are read without scrolling. */

import { pointUrl, showOnMap, withPopup } from "./clusters.js";
import { actionRow } from "./directions.js";
import { keepPointPages } from "./offline.js";
import { el, kindLine, link } from "./words.js";

const NUMBER_SIZE = 48; // px: a numbered marker is a thumb-sized tap target
const FIT_PADDING_PX = 30;
const FIT_MAX_ZOOM = 15;
const PHONE = window.matchMedia("(max-width: 799px)"); // as the media query in map.css

function resultItem(app, p, number) {
  const words = app.words;
  const item = el("li", "result" + (p.stale ? " result-stale" : ""));
  item.dataset.id = p.id;
  item.appendChild(el("span", "result-number", String(number))).setAttribute("aria-hidden", "true");
  const title = el("h3");
  const name = link(pointUrl(app, p.id), p.name, app.settings.embed);
  name.className = "point-link";
  title.appendChild(name);
  item.appendChild(title);
  const direction = words.compass[p.direction] || p.direction;
  const line = el("p", "result-distance", words.distanceText(p.distance_m) + " · " + direction + " · ");
  line.appendChild(el("span", "badge badge-" + p.status, words.status[p.status]));
  if (p.kind === "mobile") line.appendChild(el("span", "badge badge-mobile", words.text("mobile")));
  item.appendChild(line);
  item.appendChild(kindLine(words, p.category, p.business_type));
  const hours = app.hours // "closed by schedule, opens at 09:00" (hours.js, when loaded)
    ? app.hours.featureHoursLine(p, words, Date.now())
    : p.hours_state === "open_unknown" ? words.hours.text.hours_not_given : "";
  if (hours) item.appendChild(el("p", "hours-line hours-" + p.hours_state, hours));
  const where = [p.address, p.settlement].filter(Boolean).join(", ");
  if (where) item.appendChild(el("p", null, where));
  item.appendChild(el("p", "age", words.confirmedText(p.verified_at ? Date.parse(p.verified_at) / 1000 : 0)));
  // Why it stands here (domain/trust.py): a doubtful status says so and ranks lower.
  if (p.trust && p.trust !== "fresh") item.appendChild(el("p", "stale-warning trust-" + p.trust, words.trust[p.trust]));
  else if (p.stale) item.appendChild(el("p", "stale-warning", words.text("stale")));
  if (p.services.length) {
    const names = p.services.map(function (service) {
      return words.service[service] || service;
    });
    item.appendChild(el("p", "services-line", names.join(" · ")));
  }
  const show = el("button", "action action-map", words.text("show_on_map"));
  show.type = "button";
  show.addEventListener("click", function () {
    showMap(app, true);
    showOnMap(app, p.id);
  });
  item.appendChild(actionRow(words, p.lat, p.lon, p.phone, [show]));
  return item;
}

function numberedMarker(app, p, number) {
  const marker = L.marker([p.lat, p.lon], {
    icon: L.divIcon({
      className: "result-marker result-marker-" + p.status,
      html: el("span", null, String(number)),
      iconSize: [NUMBER_SIZE, NUMBER_SIZE],
      iconAnchor: [NUMBER_SIZE / 2, NUMBER_SIZE / 2],
    }),
    title: number + ". " + p.name,
    keyboard: true,
    zIndexOffset: 1000, // above the clusters and points
  });
  const point = app.points.find(function (q) {
    return q.id === p.id;
  });
  if (point) return withPopup(app, marker, point);
  marker.pointId = p.id; // (not among the map's points: no popup)
  return marker;
}

/** Show the nearest points under a heading: listed, numbered on the map, in view, focused. */
export function showResults(app, features, heading, origin) {
  app.results.textContent = "";
  app.statusLine.textContent = features.length ? heading : app.words.text("none_found");
  // how the list is ordered (domain/trust.py), on a line of its own under the heading
  if (features.length) app.statusLine.appendChild(el("small", "ranked-note", app.words.text("ranked")));
  if (!app.resultLayer) app.resultLayer = L.layerGroup().addTo(app.map);
  app.resultLayer.clearLayers();
  const bounds = L.latLngBounds([origin]);
  features.forEach(function (feature, i) {
    const p = feature.properties;
    app.results.appendChild(resultItem(app, p, i + 1));
    app.resultLayer.addLayer(numberedMarker(app, p, i + 1));
    bounds.extend([p.lat, p.lon]);
  });
  app.resultBounds = features.length ? bounds : null;
  app.root.classList.add("has-results");
  if (app.form.tagName === "DETAILS") app.form.open = false; // the filters fold away: the answer comes first
  showMap(app, app.root.dataset.view === "map");
  app.root.dataset.nearest = String(features.length);
  if (!app.snapshotAt) {
    keepPointPages(
      features.map(function (feature) {
        return feature.properties.id;
      })
    );
  }
  app.results.focus({ preventScroll: true });
  inView(app);
}

// Scroll the panel (never the page: the widget lives in a partner's page) to the heading, or
// to the first result if both do not fit.
function inView(app) {
  const panel = app.results.closest(".panel");
  const first = app.results.firstElementChild;
  if (!panel) return;
  const top = panel.getBoundingClientRect().top;
  panel.scrollTop += app.statusLine.getBoundingClientRect().top - top;
  if (first && first.getBoundingClientRect().bottom > panel.getBoundingClientRect().bottom) {
    panel.scrollTop += first.getBoundingClientRect().top - top;
  }
}

/** On a phone, the results' map (true) or their list; elsewhere both show, and this only fits
 *  the map to the results. */
export function showMap(app, onMap) {
  const toggle = app.viewToggle;
  app.root.dataset.view = onMap ? "map" : "list";
  if (toggle) toggle.textContent = app.words.text(onMap ? "show_list" : "show_map");
  if (toggle) toggle.setAttribute("aria-expanded", String(onMap));
  app.map.invalidateSize({ animate: false }); // its box was hidden or resized
  if (app.resultBounds && (onMap || !PHONE.matches)) {
    app.map.fitBounds(app.resultBounds, { padding: [FIT_PADDING_PX, FIT_PADDING_PX], maxZoom: FIT_MAX_ZOOM, animate: false });
  }
  if (app.onState) app.onState();
}

/** The phone's "Map" / "List" button. */
export function startViewToggle(app, button) {
  app.viewToggle = button;
  if (!button) return;
  button.addEventListener("click", function () {
    const onMap = app.root.dataset.view !== "map";
    showMap(app, onMap);
    (onMap ? app.map.getContainer() : app.results).focus();
  });
}
