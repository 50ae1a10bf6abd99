// The Automation page (`#/rules`): the rules in the order they run; admins
// create, change, enable or disable, reorder and delete them.

import { h, append, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state } from "../state.js";
import { attempt } from "../ui.js";
import { loadLabels } from "../labels.js";
import { listActions } from "../actions.js";
import { ruleSentence } from "./sentence.js";
import { ruleEditor } from "./editor.js";

/** The Automation page: every agent reads the rules in the order they run;
 * admins create, change, enable or disable, reorder and delete them. */
export function rulesPage(main) {
  let disposed = false;
  let rules = [];
  const isAdmin = state.me.role === "admin";
  const editorBox = h("div", { class: "rule-editor-box" });
  const list = h("ol", { class: "rule-rows", id: "rule-rows", "data-test": "rule-rows" }, h("li", { class: "loading" }, t("loading")));
  append(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("nav_rules")),
      isAdmin ? h("button", { type: "button", id: "rules-new", "data-test": "rules-new", onclick: () => edit(null) }, t("new_rule")) : null,
    ),
    h("p", { class: "hint" }, t("rules_page_hint")),
    isAdmin ? null : h("p", { class: "hint", "data-test": "rules-read-only" }, t("rules_read_only")),
    editorBox,
    list,
  );
  const load = async () => {
    const [data] = await Promise.all([attempt(() => api("GET", "/api/v1/rules")), loadLabels()]);
    if (!data || disposed) return;
    rules = data.items;
    renderList();
  };
  const renderList = () => {
    clear(list);
    list.dataset.loaded = "true";
    if (!rules.length) list.appendChild(h("li", { class: "empty" }, t("no_rules")));
    rules.forEach((rule, i) => list.appendChild(ruleItem(rule, i)));
  };
  const ruleItem = (rule, i) => {
    const toggle = h("input", {
      type: "checkbox",
      class: "rule-toggle",
      "data-test": "rule-toggle",
      checked: rule.enabled,
      onchange: async () => {
        toggle.disabled = true;
        const updated = await attempt(() => api("PATCH", "/api/v1/rules/" + encodeURIComponent(rule.id), { enabled: toggle.checked }));
        if (disposed) return;
        if (updated) rules = rules.map((r) => (r.id === updated.id ? updated : r));
        renderList();
      },
    });
    const tools = isAdmin
      ? h(
          "div",
          { class: "rule-tools" },
          h("label", { class: "check" }, toggle, t("rule_enabled")),
          h("button", { type: "button", class: "secondary", "data-test": "rule-up", disabled: i === 0, onclick: () => move(i, -1) }, t("move_up")),
          h(
            "button",
            { type: "button", class: "secondary", "data-test": "rule-down", disabled: i === rules.length - 1, onclick: () => move(i, 1) },
            t("move_down"),
          ),
          h("button", { type: "button", class: "secondary", "data-test": "rule-edit", onclick: () => edit(rule) }, t("edit")),
          h("button", { type: "button", class: "link danger", "data-test": "rule-delete", onclick: () => remove(rule) }, t("delete")),
        )
      : null;
    return h(
      "li",
      { class: "card rule-item" + (rule.enabled ? "" : " disabled"), "data-id": rule.id, "data-enabled": String(rule.enabled), "data-test": "rule-item" },
      h(
        "div",
        { class: "rule-head" },
        h("span", { class: "rule-pos" }, String(i + 1) + "."),
        h("strong", { class: "rule-name", dir: "auto", "data-test": "rule-name" }, rule.name),
        h("span", { class: "badge " + (rule.enabled ? "rule-on" : "rule-off"), "data-test": "rule-state" }, rule.enabled ? t("rule_on") : t("rule_off")),
      ),
      h("p", { class: "rule-summary", dir: "auto", "data-test": "rule-summary" }, ruleSentence(rule)),
      tools,
    );
  };
  /** Moves rule `i` one place up (-1) or down (+1): the rules keep the
   * positions they had, in the new order, and only those whose position
   * changes are patched (the two swapped ones, unless positions tie). */
  const move = async (i, step) => {
    const j = i + step;
    if (j < 0 || j >= rules.length) return;
    const order = rules.slice();
    [order[i], order[j]] = [order[j], order[i]];
    const positions = rules.map((r) => r.position);
    const distinct = new Set(positions).size === positions.length;
    const target = distinct ? positions : rules.map((_, k) => k + 1);
    for (const b of list.querySelectorAll("button")) b.disabled = true;
    for (const [k, r] of order.entries()) {
      if (r.position === target[k]) continue;
      const done = await attempt(() => api("PATCH", "/api/v1/rules/" + encodeURIComponent(r.id), { position: target[k] }));
      if (!done) break;
    }
    await load();
  };
  const { edit, remove } = listActions({
    editorBox,
    load,
    editor: ruleEditor,
    confirm: (rule) => t("delete_rule_confirm", { name: rule.name }),
    path: (rule) => "/api/v1/rules/" + encodeURIComponent(rule.id),
    test: "rule-delete-confirm",
  });
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}
