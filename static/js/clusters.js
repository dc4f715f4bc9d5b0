/* Clustering (supercluster): the points passing the filters are indexed once, and each time the
 * map stops moving only the clusters and points in view (plus a margin) are drawn, a few hundred
 * markers at most, whether there are 300 points or 100,000. */

import { matchingFeatures, readFilter } from "./filters.js";
import { makeClusterMarker, makeMarker, popupFor } from "./markers.js";

// 60 px on Leaflet's 256 px tiles; from zoom 17 on every point stands alone.
export const CLUSTERING = { radius: 60, extent: 256, maxZoom: 16 };
const VIEW_MARGIN = 0.5; // drawn beyond the view on each side, as a share of its size: short pans show no gap
const MAX_LAT = 85; // Web Mercator's edge, as supercluster clamps it
const NEAR_DEGREES = 1e-5; // ~1 m: a box around a point (a cluster sits at its members' centre)

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
  app.layer.clearLayers();
  app.drawn = {};
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
  else L.popup().setLatLng([point.lat, point.lon]).setContent(popupFor(app, point)).openOn(map);
}
