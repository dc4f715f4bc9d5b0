/* What the map draws: a point's marker and popup, a cluster's marker, and the names of
 * Leaflet's own buttons in the page's language. Keyboard users can reach and open all of them. */

import { directionsUrl, el, link } from "./dom.js";
import { isStale, serviceNames } from "./points.js";

const ICON_SIZE = 26; // px, the .poi circle in map.css
const CLUSTER_ICON_SIZE = 40; // px
const ENTER = 13;

/** The link to a point's own page. */
export function pointUrl(app, id) {
  return app.settings.pointUrl.replace("__ID__", encodeURIComponent(id));
}

function iconFor(app, point) {
  let classes = "poi poi-" + point.status + " poi-" + point.kind;
  if (isStale(point, app.settings.staleAfterS)) classes += " poi-stale";
  if (point.base) classes += " poi-base";
  const half = ICON_SIZE / 2;
  return L.divIcon({ className: classes, iconSize: [ICON_SIZE, ICON_SIZE], iconAnchor: [half, half], popupAnchor: [0, -12], html: "" });
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
  if (point.status === "unconfirmed") box.appendChild(el("p", "unconfirmed-notice", words.text("unconfirmed")));
  box.appendChild(el("p", "age", words.text("verified", { age: words.ageText(point.verifiedAt) })));
  if (isStale(point, app.settings.staleAfterS)) box.appendChild(el("p", "stale-warning", words.text("stale")));
  if (point.kind === "mobile" && point.locatedSince) {
    box.appendChild(el("p", "since", words.text("here_since", { time: words.ageText(point.locatedSince) })));
  }
  const where = [point.address, point.settlement].filter(Boolean).join(", ");
  if (where) box.appendChild(el("p", null, where));
  const services = serviceNames(point.services, app.settings.services, words.service);
  if (services.length) box.appendChild(el("p", "services-line", services.join(" · ")));
  const actions = el("p", "actions");
  actions.appendChild(link(pointUrl(app, point.id), words.text("details"), app.settings.embed));
  actions.appendChild(document.createTextNode(" · "));
  actions.appendChild(link(directionsUrl(point.lat, point.lon), words.text("directions"), true));
  actions.appendChild(document.createTextNode(" · "));
  actions.appendChild(link(pointUrl(app, point.id) + "#report", words.text("report"), app.settings.embed));
  box.appendChild(actions);
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
  marker.bindPopup(function () {
    return popupFor(app, point);
  });
  marker.pointId = point.id;
  // Keyboard (WCAG 2.1.1): Enter on a focused marker opens its popup (Leaflet); focus moves into
  // it, Escape closes it, and focus comes back to the marker.
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
  return marker;
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
