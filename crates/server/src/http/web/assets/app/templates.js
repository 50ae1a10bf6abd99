// Templates (macros): the page that lists and edits them, and the picker
// a case page opens to apply one.

import { h, append, clear, t } from "../shared.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { attempt, openDialog } from "./ui.js";
import { loadLabels } from "./labels.js";
import { ACTION_TYPES, PLACEHOLDERS, actionText, actionsEditor, clip, listActions } from "./actions.js";

/** The reply as the server will send it: `{{name}}` or `{{name | fallback}}`,
 * the fallback standing in for a missing or blank value. A preview only:
 * the server renders the real text. */
function fillPlaceholders(text, values) {
  return text.replace(/\{\{([\s\S]*?)\}\}/g, (_, inner) => {
    const bar = inner.indexOf("|");
    const name = (bar < 0 ? inner : inner.slice(0, bar)).trim();
    const fallback = bar < 0 ? "" : inner.slice(bar + 1).trim();
    const v = values[name];
    return v !== null && v !== undefined && String(v).trim() ? String(v) : fallback;
  });
}

/** Name, kind, the start of the reply and the actions of a template. */
function templateSummary(tpl) {
  return [
    h(
      "div",
      { class: "template-head" },
      h("strong", { class: "template-name", dir: "auto", "data-test": "template-name" }, tpl.name),
      h("span", { class: "badge " + (tpl.shared ? "tpl-shared" : "tpl-personal"), "data-test": "template-kind" }, tpl.shared ? t("shared") : t("personal")),
    ),
    h("div", { class: "template-body", dir: "auto", "data-test": "template-body" }, tpl.body.trim() ? clip(tpl.body, 300) : t("template_no_text")),
    tpl.actions.length
      ? h("ul", { class: "template-actions", "data-test": "template-actions" }, tpl.actions.map((a) => h("li", {}, actionText(a))))
      : null,
  ];
}

/** The dialog to choose a template: a search over names and texts, the
 * list, a preview of the reply filled in for this case, and Apply. The
 * arrow keys move the choice and Enter applies it from the search field. */
export function templatePicker(templates, values, apply) {
  let chosen = null;
  const search = h("input", {
    type: "search",
    id: "template-search",
    "data-test": "template-search",
    placeholder: t("template_search"),
    "aria-label": t("template_search"),
    autocomplete: "off",
  });
  const list = h("ul", { class: "template-list", id: "template-list", role: "listbox", "data-test": "template-list" });
  const none = h("p", { class: "muted", "data-test": "template-none", hidden: templates.length > 0 }, templates.length ? t("template_none") : t("no_templates"));
  const preview = h("div", { class: "template-preview", "data-test": "template-preview", hidden: true });
  const items = templates.map((tpl) => {
    const li = h(
      "li",
      { class: "template-item", role: "option", "aria-selected": "false", "data-id": tpl.id, "data-test": "template-item" },
      templateSummary(tpl),
    );
    const item = { tpl, li, text: (tpl.name + "\n" + tpl.body).toLocaleLowerCase() };
    li.addEventListener("click", () => choose(item));
    li.addEventListener("dblclick", () => {
      choose(item);
      applyButton.click();
    });
    list.appendChild(li);
    return item;
  });
  const choose = (item) => {
    chosen = item;
    for (const it of items) {
      it.li.classList.toggle("selected", it === item);
      it.li.setAttribute("aria-selected", it === item ? "true" : "false");
    }
    applyButton.disabled = !item;
    clear(preview);
    preview.hidden = !item || !item.tpl.body.trim();
    if (item && item.tpl.body.trim()) {
      append(
        preview,
        h("div", { class: "hint" }, t("template_preview")),
        h("div", { class: "text", dir: "auto", "data-test": "template-preview-text" }, fillPlaceholders(item.tpl.body, values)),
      );
    }
    if (item) item.li.scrollIntoView({ block: "nearest" });
  };
  const visible = () => items.filter((it) => !it.li.hidden);
  search.addEventListener("input", () => {
    const words = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    for (const it of items) it.li.hidden = !words.every((w) => it.text.includes(w));
    const shown = visible();
    none.hidden = shown.length > 0;
    if (chosen && chosen.li.hidden) choose(null);
    if (!chosen && shown.length === 1) choose(shown[0]);
  });
  search.addEventListener("keydown", (e) => {
    const shown = visible();
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!shown.length) return;
      const at = shown.indexOf(chosen);
      const next = e.key === "ArrowDown" ? Math.min(shown.length - 1, at + 1) : Math.max(0, at - 1);
      choose(shown[at < 0 ? 0 : next]);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (chosen) applyButton.click();
    }
  });
  const dlg = openDialog(
    t("templates_title"),
    h("div", { class: "template-picker-body" }, h("p", { class: "hint" }, t("templates_hint")), search, list, none, preview),
    [{ label: t("template_apply"), id: "template-apply", test: "template-apply", action: () => chosen && apply(chosen.tpl) }],
    { class: "template-picker" },
  );
  const applyButton = dlg.querySelector("#template-apply");
  applyButton.disabled = true;
  search.focus();
}

/** The Templates page: every template the agent may use; their own (and,
 * for admins, the shared ones) can be changed, the rest are read-only. */
export function templatesPage(main) {
  let disposed = false;
  let templates = [];
  const isAdmin = state.me.role === "admin";
  const canEdit = (tpl) => (tpl.shared ? isAdmin : tpl.owner_id === state.me.id);
  const editorBox = h("div", { class: "template-editor-box" });
  const list = h("div", { class: "template-rows", id: "template-rows", "data-test": "template-rows" }, h("p", { class: "loading" }, t("loading")));
  append(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("nav_templates")),
      h("button", { type: "button", id: "template-new", "data-test": "template-new", onclick: () => edit(null) }, t("new_template")),
    ),
    h("p", { class: "hint" }, t("templates_page_hint")),
    editorBox,
    list,
  );
  const load = async () => {
    const [data] = await Promise.all([attempt(() => api("GET", "/api/v1/templates")), loadLabels()]);
    if (!data || disposed) return;
    templates = data.items;
    renderList();
  };
  const renderList = () => {
    clear(list);
    if (!templates.length) list.appendChild(h("p", { class: "empty" }, t("no_templates")));
    for (const tpl of templates) {
      const tools = canEdit(tpl)
        ? h(
            "div",
            { class: "template-tools" },
            h("button", { type: "button", class: "secondary", "data-test": "template-edit", onclick: () => edit(tpl) }, t("edit")),
            h("button", { type: "button", class: "link danger", "data-test": "template-delete", onclick: () => remove(tpl) }, t("delete")),
          )
        : h("div", { class: "template-tools muted", "data-test": "read-only" }, t("read_only"));
      list.appendChild(h("article", { class: "card template-row", "data-id": tpl.id, "data-test": "template-row" }, templateSummary(tpl), tools));
    }
  };
  const { edit, remove } = listActions({
    editorBox,
    load,
    editor: (tpl, on) => templateEditor(tpl, isAdmin, on),
    confirm: (tpl) => t("delete_template_confirm", { name: tpl.name }),
    path: (tpl) => "/api/v1/templates/" + encodeURIComponent(tpl.id),
    test: "template-delete-confirm",
  });
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}

/** The form for a new template (`tpl` null) or a change to one. */
function templateEditor(tpl, isAdmin, on) {
  const name = h("input", { type: "text", id: "template-name", "data-test": "template-name-input", required: true, maxlength: 100, dir: "auto" });
  name.value = tpl ? tpl.name : "";
  const body = h("textarea", { id: "template-body", "data-test": "template-body-input", rows: 5, dir: "auto" });
  body.value = tpl ? tpl.body : "";
  const insert = (text) => {
    const [a, b] = [body.selectionStart, body.selectionEnd];
    body.setRangeText(text, a, b, "end");
    body.focus();
  };
  const placeholders = h(
    "div",
    { class: "hint placeholders", "data-test": "placeholders" },
    t("placeholders_hint"),
    PLACEHOLDERS.map((p) =>
      h(
        "button",
        { type: "button", class: "placeholder-chip", "data-placeholder": p, title: t("insert_placeholder"), onclick: () => insert("{{" + p + "}}") },
        "{{" + p + "}}",
      ),
    ),
    h("span", {}, t("placeholder_fallback")),
    h("code", {}, "{{customer.name | there}}"),
  );
  const actions = actionsEditor(tpl ? tpl.actions : [], ACTION_TYPES);
  const shared = isAdmin ? h("input", { type: "checkbox", id: "template-shared", "data-test": "template-shared", checked: tpl ? tpl.shared : true }) : null;
  const form = h(
    "form",
    {
      class: "card template-editor",
      id: "template-editor",
      "data-test": "template-editor",
      "data-id": tpl ? tpl.id : null,
      onsubmit: async (e) => {
        e.preventDefault();
        const payload = { name: name.value, body: body.value, actions: actions.read() };
        if (shared) payload.shared = shared.checked;
        const saved = await attempt(() =>
          tpl ? api("PATCH", "/api/v1/templates/" + encodeURIComponent(tpl.id), payload) : api("POST", "/api/v1/templates", payload),
        );
        if (saved) await on.saved(saved);
      },
    },
    h("h2", {}, tpl ? t("edit_template") : t("new_template")),
    h("label", {}, t("template_name"), name),
    h("label", {}, t("template_body"), body),
    placeholders,
    actions.el,
    shared ? h("label", { class: "check" }, shared, t("shared_with_team")) : null,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", id: "template-save", "data-test": "template-save" }, t("save")),
      h("button", { type: "button", class: "secondary", "data-test": "template-cancel", onclick: on.cancel }, t("cancel")),
    ),
  );
  return { form, focus: () => name.focus() };
}
