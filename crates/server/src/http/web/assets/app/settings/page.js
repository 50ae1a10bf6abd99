// Settings (`#/settings`, admins): the auto-finish timers, and the cards
// of agents, channels, the Help Center and labels.

import { h, append, t } from "../../shared.js";
import { api } from "../api.js";
import { state } from "../state.js";
import { attempt, copyText, toast } from "../ui.js";
import { agentsCard } from "./agents.js";
import { channelsCard } from "./channels.js";
import { labelsCard } from "./labels.js";

export function settingsPage(main) {
  if (state.me.role !== "admin") {
    main.appendChild(h("p", {}, t("admins_only")));
    return null;
  }
  const after = h("input", { type: "number", min: 1, required: true, "data-test": "after-seconds" });
  const warn = h("input", { type: "number", min: 1, required: true, "data-test": "warning-seconds" });
  const assign = h("input", { type: "checkbox", "data-test": "assign-on-reply" });
  const timersError = h("p", { class: "form-error", role: "alert", "data-test": "timers-error", hidden: true });
  const timers = h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        // A warning as long as the inactivity period would mark every
        // chat as ending from its first message.
        if (Number(warn.value) >= Number(after.value)) {
          timersError.textContent = t("warning_too_long");
          timersError.hidden = false;
          warn.focus();
          return;
        }
        timersError.hidden = true;
        const s = await attempt(() =>
          api("PATCH", "/api/v1/settings", {
            chat_auto_finish_after_seconds: Number(after.value),
            chat_auto_finish_warning_seconds: Number(warn.value),
            assign_on_reply: assign.checked,
          }),
        );
        if (s) toast(t("saved"));
      },
    },
    h("h2", {}, t("settings_timers")),
    h("label", {}, t("after_seconds"), after),
    h("label", {}, t("warning_seconds"), warn),
    timersError,
    h("label", { class: "check" }, assign, " ", t("assign_on_reply")),
    h("p", { class: "hint" }, t("assign_on_reply_hint")),
    h("button", { type: "submit", "data-test": "save-timers" }, t("save")),
  );
  api("GET", "/api/v1/settings")
    .then((s) => {
      after.value = s.chat_auto_finish_after_seconds;
      warn.value = s.chat_auto_finish_warning_seconds;
      assign.checked = s.assign_on_reply;
    })
    .catch((e) => toast(e.message, true));

  const channels = channelsCard();
  const agents = agentsCard();
  append(main, h("h1", {}, t("nav_settings")), h("div", { class: "cards" }, timers, agents, channels, helpCenterCard(), labelsCard()));
  return null;
}

/** Settings → Help Center: the address to give customers, where they sign
 * in with their e-mail (set on the case page) and see their requests. */
function helpCenterCard() {
  const url = location.origin + "/help/" + encodeURIComponent(state.me.account_id);
  const code = h("code", { id: "help-center-url", "data-test": "help-center-url" }, url);
  return h(
    "section",
    { class: "card help-center-card" },
    h("h2", {}, t("help_center")),
    h("p", { class: "hint" }, t("help_center_hint")),
    h(
      "div",
      { class: "snippet-box" },
      h("a", { href: url, target: "_blank", rel: "noopener" }, code),
      h("button", { type: "button", class: "secondary", id: "help-center-copy", onclick: () => copyText(code) }, t("copy")),
    ),
  );
}
