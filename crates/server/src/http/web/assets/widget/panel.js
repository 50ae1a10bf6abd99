// The widget's elements: the launcher button and the chat panel in a
// shadow root. What they do is main.js's (`on`).

import { h, t } from "../shared.js";
import { STYLE } from "./style.js";

export const MAX_TEXT = 4000;
// What the server accepts (it decides by the bytes; this only guides the
// file picker).
const ACCEPT =
  "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv," +
  ".png,.jpg,.jpeg,.gif,.webp,.pdf,.zip,.docx,.xlsx,.pptx,.odt,.ods,.txt,.csv";

/** Builds the widget with its title (`data-casedesk-title`) and accent
 * colour (`data-casedesk-color`); answers the elements main.js uses. */
export function buildPanel({ titleAttr, accent, on }) {
  function icon(d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }
  const CHAT_ICON = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z";
  const CLIP_ICON =
    "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z";
  const CLOSE_ICON =
    "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z";

  const host = document.createElement("casedesk-widget");
  const root = host.attachShadow({ mode: "open" });
  const dot = h("span", { class: "cd-dot", hidden: true });
  const launcher = h(
    "button",
    { id: "cd-launcher", type: "button", "aria-label": t("widget.open"), "aria-expanded": "false", "aria-controls": "cd-panel", onclick: on.toggle },
    icon(CHAT_ICON),
    icon(CLOSE_ICON),
    dot
  );
  const title = titleAttr || t("widget.title");
  const empty = h("p", { class: "cd-empty" }, t("widget.empty"));
  const list = h("div", { class: "cd-list", role: "log", "aria-live": "polite", "aria-label": t("widget.messages") }, empty);
  const status = h("div", { class: "cd-status", role: "status" });
  const input = h("textarea", { id: "cd-input", rows: "1", maxlength: String(MAX_TEXT), placeholder: t("widget.placeholder"), "aria-label": t("widget.placeholder") });
  // The file input stays hidden: the paperclip opens its picker.
  const fileInput = h("input", { class: "cd-file", type: "file", accept: ACCEPT, hidden: true, onchange: on.chooseFile });
  const attachButton = h("button", { class: "cd-attach", type: "button", "aria-label": t("widget.attach"), title: t("widget.attach"), onclick: () => fileInput.click() }, icon(CLIP_ICON));
  const sendButton = h("button", { id: "cd-send", type: "submit", "aria-label": t("widget.send") }, t("widget.send"));
  const endButton = h("button", { id: "cd-end", class: "cd-end", type: "button", hidden: true, onclick: on.askEnd }, t("widget.end"));
  const endYes = h("button", { id: "cd-end-yes", type: "button", onclick: on.endChat }, t("widget.yes"));
  const endNo = h("button", { id: "cd-end-no", type: "button", onclick: () => on.cancelEnd(true) }, t("widget.no"));
  const confirmRow = h("div", { class: "cd-confirm", role: "group", "aria-label": t("widget.end"), hidden: true }, h("span", {}, t("widget.end_confirm")), endYes, endNo);
  const form = h("form", { class: "cd-form", onsubmit: (e) => (e.preventDefault(), on.send()) }, attachButton, fileInput, input, sendButton);
  // The Help Center: once the visitor exists there is something to show.
  const helpLink = h("button", { class: "cd-help-link", type: "button", title: t("widget.new_tab"), onclick: on.openHelp }, t("widget.my_requests"));
  const helpFoot = h("div", { class: "cd-foot", hidden: true }, helpLink);
  const panel = h(
    "div",
    { id: "cd-panel", role: "dialog", "aria-label": title, hidden: true },
    h("div", { class: "cd-head" }, h("h2", { class: "cd-title" }, title), endButton, h("button", { class: "cd-close", type: "button", "aria-label": t("widget.close"), onclick: on.close }, icon(CLOSE_ICON))),
    confirmRow,
    list,
    status,
    form,
    helpFoot
  );
  const frame = h("div", { class: "cd" }, launcher, panel);
  if (accent && window.CSS && window.CSS.supports("color", accent)) frame.style.setProperty("--cd-accent", accent);
  root.append(h("style", {}, STYLE), frame);
  return { host, root, frame, dot, launcher, empty, list, status, input, fileInput, endButton, endYes, endNo, confirmRow, helpLink, helpFoot, panel };
}
