// casedesk agent UI: a small single-page app over the v1 JSON API, as ES
// modules with no build step (docs/frontend.md). This entry loads the
// strings, signs in or shows the login, and routes the hash to the pages.
//
// Every piece of data is put into the page with textContent (through `h`),
// never as HTML: messages, subjects and names come from customers and are
// hostile by default. Live updates come from server-sent events.

import { lang, useLang } from "./shared.js";
import { api } from "./app/api.js";
import { state } from "./app/state.js";
import { attempt } from "./app/ui.js";
import { tickActive } from "./app/active.js";
import { route, setPages } from "./app/router.js";
import { installKeys } from "./app/keys.js";
import { initialLang, showLogin, start } from "./app/shell.js";
import { casesPage } from "./app/cases.js";
import { casePage } from "./app/case/page.js";
import { customerPage } from "./app/customer.js";
import { reportsPage } from "./app/reports/page.js";
import { templatesPage } from "./app/templates.js";
import { rulesPage } from "./app/rules/page.js";
import { settingsPage } from "./app/settings/page.js";
import { profilePage } from "./app/profile.js";

setPages({
  cases: (main, params) => casesPage(main, params),
  case: (main, _, parts) => casePage(main, parts[1]),
  customer: (main, _, parts) => customerPage(main, parts[1]),
  reports: (main, params) => reportsPage(main, params),
  templates: (main) => templatesPage(main),
  rules: (main) => rulesPage(main),
  settings: (main) => settingsPage(main),
  profile: (main) => profilePage(main),
});

async function boot() {
  await useLang(initialLang());
  document.documentElement.lang = lang();
  try {
    state.me = await api("GET", "/api/v1/me");
  } catch (_) {
    state.me = null;
  }
  if (!state.me) {
    showLogin();
    return;
  }
  if (location.pathname !== "/") {
    location.replace("/" + (location.hash || "#/active"));
    return;
  }
  await attempt(start);
}

window.addEventListener("hashchange", () => route());
installKeys();
setInterval(() => {
  tickActive();
  if (state.page && state.page.tick) state.page.tick();
}, 1000);
boot();
