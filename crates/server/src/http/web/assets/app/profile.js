// The agent's own page (`#/profile`): who they are, their password, log
// out.

import { h, append, t } from "../shared.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { attempt, toast } from "./ui.js";
import { logout, signedOut } from "./shell.js";

export function profilePage(main) {
  const me = state.me;
  append(
    main,
    h("h1", {}, t("profile_title")),
    h(
      "dl",
      { class: "facts card", "data-test": "profile" },
      h("dt", {}, t("name")),
      h("dd", { dir: "auto" }, me.name),
      h("dt", {}, t("email")),
      h("dd", {}, me.email),
      h("dt", {}, t("role")),
      h("dd", {}, t("role_" + me.role)),
    ),
    h("p", { class: "hint" }, t("shortcuts")),
    passwordForm(me),
    h("button", { type: "button", "data-test": "logout-profile", onclick: logout }, t("logout")),
  );
}

/** Changing one's own password ends every session, this one too. */
function passwordForm(me) {
  const current = h("input", { type: "password", required: true, autocomplete: "current-password", "data-test": "own-current-password" });
  const input = h("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password", "data-test": "own-new-password" });
  return h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { password: input.value, current_password: current.value };
        const r = await attempt(() => api("PUT", "/api/v1/agents/" + encodeURIComponent(me.id) + "/password", body));
        if (!r) return;
        toast(t("password_changed"));
        signedOut();
      },
    },
    h("h2", {}, t("change_password")),
    h("label", {}, t("current_password"), current),
    h("label", {}, t("new_password"), input),
    h("button", { type: "submit", "data-test": "own-password-save" }, t("save")),
  );
}
