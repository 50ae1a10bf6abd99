// Settings → Labels: the catalogue, with create, rename, recolour and
// delete.

import { h, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state } from "../state.js";
import { attempt, openDialog, toast } from "../ui.js";
import { labelChip, loadLabels, sortLabels } from "../labels.js";

/** Settings → Labels: the catalogue, with create, rename, recolour and
 * delete (after a confirmation: deleting takes the label off every case). */
export function labelsCard() {
  const PALETTE = ["#2f5d9f", "#d9822b", "#2e7d32", "#8e44ad", "#c0392b", "#16a2b8", "#e6c766", "#6b7385"];
  const list = h("ul", { class: "plain label-admin-list", id: "label-list", "data-test": "label-list" });
  const keep = (label) => {
    state.labels = state.labels.filter((l) => l.id !== label.id).concat(label ? [label] : []);
    sortLabels();
    render();
  };
  const row = (l) => {
    const name = h("input", { type: "text", required: true, maxlength: 50, class: "label-name", "data-test": "label-name", "aria-label": t("name"), dir: "auto" });
    name.value = l.name;
    let recoloured = false;
    const color = h("input", {
      type: "color",
      class: "label-color",
      "data-test": "label-color",
      "aria-label": t("label_color"),
      value: l.color || "#eceff3",
      oninput: () => (recoloured = true),
    });
    const patch = async (body) => {
      const updated = await attempt(() => api("PATCH", "/api/v1/labels/" + encodeURIComponent(l.id), body));
      if (!updated) return;
      keep(updated);
      toast(t("saved"));
    };
    const remove = () =>
      openDialog(t("delete"), h("p", { dir: "auto" }, t("delete_label_confirm", { name: l.name })), [
        {
          label: t("delete"),
          class: "danger",
          id: "label-delete-confirm",
          test: "label-delete-confirm",
          action: async () => {
            const done = await attempt(() => api("DELETE", "/api/v1/labels/" + encodeURIComponent(l.id)));
            if (done === undefined) return;
            state.labels = state.labels.filter((x) => x.id !== l.id);
            render();
            toast(t("deleted"));
          },
        },
      ]);
    return h(
      "li",
      { class: "label-admin", "data-label-id": l.id, "data-test": "label-row" },
      h(
        "form",
        {
          onsubmit: (e) => {
            e.preventDefault();
            const body = {};
            if (name.value.trim() !== l.name) body.name = name.value;
            if (recoloured) body.color = color.value;
            if (Object.keys(body).length) patch(body);
          },
        },
        labelChip(l),
        name,
        color,
        l.color ? h("button", { type: "button", class: "link", "data-test": "label-clear-color", onclick: () => patch({ color: null }) }, t("clear_color")) : null,
        h("button", { type: "submit", class: "secondary", "data-test": "label-save" }, t("save")),
        h("button", { type: "button", class: "link danger", "data-test": "label-delete", onclick: remove }, t("delete")),
      ),
    );
  };
  const render = () => {
    clear(list);
    if (!state.labels.length) list.appendChild(h("li", { class: "muted" }, t("no_labels")));
    for (const l of state.labels) list.appendChild(row(l));
  };
  const newName = h("input", { type: "text", id: "label-new-name", required: true, maxlength: 50, "data-test": "label-new-name", dir: "auto" });
  const newColor = h("input", { type: "color", id: "label-new-color", "data-test": "label-new-color" });
  const nextColor = () => (newColor.value = PALETTE[state.labels.length % PALETTE.length]);
  nextColor();
  render();
  loadLabels().then(render);
  const create = h(
    "form",
    {
      class: "label-new",
      onsubmit: async (e) => {
        e.preventDefault();
        const label = await attempt(() => api("POST", "/api/v1/labels", { name: newName.value, color: newColor.value }));
        if (!label) return;
        keep(label);
        newName.value = "";
        nextColor();
        toast(t("saved"));
      },
    },
    h("label", { class: "grow" }, t("name"), newName),
    h("label", {}, t("label_color"), newColor),
    h("button", { type: "submit", id: "label-create", "data-test": "label-create" }, t("create_label")),
  );
  return h("section", { class: "card labels-card", "data-test": "labels-card" }, h("h2", {}, t("labels")), h("p", { class: "hint" }, t("labels_hint")), list, create);
}
