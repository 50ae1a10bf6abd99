// Who the visitor is to casedesk: the visitor token (kept in
// localStorage, so a reload keeps the chat; per user for identified users)
// and the calls of the widget API made with it.

import { request as http } from "../shared.js";

/** The visitor of `channel`, sharing `state` (token, seen, user) with the
 * widget; `on.token(has)` follows whether there is a token, `on.refused()`
 * is told when the server no longer knows it. */
export function visitor({ channel, apiBase, state, on }) {
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

  const storageKey = () => "casedesk:" + channel + (state.user ? ":user:" + state.user.id : "");
  function loadSession() {
    const s = store.get(storageKey()) || {};
    // A user's token is kept with the hash it was issued for: a page with
    // other attributes must convince the server again.
    const valid = typeof s.token === "string" && (!state.user || s.hash === state.user.hash);
    state.token = valid ? s.token : "";
    state.seen = valid && typeof s.seen === "string" ? s.seen : "";
    on.token(!!state.token);
  }
  function saveSession() {
    const s = { token: state.token, seen: state.seen, hash: state.user ? state.user.hash : undefined };
    store.set(storageKey(), state.token ? s : null);
    on.token(!!state.token);
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

  // ---------------------------------------------------------------- the API

  /** A call of the widget API; `body` is JSON, or a file sent as its bytes. */
  function request(method, path, body) {
    const headers = {};
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return http(apiBase + path, { method, headers, body, mode: "cors", credentials: "omit" });
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
      if (state.token === sent) on.refused();
      await ensureVisitor();
      r = await request(method, path, body);
    }
    return r;
  }


  return { loadSession, saveSession, forgetUsers, request, ensureVisitor, call };
}
