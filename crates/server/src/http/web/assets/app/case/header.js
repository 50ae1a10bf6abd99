// The head of a case page: number and editable subject, chat state,
// status and assignee, labels; and the contact panel beside it: the
// customer (where a visitor wrote from, their e-mail, the profiles of other
// channels linked with them), the channel, their earlier cases.

import { h, append, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelName, customer } from "../state.js";
import { attempt, badge, customerLabel, fmtTime, statusLabel, stateLabel } from "../ui.js";
import { labelChip, labelFilterHref } from "../labels.js";
import { reloadActiveSoon } from "../active.js";

/** Draws the head and the contact panel from `page.kase`, unless the
 * subject is being edited. */
export function renderHeader(page, header, contact, customerEmail, linkedProfiles) {
  if (page.editingSubject) return;
  clear(header);
  renderContact(page, contact, customerEmail, linkedProfiles);
  // First, so that the name below is read from the same fresh request.
  customerEmail.show(page.kase.customer_id);
  linkedProfiles.show(page.kase.customer_id);
  const title = h("h1", { class: "subject", dir: "auto", "data-test": "case-subject" }, page.kase.subject);
  const edit = h(
    "button",
    {
      type: "button",
      class: "link",
      "data-test": "edit-subject",
      onclick: () => {
        page.editingSubject = true;
        const input = h("input", { type: "text", value: page.kase.subject, maxlength: 255, "data-test": "subject-input", dir: "auto" });
        const done = () => {
          page.editingSubject = false;
          renderHeader(page, header, contact, customerEmail, linkedProfiles);
        };
        const save = async () => {
          const updated = await attempt(() =>
            api("PATCH", "/api/v1/cases/" + encodeURIComponent(page.kase.id), { subject: input.value }),
          );
          if (updated) {
            page.kase = updated;
            done();
            reloadActiveSoon();
          }
        };
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") save();
          if (e.key === "Escape") done();
        });
        clear(header).appendChild(
          h(
            "div",
            { class: "subject-edit" },
            h("span", { class: "num" }, "#" + page.kase.number),
            input,
            h("button", { type: "button", "data-test": "save-subject", onclick: save }, t("save")),
            h("button", { type: "button", class: "secondary", onclick: done }, t("cancel")),
          ),
        );
        input.focus();
        input.select();
      },
    },
    t("edit"),
  );
  const statusSel = h(
    "select",
    {
      "data-test": "status-select",
      "aria-label": t("status"),
      onchange: async (e) => {
        const updated = await attempt(() =>
          api("PATCH", "/api/v1/cases/" + encodeURIComponent(page.kase.id), { status: e.target.value }),
        );
        if (updated) page.kase = updated;
        page.render();
        reloadActiveSoon();
      },
    },
    ["open", "pending", "closed"].map((s) => h("option", { value: s, selected: page.kase.status === s }, statusLabel(s))),
  );
  const assigneeSel = h(
    "select",
    {
      "data-test": "assignee-select",
      "aria-label": t("assignee"),
      onchange: async (e) => {
        const updated = await attempt(() =>
          api("PATCH", "/api/v1/cases/" + encodeURIComponent(page.kase.id), { assignee_id: e.target.value || null }),
        );
        if (updated) page.kase = updated;
        page.render();
      },
    },
    h("option", { value: "", selected: !page.kase.assignee_id }, t("unassigned")),
    state.agents.map((a) => h("option", { value: a.id, selected: page.kase.assignee_id === a.id }, a.name)),
  );
  append(
    header,
    h("div", { class: "title-row" }, h("span", { class: "num", "data-test": "case-number" }, "#" + page.kase.number), title, edit),
    h(
      "div",
      { class: "meta-row" },
      badge("state", page.kase.chat_state, stateLabel(page.kase.chat_state)),
      h("label", {}, t("status"), statusSel),
      h("label", {}, t("assignee"), assigneeSel),
      h("span", { class: "muted" }, t("created"), ": ", fmtTime(page.kase.created_at)),
    ),
    labelsRow(page),
  );
}

/** The contact panel: who wrote (and from which page), their e-mail, the
 * channel, their profiles in other channels, their earlier cases. */
function renderContact(page, contact, customerEmail, linkedProfiles) {
  clear(contact);
  append(
    contact,
    h("h2", { class: "contact-title" }, t("contact")),
    h(
      "div",
      { class: "contact-name" },
      h("a", { href: "#/customer/" + encodeURIComponent(page.kase.customer_id), "data-test": "customer-link", dir: "auto" }, customerLabel(page.kase.customer_id)),
      visitorPage(page.kase.customer_id),
    ),
    customerEmail.el,
    h("div", { class: "muted", "data-test": "case-channel", dir: "auto" }, t("via_channel", { channel: channelName(page.kase.channel_id) })),
    linkedProfiles.el,
    earlierCases(page),
  );
}

/** Where a widget visitor last wrote from, once known: "on
 * shop.example/checkout", the whole address as its title. Text only. */
function visitorPage(customerId) {
  const span = h("span", { class: "muted visitor-page", "data-test": "visitor-page", dir: "auto", hidden: true });
  customer(customerId).then((c) => {
    if (!c || !c.page) return;
    span.textContent = " " + t("visitor_on_page", { page: c.page.replace(/^https?:\/\//, "") });
    span.title = c.page;
    span.hidden = false;
  });
  return span;
}

/** The customer's other cases, newest first (read once per page): what
 * they asked before, each with its status, and the way to all of them. */
function earlierCases(page) {
  const row = h("div", { class: "earlier-cases", "data-test": "earlier-cases", hidden: true });
  if (!page.earlier) {
    const q = new URLSearchParams({ customer_id: page.kase.customer_id, limit: "6" });
    page.earlier = api("GET", "/api/v1/cases?" + q).then(
      (r) => r.items,
      () => [],
    );
  }
  page.earlier.then((items) => {
    const others = items.filter((c) => c.id !== page.kase.id).slice(0, 5);
    if (!others.length) return;
    append(
      row,
      h("span", { class: "muted" }, t("earlier_cases"), " "),
      others.map((c) =>
        h(
          "a",
          { href: "#/case/" + encodeURIComponent(c.id), class: "earlier-case", "data-test": "earlier-case", title: c.subject, dir: "auto" },
          "#" + c.number,
          " ",
          badge("status", c.status, statusLabel(c.status)),
        ),
      ),
      h("a", { href: "#/cases?customer_id=" + encodeURIComponent(page.kase.customer_id), "data-test": "all-customer-cases" }, t("all_customer_cases")),
    );
    row.hidden = false;
  });
  return row;
}

/** The case's labels as chips (× takes one off) and a picker of the rest
 * of the catalogue; each change re-renders from the case it returns. */
function labelsRow(page) {
  const on = page.kase.labels || [];
  const path = "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/labels";
  const change = async (method, url, body) => {
    const updated = await attempt(() => api(method, url, body));
    if (updated && !page.disposed) {
      page.kase = updated;
      page.render();
    }
  };
  const rest = state.labels.filter((l) => !on.some((x) => x.id === l.id));
  const picker = rest.length
    ? h(
        "select",
        {
          id: "add-label",
          class: "add-label",
          "data-test": "add-label",
          "aria-label": t("add_label_prompt"),
          onchange: (e) => e.target.value && change("POST", path, { label_id: e.target.value }),
        },
        h("option", { value: "" }, t("add_label_prompt")),
        rest.map((l) => h("option", { value: l.id }, l.name)),
      )
    : null;
  return h(
    "div",
    { class: "labels-row", "data-test": "case-labels", "aria-label": t("labels") },
    on.map((l) =>
      labelChip(l, {
        href: labelFilterHref(l),
        onRemove: () => change("DELETE", path + "/" + encodeURIComponent(l.id)),
      }),
    ),
    picker,
  );
}
