// The customer's e-mail on a case page (it signs them in to the Help
// Center), editable in place.

import { h, append, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state, customer } from "../state.js";

/** The customer's e-mail, which signs them in to the Help Center, with an
 * inline editor: "Add e-mail", or "E-mail: x@y Edit"; saving an empty box
 * removes the address. The element outlives re-renders of the page around
 * it (`show(customerId)` on each), so a live update does not throw away
 * what the agent is typing. The server checks the address and keeps it in
 * lower case; its message is shown as it is. */
export function customerEmailControl() {
  const box = h("span", { class: "customer-email", title: t("customer_email_title") });
  let customerId = null;
  let email = null;
  let editing = false;

  const view = () => {
    editing = false;
    const edit = h(
      "button",
      { type: "button", class: "link", id: "customer-email-edit", onclick: startEdit },
      email ? t("edit") : t("customer_email_add"),
    );
    clear(box);
    if (email) append(box, t("customer_email"), ": ", h("span", { id: "customer-email", dir: "auto" }, email), " ");
    box.appendChild(edit);
  };

  function startEdit() {
    editing = true;
    const id = customerId;
    const input = h("input", {
      type: "text",
      inputmode: "email",
      autocomplete: "off",
      spellcheck: "false",
      maxlength: 254,
      id: "customer-email-input",
      value: email || "",
      placeholder: t("customer_email_placeholder"),
      "aria-label": t("customer_email"),
    });
    const error = h("span", { id: "customer-email-error", class: "error", role: "alert", hidden: true });
    const saveButton = h("button", { type: "button", id: "customer-email-save" }, t("save"));
    const save = async () => {
      if (saveButton.disabled) return;
      saveButton.disabled = true;
      try {
        const c = await api("PATCH", "/api/v1/customers/" + encodeURIComponent(id), { email: input.value.trim() || null });
        state.customers.set(id, Promise.resolve(c));
        if (customerId !== id) return;
        email = c.email;
        view();
      } catch (e) {
        if (customerId !== id) return;
        error.textContent = e.message;
        error.hidden = false;
        saveButton.disabled = false;
        input.focus();
      }
    };
    saveButton.addEventListener("click", save);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") save();
      if (e.key === "Escape") view();
    });
    clear(box).appendChild(
      h(
        "span",
        { class: "customer-email-edit" },
        input,
        saveButton,
        h("button", { type: "button", class: "secondary", id: "customer-email-cancel", onclick: view }, t("cancel")),
        error,
      ),
    );
    input.focus();
  }

  return {
    el: box,
    /** Shows the e-mail of this customer, read afresh when the customer
     * changes (another agent may have set it since it was cached). */
    show(id) {
      if (id === customerId) return;
      customerId = id;
      email = null;
      clear(box);
      state.customers.delete(id);
      customer(id).then((c) => {
        if (customerId !== id || editing || !c) return;
        email = c.email || null;
        view();
      });
    },
  };
}
