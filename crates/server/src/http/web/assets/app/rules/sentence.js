// Rules in words: the kinds of triggers and conditions, and the one-line
// summary of a rule ("When a case has been pending for 2 days, if …: …").

import { has, lang, t } from "../../shared.js";
import { agentName, channelName } from "../state.js";
import { statusLabel, stateLabel } from "../ui.js";
import { labelName } from "../labels.js";
import { ACTION_TYPES, actionName, clip } from "../actions.js";

export const RULE_ACTION_TYPES = ACTION_TYPES.concat(["send_reply", "split_on_topic_change"]);
export const TRIGGER_TYPES = ["case_created", "customer_message", "agent_replied", "chat_finished", "status_changed", "pending_for", "open_without_reply"];
export const TIME_TRIGGERS = ["pending_for", "open_without_reply"];
/** The triggers that come with a message, which `message_contains` reads. */
export const MESSAGE_TRIGGERS = ["customer_message", "agent_replied"];
export const CONDITION_TYPES = [
  "channel_is",
  "status_is",
  "chat_state_is",
  "has_label",
  "lacks_label",
  "subject_contains",
  "message_contains",
  "customer_name_contains",
  "customer_id_is",
  "in_business_hours",
  "outside_business_hours",
];
/** Units of a time trigger's delay; the API takes seconds. */
export const DELAY_UNITS = [
  ["seconds", 1],
  ["minutes", 60],
  ["hours", 3600],
  ["days", 86400],
];

/** "2 days", "1 час", "5 минут": the count with the fitting plural form
 * (`unit_days` holds "day|days" in English, three forms in Russian). */
function countOf(n, unit) {
  const forms = t("unit_" + unit).split("|");
  let i;
  if (lang() === "ru" && forms.length === 3) {
    const [m10, m100] = [n % 10, n % 100];
    i = m10 === 1 && m100 !== 11 ? 0 : m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14) ? 1 : 2;
  } else {
    i = n === 1 ? 0 : 1;
  }
  return n + " " + forms[Math.min(i, forms.length - 1)];
}

/** Seconds as a number of the largest unit that divides them evenly. */
export function splitDelay(seconds) {
  for (const [unit, size] of DELAY_UNITS.slice().reverse()) {
    if (seconds >= size && seconds % size === 0) return [seconds / size, unit];
  }
  return [seconds, "seconds"];
}

function quoted(text) {
  return t("quoted", { v: clip(text, 60) });
}

/** "a or b" / "a или b". */
function eitherOf(items) {
  return items.length > 1 ? items.slice(0, -1).join(", ") + " " + t("word_or") + " " + items[items.length - 1] : items.join("");
}

/** The "When …" part of a rule's summary. */
function triggerText(tr) {
  if (!TRIGGER_TYPES.includes(tr.type)) return t("when_unknown", { v: tr.type });
  if (tr.type === "status_changed" && tr.to) return t("when_status_changed_to", { v: statusLabel(tr.to) });
  if (TIME_TRIGGERS.includes(tr.type)) {
    const [n, unit] = splitDelay(tr.seconds);
    return t("when_" + tr.type, { v: countOf(n, unit) });
  }
  return t("when_" + tr.type);
}

export function conditionName(type) {
  return has("cond_" + type) ? t("cond_" + type) : String(type);
}

/** One condition as words: "channel is Messenger", "has label VIP". */
function conditionText(c) {
  switch (c.type) {
    case "channel_is":
      return t("if_channel_is", { v: eitherOf((c.channel_ids || []).map((id) => channelName(id) || t("unknown_channel"))) });
    case "status_is":
      return t("if_status_is", { v: eitherOf((c.statuses || []).map(statusLabel)) });
    case "chat_state_is":
      return t("if_chat_state_is", { v: stateLabel(c.chat_state) });
    case "has_label":
    case "lacks_label":
      return t("if_" + c.type, { v: labelName(c.label_id) });
    case "subject_contains":
    case "message_contains":
    case "customer_name_contains":
      return t("if_" + c.type, { v: quoted(c.text) });
    case "customer_id_is":
      return t("if_customer_id_is", { v: quoted(c.customer_id) });
    case "in_business_hours":
    case "outside_business_hours":
      return t("if_" + c.type);
    default:
      return String(c.type);
  }
}

/** One action as the end of a sentence: "set status closed". */
function actionPhrase(a) {
  switch (a.type) {
    case "set_status":
    case "finish_chat":
      return t("do_" + a.type, { v: statusLabel(a.status) });
    case "assign":
      return a.agent_id ? t("do_assign", { v: agentName(a.agent_id) }) : t("do_unassign");
    case "set_subject":
      return t("do_set_subject", { v: quoted(a.subject) });
    case "add_note":
    case "send_reply":
      return t("do_" + a.type, { v: quoted(a.text) });
    case "add_label":
    case "remove_label":
      return t("do_" + a.type, { v: labelName(a.label_id) });
    case "split_on_topic_change":
      return t("do_split_on_topic_change");
    default:
      return actionName(a.type);
  }
}

/** "When a case has been pending for 2 days, if channel is Messenger: send
 * reply “…”, set status closed". */
export function ruleSentence(rule) {
  const conds = rule.conditions.map(conditionText);
  return (
    triggerText(rule.trigger) +
    (conds.length ? t("word_if") + conds.join(" " + t("word_and") + " ") : "") +
    ": " +
    rule.actions.map(actionPhrase).join(", ")
  );
}
