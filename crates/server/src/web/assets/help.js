// casedesk Help Center: a customer signs in (with a one-time link mailed to
// them, or the chat widget's "My requests" link), sees their own requests
// across channels, reads them and may close them (docs: the Help Center).
//
// Plain JavaScript under a strict CSP: no inline code, no framework. Every
// text from the server (company name, subjects, messages) is put into the
// page with textContent only, never as HTML. The session is an HttpOnly
// cookie; every POST echoes its CSRF token. Navigation lives in the hash:
// `#case=ID` is a request, anything else the list; `#login=TOKEN` is a
// sign-in link, exchanged at once and removed from the address bar.
(function () {
  "use strict";

  const segments = location.pathname.split("/").filter(Boolean);
  const accountId = decodeURIComponent(segments[segments.length - 1] || "");
  const api = "/api/v1/help/" + encodeURIComponent(accountId);
  const LANG_KEY = "casedesk:help:lang";

  // ---------------------------------------------------------------- strings

  const STRINGS = {
    en: {
      help_center: "Help Center",
      loading: "Loading…",
      signin_title: "Sign in to see your requests",
      signin_intro:
        "Enter the email address you wrote to us from. We will send you a link to sign in — no password needed.",
      email_label: "Email address",
      send_link: "Send me a sign-in link",
      sending: "Sending…",
      email_invalid: "Enter an email address like name@example.com.",
      sent_title: "Check your mailbox",
      sent: (email) =>
        "If " + email + " has requests with us, a sign-in link is on its way to it. The link works once, for 15 minutes.",
      sent_hint: "No mail after a few minutes? Check the spam folder, or ask for a new link.",
      another_address: "Use another address",
      bad_link: "This sign-in link is used or expired — ask for a new one.",
      session_over: "Your session has ended. Please sign in again.",
      too_many: (minutes) => "Too many attempts. Please try again in " + minutes + " min.",
      network: "Could not reach the server. Check your connection and try again.",
      error: "Something went wrong. Please try again.",
      signed_in_as: "Signed in as",
      signed_in_chat: "Signed in from the chat",
      sign_out: "Sign out",
      lang_switch: "RU",
      lang_switch_label: "Русский",
      cases_title: "Your requests",
      cases_empty: "You have no requests yet. When you write to us, they will show up here.",
      no_subject: "(no subject)",
      updated: "Updated",
      opened: "Opened",
      closed_at: "Closed",
      status: { open: "Open", pending: "Waiting for your reply", closed: "Closed" },
      active_chat: "Active chat",
      back: "All requests",
      messages: "Messages",
      no_messages: "No messages yet.",
      you: "You",
      support: "Support",
      close_case: "Close this request",
      confirm_title: "Close this request?",
      confirm_text: "Close it if your question is solved. If you write to us again, a new request will be opened.",
      confirm_yes: "Close request",
      confirm_no: "Keep it open",
      closed_hint: "This request is closed. If you write to us again, a new request will be opened.",
      not_found: "We could not find this request. It may belong to another address.",
      kinds: { widget: "Website chat", email: "Email", api: "Messenger" },
      open_image: "Open the image in full size",
      download: "Download",
      units: ["B", "KB", "MB", "GB"],
    },
    ru: {
      help_center: "Центр поддержки",
      loading: "Загрузка…",
      signin_title: "Войдите, чтобы увидеть свои обращения",
      signin_intro:
        "Укажите адрес электронной почты, с которого вы нам писали. Мы пришлём ссылку для входа — пароль не нужен.",
      email_label: "Электронная почта",
      send_link: "Прислать ссылку для входа",
      sending: "Отправляем…",
      email_invalid: "Укажите адрес вида name@example.com.",
      sent_title: "Проверьте почту",
      sent: (email) =>
        "Если у адреса " + email + " есть обращения к нам, на него отправлена ссылка для входа. Ссылка действует один раз, 15 минут.",
      sent_hint: "Письма нет уже несколько минут? Загляните в папку «Спам» или запросите новую ссылку.",
      another_address: "Указать другой адрес",
      bad_link: "Эта ссылка для входа уже использована или устарела — запросите новую.",
      session_over: "Сеанс завершён. Войдите снова.",
      too_many: (minutes) => "Слишком много попыток. Попробуйте ещё раз через " + minutes + " мин.",
      network: "Не удалось связаться с сервером. Проверьте подключение и попробуйте ещё раз.",
      error: "Что-то пошло не так. Попробуйте ещё раз.",
      signed_in_as: "Вы вошли как",
      signed_in_chat: "Вы вошли из чата",
      sign_out: "Выйти",
      lang_switch: "EN",
      lang_switch_label: "English",
      cases_title: "Ваши обращения",
      cases_empty: "У вас пока нет обращений. Когда вы напишете нам, они появятся здесь.",
      no_subject: "(без темы)",
      updated: "Обновлено",
      opened: "Создано",
      closed_at: "Закрыто",
      status: { open: "Открыто", pending: "Ждёт вашего ответа", closed: "Закрыто" },
      active_chat: "Идёт чат",
      back: "Все обращения",
      messages: "Сообщения",
      no_messages: "Сообщений пока нет.",
      you: "Вы",
      support: "Поддержка",
      close_case: "Закрыть обращение",
      confirm_title: "Закрыть это обращение?",
      confirm_text: "Закройте его, если вопрос решён. Если вы напишете нам снова, будет открыто новое обращение.",
      confirm_yes: "Закрыть обращение",
      confirm_no: "Оставить открытым",
      closed_hint: "Обращение закрыто. Если вы напишете нам снова, будет открыто новое обращение.",
      not_found: "Обращение не найдено. Возможно, оно относится к другому адресу.",
      kinds: { widget: "Чат на сайте", email: "Почта", api: "Мессенджер" },
      open_image: "Открыть изображение в полном размере",
      download: "Скачать",
      units: ["Б", "КБ", "МБ", "ГБ"],
    },
  };

  const langOf = (v) => (/^ru\b/i.test(v || "") ? "ru" : /^en\b/i.test(v || "") ? "en" : "");
  function storedLang() {
    try {
      return langOf(localStorage.getItem(LANG_KEY));
    } catch (_) {
      return ""; // no storage: the browser's language each time
    }
  }

  // ------------------------------------------------------------------ state

  const state = {
    lang: storedLang() || langOf(navigator.language) || "en",
    company: "",
    me: null, // the signed-in person, with the CSRF token
    view: "loading", // loading | signin | sent | list | case | notfound
    // The #help-error line and the field's own error: a string the server
    // said, or a function of ours that follows the language.
    error: "",
    fieldError: "",
    email: "", // the sign-in field, kept across re-renders
    sentTo: "",
    sending: false,
    cases: null, // the list, once fetched
    detail: null, // {case, messages} of the open request
    closing: false,
  };
  const t = () => STRINGS[state.lang];
  const say = (v) => (typeof v === "function" ? v() : v || "");
  /** One of our own texts, in the language of the moment. */
  const ours = (key) => () => t()[key];
  let routeSeq = 0; // a newer navigation makes older answers stale

  // -------------------------------------------------------------------- DOM

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c != null && c !== false) el.append(c);
    return el;
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

  function when(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return "";
    // The browser's own variant of the chosen language (en-GB, ru-RU …).
    const locale = langOf(navigator.language) === state.lang ? navigator.language : state.lang;
    try {
      return d.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
    } catch (_) {
      return d.toLocaleString();
    }
  }

  const time = (iso) => h("time", { datetime: iso || false }, when(iso));

  function sizeLabel(bytes) {
    const n = Number(bytes) || 0;
    const i = Math.min(3, Math.max(0, Math.floor(Math.log(n) / Math.log(1024))));
    const v = n / 1024 ** i;
    return v.toLocaleString(state.lang, { maximumFractionDigits: i && v < 10 ? 1 : 0 }) + " " + t().units[i];
  }

  /** A message's files: images inline, the rest as download links. The
   * session cookie is enough, so these are plain same-origin URLs. */
  function attachments(files) {
    const s = t();
    const items = files.map((a) => {
      const url = api + "/attachments/" + encodeURIComponent(a.id);
      if (/^image\//.test(a.content_type || "")) {
        return h(
          "a",
          { class: "help-att-open", href: url, target: "_blank", rel: "noopener", title: s.open_image },
          h("img", { class: "help-att-img", src: url, alt: a.filename || "" })
        );
      }
      return h(
        "a",
        { class: "help-att-file", href: url, download: a.filename || "", title: s.download },
        h("span", { class: "help-att-name", dir: "auto" }, a.filename || ""),
        h("span", { class: "help-att-size" }, sizeLabel(a.size_bytes))
      );
    });
    return items.length ? h("div", { class: "help-atts" }, items) : null;
  }

  const root = document.getElementById("help");
  const dialog = h("dialog", { id: "help-confirm", class: "help-dialog", "aria-labelledby": "help-confirm-title" });
  document.body.append(dialog);

  // ------------------------------------------------------------------ render

  /** Draws the whole page from `state`; `focus` is a selector to focus after. */
  function render(focus) {
    const s = t();
    document.documentElement.lang = state.lang;
    document.title = state.company ? state.company + " — " + s.help_center : s.help_center;
    if (state.view !== "case" && dialog.open) dialog.close();
    const error = h("p", { id: "help-error", class: "help-error", role: "alert", hidden: !say(state.error) }, say(state.error));
    root.replaceChildren(header(), h("main", { class: "help-main" }, error, view()));
    if (focus) {
      const el = root.querySelector(focus);
      if (el) el.focus();
    }
  }

  function header() {
    const s = t();
    const who = state.me && (state.me.name || state.me.email);
    const user = state.me
      ? h(
          "div",
          { class: "help-person" },
          h("span", { class: "help-who", title: who ? s.signed_in_as + " " + who : false }, who || s.signed_in_chat),
          h("button", { id: "help-signout", type: "button", class: "help-quiet", onclick: signOut }, s.sign_out)
        )
      : null;
    const lang = h(
      "button",
      { id: "help-lang", type: "button", class: "help-quiet help-lang", lang: state.lang === "en" ? "ru" : "en", "aria-label": s.lang_switch_label, title: s.lang_switch_label, onclick: switchLang },
      s.lang_switch
    );
    const brand = h(
      "a",
      { class: "help-brand", href: "#" },
      h("span", { class: "help-company" }, state.company || "\u00a0"),
      h("span", { class: "help-product" }, s.help_center)
    );
    return h("header", { class: "help-top" }, h("div", { class: "help-top-in" }, brand, h("div", { class: "help-tools" }, user, lang)));
  }

  function view() {
    switch (state.view) {
      case "signin":
        return signInView();
      case "sent":
        return sentView();
      case "list":
        return listView();
      case "case":
        return caseView();
      case "notfound":
        return h("section", { class: "help-notfound" }, backLink());
      default:
        return h("p", { class: "help-loading", role: "status" }, t().loading);
    }
  }

  function signInView() {
    const s = t();
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
      h("h1", { tabindex: "-1" }, s.signin_title),
      h("p", { class: "help-lead" }, s.signin_intro),
      h(
        "form",
        { id: "help-signin-form", novalidate: true, onsubmit: requestLink },
        h("label", { for: "help-email" }, s.email_label),
        input,
        h("p", { id: "help-email-error", class: "help-field-error", hidden: !state.fieldError }, say(state.fieldError)),
        h("button", { id: "help-signin-submit", type: "submit", class: "help-primary", disabled: state.sending }, state.sending ? s.sending : s.send_link)
      )
    );
  }

  function sentView() {
    const s = t();
    return h(
      "section",
      { class: "help-card help-signin" },
      h("h1", { tabindex: "-1" }, s.sent_title),
      h("p", { id: "help-signin-sent", class: "help-lead", role: "status" }, s.sent(state.sentTo)),
      h("p", { class: "help-muted" }, s.sent_hint),
      h("button", { type: "button", class: "help-textbutton", onclick: () => show("signin", "#help-email") }, s.another_address)
    );
  }

  function badges(c) {
    const s = t();
    const status = ["open", "pending", "closed"].includes(c.status) ? c.status : "open";
    return [
      h("span", { class: "help-badge help-badge-" + status, "data-status": status }, s.status[status]),
      c.chat_state === "active" && c.status !== "closed" ? h("span", { class: "help-badge help-badge-live" }, s.active_chat) : null,
    ];
  }

  const channelOf = (c) => c.channel_name || t().kinds[c.channel_kind] || c.channel_kind || "";
  const subjectOf = (c) => (c.subject && c.subject.trim()) || t().no_subject;

  function listView() {
    const s = t();
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
            h("span", { class: "help-updated" }, s.updated + " ", time(c.last_activity_at))
          )
        )
      )
    );
    return h(
      "section",
      { class: "help-list" },
      h("h1", { tabindex: "-1" }, s.cases_title),
      h("div", { id: "help-cases" }, rows.length ? h("ul", { class: "help-case-list" }, rows) : h("p", { class: "help-empty" }, s.cases_empty))
    );
  }

  function caseView() {
    const s = t();
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
      h("span", {}, s.opened + " ", time(c.created_at)),
      closed && c.closed_at ? h("span", {}, s.closed_at + " ", time(c.closed_at)) : null
    );
    const action = closed
      ? h("p", { class: "help-closed-hint", role: "status", tabindex: "-1" }, s.closed_hint)
      : h("button", { id: "help-close-case", type: "button", class: "help-secondary", disabled: state.closing, onclick: askClose }, s.close_case);
    const messages = state.detail.messages.map((m) => {
      const author = m.author === "customer" || m.author === "agent" ? m.author : "system";
      const files = Array.isArray(m.attachments) ? m.attachments.filter((a) => a && typeof a.id === "string") : [];
      // A file's message says its name unless it has a caption: once is enough.
      const nameOnly = files.length === 1 && (m.text || "") === files[0].filename;
      return h(
        "li",
        { class: "help-message", "data-author": author, "data-id": m.id },
        author === "system" ? null : h("span", { class: "help-author" }, author === "customer" ? s.you : s.support),
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
        ? h("ol", { class: "help-thread", "aria-label": s.messages }, messages)
        : h("p", { class: "help-empty" }, s.no_messages)
    );
  }

  function backLink() {
    return h("a", { class: "help-back", href: "#" }, "← " + t().back);
  }

  function show(view, focus) {
    state.view = view;
    render(focus);
  }

  // ---------------------------------------------------------------- the API

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.me) headers["X-CSRF-Token"] = state.me.csrf_token;
    let res;
    try {
      res = await fetch(api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (_) {
      return { status: 0, ok: false, data: null, headers: new Headers() };
    }
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      /* an empty or non-JSON body */
    }
    return { status: res.status, ok: res.ok, data, headers: res.headers };
  }

  /** What to tell the person about a failed call. The server speaks
   * English: its own words in English, ours (`fallback`) in Russian. */
  function problem(r, fallback) {
    const said = r.data && r.data.error && r.data.error.message;
    const minutes = Math.max(1, Math.ceil((Number(r.headers.get("Retry-After")) || 60) / 60));
    return () => {
      const s = t();
      if (r.status === 0) return s.network;
      if (said && state.lang === "en" && r.status < 500) return said;
      if (r.status === 429) return s.too_many(minutes);
      return (fallback && fallback()) || s.error;
    };
  }

  function setMe(me) {
    state.me = me;
    if (me && me.account_name) state.company = me.account_name;
  }

  /** Back to the sign-in form, with `why` on top. */
  function signedOut(why) {
    state.me = null;
    state.cases = null;
    state.detail = null;
    state.error = why || "";
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    show("signin", "#help-email");
  }

  // ------------------------------------------------------------- navigation

  async function route() {
    const seq = ++routeSeq;
    const stale = () => seq !== routeSeq;
    const hash = location.hash.slice(1);
    state.error = "";
    if (hash.startsWith("login=")) {
      // The token must not stay in the address bar or the history.
      history.replaceState(null, "", location.pathname + location.search);
      let token = hash.slice("login=".length);
      try {
        token = decodeURIComponent(token);
      } catch (_) {
        /* not percent-encoded */
      }
      show("loading");
      const r = await call("POST", "/session", { token });
      if (stale()) return;
      if (r.ok && r.data) {
        setMe(r.data);
        state.cases = null;
        return openList(seq, "h1");
      }
      const error = r.status === 401 || r.status === 400 || r.status === 422 ? ours("bad_link") : problem(r);
      // An old link of someone still signed in: they keep their session.
      if (!state.me && !(await loadMe(seq))) {
        if (stale()) return;
        state.error = error;
        return show("signin", "#help-email");
      }
      if (stale()) return;
      state.error = error;
      return openList(seq);
    }
    if (!state.me) {
      if (!(await loadMe(seq))) {
        if (!stale()) show(state.view === "sent" ? "sent" : "signin", "#help-email");
        return;
      }
      if (stale()) return;
    }
    const m = /^case=(.+)$/.exec(hash);
    if (m) return openCase(m[1], seq);
    return openList(seq, state.view === "loading" ? null : "h1");
  }

  /** The session's person, if signed in; other errors are shown. */
  async function loadMe(seq) {
    const r = await call("GET", "/me");
    if (seq !== routeSeq) return false;
    if (r.ok && r.data) {
      setMe(r.data);
      return true;
    }
    if (r.status !== 401) state.error = problem(r);
    return false;
  }

  async function openList(seq, focus) {
    if (state.cases) show("list");
    else show("loading");
    const r = await call("GET", "/cases");
    if (seq !== routeSeq) return;
    if (r.status === 401) return signedOut(ours("session_over"));
    if (r.ok && r.data && Array.isArray(r.data.items)) state.cases = r.data.items;
    else state.error = problem(r);
    state.cases = state.cases || [];
    show("list", focus);
  }

  async function openCase(raw, seq) {
    let id = raw;
    try {
      id = decodeURIComponent(raw);
    } catch (_) {
      /* as it is */
    }
    if (!(state.detail && state.detail.case.id === id)) {
      state.detail = null;
      show("loading");
    }
    const r = await call("GET", "/cases/" + encodeURIComponent(id));
    if (seq !== routeSeq) return;
    if (r.status === 401) return signedOut(ours("session_over"));
    if (r.ok && r.data && r.data.case && Array.isArray(r.data.messages)) {
      state.detail = r.data;
      return show("case", "h1");
    }
    state.detail = null;
    state.error = r.status === 404 || r.status === 400 || r.status === 422 ? ours("not_found") : problem(r);
    show("notfound");
  }

  // ---------------------------------------------------------------- actions

  async function requestLink(e) {
    e.preventDefault();
    if (state.sending) return;
    const email = state.email.trim();
    state.error = "";
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      state.fieldError = ours("email_invalid");
      return show("signin", "#help-email");
    }
    state.fieldError = "";
    state.sending = true;
    show("signin");
    const r = await call("POST", "/sign-in", { email, lang: state.lang });
    state.sending = false;
    if (r.status === 202 || r.ok) {
      state.sentTo = email;
      return show("sent", "h1");
    }
    if (r.status === 422 || r.status === 400) state.fieldError = problem(r, ours("email_invalid"));
    else state.error = problem(r);
    show("signin", "#help-email");
  }

  async function signOut() {
    const r = await call("POST", "/sign-out");
    if (r.ok || r.status === 401) return signedOut("");
    state.error = problem(r);
    render();
  }

  function switchLang() {
    state.lang = state.lang === "en" ? "ru" : "en";
    try {
      localStorage.setItem(LANG_KEY, state.lang);
    } catch (_) {
      /* this page only */
    }
    render("#help-lang");
  }

  function askClose() {
    const s = t();
    const c = state.detail && state.detail.case;
    if (!c || state.closing) return;
    const no = h("button", { id: "help-confirm-no", type: "button", class: "help-secondary", onclick: () => dialog.close() }, s.confirm_no);
    const yes = h("button", { id: "help-confirm-yes", type: "button", class: "help-danger", onclick: () => closeCase(c.id) }, s.confirm_yes);
    dialog.replaceChildren(
      h("h2", { id: "help-confirm-title" }, s.confirm_title),
      h("p", {}, s.confirm_text),
      h("div", { class: "help-dialog-buttons" }, no, yes)
    );
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    no.focus(); // the harmless choice first
  }

  async function closeCase(id) {
    if (state.closing) return;
    state.closing = true;
    for (const b of dialog.querySelectorAll("button")) b.disabled = true;
    const seq = routeSeq;
    const r = await call("POST", "/cases/" + encodeURIComponent(id) + "/close");
    state.closing = false;
    if (dialog.open) dialog.close();
    if (r.status === 401) return signedOut(ours("session_over"));
    if (seq !== routeSeq) return; // navigated away meanwhile
    if (r.ok && r.data && r.data.id === id) {
      state.detail.case = r.data;
      if (state.cases) state.cases = state.cases.map((c) => (c.id === id ? r.data : c));
      return show("case", ".help-closed-hint");
    }
    if (r.status !== 409) state.error = problem(r);
    // Closed meanwhile (409) or unknown: show what the server has now.
    openCase(encodeURIComponent(id), seq);
  }

  // ------------------------------------------------------------------ start

  dialog.addEventListener("close", () => {
    const b = root.querySelector("#help-close-case");
    if (b) b.focus();
  });
  window.addEventListener("hashchange", () => route());
  render();
  // The company's name is public: the sign-in form shows it too. Set in
  // place, so a person already typing keeps the focus.
  call("GET", "").then((r) => {
    if (!(r.ok && r.data && r.data.name) || state.company) return;
    state.company = r.data.name;
    const el = root.querySelector(".help-company");
    if (el) el.textContent = state.company;
    document.title = state.company + " — " + t().help_center;
  });
  route();
})();
