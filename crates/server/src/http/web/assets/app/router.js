// The page is the address's hash: `#/cases?status=open`, `#/case/<id>`, …
// Each page is a function `(main, params, parts)` drawing into `<main>`
// and answering a controller (`onNotice`, `tick`, `dispose`) or nothing.

import { h, clear, t } from "../shared.js";
import { state, liveChannels } from "./state.js";
import { renderActive } from "./active.js";

let pages = {};

/** The pages by the hash's first part (set once by app.js). */
export function setPages(table) {
  pages = table;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/active";
  const [path, query] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

export function route() {
  if (!state.me) return;
  disposePage();
  const { parts, params } = parseHash();
  let page = parts[0] || "active";
  // Settings are the admins': an agent signing in where an admin left
  // the browser starts at the chats instead of a refusal.
  if (page === "settings" && state.me.role !== "admin") {
    location.replace("#/active");
    return;
  }
  const main = clear(document.querySelector("#main"));
  document.body.dataset.page = page;
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("current", a.dataset.nav === page);
  renderActive();
  if (page === "active") {
    main.appendChild(welcome());
  } else if (Object.prototype.hasOwnProperty.call(pages, page)) {
    state.page = pages[page](main, params, parts) || null;
  } else {
    main.appendChild(h("p", {}, t("not_found")));
  }
}

/** The empty chat page: pick a chat, or on a desk without channels, where
 * to start (the admin's Settings). The sidebar already says when no chat
 * is active; this says what to do. */
function welcome() {
  if (!liveChannels().length) {
    return h(
      "div",
      { class: "placeholder", "data-test": "welcome" },
      h("p", {}, t("welcome_no_channels")),
      state.me.role === "admin"
        ? h("a", { href: "#/settings", class: "button", "data-test": "welcome-settings" }, t("welcome_create_channel"))
        : h("p", { class: "muted" }, t("welcome_ask_admin")),
    );
  }
  return h("div", { class: "placeholder", "data-test": "welcome" }, state.active.length ? t("pick_chat") : t("welcome_waiting"), h("p", { class: "hint" }, t("keys_hint")));
}

/** The page on screen lets go of its timers and listeners. */
export function disposePage() {
  if (state.page && state.page.dispose) state.page.dispose();
  state.page = null;
}
