/* Distance and direction on the sphere the server measures on (locator/search/distance.py):
 * the same haversine, so a nearest list worked out offline agrees with /api/v1/nearest.
 * Pure functions; tests/test_js_equivalence_browser.py pins them to the Python. */

export const EARTH_RADIUS_M = 6371008.8; // the mean Earth radius, as locator.search.distance
const RADIANS = Math.PI / 180; // as Python's math.radians, so distances agree to the last bit
const COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
const SECTOR_DEGREES = 45;

/** Great-circle distance in metres between two points given in degrees. */
export function haversine(lat1, lon1, lat2, lon2) {
  const phi1 = lat1 * RADIANS;
  const phi2 = lat2 * RADIANS;
  const dphi = phi2 - phi1;
  const dlmb = (lon2 - lon1) * RADIANS;
  const a = Math.pow(Math.sin(dphi / 2), 2) + Math.cos(phi1) * Math.cos(phi2) * Math.pow(Math.sin(dlmb / 2), 2);
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The compass point (N, NE, ...) of the initial bearing from the first point to the second. */
export function compassPoint(lat1, lon1, lat2, lon2) {
  const phi1 = lat1 * RADIANS;
  const phi2 = lat2 * RADIANS;
  const dlmb = (lon2 - lon1) * RADIANS;
  const x = Math.sin(dlmb) * Math.cos(phi2);
  const y = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dlmb);
  const sector = ((Math.atan2(x, y) / RADIANS + 360) % 360) / SECTOR_DEGREES;
  let rounded = Math.round(sector);
  if (rounded - sector === 0.5 && rounded % 2) rounded -= 1; // halves to even, as Python's round()
  return COMPASS[rounded % 8];
}
