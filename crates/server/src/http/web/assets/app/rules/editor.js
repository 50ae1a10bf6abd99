// The form of a rule: trigger, conditions, actions, and a dry run of what
// is on screen.

import { h, append, clear, has, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelLabel } from "../state.js";
import { badge, statusLabel, stateLabel } from "../ui.js";
import { fillLabelOptions } from "../labels.js";
import { PLACEHOLDERS, actionsEditor, rowsEditor } from "../actions.js";
import { CONDITION_TYPES, DELAY_UNITS, MESSAGE_TRIGGERS, RULE_ACTION_TYPES, TIME_TRIGGERS, TRIGGER_TYPES, conditionName, splitDelay } from "./sentence.js";

/** The form for a new rule (`rule` null) or a change to one, with a dry run
 * of what is on screen. */
export function ruleEditor(rule, on) {
  const initial = rule || { name: "", enabled: true, trigger: { type: "customer_message" }, conditions: [], actions: [] };
  const name = h("input", { type: "text", id: "rule-name", "data-test": "rule-name-input", required: true, maxlength: 100, dir: "auto" });
  name.value = initial.name;

  // The trigger, with the status of status_changed and the delay of time rules.
  const tr0 = initial.trigger;
  const triggerTypes = TRIGGER_TYPES.includes(tr0.type) ? TRIGGER_TYPES : TRIGGER_TYPES.concat([tr0.type]);
  const triggerSel = h(
    "select",
    { id: "rule-trigger", "data-test": "rule-trigger", onchange: () => triggerChanged() },
    triggerTypes.map((ty) => h("option", { value: ty, selected: ty === tr0.type }, has("trigger_" + ty) ? t("trigger_" + ty) : ty)),
  );
  const toSel = h(
    "select",
    { id: "rule-trigger-to", "data-test": "rule-trigger-to" },
    h("option", { value: "", selected: !tr0.to }, t("any")),
    ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: tr0.to === s }, statusLabel(s))),
  );
  const [n0, unit0] = splitDelay(tr0.seconds || 86400);
  const delayIn = h("input", { type: "number", id: "rule-delay", "data-test": "rule-delay", min: 1, step: 1, required: true, value: String(n0) });
  const unitSel = h(
    "select",
    { id: "rule-delay-unit", "data-test": "rule-delay-unit", "aria-label": t("delay_unit") },
    DELAY_UNITS.map(([unit]) => h("option", { value: unit, selected: unit === unit0 }, t("unit_name_" + unit))),
  );
  const toBox = h("label", { class: "rule-to" }, t("trigger_to"), toSel);
  const delayBox = h("div", { class: "rule-delay" }, h("label", {}, t("delay"), delayIn), h("label", {}, t("delay_unit"), unitSel));
  const readTrigger = () => {
    const type = triggerSel.value;
    if (!TRIGGER_TYPES.includes(type)) return tr0;
    if (type === "status_changed") return toSel.value ? { type, to: toSel.value } : { type };
    if (TIME_TRIGGERS.includes(type)) {
      const size = DELAY_UNITS.find(([u]) => u === unitSel.value)[1];
      return { type, seconds: Math.round(Number(delayIn.value) * size) };
    }
    return { type };
  };

  const conditions = rowsEditor({
    kind: "condition",
    legend: t("conditions"),
    none: t("no_conditions"),
    addLabel: t("add_condition"),
    initial: initial.conditions,
    fresh: () => (MESSAGE_TRIGGERS.includes(triggerSel.value) ? { type: "message_contains", text: "" } : { type: "subject_contains", text: "" }),
    makeRow: (c, remove) => conditionRow(c, remove, triggerSel.value),
  });
  const actions = actionsEditor(
    initial.actions,
    RULE_ACTION_TYPES,
    h("p", { class: "hint" }, t("rule_placeholders_hint"), " ", PLACEHOLDERS.map((p) => [h("code", {}, "{{" + p + "}}"), " "])),
  );
  const triggerChanged = () => {
    const type = triggerSel.value;
    toBox.hidden = type !== "status_changed";
    delayBox.hidden = !TIME_TRIGGERS.includes(type);
    // Hidden fields must not block saving a trigger that has none.
    delayIn.disabled = delayBox.hidden;
    for (const row of conditions.rows()) row.fit(type);
  };
  triggerChanged();

  const enabled = h("input", { type: "checkbox", id: "rule-enabled", "data-test": "rule-enabled", checked: initial.enabled });
  const result = h("div", { class: "dry-run-result", id: "rule-dry-run-result", "data-test": "dry-run-result", hidden: true });
  // The API's refusal stays next to the buttons while the admin fixes the
  // rule (a toast would cover them and go away).
  const error = h("p", { class: "error form-error", id: "rule-error", role: "alert", "data-test": "rule-error", hidden: true });
  const run = async (fn) => {
    error.hidden = true;
    try {
      return await fn();
    } catch (e) {
      error.textContent = e.message || String(e);
      error.hidden = false;
      error.scrollIntoView({ block: "nearest" });
      return undefined;
    }
  };
  const read = () => ({ trigger: readTrigger(), conditions: conditions.read(), actions: actions.read() });
  const dryRunButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      id: "rule-dry-run",
      "data-test": "rule-dry-run",
      title: t("dry_run_hint"),
      onclick: async () => {
        if (!form.reportValidity()) return;
        dryRunButton.disabled = true;
        result.hidden = true;
        const r = await run(() => api("POST", "/api/v1/rules/dry-run", read()));
        dryRunButton.disabled = false;
        if (r) showDryRun(result, r);
      },
    },
    t("dry_run"),
  );
  const form = h(
    "form",
    {
      class: "card rule-editor",
      id: "rule-editor",
      "data-test": "rule-editor",
      "data-id": rule ? rule.id : null,
      onsubmit: async (e) => {
        e.preventDefault();
        const payload = { name: name.value, enabled: enabled.checked, ...read() };
        const saved = await run(() =>
          rule ? api("PATCH", "/api/v1/rules/" + encodeURIComponent(rule.id), payload) : api("POST", "/api/v1/rules", payload),
        );
        if (saved) await on.saved(saved);
      },
    },
    h("h2", {}, rule ? t("edit_rule") : t("new_rule")),
    h("label", {}, t("rule_name"), name),
    h("div", { class: "rule-trigger" }, h("label", {}, t("trigger"), triggerSel), toBox, delayBox),
    conditions.el,
    actions.el,
    h("label", { class: "check" }, enabled, t("rule_enabled")),
    error,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", id: "rule-save", "data-test": "rule-save" }, t("save")),
      dryRunButton,
      h("button", { type: "button", class: "secondary", "data-test": "rule-cancel", onclick: on.cancel }, t("cancel")),
    ),
    result,
  );
  return { form, focus: () => name.focus() };
}

/** The dry run's answer: the matching cases as links, or that none match. */
function showDryRun(box, r) {
  clear(box);
  box.hidden = false;
  append(
    box,
    h(
      "p",
      { "data-test": "dry-run-summary" },
      r.cases.length ? t("dry_run_matches", { n: r.cases.length, scanned: r.scanned }) : t("dry_run_none", { scanned: r.scanned }),
    ),
    r.cases.length
      ? h(
          "ul",
          { class: "plain dry-run-list" },
          r.cases.map((c) =>
            h(
              "li",
              {},
              h("a", { href: "#/case/" + encodeURIComponent(c.id), class: "dry-run-case", "data-id": c.id, "data-test": "dry-run-case" }, "#" + c.number),
              " ",
              h("span", { class: "subject", dir: "auto" }, c.subject),
              " ",
              badge("status", c.status, statusLabel(c.status)),
              c.chat_state ? [" ", badge("state", c.chat_state, stateLabel(c.chat_state))] : null,
            ),
          ),
        )
      : null,
    h("p", { class: "hint" }, t("dry_run_hint")),
  );
}

/** One row of the conditions editor: the type, then what that type needs
 * (nothing for business hours). A condition of a type this page does not
 * know is kept as it is. `message_contains` is offered only with a
 * message trigger (`fit` follows the trigger); one already chosen stays, and
 * the API says why it does not fit. */
function conditionRow(initial, onRemove, trigger) {
  const param = h("span", { class: "condition-param" });
  let read = () => ({ type: typeSel.value });
  const types = CONDITION_TYPES.includes(initial.type) ? CONDITION_TYPES : CONDITION_TYPES.concat([initial.type]);
  const typeSel = h(
    "select",
    {
      class: "condition-type",
      "data-test": "condition-type",
      "aria-label": t("condition_type"),
      onchange: () => {
        fill(typeSel.value === initial.type ? initial : { type: typeSel.value });
        fit(currentTrigger);
      },
    },
    types.map((ty) => h("option", { value: ty, selected: ty === initial.type }, conditionName(ty))),
  );
  const checkboxes = (choices, chosen, test) => {
    const boxes = choices.map(([value, label]) => {
      const box = h("input", { type: "checkbox", value, checked: chosen.includes(value), "data-test": test });
      param.appendChild(h("label", { class: "check" }, box, h("span", { dir: "auto" }, label)));
      return box;
    });
    return () => boxes.filter((b) => b.checked).map((b) => b.value);
  };
  const fill = (c) => {
    clear(param);
    const type = c.type;
    if (!CONDITION_TYPES.includes(type)) {
      param.appendChild(h("code", { class: "muted" }, JSON.stringify(c)));
      read = () => c;
    } else if (type === "channel_is") {
      const chosen = c.channel_ids || [];
      // Removed channels only while a rule still names them.
      const offered = state.channels.filter((ch) => !ch.removed || chosen.includes(ch.id));
      const gone = chosen.filter((id) => !state.channels.some((ch) => ch.id === id));
      const get = checkboxes(offered.map((ch) => [ch.id, channelLabel(ch)]).concat(gone.map((id) => [id, t("unknown_channel")])), chosen, "condition-channel");
      read = () => ({ type, channel_ids: get() });
    } else if (type === "status_is") {
      const get = checkboxes(["open", "pending", "closed"].map((s) => [s, statusLabel(s)]), c.statuses || [], "condition-status");
      read = () => ({ type, statuses: get() });
    } else if (type === "chat_state_is") {
      const sel = h(
        "select",
        { class: "condition-chat-state", "data-test": "condition-chat-state", "aria-label": t("chat_state") },
        ["active", "finished"].map((s) => h("option", { value: s, selected: (c.chat_state || "active") === s }, stateLabel(s))),
      );
      param.appendChild(sel);
      read = () => ({ type, chat_state: sel.value });
    } else if (type === "has_label" || type === "lacks_label") {
      const sel = h("select", { class: "condition-label", "data-test": "condition-label", "aria-label": t("label") });
      const first = state.labels.length ? state.labels[0].id : "";
      fillLabelOptions(sel, state.labels.length ? "—" : t("no_labels"), c.label_id || first, state.labels);
      param.appendChild(sel);
      read = () => ({ type, label_id: sel.value });
    } else if (type === "in_business_hours" || type === "outside_business_hours") {
      read = () => ({ type });
    } else {
      const key = type === "customer_id_is" ? "customer_id" : "text";
      const input = h("input", {
        type: "text",
        maxlength: key === "text" ? 500 : 255,
        class: "condition-text",
        "data-test": "condition-text",
        "aria-label": conditionName(type),
        dir: "auto",
      });
      input.value = c[key] || "";
      param.appendChild(input);
      read = () => ({ type, [key]: input.value });
    }
  };
  let currentTrigger = trigger;
  const fit = (tr) => {
    currentTrigger = tr;
    const option = typeSel.querySelector("option[value=message_contains]");
    option.disabled = !MESSAGE_TRIGGERS.includes(tr) && typeSel.value !== "message_contains";
    option.title = option.disabled ? t("message_triggers_only") : "";
  };
  fill(initial);
  fit(trigger);
  const el = h(
    "li",
    { class: "condition-row", "data-test": "condition-row" },
    typeSel,
    param,
    h("button", { type: "button", class: "link danger condition-remove", "data-test": "condition-remove", onclick: onRemove }, t("remove_action")),
  );
  return { el, read: () => read(), focus: () => typeSel.focus(), fit };
}
