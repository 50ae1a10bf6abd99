// casedesk web chat widget: one <script> tag on any site opens a chat with
// the helpdesk behind it (docs/widget.md). widget.js, the classic script
// the site embeds, imports this module from casedesk and calls `boot`.
//
// Everything lives in a Shadow DOM root, so the host page's CSS cannot break
// the widget and the widget's CSS cannot leak out. Message text comes from
// visitors and agents and is put into the page with textContent only, never
// as HTML. The server is the origin of the script's own `src`.

import { h, formatDate, lang, langOf, linkify, t, useLang } from "../shared.js";
import { MAX_TEXT, buildPanel } from "./panel.js";
import { visitor } from "./visitor.js";
import { attachments } from "./files.js";
import { liveUpdates } from "./live.js";

const PAGE = 500; // the server's page size of `messages?after=`
const EMOJIS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/** Starts the widget of the `script` tag. `handle` is
 * `window.casedeskWidget`; `queued` the open/close calls made on it
 * before now. */
export async function boot(script, handle, queued) {
  const attr = (name) => script.getAttribute("data-casedesk-" + name) || "";
  const channel = attr("channel");
  await useLang(langOf(attr("lang")) || langOf(document.documentElement.lang) || "en");
  const base = new URL(script.src, location.href).origin;
  const apiBase = base + "/api/v1/widget/" + encodeURIComponent(channel);
  // The server's default limit (docs/attachments.md): a larger file is
  // refused here, before its bytes travel.
  const MAX_FILE = 10 * 1024 * 1024;

  // ------------------------------------------------------------------ state

  const state = {
    user: attr("user-id") ? { id: attr("user-id"), hash: attr("user-hash"), name: attr("user-name") } : null,
    token: "",
    seen: "", // the last message id the visitor had on screen
    lastId: "", // the last id of the server's feed we hold: `after=` of the next fetch
    loaded: false, // the history has been fetched once
    passedSeen: false, // the first fetch went past `seen`: later agent messages are unread
    open: false,
    events: null, // EventSource
    backoff: 1000,
    retryTimer: 0,
    offline: false, // the event stream is down: "Reconnecting…"
    reconnect: false, // the visitor was replaced: a new stream after the next sync
    paused: false, // the page is in the back/forward cache: a new stream when it is back
    caseId: "", // the case of the latest message: the one "End chat" closes
    ending: false, // the close call is under way
  };
  const closedCases = new Set(); // case ids known to be closed
  const nodes = new Map(); // message id -> its .cd-msg element
  const pending = new Set(); // sent by this page, not yet seen in the feed

  // The visitor token and the widget API (widget/visitor.js).
  const { loadSession, saveSession, forgetUsers, ensureVisitor, call } = visitor({
    channel,
    apiBase,
    state,
    on: { token: (has) => (helpFoot.hidden = !has), refused: () => forgetVisitor() },
  });

  const { host, root, frame, dot, launcher, empty, list, status, input, fileInput, endButton, endYes, endNo, confirmRow, helpLink, helpFoot, panel } = buildPanel({
    titleAttr: attr("title"),
    accent: attr("color"),
    on: {
      toggle: () => (state.open ? close() : open()),
      close: () => close(),
      chooseFile: () => chooseFile(),
      askEnd: () => askEnd(),
      endChat: () => endChat(),
      cancelEnd: (refocus) => cancelEnd(refocus),
      send: () => send(),
      openHelp: () => openHelp(),
    },
  });

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  });
  frame.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !state.open) return;
    e.stopPropagation();
    if (picker.isConnected) closePicker(true);
    else if (!confirmRow.hidden) cancelEnd(true);
    else close();
  });
  root.addEventListener("click", (e) => {
    if (picker.isConnected && !picker.contains(e.target) && !e.target.closest(".cd-react")) closePicker(false);
  });

  const files = attachments({ apiBase, state, root, notice: (text) => notice(text) });
  const showAttachments = files.showAttachments;

  // ---------------------------------------------------------- panel & unread

  function open() {
    if (state.open) return input.focus();
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", t("widget.close"));
    setUnread(false);
    markSeen();
    scrollDown(true);
    input.focus();
    if (!state.loaded && (state.token || state.user)) start();
  }

  function close() {
    if (!state.open) return;
    state.open = false;
    closePicker(false);
    cancelEnd(false);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", t("widget.open"));
    launcher.focus();
  }

  function setUnread(on) {
    dot.hidden = !on;
    if (!state.open) launcher.setAttribute("aria-label", on ? t("widget.open_unread") : t("widget.open"));
  }

  function markSeen() {
    if (state.open && state.lastId && state.seen !== state.lastId) {
      state.seen = state.lastId;
      saveSession();
    }
  }

  function scrollDown(force) {
    const near = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    if (force || near) list.scrollTop = list.scrollHeight;
  }

  // One line for both: a passing notice wins over the connection state.
  let noticeText = "";
  let noticeTimer = 0;
  function showStatus() {
    status.textContent = noticeText || (state.offline ? t("widget.reconnecting") : "");
  }

  function notice(text, seconds) {
    noticeText = text;
    showStatus();
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      noticeText = "";
      showStatus();
    }, 1000 * Math.max(seconds || 0, 6));
  }

  function setOffline(on) {
    state.offline = on;
    showStatus();
  }

  /** The stored token no longer works: start over as a new visitor. */
  function forgetVisitor() {
    state.token = "";
    state.seen = "";
    state.lastId = "";
    state.loaded = false;
    state.passedSeen = false;
    setCase("");
    saveSession();
    for (const node of nodes.values()) {
      node.remove();
      pending.delete(node);
    }
    nodes.clear();
    files.forget();
    if (state.events) {
      disconnect();
      state.reconnect = true;
    }
  }

  // -------------------------------------------------------- the conversation

  let syncing = null;
  let syncAgain = false;
  /** Fetches messages after the last one held; coalesces overlapping calls. */
  function sync() {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        let items;
        do {
          const after = state.lastId;
          const r = await call("GET", "/messages" + (after ? "?after=" + encodeURIComponent(after) : ""));
          if (after !== state.lastId || (r.status === 404 && after)) {
            // The visitor was replaced meanwhile, or the server no longer
            // knows our last message: fetch it all again (de-duplicated).
            state.lastId = "";
            syncAgain = true;
            break;
          }
          if (!r.ok || !r.data || !Array.isArray(r.data.items)) throw new Error("messages: " + r.status);
          items = r.data.items;
          for (const m of items) fromFeed(m);
        } while (items.length >= PAGE);
      } while (syncAgain);
      if (state.reconnect) {
        state.reconnect = false;
        connect();
      }
      for (const node of pending) list.append(node); // still unconfirmed: last
      state.loaded = true;
      empty.hidden = list.querySelector(".cd-msg") !== null;
      markSeen();
      scrollDown(false);
    })().finally(() => (syncing = null));
    return syncing;
  }

  function fromFeed(m) {
    if (!m || typeof m.id !== "string") return;
    let node = nodes.get(m.id);
    if (node) {
      pending.delete(node);
      node.classList.remove("cd-sending");
      setReactions(node, m.reactions);
    } else {
      node = renderMessage(m);
      nodes.set(m.id, node);
    }
    list.append(node); // feed order is the order on screen
    state.lastId = m.id;
    if (m.case_id) setCase(m.case_id);
    // The dot: an agent's message the visitor has not had on screen.
    if (m.author === "agent" && !state.open && (state.loaded || state.passedSeen)) setUnread(true);
    if (m.id === state.seen) state.passedSeen = true;
  }

  function renderMessage(m) {
    const author = m.author === "customer" || m.author === "agent" ? m.author : "system";
    const node = h("div", { class: "cd-msg", "data-author": author, "data-case": m.case_id || false }, h("div", { class: "cd-bubble", dir: "auto" }, ...linkify(m.text || "")));
    const meta = h("div", { class: "cd-meta" }, h("time", { datetime: m.created_at || false }, timeLabel(m.created_at)));
    node.append(meta);
    if (m.id) node.setAttribute("data-id", m.id);
    if (author === "agent") {
      meta.append(h("button", { class: "cd-react", type: "button", "aria-label": t("widget.react"), title: t("widget.react"), "aria-haspopup": "true", onclick: () => togglePicker(node) }, "☺"));
      node.append(h("div", { class: "cd-reactions", "aria-label": t("widget.reactions") }));
      setReactions(node, m.reactions);
    }
    showAttachments(node, m.attachments);
    return node;
  }

  /** Text with http(s) links as anchors, all of it as text nodes. */

  function timeLabel(iso) {
    const today = new Date(iso).toDateString() === new Date().toDateString();
    const opts = today ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    return formatDate(iso, opts, lang());
  }

  function reactionsOf(node) {
    const box = node.querySelector(".cd-reactions");
    return box ? [...box.children].map((s) => s.textContent) : [];
  }

  function setReactions(node, reactions) {
    const box = node.querySelector(".cd-reactions");
    if (!box || !Array.isArray(reactions)) return;
    const emojis = [...new Set(reactions.map((r) => (typeof r === "string" ? r : r && r.emoji)).filter(Boolean))];
    box.replaceChildren(...emojis.map((e) => h("span", { class: "cd-reaction" }, e)));
  }

  // ---------------------------------------------------------------- sending

  function send() {
    const text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_TEXT) return notice(t("widget.too_long"));
    input.value = "";
    input.style.height = "";
    // The page of the site the visitor writes from: agents see where they
    // are (the server keeps its origin and path only).
    post("/messages", { text, client_id: newId(), page: location.href }, pendingNode(text), 0);
  }

  /** The file the visitor picked: checked here, then sent as a message. */
  function chooseFile() {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = ""; // the same file may be picked again
    if (!file) return;
    if (file.size > MAX_FILE) return notice(t("widget.too_big"));
    if (!file.size) return notice(t("widget.empty_file"));
    const query = "?filename=" + encodeURIComponent(file.name) + "&client_id=" + encodeURIComponent(newId());
    post("/attachments" + query, file, pendingNode(file.name), 0);
  }

  /** The visitor's message on screen before the server has it. */
  function pendingNode(text) {
    const node = renderMessage({ author: "customer", text, created_at: new Date().toISOString() });
    node.classList.add("cd-sending");
    pending.add(node);
    list.append(node);
    empty.hidden = true;
    scrollDown(true);
    return node;
  }

  function dropPending(node) {
    node.remove();
    pending.delete(node);
    empty.hidden = list.querySelector(".cd-msg") !== null;
  }

  /** Sends a message (`body` is JSON) or a file (`body` is the File). */
  async function post(path, body, node, attempt) {
    const isFile = body instanceof Blob;
    node.classList.add("cd-sending");
    node.classList.remove("cd-failed");
    const retry = node.querySelector(".cd-retry");
    if (retry) retry.remove();
    let r;
    try {
      r = await call("POST", path, body);
    } catch (_) {
      // A network error: the same client_id makes the retry safe.
      if (attempt < 3) setTimeout(() => post(path, body, node, attempt + 1), 1000 * 2 ** attempt);
      else {
        failed(path, body, node);
        if (isFile) notice(t("widget.upload_failed"));
      }
      return;
    }
    if (r.ok && r.data && r.data.message) {
      confirmed(node, r.data.message);
      connect(); // the first message made the visitor: now there is a stream
    } else if (r.status === 429) {
      dropPending(node);
      if (!isFile) input.value = body.text + (input.value ? "\n" + input.value : "");
      // Retry-After is readable cross-origin only when the server exposes it.
      notice(t("widget.too_fast"), Number(r.headers.get("Retry-After")) || 0);
    } else if (isFile && [413, 415, 422].includes(r.status)) {
      // This file will never do: no message, and the visitor is told why.
      dropPending(node);
      // The server's limit may be below the default one checked here.
      notice(r.status === 413 ? t("widget.too_big_here") : r.status === 415 ? t("widget.not_accepted") : t("widget.empty_file"));
    } else {
      failed(path, body, node);
      notice((r.data && r.data.error && r.data.error.message) || t("widget.error"));
    }
  }

  function confirmed(node, m) {
    const known = nodes.get(m.id);
    if (known && known !== node) {
      // The feed brought it first.
      node.remove();
      pending.delete(node);
      return;
    }
    node.classList.remove("cd-sending");
    node.setAttribute("data-id", m.id);
    if (m.case_id) {
      node.setAttribute("data-case", m.case_id);
      setCase(m.case_id); // after "End chat", a new case: the button is back
    }
    const time = node.querySelector("time");
    if (time && m.created_at) {
      time.setAttribute("datetime", m.created_at);
      time.textContent = timeLabel(m.created_at);
    }
    showAttachments(node, m.attachments);
    nodes.set(m.id, node);
  }

  function failed(path, body, node) {
    node.classList.remove("cd-sending");
    node.classList.add("cd-failed");
    node.querySelector(".cd-meta").append(h("button", { class: "cd-retry", type: "button", onclick: () => post(path, body, node, 0) }, t("widget.failed")));
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    const b = crypto.getRandomValues(new Uint8Array(16));
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  // --------------------------------------------------------------- end chat

  /** The case of the latest message; "End chat" shows while it is open. */
  function setCase(id) {
    state.caseId = id || "";
    updateEnd();
  }

  function updateEnd() {
    const can = !!state.caseId && !closedCases.has(state.caseId);
    endButton.hidden = !can;
    if (!can) cancelEnd(false);
  }

  /** A case's status as the event stream reports it. */
  function caseChanged(data) {
    if (!data || typeof data.case_id !== "string") return;
    if (data.status === "closed") closedCases.add(data.case_id);
    else if (data.status) closedCases.delete(data.case_id);
    updateEnd();
  }

  function askEnd() {
    if (!state.caseId || state.ending) return;
    closePicker(false);
    confirmRow.hidden = false;
    endYes.focus();
  }

  function cancelEnd(refocus) {
    if (confirmRow.hidden || state.ending) return;
    confirmRow.hidden = true;
    if (refocus) (endButton.hidden ? input : endButton).focus();
  }

  async function endChat() {
    const caseId = state.caseId;
    if (!caseId || state.ending) return;
    state.ending = true;
    endYes.disabled = endNo.disabled = true;
    let done = false;
    try {
      const r = await call("POST", "/cases/" + encodeURIComponent(caseId) + "/close");
      if (r.ok) done = true;
      else notice((r.data && r.data.error && r.data.error.message) || t("widget.error"));
    } catch (_) {
      notice(t("widget.error"));
    }
    state.ending = false;
    endYes.disabled = endNo.disabled = false;
    confirmRow.hidden = true;
    if (!done) {
      if (!endButton.hidden) endButton.focus();
      return;
    }
    closedCases.add(caseId);
    updateEnd();
    // A line of the widget's own, not from the feed: the visitor's next
    // message starts a new case below it.
    const line = h("div", { class: "cd-msg cd-ended", "data-author": "system", "data-case": caseId }, h("div", { class: "cd-bubble" }, t("widget.ended")));
    list.append(line);
    for (const node of pending) list.append(node);
    scrollDown(true);
    input.focus();
  }

  // ------------------------------------------------------------ help center

  /** Opens the Help Center signed in as this visitor: a one-time link. */
  async function openHelp() {
    if (helpLink.disabled) return;
    helpLink.disabled = true;
    try {
      const r = await call("POST", "/help-link");
      const url = r.ok && r.data && r.data.url;
      if (typeof url === "string" && /^https?:\/\//.test(url)) window.open(url, "_blank", "noopener");
      else notice((r.data && r.data.error && r.data.error.message) || t("widget.error"));
    } catch (_) {
      notice(t("widget.error"));
    }
    helpLink.disabled = false;
  }

  // -------------------------------------------------------------- reactions

  const emojiNames = [
    t("widget.emoji_thumbs_up"),
    t("widget.emoji_heart"),
    t("widget.emoji_laughing"),
    t("widget.emoji_surprised"),
    t("widget.emoji_sad"),
    t("widget.emoji_thank_you"),
  ];
  const picker = h(
    "div",
    { class: "cd-picker", role: "group", "aria-label": t("widget.reactions") },
    ...EMOJIS.map((e, i) => h("button", { class: "cd-emoji", type: "button", "data-emoji": e, "aria-label": e + " " + emojiNames[i], title: emojiNames[i] }, e))
  );
  picker.addEventListener("click", (e) => {
    const b = e.target.closest(".cd-emoji");
    if (b) react(picker.parentNode, b.getAttribute("data-emoji"));
  });

  function togglePicker(node) {
    if (picker.parentNode === node) return closePicker(true);
    node.append(picker);
    picker.scrollIntoView({ block: "nearest" });
    picker.querySelector(".cd-emoji").focus();
  }

  function closePicker(refocus) {
    const node = picker.parentNode;
    if (!node) return;
    picker.remove();
    const b = node.querySelector(".cd-react");
    if (refocus && b) b.focus();
  }

  async function react(node, emoji) {
    closePicker(true);
    const id = node.getAttribute("data-id");
    const before = reactionsOf(node);
    if (!id || before.includes(emoji)) return;
    setReactions(node, before.concat(emoji));
    try {
      const r = await call("POST", "/reactions", { message_id: id, emoji });
      if (!r.ok) throw new Error("reaction: " + r.status);
      const m = r.data && (r.data.message || r.data);
      if (m && m.id === id) setReactions(node, m.reactions);
    } catch (_) {
      setReactions(node, before);
      notice(t("widget.error"));
    }
  }

  // ----------------------------------------------------------- live updates

  const { connect, disconnect, retryLater } = liveUpdates({
    apiBase,
    state,
    on: { sync: () => sync(), offline: (down) => setOffline(down), caseChanged: (data) => caseChanged(data) },
  });

  /** History, then the event stream; without a token nothing to fetch yet. */
  function start() {
    ensureVisitor()
      .then(() => sync())
      .then(() => connect())
      .catch(() => retryLater());
  }

  // ------------------------------------------------------------------ start

  const mount = () => document.body.append(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  if (!state.user) forgetUsers();
  loadSession();
  // A returning visitor (or an identified user) gets live replies and the
  // unread dot while the panel is still closed.
  if (state.token || state.user) start();
  // Now the page's script may open and close the panel; what it asked for
  // while the modules loaded is done now.
  Object.assign(handle, { open, close, root });
  for (const what of queued) (what === "open" ? open : close)();
}
