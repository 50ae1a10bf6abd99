// Reports (`#/reports`): the figures of `GET /api/v1/stats` for a period,
// grouped by day, week, agent or channel, and for admins the auto-finish
// policy simulator (`GET /api/v1/simulate/auto-finish`; docs/reports.md).

import { h, append, clear, locale, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelLabel } from "../state.js";
import { createdChart, fmtDuration, fmtMinutes, simulatorChart, timesChart } from "./charts.js";
import { fmtDay, fmtTime } from "../ui.js";

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
  append(
    main,
    h("h1", {}, t("reports_title")),
    form,
    body,
    state.me.role === "admin" ? simulatorPanel(fromIn, toIn, () => !disposed) : null,
  );

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

/** The candidate times the simulator starts with (the API's default). */
const SIM_MINUTES = "5,10,30,60,1440";

/** "What if chats ended after…" (admins): what other auto-finish times
 * would have made of the chat messages of the period in the page's date
 * fields. Run on demand only: a long period reads millions of messages. */
function simulatorPanel(fromIn, toIn, alive) {
  const minutesIn = h("input", {
    id: "sim-minutes",
    name: "minutes",
    value: SIM_MINUTES,
    required: true,
    inputmode: "numeric",
    autocomplete: "off",
    "aria-describedby": "sim-minutes-hint",
    "data-test": "sim-minutes",
  });
  const run = h("button", { type: "submit", "data-test": "sim-run" }, t("sim_run"));
  const out = h("div", { class: "sim-results", "data-test": "sim-results" });
  const simulate = async (e) => {
    e.preventDefault();
    const period = { from: fromIn.value, to: toIn.value };
    const p = new URLSearchParams({ minutes: minutesIn.value });
    for (const [k, v] of Object.entries(period)) if (v) p.set(k, v);
    run.disabled = true;
    out.setAttribute("aria-busy", "true");
    clear(out).appendChild(h("p", { class: "loading" }, t("loading")));
    let answer;
    try {
      answer = await api("GET", "/api/v1/simulate/auto-finish?" + p.toString());
    } catch (err) {
      if (alive()) clear(out).appendChild(h("p", { class: "error", role: "alert", "data-test": "sim-error" }, err.message));
      return;
    } finally {
      run.disabled = false;
      out.removeAttribute("aria-busy");
    }
    if (!alive()) return;
    append(
      clear(out),
      simulationFacts(answer, period),
      simulationTable(answer),
      simulatorChart(answer.items, answer.current_minutes, t("sim_chart")),
    );
  };
  return h(
    "section",
    { class: "card sim-panel", "aria-labelledby": "sim-title", "data-test": "simulator" },
    h("h2", { id: "sim-title" }, t("sim_title")),
    h("p", { class: "hint" }, t("sim_intro")),
    h(
      "form",
      { class: "filters", onsubmit: simulate },
      h("label", { for: "sim-minutes", class: "grow" }, t("sim_minutes"), minutesIn),
      run,
    ),
    h("p", { class: "hint", id: "sim-minutes-hint" }, t("sim_minutes_hint", { max: 10 })),
    out,
  );
}

/** The period and time zone the simulation read, how many messages, and
 * the account's auto-finish time now. Dates as the fields gave them (the
 * answer's `to` is the end of that day, which reads as the next day). */
function simulationFacts(answer, period) {
  const day = (field, iso) => (/^\d{4}-\d{2}-\d{2}$/.test(field) ? fmtDay(field) : fmtTime(iso));
  const current = answer.current_minutes;
  const listed = answer.items.some((i) => i.minutes === current);
  return h(
    "div",
    {},
    h(
      "p",
      { "data-test": "sim-period" },
      t("sim_period", {
        from: day(period.from, answer.from),
        to: day(period.to, answer.to),
        tz: answer.time_zone,
        n: answer.messages.toLocaleString(locale()),
      }),
    ),
    h(
      "p",
      { "data-test": "sim-current-time" },
      t("sim_current_is", { v: fmtMinutes(current) }),
      listed ? null : " " + t("sim_current_absent"),
    ),
  );
}

/** One row per candidate time; the account's current one marked. The
 * text alternative of the chart below it. */
function simulationTable(answer) {
  const num = (v, digits) => v.toLocaleString(locale(), { maximumFractionDigits: digits });
  const cols = [
    ["cases", t("sim_col_cases"), (i) => num(i.cases, 0)],
    ["per-customer", t("sim_col_per_customer"), (i) => num(i.cases_per_customer, 2)],
    // A share is a rate out of 1; with no chats there is none ("—").
    ["within-day", t("sim_col_within_day"), (i) => fmtRate(i.reopened_within_day_share, i.cases ? 1 : 0)],
    ["median", t("sim_col_median"), (i) => fmtDuration(i.median_case_seconds)],
    ["per-day", t("sim_col_per_day"), (i) => num(i.cases_per_day, 1)],
    ["busiest", t("sim_col_busiest"), (i) => num(i.busiest_day_cases, 0)],
  ];
  const row = (i) => {
    const current = i.minutes === answer.current_minutes;
    return h(
      "tr",
      { class: current ? "current" : "", "data-test": "sim-row", "data-minutes": i.minutes },
      h(
        "th",
        { scope: "row", "data-test": "sim-time" },
        fmtMinutes(i.minutes),
        current ? [" ", h("span", { class: "badge sim-current", "data-test": "sim-current" }, t("sim_current"))] : null,
      ),
      cols.map(([key, label, get]) => h("td", { class: "n", "data-label": label, "data-test": "sim-" + key }, get(i))),
    );
  };
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": t("sim_figures") },
    h(
      "table",
      { class: "cases figures-table", "data-test": "sim-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("sim_col_time")), cols.map(([, label]) => h("th", { class: "n" }, label)))),
      h("tbody", {}, answer.items.map(row)),
    ),
  );
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
