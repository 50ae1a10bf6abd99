// The live list of active chats beside every page (its own page on a
// phone), with unread dots and the auto-finish warning (R4).

import { h, clear, t } from "../shared.js";
import { api } from "./api.js";
import { state, channelName } from "./state.js";
import { customerLabel, fmtAgo, toast } from "./ui.js";

let activeReload = null;
export function reloadActiveSoon() {
  clearTimeout(activeReload);
  activeReload = setTimeout(loadActive, 120);
}

export async function loadActive() {
  if (!state.me) return;
  try {
    const data = await api("GET", "/api/v1/cases?chat_state=active&sort=last_activity_at&order=desc&limit=200");
    state.active = data.items;
    renderActive();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

function currentCaseId() {
  const m = location.hash.match(/^#\/case\/([^/?]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

export function renderActive() {
  const list = document.querySelector("#active-list");
  if (!list) return;
  clear(list);
  const now = Date.now();
  const open = currentCaseId();
  for (const c of state.active) {
    const warning = inWarning(c, now);
    const classes = ["chat-item"];
    if (c.unread) classes.push("unread");
    if (warning) classes.push("warning");
    if (c.id === open) classes.push("current");
    list.appendChild(
      h(
        "li",
        { class: classes.join(" "), "data-case-id": c.id, "data-test": "active-chat" },
        h(
          "a",
          { href: "#/case/" + encodeURIComponent(c.id) },
          h(
            "div",
            { class: "chat-line" },
            c.unread ? h("span", { class: "dot", title: t("unread"), "data-test": "unread" }) : null,
            h("span", { class: "num" }, "#" + c.number),
            h("span", { class: "ago", "data-test": "ago", "data-at": c.last_activity_at }, fmtAgo(c.last_activity_at)),
          ),
          h("div", { class: "chat-subject", dir: "auto", "data-test": "subject" }, c.subject),
          h("div", { class: "chat-meta" }, customerLabel(c.customer_id), " · ", channelName(c.channel_id)),
        ),
      ),
    );
  }
  if (!state.active.length) list.appendChild(h("li", { class: "empty" }, t("no_active")));
  const count = document.querySelector("#active-count");
  if (count) count.textContent = state.active.length ? "(" + state.active.length + ")" : "";
  const unread = state.active.filter((c) => c.unread).length;
  document.title = (unread ? "(" + unread + ") " : "") + "casedesk";
}

/** R4: an active chat is in its warning period from its warning time until
 * it finishes; once the warning has fired only the finish time is left. */
export function inWarning(c, now) {
  if (c.chat_state !== "active" || !c.auto_finish_at) return false;
  return !c.auto_finish_warning_at || new Date(c.auto_finish_warning_at).getTime() <= now;
}

/** Every second: the "ago" times and the warning marks move on. */
export function tickActive() {
  const now = Date.now();
  for (const el of document.querySelectorAll("#active-list [data-at]")) el.textContent = fmtAgo(el.dataset.at);
  for (const li of document.querySelectorAll("#active-list .chat-item")) {
    const c = state.active.find((x) => x.id === li.dataset.caseId);
    if (c) li.classList.toggle("warning", inWarning(c, now));
  }
}
