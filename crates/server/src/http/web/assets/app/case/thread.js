// A case's messages: customer, agent, note and system lines, reactions,
// the message a reaction note points to (R10), attached files, and a
// letter's subject, sender and other recipients, and its HTML body on
// request.

import { h, clear, svgEl, fmtSize, t } from "../../shared.js";
import { state, agentName } from "../state.js";
import { customerLabel, fmtTime } from "../ui.js";
import { actorLabel } from "./history.js";

/** One message of `kase`; `actions.reply(m)`, when given, answers a
 * customer's message from its "Reply" link; `actions.select(m)`, when
 * given, makes its checkbox (select.js). `messages` are the thread's, for
 * the message a reaction points to. */
export function messageItem(m, kase, actions = {}, messages = []) {
  const kind = m.kind; // message | note | system
  const author = m.author || {};
  let who;
  if (kind === "system") who = t("system");
  else if (author.type === "customer") who = customerLabel(kase.customer_id);
  else if (author.type === "agent") who = author.id === (state.me && state.me.id) ? agentName(author.id) + " (" + t("you") + ")" : agentName(author.id);
  else who = actorLabel({ type: author.type || "system", id: author.id || "" }, kase);
  const classes = ["msg", "msg-" + kind, "from-" + (author.type || "system")];
  const files = m.attachments || [];
  // Without a caption a file's message says just its name: the chip does.
  const uncaptioned = files.length === 1 && m.text === files[0].filename;
  const folds = m.letter && author.type === "customer" && !uncaptioned;
  // A reaction's note is written by the server in English ("👍 reaction
  // to the message of <UTC time>"): shown in the agent's words and time.
  const text = m.reacted_message_id ? reactionText(m, messages) : m.text;
  const body = [letterHead(m.letter), uncaptioned ? null : folds ? foldedText(text) : messageText(text)];
  if (m.letter && m.letter.has_html) body.push(letterHtml(m.id));
  if (files.length) body.push(attachmentsBox(files));
  if (m.reacted_message_id) {
    // R10: the note links to the message it reacts to.
    body.push(
      h(
        "a",
        {
          href: "#",
          class: "reaction-note",
          onclick: (e) => {
            e.preventDefault();
            const target = document.querySelector('[data-message-id="' + CSS.escape(m.reacted_message_id) + '"]');
            if (target) {
              target.scrollIntoView({ block: "center" });
              target.classList.add("flash");
              setTimeout(() => target.classList.remove("flash"), 1500);
            }
          },
        },
        "↪ ",
        t("reaction"),
      ),
    );
  }
  return h(
    "li",
    { class: classes.join(" "), "data-message-id": m.id, "data-kind": kind, "data-test": "message" },
    h(
      "div",
      { class: "msg-head" },
      actions.select ? actions.select(m) : null,
      kind === "note" ? h("span", { class: "note-label", "data-test": "note-label" }, t("internal_note")) : null,
      h("span", { class: "author" }, who),
      h("time", { datetime: m.created_at }, fmtTime(m.created_at)),
      m.edited_at ? h("span", { class: "edited", "data-test": "edited", title: fmtTime(m.edited_at) }, t("edited")) : null,
      deliveryMark(m.delivery),
      actions.reply && kind === "message" && author.type === "customer"
        ? h(
            "button",
            { type: "button", class: "link reply-to", "data-test": "reply-to", title: t("reply_to_title"), onclick: () => actions.reply(m) },
            t("reply_to"),
          )
        : null,
    ),
    body,
    m.reactions && m.reactions.length
      ? h(
          "div",
          { class: "reactions", "data-test": "reactions" },
          m.reactions.map((r) => h("span", { class: "reaction", title: fmtTime(r.created_at) }, r.emoji)),
        )
      : null,
  );
}

function reactionText(m, messages) {
  const emoji = m.text.split(" ")[0];
  const target = messages.find((x) => x.id === m.reacted_message_id);
  return target ? t("reaction_note", { emoji, time: fmtTime(target.created_at) }) : t("reaction_note_gone", { emoji });
}

function messageText(text) {
  return h("div", { class: "text", dir: "auto", "data-test": "message-text" }, text);
}

/** A letter's text with its quoted history and signature folded behind a
 * "…" toggle; unfolded, the box holds the letter's text exactly. */
function foldedText(text) {
  const at = foldAt(text);
  if (at === null) return messageText(text);
  const shown = text.slice(0, at).replace(/\s+$/, "");
  const box = messageText(shown);
  const toggle = h(
    "button",
    {
      type: "button",
      class: "fold-toggle",
      "aria-expanded": "false",
      title: t("letter_show_quoted"),
      "aria-label": t("letter_show_quoted"),
      "data-test": "fold-toggle",
      onclick: () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        box.textContent = open ? text : shown;
        const label = open ? t("letter_hide_quoted") : t("letter_show_quoted");
        toggle.title = label;
        toggle.setAttribute("aria-label", label);
        toggle.setAttribute("aria-expanded", String(open));
      },
    },
    "…",
  );
  return h("div", { class: "folded-text", "data-test": "folded-text" }, box, toggle);
}

const QUOTED = /^>/;
// The line a mailer puts right over what it quotes: "On Sun, … Vera
// wrote:", "6 дек. 2026 г., в 10:00, Вера написал(а):".
const ATTRIBUTION = /^On\s.*\swrote:\s*$|(?:написал|написала|написал\(а\)|пишет):\s*$/;

/** Where a letter's quoted history or signature starts (an offset into
 * `text`), or null when nothing is to be folded: everything from the
 * first signature line ("-- ", or "--" where a mailer trimmed it) on, and
 * before it the trailing block of `>` lines with the attribution line
 * right above it. Nothing folds that would leave the letter empty. */
function foldAt(text) {
  const raw = text.split("\n");
  const lines = raw.map((l) => l.replace(/\r$/, ""));
  const blank = (i) => lines[i].trim() === "";
  let end = lines.findIndex((l) => l === "-- " || l === "--");
  if (end < 0) end = lines.length;
  let from = end;
  let last = end - 1;
  while (last >= 0 && blank(last)) last--;
  if (last >= 0 && QUOTED.test(lines[last])) {
    let first = last;
    while (first > 0 && (QUOTED.test(lines[first - 1]) || blank(first - 1))) first--;
    while (blank(first)) first++;
    from = first > 0 && ATTRIBUTION.test(lines[first - 1]) ? first - 1 : first;
  }
  const at = raw.slice(0, from).reduce((n, l) => n + l.length + 1, 0);
  if (at >= text.length || text.slice(0, at).trim() === "" || text.slice(at).trim() === "") return null;
  return at;
}

/** A letter's subject and sender, the others it went to, and whether a
 * machine sent it (an out-of-office reply, a bounce, list mail: the
 * badge's title says why). All of it is text, whatever the letter held. */
function letterHead(letter) {
  if (!letter) return null;
  const others = letter.recipients || [];
  return h(
    "div",
    { class: "letter-head", "data-test": "letter-head" },
    h("span", { class: "letter-subject", dir: "auto", "data-test": "letter-subject" }, letter.subject || t("letter_no_subject")),
    h("span", { class: "letter-from", dir: "auto", "data-test": "letter-from" }, t("letter_from", { from: letter.from })),
    others.length ? h("span", { class: "letter-recipients", dir: "auto", "data-test": "letter-recipients" }, t("letter_also_to", { list: others.join(", ") })) : null,
    letter.automatic
      ? h("span", { class: "badge letter-automatic", "data-test": "letter-automatic", title: letter.automatic }, t("letter_automatic"))
      : null,
  );
}

/** A letter's HTML body, shown only when asked for: the server's sanitized
 * copy in a frame sandboxed without script and without this origin (so
 * nothing in it can reach the app), remote images left out until the
 * agent loads them. The server says how many it left out. */
function letterHtml(messageId) {
  const url = "/api/v1/letters/" + encodeURIComponent(messageId) + "/html";
  const area = h("div", { class: "letter-html-area" });
  const toggle = h(
    "button",
    { type: "button", class: "link", "aria-expanded": "false", "data-test": "show-formatted", onclick: () => (area.firstChild ? hide() : show()) },
    t("letter_show_formatted"),
  );
  function hide() {
    clear(area);
    toggle.textContent = t("letter_show_formatted");
    toggle.setAttribute("aria-expanded", "false");
  }
  function show() {
    const frame = h("iframe", {
      sandbox: "allow-popups allow-popups-to-escape-sandbox",
      referrerpolicy: "no-referrer",
      title: t("letter_formatted_title"),
      "data-test": "letter-frame",
      src: url,
    });
    const remote = h("button", {
      type: "button",
      class: "link",
      hidden: true,
      "data-test": "load-remote-images",
      onclick: () => {
        frame.src = url + "?remote_images=true";
        remote.remove();
      },
    });
    area.append(h("div", { class: "letter-frame" }, frame), remote);
    toggle.textContent = t("letter_hide_formatted");
    toggle.setAttribute("aria-expanded", "true");
    // The count is in a header the frame cannot tell us: ask for it apart.
    fetch(url, { method: "HEAD", credentials: "same-origin" })
      .then((r) => {
        const n = Number(r.headers.get("X-Casedesk-Remote-Images")) || 0;
        if (n > 0 && remote.isConnected) {
          remote.textContent = t("letter_remote_images", { n });
          remote.hidden = false;
        }
      })
      .catch(() => {});
  }
  return h("div", { class: "letter-html", "data-test": "letter-html" }, toggle, area);
}

/** Where a reply's delivery through its channel stands: sent, waiting
 * (with the last error as its tooltip) or failed with the reason. */
function deliveryMark(d) {
  if (!d) return null;
  const state = d.state === "delivered" ? "sent" : d.state === "failed" ? "failed" : "pending";
  const label = t("delivery_" + state);
  return h(
    "span",
    { class: "delivery-mark delivery-" + state, "data-test": "delivery", "data-state": state, title: d.last_error || label },
    state === "failed" && d.last_error ? label + ": " + d.last_error : label,
  );
}

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

function attachmentUrl(a) {
  return "/api/v1/attachments/" + encodeURIComponent(a.id);
}

/** A message's files: images as thumbnails that open full size in a new
 * tab, the rest as chips that download (the server says so). */
function attachmentsBox(files) {
  return h("div", { class: "attachments", "data-test": "attachments" }, files.map((a) => (IMAGE_TYPES.includes(a.content_type) ? imageThumb(a) : fileChip(a))));
}

function imageThumb(a) {
  const img = h("img", { class: "att-img", "data-test": "att-img", src: attachmentUrl(a), alt: a.filename, decoding: "async" });
  const link = h(
    "a",
    {
      href: attachmentUrl(a),
      target: "_blank",
      rel: "noopener",
      class: "att-img-link",
      title: a.filename + " · " + fmtSize(a.size_bytes),
      "aria-label": t("open_image", { name: a.filename }),
    },
    img,
  );
  // An image that cannot be shown (its file gone) is still named.
  img.addEventListener("error", () => link.replaceWith(fileChip(a)), { once: true });
  return link;
}

function fileChip(a) {
  return h(
    "a",
    { href: attachmentUrl(a), class: "att-file", "data-test": "att-file", title: t("download_file", { name: a.filename }) },
    fileIcon(),
    h("span", { class: "att-name", dir: "auto", "data-test": "att-name" }, a.filename),
    h("span", { class: "att-size" }, fmtSize(a.size_bytes)),
  );
}

function fileIcon() {
  const line = { fill: "none", stroke: "currentColor", "stroke-width": 1.5, "stroke-linejoin": "round" };
  return svgEl(
    "svg",
    { class: "att-icon", viewBox: "0 0 16 20", width: 14, height: 18, "aria-hidden": "true" },
    svgEl("path", { d: "M1.5 1.5h8l5 5v12h-13z", ...line }),
    svgEl("path", { d: "M9.5 1.5v5h5", ...line }),
  );
}
