/* The map and its clustering (supercluster): the points passing the filters are indexed once, and
 * each time the map stops moving only the clusters and points in view (plus a margin) are drawn,
 * a few hundred markers at most, whether there are 300 points or 100,000. Also what is drawn: a
 * point's marker and popup, a cluster's marker, Leaflet's buttons named in the page's language;
 * keyboard users can reach and open all of them. */

import { matchingFeatures, readFilter } from "./filters.js";
import { isStale, serviceNames } from "./points.js";
import { actionRow } from "./directions.js";
import { el, kindLine, link } from "./words.js";

const ICON_SIZE = 48; // px: a thumb-sized tap target; the .poi symbol inside it is smaller (map.css)
const CLUSTER_ICON_SIZE = 48; // px
const ENTER = 13;
// 60 px on Leaflet's 256 px tiles; from zoom 17 on every point stands alone.
export const CLUSTERING = { radius: 60, extent: 256, maxZoom: 16 };
const VIEW_MARGIN = 0.5; // drawn beyond the view on each side, as a share of its size: short pans show no gap
const MAX_LAT = 85; // Web Mercator's edge, as supercluster clamps it
const NEAR_DEGREES = 1e-5; // ~1 m: a box around a point (a cluster sits at its members' centre)
const POPUP_MAX_WIDTH = 300; // px, Leaflet's default
const POPUP_CLEAR_LEFT = 64; // px: a popup pans clear of the zoom buttons (48 px, top left)
const POPUP_ROOM = 110; // px of the map's width a popup leaves: the buttons and its own margins
const POPUP_ROOM_Y = 210; // px of the page's height it leaves: header, the list/map button, its tip

// -- markers and popups ------------------------------------------------------------------

/** The link to a point's own page. */
export function pointUrl(app, id) {
  return app.settings.pointUrl.replace("__ID__", encodeURIComponent(id));
}

function iconFor(app, point) {
  let classes = "poi poi-" + point.status + " poi-" + point.kind;
  if (isStale(point, app.settings.staleAfterS)) classes += " poi-stale";
  if (point.base) classes += " poi-base";
  const half = ICON_SIZE / 2;
  return L.divIcon({ className: classes, iconSize: [ICON_SIZE, ICON_SIZE], iconAnchor: [half, half], popupAnchor: [0, -14], html: "" });
}

/** A popup's options: narrow enough on a phone to stand clear of the zoom buttons. */
function popupOptions() {
  return {
    // the page's width: the map may be hidden (a phone's list) when its markers are made
    maxWidth: Math.min(POPUP_MAX_WIDTH, document.documentElement.clientWidth - POPUP_ROOM),
    maxHeight: document.documentElement.clientHeight - POPUP_ROOM_Y, // taller ones scroll inside
    autoPanPaddingTopLeft: [POPUP_CLEAR_LEFT, 10],
  };
}

/** A point's popup: name, status, age, place, services and its links. */
export function popupFor(app, point) {
  const words = app.words;
  const box = el("div", "popup");
  box.appendChild(el("h3", null, point.name));
  const status = el("p", "popup-status");
  status.appendChild(el("span", "badge badge-" + point.status, words.status[point.status]));
  if (point.kind === "mobile") status.appendChild(el("span", "badge badge-mobile", words.text("mobile")));
  if (point.base) status.appendChild(el("span", "badge badge-base", words.text("base")));
  box.appendChild(status);
  box.appendChild(kindLine(words, point.category, point.businessType));
  if (point.status === "unconfirmed") box.appendChild(el("p", "unconfirmed-notice", words.text("unconfirmed")));
  // hours judged as the popup opens (app.hours: hours.js, loaded when a point has hours)
  const hours = app.hours ? app.hours.pointLine(point, words, Date.now()) : null;
  if (hours && hours.text) box.appendChild(el("p", "hours-line hours-" + hours.state, hours.text));
  else if (!hours && !point.openingHours) {
    box.appendChild(el("p", "hours-line", words.hours.text.hours_not_given));
  }
  box.appendChild(el("p", "age", words.confirmedText(point.verifiedAt)));
  if (isStale(point, app.settings.staleAfterS)) box.appendChild(el("p", "stale-warning", words.text("stale")));
  if (point.kind === "mobile" && point.locatedSince) {
    box.appendChild(el("p", "since", words.text("here_since", { time: words.ageText(point.locatedSince) })));
  }
  const where = [point.address, point.settlement].filter(Boolean).join(", ");
  if (where) box.appendChild(el("p", null, where));
  const services = serviceNames(point.services, app.settings.services, words.service);
  if (services.length) box.appendChild(el("p", "services-line", services.join(" · ")));
  const details = link(pointUrl(app, point.id), words.text("details"), app.settings.embed);
  details.className = "action point-link";
  box.appendChild(actionRow(words, point.lat, point.lon, null, [details]));
  const report = link(pointUrl(app, point.id) + "#report", words.text("report"), app.settings.embed);
  report.className = "point-link popup-report";
  box.appendChild(el("p")).appendChild(report);
  return box;
}

// A cluster's icon, named for screen readers: a button that zooms in ("46" alone says
// nothing). The name is an attribute, so the icon's text stays the count.
let NamedDivIcon = null; // made on first use: L is a classic script's global

function clusterIcon(app, n) {
  if (!NamedDivIcon) {
    NamedDivIcon = L.DivIcon.extend({
      createIcon: function (oldIcon) {
        const div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
        div.setAttribute("aria-label", this.options.label);
        return div;
      },
    });
  }
  const box = el("div");
  box.appendChild(el("span", null, String(n)));
  const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  return new NamedDivIcon({
    html: box,
    className: "marker-cluster marker-cluster-" + size,
    iconSize: L.point(CLUSTER_ICON_SIZE, CLUSTER_ICON_SIZE),
    label: app.words.plural("cluster", { n: n }),
  });
}

/** A cluster of the index: Enter or a click zooms in until it splits (supercluster knows where). */
export function makeClusterMarker(app, feature) {
  const map = app.map;
  const coordinates = feature.geometry.coordinates;
  const id = feature.properties.cluster_id;
  const marker = L.marker([coordinates[1], coordinates[0]], {
    icon: clusterIcon(app, feature.properties.point_count),
    keyboard: true,
  });
  function zoomIn() {
    // A keyboard user stays on the map (the cluster's button goes away as the map zooms).
    if (document.activeElement === marker.getElement()) map.getContainer().focus();
    const zoom = Math.min(app.index.getClusterExpansionZoom(id), map.getMaxZoom());
    map.setView(marker.getLatLng(), Math.max(zoom, map.getZoom() + 1));
  }
  marker.on("click", zoomIn);
  marker.on("keypress", function (event) {
    if (event.originalEvent.keyCode === ENTER) zoomIn(); // Leaflet turns Enter into a click only for popups
  });
  return marker;
}

/** A point's marker, its popup made when first opened. */
export function makeMarker(app, point) {
  const marker = L.marker([point.lat, point.lon], {
    icon: iconFor(app, point),
    title: point.name + " — " + app.words.status[point.status],
    alt: point.name,
    keyboard: true,
  });
  return withPopup(app, marker, point);
}

/** The marker opens the point's popup (made when first opened), from the keyboard too. */
export function withPopup(app, marker, point) {
  marker.bindPopup(function () {
    return popupFor(app, point);
  }, popupOptions());
  marker.pointId = point.id;
  keyboardPopup(marker);
  return marker;
}

/** Keyboard (WCAG 2.1.1): Enter on a focused marker opens its popup (Leaflet); focus moves into
 *  it, Escape closes it, and focus comes back to the marker. */
function keyboardPopup(marker) {
  marker.on("popupopen", function (event) {
    const box = event.popup.getElement();
    if (!box || document.activeElement !== marker.getElement()) return;
    box.querySelector(".popup a").focus();
    if (!box.dataset.keyboard) {
      box.dataset.keyboard = "true"; // the popup's element is kept for its next opening
      box.addEventListener("keydown", function (key) {
        if (key.key === "Escape") marker.closePopup();
      });
    }
    marker.once("popupclose", function () {
      const back = marker.getElement(); // none once the marker is clustered away or out of view
      if (back && (document.activeElement === document.body || box.contains(document.activeElement))) back.focus();
    });
  });
}

/** Leaflet names its own buttons in English: name them in the page's language. */
export function nameControls(app) {
  const container = app.map.getContainer();
  [
    ["zoom-in", "zoom_in"],
    ["zoom-out", "zoom_out"],
  ].forEach(function (pair) {
    const button = container.querySelector(".leaflet-control-" + pair[0]);
    if (!button) return;
    button.title = app.words.text(pair[1]);
    button.setAttribute("aria-label", app.words.text(pair[1]));
  });
  app.map.on("popupopen", function (event) {
    const close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", app.words.text("close_popup"));
  });
}

// -- clustering and drawing ---------------------------------------------------------------

/** Put the drawing layer on the map and redraw whenever it stops moving. */
export function startClusters(app) {
  app.layer = L.layerGroup(); // the markers drawn now: clusters and points in view, nothing else
  app.drawn = {}; // "c" + cluster id or "p" + point id -> L.Marker in the layer
  app.index = null; // Supercluster over the points passing the filters
  app.map.addLayer(app.layer);
  app.map.on("moveend", function () {
    draw(app);
  });
}

/** Index the points passing the filters (every zoom's clusters at once), then draw the view. */
export function applyFilters(app) {
  const shown = matchingFeatures(app.points, app.features, readFilter(app.form, app.settings.services));
  app.index = new Supercluster(CLUSTERING).load(shown);
  app.root.dataset.shown = String(shown.length);
  // A point whose popup is open stays, popup and all: filtering again (the hours library has
  // come, the points were refreshed) must not close what the reader is reading; its text is made
  // again (now with the hours judged).
  const kept = {};
  Object.keys(app.drawn).forEach(function (key) {
    const marker = app.drawn[key];
    if (marker.isPopupOpen()) {
      kept[key] = marker;
      marker.getPopup().update();
    } else {
      app.layer.removeLayer(marker);
    }
  });
  app.drawn = kept;
  draw(app);
  return shown.length;
}

// The clusters and points in view (plus the margin) at this zoom: kept if already drawn, added
// if new, removed if gone; a point whose popup is open stays.
function draw(app) {
  if (!app.index) return;
  const map = app.map;
  const drawn = app.drawn;
  const bounds = map.getBounds().pad(VIEW_MARGIN);
  const west = Math.max(-180, bounds.getWest());
  const east = Math.min(180, bounds.getEast());
  const found = app.index.getClusters(
    [west, Math.max(-MAX_LAT, bounds.getSouth()), east, Math.min(MAX_LAT, bounds.getNorth())],
    Math.round(map.getZoom())
  );
  const next = {};
  let inView = 0;
  found.forEach(function (feature) {
    const props = feature.properties;
    const key = props.cluster ? "c" + props.cluster_id : "p" + props.id;
    next[key] = drawn[key] || (props.cluster ? makeClusterMarker(app, feature) : makeMarker(app, props));
    inView += props.cluster ? props.point_count : 1;
  });
  Object.keys(drawn).forEach(function (key) {
    if (!next[key] && drawn[key].isPopupOpen()) next[key] = drawn[key];
    if (!next[key]) app.layer.removeLayer(drawn[key]);
  });
  Object.keys(next).forEach(function (key) {
    if (!drawn[key]) app.layer.addLayer(next[key]);
  });
  app.drawn = next;
  app.root.dataset.drawn = String(inView); // points the drawn markers stand for (tests, benchmark)
}

/** Centre the map on a point at the first zoom (from this one on) where it stands alone, and
 *  open its popup. A point the filters hide gets a popup of its own, without a marker. */
export function showOnMap(app, id) {
  // a scan, not an id -> point table: 100,000 keys cost more to build than the rare scans
  const point = app.points.find(function (p) {
    return p.id === id;
  });
  if (!point || !app.index) return;
  const map = app.map;
  let zoom = Math.max(Math.round(map.getZoom()), 1);
  const top = CLUSTERING.maxZoom + 1;
  const box = [point.lon - NEAR_DEGREES, point.lat - NEAR_DEGREES, point.lon + NEAR_DEGREES, point.lat + NEAR_DEGREES];
  function alone(z) {
    return app.index.getClusters(box, z).some(function (feature) {
      return feature.properties === point;
    });
  }
  while (zoom < top && !alone(zoom)) zoom += 1;
  map.setView([point.lat, point.lon], Math.min(zoom, map.getMaxZoom()), { animate: false });
  const marker = app.drawn["p" + point.id];
  if (marker) marker.openPopup();
  else {
    const popup = L.popup(popupOptions()).setLatLng([point.lat, point.lon]).setContent(popupFor(app, point));
    popup.pointId = point.id; // state.js keeps the open point in the address
    popup.openOn(map);
  }
}
