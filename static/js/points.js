/* The points as the map holds them: decoded once from the compact table the server sends
 * (locator/io/compact.py, one array per point with the field names given once), and the
 * "stale" rule. Decoding runs once per point of up to 100,000: keep its loop bare. */

/** {points, features} from the compact table: one object per point, and the matching feature
 *  supercluster reads ({geometry: {coordinates}, properties: point}). */
export function decodeTable(data) {
  const f = {};
  data.fields.forEach(function (name, i) {
    f[name] = i;
  });
  const points = data.rows.map(function (row) {
    return {
      id: row[f.id],
      lat: row[f.lat],
      lon: row[f.lon],
      // What citizens see ("unconfirmed" when reported closed) and what the operator set:
      // filters pass either (Point.has_status_in), so reports mark a point, never hide it.
      status: row[f.unconfirmed] === 1 ? "unconfirmed" : row[f.status],
      setStatus: row[f.status],
      kind: row[f.kind],
      category: row[f.category],
      base: row[f.base] === 1,
      services: row[f.services],
      verifiedAt: row[f.verified_at],
      name: row[f.name],
      settlement: row[f.settlement],
      address: row[f.address],
      locatedSince: f.located_since === undefined ? 0 : row[f.located_since],
      openingHours: f.opening_hours === undefined ? "" : row[f.opening_hours], // hours.js judges it
      // issue 20: the business type, approximate points, support points and their beds
      businessType: f.business_type === undefined ? "" : row[f.business_type],
      approximate: f.visibility !== undefined && row[f.visibility] === "approximate",
      support: f.support !== undefined && row[f.support] === 1,
      beds: f.beds === undefined ? null : row[f.beds],
      bedsFree: f.beds_free === undefined ? null : row[f.beds_free],
    };
  });
  const features = points.map(function (point) {
    return { geometry: { coordinates: [point.lon, point.lat] }, properties: point };
  });
  return { points: points, features: features };
}

/** Whether a status filter keeps the point: the status shown or the one its operator set. */
export function hasStatusIn(point, statuses) {
  return statuses.indexOf(point.status) >= 0 || statuses.indexOf(point.setStatus) >= 0;
}

/** Whether the point's status was last confirmed longer ago than the server's limit. */
export function isStale(point, staleAfterS) {
  return Date.now() / 1000 - point.verifiedAt > staleAfterS;
}

/** How far the point's status can be trusted: domain/trust.py's trust_of, the weakest first. */
export function trustOf(point, staleAfterS, nowS) {
  if (point.status === "unconfirmed") return "reported_closed";
  if (!point.verifiedAt) return "never_confirmed"; // the compact table's 0
  if (nowS - point.verifiedAt > staleAfterS) return "stale";
  return "fresh";
}

/** The distance a point counts as in "near me": domain/trust.py's ranked_distance, with the
 *  server's own weights (map settings' trustWeights), so the offline order is the online one. */
export function rankedDistance(distanceM, trust, weights) {
  return weights[trust][0] * distanceM + weights[trust][1];
}

/** The names of the services set in a mask, in the reader's language where known. */
export function serviceNames(mask, services, names) {
  const found = [];
  services.forEach(function (name, bit) {
    if (mask & (1 << bit)) found.push(names[name] || name);
  });
  return found;
}
