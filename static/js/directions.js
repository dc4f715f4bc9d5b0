/* The links that take a citizen to a point: directions in a maps app (geo:, OpenStreetMap,
 * Google Maps) and a call. The same links as locator/web/directions.py builds for the pages,
 * pinned equal by tests/test_phone_browser.py. */

import { el, link } from "./words.js";

const NOT_DIALLED = /[^+0-9]/g; // what a tel: link keeps of a phone number as typed

/** Directions to (lat, lon): geo: (any maps app on Android), OpenStreetMap and Google Maps. */
export function routeLinks(lat, lon) {
  const la = fixed(lat);
  const lo = fixed(lon);
  const at = la + "," + lo;
  return {
    geo: "geo:" + at + "?q=" + at,
    osm: "https://www.openstreetmap.org/directions?route=%3B" + la + "%2C" + lo,
    google: "https://www.google.com/maps/dir/?api=1&destination=" + at,
  };
}

function fixed(value) {
  const text = value.toFixed(6);
  return text === "-0.000000" ? "0.000000" : text;
}

/** A tel: link for a phone number as typed; null when it has no digits. */
export function telHref(phone) {
  const dialled = (phone || "").replace(NOT_DIALLED, "");
  return /[0-9]/.test(dialled) ? "tel:" + dialled : null;
}

/** The row of big buttons under a result or in a popup: call (when there is a number), then
 *  directions (the phone's maps app, OSM, Google); more buttons (before) come first. */
export function actionRow(words, lat, lon, phone, before) {
  const row = el("p", "actions");
  (before || []).forEach(function (button) {
    row.appendChild(button);
  });
  const tel = telHref(phone);
  if (tel) row.appendChild(link(tel, words.text("call"))).className = "action action-call";
  const route = el("span", "route");
  route.setAttribute("role", "group");
  route.setAttribute("aria-label", words.text("directions"));
  const links = routeLinks(lat, lon);
  [
    ["geo", words.text("directions")],
    ["osm", "OSM"],
    ["google", "Google"],
  ].forEach(function (pair) {
    const a = link(links[pair[0]], pair[1], true);
    a.className = "action action-" + pair[0];
    route.appendChild(a);
  });
  row.appendChild(route);
  return row;
}
