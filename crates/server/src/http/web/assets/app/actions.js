// What templates and rules share: their actions (the words for them and
// the editor of the list), and editing and deleting the items of a page.

import { h, clear, has, t } from "../shared.js";
import { api } from "./api.js";
import { state, agentName } from "./state.js";
import { attempt, openDialog, statusLabel, toast } from "./ui.js";
import { fillLabelOptions, labelName } from "./labels.js";

/** The placeholders a template text may use (the server refuses others). */
export const PLACEHOLDERS = ["customer.name", "customer.id", "case.number", "case.subject", "agent.name", "agent.email", "channel.name"];
export const ACTION_TYPES = ["set_status", "finish_chat", "assign", "set_subject", "add_note", "add_label", "remove_label"];

/** One line saying what an action does. */
export function actionText(a) {
  const what = actionName(a.type);
  switch (a.type) {
    case "set_status":
    case "finish_chat":
      return what + ": " + statusLabel(a.status);
    case "assign":
      return what + ": " + (a.agent_id ? agentName(a.agent_id) : t("unassigned"));
    case "set_subject":
      return what + ": " + clip(a.subject, 60);
    case "add_note":
    case "send_reply":
      return what + ": " + clip(a.text, 60);
    case "add_label":
    case "remove_label":
      return what + ": " + labelName(a.label_id);
    default:
      return what;
  }
}

/** An action type's name; a type this page does not know yet shows as is. */
export function actionName(type) {
  return has("action_" + type) ? t("action_" + type) : String(type);
}

export function clip(text, n) {
  const s = String(text || "");
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}


/**
 * Edit and delete of a list page's items (templates, rules): the editor
 * opens in `editorBox` and reloads the list when saved; deleting asks first
 * and closes the item's editor if it is open.
 */
export function listActions({ editorBox, load, editor, confirm, path, test }) {
  const edit = (item) => {
    const ed = editor(item, {
      saved: async () => {
        clear(editorBox);
        toast(t("saved"));
        await load();
      },
      cancel: () => clear(editorBox),
    });
    clear(editorBox).appendChild(ed.form);
    ed.form.scrollIntoView({ block: "nearest" });
    ed.focus();
  };
  const remove = (item) =>
    openDialog(t("delete"), h("p", { dir: "auto" }, confirm(item)), [
      {
        label: t("delete"),
        class: "danger",
        id: test,
        test,
        action: async () => {
          const done = await attempt(() => api("DELETE", path(item)));
          if (done === undefined) return;
          toast(t("deleted"));
          const open = editorBox.querySelector("form");
          if (open && open.dataset.id === item.id) clear(editorBox);
          await load();
        },
      },
    ]);
  return { edit, remove };
}

/** A fieldset of rows added and removed freely and read in order: the
 * actions of templates and rules, the conditions of rules. `o.makeRow(item,
 * remove)` builds one row `{ el, read(), focus() }`; `o.fresh()` is what
 * "Add" starts a row with. Ids and test hooks follow `o.kind`
 * (`#action-rows`, `#action-add`, `#condition-rows`, …). */
export function rowsEditor(o) {
  const rows = h("ol", { class: "editor-rows " + o.kind + "-rows", id: o.kind + "-rows", "data-test": o.kind + "-rows" });
  const none = h("p", { class: "muted" }, o.none);
  const items = [];
  const add = (item) => {
    const row = o.makeRow(item, () => {
      items.splice(items.indexOf(row), 1);
      row.el.remove();
      none.hidden = items.length > 0;
    });
    items.push(row);
    rows.appendChild(row.el);
    none.hidden = true;
    return row;
  };
  o.initial.forEach(add);
  none.hidden = items.length > 0;
  const el = h(
    "fieldset",
    { class: "rows-editor " + o.kind + "s-editor" },
    h("legend", {}, o.legend),
    none,
    rows,
    h(
      "button",
      { type: "button", class: "secondary", id: o.kind + "-add", "data-test": o.kind + "-add", onclick: () => add(o.fresh()).focus() },
      o.addLabel,
    ),
    o.hint || null,
  );
  return { el, read: () => items.map((r) => r.read()), rows: () => items.slice() };
}

/** The actions editor of templates (`ACTION_TYPES`) and rules
 * (`RULE_ACTION_TYPES`). */
export function actionsEditor(initial, types, hint) {
  return rowsEditor({
    kind: "action",
    legend: t("actions"),
    none: t("no_actions"),
    addLabel: t("add_action"),
    initial,
    hint,
    fresh: () => ({ type: "set_status", status: "closed" }),
    makeRow: (a, remove) => actionRow(a, remove, types),
  });
}

/** One row of the actions editor: the type, then what that type needs. An
 * action of a type this editor does not offer is kept exactly as it is. */
function actionRow(initial, onRemove, known) {
  const param = h("span", { class: "action-param" });
  let read = () => ({ type: typeSel.value });
  const types = known.includes(initial.type) ? known : known.concat([initial.type]);
  const typeSel = h(
    "select",
    {
      class: "action-type",
      "data-test": "action-type",
      "aria-label": t("action_type"),
      // Back to the type it had: its values come back too.
      onchange: () => fill(typeSel.value === initial.type ? initial : { type: typeSel.value }),
    },
    types.map((ty) => h("option", { value: ty, selected: ty === initial.type }, actionName(ty))),
  );
  const fill = (a) => {
    clear(param);
    const type = a.type;
    if (!known.includes(type)) {
      param.appendChild(h("code", { class: "muted" }, JSON.stringify(a)));
      read = () => a;
    } else if (type === "set_status" || type === "finish_chat") {
      const sel = h(
        "select",
        { class: "action-status", "data-test": "action-status", "aria-label": t("status") },
        ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: (a.status || "closed") === s }, statusLabel(s))),
      );
      param.appendChild(sel);
      read = () => ({ type, status: sel.value });
    } else if (type === "assign") {
      const sel = h(
        "select",
        { class: "action-agent", "data-test": "action-agent", "aria-label": t("assignee") },
        h("option", { value: "", selected: !a.agent_id }, t("unassigned")),
        state.agents.map((ag) => h("option", { value: ag.id, selected: a.agent_id === ag.id }, ag.name)),
      );
      param.appendChild(sel);
      read = () => ({ type, agent_id: sel.value || null });
    } else if (type === "set_subject" || type === "add_note" || type === "send_reply") {
      const key = type === "set_subject" ? "subject" : "text";
      const input =
        type === "set_subject"
          ? h("input", { type: "text", maxlength: 255, class: "action-text", "data-test": "action-text", "aria-label": t("subject"), dir: "auto" })
          : h("textarea", {
              rows: 2,
              class: "action-text",
              "data-test": "action-text",
              "aria-label": type === "send_reply" ? t("send_reply") : t("internal_note"),
              dir: "auto",
            });
      input.value = a[key] || "";
      param.appendChild(input);
      read = () => ({ type, [key]: input.value });
    } else if (type === "split_on_topic_change") {
      param.appendChild(h("span", { class: "muted action-hint" }, t("split_on_topic_hint")));
      read = () => ({ type });
    } else {
      const sel = h("select", { class: "action-label", "data-test": "action-label", "aria-label": t("labels") });
      const first = state.labels.length ? state.labels[0].id : "";
      fillLabelOptions(sel, state.labels.length ? "—" : t("no_labels"), a.label_id || first, state.labels);
      param.appendChild(sel);
      read = () => ({ type, label_id: sel.value });
    }
  };
  fill(initial);
  const el = h(
    "li",
    { class: "action-row", "data-test": "action-row" },
    typeSel,
    param,
    h("button", { type: "button", class: "link danger action-remove", "data-test": "action-remove", onclick: onRemove }, t("remove_action")),
  );
  return { el, read: () => read(), focus: () => typeSel.focus() };
}
