// What the agent app, the chat widget and the Help Center share: building
// DOM, the strings of each language, formatting, and one HTTP call.
//
// Text from the server (messages, subjects, names) is hostile by default:
// it only ever goes into the page as text nodes, never as HTML. The widget
// imports this module cross-origin from customers' sites, so nothing here
// may assume it runs on casedesk's own pages.

// ------------------------------------------------------------------ DOM

/** Builds an element. Strings become text nodes: never parsed as HTML.
 * `on…` attributes are listeners; null, undefined and false are left out. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Appends children (nested arrays flattened, null/false skipped). */
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Builds an SVG element; like `h`, text only ever goes in as textContent. */
export function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Text with http(s) links as anchors, all of it as text nodes. */
export function linkify(text) {
  const parts = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let at = 0;
  for (let m; (m = re.exec(text)); ) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    parts.push(h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer nofollow" }, m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

// ------------------------------------------------------------------ strings

// One JSON file per language (i18n/en.json, i18n/ru.json), shared by the
// three front ends: the app's keys are plain, the widget's start with
// `widget.`, the Help Center's with `help.`. A Rust test (web/tests.rs)
// checks that every key a script names is in every file.

const tables = {}; // lang -> its strings
let current = "en";
const reported = new Set();

/** "ru" or "en" for a language tag ("ru-RU", "en"), else "". */
export function langOf(tag) {
  return /^ru\b/i.test(tag || "") ? "ru" : /^en\b/i.test(tag || "") ? "en" : "";
}

/** Loads the language's strings (once) and makes it the current one. */
export async function useLang(lang) {
  if (!tables[lang]) {
    // Relative to this module, so the widget fetches them from casedesk.
    const url = new URL("i18n/" + lang + ".json", import.meta.url);
    const res = await fetch(url, { credentials: "omit" });
    if (!res.ok) throw new Error("casedesk: strings for " + lang + ": HTTP " + res.status);
    tables[lang] = await res.json();
  }
  current = lang;
}

export function lang() {
  return current;
}

/** The locale numbers and the app's dates are written in. */
export function locale() {
  return current === "ru" ? "ru-RU" : "en-GB";
}

/** Whether the current language has `key` (for names of kinds the page
 * may not know yet, shown as they are). */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(tables[current] || {}, key);
}

/** The string `key` of the current language, `{name}` replaced by
 * `params.name`. A missing key is a bug: it shows as ⟦key⟧ and is logged,
 * never quietly replaced by another language. */
export function t(key, params) {
  let s = has(key) ? tables[current][key] : null;
  if (typeof s !== "string") {
    if (!reported.has(current + " " + key)) {
      reported.add(current + " " + key);
      console.error("casedesk: no string " + JSON.stringify(key) + " in i18n/" + current + ".json");
    }
    return "⟦" + key + "⟧";
  }
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

// ------------------------------------------------------------------ formatting

/** A date and time in `loc` (by default the current language's locale);
 * "" when there is none. */
export function formatDate(iso, options, loc) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return "";
  try {
    return d.toLocaleString(loc || locale(), options);
  } catch (_) {
    return d.toLocaleString();
  }
}

/** A file size as people read it: 812 B, 4.2 KB, 12 MB. */
export function fmtSize(bytes) {
  const n = Number(bytes) || 0;
  const num = (v) => v.toLocaleString(locale(), { maximumFractionDigits: v < 10 ? 1 : 0 });
  if (n < 1024) return t("size_b", { n });
  if (n < 1024 ** 2) return t("size_kb", { n: num(n / 1024) });
  if (n < 1024 ** 3) return t("size_mb", { n: num(n / 1024 ** 2) });
  return t("size_gb", { n: num(n / 1024 ** 3) });
}

// ------------------------------------------------------------------ HTTP

/** One HTTP call. A plain `body` goes as JSON, a Blob (a file) as its
 * bytes. Answers `{ status, ok, statusText, data, headers }`, `data` being
 * the parsed JSON or null; only a network failure throws. */
export async function request(url, { method = "GET", headers = {}, body, ...init } = {}) {
  const raw = body instanceof Blob;
  const all = { ...headers };
  if (body !== undefined && !all["Content-Type"]) all["Content-Type"] = raw ? "application/octet-stream" : "application/json";
  const res = await fetch(url, { method, headers: all, body: body === undefined || raw ? body : JSON.stringify(body), ...init });
  let text = "";
  try {
    text = await res.text();
  } catch (_) {
    /* the body broke off: no data */
  }
  return { status: res.status, ok: res.ok, statusText: res.statusText, data: parseJson(text), headers: res.headers };
}

/** The JSON of a text, or null when it is empty or not JSON. */
export function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (_) {
    return null;
  }
}
