// Selecting a case's messages and moving them to a new case or to another
// open case of the same customer. Each message has a checkbox; Shift+click
// (or Shift+Space) selects the range from the last one chosen; Esc clears.
// The bar above the reply box says how many are chosen and moves them.
// Reaction notes have no checkbox: they go where their message goes.
// Also the suggestion to move a message that starts a new question, and
// what follows it, to a new case (docs/topic-split.md).

import { h, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { attempt, badge, openDialog, statusLabel, toast, toastAction, undoLatest } from "../ui.js";
import { reloadActiveSoon } from "../active.js";

export function messageSelection(page) {
  const chosen = new Set();
  let anchor = null;
  const bar = h("div", { class: "selection-bar", "data-test": "selection-bar", hidden: true });

  const selectable = (m) => m.kind !== "system" && !m.reacted_message_id;

  /** Ids of the selectable messages from `a` to `b`, in the thread's order. */
  function range(a, b) {
    const ids = page.messages.filter(selectable).map((m) => m.id);
    const [i, j] = [ids.indexOf(a), ids.indexOf(b)].sort((x, y) => x - y);
    return i < 0 ? [b] : ids.slice(i, j + 1);
  }

  function choose(m, on, extend) {
    const ids = extend && anchor ? range(anchor, m.id) : [m.id];
    for (const id of ids) on ? chosen.add(id) : chosen.delete(id);
    anchor = m.id;
    sync();
  }

  /** The checkbox of message `m`, or null when it cannot be chosen. */
  function checkbox(m) {
    if (!selectable(m) || page.kase.merged_into_id) return null;
    let shift = false;
    return h("input", {
      type: "checkbox",
      class: "select-message",
      "data-test": "select-message",
      title: t("select_message"),
      "aria-label": t("select_message"),
      checked: chosen.has(m.id),
      onkeydown: (e) => (shift = e.shiftKey),
      onkeyup: () => (shift = false),
      onclick: (e) => choose(m, e.target.checked, e.shiftKey || shift),
    });
  }

  /** Checkboxes and highlights follow the chosen set; the bar its size. */
  function sync() {
    for (const box of document.querySelectorAll("[data-test=select-message]")) {
      const item = box.closest("[data-message-id]");
      const on = chosen.has(item.dataset.messageId);
      box.checked = on;
      item.classList.toggle("selected", on);
    }
    clear(bar);
    bar.hidden = chosen.size === 0;
    if (bar.hidden) return;
    bar.append(
      h("span", { "data-test": "selected-count" }, t("selected_n", { n: chosen.size })),
      h("button", { type: "button", "data-test": "move-selected", onclick: openMove }, t("move_selected")),
      h("button", { type: "button", class: "secondary", "data-test": "clear-selection", onclick: reset }, t("clear_selection")),
    );
  }

  function reset() {
    chosen.clear();
    anchor = null;
    sync();
  }

  /** After a reload: what left the case is no longer chosen. */
  function prune() {
    const here = new Set(page.messages.map((m) => m.id));
    for (const id of [...chosen]) if (!here.has(id)) chosen.delete(id);
    sync();
  }

  async function openMove() {
    if (!chosen.size || document.querySelector("dialog[open]")) return;
    const q = new URLSearchParams({ customer_id: page.kase.customer_id, limit: "50" });
    const found = await attempt(() => api("GET", "/api/v1/cases?" + q));
    if (!found) return;
    const targets = found.items.filter((c) => c.id !== page.kase.id && c.status !== "closed" && !c.merged_into_id);
    const option = (value, label, hint, checked) =>
      h(
        "label",
        { class: "move-target" },
        h("input", { type: "radio", name: "move-target", value, checked, "data-test": "move-target" }),
        label,
        hint ? h("span", { class: "muted" }, " — ", hint) : null,
      );
    const options = h(
      "fieldset",
      { class: "move-targets" },
      option("new", t("move_to_new"), t("move_to_new_hint"), true),
      targets.map((c) => option(c.id, ["#" + c.number + " ", badge("status", c.status, statusLabel(c.status))], c.subject, false)),
    );
    const ids = [...chosen];
    openDialog(t("move_title", { n: ids.length }), [h("p", { class: "muted" }, t("move_hint", { c: page.kase.number })), options], [
      {
        label: t("move_do"),
        test: "move-confirm",
        action: async () => {
          const to = options.querySelector("input:checked").value;
          const moved = await attempt(() =>
            api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/move-messages", { message_ids: ids, to }),
          );
          if (!moved) return;
          reset();
          const said = { n: ids.length, c: moved.number };
          const source = page.kase.id;
          toastAction(to === "new" ? t("move_done_new", said) : t("move_done", said), t("undo"), () => undoLatest(source));
          reloadActiveSoon();
          location.hash = "#/case/" + encodeURIComponent(moved.id);
        },
      },
    ]);
  }

  const keydown = (e) => {
    if (e.key === "Escape" && chosen.size && !document.querySelector("dialog[open]")) reset();
  };
  document.addEventListener("keydown", keydown);

  return {
    bar,
    checkbox,
    prune,
    dispose: () => document.removeEventListener("keydown", keydown),
  };
}

/** "This looks like a new question": a line above the suggested message
 * with the reasons in words, one button to move it and what follows to a
 * new case, one to dismiss it (for every agent). */
export function topicSuggestion(page, s) {
  const follow = async () => {
    const moved = await attempt(() =>
      api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/move-messages", { message_ids: s.moving, to: "new" }),
    );
    if (!moved) return;
    const source = page.kase.id;
    toastAction(t("move_done_new", { n: s.moving.length, c: moved.number }), t("undo"), () => undoLatest(source));
    reloadActiveSoon();
    location.hash = "#/case/" + encodeURIComponent(moved.id);
  };
  const dismiss = async () => {
    const done = await attempt(() =>
      api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/topic-suggestion/dismiss", { message_id: s.message_id }),
    );
    if (done === undefined) return;
    page.suggestion = null;
    page.render();
  };
  return h(
    "li",
    { class: "topic-suggestion", "data-test": "topic-suggestion" },
    h("strong", {}, t("topic_looks_new")),
    " ",
    h("span", { "data-test": "topic-reasons" }, s.reasons.map(reasonText).join("; ")),
    h(
      "span",
      { class: "topic-actions" },
      h("button", { type: "button", "data-test": "topic-split", onclick: follow }, t("topic_split", { n: s.moving.length })),
      h("button", { type: "button", class: "secondary", "data-test": "topic-dismiss", onclick: dismiss }, t("topic_dismiss")),
    ),
  );
}

function reasonText(r) {
  switch (r.kind) {
    case "phrase":
      return t("topic_reason_phrase", { phrase: r.phrase });
    case "new_order_number":
      return t("topic_reason_new_order_number", { number: r.number });
    case "new_email":
      return t("topic_reason_new_email", { address: r.address });
    case "low_overlap":
      return t("topic_reason_low_overlap", { percent: r.percent });
    case "silence":
      return r.minutes >= 60
        ? t("topic_reason_silence_hours", { h: Math.floor(r.minutes / 60), m: r.minutes % 60 })
        : t("topic_reason_silence", { m: r.minutes });
    case "greeting":
      return t("topic_reason_greeting");
    case "after_closing":
      return t("topic_reason_after_closing");
    default:
      return r.kind;
  }
}
