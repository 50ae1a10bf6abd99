// The Help Center's state and its calls of `/api/v1/help/{account}/…`.

import { lang, langOf, request, t } from "../shared.js";

const segments = location.pathname.split("/").filter(Boolean);
const accountId = decodeURIComponent(segments[segments.length - 1] || "");
export const apiBase = "/api/v1/help/" + encodeURIComponent(accountId);
const LANG_KEY = "casedesk:help:lang";

/** The language chosen here before, else the browser's. */
export function initialLang() {
  let stored = "";
  try {
    stored = langOf(localStorage.getItem(LANG_KEY));
  } catch (_) {
    /* no storage: the browser's language each time */
  }
  return stored || langOf(navigator.language) || "en";
}

export function saveLang(lang) {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch (_) {
    /* this page only */
  }
}

export const state = {
  company: "",
  me: null, // the signed-in person, with the CSRF token
  view: "loading", // loading | signin | sent | list | case | notfound
  // The #help-error line and the field's own error: a string the server
  // said, or a function of ours that follows the language.
  error: "",
  fieldError: "",
  email: "", // the sign-in field, kept across re-renders
  sentTo: "",
  sending: false,
  cases: null, // the list, once fetched
  detail: null, // {case, messages} of the open request
  closing: false,
};

/** A text to show: a string the server said, or one of ours (a function,
 * so that it follows the language). */
export const say = (v) => (typeof v === "function" ? v() : v || "");

/** A call of the Help Center API; a network failure answers status 0. */
export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && state.me) headers["X-CSRF-Token"] = state.me.csrf_token;
  try {
    return await request(apiBase + path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  } catch (_) {
    return { status: 0, ok: false, data: null, headers: new Headers() };
  }
}


/** What to tell the person about a failed call. The server speaks
 * English: its own words in English, ours (`fallback`) in Russian. */
export function problem(r, fallback) {
  const said = r.data && r.data.error && r.data.error.message;
  const minutes = Math.max(1, Math.ceil((Number(r.headers.get("Retry-After")) || 60) / 60));
  return () => {
    if (r.status === 0) return t("help.network");
    if (said && lang() === "en" && r.status < 500) return said;
    if (r.status === 429) return t("help.too_many", { minutes });
    return (fallback && fallback()) || t("help.error");
  };
}
