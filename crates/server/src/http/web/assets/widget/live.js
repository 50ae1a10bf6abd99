// The visitor's event stream (`/events`): every event and every
// (re)connect catches up with `messages?after=`; a dropped stream is
// retried with backoff, and a page in the back/forward cache lets it go.

/** The stream of `state.token`. `on.sync()` fetches what is new,
 * `on.offline(down)` shows the connection state, `on.caseChanged(data)`
 * gets a case's new status. */
export function liveUpdates({ apiBase, state, on }) {
  function connect() {
    if (state.events || !state.token) return;
    clearTimeout(state.retryTimer);
    const es = new EventSource(apiBase + "/events?token=" + encodeURIComponent(state.token));
    state.events = es;
    // On every (re)connect and every event: catch up from the last id held.
    const catchUp = () => on.sync().catch(() => {});
    es.addEventListener("open", () => {
      state.backoff = 1000;
      on.offline(false);
      catchUp();
    });
    for (const kind of ["message", "case", "resync"]) es.addEventListener(kind, catchUp);
    es.addEventListener("case", (e) => {
      try {
        on.caseChanged(JSON.parse(e.data));
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
    on.offline(true);
    clearTimeout(state.retryTimer);
    const wait = state.backoff * (0.75 + Math.random() / 2);
    state.backoff = Math.min(state.backoff * 2, 30000);
    // The fetch first: it checks the token (401 makes a new visitor) and
    // tells whether the server is back.
    state.retryTimer = setTimeout(() => {
      on.sync()
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

  return { connect, disconnect, retryLater };
}
