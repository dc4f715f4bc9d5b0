/* Widget builder: the chosen options become the iframe's query string, preview and snippet.
   The snippet names the site's public address; the preview loads the widget from this page's own. */
(function () {
  "use strict";
  var form = document.getElementById("builder-form");
  var preview = document.getElementById("preview");
  var snippet = document.getElementById("snippet");
  var base = form.dataset.widgetUrl;
  var previewBase = form.dataset.previewUrl;
  var sandbox = form.dataset.sandbox; // locator/web/embed.py SANDBOX
  var words = JSON.parse(form.dataset.text); // in the page's language
  var placeInput = document.getElementById("b-settlement");
  var placeList = document.getElementById("b-places");
  var placeHint = document.getElementById("b-place-hint");
  var english = document.documentElement.lang === "en";
  var chosenPlace = null; // {lat, lon, label}: only a place picked from the list reaches the widget
  var searchTimer = null;
  var SEARCH_DELAY_MS = 250;

  function placeLabel(p) {
    var name = english ? p.name_en || p.name : p.name;
    var region = english ? p.region_en || p.region : p.region;
    return region ? name + " (" + region + ")" : name;
  }

  function pick(place) {
    chosenPlace = { lat: place.lat, lon: place.lon, label: placeLabel(place) };
    placeInput.value = chosenPlace.label;
    placeList.textContent = "";
    placeHint.textContent = "";
    update();
  }

  function showPlaces(places) {
    placeList.textContent = "";
    places.forEach(function (place) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "place-option";
      button.textContent = placeLabel(place); // place names are text, never HTML
      button.addEventListener("click", function () { pick(place); placeInput.focus(); });
      item.appendChild(button);
      placeList.appendChild(item);
    });
    placeInput.setAttribute("aria-expanded", places.length ? "true" : "false");
    placeHint.textContent = places.length ? words.pick_place : words.no_place;
  }

  // The place search the rest of the site uses (/api/v1/places: Ukrainian or Latin, old spellings).
  function searchPlaces() {
    var typed = placeInput.value.trim();
    if (chosenPlace && typed === chosenPlace.label) return;
    if (chosenPlace) { chosenPlace = null; update(); }
    clearTimeout(searchTimer);
    if (typed.length < 2) { placeList.textContent = ""; placeHint.textContent = ""; return; }
    searchTimer = setTimeout(function () {
      fetch(form.dataset.placesUrl + "?q=" + encodeURIComponent(typed.slice(0, 100)))
        .then(function (response) { return response.ok ? response.json() : { places: [] }; })
        .then(function (data) { if (placeInput.value.trim() === typed) showPlaces(data.places); })
        .catch(function () { placeHint.textContent = words.no_place; });
    }, SEARCH_DELAY_MS);
  }

  function widgetQuery() {
    var params = new URLSearchParams();
    var region = form.elements.region.value;
    if (region) params.set("region", region);
    if (chosenPlace) {
      params.set("center", chosenPlace.lat.toFixed(5) + "," + chosenPlace.lon.toFixed(5));
      params.set("zoom", form.dataset.placeZoom);
    }
    if (form.elements.lang.value) params.set("lang", form.elements.lang.value);
    if (form.elements.business_type.value) params.set("business_type", form.elements.business_type.value);
    if (form.elements.bed.checked) params.set("bed", "true");
    var services = Array.prototype.filter.call(form.elements.services, function (i) { return i.checked; });
    if (services.length) params.set("services", services.map(function (i) { return i.value; }).join(","));
    var statuses = Array.prototype.filter.call(form.elements.status, function (i) { return i.checked; });
    if (statuses.length && statuses.length < form.elements.status.length) {
      params.set("status", statuses.map(function (i) { return i.value; }).join(","));
    }
    return params.toString();
  }

  function escapeAttribute(value) {
    return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  function update() {
    var query = widgetQuery();
    var url = query ? base + "?" + query : base;
    var previewUrl = query ? previewBase + "?" + query : previewBase;
    var height = Math.min(1200, Math.max(300, parseInt(form.elements.height.value, 10) || 520));
    if (preview.getAttribute("src") !== previewUrl) preview.setAttribute("src", previewUrl);
    preview.setAttribute("height", String(height));
    snippet.value =
      '<iframe src="' + escapeAttribute(url) + '" title="' + escapeAttribute(words.iframe_title) + '" width="100%" height="' + height +
      '" style="border:0" loading="lazy" sandbox="' + escapeAttribute(sandbox) + '" allow="geolocation"></iframe>';
  }

  placeInput.addEventListener("input", searchPlaces);
  placeInput.addEventListener("keydown", function (event) {
    var first = placeList.querySelector("button");
    if (event.key === "ArrowDown" && first) { event.preventDefault(); first.focus(); }
    if (event.key === "Enter") event.preventDefault(); // never submit: the list picks
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  document.getElementById("copy").addEventListener("click", function () {
    snippet.select();
    var done = function () { document.getElementById("copied").textContent = words.copied; };
    if (navigator.clipboard) navigator.clipboard.writeText(snippet.value).then(done, function () { document.execCommand("copy"); done(); });
    else { document.execCommand("copy"); done(); }
  });
  update();
})();
