// Reports (`#/reports`): the figures of `GET /api/v1/stats` for a period,
// grouped by day, week, agent or channel (docs/reports.md).

import { h, append, clear, locale, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelLabel } from "../state.js";
import { createdChart, fmtDuration, timesChart } from "./charts.js";
import { fmtDay } from "../ui.js";

function isoDate(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

function fmtRate(part, whole) {
  if (!whole) return "—";
  return (Math.round((1000 * part) / whole) / 10).toLocaleString(locale()) + " %";
}

function groupLabel(g) {
  return g.key === null ? t("unassigned") : fmtDay(g.label);
}

export function reportsPage(main, params) {
  let disposed = false;
  const today = new Date();
  const monthAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29);
  const valid = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || "");
  const from = valid(params.get("from")) ? params.get("from") : isoDate(monthAgo);
  const to = valid(params.get("to")) ? params.get("to") : isoDate(today);
  const groupBy = ["day", "week", "agent", "channel"].includes(params.get("group_by")) ? params.get("group_by") : "day";
  const channelId = state.channels.some((c) => c.id === params.get("channel_id")) ? params.get("channel_id") : "";

  const fromIn = h("input", { type: "date", name: "from", value: from, required: true, "data-test": "report-from" });
  const toIn = h("input", { type: "date", name: "to", value: to, required: true, "data-test": "report-to" });
  const groupSel = h(
    "select",
    { name: "group_by", "data-test": "report-group-by" },
    ["day", "week", "agent", "channel"].map((g) => h("option", { value: g, selected: g === groupBy }, t("group_" + g))),
  );
  const channelSel = h(
    "select",
    { name: "channel_id", "data-test": "report-channel" },
    h("option", { value: "" }, t("all_channels")),
    state.channels.map((c) => h("option", { value: c.id, selected: c.id === channelId }, channelLabel(c))),
  );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e) => {
        e.preventDefault();
        const p = new URLSearchParams();
        for (const el of [fromIn, toIn, groupSel, channelSel]) if (el.value) p.set(el.name, el.value);
        location.hash = "#/reports?" + p.toString();
      },
    },
    h("label", {}, t("period_from"), fromIn),
    h("label", {}, t("period_to"), toIn),
    h("label", {}, t("group_by"), groupSel),
    h("label", {}, t("channel"), channelSel),
    h("button", { type: "submit", "data-test": "report-apply" }, t("apply")),
  );
  const body = h("div", { class: "reports", "data-test": "reports" }, h("p", { class: "loading" }, t("loading")));
  append(main, h("h1", {}, t("reports_title")), form, body);

  const stats = (extra) => {
    const p = new URLSearchParams({ from, to, ...extra });
    if (channelId && !p.has("channel_id")) p.set("channel_id", channelId);
    return api("GET", "/api/v1/stats?" + p.toString());
  };

  const load = async () => {
    // The chart's time unit: the chosen one, or days for agent/channel groupings.
    const unit = groupBy === "week" ? "week" : "day";
    const chartChannels = channelId ? state.channels.filter((c) => c.id === channelId) : state.channels;
    let results;
    try {
      results = await Promise.all([
        stats({ group_by: groupBy }),
        groupBy === "agent" ? null : stats({ group_by: "agent" }),
        Promise.all(chartChannels.map((c) => stats({ group_by: unit, channel_id: c.id }))),
      ]);
    } catch (e) {
      if (disposed) return;
      clear(body).appendChild(h("p", { class: "error", "data-test": "report-error" }, e.message));
      return;
    }
    if (disposed) return;
    const [main_, byAgent, perChannel] = results;
    const agents = byAgent || main_;
    const total = main_.total;
    clear(body);
    append(
      body,
      summaryCards(total),
      h(
        "section",
        { class: "card chart-card" },
        h("h2", {}, t("chart_created", { unit: t("group_" + unit) })),
        createdChart(
          chartChannels.map((c, i) => ({ name: c.name, groups: perChannel[i].groups })),
          perChannel.length ? perChannel[0].groups.map((g) => g.label) : [],
          t("chart_created", { unit: t("group_" + unit) }),
        ),
      ),
      h("section", { class: "card chart-card" }, h("h2", {}, t("chart_times")), timesChart(total)),
      h(
        "section",
        { class: "card" },
        h("h2", {}, t("workload")),
        state.me.role === "admin" ? null : h("p", { class: "hint" }, t("workload_own")),
        figuresTable(agents.groups, agents.total, "workload"),
      ),
      groupBy === "agent"
        ? null
        : h(
            "section",
            { class: "card" },
            h("h2", {}, t("breakdown", { unit: t("group_" + groupBy) })),
            figuresTable(main_.groups, total, "breakdown"),
          ),
    );
  };
  load();
  return {
    dispose() {
      disposed = true;
    },
  };
}

function summaryCards(total) {
  const item = (key, label, value, hint) =>
    h(
      "div",
      { class: "figure", "data-test": "figure-" + key },
      h("div", { class: "figure-value", "data-test": "figure-value" }, String(value)),
      h("div", { class: "figure-label" }, label),
      hint ? h("div", { class: "hint" }, hint) : null,
    );
  return h(
    "section",
    { class: "figures", "data-test": "report-summary", "aria-label": t("summary") },
    item("created", t("created_n"), total.cases_created),
    item("finished", t("finished_n"), total.cases_finished, t("auto_finished_n") + ": " + total.cases_auto_finished),
    item("closed", t("closed_n"), total.cases_closed),
    item("reopened", t("reopened_n"), total.cases_reopened),
    item("split", t("split_n"), total.cases_split),
    item("merged", t("merged_n"), total.cases_merged),
    item("active", t("active_now"), total.active_chats_now === null ? "—" : total.active_chats_now),
    item(
      "reopen-rate",
      t("reopen_rate"),
      fmtRate(total.cases_reopened, total.cases_created),
      t("rate_hint", { a: total.cases_reopened, b: total.cases_created }),
    ),
    item(
      "split-rate",
      t("split_rate"),
      fmtRate(total.cases_split, total.cases_created),
      t("rate_hint", { a: total.cases_split, b: total.cases_created }),
    ),
    item(
      "first-response",
      t("first_response"),
      fmtDuration(total.first_response_seconds.median),
      t("p90") + ": " + fmtDuration(total.first_response_seconds.p90),
    ),
    item(
      "resolution",
      t("resolution"),
      fmtDuration(total.resolution_seconds.median),
      t("p90") + ": " + fmtDuration(total.resolution_seconds.p90),
    ),
  );
}

/** One row per group (agent, channel, day or week) with every figure. */
function figuresTable(groups, total, test) {
  const cols = [
    [t("created_n"), (f) => f.cases_created],
    [t("finished_n"), (f) => f.cases_finished],
    [t("closed_n"), (f) => f.cases_closed],
    [t("reopened_n"), (f) => f.cases_reopened],
    [t("split_n"), (f) => f.cases_split],
    [t("merged_n"), (f) => f.cases_merged],
    [t("median"), (f) => fmtDuration(f.first_response_seconds.median)],
    [t("p90"), (f) => fmtDuration(f.first_response_seconds.p90)],
    [t("median"), (f) => fmtDuration(f.resolution_seconds.median)],
    [t("p90"), (f) => fmtDuration(f.resolution_seconds.p90)],
  ];
  const counts = cols.length - 4;
  const row = (label, f, cls) =>
    h("tr", { class: cls || "" }, h("th", { dir: "auto", scope: "row" }, label), cols.map(([, get]) => h("td", { class: "n" }, String(get(f)))));
  // A table wider than the page scrolls sideways: keyboard users reach it too.
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": t("figures_" + test) },
    h(
      "table",
      { class: "cases figures-table", "data-test": test },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { rowspan: 2 }, t("group")),
          cols.slice(0, counts).map(([label]) => h("th", { class: "n", rowspan: 2 }, label)),
          h("th", { class: "n span", colspan: 2 }, t("first_response")),
          h("th", { class: "n span", colspan: 2 }, t("resolution")),
        ),
        h("tr", {}, cols.slice(counts).map(([label]) => h("th", { class: "n" }, label))),
      ),
      h("tbody", {}, groups.map((g) => row(groupLabel(g), g, ""))),
      h("tfoot", {}, row(t("total"), total, "total")),
    ),
  );
}
