// Keys that work on every page: Alt+J / Alt+K to the next or previous chat
// of the sidebar, Ctrl+K (⌘K) for the command palette: chats, queues and
// pages by a few typed letters.

import { h, clear, t } from "../shared.js";
import { state } from "./state.js";
import { QUEUES, neighbourChat } from "./active.js";
import { openDialog } from "./ui.js";

export function installKeys() {
  document.addEventListener("keydown", (e) => {
    if (!state.me || document.querySelector("dialog[open]")) return;
    const key = e.key.toLowerCase();
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === "KeyJ" || e.code === "KeyK" || key === "j" || key === "k")) {
      const next = neighbourChat(e.code === "KeyJ" || key === "j" ? 1 : -1);
      if (next) {
        e.preventDefault();
        location.hash = "#/case/" + encodeURIComponent(next.id);
      }
    } else if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.code === "KeyK" || key === "k")) {
      e.preventDefault();
      openPalette();
    }
  });
}

/** Everything the palette can go to, each `{ label, hint, href }`. */
function destinations() {
  const chat = (c) => ({ label: "#" + c.number + " " + c.subject, hint: c.chat_state === "active" ? t("nav_active") : t("unanswered_title"), href: "#/case/" + encodeURIComponent(c.id) });
  const pages = [
    ["cases", "#/cases"],
    ["reports", "#/reports"],
    ["templates", "#/templates"],
    ["rules", "#/rules"],
    ["profile", "#/profile"],
  ];
  if (state.me.role === "admin") pages.push(["settings", "#/settings"]);
  return [
    ...state.active.map(chat),
    ...(state.unanswered || []).map(chat),
    ...QUEUES.map((q) => ({ label: t("queue_" + q.key), hint: t("queues"), href: "#/cases?queue=" + q.key })),
    ...pages.map(([name, href]) => ({ label: t("nav_" + name), hint: t("palette_page"), href })),
  ];
}

export function openPalette() {
  const all = destinations();
  let shown = all;
  let at = 0;
  const input = h("input", { type: "search", "data-test": "palette-input", "aria-label": t("palette_title"), placeholder: t("palette_placeholder"), autocomplete: "off" });
  const list = h("ul", { class: "palette-list", role: "listbox", "data-test": "palette-list" });
  const go = (d) => {
    dlg.close();
    dlg.remove();
    location.hash = d.href;
  };
  const draw = () => {
    clear(list);
    shown.slice(0, 30).forEach((d, i) =>
      list.appendChild(
        h(
          "li",
          { role: "option", "aria-selected": String(i === at), class: i === at ? "current" : "", "data-test": "palette-item", onclick: () => go(d) },
          h("span", { dir: "auto" }, d.label),
          h("span", { class: "muted" }, d.hint),
        ),
      ),
    );
    if (!shown.length) list.appendChild(h("li", { class: "muted" }, t("palette_nothing")));
  };
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    shown = all.filter((d) => words.every((w) => (d.label + " " + d.hint).toLowerCase().includes(w)));
    at = 0;
    draw();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      at = Math.max(0, Math.min(shown.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)));
      draw();
    } else if (e.key === "Enter" && shown[at]) {
      e.preventDefault();
      go(shown[at]);
    }
  });
  const dlg = openDialog(t("palette_title"), [input, list, h("p", { class: "hint" }, t("keys_hint"))], [], { class: "palette", closeLabel: t("close") });
  draw();
  input.focus();
}
