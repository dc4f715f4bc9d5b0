/* "Open now" in the browser (issue 17): locator/domain/hours.py's rule, with the npm
 * opening_hours package (static/vendor/opening_hours), pinned to the Python by
 * tests/test_hours_equivalence_browser.py. A point is open now when its operator's status is open
 * or full and its opening hours allow this moment; no hours: the status alone (hours not given).
 * Hours are read at Kyiv wall-clock time. The library (~120 KB compressed) is loaded only when a
 * point has hours, after the first markers; this module too (map.js imports it then, and hands
 * it to the others as app.hours). Offline, the service worker keeps both (pwa.py LAZY_STATIC), so
 * the map judges the hours at the moment shown. */

const KYIV = "Europe/Kyiv";
const WORKING = ["open", "full"];
const LIBRARY = new URL("../vendor/opening_hours/opening_hours.js", import.meta.url).href;
const SUNCALC = new URL("../vendor/suncalc/suncalc.js", import.meta.url).href; // what it imports
const WHERE = { lat: 50.45, lon: 30.52, address: { country_code: "ua", state: "" } }; // PH: Ukraine's
const LOOKAHEAD_MS = 366 * 86400000; // as hours.py LOOKAHEAD_DAYS
const MAX_STEPS = 64;
const WALL = new Intl.DateTimeFormat("en-GB", {
  timeZone: KYIV,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});

let Library = null; // the opening_hours class, once loaded
let loading = null;
const compiled = new Map(); // hours text -> opening_hours object (null: unreadable)
const verdicts = new Map(); // text + "@" + minute -> verdict, like hours.py's per-minute cache

/** Load the library once; resolves when hours can be judged. */
export function loadHours() {
  if (!loading) {
    loading = import(LIBRARY).then(function (module) {
      Library = module.default;
      verdicts.clear();
    });
  }
  return loading;
}

export function hoursReady() {
  return Library !== null;
}

/** Once a service worker controls the page, fetch the library through it, so that it keeps it
 *  for offline use (on a first visit the library usually comes before the worker takes over; the
 *  browser's HTTP cache answers, so this costs no download). */
export function keepForOffline() {
  if (!Library || !("serviceWorker" in navigator) || !navigator.serviceWorker.controller) return;
  [import.meta.url, LIBRARY, SUNCALC].forEach(function (url) {
    fetch(url).catch(function () {});
  });
}

// The Kyiv wall-clock time of a moment as a Date whose local fields hold it (the library reads a
// Date's local fields), and back: the moment whose Kyiv wall time a Date's local fields hold.
function wallDate(ms) {
  const part = {};
  WALL.formatToParts(new Date(ms)).forEach(function (p) {
    part[p.type] = Number(p.value);
  });
  return new Date(part.year, part.month - 1, part.day, part.hour, part.minute);
}

function wallKey(date) {
  return Date.UTC(date.getFullYear(), date.getMonth(), date.getDate(), date.getHours(), date.getMinutes());
}

function momentOf(wall, after) {
  // Kyiv is UTC+2 or +3: try both offsets, take the first moment after `after` whose wall time matches
  const key = wallKey(wall);
  const found = [3, 2]
    .map(function (hours) {
      return key - hours * 3600000;
    })
    .filter(function (ms) {
      return ms > after && wallKey(wallDate(ms)) === key;
    });
  if (found.length) return Math.min.apply(null, found);
  let ms = key - 3 * 3600000; // in the spring gap: the first minute after it
  while (ms <= after || wallKey(wallDate(ms)) < key) ms += 60000;
  return ms;
}

function hoursOf(text) {
  if (!compiled.has(text)) {
    let hours = null;
    try {
      hours = new Library(text, WHERE, { mode: 0 });
    } catch (error) {
      hours = null; // the server refuses what it cannot read; an unreadable value counts as none
    }
    compiled.set(text, hours);
  }
  return compiled.get(text);
}

function allows(hours, ms) {
  const wall = wallDate(ms);
  return hours.getState(wall) || hours.getUnknown(wall);
}

function nextOffsetChange(after, until) {
  const offset = function (ms) {
    return wallKey(wallDate(ms)) - Math.floor(ms / 60000) * 60000;
  };
  const from = offset(after);
  if (offset(until) === from) return null;
  let low = after;
  let high = until;
  while (high - low > 60000) {
    let middle = Math.floor((low + high) / 2 / 60000) * 60000;
    if (middle <= low) middle = low + 60000;
    if (offset(middle) === from) low = middle;
    else high = middle;
  }
  return high;
}

function nextStep(hours, ms) {
  const change = hours.getNextChange(wallDate(ms), new Date(wallDate(ms).getTime() + LOOKAHEAD_MS));
  const candidate = change ? momentOf(change, ms) : null;
  const dst = nextOffsetChange(ms, candidate === null ? ms + LOOKAHEAD_MS : candidate);
  return dst !== null && (candidate === null || dst < candidate) ? dst : candidate;
}

/** What these hours say at ms (a whole minute): {allows, known, nextChange (ms|null), opensNext}. */
export function verdict(text, ms) {
  const minute = Math.floor(ms / 60000) * 60000;
  if (!text || !Library) return { allows: true, known: false, nextChange: null, opensNext: null };
  const hours = hoursOf(text);
  if (!hours) return { allows: true, known: false, nextChange: null, opensNext: null };
  const key = text + "@" + minute;
  if (verdicts.has(key)) return verdicts.get(key);
  const now = allows(hours, minute);
  let found = { allows: now, known: true, nextChange: null, opensNext: null };
  let step = minute;
  for (let i = 0; i < MAX_STEPS; i++) {
    step = nextStep(hours, step);
    if (step === null || step - minute > LOOKAHEAD_MS) break;
    if (allows(hours, step) !== now) {
      found = { allows: now, known: true, nextChange: step, opensNext: !now };
      break;
    }
  }
  if (verdicts.size > 65536) verdicts.clear();
  verdicts.set(key, found);
  return found;
}

/** THE rule (hours.py is_open_now): open or full by its operator, and its hours allow ms. */
export function isOpenNow(point, ms) {
  return WORKING.indexOf(point.setStatus) >= 0 && verdict(point.openingHours, ms).allows;
}

/** hours.py open_now: {openNow, state, nextChange, opensNext}. */
export function openNow(point, ms) {
  const said = verdict(point.openingHours, ms);
  if (WORKING.indexOf(point.setStatus) < 0) {
    return { openNow: false, state: "closed_by_status", nextChange: said.nextChange, opensNext: said.opensNext };
  }
  if (!said.known) return { openNow: true, state: "open_unknown", nextChange: null, opensNext: null };
  return { openNow: said.allows, state: said.allows ? "open" : "closed_by_hours", nextChange: said.nextChange, opensNext: said.opensNext };
}

/** web/hours_words.sentence: "hours not given", "24/7", "closed by schedule, opens at 09:00"...
 *  found: openNow()'s answer, or the API's (hours_state, next_change_at, next_change_to). */
export function hoursLine(found, openingHours, words, ms) {
  const text = words.hours.text;
  if (found.state === "closed_by_status") return "";
  if (found.state === "open_unknown") return text.hours_not_given;
  if ((openingHours || "").trim() === "24/7") return text.always;
  if (found.nextChange === null) return found.openNow ? text.open : text.closed;
  const change = wallDate(found.nextChange);
  const today = wallDate(ms).toDateString() === change.toDateString();
  const key = (found.openNow ? "open_until" : "closed_opens") + (today ? "" : "_day");
  const time = String(change.getHours()).padStart(2, "0") + ":" + String(change.getMinutes()).padStart(2, "0");
  const day = words.hours.opens_on[(change.getDay() + 6) % 7]; // Monday first, as Python's weekday()
  return text[key].replace("{time}", time).replace("{day}", day);
}

/** A point's line as shown now, and its state (the popup's). */
export function pointLine(point, words, ms) {
  const found = openNow(point, ms);
  return { text: hoursLine(found, point.openingHours, words, ms), state: found.state };
}

/** The line of a result the API gave (its derived fields), or of a point judged here. */
export function featureHoursLine(properties, words, ms) {
  const found = {
    state: properties.hours_state,
    openNow: properties.open_now,
    nextChange: properties.next_change_at ? Date.parse(properties.next_change_at) : null,
  };
  return hoursLine(found, properties.opening_hours, words, ms);
}
