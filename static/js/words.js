/* What the reader reads: words, numbers and times in their language, and the elements that
 * carry them. Every sentence, unit and plural form comes from the page (data-labels, from
 * locator/web/labels.py's for_script); the script holds none. Point data is text: every value
 * goes in through textContent or attributes, never through innerHTML. */

const KYIV = "Europe/Kyiv";

/** The page's words as functions: text(key, values), plural(key, values), and the formats. */
export function makeWords(labels) {
  const numberFormat = new Intl.NumberFormat(labels.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(labels.locale) : null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return values && name in values ? String(values[name]) : "";
    });
  }

  function text(key, values) {
    return fill(labels.text[key] || key, values);
  }

  function plural(key, values) {
    const forms = labels.plural[key];
    return fill(forms[pluralRules ? pluralRules.select(values.n) : "other"] || forms.other, values);
  }

  function ageText(epochSeconds) {
    const seconds = Math.max(0, Date.now() / 1000 - epochSeconds);
    if (seconds < 60) return text("ago_now");
    if (seconds < 3600) return text("ago_min", { n: Math.floor(seconds / 60) });
    if (seconds < 172800) return text("ago_hour", { n: Math.floor(seconds / 3600) });
    return text("ago_day", { n: Math.floor(seconds / 86400) });
  }

  // "Status confirmed 5 min ago", or, for 0 (an imported point no operator has confirmed),
  // "never confirmed": an import is not a confirmation (issue 17).
  function confirmedText(epochSeconds) {
    if (!epochSeconds) return text("never_confirmed");
    return text("verified", { age: ageText(epochSeconds) });
  }

  function distanceText(metres) {
    if (metres < 1000) return text("unit_m", { n: Math.round(metres) });
    return text("unit_km", { n: numberFormat.format(metres / 1000) });
  }

  // A moment as Kyiv wall-clock time (HH:MM), with the date when it is not today's.
  function clockTime(ms) {
    const options = { timeZone: KYIV, hour: "2-digit", minute: "2-digit" };
    const day = { timeZone: KYIV, year: "numeric", month: "2-digit", day: "2-digit" };
    const today = new Date().toLocaleDateString("en-CA", day) === new Date(ms).toLocaleDateString("en-CA", day);
    if (!today) options.day = options.month = "2-digit";
    return new Date(ms).toLocaleString(labels.locale, options);
  }

  return {
    text: text,
    plural: plural,
    ageText: ageText,
    confirmedText: confirmedText,
    distanceText: distanceText,
    clockTime: clockTime,
    status: labels.status,
    service: labels.service,
    compass: labels.compass,
    trust: labels.trust,
    category: labels.category,
    businessType: labels.business_type,
    icon: labels.icon, // issue 20: a glyph per category and business type (web/labels.py ICON)
    locale: labels.locale,
    hours: labels.hours, // hours.js's words (web/hours_words.py)
  };
}

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

/** "🏪 Business that keeps working · ⛽ Fuel station": the point's category and business type,
 *  each glyph beside its label (the glyph is hidden from screen readers; the words say it). */
export function kindLine(words, category, businessType) {
  const line = el("p", "kind-line");
  [
    [category, words.icon.category, words.category],
    [businessType, words.icon.business_type, words.businessType],
  ].forEach(function (part) {
    if (!part[0] || !part[2][part[0]]) return;
    if (line.childNodes.length) line.appendChild(document.createTextNode(" · "));
    line.appendChild(el("span", "kind-icon", part[1][part[0]] || "")).setAttribute("aria-hidden", "true");
    line.appendChild(el("span", "kind-label", part[2][part[0]]));
  });
  return line;
}
