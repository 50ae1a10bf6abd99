// What the Help Center draws: the header, the sign-in form, the list of
// requests and one request with its messages. Everything is drawn from
// `state`; `on` holds the page's actions the buttons call.

import { h, fmtSize, formatDate, lang, langOf, linkify, t } from "../shared.js";
import { apiBase, say, state } from "./state.js";

const KINDS = ["widget", "email", "api", "telegram"];

export const root = document.getElementById("help");
export const dialog = h("dialog", { id: "help-confirm", class: "help-dialog", "aria-labelledby": "help-confirm-title" });

function when(iso) {
  // The browser's own variant of the chosen language (en-GB, ru-RU …).
  const locale = langOf(navigator.language) === lang() ? navigator.language : lang();
  return formatDate(iso, { dateStyle: "medium", timeStyle: "short" }, locale);
}

const time = (iso) => h("time", { datetime: iso || false }, when(iso));

/** A message's files: images inline, the rest as download links. The
 * session cookie is enough, so these are plain same-origin URLs. */
function attachments(files) {
  const items = files.map((a) => {
    const url = apiBase + "/attachments/" + encodeURIComponent(a.id);
    if (/^image\//.test(a.content_type || "")) {
      return h(
        "a",
        { class: "help-att-open", href: url, target: "_blank", rel: "noopener", title: t("help.open_image") },
        h("img", { class: "help-att-img", src: url, alt: a.filename || "" })
      );
    }
    return h(
      "a",
      { class: "help-att-file", href: url, download: a.filename || "", title: t("help.download") },
      h("span", { class: "help-att-name", dir: "auto" }, a.filename || ""),
      h("span", { class: "help-att-size" }, fmtSize(a.size_bytes))
    );
  });
  return items.length ? h("div", { class: "help-atts" }, items) : null;
}

// ------------------------------------------------------------------ render

/** Draws the whole page from `state`; `focus` is a selector to focus after. */
export function render(focus, on) {
  document.documentElement.lang = lang();
  document.title = state.company ? state.company + " — " + t("help.help_center") : t("help.help_center");
  if (state.view !== "case" && dialog.open) dialog.close();
  const error = h("p", { id: "help-error", class: "help-error", role: "alert", hidden: !say(state.error) }, say(state.error));
  root.replaceChildren(header(on), h("main", { class: "help-main" }, error, view(on)));
  if (focus) {
    const el = root.querySelector(focus);
    if (el) el.focus();
  }
}

function header(on) {
  const who = state.me && (state.me.name || state.me.email);
  const user = state.me
    ? h(
        "div",
        { class: "help-person" },
        h("span", { class: "help-who", title: who ? t("help.signed_in_as") + " " + who : false }, who || t("help.signed_in_chat")),
        h("button", { id: "help-signout", type: "button", class: "help-quiet", onclick: on.signOut }, t("help.sign_out"))
      )
    : null;
  const langButton = h(
    "button",
    { id: "help-lang", type: "button", class: "help-quiet help-lang", lang: lang() === "en" ? "ru" : "en", "aria-label": t("help.lang_switch_label"), title: t("help.lang_switch_label"), onclick: on.switchLang },
    t("help.lang_switch")
  );
  const brand = h(
    "a",
    { class: "help-brand", href: "#" },
    h("span", { class: "help-company" }, state.company || "\u00a0"),
    h("span", { class: "help-product" }, t("help.help_center"))
  );
  return h("header", { class: "help-top" }, h("div", { class: "help-top-in" }, brand, h("div", { class: "help-tools" }, user, langButton)));
}

function view(on) {
  switch (state.view) {
    case "signin":
      return signInView(on);
    case "sent":
      return sentView(on);
    case "list":
      return listView();
    case "case":
      return caseView(on);
    case "notfound":
      return h("section", { class: "help-notfound" }, backLink());
    default:
      return h("p", { class: "help-loading", role: "status" }, t("help.loading"));
  }
}

function signInView(on) {
  const input = h("input", {
    id: "help-email",
    name: "email",
    type: "email",
    autocomplete: "email",
    inputmode: "email",
    spellcheck: "false",
    maxlength: "254",
    required: true,
    "aria-invalid": state.fieldError ? "true" : false,
    "aria-describedby": state.fieldError ? "help-email-error" : false,
    oninput: (e) => (state.email = e.target.value),
  });
  input.value = state.email;
  return h(
    "section",
    { class: "help-card help-signin" },
    h("h1", { tabindex: "-1" }, t("help.signin_title")),
    h("p", { class: "help-lead" }, t("help.signin_intro")),
    h(
      "form",
      { id: "help-signin-form", novalidate: true, onsubmit: on.requestLink },
      h("label", { for: "help-email" }, t("help.email_label")),
      input,
      h("p", { id: "help-email-error", class: "help-field-error", hidden: !state.fieldError }, say(state.fieldError)),
      h("button", { id: "help-signin-submit", type: "submit", class: "help-primary", disabled: state.sending }, state.sending ? t("help.sending") : t("help.send_link"))
    )
  );
}

function sentView(on) {
  return h(
    "section",
    { class: "help-card help-signin" },
    h("h1", { tabindex: "-1" }, t("help.sent_title")),
    h("p", { id: "help-signin-sent", class: "help-lead", role: "status" }, t("help.sent", { email: state.sentTo })),
    h("p", { class: "help-muted" }, t("help.sent_hint")),
    h("button", { type: "button", class: "help-textbutton", onclick: () => on.show("signin", "#help-email") }, t("help.another_address"))
  );
}

function badges(c) {
  const status = ["open", "pending", "closed"].includes(c.status) ? c.status : "open";
  return [
    h("span", { class: "help-badge help-badge-" + status, "data-status": status }, t("help.status_" + status)),
    c.chat_state === "active" && c.status !== "closed" ? h("span", { class: "help-badge help-badge-live" }, t("help.active_chat")) : null,
  ];
}

const channelOf = (c) => c.channel_name || (KINDS.includes(c.channel_kind) ? t("help.kind_" + c.channel_kind) : "") || c.channel_kind || "";
const subjectOf = (c) => (c.subject && c.subject.trim()) || t("help.no_subject");

function listView() {
  const cases = state.cases || [];
  const rows = cases.map((c) =>
    h(
      "li",
      {},
      h(
        "a",
        { class: "help-case", href: "#case=" + encodeURIComponent(c.id), "data-case-id": c.id, "data-number": c.number, "data-status": c.status },
        h("span", { class: "help-case-title" }, h("span", { class: "help-number" }, "#" + c.number), h("span", { class: "help-subject", dir: "auto" }, subjectOf(c))),
        h(
          "span",
          { class: "help-case-meta" },
          h("span", { class: "help-badges" }, badges(c)),
          channelOf(c) ? h("span", { class: "help-channel" }, channelOf(c)) : null,
          h("span", { class: "help-updated" }, t("help.updated") + " ", time(c.last_activity_at))
        )
      )
    )
  );
  return h(
    "section",
    { class: "help-list" },
    h("h1", { tabindex: "-1" }, t("help.cases_title")),
    h("div", { id: "help-cases" }, rows.length ? h("ul", { class: "help-case-list" }, rows) : h("p", { class: "help-empty" }, t("help.cases_empty")))
  );
}

function caseView(on) {
  const c = state.detail.case;
  const closed = c.status === "closed";
  const [status, live] = badges(c);
  status.id = "help-case-status";
  const facts = h(
    "p",
    { class: "help-facts" },
    status,
    live,
    channelOf(c) ? h("span", {}, channelOf(c)) : null,
    h("span", {}, t("help.opened") + " ", time(c.created_at)),
    closed && c.closed_at ? h("span", {}, t("help.closed_at") + " ", time(c.closed_at)) : null
  );
  const action = closed
    ? h("p", { class: "help-closed-hint", role: "status", tabindex: "-1" }, t("help.closed_hint"))
    : h("button", { id: "help-close-case", type: "button", class: "help-secondary", disabled: state.closing, onclick: on.askClose }, t("help.close_case"));
  const messages = state.detail.messages.map((m) => {
    const author = m.author === "customer" || m.author === "agent" ? m.author : "system";
    const files = Array.isArray(m.attachments) ? m.attachments.filter((a) => a && typeof a.id === "string") : [];
    // A file's message says its name unless it has a caption: once is enough.
    const nameOnly = files.length === 1 && (m.text || "") === files[0].filename;
    return h(
      "li",
      { class: "help-message", "data-author": author, "data-id": m.id },
      author === "system" ? null : h("span", { class: "help-author" }, author === "customer" ? t("help.you") : t("help.support")),
      h("div", { class: "help-bubble", dir: "auto", hidden: nameOnly }, linkify(m.text || "")),
      attachments(files),
      h("span", { class: "help-time" }, time(m.created_at))
    );
  });
  return h(
    "section",
    { id: "help-case-view", "data-case-id": c.id },
    backLink(),
    h(
      "div",
      { class: "help-case-head" },
      h("h1", { tabindex: "-1" }, h("span", { class: "help-number" }, "#" + c.number), " ", h("span", { dir: "auto" }, subjectOf(c))),
      facts,
      h("div", { class: "help-actions" }, action)
    ),
    messages.length
      ? h("ol", { class: "help-thread", "aria-label": t("help.messages") }, messages)
      : h("p", { class: "help-empty" }, t("help.no_messages"))
  );
}

function backLink() {
  return h("a", { class: "help-back", href: "#" }, "← " + t("help.back"));
}

