/* Building the page's elements. Point data is text: every value goes in through textContent
 * or attributes, never through innerHTML. */

/** A new element with a class and text content (both optional). */
export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined && content !== null) node.textContent = content;
  return node;
}

/** A link; newTab opens it apart from the page (the embed opens every link so). */
export function link(href, content, newTab) {
  const a = el("a", null, content);
  a.href = href;
  if (newTab) {
    a.target = "_blank";
    a.rel = "noopener";
  }
  return a;
}

/** The directions to a place, in the reader's usual maps app. */
export function directionsUrl(lat, lon) {
  return "https://www.google.com/maps/dir/?api=1&destination=" + lat.toFixed(6) + "," + lon.toFixed(6);
}
