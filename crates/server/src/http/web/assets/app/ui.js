// Small pieces every page of the app uses: badges, times, the toast,
// dialogs, copying.

import { h, append, formatDate, t } from "../shared.js";
import { api } from "./api.js";
import { customer } from "./state.js";

export function statusLabel(s) {
  return t("status_" + s);
}

export function stateLabel(s) {
  return s ? t("state_" + s) : t("state_none");
}

export function badge(kind, value, label) {
  return h("span", { class: "badge " + kind + "-" + (value || "none"), "data-test": kind }, label);
}

/** A text node filled in with the customer's name once known. */
export function customerLabel(id) {
  const span = h("span", { class: "customer-name", dir: "auto" }, "…");
  customer(id).then((c) => {
    span.textContent = c ? customerName(c) : id.slice(0, 8);
  });
  return span;
}

/** What to call a customer: their name, else their e-mail, else their id
 * in the channel — except an anonymous widget visitor (`visitor:<id>`),
 * who is "Visitor 4821", the same four digits wherever they appear. */
export function customerName(c) {
  if (c.name) return c.name;
  if (c.external_id && c.external_id.startsWith("visitor:")) return t("visitor_name", { n: visitorNumber(c.external_id) });
  return c.email || c.external_id;
}

function visitorNumber(externalId) {
  // FNV-1a of the id, as four digits from 1000 to 9999.
  let hash = 0x811c9dc5;
  for (let i = 0; i < externalId.length; i++) {
    hash ^= externalId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 1000 + (hash % 9000);
}

export function fmtTime(iso) {
  return formatDate(iso, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** A day of the reports ("2026-11-07") as every date of the app is
 * written: "7 Nov 2026", or "7 Nov" when `short`; weeks ("2026-W45") and
 * other labels stay as they are. */
export function fmtDay(label, short) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(label)) return label;
  const opts = short ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" };
  return formatDate(label + "T12:00:00", opts) || label;
}

export function fmtAgo(iso) {
  const secs = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (secs < 60) return t("just_now");
  if (secs < 3600) return t("ago_min", { n: Math.floor(secs / 60) });
  if (secs < 86400) return t("ago_h", { n: Math.floor(secs / 3600) });
  return t("ago_d", { n: Math.floor(secs / 86400) });
}

export function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

let toastTimer = null;
export function toast(message, isError) {
  const el = document.querySelector("#toast");
  if (!el) return;
  el.textContent = message;
  el.className = isError ? "toast error" : "toast";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), isError ? 8000 : 3000);
}

/** A toast with one button (an "Undo" after a split or move), shown
 * longer than a plain one so there is time to press it. */
export function toastAction(message, label, action) {
  toast(message);
  const el = document.querySelector("#toast");
  if (!el) return;
  el.append(
    " ",
    h(
      "button",
      {
        type: "button",
        class: "toast-action",
        "data-test": "toast-action",
        onclick: () => {
          el.hidden = true;
          action();
        },
      },
      label,
    ),
  );
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 10000);
}

/** Undoes the latest split, merge or move recorded on case `caseId` (what
 * the agent just did), then shows that case. */
export async function undoLatest(caseId) {
  const events = await attempt(() => api("GET", "/api/v1/cases/" + encodeURIComponent(caseId) + "/events"));
  if (!events) return;
  const last = [...events.items].reverse().find((e) => e.data && e.data.action && ["split", "merged", "messages_moved"].includes(e.kind));
  if (!last) return;
  const back = await attempt(() =>
    api("POST", "/api/v1/cases/" + encodeURIComponent(caseId) + "/events/" + encodeURIComponent(last.id) + "/undo"),
  );
  if (!back) return;
  toast(t("undo_done", { c: back.number }));
  location.hash = "#/case/" + encodeURIComponent(back.id);
}

export function toastEl() {
  return h("div", { id: "toast", class: "toast", role: "alert", hidden: true });
}

/** Runs an action, showing its error instead of throwing. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    toast(e.message || String(e), true);
    return undefined;
  }
}

/** A modal dialog; each button runs its action, then closes the dialog.
 * `opts.class` adds classes to the dialog (a wider picker); `opts.closeLabel`
 * names the closing button when there is nothing to cancel. */
export function openDialog(title, body, buttons, opts) {
  const dlg = h("dialog", { class: "dialog " + ((opts && opts.class) || ""), "data-test": "dialog" });
  // Closed by a button or Esc, the dialog gives the focus back.
  const before = document.activeElement;
  const restore = () => {
    if (before && before.isConnected && typeof before.focus === "function") before.focus({ preventScroll: true });
  };
  const close = () => {
    dlg.close();
    dlg.remove();
    restore();
  };
  append(
    dlg,
    h("h2", {}, title),
    body,
    h(
      "div",
      { class: "dialog-buttons" },
      buttons.map((b) =>
        h(
          "button",
          {
            type: "button",
            class: b.class || "",
            id: b.id,
            "data-test": b.test,
            onclick: async (e) => {
              // One click, one action: a slow call is not sent twice.
              const button = e.currentTarget;
              if (button.disabled) return;
              button.disabled = true;
              if (b.action) await b.action();
              close();
            },
          },
          b.label,
        ),
      ),
      h("button", { type: "button", class: "secondary", "data-test": "dialog-cancel", onclick: close }, (opts && opts.closeLabel) || t("cancel")),
    ),
  );
  dlg.addEventListener("cancel", () => {
    dlg.remove();
    restore();
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  return dlg;
}

/** Copies an element's text. The text is selected first, so the admin sees
 * what was copied; where the page may not write to the clipboard (plain
 * http on another host, a refused permission) it stays selected for
 * Ctrl+C. */
export async function copyText(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  if (navigator.clipboard && navigator.clipboard.writeText) {
    try {
      await navigator.clipboard.writeText(el.textContent);
      toast(t("copied"));
      return;
    } catch (_) {
      // Refused: fall back to the selection.
    }
  }
  toast(t("copy_by_hand"));
}

