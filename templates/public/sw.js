/* The service worker of the public map (issue 7: offline and low bandwidth), from locator/web/pwa.py.
 *
 * - The map page, /list and the points snapshot: network first; after a short wait on a weak link,
 *   or with no connection, the last copy, marked with SW.snapshotHeader so the page can say so.
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
        var requests = SW.shell.concat([SW.page]).map(function (url) {
          return new Request(url, { cache: "no-cache" });
        });
        return cache.addAll(requests);
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
    event.respondWith(networkFirst(event, STATIC_CACHE, SW.page));
  } else if (request.mode === "navigate" && url.pathname === SW.list) {
    event.respondWith(networkFirst(event, DATA_CACHE, request.url, lastListAnswer));
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

function networkFirst(event, cacheName, key, fallback) {
  // The data always asks the server (a 304 when unchanged): a copy still fresh in the HTTP
  // cache would otherwise pass for news from the network while the phone is offline.
  var network = fetch(key === SW.data ? new Request(event.request, { cache: "no-cache" }) : event.request);
  var saved = network
    .then(function (response) {
      if (!storable(response)) return;
      var copy = response.clone();
      return caches.open(cacheName).then(function (cache) {
        return cache.put(key, copy).then(function () {
          if (cacheName === DATA_CACHE && key !== SW.data) return trimListAnswers(cache);
        });
      });
    })
    .catch(function () {});
  event.waitUntil(saved); // the answer is stored even when it comes after the timeout
  var timeout = new Promise(function (resolve) {
    setTimeout(resolve, SW.timeoutMs, null);
  });
  var inTime = Promise.race([
    network.catch(function () {
      return null;
    }),
    timeout,
  ]);
  return inTime.then(function (response) {
    if (response && response.status < 500) return response;
    return fromCache(cacheName, key, fallback).then(function (cached) {
      if (cached) return cached;
      return response || network; // nothing kept: wait for the network, or its error
    });
  });
}

function fromCache(cacheName, key, fallback) {
  return caches
    .open(cacheName)
    .then(function (cache) {
      return cache.match(key, { ignoreVary: true }).then(function (found) {
        return found || (fallback ? fallback(cache) : undefined);
      });
    })
    .then(function (found) {
      return found ? marked(found) : undefined;
    });
}

/* The copy, with a header that tells the page it is not fresh from the network. */
function marked(response) {
  var headers = new Headers(response.headers);
  headers.set(SW.snapshotHeader, "1");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: headers });
}

function listAnswers(cache) {
  return cache.keys().then(function (requests) {
    return requests.filter(function (request) {
      return new URL(request.url).pathname === SW.list;
    });
  });
}

/* Offline, a /list question never asked before gets the last answer (it names its place). */
function lastListAnswer(cache) {
  return listAnswers(cache).then(function (requests) {
    return requests.length ? cache.match(requests[requests.length - 1], { ignoreVary: true }) : undefined;
  });
}

function trimListAnswers(cache) {
  return listAnswers(cache).then(function (requests) {
    return Promise.all(
      requests.slice(0, Math.max(0, requests.length - SW.listAnswers)).map(function (request) {
        return cache.delete(request);
      })
    );
  });
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
