/* The planner's map: covered and uncovered settlements (different shapes and colours), the
 * circle of distance D around each qualifying point, and the plan's numbered sites. The server
 * hands numbers and names as JSON in data-settings (never as HTML); names reach the page as
 * text nodes only. Leaflet (window.L) is the self-hosted static/vendor/leaflet. */

const holder = document.getElementById("planner-map");

function label(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

function marker(L, lat, lon, className, symbol) {
  const icon = L.divIcon({ className: `planner-mark ${className}`, html: "", iconSize: [18, 18] });
  const made = L.marker([lat, lon], { icon, keyboard: false });
  made.on("add", () => {
    const element = made.getElement();
    if (element) element.textContent = symbol; // text, never HTML
  });
  return made;
}

if (holder && window.L) {
  const L = window.L;
  const settings = JSON.parse(holder.dataset.settings);
  const map = window[settings.map];
  const words = settings.words;
  const bounds = [];
  const circles = L.layerGroup();
  for (const [lat, lon] of settings.circles) {
    L.circle([lat, lon], {
      radius: settings.radius_m,
      color: "#0b3d91",
      weight: 1,
      fillOpacity: 0.08,
      interactive: false,
    }).addTo(circles);
  }
  circles.addTo(map);
  for (const [lat, lon, name, people] of settings.covered) {
    L.circleMarker([lat, lon], { radius: 5, color: "#1b7a3a", weight: 2, fillOpacity: 0.7 })
      .bindTooltip(label(`● ${name}: ${words.covered}, ${people} ${words.people}`))
      .addTo(map);
    bounds.push([lat, lon]);
  }
  for (const [lat, lon, name, people] of settings.uncovered) {
    marker(L, lat, lon, "planner-uncovered", "▲")
      .bindTooltip(label(`▲ ${name}: ${words.uncovered}, ${people} ${words.people}`))
      .addTo(map);
    bounds.push([lat, lon]);
  }
  settings.sites.forEach(([lat, lon, name], i) => {
    marker(L, lat, lon, "planner-site", String(i + 1))
      .bindTooltip(label(`${i + 1}. ${name} (${words.site})`))
      .addTo(map);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 11 });
}
