/* Operator console: fill the "move point" form from the phone's GPS or a tap on the map. */
(function () {
  "use strict";
  var form = document.getElementById("move-form");
  var holder = document.getElementById("console-map");
  if (!form || !holder) return;
  var map = window[JSON.parse(holder.dataset.settings).map];
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
    place(event.latlng.lat, event.latlng.lng, "Нове місце вибрано на мапі. Натисніть «Зберегти місце».");
  });

  document.getElementById("use-gps").addEventListener("click", function () {
    if (!navigator.geolocation) {
      status.textContent = "Геолокація недоступна в цьому браузері.";
      return;
    }
    status.textContent = "Визначаю місце…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var accuracy = Math.round(position.coords.accuracy || 0);
        place(
          position.coords.latitude,
          position.coords.longitude,
          "Місце з GPS (точність ±" + accuracy + " м). Натисніть «Зберегти місце»."
        );
      },
      function () {
        status.textContent = "Не вдалося отримати місце з GPS. Торкніться мапи.";
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  });
})();
