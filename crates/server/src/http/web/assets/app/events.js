// Server-sent events (`GET /api/v1/events`): each notice reloads the active
// chats and tells the page on screen; the "live" mark shows the stream.

import { t } from "../shared.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { reloadActiveSoon } from "./active.js";
import { notifyOf } from "./notify.js";

export function setLive(on) {
  state.live = on;
  const el = document.querySelector("#live");
  if (el) {
    el.textContent = on ? t("live") : t("offline");
    el.className = on ? "live on" : "live";
  }
}

export function connectEvents() {
  if (state.events) state.events.close();
  // A new stream carries on after the last event the old one had (the
  // browser does this itself, with Last-Event-ID, when it reconnects).
  const after = state.lastEventId ? "?last_event_id=" + encodeURIComponent(state.lastEventId) : "";
  const es = new EventSource("/api/v1/events" + after);
  state.events = es;
  let wasOpen = false;
  es.addEventListener("open", () => {
    setLive(true);
    // Anything may have changed while disconnected.
    if (wasOpen) resync();
    wasOpen = true;
  });
  es.addEventListener("error", () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) {
      // The server refused the stream (e.g. logged out elsewhere).
      setTimeout(async () => {
        try {
          await api("GET", "/api/v1/me");
          if (state.me) connectEvents();
        } catch (_) {
          /* shown by api() */
        }
      }, 3000);
    }
  });
  for (const kind of ["case.created", "case.updated", "message.created", "message.updated", "case.auto_finish_warning"]) {
    es.addEventListener(kind, (ev) => {
      if (ev.lastEventId) state.lastEventId = ev.lastEventId;
      let notice;
      try {
        notice = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      reloadActiveSoon();
      notifyOf(notice);
      if (state.page && state.page.onNotice) state.page.onNotice(notice);
    });
  }
  es.addEventListener("resync", (ev) => {
    if (ev.lastEventId) state.lastEventId = ev.lastEventId;
    resync();
  });
}

export function disconnectEvents() {
  if (state.events) {
    state.events.close();
    state.events = null;
  }
}

function resync() {
  reloadActiveSoon();
  if (state.page && state.page.onNotice) state.page.onNotice({ type: "resync" });
}
