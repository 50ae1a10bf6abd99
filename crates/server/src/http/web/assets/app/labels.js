// The account's labels: the catalogue, chips in their colours, pickers.

import { h, append, clear, t } from "../shared.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { toast } from "./ui.js";

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

/** Reloads the label catalogue into `state.labels`; never throws. */
export async function loadLabels() {
  try {
    state.labels = (await api("GET", "/api/v1/labels")).items;
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
  return state.labels;
}

export function sortLabels() {
  state.labels.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
}

export function labelName(id) {
  const l = state.labels.find((x) => x.id === id);
  return l ? l.name : t("unknown_label");
}

export function labelFilterHref(label) {
  return "#/cases?label_id=" + encodeURIComponent(label.id);
}

/** A label as a chip in its colour; `onRemove` adds a × button, `href`
 * makes the name a link. The colour goes in through CSSOM custom
 * properties: the Content-Security-Policy refuses style attributes. */
export function labelChip(label, opts) {
  const o = opts || {};
  const name = o.href ? h("a", { href: o.href, dir: "auto" }, label.name) : h("span", { dir: "auto" }, label.name);
  const chip = h(
    "span",
    { class: "label-chip", "data-test": "label-chip", "data-label-id": label.id, title: label.name },
    name,
    o.onRemove
      ? h(
          "button",
          {
            type: "button",
            class: "label-remove",
            "data-test": "remove-label",
            "aria-label": t("remove_label", { name: label.name }),
            title: t("remove_label", { name: label.name }),
            onclick: o.onRemove,
          },
          "×",
        )
      : null,
  );
  if (label.color && COLOR_RE.test(label.color)) {
    chip.style.setProperty("--label-bg", label.color);
  }
  return chip;
}

/** Fills a select with a first "any"-like option and the labels; an id no
 * longer in the catalogue stays selectable, so a filter never silently
 * changes. */
export function fillLabelOptions(select, first, selected, labels) {
  clear(select);
  append(
    select,
    h("option", { value: "", selected: !selected }, first),
    labels.map((l) => h("option", { value: l.id, selected: l.id === selected }, l.name)),
    selected && !labels.some((l) => l.id === selected) ? h("option", { value: selected, selected: true }, t("unknown_label")) : null,
  );
}
