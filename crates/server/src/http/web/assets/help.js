// casedesk Help Center: a customer signs in (with a one-time link mailed to
// them, or the chat widget's "My requests" link), sees their own requests
// across channels, reads them and may close them (docs/help-center.md).
//
// ES modules under a strict CSP: no inline code, no framework. Every text
// from the server (company name, subjects, messages) is put into the page
// with textContent only, never as HTML. The session is an HttpOnly cookie;
// every POST echoes its CSRF token. Navigation lives in the hash:
// `#case=ID` is a request, anything else the list; `#login=TOKEN` is a
// sign-in link, exchanged at once and removed from the address bar.

import { h, lang, t, useLang } from "./shared.js";
import { call, initialLang, problem, saveLang, state } from "./help/state.js";
import { dialog, render, root } from "./help/views.js";

let routeSeq = 0; // a newer navigation makes older answers stale

/** What the page's buttons do (help/views.js draws them). */
const on = { requestLink, signOut, switchLang, askClose, show };

function show(view, focus) {
  state.view = view;
  render(focus, on);
}

function setMe(me) {
  state.me = me;
  if (me && me.account_name) state.company = me.account_name;
}

/** Back to the sign-in form, with `why` on top. */
function signedOut(why) {
  state.me = null;
  state.cases = null;
  state.detail = null;
  state.error = why || "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  show("signin", "#help-email");
}

// ------------------------------------------------------------- navigation

async function route() {
  const seq = ++routeSeq;
  const stale = () => seq !== routeSeq;
  const hash = location.hash.slice(1);
  state.error = "";
  if (hash.startsWith("login=")) {
    // The token must not stay in the address bar or the history.
    history.replaceState(null, "", location.pathname + location.search);
    let token = hash.slice("login=".length);
    try {
      token = decodeURIComponent(token);
    } catch (_) {
      /* not percent-encoded */
    }
    show("loading");
    const r = await call("POST", "/session", { token });
    if (stale()) return;
    if (r.ok && r.data) {
      setMe(r.data);
      state.cases = null;
      return openList(seq, "h1");
    }
    const error = r.status === 401 || r.status === 400 || r.status === 422 ? () => t("help.bad_link") : problem(r);
    // An old link of someone still signed in: they keep their session.
    if (!state.me && !(await loadMe(seq))) {
      if (stale()) return;
      state.error = error;
      return show("signin", "#help-email");
    }
    if (stale()) return;
    state.error = error;
    return openList(seq);
  }
  if (!state.me) {
    if (!(await loadMe(seq))) {
      if (!stale()) show(state.view === "sent" ? "sent" : "signin", "#help-email");
      return;
    }
    if (stale()) return;
  }
  const m = /^case=(.+)$/.exec(hash);
  if (m) return openCase(m[1], seq);
  return openList(seq, state.view === "loading" ? null : "h1");
}

/** The session's person, if signed in; other errors are shown. */
async function loadMe(seq) {
  const r = await call("GET", "/me");
  if (seq !== routeSeq) return false;
  if (r.ok && r.data) {
    setMe(r.data);
    return true;
  }
  if (r.status !== 401) state.error = problem(r);
  return false;
}

async function openList(seq, focus) {
  if (state.cases) show("list");
  else show("loading");
  const r = await call("GET", "/cases");
  if (seq !== routeSeq) return;
  if (r.status === 401) return signedOut(() => t("help.session_over"));
  if (r.ok && r.data && Array.isArray(r.data.items)) state.cases = r.data.items;
  else state.error = problem(r);
  state.cases = state.cases || [];
  show("list", focus);
}

async function openCase(raw, seq) {
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch (_) {
    /* as it is */
  }
  if (!(state.detail && state.detail.case.id === id)) {
    state.detail = null;
    show("loading");
  }
  const r = await call("GET", "/cases/" + encodeURIComponent(id));
  if (seq !== routeSeq) return;
  if (r.status === 401) return signedOut(() => t("help.session_over"));
  if (r.ok && r.data && r.data.case && Array.isArray(r.data.messages)) {
    state.detail = r.data;
    return show("case", "h1");
  }
  state.detail = null;
  state.error = r.status === 404 || r.status === 400 || r.status === 422 ? () => t("help.not_found") : problem(r);
  show("notfound");
}

// ---------------------------------------------------------------- actions

async function requestLink(e) {
  e.preventDefault();
  if (state.sending) return;
  const email = state.email.trim();
  state.error = "";
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    state.fieldError = () => t("help.email_invalid");
    return show("signin", "#help-email");
  }
  state.fieldError = "";
  state.sending = true;
  show("signin");
  const r = await call("POST", "/sign-in", { email, lang: lang() });
  state.sending = false;
  if (r.status === 202 || r.ok) {
    state.sentTo = email;
    return show("sent", "h1");
  }
  if (r.status === 422 || r.status === 400) state.fieldError = problem(r, () => t("help.email_invalid"));
  else state.error = problem(r);
  show("signin", "#help-email");
}

async function signOut() {
  const r = await call("POST", "/sign-out");
  if (r.ok || r.status === 401) return signedOut("");
  state.error = problem(r);
  render(undefined, on);
}

async function switchLang() {
  const next = lang() === "en" ? "ru" : "en";
  try {
    await useLang(next);
  } catch (_) {
    return; // the strings did not come: stay in this language
  }
  saveLang(next);
  render("#help-lang", on);
}

function askClose() {
  const c = state.detail && state.detail.case;
  if (!c || state.closing) return;
  const no = h("button", { id: "help-confirm-no", type: "button", class: "help-secondary", onclick: () => dialog.close() }, t("help.confirm_no"));
  const yes = h("button", { id: "help-confirm-yes", type: "button", class: "help-danger", onclick: () => closeCase(c.id) }, t("help.confirm_yes"));
  dialog.replaceChildren(
    h("h2", { id: "help-confirm-title" }, t("help.confirm_title")),
    h("p", {}, t("help.confirm_text")),
    h("div", { class: "help-dialog-buttons" }, no, yes)
  );
  if (typeof dialog.showModal === "function") dialog.showModal();
  else dialog.setAttribute("open", "");
  no.focus(); // the harmless choice first
}

async function closeCase(id) {
  if (state.closing) return;
  state.closing = true;
  for (const b of dialog.querySelectorAll("button")) b.disabled = true;
  const seq = routeSeq;
  const r = await call("POST", "/cases/" + encodeURIComponent(id) + "/close");
  state.closing = false;
  if (dialog.open) dialog.close();
  if (r.status === 401) return signedOut(() => t("help.session_over"));
  if (seq !== routeSeq) return; // navigated away meanwhile
  if (r.ok && r.data && r.data.id === id) {
    state.detail.case = r.data;
    if (state.cases) state.cases = state.cases.map((c) => (c.id === id ? r.data : c));
    return show("case", ".help-closed-hint");
  }
  if (r.status !== 409) state.error = problem(r);
  // Closed meanwhile (409) or unknown: show what the server has now.
  openCase(encodeURIComponent(id), seq);
}

// ------------------------------------------------------------------ start

async function start() {
  await useLang(initialLang());
  document.body.append(dialog);
  dialog.addEventListener("close", () => {
    const b = root.querySelector("#help-close-case");
    if (b) b.focus();
  });
  window.addEventListener("hashchange", () => route());
  render(undefined, on);
  // The company's name is public: the sign-in form shows it too. Set in
  // place, so a person already typing keeps the focus.
  call("GET", "").then((r) => {
    if (!(r.ok && r.data && r.data.name) || state.company) return;
    state.company = r.data.name;
    const el = root.querySelector(".help-company");
    if (el) el.textContent = state.company;
    document.title = state.company + " — " + t("help.help_center");
  });
  route();
}

start();
