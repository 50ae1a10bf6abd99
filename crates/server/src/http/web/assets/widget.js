// casedesk web chat widget: the one <script> tag sites embed
// (docs/widget.md). It stays a classic script: a module has no
// document.currentScript, and this tag's attributes (the channel, the
// language, an identified user) and its `src` (the server) are what the
// widget needs. It loads the widget's modules from that server (they are
// served with CORS headers, see docs/frontend.md) and hands them the tag.
(function () {
  "use strict";
  if (window.casedeskWidget) return; // the snippet pasted twice

  const script = document.currentScript || document.querySelector("script[data-casedesk-channel]");
  if (!script || !script.getAttribute("data-casedesk-channel")) {
    console.warn("casedesk widget: the script tag needs data-casedesk-channel");
    return;
  }
  // The page's own script may call open() or close() before the modules
  // are here: the calls are kept and done once the widget runs.
  const queued = [];
  const handle = { root: null, open: () => queued.push("open"), close: () => queued.push("close") };
  window.casedeskWidget = handle;
  import(new URL("/assets/widget/main.js", script.src).href)
    .then((widget) => widget.boot(script, handle, queued))
    .catch((e) => console.error("casedesk widget: could not start", e));
})();
