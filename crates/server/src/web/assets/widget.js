// casedesk web chat widget: one <script> tag on any site opens a chat with
// the helpdesk behind it (docs/widget.md).
//
// Everything lives in a Shadow DOM root, so the host page's CSS cannot break
// the widget and the widget's CSS cannot leak out. Message text comes from
// visitors and agents and is put into the page with textContent only, never
// as HTML. The server is the origin of this script's own `src`; the visitor
// token it hands out is kept in localStorage, so a reload keeps the chat.
(function () {
  "use strict";
  if (window.casedeskWidget) return; // the snippet pasted twice

  const script = document.currentScript || document.querySelector("script[data-casedesk-channel]");
  const channel = script && script.getAttribute("data-casedesk-channel");
  if (!channel) {
    console.warn("casedesk widget: the script tag needs data-casedesk-channel");
    return;
  }
  const attr = (name) => script.getAttribute("data-casedesk-" + name) || "";
  const base = new URL(script.src, location.href).origin;
  const apiBase = base + "/api/v1/widget/" + encodeURIComponent(channel);
  const PAGE = 500; // the server's page size of `messages?after=`
  const MAX_TEXT = 4000;
  const EMOJIS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
  // The server's default limit (docs/attachments.md): a larger file is
  // refused here, before its bytes travel.
  const MAX_FILE = 10 * 1024 * 1024;
  // What the server accepts (it decides by the bytes; this only guides the
  // file picker).
  const ACCEPT =
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv," +
    ".png,.jpg,.jpeg,.gif,.webp,.pdf,.zip,.docx,.xlsx,.pptx,.odt,.ods,.txt,.csv";

  // ---------------------------------------------------------------- strings

  const STRINGS = {
    en: {
      title: "Chat with us",
      open: "Open chat",
      open_unread: "Open chat (new message)",
      close: "Close chat",
      placeholder: "Write a message…",
      send: "Send",
      empty: "Write to us and we will reply right here.",
      reconnecting: "Reconnecting…",
      too_fast: "You are sending messages a bit too fast. Please wait a moment and send again.",
      too_long: "The message is too long (at most 4000 characters).",
      failed: "Not sent. Retry",
      error: "Something went wrong. Please try again.",
      react: "React to this message",
      reactions: "Reactions",
      messages: "Messages",
      end: "End chat",
      end_confirm: "End this chat?",
      yes: "Yes",
      no: "No",
      ended: "Chat ended. Write to start a new one.",
      my_requests: "My requests",
      new_tab: "Opens your requests in a new tab",
      emoji: ["thumbs up", "heart", "laughing", "surprised", "sad", "thank you"],
      attach: "Attach a file",
      too_big: "The file is too large (at most 10 MB).",
      too_big_here: "The file is too large for this chat.",
      not_accepted: "This kind of file is not accepted. Send an image, a PDF, an office document, a ZIP or a text file.",
      empty_file: "The file is empty.",
      upload_failed: "The file was not sent: no connection. Check it and retry.",
      download: "Download",
      download_failed: "The file could not be opened. Please try again.",
      open_image: "Open the image in a new tab",
      units: ["B", "KB", "MB"],
    },
    ru: {
      title: "Напишите нам",
      open: "Открыть чат",
      open_unread: "Открыть чат (новое сообщение)",
      close: "Закрыть чат",
      placeholder: "Напишите сообщение…",
      send: "Отправить",
      empty: "Напишите нам — мы ответим здесь же.",
      reconnecting: "Переподключение…",
      too_fast: "Вы отправляете сообщения слишком часто. Подождите немного и отправьте ещё раз.",
      too_long: "Сообщение слишком длинное (не больше 4000 символов).",
      failed: "Не отправлено. Повторить",
      error: "Что-то пошло не так. Попробуйте ещё раз.",
      react: "Отреагировать на сообщение",
      reactions: "Реакции",
      messages: "Сообщения",
      end: "Завершить чат",
      end_confirm: "Завершить этот чат?",
      yes: "Да",
      no: "Нет",
      ended: "Чат завершён. Напишите, чтобы начать новый.",
      my_requests: "Мои обращения",
      new_tab: "Откроет ваши обращения в новой вкладке",
      emoji: ["нравится", "сердце", "смешно", "удивление", "грустно", "спасибо"],
      attach: "Прикрепить файл",
      too_big: "Файл слишком большой (не больше 10 МБ).",
      too_big_here: "Файл слишком большой для этого чата.",
      not_accepted: "Такие файлы не принимаются. Отправьте изображение, PDF, офисный документ, ZIP или текстовый файл.",
      empty_file: "Файл пустой.",
      upload_failed: "Файл не отправлен: нет связи. Проверьте подключение и повторите.",
      download: "Скачать",
      download_failed: "Не удалось открыть файл. Попробуйте ещё раз.",
      open_image: "Открыть изображение в новой вкладке",
      units: ["Б", "КБ", "МБ"],
    },
  };
  const langOf = (v) => (/^ru\b/i.test(v || "") ? "ru" : /^en\b/i.test(v || "") ? "en" : "");
  const lang = langOf(attr("lang")) || langOf(document.documentElement.lang) || "en";
  const t = STRINGS[lang];

  // ---------------------------------------------------------------- storage

  // Storage may be missing or throw (private modes, sandboxed frames): the
  // chat then lasts as long as the page.
  const memory = {};
  const store = {
    get(key) {
      try {
        return JSON.parse(localStorage.getItem(key)) || null;
      } catch (_) {
        return memory[key] || null;
      }
    },
    set(key, value) {
      memory[key] = value;
      try {
        if (value === null) localStorage.removeItem(key);
        else localStorage.setItem(key, JSON.stringify(value));
      } catch (_) {
        /* kept in memory */
      }
    },
  };

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

  const storageKey = () => "casedesk:" + channel + (state.user ? ":user:" + state.user.id : "");
  function loadSession() {
    const s = store.get(storageKey()) || {};
    // A user's token is kept with the hash it was issued for: a page with
    // other attributes must convince the server again.
    const valid = typeof s.token === "string" && (!state.user || s.hash === state.user.hash);
    state.token = valid ? s.token : "";
    state.seen = valid && typeof s.seen === "string" ? s.seen : "";
    helpFoot.hidden = !state.token;
  }
  function saveSession() {
    const s = { token: state.token, seen: state.seen, hash: state.user ? state.user.hash : undefined };
    store.set(storageKey(), state.token ? s : null);
    helpFoot.hidden = !state.token;
  }
  /** A page without a user id (say, after logout) forgets the users' chats. */
  function forgetUsers() {
    try {
      const prefix = "casedesk:" + channel + ":user:";
      for (const key of Object.keys(localStorage)) if (key.startsWith(prefix)) localStorage.removeItem(key);
    } catch (_) {
      /* no storage, nothing kept */
    }
  }

  // -------------------------------------------------------------------- DOM

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c != null) el.append(c);
    return el;
  }

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

  const STYLE = `
:host{all:initial}
*{box-sizing:border-box}
[hidden]{display:none!important}
.cd{--cd-accent:#2563eb;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;text-align:left}
button{font:inherit;color:inherit}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:2px solid var(--cd-accent);outline-offset:2px}
#cd-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;padding:0;border:0;border-radius:50%;background:var(--cd-accent);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
#cd-launcher svg,.cd-close svg{width:26px;height:26px;fill:currentColor}
#cd-launcher[aria-expanded=true] svg:first-child,#cd-launcher[aria-expanded=false] svg+svg{display:none}
.cd-dot{position:absolute;top:3px;right:3px;width:14px;height:14px;border-radius:50%;background:#e5484d;border:2px solid #fff}
#cd-panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);height:540px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;overflow:hidden;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25)}
.cd-head{display:flex;align-items:center;gap:8px;padding:10px 8px 10px 16px;background:var(--cd-accent);color:#fff}
.cd-title{flex:1;margin:0;font-size:16px;font-weight:600}
.cd-close{width:36px;height:36px;padding:5px;border:0;border-radius:50%;background:none;color:#fff;cursor:pointer}
.cd-close:hover,.cd-end:hover{background:rgba(255,255,255,.15)}
.cd-head button:focus-visible{outline-color:#fff}
.cd-end{padding:3px 10px;border:1px solid rgba(255,255,255,.6);border-radius:14px;background:none;color:#fff;font-size:12px;cursor:pointer;white-space:nowrap}
.cd-confirm{display:flex;align-items:center;gap:8px;padding:8px 12px;border-bottom:1px solid #e3e5e8;background:#fff;font-size:13px}
.cd-confirm span{flex:1}
.cd-confirm button{padding:3px 12px;border:1px solid #cfd3d8;border-radius:6px;background:#fff;cursor:pointer;font-size:13px}
.cd-confirm button:disabled{opacity:.6;cursor:default}
#cd-end-yes{border-color:#c62828;background:#c62828;color:#fff}
.cd-list{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}
.cd-empty{margin:auto 12px;color:#667085;text-align:center}
.cd-msg{position:relative;max-width:82%;display:flex;flex-direction:column;align-items:flex-start;align-self:flex-start}
.cd-msg[data-author=customer]{align-self:flex-end;align-items:flex-end}
.cd-msg[data-author=system]{align-self:center;align-items:center;max-width:92%}
.cd-bubble{padding:8px 12px;border:1px solid #e3e5e8;border-radius:14px;background:#fff;white-space:pre-wrap;overflow-wrap:anywhere}
[data-author=customer] .cd-bubble{border-color:transparent;background:var(--cd-accent);color:#fff}
[data-author=system] .cd-bubble{padding:0 4px;border:0;background:none;color:#667085;font-size:12px;font-style:italic;text-align:center}
.cd-bubble a{color:inherit;text-decoration:underline}
.cd-sending .cd-bubble{opacity:.65}
.cd-failed .cd-bubble{opacity:.65;border-color:#e5484d}
.cd-meta{display:flex;align-items:center;gap:6px;margin-top:2px;font-size:11px;color:#667085}
.cd-react,.cd-retry{padding:0 3px;border:0;background:none;cursor:pointer;color:#667085;font-size:12px;line-height:1.4}
.cd-react:hover{color:#1f2328}
.cd-retry{color:#c62828;text-decoration:underline}
.cd-reactions{display:flex;gap:3px;margin-top:3px}
.cd-reactions:empty{display:none}
.cd-reactions span{padding:0 6px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;font-size:13px}
.cd-picker{position:absolute;top:100%;left:0;z-index:1;display:flex;gap:2px;margin-top:2px;padding:3px;border:1px solid #e3e5e8;border-radius:20px;background:#fff;box-shadow:0 2px 10px rgba(0,0,0,.15)}
.cd-emoji{width:32px;height:32px;padding:0;border:0;border-radius:50%;background:none;font-size:18px;line-height:1;cursor:pointer}
.cd-emoji:hover,.cd-emoji:focus-visible{background:#eef2ff}
.cd-status{padding:4px 12px;background:#fff8e1;color:#8a5a00;font-size:12px}
.cd-status:empty{display:none}
.cd-form{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e3e5e8;background:#fff}
#cd-input{flex:1;min-height:38px;max-height:120px;padding:8px 10px;resize:none;border:1px solid #cfd3d8;border-radius:8px;background:#fff;color:inherit;font:inherit}
.cd-attach{flex:none;width:38px;height:38px;padding:7px;border:0;border-radius:8px;background:none;color:#667085;cursor:pointer}
.cd-attach:hover{background:#f0f2f5;color:#1f2328}
.cd-attach svg{width:24px;height:24px;fill:currentColor}
.cd-atts{display:flex;flex-direction:column;align-items:inherit;gap:4px;max-width:100%}
.cd-att-open{display:block;line-height:0}
.cd-att-img{display:block;max-width:200px;max-height:200px;min-width:40px;min-height:40px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;object-fit:contain}
.cd-att-file{display:flex;align-items:baseline;gap:8px;max-width:100%;padding:8px 12px;border:1px solid #e3e5e8;border-radius:10px;background:#fff;color:#1f2328;cursor:pointer;text-align:left}
.cd-att-file:hover{border-color:var(--cd-accent)}
.cd-att-file:disabled{opacity:.6;cursor:progress}
.cd-att-name{font-weight:600;overflow-wrap:anywhere}
.cd-att-name::before{content:"↓ ";color:#667085}
.cd-att-size{flex:none;color:#667085;font-size:12px}
#cd-send{height:38px;padding:0 14px;border:0;border-radius:8px;background:var(--cd-accent);color:#fff;font-weight:600;cursor:pointer}
.cd-foot{padding:0 12px 8px;background:#fff;text-align:right}
.cd-help-link{padding:0 2px;border:0;background:none;color:var(--cd-accent);font-size:12px;text-decoration:underline;cursor:pointer}
.cd-help-link:disabled{opacity:.6;cursor:default}
@media (max-width:480px){#cd-panel{right:0;bottom:0;width:100vw;max-width:none;height:100%;max-height:none;border-radius:0}}
@media (prefers-reduced-motion:no-preference){#cd-panel{animation:cd-in .15s ease-out}}
@keyframes cd-in{from{opacity:0;transform:translateY(8px)}}
`;

  const host = document.createElement("casedesk-widget");
  const root = host.attachShadow({ mode: "open" });
  const dot = h("span", { class: "cd-dot", hidden: true });
  const launcher = h(
    "button",
    { id: "cd-launcher", type: "button", "aria-label": t.open, "aria-expanded": "false", "aria-controls": "cd-panel", onclick: () => (state.open ? close() : open()) },
    icon(CHAT_ICON),
    icon(CLOSE_ICON),
    dot
  );
  const title = attr("title") || t.title;
  const empty = h("p", { class: "cd-empty" }, t.empty);
  const list = h("div", { class: "cd-list", role: "log", "aria-live": "polite", "aria-label": t.messages }, empty);
  const status = h("div", { class: "cd-status", role: "status" });
  const input = h("textarea", { id: "cd-input", rows: "1", maxlength: String(MAX_TEXT), placeholder: t.placeholder, "aria-label": t.placeholder });
  // The file input stays hidden: the paperclip opens its picker.
  const fileInput = h("input", { class: "cd-file", type: "file", accept: ACCEPT, hidden: true, onchange: () => chooseFile() });
  const attachButton = h("button", { class: "cd-attach", type: "button", "aria-label": t.attach, title: t.attach, onclick: () => fileInput.click() }, icon(CLIP_ICON));
  const sendButton = h("button", { id: "cd-send", type: "submit", "aria-label": t.send }, t.send);
  const endButton = h("button", { id: "cd-end", class: "cd-end", type: "button", hidden: true, onclick: () => askEnd() }, t.end);
  const endYes = h("button", { id: "cd-end-yes", type: "button", onclick: () => endChat() }, t.yes);
  const endNo = h("button", { id: "cd-end-no", type: "button", onclick: () => cancelEnd(true) }, t.no);
  const confirmRow = h("div", { class: "cd-confirm", role: "group", "aria-label": t.end, hidden: true }, h("span", {}, t.end_confirm), endYes, endNo);
  const form = h("form", { class: "cd-form", onsubmit: (e) => (e.preventDefault(), send()) }, attachButton, fileInput, input, sendButton);
  // The Help Center: once the visitor exists there is something to show.
  const helpLink = h("button", { class: "cd-help-link", type: "button", title: t.new_tab, onclick: () => openHelp() }, t.my_requests);
  const helpFoot = h("div", { class: "cd-foot", hidden: true }, helpLink);
  const panel = h(
    "div",
    { id: "cd-panel", role: "dialog", "aria-label": title, hidden: true },
    h("div", { class: "cd-head" }, h("h2", { class: "cd-title" }, title), endButton, h("button", { class: "cd-close", type: "button", "aria-label": t.close, onclick: () => close() }, icon(CLOSE_ICON))),
    confirmRow,
    list,
    status,
    form,
    helpFoot
  );
  const frame = h("div", { class: "cd" }, launcher, panel);
  const accent = attr("color");
  if (accent && window.CSS && window.CSS.supports("color", accent)) frame.style.setProperty("--cd-accent", accent);
  root.append(h("style", {}, STYLE), frame);

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

  // ---------------------------------------------------------- panel & unread

  function open() {
    if (state.open) return input.focus();
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", t.close);
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
    launcher.setAttribute("aria-label", t.open);
    launcher.focus();
  }

  function setUnread(on) {
    dot.hidden = !on;
    if (!state.open) launcher.setAttribute("aria-label", on ? t.open_unread : t.open);
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
    status.textContent = noticeText || (state.offline ? t.reconnecting : "");
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

  // ---------------------------------------------------------------- the API

  /** A call of the widget API; `body` is JSON, or a file sent as its bytes. */
  async function request(method, path, body) {
    const headers = {};
    const raw = body instanceof Blob;
    if (body !== undefined) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const res = await fetch(apiBase + path, {
      method,
      headers,
      body: body === undefined || raw ? body : JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
    });
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      /* an empty or non-JSON body */
    }
    return { status: res.status, ok: res.ok, data, headers: res.headers };
  }

  let creating = null;
  /** A visitor token: the stored one, else a new visitor (once at a time). */
  function ensureVisitor() {
    if (state.token) return Promise.resolve();
    if (!creating) creating = createVisitor().finally(() => (creating = null));
    return creating;
  }

  async function createVisitor() {
    const body = {};
    if (state.user) {
      body.user_id = state.user.id;
      body.user_hash = state.user.hash;
      if (state.user.name) body.name = state.user.name;
    }
    let r = await request("POST", "/visitors", body);
    if (r.status === 401 && state.user) {
      // A wrong user_hash is the host site's misconfiguration; the visitor
      // still gets a chat, as an anonymous one.
      console.warn("casedesk widget: user_hash was refused, chatting anonymously", r.data);
      state.user = null;
      loadSession();
      if (state.token) return;
      r = await request("POST", "/visitors", {});
    }
    if (!r.ok || !r.data || !r.data.visitor_token) throw new Error("visitor not created: " + r.status);
    state.token = r.data.visitor_token;
    state.seen = "";
    saveSession();
  }

  /** A call with the visitor token; a refused token is replaced once. */
  async function call(method, path, body) {
    await ensureVisitor();
    const sent = state.token;
    let r = await request(method, path, body);
    if (r.status === 401) {
      if (state.token === sent) forgetVisitor();
      await ensureVisitor();
      r = await request(method, path, body);
    }
    return r;
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
    for (const url of thumbs.values()) url.then((u) => URL.revokeObjectURL(u), () => {});
    thumbs.clear();
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
      meta.append(h("button", { class: "cd-react", type: "button", "aria-label": t.react, title: t.react, "aria-haspopup": "true", onclick: () => togglePicker(node) }, "☺"));
      node.append(h("div", { class: "cd-reactions", "aria-label": t.reactions }));
      setReactions(node, m.reactions);
    }
    showAttachments(node, m.attachments);
    return node;
  }

  /** Text with http(s) links as anchors, all of it as text nodes. */
  function linkify(text) {
    const parts = [];
    const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
    let at = 0;
    for (let m; (m = re.exec(text)); ) {
      if (m.index > at) parts.push(text.slice(at, m.index));
      const a = h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer nofollow" });
      a.textContent = m[0];
      parts.push(a);
      at = m.index + m[0].length;
    }
    if (at < text.length) parts.push(text.slice(at));
    return parts;
  }

  function timeLabel(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return "";
    const today = d.toDateString() === new Date().toDateString();
    const opts = today ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    return d.toLocaleString(lang, opts);
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
    if (text.length > MAX_TEXT) return notice(t.too_long);
    input.value = "";
    input.style.height = "";
    post("/messages", { text, client_id: newId() }, pendingNode(text), 0);
  }

  /** The file the visitor picked: checked here, then sent as a message. */
  function chooseFile() {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = ""; // the same file may be picked again
    if (!file) return;
    if (file.size > MAX_FILE) return notice(t.too_big);
    if (!file.size) return notice(t.empty_file);
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
        if (isFile) notice(t.upload_failed);
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
      notice(t.too_fast, Number(r.headers.get("Retry-After")) || 0);
    } else if (isFile && [413, 415, 422].includes(r.status)) {
      // This file will never do: no message, and the visitor is told why.
      dropPending(node);
      // The server's limit may be below the default one checked here.
      notice(r.status === 413 ? t.too_big_here : r.status === 415 ? t.not_accepted : t.empty_file);
    } else {
      failed(path, body, node);
      notice((r.data && r.data.error && r.data.error.message) || t.error);
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
    node.querySelector(".cd-meta").append(h("button", { class: "cd-retry", type: "button", onclick: () => post(path, body, node, 0) }, t.failed));
  }

  // ------------------------------------------------------------ attachments

  const thumbs = new Map(); // attachment id -> Promise of an object URL of the image
  const isImage = (a) => /^image\//.test(a.content_type || "");

  /** A message's files under its bubble; a bubble saying only the file's
   * name (the server's default text) is not shown twice. */
  function showAttachments(node, files) {
    files = Array.isArray(files) ? files.filter((a) => a && typeof a.id === "string") : [];
    if (!files.length || node.querySelector(".cd-atts")) return;
    node.querySelector(".cd-meta").before(h("div", { class: "cd-atts" }, ...files.map((a) => (isImage(a) ? thumbnail(a) : fileChip(a)))));
    const bubble = node.querySelector(".cd-bubble");
    if (files.length === 1 && bubble.textContent === files[0].filename) bubble.hidden = true;
  }

  /** The file's bytes: the download needs the visitor token, so no plain URL. */
  async function fetchFile(id) {
    const res = await fetch(apiBase + "/attachments/" + encodeURIComponent(id), {
      headers: { Authorization: "Bearer " + state.token },
      mode: "cors",
      credentials: "omit",
    });
    if (!res.ok) throw new Error("attachment: " + res.status);
    return res.blob();
  }

  function thumbnail(a) {
    const img = h("img", { class: "cd-att-img", alt: a.filename || "" });
    const link = h("a", { class: "cd-att-open", target: "_blank", rel: "noopener", title: t.open_image }, img);
    if (!thumbs.has(a.id)) {
      const url = fetchFile(a.id).then((blob) => URL.createObjectURL(blob));
      url.catch(() => thumbs.delete(a.id)); // tried again the next time it is drawn
      thumbs.set(a.id, url);
    }
    thumbs.get(a.id).then(
      (url) => {
        img.src = url;
        link.href = url; // full size in a new tab
      },
      () => link.replaceWith(fileChip(a))
    );
    return link;
  }

  function fileChip(a) {
    const chip = h(
      "button",
      { class: "cd-att-file", type: "button", title: t.download, onclick: () => download(a, chip) },
      h("span", { class: "cd-att-name", dir: "auto" }, a.filename || ""),
      h("span", { class: "cd-att-size" }, sizeLabel(a.size_bytes))
    );
    return chip;
  }

  /** Fetches the file and hands it to the browser as a download. */
  async function download(a, chip) {
    chip.disabled = true;
    try {
      const url = URL.createObjectURL(await fetchFile(a.id));
      const link = h("a", { href: url, download: a.filename || "file", hidden: true });
      root.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000); // the download has started by then
    } catch (_) {
      notice(t.download_failed);
    }
    chip.disabled = false;
  }

  function sizeLabel(bytes) {
    const n = Number(bytes) || 0;
    const i = n < 1024 ? 0 : n < 1024 * 1024 ? 1 : 2;
    const v = n / 1024 ** i;
    return v.toLocaleString(lang, { maximumFractionDigits: i && v < 10 ? 1 : 0 }) + " " + t.units[i];
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
      else notice((r.data && r.data.error && r.data.error.message) || t.error);
    } catch (_) {
      notice(t.error);
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
    const line = h("div", { class: "cd-msg cd-ended", "data-author": "system", "data-case": caseId }, h("div", { class: "cd-bubble" }, t.ended));
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
      else notice((r.data && r.data.error && r.data.error.message) || t.error);
    } catch (_) {
      notice(t.error);
    }
    helpLink.disabled = false;
  }

  // -------------------------------------------------------------- reactions

  const picker = h(
    "div",
    { class: "cd-picker", role: "group", "aria-label": t.reactions },
    ...EMOJIS.map((e, i) => h("button", { class: "cd-emoji", type: "button", "data-emoji": e, "aria-label": e + " " + t.emoji[i], title: t.emoji[i] }, e))
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
      notice(t.error);
    }
  }

  // ----------------------------------------------------------- live updates

  /** History, then the event stream; without a token nothing to fetch yet. */
  function start() {
    ensureVisitor()
      .then(() => sync())
      .then(() => connect())
      .catch(() => retryLater());
  }

  function connect() {
    if (state.events || !state.token) return;
    clearTimeout(state.retryTimer);
    const es = new EventSource(apiBase + "/events?token=" + encodeURIComponent(state.token));
    state.events = es;
    // On every (re)connect and every event: catch up from the last id held.
    const catchUp = () => sync().catch(() => {});
    es.addEventListener("open", () => {
      state.backoff = 1000;
      setOffline(false);
      catchUp();
    });
    for (const kind of ["message", "case", "resync"]) es.addEventListener(kind, catchUp);
    es.addEventListener("case", (e) => {
      try {
        caseChanged(JSON.parse(e.data));
      } catch (_) {
        /* not JSON: the catch-up is enough */
      }
    });
    es.addEventListener("error", () => {
      if (state.events !== es) return;
      disconnect();
      retryLater();
    });
  }

  function disconnect() {
    if (state.events) state.events.close();
    state.events = null;
  }

  function retryLater() {
    setOffline(true);
    clearTimeout(state.retryTimer);
    const wait = state.backoff * (0.75 + Math.random() / 2);
    state.backoff = Math.min(state.backoff * 2, 30000);
    // The fetch first: it checks the token (401 makes a new visitor) and
    // tells whether the server is back.
    state.retryTimer = setTimeout(() => {
      sync()
        .then(() => connect())
        .catch(() => retryLater());
    }, wait);
  }

  // A page left for the back/forward cache lets go of its stream: over
  // HTTP/1.1 a browser keeps only six connections to one server, and
  // streams held by cached pages would stall the widget on the next page.
  window.addEventListener("pagehide", () => {
    state.paused = !!state.events;
    disconnect();
  });
  window.addEventListener("pageshow", () => {
    if (!state.paused) return;
    state.paused = false;
    connect(); // its "open" catches up on what came meanwhile
  });

  window.addEventListener("online", () => {
    if (state.token && !state.events) {
      state.backoff = 1000;
      retryLater();
    }
  });

  // ------------------------------------------------------------------ start

  window.casedeskWidget = { open, close, root };
  const mount = () => document.body.append(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  if (!state.user) forgetUsers();
  loadSession();
  // A returning visitor (or an identified user) gets live replies and the
  // unread dot while the panel is still closed.
  if (state.token || state.user) start();
})();
