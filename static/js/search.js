/* The place search: a settlement's name, asked of /api/v1/places (or found among the kept
 * points when offline), then the nearest points to the best match. */

import { findNearest } from "./nearest.js";
import { placesHere } from "./offline.js";

function askPlaces(app, query) {
  if (app.snapshotAt) return Promise.reject(new Error("offline"));
  return fetch(app.settings.placesUrl + "?" + new URLSearchParams({ q: query }).toString()).then(function (response) {
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  });
}

/** A place's name as the reader reads it, with its region when that says more. */
function placeLabel(place, locale) {
  const english = locale.indexOf("en") === 0;
  const placeName = (english && place.name_en) || place.name;
  const region = (english && place.region_en) || place.region;
  return region && region !== placeName ? placeName + " (" + region + ")" : placeName;
}

/** The nearest points to the best matching settlement for a name. */
export function searchPlace(app, query) {
  const text = app.words.text;
  app.statusLine.textContent = text("searching");
  app.question = { place: query };
  return askPlaces(app, query)
    .catch(function (error) {
      if (!app.points.length) throw error;
      return { places: placesHere(app.points, query, app.latin) }; // offline: the snapshot's own settlements
    })
    .then(function (data) {
      if (!data.places.length) {
        app.results.textContent = "";
        app.statusLine.textContent = text("place_not_found", { name: query });
        return;
      }
      const place = data.places[0];
      const name = placeLabel(place, app.words.locale);
      return findNearest(app, place.lat, place.lon, text("nearest_to_place", { name: name }));
    })
    .catch(function () {
      app.statusLine.textContent = text("request_failed");
    });
}

/** Answer the search form. */
export function startSearch(app, form, input) {
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const query = input.value.trim();
    if (query) searchPlace(app, query);
  });
}
