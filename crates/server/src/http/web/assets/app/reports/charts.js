// The reports' charts: inline SVG built here (no chart library, nothing
// from a CDN), so they obey the Content-Security-Policy.

import { h, locale, svgEl, t } from "../../shared.js";
import { fmtDay } from "../ui.js";

/** Seconds as a short human duration; "—" when there is no value. */
export function fmtDuration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return "—";
  const n = Math.round(secs);
  if (n < 60) return t("dur_s", { n });
  if (n < 3600) return t("dur_min", { n: Math.round(n / 60) });
  if (n < 86400) return t("dur_h", { h: Math.floor(n / 3600), m: Math.floor((n % 3600) / 60) });
  return t("dur_d", { d: Math.floor(n / 86400), h: Math.floor((n % 86400) / 3600) });
}

/** "3 days", "1 день", "2 дня": `n` with the plural form of the unit
 * (`unit_days` holds "day|days" in English, three forms in Russian). */
function countOf(n, forms) {
  const list = forms.split("|");
  const i = { one: 0, few: 1, many: 2 }[new Intl.PluralRules(locale()).select(n)] ?? 1;
  return n + " " + list[Math.min(i, list.length - 1)];
}

/** An auto-finish time in minutes as people say it: "5 min", "1 h",
 * "1 h 30 min", "1 day", "2 d 6 h"; a fractional one (the account's time
 * in seconds) as a duration. */
export function fmtMinutes(minutes) {
  const m = Number(minutes);
  if (!Number.isInteger(m)) return fmtDuration(m * 60);
  if (m < 60) return t("dur_min", { n: m });
  if (m % 1440 === 0) return countOf(m / 1440, t("unit_days"));
  if (m % 60 === 0) return m < 1440 ? t("dur_hours", { n: m / 60 }) : t("dur_d", { d: Math.floor(m / 1440), h: (m % 1440) / 60 });
  return m < 1440 ? t("dur_h", { h: Math.floor(m / 60), m: m % 60 }) : t("dur_min", { n: m });
}

/** A round upper bound for a chart's axis. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Stacked bars: one bar per day or week, one colour per channel. */
export function createdChart(series, labels, title) {
  const W = 760;
  const H = 240;
  const left = 36;
  const bottom = 34;
  const top = 10;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, ser) => sum + ((ser.groups[i] || {}).cases_created || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = svgEl("svg", {
    viewBox: "0 0 " + W + " " + H,
    class: "chart",
    role: "img",
    "data-test": "chart-created",
    "data-total": totals.reduce((a, b) => a + b, 0),
  });
  svg.appendChild(svgEl("title", {}, title));
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH - frac * plotH;
    svg.appendChild(svgEl("line", { x1: left, x2: W - 8, y1: y, y2: y, class: "grid" }));
    svg.appendChild(svgEl("text", { x: left - 4, y: y + 4, class: "axis", "text-anchor": "end" }, String(Math.round(frac * max * 10) / 10)));
  }
  const n = Math.max(1, labels.length);
  const step = plotW / n;
  const barW = Math.max(1, step * 0.75);
  const every = Math.ceil(n / 10);
  labels.forEach((label, i) => {
    const x = left + i * step + (step - barW) / 2;
    let y = top + plotH;
    series.forEach((ser, si) => {
      const v = (ser.groups[i] || {}).cases_created || 0;
      if (!v) return;
      const hgt = (v / max) * plotH;
      y -= hgt;
      svg.appendChild(
        svgEl(
          "rect",
          { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: hgt.toFixed(1), class: "bar series-" + (si % 6), "data-value": v },
          svgEl("title", {}, label + " · " + ser.name + ": " + v),
        ),
      );
    });
    if (i % every === 0) {
      svg.appendChild(
        svgEl("text", { x: (left + i * step + step / 2).toFixed(1), y: H - bottom + 16, class: "axis", "text-anchor": "middle" }, shortLabel(label)),
      );
    }
  });
  const legend = h(
    "ul",
    { class: "legend" },
    series.map((ser, si) =>
      h("li", {}, h("span", { class: "swatch series-" + (si % 6) }), h("span", { dir: "auto" }, ser.name), " ", h("span", { class: "muted" }, String(ser.groups.reduce((a, g) => a + g.cases_created, 0)))),
    ),
  );
  return h("div", { class: "chart-wrap" }, svg, legend);
}

/** "2026-11-03" → "3 Nov"; weeks stay as they are. */
function shortLabel(label) {
  return fmtDay(label, true);
}

/** Horizontal bars: median and p90 of first response and resolution. */
export function timesChart(total) {
  const rows = [
    [t("first_response") + " · " + t("median"), total.first_response_seconds.median, "median"],
    [t("first_response") + " · " + t("p90"), total.first_response_seconds.p90, "p90"],
    [t("resolution") + " · " + t("median"), total.resolution_seconds.median, "median"],
    [t("resolution") + " · " + t("p90"), total.resolution_seconds.p90, "p90"],
  ];
  const W = 760;
  const rowH = 30;
  const labelW = 230;
  const valueW = 110;
  const H = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r[1] || 0));
  const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "data-test": "chart-times" });
  svg.appendChild(svgEl("title", {}, t("chart_times")));
  rows.forEach(([label, v, kind], i) => {
    const y = 4 + i * rowH;
    svg.appendChild(svgEl("text", { x: labelW - 8, y: y + 19, class: "axis label", "text-anchor": "end" }, label));
    const w = v ? Math.max(2, ((W - labelW - valueW) * v) / max) : 0;
    svg.appendChild(svgEl("rect", { x: labelW, y: y + 5, width: w.toFixed(1), height: rowH - 10, class: "bar time-" + kind }, svgEl("title", {}, label + ": " + fmtDuration(v))));
    svg.appendChild(svgEl("text", { x: labelW + w + 6, y: y + 19, class: "axis value" }, v === null || v === undefined ? t("no_data") : fmtDuration(v)));
  });
  return svg;
}

/** The policy simulator's chart: a bar of cases per candidate time (left
 * axis) and, as a line over them, the share of chats the customer went on
 * with within a day (right axis, 0–100 %). The current time's bar is
 * outlined. The table beside it holds the same figures as text. */
export function simulatorChart(items, currentMinutes, title) {
  const W = 760;
  const H = 240;
  const left = 44;
  const right = 48;
  const top = 12;
  const bottom = 34;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => i.cases)));
  const pct = (share) => (Math.round(share * 1000) / 10).toLocaleString(locale()) + " %";
  const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title, "data-test": "sim-chart" });
  svg.appendChild(svgEl("title", {}, title));
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH - frac * plotH;
    svg.appendChild(svgEl("line", { x1: left, x2: W - right, y1: y, y2: y, class: "grid" }));
    svg.appendChild(svgEl("text", { x: left - 4, y: y + 4, class: "axis", "text-anchor": "end" }, (Math.round(frac * max * 10) / 10).toLocaleString(locale())));
    svg.appendChild(svgEl("text", { x: W - right + 4, y: y + 4, class: "axis" }, pct(frac)));
  }
  const step = plotW / Math.max(1, items.length);
  const barW = Math.min(80, step * 0.6);
  const points = [];
  items.forEach((it, i) => {
    const cx = left + i * step + step / 2;
    const hgt = (it.cases / max) * plotH;
    const label = fmtMinutes(it.minutes);
    const current = it.minutes === currentMinutes;
    const tip = label + (current ? " (" + t("sim_current") + ")" : "") + ": " + t("sim_col_cases") + " " + it.cases + " · " + t("sim_col_within_day") + " " + pct(it.reopened_within_day_share);
    svg.appendChild(
      svgEl(
        "rect",
        { x: (cx - barW / 2).toFixed(1), y: (top + plotH - hgt).toFixed(1), width: barW.toFixed(1), height: hgt.toFixed(1), class: "bar series-0" + (current ? " current" : ""), "data-value": it.cases },
        svgEl("title", {}, tip),
      ),
    );
    svg.appendChild(svgEl("text", { x: cx.toFixed(1), y: H - bottom + 16, class: "axis" + (current ? " label" : ""), "text-anchor": "middle" }, label));
    points.push([cx, top + plotH - it.reopened_within_day_share * plotH, tip]);
  });
  if (points.length > 1) svg.appendChild(svgEl("polyline", { points: points.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" "), class: "share-line" }));
  for (const [x, y, tip] of points) svg.appendChild(svgEl("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 4, class: "share-dot" }, svgEl("title", {}, tip)));
  const legend = h(
    "ul",
    { class: "legend" },
    h("li", {}, h("span", { class: "swatch series-0" }), t("sim_col_cases")),
    h("li", {}, h("span", { class: "swatch share-dot" }), t("sim_col_within_day") + ", %"),
    items.some((i) => i.minutes === currentMinutes) ? h("li", {}, h("span", { class: "swatch series-0 current" }), t("sim_current")) : null,
  );
  return h("div", { class: "chart-wrap" }, svg, legend);
}
