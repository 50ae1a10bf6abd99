// The live list of active chats beside every page (its own page on a
// phone), with unread dots, a mark on reopened chats and the auto-finish
// warning (R4); the queues with their counts above it, and below it the
// ended chats still waiting for an answer (status open), so that a chat
// nobody answered does not drop out of sight when it auto-finishes.

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
    const [data, waiting, queues] = await Promise.all([
      api("GET", "/api/v1/cases?chat_state=active&sort=last_activity_at&order=desc&limit=200"),
      api("GET", "/api/v1/cases?chat_state=finished&status=open&sort=last_activity_at&order=desc&limit=50"),
      api("GET", "/api/v1/cases/queues"),
    ]);
    state.active = data.items;
    state.unanswered = waiting.items;
    state.queues = queues;
    renderActive();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

function currentCaseId() {
  const m = location.hash.match(/^#\/case\/([^/?]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

function chatItem(c, now, open, test) {
  const warning = inWarning(c, now);
  const classes = ["chat-item"];
  if (c.unread) classes.push("unread");
  if (warning) classes.push("warning");
  if (c.id === open) classes.push("current");
  return h(
    "li",
    { class: classes.join(" "), "data-case-id": c.id, "data-test": test },
    h(
      "a",
      { href: "#/case/" + encodeURIComponent(c.id) },
      h(
        "div",
        { class: "chat-line" },
        c.unread ? h("span", { class: "dot", title: t("unread"), "data-test": "unread" }) : null,
        h("span", { class: "num" }, "#" + c.number),
        c.split_available ? h("span", { class: "badge reopened", "data-test": "reopened-badge" }, t("reopened_badge")) : null,
        h("span", { class: "ago", "data-test": "ago", "data-at": c.last_activity_at }, fmtAgo(c.last_activity_at)),
      ),
      h("div", { class: "chat-subject", dir: "auto", "data-test": "subject" }, c.subject),
      h("div", { class: "chat-meta" }, customerLabel(c.customer_id), " · ", channelName(c.channel_id)),
    ),
  );
}

export function renderActive() {
  const list = document.querySelector("#active-list");
  if (!list) return;
  clear(list);
  const now = Date.now();
  const open = currentCaseId();
  for (const c of state.active) list.appendChild(chatItem(c, now, open, "active-chat"));
  if (!state.active.length) list.appendChild(h("li", { class: "empty" }, t("no_active")));
  const count = document.querySelector("#active-count");
  if (count) count.textContent = state.active.length ? "(" + state.active.length + ")" : "";
  const legend = document.querySelector("#warning-legend");
  if (legend) legend.hidden = !state.active.some((c) => inWarning(c, now));
  const waiting = document.querySelector("#unanswered-list");
  if (waiting) {
    clear(waiting);
    for (const c of state.unanswered || []) waiting.appendChild(chatItem(c, now, open, "unanswered-chat"));
    document.querySelector("#unanswered").hidden = !(state.unanswered || []).length;
  }
  renderQueues();
  const unread = state.active.filter((c) => c.unread).length;
  document.title = (unread ? "(" + unread + ") " : "") + "casedesk";
}

/** The queues: where each leads and how many cases it holds. */
export const QUEUES = [
  { key: "mine", count: "mine" },
  { key: "unassigned", count: "unassigned" },
  { key: "open", count: "open" },
  { key: "waiting", count: "pending" },
];

function renderQueues() {
  const box = document.querySelector("#queues");
  if (!box) return;
  const counts = state.queues || {};
  clear(box);
  for (const q of QUEUES) {
    box.appendChild(
      h(
        "li",
        {},
        h(
          "a",
          { href: "#/cases?queue=" + q.key, "data-test": "queue-" + q.key },
          h("span", {}, t("queue_" + q.key)),
          h("span", { class: "queue-count", "data-test": "queue-count" }, counts[q.count] === undefined ? "" : String(counts[q.count])),
        ),
      ),
    );
  }
}

/** The chat `step` places after (1) or before (-1) the one on screen in
 * the sidebar's order (active chats, then the ended ones waiting), for
 * Alt+J / Alt+K. */
export function neighbourChat(step) {
  const all = [...state.active, ...(state.unanswered || [])];
  if (!all.length) return null;
  const at = all.findIndex((c) => c.id === currentCaseId());
  if (at < 0) return all[step > 0 ? 0 : all.length - 1];
  return all[Math.min(all.length - 1, Math.max(0, at + step))];
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
  for (const li of document.querySelectorAll("#active-list .chat-item, #unanswered-list .chat-item")) {
    const c = state.active.find((x) => x.id === li.dataset.caseId);
    if (c) li.classList.toggle("warning", inWarning(c, now));
  }
  const legend = document.querySelector("#warning-legend");
  if (legend) legend.hidden = !state.active.some((c) => inWarning(c, now));
}
