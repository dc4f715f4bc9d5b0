/* A mobile point's schedule: a small map in the "add a stop" form; a tap on it fills the stop's
 * latitude and longitude. The typed fields stay the form's truth and work without JavaScript.
 * Leaflet (window.L) is the self-hosted static/vendor/leaflet, loaded by the page. */

const holder = document.getElementById("stop-map");
const lat = document.getElementById("stop-lat");
const lon = document.getElementById("stop-lon");

if (holder && lat && lon && window.L) {
  const settings = JSON.parse(holder.dataset.settings);
  const status = document.getElementById("stop-map-status");
  holder.hidden = false;
  document.getElementById("stop-map-hint").hidden = false;
  holder.setAttribute("role", "application");
  holder.setAttribute("aria-label", settings.words.label);
  const start = [Number(lat.value) || 50.45, Number(lon.value) || 30.52];
  const map = window.L.map(holder, { tap: true }).setView(start, 13);
  window.L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  const pin = window.L.circleMarker(start, { radius: 10, color: "#6a2c91", weight: 3 }).addTo(map);

  map.on("click", (event) => {
    lat.value = event.latlng.lat.toFixed(6);
    lon.value = event.latlng.lng.toFixed(6);
    pin.setLatLng(event.latlng);
    status.textContent = settings.words.picked;
  });
  // A typed place moves the pin too, so the map never disagrees with the fields.
  const follow = () => {
    const here = [Number(lat.value), Number(lon.value)];
    if (Number.isFinite(here[0]) && Number.isFinite(here[1]) && lat.value && lon.value) {
      pin.setLatLng(here);
      map.panTo(here);
    }
  };
  lat.addEventListener("change", follow);
  lon.addEventListener("change", follow);
}
