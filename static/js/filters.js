/* The map's filters: what the form asks for, and which points pass. Pure functions over the
 * points as points.js decodes them; the meaning is locator/domain/filters.py's PointFilter.matches,
 * pinned to it by tests/test_js_equivalence_browser.py. An empty list of kinds or categories
 * (every box unchecked) shows nothing: the form says "show these". */

import { hasStatusIn } from "./points.js";

const OPEN = ["open"]; // the "open now" box: status open and the hours allow now (hours.js)
let judge = null; // hours.js's isOpenNow, once map.js has loaded it; until then the status decides

/** Judge opening hours from now on with this function (hours.js isOpenNow). */
export function judgeHoursWith(isOpenNow) {
  judge = isOpenNow;
}

/** The bit mask of these service names, in the data's order of services (one bit each). */
export function serviceMask(names, services) {
  let mask = 0;
  names.forEach(function (name) {
    mask |= 1 << services.indexOf(name);
  });
  return mask;
}

function checkedValues(form, name) {
  return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'), function (input) {
    return input.value;
  });
}

/** What the filter form asks for now; kinds and categories are null where the form has no boxes. */
export function readFilter(form, services) {
  const wanted = checkedValues(form, "services");
  return {
    services: wanted,
    mask: serviceMask(wanted, services),
    kinds: form.querySelector('input[name="kind"]') ? checkedValues(form, "kind") : null,
    categories: form.querySelector('input[name="category"]') ? checkedValues(form, "category") : null,
    openOnly: checkedValues(form, "open").length > 0,
    baseOnly: checkedValues(form, "base").length > 0,
    bedOnly: checkedValues(form, "bed").length > 0, // "a bed tonight": beds_free > 0
    businessTypes: form.querySelector('input[name="business_type"]') ? checkedValues(form, "business_type") : null,
    now: Date.now(), // the moment "open now" is judged at
  };
}

/** A box group's ticked values when the reader has unticked some of its boxes; null when every box
 *  is ticked (nothing to say) or the form has no such group. The address (state.js) and the
 *  nearest query (nearest.js) carry only these. */
export function narrowed(form, name, values) {
  return values && values.length < form.querySelectorAll('input[name="' + name + '"]').length ? values : null;
}

/** Whether a point is of a ticked kind, category and business type, and a base point or has a bed
 *  tonight when those boxes ask: the boxes the map and the offline nearest (offline.js) share. */
export function passesBoxes(point, wanted) {
  if (wanted.kinds && wanted.kinds.indexOf(point.kind) < 0) return false;
  if (wanted.categories && wanted.categories.indexOf(point.category) < 0) return false;
  if (wanted.businessTypes && wanted.businessTypes.indexOf(point.businessType) < 0) return false;
  if (wanted.baseOnly && !point.base) return false;
  return !(wanted.bedOnly && !(point.bedsFree > 0));
}

/** Whether a point passes the filter: every wanted service, open now (PointFilter(statuses={open},
 *  open_now=True)) and the boxes (passesBoxes). */
export function matches(point, wanted) {
  if ((point.services & wanted.mask) !== wanted.mask) return false;
  if (wanted.openOnly && !(hasStatusIn(point, OPEN) && (!judge || judge(point, wanted.now)))) return false;
  return passesBoxes(point, wanted);
}

/** The features (same order as points) of the points passing the filter: the clustering's input. */
export function matchingFeatures(points, features, wanted) {
  const shown = [];
  for (let i = 0; i < points.length; i++) {
    if (matches(points[i], wanted)) shown.push(features[i]);
  }
  return shown;
}
