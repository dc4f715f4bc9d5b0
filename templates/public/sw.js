/* The service worker of the public map (issue 7: offline and low bandwidth), from locator/web/pwa.py.
 *
 * - The map page (one copy per language), /list answers, point pages and the points snapshot:
 *   network first; after a short wait on a weak link, or with no connection, the last copy,
 *   marked with SW.snapshotHeader so the page can say so. A kept /list answer or point page says
 *   when it was saved; offline, only the answer to the very question asked is given, never another
 *   place's (issue 17): a question never asked gets a page that says so and lists what is kept.
 * - Point pages are kept when visited, and when the map lists them as nearest (it posts them).
 * - The map's static files, every ES module of static/js/ that map.js imports among them (pwa.py's
 *   MAP_MODULES; the map cannot start offline without all of them): cache first, from a cache
 *   named after their version, so a deploy (a new worker) replaces them all at once.
 * - Everything else (the operator console, the API's writes and other reads, other sites' tiles)
 *   is not touched: no respondWith, the browser goes to the network as if this were not here.
 */
"use strict";

var SW = {{ sw | tojson }};
var STATIC_CACHE = "poi-static-" + SW.version;
var DATA_CACHE = "poi-data"; // the last snapshot outlives a deploy: it is still the best we have
var SHELL = new Set(SW.shell);
var LAZY = new Set(SW.lazy); // kept when first fetched (the hours library), not at install

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then(function (cache) {
        // "no-cache": revalidate with the server (a 304 is tiny), so a copy the browser's HTTP
        // cache still holds from before a deploy never enters the new version's cache.
        var requests = SW.shell.map(function (url) {
          return new Request(url, { cache: "no-cache" });
        });
        return cache.addAll(requests).then(function () {
          return fetch(new Request(SW.page, { cache: "no-cache" })).then(function (response) {
            if (!storable(response)) throw new Error("the map page could not be kept");
            return keepPage(cache, response);
          });
        });
      })
      .then(function () {
        // The snapshot the page has just loaded is usually still in the HTTP cache: no transfer.
        return caches
          .open(DATA_CACHE)
          .then(function (cache) {
            return fetch(SW.data).then(function (response) {
              if (storable(response)) return cache.put(SW.data, response);
            });
          })
          .catch(function () {}); // best effort: the page's next load stores it too
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("poi-static-") === 0 && name !== STATIC_CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === SW.page) {
    event.respondWith(mapPage(event, url));
  } else if (request.mode === "navigate" && url.pathname === SW.list) {
    event.respondWith(networkFirst(event, DATA_CACHE, request.url, noSavedAnswer(url), withSavedNote));
  } else if (request.mode === "navigate" && url.pathname.indexOf(SW.pointPrefix) === 0 && !url.search) {
    event.respondWith(networkFirst(event, DATA_CACHE, url.href, noSavedAnswer(url), withSavedNote));
  } else if (url.pathname + url.search === SW.data) {
    event.respondWith(networkFirst(event, DATA_CACHE, SW.data));
  } else if ((SHELL.has(url.pathname) || LAZY.has(url.pathname)) && !url.search) {
    event.respondWith(cacheFirst(event, url.pathname));
  }
});

/* Only a complete, public, same-site answer is kept: no errors, no redirects, nothing marked
 * private or no-store (the console's pages are never even seen here). */
function storable(response) {
  if (!response || response.status !== 200 || response.type !== "basic") return false;
  var control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return control.indexOf("no-store") < 0 && control.indexOf("private") < 0;
}

/* The map page in the reader's language: ?lang= if the address says, else the language of the
 * last copy the network gave (the `lang` cookie and Accept-Language decide it, and a worker
 * cannot read either). Offline, a copy in another language is better than no map. */
function mapPage(event, url) {
  var asked = url.searchParams.get("lang");
  var network = fetch(event.request);
  keepWhenItComes(event, network, STATIC_CACHE, keepPage);
  return withinTimeout(network).then(function (response) {
    if (response && response.status < 500) return response;
    return caches.open(STATIC_CACHE).then(function (cache) {
      return cache.match(LAST_LANGUAGE).then(function (last) {
        return (last ? last.text() : Promise.resolve("")).then(function (remembered) {
          var order = [asked, remembered].concat(SW.languages).filter(Boolean);
          return firstMatch(cache, order.map(pageKey)).then(function (found) {
            return found ? marked(found) : response || network;
          });
        });
      });
    });
  });
}

var LAST_LANGUAGE = "/__poi/last-language";

function pageKey(lang) {
  return SW.page + "?lang=" + lang;
}

function keepPage(cache, response) {
  var lang = response.headers.get("Content-Language") || SW.languages[0];
  return Promise.all([
    cache.put(pageKey(lang), response),
    cache.put(LAST_LANGUAGE, new Response(lang, { headers: { "Content-Type": "text/plain" } })),
  ]);
}

function firstMatch(cache, keys) {
  if (!keys.length) return Promise.resolve(undefined);
  return cache.match(keys[0], { ignoreVary: true }).then(function (found) {
    return found || firstMatch(cache, keys.slice(1));
  });
}

/* Store the network's answer when it comes, even after the timeout: put(cache, copy). */
function keepWhenItComes(event, network, cacheName, put) {
  var saved = network
    .then(function (response) {
      if (!storable(response)) return;
      var copy = response.clone();
      return caches.open(cacheName).then(function (cache) {
        return put(cache, copy);
      });
    })
    .catch(function () {});
  event.waitUntil(saved);
}

/* The network's answer, or null when it fails or takes longer than SW.timeoutMs. */
function withinTimeout(network) {
  var timeout = new Promise(function (resolve) {
    setTimeout(resolve, SW.timeoutMs, null);
  });
  return Promise.race([
    network.catch(function () {
      return null;
    }),
    timeout,
  ]);
}

function networkFirst(event, cacheName, key, fallback, dress) {
  // The data always asks the server (a 304 when unchanged): a copy still fresh in the HTTP
  // cache would otherwise pass for news from the network while the phone is offline.
  var network = fetch(key === SW.data ? new Request(event.request, { cache: "no-cache" }) : event.request);
  keepWhenItComes(event, network, cacheName, function (cache, copy) {
    return cache.put(key, copy).then(function () {
      if (cacheName === DATA_CACHE && key !== SW.data) return trimAnswers(cache, new URL(key).pathname);
    });
  });
  return withinTimeout(network).then(function (response) {
    if (response && response.status < 500) return response;
    return caches.open(cacheName).then(function (cache) {
      return cache.match(key, { ignoreVary: true }).then(function (found) {
        if (found) return dress ? dress(marked(found)) : marked(found);
        // nothing kept: say so at once when the phone is offline, else wait for the network
        if (fallback && !response) return network.catch(function () { return fallback(cache); });
        return response || network;
      });
    });
  });
}

/* The copy, with a header that tells the page it is not fresh from the network. */
function marked(response) {
  var headers = new Headers(response.headers);
  headers.set(SW.snapshotHeader, "1");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: headers });
}

function isPointPage(pathname) {
  return pathname.indexOf(SW.pointPrefix) === 0;
}

/* Kept /list answers, or kept point pages: the same kind of page as this path. */
function keptLike(cache, pathname) {
  var points = isPointPage(pathname);
  return cache.keys().then(function (requests) {
    return requests.filter(function (request) {
      var path = new URL(request.url).pathname;
      return points ? isPointPage(path) : path === SW.list;
    });
  });
}

function trimAnswers(cache, pathname) {
  var limit = isPointPage(pathname) ? SW.pointPages : SW.listAnswers;
  return keptLike(cache, pathname).then(function (requests) {
    return Promise.all(
      requests.slice(0, Math.max(0, requests.length - limit)).map(function (request) {
        return cache.delete(request);
      })
    );
  });
}

/* The map lists its nearest points: keep their pages (with phone numbers) for a lost connection. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep-points" || !Array.isArray(data.ids)) return;
  var ids = data.ids.slice(0, SW.pointPages).filter(function (id) {
    return typeof id === "string" && /^[A-Za-z0-9._~-]{1,100}$/.test(id);
  });
  event.waitUntil(
    caches.open(DATA_CACHE).then(function (cache) {
      return Promise.all(
        ids.map(function (id) {
          var key = new URL(SW.pointPrefix + encodeURIComponent(id), self.location.origin).href;
          return fetch(key, { credentials: "same-origin" })
            .then(function (response) {
              if (storable(response)) return cache.put(key, response);
            })
            .catch(function () {});
        })
      ).then(function () {
        return trimAnswers(cache, SW.pointPrefix);
      });
    })
  );
});

/* The reader's words, for the pages the worker writes itself. */
function wordsFor(url) {
  var lang = url.searchParams.get("lang");
  if (!SW.words[lang]) lang = (self.navigator.language || "").slice(0, 2) === "en" ? "en" : SW.languages[0];
  return SW.words[lang];
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

function fill(sentence, values) {
  return sentence.replace(/\{(\w+)\}/g, function (_, name) {
    return values[name];
  });
}

function savedTime(response, words) {
  // the first HTTP date (a server behind a proxy may send the header twice, joined by a comma)
  var found = /\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT/.exec(response.headers.get("Date") || "");
  var sent = found ? Date.parse(found[0]) : 0;
  if (!sent) return "";
  return new Date(sent).toLocaleString(words.locale, {
    timeZone: "Europe/Kyiv", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
  });
}

/* A kept answer, saying when it was saved (at the page's SW.savedMarker). */
function withSavedNote(response) {
  var words = SW.words[response.headers.get("Content-Language")] || SW.words[SW.languages[0]];
  var note =
    '<p class="offline-note" role="status">' + escapeHtml(fill(words.saved, { time: savedTime(response, words) })) + "</p>";
  return response.text().then(function (html) {
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");
    return new Response(html.replace(SW.savedMarker, note), { status: response.status, headers: headers });
  });
}

/* What is asked: the /list place (or coordinates), or nothing for a point page. */
function askedFor(url) {
  var params = url.searchParams;
  var place = params.get("place") || params.get("q") || params.get("label");
  if (!place && params.get("lat")) place = params.get("lat") + ", " + params.get("lon");
  return (place || "").slice(0, 100);
}

/* Offline, a question never asked online: say so, and list the answers that are kept. */
function noSavedAnswer(url) {
  return function (cache) {
    var words = wordsFor(url);
    var place = askedFor(url);
    var points = isPointPage(url.pathname);
    var heading = points ? words.no_page : fill(words.no_answer, { place: place });
    return keptLike(cache, SW.list).then(function (requests) {
      var links = requests
        .slice()
        .reverse()
        .map(function (request) {
          var kept = new URL(request.url);
          return '<li><a href="' + escapeHtml(kept.pathname + kept.search) + '">' + escapeHtml(askedFor(kept)) + "</a></li>";
        });
      var html =
        '<!doctype html><html lang="' + escapeHtml(words.lang) + '"><head><meta charset="utf-8">' +
        '<meta name="viewport" content="width=device-width, initial-scale=1">' +
        "<title>" + escapeHtml(words.offline) + '</title><link rel="stylesheet" href="' + escapeHtml(SW.css) + '"></head>' +
        '<body><main class="page"><h1>' + escapeHtml(words.offline) + '</h1><p class="stale-warning" role="alert">' +
        escapeHtml(heading) + "</p>" +
        (links.length ? "<h2>" + escapeHtml(words.kept) + "</h2><ul>" + links.join("") + "</ul>" : "") +
        '<p><a class="button" href="' + escapeHtml(SW.page) + '">' + escapeHtml(words.to_map) + "</a></p></main></body></html>";
      return new Response(html, {
        status: 503,
        headers: {
          "Content-Type": "text/html; charset=utf-8",
          "Content-Language": words.lang,
          "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'",
          "Cache-Control": "no-store",
        },
      });
    });
  };
}

function cacheFirst(event, key) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(key, { ignoreVary: true }).then(function (found) {
      if (found) return found;
      return fetch(event.request).then(function (response) {
        if (storable(response)) {
          var copy = response.clone();
          event.waitUntil(cache.put(key, copy));
        }
        return response;
      });
    });
  });
}
