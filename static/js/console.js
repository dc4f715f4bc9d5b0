/* Operator console: fill the "move point" form from the phone's GPS or a tap on the map. */
(function () {
  "use strict";
  var form = document.getElementById("move-form");
  var holder = document.getElementById("console-map");
  if (!form || !holder) return;
  var map = window[JSON.parse(holder.dataset.settings).map];
  var words = JSON.parse(form.dataset.text); // in the page's language
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var status = document.getElementById("move-status");
  var pin = null;

  function place(latitude, longitude, message) {
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    if (pin) map.removeLayer(pin);
    pin = L.circleMarker([latitude, longitude], { radius: 10, color: "#b35900", weight: 3 }).addTo(map);
    map.panTo([latitude, longitude]);
    status.textContent = message;
  }

  map.on("click", function (event) {
    place(event.latlng.lat, event.latlng.lng, words.picked);
  });

  document.getElementById("use-gps").addEventListener("click", function () {
    if (!navigator.geolocation) {
      status.textContent = words.no_geolocation;
      return;
    }
    status.textContent = words.locating;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var accuracy = Math.round(position.coords.accuracy || 0);
        place(
          position.coords.latitude,
          position.coords.longitude,
          words.from_gps.replace("{accuracy}", String(accuracy))
        );
      },
      function () {
        status.textContent = words.gps_failed;
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  });
})();
