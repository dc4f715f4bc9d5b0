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

  function widgetQuery() {
    var params = new URLSearchParams();
    var region = form.elements.region.value;
    var settlement = form.elements.settlement.value.trim();
    if (region) params.set("region", region);
    if (settlement) params.set("settlement", settlement);
    if (form.elements.lang.value) params.set("lang", form.elements.lang.value);
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
