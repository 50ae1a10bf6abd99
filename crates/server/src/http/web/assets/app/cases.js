// The case list (`#/cases`): the queues as tabs with their counts, filters
// in the address, pages of the API's cursor, CSV and XLSX export of the
// same filters.

import { h, append, clear, t } from "../shared.js";
import { api } from "./api.js";
import { state, agentName, channelName, channelLabel } from "./state.js";
import { attempt, badge, customerLabel, fmtTime, statusLabel, stateLabel } from "./ui.js";
import { fillLabelOptions, labelChip, labelFilterHref, loadLabels } from "./labels.js";
import { QUEUES } from "./active.js";

const FILTERS = ["status", "chat_state", "channel_id", "assignee_id", "unassigned", "label_id", "customer_id", "q", "sort", "order"];

const NOBODY = "-";

/** The filters a queue stands for (`#/cases?queue=mine`), newest
 * activity first; the address's own filters narrow it further. */
function queueParams(params) {
  const queue = params.get("queue");
  const set = {
    mine: { status: "open", assignee_id: state.me.id },
    unassigned: { status: "open", unassigned: "true" },
    open: { status: "open" },
    waiting: { status: "pending" },
  }[queue];
  if (!set) return params;
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(set)) p.set(k, v);
  if (!p.get("sort")) p.set("sort", "last_activity_at");
  return p;
}

export function casesPage(main, rawParams) {
  const params = queueParams(rawParams);
  const queue = QUEUES.some((q) => q.key === rawParams.get("queue")) ? rawParams.get("queue") : [...rawParams.keys()].length ? null : "all";
  let disposed = false;
  const field = (name, options) =>
    h(
      "select",
      { name, "data-test": "filter-" + name },
      options.map(([v, label]) => h("option", { value: v, selected: (params.get(name) || "") === v }, label)),
    );
  const statusSel = field("status", [["", t("any")], ...["open", "pending", "closed"].map((s) => [s, statusLabel(s)])]);
  const stateSel = field("chat_state", [
    ["", t("any")],
    ["active", t("state_active")],
    ["finished", t("state_finished")],
  ]);
  const channelSel = field("channel_id", [["", t("any")], ...state.channels.map((c) => [c.id, channelLabel(c)])]);
  // "Unassigned" is a filter of its own (`unassigned=true`).
  const agentSel = field("assignee_id", [["", t("any")], [NOBODY, t("unassigned")], ...state.agents.map((a) => [a.id, a.name])]);
  if (params.get("unassigned") === "true") agentSel.value = NOBODY;
  // The catalogue may have changed since the app loaded: refill once fresh.
  let labelChoice = params.get("label_id") || "";
  const labelSel = h("select", { name: "label_id", "data-test": "filter-label_id", onchange: (e) => (labelChoice = e.target.value) });
  const fillLabels = () => fillLabelOptions(labelSel, t("any_label"), labelChoice, state.labels);
  fillLabels();
  loadLabels().then(() => disposed || fillLabels());
  const sortSel = field("sort", [
    ["created_at", t("sort_created")],
    ["last_activity_at", t("sort_activity")],
  ]);
  const orderSel = field("order", [
    ["desc", t("order_desc")],
    ["asc", t("order_asc")],
  ]);
  orderSel.setAttribute("aria-label", t("order_label"));
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "", "data-test": "filter-q", placeholder: t("search") });
  const customerId = params.get("customer_id") || "";
  const customerFilter = customerId
    ? h(
        "span",
        { class: "chip", "data-test": "filter-customer" },
        t("customer"),
        ": ",
        customerLabel(customerId),
        " ",
        h("a", { href: "#/cases?" + without(params, "customer_id") }, t("clear")),
      )
    : null;
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e) => {
        e.preventDefault();
        const p = new URLSearchParams();
        for (const el of [statusSel, stateSel, channelSel, agentSel, labelSel, q, sortSel, orderSel]) {
          if (el === agentSel && el.value === NOBODY) p.set("unassigned", "true");
          else if (el.value.trim()) p.set(el.name, el.value.trim());
        }
        if (customerId) p.set("customer_id", customerId);
        location.hash = "#/cases?" + p.toString();
      },
    },
    h("label", {}, t("status"), statusSel),
    h("label", {}, t("chat_state"), stateSel),
    h("label", {}, t("channel"), channelSel),
    h("label", {}, t("assignee"), agentSel),
    h("label", {}, t("label"), labelSel),
    h("label", { class: "grow" }, t("search"), q),
    h("label", {}, t("sort"), sortSel),
    h("label", {}, " ", orderSel),
    customerFilter,
    h("button", { type: "submit", "data-test": "apply-filters" }, t("apply")),
    h("a", { href: "#/cases", class: "button secondary" }, t("reset")),
    h(
      "span",
      { class: "export", title: t("export_hint") },
      h("a", { href: exportUrl(params, "csv"), class: "button secondary", download: "", "data-test": "export-csv" }, t("export_csv")),
      h("a", { href: exportUrl(params, "xlsx"), class: "button secondary", download: "", "data-test": "export-xlsx" }, t("export_xlsx")),
    ),
  );
  const tbody = h("tbody", { "data-test": "case-rows" });
  const table = h(
    "table",
    { class: "cases" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [t("number"), t("subject"), t("customer"), t("channel"), t("status"), t("assignee"), t("created"), t("last_activity")].map(
          (x) => h("th", {}, x),
        ),
      ),
    ),
    tbody,
  );
  const more = h("button", { type: "button", class: "secondary", "data-test": "load-more", hidden: true }, t("load_more"));
  const empty = h("p", { class: "empty", hidden: true }, t("no_cases"));
  const counts = state.queues || {};
  const tabs = h(
    "nav",
    { class: "queue-tabs", "aria-label": t("queues"), "data-test": "queue-tabs" },
    [...QUEUES, { key: "all" }].map((q) =>
      h(
        "a",
        {
          href: q.key === "all" ? "#/cases" : "#/cases?queue=" + q.key,
          class: q.key === queue ? "current" : "",
          "aria-current": q.key === queue ? "page" : null,
          "data-test": "tab-" + q.key,
        },
        t("queue_" + q.key),
        q.count && counts[q.count] !== undefined ? h("span", { class: "queue-count" }, String(counts[q.count])) : null,
      ),
    ),
  );
  append(main, h("h1", {}, t("nav_cases")), tabs, form, h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": t("nav_cases") }, table), empty, more);

  let cursor = null;
  let pages = 0;
  const query = () => {
    const p = new URLSearchParams();
    for (const k of FILTERS) if (params.get(k)) p.set(k, params.get(k));
    const limit = Number(params.get("limit"));
    p.set("limit", String(limit >= 1 && limit <= 200 ? limit : 50));
    if (cursor) p.set("cursor", cursor);
    return p.toString();
  };
  const load = async (reset) => {
    if (reset) {
      cursor = null;
      pages = 0;
    }
    const data = await attempt(() => api("GET", "/api/v1/cases?" + query()));
    if (!data || disposed) return;
    if (reset) clear(tbody);
    pages += 1;
    for (const c of data.items) tbody.appendChild(caseRow(c));
    cursor = data.next_cursor;
    more.hidden = !cursor;
    empty.hidden = tbody.children.length > 0;
  };
  more.addEventListener("click", () => load(false));
  load(true);
  let reload = null;
  return {
    onNotice() {
      // Refresh the first page only when the agent has not paged further.
      if (pages > 1) return;
      clearTimeout(reload);
      reload = setTimeout(() => load(true), 300);
    },
    dispose() {
      disposed = true;
      clearTimeout(reload);
    },
  };
}

/** The export of the list as shown: the same filters and order (a GET, so
 * the session cookie is enough). CSV starts with a BOM for Excel. */
function exportUrl(params, format) {
  const p = new URLSearchParams({ format });
  if (format === "csv") p.set("bom", "true");
  for (const k of FILTERS) if (params.get(k)) p.set(k, params.get(k));
  return "/api/v1/cases/export?" + p.toString();
}

function without(params, key) {
  const p = new URLSearchParams(params);
  p.delete(key);
  return p.toString();
}

function caseRow(c) {
  const href = "#/case/" + encodeURIComponent(c.id);
  return h(
    "tr",
    { "data-case-id": c.id, class: c.unread ? "unread" : "" },
    h("td", { class: "num" }, h("a", { href }, "#" + c.number)),
    h(
      "td",
      { class: "subject" },
      h("a", { href, dir: "auto", "data-test": "subject" }, c.subject),
      c.labels && c.labels.length
        ? h("div", { class: "label-chips", "data-test": "row-labels" }, c.labels.map((l) => labelChip(l, { href: labelFilterHref(l) })))
        : null,
    ),
    h("td", { "data-label": t("customer") }, h("a", { href: "#/customer/" + encodeURIComponent(c.customer_id) }, customerLabel(c.customer_id))),
    h("td", { class: "nowrap", "data-label": t("channel") }, channelName(c.channel_id)),
    h("td", { "data-label": t("status") }, badge("status", c.status, statusLabel(c.status)), " ", badge("state", c.chat_state, stateLabel(c.chat_state))),
    h("td", { "data-label": t("assignee") }, c.assignee_id ? agentName(c.assignee_id) : t("unassigned")),
    h("td", { class: "time", "data-label": t("created") }, fmtTime(c.created_at)),
    h("td", { class: "time", "data-label": t("last_activity") }, fmtTime(c.last_activity_at)),
  );
}
