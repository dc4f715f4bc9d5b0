/* The console's opening_hours field (issue 17): as the operator types, ask the server for the
 * value in the page's language (/operator/hours/preview) and show it, or what is wrong with it.
 * The server's answer is text: it goes in through textContent. */
(function () {
  "use strict";
  var input = document.getElementById("f-opening_hours");
  var shown = document.getElementById("hours-preview");
  if (!input || !shown) return;
  var label = shown.dataset.label || "";
  var WAIT_MS = 250; // after the last key, so a phone's typing sends few requests
  var timer = null;
  var asked = 0;

  function ask() {
    var number = ++asked;
    var url = input.dataset.previewUrl + "?value=" + encodeURIComponent(input.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (!answer || number !== asked) return; // a later answer is on its way
        shown.classList.toggle("hours-preview-error", !answer.ok);
        shown.textContent = answer.ok ? (answer.preview ? label + " " + answer.preview : "") : answer.error;
        shown.dataset.state = answer.ok ? "ok" : "error";
      })
      .catch(function () {});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  });
})();
