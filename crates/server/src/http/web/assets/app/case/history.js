// A case's life as its history records it (`GET /cases/{id}/events`):
// lines in the conversation where the chat ended, reopened, was split or
// merged, and the History panel with every event — who, what, before →
// after, when.

import { h, t } from "../../shared.js";
import { api } from "../api.js";
import { state, agentName, channelName, ruleName } from "../state.js";
import { customerLabel, fmtTime, statusLabel, stateLabel } from "../ui.js";

/** The events the conversation shows as a line between messages. */
const IN_THREAD = new Set(["created", "finished", "auto_finished", "closed_by_customer", "reopened", "reactivated", "split", "merged", "merged_in", "updated", "messages_moved", "undone", "redone"]);

/** Case numbers by id, fetched once per page (a link's text fills in). */
export function caseNumbers() {
  const known = new Map();
  return function caseRef(id) {
    const link = h("a", { href: "#/case/" + encodeURIComponent(id), class: "case-ref", "data-test": "case-ref" }, "#…");
    if (!known.has(id)) known.set(id, api("GET", "/api/v1/cases/" + encodeURIComponent(id)).then((c) => c.number, () => null));
    known.get(id).then((n) => {
      link.textContent = n === null ? "#?" : "#" + n;
    });
    return link;
  };
}

/** Who did it, as a short text or element: you, an agent, the customer,
 * a rule, a channel, or the auto-finish timer. */
export function actorLabel(actor, kase) {
  const id = (actor && actor.id) || "";
  if (actor.type === "agent") return id === (state.me && state.me.id) ? t("you_actor") : agentName(id);
  if (actor.type === "customer") return kase && id === kase.customer_id ? t("the_customer") : customerLabel(id);
  if (id === "auto_finish") return t("actor_auto_finish");
  if (id.startsWith("rule:")) return ruleLabel(id.slice(5));
  if (id.startsWith("channel:")) return t("actor_channel", { name: channelName(id.slice(8)) || "?" });
  return t("system");
}

function ruleLabel(ruleId) {
  const span = h("span", { class: "rule-name" }, t("actor_rule"));
  ruleName(ruleId).then((name) => {
    if (name) span.textContent = t("actor_rule_named", { name });
  });
  return span;
}

function change(e, field) {
  return (e.changes || []).find((c) => c.field === field);
}

/** What an event says in one line of the conversation, or null when it
 * is no line there (a label added, a kept-active chat). */
export function eventLine(e, kase, caseRef) {
  const who = actorLabel(e.actor, kase);
  const data = e.data || {};
  const status = change(e, "status");
  const statusText = status && status.after ? statusLabel(status.after) : statusLabel(kase.status);
  switch (e.kind) {
    case "created":
      if (data.split_from_case_id) return [t("ev_split_from"), " ", caseRef(data.split_from_case_id)];
      if (data.previous_case_id) return [t("ev_created_after"), " ", caseRef(data.previous_case_id)];
      return null;
    case "finished":
      return [t("ev_finished_by"), " ", who, " — ", statusText];
    case "auto_finished":
      return [t("ev_auto_finished"), " — ", statusText];
    case "closed_by_customer":
      return [t("ev_closed_by_customer")];
    case "reopened":
      return [t("ev_reopened")];
    case "reactivated":
      return [t("ev_reactivated_by"), " ", who];
    case "split":
      return [data.selection ? t("ev_selection_split_to") : t("ev_split_to"), " ", caseRef(data.new_case_id), " ", t("ev_messages_moved", { n: data.moved_messages || 0 })];
    case "undone":
    case "redone": {
      const action = (data.action && data.action.kind) || "";
      const what = action === "merge" ? t("action_merge") : action === "move" ? t("action_move") : t("action_split");
      return [what, " ", e.kind === "undone" ? t("ev_undone_by") : t("ev_redone_by"), " ", who];
    }
    case "messages_moved":
      return data.to_case_id
        ? [t("ev_moved_to"), " ", caseRef(data.to_case_id), " ", t("ev_messages_moved", { n: data.moved_messages || 0 })]
        : [t("ev_moved_from"), " ", caseRef(data.from_case_id), " ", t("ev_messages_moved", { n: data.moved_messages || 0 })];
    case "merged":
      return [t("ev_merged_into"), " ", caseRef(data.merged_into_id)];
    case "merged_in":
      return [t("ev_merged_from"), " ", caseRef(data.merged_case_id), " ", t("ev_messages_moved", { n: data.moved_messages || 0 })];
    case "updated": {
      const parts = [];
      const assignee = change(e, "assignee_id");
      if (assignee) {
        if (data.reason === "reply") parts.push([who, " ", t("ev_took_by_reply")]);
        else parts.push(assignee.after ? [who, " ", t("ev_assigned_to"), " ", agentName(assignee.after)] : [who, " ", t("ev_unassigned")]);
      }
      if (status) parts.push([who, " ", t("ev_status_set"), " ", statusLabel(status.before), " → ", statusLabel(status.after)]);
      if (!parts.length) return null;
      return parts.flatMap((p, i) => (i ? ["; ", ...p] : p));
    }
    default:
      return null;
  }
}

/** The conversation's lines from `events`, each `{ at, el, event }`; the
 * case's creation line goes first whatever its time (a split-off case's
 * messages are older than the case). */
export function threadLines(events, kase, caseRef) {
  const lines = [];
  for (const e of events) {
    if (!IN_THREAD.has(e.kind)) continue;
    const text = eventLine(e, kase, caseRef);
    if (!text) continue;
    const el = h(
      "li",
      { class: "msg-event event-" + e.kind, "data-test": "event-line", "data-kind": e.kind },
      h("span", { class: "event-text" }, text),
      h("time", { datetime: e.created_at }, fmtTime(e.created_at)),
    );
    lines.push({ at: e.kind === "created" ? "" : e.created_at, el, event: e });
  }
  return lines;
}

/** One change of an event as "field: before → after", values as people
 * read them. */
function changeText(c, caseRef) {
  const value = (v) => {
    if (v === null || v === undefined || v === "") return t("none_value");
    switch (c.field) {
      case "status":
        return statusLabel(v);
      case "chat_state":
        return stateLabel(v);
      case "assignee_id":
        return agentName(v);
      case "next_case_id":
        return caseRef(v);
      case "closed_at":
      case "finished_at":
        return fmtTime(v);
      default:
        return String(v);
    }
  };
  const field = ["status", "chat_state", "assignee_id", "next_case_id", "closed_at", "finished_at", "subject", "label", "merged"].includes(c.field)
    ? t("field_" + c.field)
    : c.field;
  return h("li", { "data-test": "history-change", "data-field": c.field }, field, ": ", h("span", { class: "before" }, value(c.before)), " → ", h("span", { class: "after" }, value(c.after)));
}

/** Whether a split, merge or move is undone now: its latest undo or redo
 * on this case says. */
function undoneNow(events, actionId) {
  const last = events.filter((x) => (x.kind === "undone" || x.kind === "redone") && x.data && x.data.action && x.data.action.id === actionId).pop();
  return !!last && last.kind === "undone";
}

/** The Undo (or Redo) button of a history event that records a split,
 * merge or move, when it can be pressed now; `onUndo(e)` does it. */
function undoButton(e, events, onUndo) {
  const action = e.data && e.data.action;
  if (!onUndo || !action || !action.id || e.kind === "redone") return null;
  const undone = undoneNow(events, action.id);
  const isUndo = e.kind === "undone";
  if (isUndo !== undone || (isUndo && e.data.kept)) return null;
  if (isUndo && events.filter((x) => x.kind === "undone" && x.data.action.id === action.id).pop() !== e) return null;
  return h(
    "button",
    { type: "button", class: "link undo", "data-test": isUndo ? "redo" : "undo", onclick: () => onUndo(e) },
    isUndo ? t("redo") : t("undo"),
  );
}

/** The History panel: every event, newest first; `onUndo(e)`, when given,
 * undoes the split, merge or move an event records. */
export function historyPanel(events, kase, caseRef, onUndo) {
  const rows = [...events].reverse().map((e) => {
    const line = eventLine(e, kase, caseRef);
    return h(
      "li",
      { class: "history-item", "data-test": "history-item", "data-kind": e.kind },
      h(
        "div",
        { class: "history-head" },
        h("strong", { class: "history-what" }, t("ev_kind_" + e.kind)),
        " · ",
        h("span", { class: "history-who" }, actorLabel(e.actor, kase)),
        h("time", { datetime: e.created_at }, fmtTime(e.created_at)),
        undoButton(e, events, onUndo),
      ),
      line && e.kind !== "updated" ? h("div", { class: "history-line" }, line) : null,
      e.data && e.data.emoji ? h("div", { class: "history-line" }, e.data.emoji) : null,
      e.changes && e.changes.length ? h("ul", { class: "history-changes" }, e.changes.map((c) => changeText(c, caseRef))) : null,
    );
  });
  return h("ol", { class: "history-list", "data-test": "history-list" }, rows.length ? rows : h("li", { class: "muted" }, t("history_empty")));
}
