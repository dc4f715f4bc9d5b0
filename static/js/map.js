/* The public map: loads every point once (compact format), clusters them, filters in the
 * browser, and asks the API for the nearest open points to the user or to a settlement.
 * Clustering is supercluster's: the points passing the filters are indexed once, and each time
 * the map stops moving only the clusters and points in view (plus a margin) are drawn, a few
 * hundred markers at most, whether there are 300 points or 100,000.
 * Point data is text: every value goes into the page through textContent or attributes,
 * never through innerHTML. */
(function () {
  "use strict";

  var root = document.getElementById("map-app");
  var settings = JSON.parse(root.dataset.settings);
  var labels = JSON.parse(root.dataset.labels);
  var map = window[settings.map];
  var statusLine = document.getElementById("status-line");
  var results = document.getElementById("results");
  var filters = document.getElementById("filters");
  // Words, units and plural forms come from the page in the reader's language (labels.for_script).
  var numberFormat = new Intl.NumberFormat(labels.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(labels.locale) : null;
  var points = []; // {id, lat, lon, status, kind, category, base, services, verifiedAt, name, settlement, address}
  var pointFeatures = []; // one per point, as supercluster reads them: {geometry: {coordinates}, properties}
  // 60 px on Leaflet's 256 px tiles, as before; from zoom 17 on every point stands alone.
  var CLUSTERING = { radius: 60, extent: 256, maxZoom: 16 };
  var VIEW_MARGIN = 0.5; // drawn beyond the view on each side, as a share of its size: short pans show no gap
  var index = null; // Supercluster over the points passing the filters
  var layer = L.layerGroup(); // the markers drawn now: clusters and points in view, nothing else
  var drawn = {}; // "c" + cluster id or "p" + point id -> L.Marker in the layer
  var hereMarker = null;
  // Offline (issue 7): when the service worker answers from its kept copy, the time (ms) the
  // server last confirmed that copy; null while the points come from the network.
  var snapshotAt = null;
  var offlineBanner = document.getElementById("offline-banner");
  var RETRY_OFFLINE_MS = 60000; // on a weak link the "online" event never comes: try again now and then
  var ONLINE_SETTLE_MS = 1500; // a connection that just came back often fails its very first request
  map.addLayer(layer);
  map.on("moveend", draw);
  nameControls();
  map.on("popupopen", function (event) {
    var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", text("close_popup"));
  });

  function text(key, values) {
    return fill(labels.text[key] || key, values);
  }

  function plural(key, values) {
    var forms = labels.plural[key];
    return fill(forms[pluralRules ? pluralRules.select(values.n) : "other"] || forms.other, values);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return values && name in values ? String(values[name]) : "";
    });
  }

  function ageText(epochSeconds) {
    var seconds = Math.max(0, Date.now() / 1000 - epochSeconds);
    if (seconds < 60) return text("ago_now");
    if (seconds < 3600) return text("ago_min", { n: Math.floor(seconds / 60) });
    if (seconds < 172800) return text("ago_hour", { n: Math.floor(seconds / 3600) });
    return text("ago_day", { n: Math.floor(seconds / 86400) });
  }

  function isStale(point) {
    return Date.now() / 1000 - point.verifiedAt > settings.staleAfterS;
  }

  function distanceText(metres) {
    if (metres < 1000) return text("unit_m", { n: Math.round(metres) });
    return text("unit_km", { n: numberFormat.format(metres / 1000) });
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = content;
    return node;
  }

  function link(href, content, newTab) {
    var a = el("a", null, content);
    a.href = href;
    if (newTab) {
      a.target = "_blank";
      a.rel = "noopener";
    }
    return a;
  }

  function pointUrl(id) {
    return settings.pointUrl.replace("__ID__", encodeURIComponent(id));
  }

  function directionsUrl(lat, lon) {
    return "https://www.google.com/maps/dir/?api=1&destination=" + lat.toFixed(6) + "," + lon.toFixed(6);
  }

  function serviceNames(mask) {
    var names = [];
    settings.services.forEach(function (name, bit) {
      if (mask & (1 << bit)) names.push(labels.service[name] || name);
    });
    return names;
  }

  function iconFor(point) {
    var classes = "poi poi-" + point.status + " poi-" + point.kind;
    if (isStale(point)) classes += " poi-stale";
    if (point.base) classes += " poi-base";
    return L.divIcon({ className: classes, iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12], html: "" });
  }

  function popupFor(point) {
    var box = el("div", "popup");
    box.appendChild(el("h3", null, point.name));
    var status = el("p", "popup-status");
    status.appendChild(el("span", "badge badge-" + point.status, labels.status[point.status]));
    if (point.kind === "mobile") status.appendChild(el("span", "badge badge-mobile", text("mobile")));
    if (point.base) status.appendChild(el("span", "badge badge-base", text("base")));
    box.appendChild(status);
    if (point.status === "unconfirmed") box.appendChild(el("p", "unconfirmed-notice", text("unconfirmed")));
    box.appendChild(el("p", "age", text("verified", { age: ageText(point.verifiedAt) })));
    if (isStale(point)) box.appendChild(el("p", "stale-warning", text("stale")));
    if (point.kind === "mobile" && point.locatedSince) {
      box.appendChild(el("p", "since", text("here_since", { time: ageText(point.locatedSince) })));
    }
    var where = [point.address, point.settlement].filter(Boolean).join(", ");
    if (where) box.appendChild(el("p", null, where));
    var services = serviceNames(point.services);
    if (services.length) box.appendChild(el("p", "services-line", services.join(" · ")));
    var actions = el("p", "actions");
    actions.appendChild(link(pointUrl(point.id), text("details"), settings.embed));
    actions.appendChild(document.createTextNode(" · "));
    actions.appendChild(link(directionsUrl(point.lat, point.lon), text("directions"), true));
    actions.appendChild(document.createTextNode(" · "));
    actions.appendChild(link(pointUrl(point.id) + "#report", text("report"), settings.embed));
    box.appendChild(actions);
    return box;
  }

  // A cluster's icon, named for screen readers: a button that zooms in ("46" alone says
  // nothing). The name is an attribute, so the icon's text stays the count.
  var NamedDivIcon = L.DivIcon.extend({
    createIcon: function (oldIcon) {
      var div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      div.setAttribute("aria-label", this.options.label);
      return div;
    },
  });

  function clusterIcon(n) {
    var box = el("div");
    box.appendChild(el("span", null, String(n)));
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    return new NamedDivIcon({
      html: box,
      className: "marker-cluster marker-cluster-" + size,
      iconSize: L.point(40, 40),
      label: plural("cluster", { n: n }),
    });
  }

  // A cluster of the index: Enter or a click zooms in until it splits (supercluster knows where).
  function makeClusterMarker(feature) {
    var coordinates = feature.geometry.coordinates;
    var id = feature.properties.cluster_id;
    var marker = L.marker([coordinates[1], coordinates[0]], {
      icon: clusterIcon(feature.properties.point_count),
      keyboard: true,
    });
    function zoomIn() {
      // A keyboard user stays on the map (the cluster's button goes away as the map zooms).
      if (document.activeElement === marker.getElement()) map.getContainer().focus();
      var zoom = Math.min(index.getClusterExpansionZoom(id), map.getMaxZoom());
      map.setView(marker.getLatLng(), Math.max(zoom, map.getZoom() + 1));
    }
    marker.on("click", zoomIn);
    marker.on("keypress", function (event) {
      if (event.originalEvent.keyCode === 13) zoomIn(); // Enter (Leaflet turns it into a click only for popups)
    });
    return marker;
  }

  function makeMarker(point) {
    var marker = L.marker([point.lat, point.lon], {
      icon: iconFor(point),
      title: point.name + " — " + labels.status[point.status],
      alt: point.name,
      keyboard: true,
    });
    marker.bindPopup(function () {
      return popupFor(point);
    });
    marker.pointId = point.id;
    // Keyboard (WCAG 2.1.1): Enter on a focused marker opens its popup (Leaflet); focus moves into
    // it, Escape closes it, and focus comes back to the marker.
    marker.on("popupopen", function (event) {
      var box = event.popup.getElement();
      if (!box || document.activeElement !== marker.getElement()) return;
      box.querySelector(".popup a").focus();
      if (!box.dataset.keyboard) {
        box.dataset.keyboard = "true"; // the popup's element is kept for its next opening
        box.addEventListener("keydown", function (key) {
          if (key.key === "Escape") marker.closePopup();
        });
      }
      marker.once("popupclose", function () {
        var back = marker.getElement(); // none once the marker is clustered away or out of view
        if (back && (document.activeElement === document.body || box.contains(document.activeElement))) back.focus();
      });
    });
    return marker;
  }

  // Leaflet names its own buttons in English: name them in the page's language.
  function nameControls() {
    var container = map.getContainer();
    [
      ["zoom-in", "zoom_in"],
      ["zoom-out", "zoom_out"],
    ].forEach(function (pair) {
      var button = container.querySelector(".leaflet-control-" + pair[0]);
      if (!button) return;
      button.title = text(pair[1]);
      button.setAttribute("aria-label", text(pair[1]));
    });
  }

  function checkedValues(name) {
    return Array.prototype.map.call(filters.querySelectorAll('input[name="' + name + '"]:checked'), function (input) {
      return input.value;
    });
  }

  function currentFilter() {
    var services = checkedValues("services");
    var mask = 0;
    services.forEach(function (name) {
      mask |= 1 << settings.services.indexOf(name);
    });
    return {
      services: services,
      mask: mask,
      kinds: filters.querySelector('input[name="kind"]') ? checkedValues("kind") : null,
      categories: filters.querySelector('input[name="category"]') ? checkedValues("category") : null,
      openOnly: checkedValues("open").length > 0,
      baseOnly: checkedValues("base").length > 0,
    };
  }

  function matches(point, wanted) {
    if ((point.services & wanted.mask) !== wanted.mask) return false;
    if (wanted.kinds && wanted.kinds.indexOf(point.kind) < 0) return false;
    if (wanted.categories && wanted.categories.indexOf(point.category) < 0) return false;
    if (wanted.openOnly && point.status !== "open") return false;
    if (wanted.baseOnly && !point.base) return false;
    return true;
  }

  // Index the points passing the filters (every zoom's clusters at once), then draw the view.
  function applyFilters() {
    var wanted = currentFilter();
    var shown = [];
    for (var i = 0; i < points.length; i++) {
      if (matches(points[i], wanted)) shown.push(pointFeatures[i]);
    }
    index = new Supercluster(CLUSTERING).load(shown);
    root.dataset.shown = String(shown.length);
    clearDrawn();
    draw();
    return shown.length;
  }

  function clearDrawn() {
    layer.clearLayers();
    drawn = {};
  }

  // The clusters and points in view (plus the margin) at this zoom: kept if already drawn, added
  // if new, removed if gone; a point whose popup is open stays.
  function draw() {
    if (!index) return;
    var bounds = map.getBounds().pad(VIEW_MARGIN);
    var west = Math.max(-180, bounds.getWest());
    var east = Math.min(180, bounds.getEast());
    var found = index.getClusters(
      [west, Math.max(-85, bounds.getSouth()), east, Math.min(85, bounds.getNorth())],
      Math.round(map.getZoom())
    );
    var next = {};
    var inView = 0;
    found.forEach(function (feature) {
      var props = feature.properties;
      var key = props.cluster ? "c" + props.cluster_id : "p" + props.id;
      var marker = drawn[key] || (props.cluster ? makeClusterMarker(feature) : makeMarker(props));
      next[key] = marker;
      inView += props.cluster ? props.point_count : 1;
    });
    Object.keys(drawn).forEach(function (key) {
      if (!next[key] && drawn[key].isPopupOpen()) next[key] = drawn[key];
      if (!next[key]) layer.removeLayer(drawn[key]);
    });
    Object.keys(next).forEach(function (key) {
      if (!drawn[key]) layer.addLayer(next[key]);
    });
    drawn = next;
    root.dataset.drawn = String(inView); // points the drawn markers stand for (tests, benchmark)
  }

  // quiet: a refresh of points already shown (back online); a failure then changes nothing.
  function loadPoints(quiet) {
    if (!quiet) statusLine.textContent = text("loading");
    var kept = null;
    return fetch(settings.pointsUrl, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        if (settings.snapshotHeader && response.headers.get(settings.snapshotHeader)) {
          kept = Date.parse(response.headers.get("Date") || "") || 0; // when the server sent it
        }
        return response.json();
      })
      .then(function (data) {
        var f = {};
        data.fields.forEach(function (name, i) {
          f[name] = i;
        });
        settings.services = data.services;
        points = data.rows.map(function (row) {
          return {
            id: row[f.id],
            lat: row[f.lat],
            lon: row[f.lon],
            status: row[f.status],
            kind: row[f.kind],
            category: row[f.category],
            base: row[f.base] === 1,
            services: row[f.services],
            verifiedAt: row[f.verified_at],
            name: row[f.name],
            settlement: row[f.settlement],
            address: row[f.address],
            locatedSince: f.located_since === undefined ? 0 : row[f.located_since],
          };
        });
        pointFeatures = points.map(function (point) {
          return { geometry: { coordinates: [point.lon, point.lat] }, properties: point };
        });
        var shown = applyFilters();
        if (kept === 0) kept = Date.parse(data.generated_at) || Date.now();
        showSnapshot(kept);
        // the body may be older than this moment, but the server confirmed it is current (ETag)
        if (!results.childElementCount) {
          statusLine.textContent = plural("loaded", { n: shown, time: clockTime(kept || Date.now()) });
        }
        root.dataset.loaded = "true";
      })
      .catch(function () {
        if (quiet) return;
        statusLine.textContent = text("load_failed");
        root.dataset.loaded = "error";
      });
  }

  // -- Offline: the kept snapshot, and nearest points worked out here from it ----------------

  // A moment as Kyiv wall-clock time (HH:MM), with the date when it is not today's.
  function clockTime(ms) {
    var zone = "Europe/Kyiv";
    var options = { timeZone: zone, hour: "2-digit", minute: "2-digit" };
    var day = { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" };
    var today = new Date().toLocaleDateString("en-CA", day) === new Date(ms).toLocaleDateString("en-CA", day);
    if (!today) options.day = options.month = "2-digit";
    return new Date(ms).toLocaleString(labels.locale, options);
  }

  function showSnapshot(at) {
    snapshotAt = at;
    root.dataset.offline = at ? "true" : "false";
    if (!offlineBanner) return; // the embed has no worker, hence no banner
    offlineBanner.hidden = !at;
    offlineBanner.textContent = at ? text("offline", { time: clockTime(at) }) : "";
  }

  function refreshIfOffline() {
    if (snapshotAt && navigator.onLine !== false) loadPoints(true);
  }

  var EARTH_RADIUS_M = 6371008.8; // the sphere locator/geo.py measures on
  var RADIANS = Math.PI / 180; // as Python's math.radians, so distances agree to the last bit
  var COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];

  function haversine(lat1, lon1, lat2, lon2) {
    var phi1 = lat1 * RADIANS;
    var phi2 = lat2 * RADIANS;
    var dphi = phi2 - phi1;
    var dlmb = (lon2 - lon1) * RADIANS;
    var a = Math.pow(Math.sin(dphi / 2), 2) + Math.cos(phi1) * Math.cos(phi2) * Math.pow(Math.sin(dlmb / 2), 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function compassPoint(lat1, lon1, lat2, lon2) {
    var phi1 = lat1 * RADIANS;
    var phi2 = lat2 * RADIANS;
    var dlmb = (lon2 - lon1) * RADIANS;
    var x = Math.sin(dlmb) * Math.cos(phi2);
    var y = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dlmb);
    var sector = (((Math.atan2(x, y) / RADIANS + 360) % 360) / 45);
    var rounded = Math.round(sector);
    if (rounded - sector === 0.5 && rounded % 2) rounded -= 1; // halves to even, as Python's round()
    return COMPASS[rounded % 8];
  }

  // The k nearest points passing the same filters the API would get from nearestQuery: exact
  // haversine over every point, ordered by distance then id, as /api/v1/nearest answers.
  function nearestHere(lat, lon, k) {
    var wanted = currentFilter();
    var fixed = settings.filters || {};
    var statuses = (fixed.status || "open").split(",");
    var mask = wanted.mask;
    (fixed.services ? fixed.services.split(",") : []).forEach(function (name) {
      mask |= 1 << settings.services.indexOf(name);
    });
    var kind = wanted.kinds && wanted.kinds.length === 1 ? wanted.kinds[0] : null;
    var category = wanted.categories && wanted.categories.length === 1 ? wanted.categories[0] : null;
    var hits = [];
    points.forEach(function (p) {
      if (statuses.indexOf(p.status) < 0 || (p.services & mask) !== mask) return;
      if ((kind && p.kind !== kind) || (category && p.category !== category) || (wanted.baseOnly && !p.base)) return;
      hits.push({ point: p, distance: haversine(lat, lon, p.lat, p.lon) });
    });
    hits.sort(function (a, b) {
      return a.distance - b.distance || (a.point.id < b.point.id ? -1 : a.point.id > b.point.id ? 1 : 0);
    });
    return hits.slice(0, k).map(function (hit) {
      var p = hit.point;
      return {
        properties: {
          id: p.id,
          name: p.name,
          status: p.status,
          kind: p.kind,
          address: p.address,
          settlement: p.settlement,
          lat: p.lat,
          lon: p.lon,
          stale: isStale(p),
          verified_at: new Date(p.verifiedAt * 1000).toISOString(),
          services: settings.services.filter(function (name, bit) {
            return p.services & (1 << bit);
          }),
          distance_m: hit.distance,
          direction: compassPoint(lat, lon, p.lat, p.lon),
        },
      };
    });
  }

  function fold(value) {
    return value.toLowerCase().replace(/[’ʼ`´‘]/g, "'");
  }

  // Settlements of the kept points matching a name, best first, as /api/v1/places ranks them.
  function placesHere(query) {
    var needle = fold(query);
    var groups = {};
    points.forEach(function (p) {
      if (!p.settlement || fold(p.settlement).indexOf(needle) < 0) return;
      var place = groups[p.settlement] || (groups[p.settlement] = { name: p.settlement, lat: 0, lon: 0, points: 0 });
      place.lat += p.lat;
      place.lon += p.lon;
      place.points += 1;
    });
    function rank(place) {
      var name = fold(place.name);
      return [name !== needle ? 1 : 0, name.indexOf(needle) === 0 ? 0 : 1, -place.points];
    }
    return Object.keys(groups)
      .map(function (name) {
        var place = groups[name];
        return { name: name, lat: place.lat / place.points, lon: place.lon / place.points, points: place.points };
      })
      .sort(function (a, b) {
        var ra = rank(a);
        var rb = rank(b);
        return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      });
  }

  function nearestQuery(lat, lon) {
    var wanted = currentFilter();
    var params = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6), k: "5" });
    Object.keys(settings.filters || {}).forEach(function (key) {
      params.set(key, settings.filters[key]);
    });
    var services = wanted.services.slice();
    if (settings.filters && settings.filters.services) {
      settings.filters.services.split(",").forEach(function (name) {
        if (services.indexOf(name) < 0) services.push(name);
      });
    }
    if (services.length) params.set("services", services.join(","));
    if (wanted.kinds && wanted.kinds.length === 1) params.set("kind", wanted.kinds[0]);
    if (wanted.categories && wanted.categories.length === 1) params.set("category", wanted.categories[0]);
    if (wanted.baseOnly) params.set("base", "true");
    return settings.nearestUrl + "?" + params.toString();
  }

  // Centre the map on a point at the first zoom (from this one on) where it stands alone, and
  // open its popup. A point the filters hide gets a popup of its own, without a marker.
  function showOnMap(id) {
    // a scan, not an id -> point table: 100,000 keys cost more to build than the rare scans
    var point = points.find(function (p) {
      return p.id === id;
    });
    if (!point || !index) return;
    var zoom = Math.max(Math.round(map.getZoom()), 1);
    var top = CLUSTERING.maxZoom + 1;
    var near = 1e-5; // degrees (~1 m): a box around the point (a cluster sits at its members' centre)
    var box = [point.lon - near, point.lat - near, point.lon + near, point.lat + near];
    function alone(z) {
      return index.getClusters(box, z).some(function (feature) {
        return feature.properties === point;
      });
    }
    while (zoom < top && !alone(zoom)) zoom += 1;
    map.setView([point.lat, point.lon], Math.min(zoom, map.getMaxZoom()), { animate: false });
    var marker = drawn["p" + point.id];
    if (marker) marker.openPopup();
    else L.popup().setLatLng([point.lat, point.lon]).setContent(popupFor(point)).openOn(map);
  }

  function renderNearest(features, heading, origin) {
    results.textContent = "";
    statusLine.textContent = features.length ? heading : text("none_found");
    var bounds = L.latLngBounds([origin]);
    features.forEach(function (feature) {
      var p = feature.properties;
      var item = el("li", "result" + (p.stale ? " result-stale" : ""));
      var title = el("h3");
      title.appendChild(link(pointUrl(p.id), p.name, settings.embed));
      item.appendChild(title);
      var line = el("p", "result-distance", distanceText(p.distance_m) + " · " + (labels.compass[p.direction] || p.direction) + " · ");
      line.appendChild(el("span", "badge badge-" + p.status, labels.status[p.status]));
      if (p.kind === "mobile") line.appendChild(el("span", "badge badge-mobile", text("mobile")));
      item.appendChild(line);
      var where = [p.address, p.settlement].filter(Boolean).join(", ");
      if (where) item.appendChild(el("p", null, where));
      item.appendChild(el("p", "age", text("verified", { age: ageText(Date.parse(p.verified_at) / 1000) })));
      if (p.stale) item.appendChild(el("p", "stale-warning", text("stale")));
      if (p.services.length) {
        item.appendChild(
          el(
            "p",
            "services-line",
            p.services
              .map(function (name) {
                return labels.service[name] || name;
              })
              .join(" · ")
          )
        );
      }
      var actions = el("p", "actions");
      var show = el("button", "link-button", text("show_on_map"));
      show.type = "button";
      show.addEventListener("click", function () {
        showOnMap(p.id);
      });
      actions.appendChild(show);
      actions.appendChild(document.createTextNode(" · "));
      actions.appendChild(link(directionsUrl(p.lat, p.lon), text("directions"), true));
      item.appendChild(actions);
      results.appendChild(item);
      bounds.extend([p.lat, p.lon]);
    });
    if (features.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
    root.dataset.nearest = String(features.length);
  }

  function findNearest(lat, lon, heading) {
    if (snapshotAt) {
      renderNearest(nearestHere(lat, lon, 5), heading, [lat, lon]); // offline: from the snapshot
      return Promise.resolve();
    }
    return fetch(nearestQuery(lat, lon))
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        renderNearest(data.features, heading, [lat, lon]);
      })
      .catch(function () {
        // the connection dropped since the points loaded: they are enough to answer
        if (points.length) renderNearest(nearestHere(lat, lon, 5), heading, [lat, lon]);
        else statusLine.textContent = text("request_failed");
      });
  }

  function markHere(lat, lon) {
    if (hereMarker) map.removeLayer(hereMarker);
    hereMarker = L.circleMarker([lat, lon], { radius: 9, color: "#0b3d91", weight: 3, fillOpacity: 0.4 })
      .bindTooltip(text("you_are_here"))
      .addTo(map);
  }

  document.getElementById("near-me").addEventListener("click", function () {
    if (!navigator.geolocation) {
      statusLine.textContent = text("geo_unavailable");
      return;
    }
    statusLine.textContent = text("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var lat = position.coords.latitude;
        var lon = position.coords.longitude;
        markHere(lat, lon);
        findNearest(lat, lon, text("nearest_to_you"));
      },
      function (error) {
        statusLine.textContent = text(error.code === 1 ? "geo_denied" : "geo_unavailable");
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 120000 }
    );
  });

  document.getElementById("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var query = document.getElementById("search-input").value.trim();
    if (!query) return;
    statusLine.textContent = text("searching");
    var asked = snapshotAt
      ? Promise.reject(new Error("offline"))
      : fetch(settings.placesUrl + "?" + new URLSearchParams({ q: query }).toString()).then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        });
    asked
      .catch(function (error) {
        if (!points.length) throw error;
        return { places: placesHere(query) }; // offline: the snapshot's own settlements
      })
      .then(function (data) {
        if (!data.places.length) {
          results.textContent = "";
          statusLine.textContent = text("place_not_found", { name: query });
          return;
        }
        var place = data.places[0];
        var english = labels.locale.indexOf("en") === 0;
        var placeName = (english && place.name_en) || place.name;
        var region = (english && place.region_en) || place.region;
        var name = region && region !== placeName ? placeName + " (" + region + ")" : placeName;
        return findNearest(place.lat, place.lon, text("nearest_to_place", { name: name }));
      })
      .catch(function () {
        statusLine.textContent = text("request_failed");
      });
  });

  filters.addEventListener("change", applyFilters);
  window.addEventListener("online", function () {
    window.setTimeout(refreshIfOffline, ONLINE_SETTLE_MS);
  });
  window.setInterval(refreshIfOffline, RETRY_OFFLINE_MS);
  if (settings.serviceWorker && "serviceWorker" in navigator) {
    // after the first view has loaded, so installing the worker never competes with it
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(settings.serviceWorker).catch(function () {});
    });
  }
  loadPoints();
})();
