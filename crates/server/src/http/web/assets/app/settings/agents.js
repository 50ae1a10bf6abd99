// Settings → Agents: the team, adding an agent, and an admin's actions on
// another agent.

import { h, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state } from "../state.js";
import { attempt, openDialog, toast } from "../ui.js";

/** The list of agents and the form to add one. */
export function agentsCard() {
  const agentList = h("ul", { class: "plain", "data-test": "agent-list" });
  const renderAgents = () => {
    clear(agentList);
    for (const a of state.agents) {
      agentList.appendChild(
        h(
          "li",
          { "data-test": "agent-row", "data-agent": a.id },
          h("strong", { dir: "auto" }, a.name),
          " ",
          a.email,
          " · ",
          t("role_" + a.role),
          a.disabled ? h("span", { class: "badge", "data-test": "agent-disabled" }, " · " + t("agent_disabled")) : null,
          a.id === state.me.id ? null : agentActions(a, renderAgents),
        ),
      );
    }
  };
  renderAgents();
  // Another admin may have changed the team since this page loaded.
  api("GET", "/api/v1/agents")
    .then((r) => {
      state.agents = r.items;
      renderAgents();
    })
    .catch((e) => toast(e.message, true));
  const aEmail = h("input", { type: "email", required: true, "data-test": "agent-email" });
  const aName = h("input", { type: "text", maxlength: 200, "data-test": "agent-name" });
  const aRole = h("select", { "data-test": "agent-role" }, h("option", { value: "agent" }, t("role_agent")), h("option", { value: "admin" }, t("role_admin")));
  const aPass = h("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password", "data-test": "agent-password" });
  const agents = h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { email: aEmail.value, role: aRole.value, password: aPass.value };
        if (aName.value.trim()) body.name = aName.value.trim();
        const a = await attempt(() => api("POST", "/api/v1/agents", body));
        if (!a) return;
        state.agents.push(a);
        renderAgents();
        aEmail.value = aName.value = aPass.value = "";
        toast(t("saved"));
      },
    },
    h("h2", {}, t("agents")),
    agentList,
    h("label", {}, t("email"), aEmail),
    h("label", {}, t("name"), aName),
    h("label", {}, t("role"), aRole),
    h("label", {}, t("password"), aPass),
    h("button", { type: "submit", "data-test": "create-agent" }, t("create_agent")),
  );
  return agents;
}

/** An admin's actions on another agent: rename or change their role,
 * disable or enable, end their sessions, forget their failed sign-ins, set
 * their password, delete. */
function agentActions(a, rerender) {
  const path = "/api/v1/agents/" + encodeURIComponent(a.id);
  const replace = (updated) => {
    state.agents = updated ? state.agents.map((x) => (x.id === a.id ? updated : x)) : state.agents.filter((x) => x.id !== a.id);
    rerender();
  };
  const setDisabled = async (disabled) => {
    const updated = await attempt(() => api("PATCH", path, { disabled }));
    if (updated) replace(updated);
  };
  const button = (label, test, onclick, cls) => h("button", { type: "button", class: "link " + (cls || ""), "data-test": test, onclick }, label);
  const name = a.name;
  const edit = () => {
    const nameInput = h("input", { type: "text", maxlength: 200, value: a.name, "data-test": "agent-edit-name", dir: "auto" });
    const roleSelect = h(
      "select",
      { "data-test": "agent-edit-role" },
      ["agent", "admin"].map((r) => h("option", { value: r, selected: a.role === r }, t("role_" + r))),
    );
    openDialog(t("agent_edit"), h("div", { class: "dialog-form" }, h("label", {}, t("name"), nameInput), h("label", {}, t("role"), roleSelect)), [
      {
        label: t("save"),
        test: "agent-edit-save",
        action: async () => {
          const updated = await attempt(() => api("PATCH", path, { name: nameInput.value, role: roleSelect.value }));
          if (updated) {
            replace(updated);
            toast(t("saved"));
          }
        },
      },
    ]);
    nameInput.focus();
  };
  return h(
    "span",
    { class: "row-actions" },
    " ",
    button(t("edit"), "agent-edit", edit),
    " ",
    a.disabled
      ? button(t("agent_enable"), "agent-enable", () => setDisabled(false))
      : button(t("agent_disable"), "agent-disable", () =>
          openDialog(t("agent_disable"), h("p", { dir: "auto" }, t("agent_disable_confirm", { name })), [
            { label: t("agent_disable"), class: "danger", test: "agent-disable-confirm", action: () => setDisabled(true) },
          ]),
        ),
    " ",
    button(t("agent_end_sessions"), "agent-end-sessions", async () => {
      const r = await attempt(() => api("DELETE", path + "/sessions"));
      if (r) toast(t("agent_sessions_ended", { n: r.ended_sessions }));
    }),
    " ",
    button(t("agent_unlock"), "agent-unlock", async () => {
      const r = await attempt(() => api("DELETE", path + "/login-throttle"));
      if (r !== undefined) toast(t("agent_unlocked", { name }));
    }),
    " ",
    button(t("agent_set_password"), "agent-set-password", () => {
      const input = h("input", { type: "password", minlength: 8, autocomplete: "new-password", "data-test": "agent-new-password" });
      openDialog(t("agent_set_password"), h("div", {}, h("p", { dir: "auto" }, t("agent_password_hint", { name })), h("label", {}, t("new_password"), input)), [
        {
          label: t("save"),
          test: "agent-password-save",
          action: async () => {
            const r = await attempt(() => api("PUT", path + "/password", { password: input.value }));
            if (r) toast(t("agent_sessions_ended", { n: r.ended_sessions }));
          },
        },
      ]);
    }),
    " ",
    button(
      t("agent_delete"),
      "agent-delete",
      () =>
        openDialog(t("agent_delete"), h("p", { dir: "auto" }, t("agent_delete_confirm", { name })), [
          {
            label: t("agent_delete"),
            class: "danger",
            test: "agent-delete-confirm",
            action: async () => {
              const done = await attempt(() => api("DELETE", path));
              if (done !== undefined) replace(null);
            },
          },
        ]),
      "danger",
    ),
  );
}
