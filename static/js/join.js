// /join: a map with a draggable marker for each point block, filling its lat and lon inputs
// (which work on their own without JavaScript). Settings come from the form's data-settings.
(function () {
  "use strict";
  const form = document.getElementById("join-form");
  if (!form || !window.L) return;
  const settings = JSON.parse(form.dataset.settings);
  for (const block of form.querySelectorAll(".join-point")) {
    const prefix = "point-" + block.dataset.index + "-";
    const lat = document.getElementById(prefix + "lat");
    const lon = document.getElementById(prefix + "lon");
    const holder = document.getElementById(prefix + "map");
    holder.hidden = false;
    const start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : settings.center;
    const map = L.map(holder).setView(start, lat.value ? 16 : settings.zoom);
    L.tileLayer(settings.tileUrl, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
    const marker = L.marker(start, { draggable: true, keyboard: true, title: "📍" }).addTo(map);
    const fill = (position) => {
      lat.value = position.lat.toFixed(6);
      lon.value = position.lng.toFixed(6);
    };
    marker.on("dragend", () => fill(marker.getLatLng()));
    map.on("click", (event) => {
      marker.setLatLng(event.latlng);
      fill(event.latlng);
    });
    const follow = () => {
      const a = Number(lat.value), b = Number(lon.value);
      if (lat.value && lon.value && Number.isFinite(a) && Number.isFinite(b)) marker.setLatLng([a, b]);
    };
    lat.addEventListener("change", follow);
    lon.addEventListener("change", follow);
  }
})();
