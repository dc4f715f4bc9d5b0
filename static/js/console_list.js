/* The console's "my points": "nearest to me" asks the phone where it is, then sends the list's
 * own form (sort=near&lat=..&lon=..), so the server sorts by its one haversine and the page's
 * address can be shared. Without JavaScript the button stays hidden and the form still works. */

const button = document.getElementById("near-me");
const form = document.getElementById("list-filters");

if (button && form && navigator.geolocation) {
  const words = JSON.parse(button.dataset.text); // in the page's language
  const status = document.getElementById("near-status");
  button.hidden = false;
  button.addEventListener("click", () => {
    status.textContent = words.locating;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        document.getElementById("list-lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("list-lon").value = position.coords.longitude.toFixed(6);
        document.getElementById("list-sort").value = "near";
        form.submit();
      },
      () => {
        status.textContent = words.failed;
      },
      { enableHighAccuracy: false, timeout: 20000, maximumAge: 60000 }
    );
  });
}
