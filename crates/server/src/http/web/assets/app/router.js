// The page is the address's hash: `#/cases?status=open`, `#/case/<id>`, …
// Each page is a function `(main, params, parts)` drawing into `<main>`
// and answering a controller (`onNotice`, `tick`, `dispose`) or nothing.

import { h, clear, t } from "../shared.js";
import { state } from "./state.js";
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
  const main = clear(document.querySelector("#main"));
  const page = parts[0] || "active";
  document.body.dataset.page = page;
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("current", a.dataset.nav === page);
  renderActive();
  if (page === "active") {
    main.appendChild(h("div", { class: "placeholder" }, state.active.length ? t("pick_chat") : t("no_active")));
  } else if (Object.prototype.hasOwnProperty.call(pages, page)) {
    state.page = pages[page](main, params, parts) || null;
  } else {
    main.appendChild(h("p", {}, t("not_found")));
  }
}

/** The page on screen lets go of its timers and listeners. */
export function disposePage() {
  if (state.page && state.page.dispose) state.page.dispose();
  state.page = null;
}
