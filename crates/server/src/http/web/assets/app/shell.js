// The frame around the pages: the top bar, the active chats beside them,
// the login form, the language, signing in and out.

import { h, append, clear, lang, useLang, t } from "../shared.js";
import { api, onSessionEnd } from "./api.js";
import { state } from "./state.js";
import { attempt, toast, toastEl } from "./ui.js";
import { loadActive, renderActive } from "./active.js";
import { connectEvents, disconnectEvents } from "./events.js";
import { route, disposePage } from "./router.js";
import { notifyOffer } from "./notify.js";

export const LANG_KEY = "casedesk.lang";

/** The saved language, else the browser's. */
export function initialLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "ru") return saved;
  return (navigator.language || "").toLowerCase().startsWith("ru") ? "ru" : "en";
}

async function setLang(next) {
  try {
    await useLang(next);
  } catch (e) {
    toast(e.message, true);
    return;
  }
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = lang();
  renderShell();
  route();
}

export function renderShell() {
  const app = clear(document.querySelector("#app"));
  document.documentElement.lang = lang();
  const langSelect = h(
    "select",
    { "aria-label": t("language"), "data-test": "lang", onchange: (e) => setLang(e.target.value) },
    h("option", { value: "en", selected: lang() === "en" }, "English"),
    h("option", { value: "ru", selected: lang() === "ru" }, "Русский"),
  );
  if (!state.me) {
    append(app, h("div", { class: "login-lang" }, langSelect), h("main", { id: "main", class: "login-main" }), toastEl());
    return;
  }
  const nav = h(
    "nav",
    { class: "nav" },
    h("a", { href: "#/active", "data-nav": "active", class: "nav-active" }, t("nav_active")),
    h("a", { href: "#/cases?queue=open", "data-nav": "cases" }, t("nav_cases")),
    h("a", { href: "#/reports", "data-nav": "reports" }, t("nav_reports")),
    h("a", { href: "#/templates", "data-nav": "templates" }, t("nav_templates")),
    h("a", { href: "#/rules", "data-nav": "rules" }, t("nav_rules")),
    state.me.role === "admin" ? h("a", { href: "#/settings", "data-nav": "settings" }, t("nav_settings")) : null,
  );
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/active" }, t("brand")),
    nav,
    h(
      "div",
      { class: "topbar-right" },
      h("span", { class: state.live ? "live on" : "live", id: "live", title: "" }, state.live ? t("live") : t("offline")),
      langSelect,
      h("a", { href: "#/profile", class: "me", "data-test": "profile-link", dir: "auto" }, state.me.name),
      h("button", { type: "button", class: "link", "data-test": "logout", onclick: logout }, t("logout")),
    ),
  );
  const aside = h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h("nav", { class: "queues", "aria-label": t("queues") }, h("ul", { id: "queues", "data-test": "queues" })),
    notifyOffer(),
    h("h2", {}, t("nav_active"), " ", h("span", { class: "count", id: "active-count" })),
    h("ul", { class: "chat-list", id: "active-list", "data-test": "active-list" }),
    h(
      "p",
      { class: "warning-legend", id: "warning-legend", "data-test": "warning-legend", hidden: true },
      h("span", { class: "swatch", "aria-hidden": "true" }),
      t("warning_legend"),
    ),
    h(
      "section",
      { id: "unanswered", hidden: true },
      h("h2", {}, t("unanswered_title")),
      h("p", { class: "hint" }, t("unanswered_hint")),
      h("ul", { class: "chat-list", id: "unanswered-list", "data-test": "unanswered-list" }),
    ),
  );
  append(app, header, h("div", { class: "layout" }, aside, h("main", { id: "main" })), toastEl());
  renderActive();
}

/** After sign-in: the team, channels and labels, then the page. */
export async function start() {
  const [agents, channels, labels] = await Promise.all([
    api("GET", "/api/v1/agents"),
    api("GET", "/api/v1/channels"),
    api("GET", "/api/v1/labels"),
  ]);
  state.agents = agents.items;
  state.channels = channels.items;
  state.labels = labels.items;
  renderShell();
  connectEvents();
  await loadActive();
  route();
}

export function showLogin() {
  disconnectEvents();
  disposePage();
  renderShell();
  const main = document.querySelector("#main");
  const err = h("p", { class: "error", role: "alert", "data-test": "login-error" });
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, "data-test": "email" });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    "data-test": "password",
  });
  const form = h(
    "form",
    {
      class: "card login",
      "data-test": "login-form",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        try {
          const s = await api("POST", "/api/v1/auth/session", { email: email.value, password: password.value });
          state.me = s.agent;
          if (location.pathname !== "/") {
            location.replace("/" + (location.hash || "#/active"));
            return;
          }
          await start();
        } catch (e2) {
          err.textContent = e2.message;
        }
      },
    },
    h("h1", {}, t("login_title")),
    h("label", {}, t("email"), email),
    h("label", {}, t("password"), password),
    err,
    h("button", { type: "submit", "data-test": "sign-in" }, t("sign_in")),
  );
  append(main, form);
  email.focus();
}

/** The session is gone (logged out, password changed): back to the login. */
export function signedOut() {
  state.me = null;
  state.customers.clear();
  showLogin();
}

export async function logout() {
  await attempt(() => api("POST", "/api/v1/auth/logout"));
  signedOut();
}

onSessionEnd(() => {
  if (!state.me) return;
  state.me = null;
  showLogin();
});
