// A customer's page (`#/customer/<id>`): who they are, the profiles of
// other channels linked with them, and all their chats in order, the
// chain at a glance. The linked profiles' control is the case page's too.

import { h, append, clear, t } from "../shared.js";
import { api } from "./api.js";
import { state, channelName, customer } from "./state.js";
import { attempt, badge, customerName, fmtTime, statusLabel, stateLabel } from "./ui.js";

export function customerPage(main, customerId) {
  let disposed = false;
  const linked = linkedProfilesControl();
  const box = h("div", { class: "customer-page" }, h("p", {}, t("loading")));
  main.appendChild(box);
  const load = async () => {
    const c = await attempt(() => api("GET", "/api/v1/customers/" + encodeURIComponent(customerId)));
    if (!c || disposed) {
      if (!c && !disposed) clear(box).appendChild(h("p", {}, t("not_found")));
      return;
    }
    const cases = [];
    let cursor = null;
    do {
      const p = new URLSearchParams({ customer_id: customerId, sort: "created_at", order: "asc", limit: "200" });
      if (cursor) p.set("cursor", cursor);
      const page = await attempt(() => api("GET", "/api/v1/cases?" + p.toString()));
      if (!page) return;
      cases.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && cases.length < 2000);
    if (disposed) return;
    state.customers.set(c.id, Promise.resolve(c));
    linked.set(c);
    clear(box);
    append(
      box,
      h("h1", { dir: "auto", "data-test": "customer-name" }, customerName(c)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("profile_id")),
        h("dd", {}, h("code", { "data-test": "customer-id" }, c.id)),
        h("dt", {}, t("external_id")),
        h("dd", { dir: "auto" }, c.external_id),
        c.page ? [h("dt", {}, t("visitor_last_page")), h("dd", { dir: "auto", "data-test": "customer-page" }, c.page)] : null,
        h("dt", {}, t("channel")),
        h("dd", {}, channelName(c.channel_id)),
        h("dt", {}, t("created")),
        h("dd", {}, fmtTime(c.created_at)),
        c.language ? h("dt", {}, t("customer_language")) : null,
        c.language ? h("dd", { "data-test": "customer-language" }, c.language) : null,
      ),
      h("h2", {}, t("linked_profiles")),
      linked.el,
      h("h2", {}, t("customer_chats")),
      h(
        "ol",
        { class: "chain-list", "data-test": "customer-chats" },
        cases.map((k) =>
          h(
            "li",
            { "data-case-id": k.id, class: k.id === c.latest_case_id ? "latest" : "" },
            h("a", { href: "#/case/" + encodeURIComponent(k.id) }, "#" + k.number),
            " ",
            h("span", { dir: "auto", class: "subject" }, k.subject),
            " ",
            badge("status", k.status, statusLabel(k.status)),
            " ",
            badge("state", k.chat_state, stateLabel(k.chat_state)),
            " ",
            h("span", { class: "muted" }, fmtTime(k.created_at)),
          ),
        ),
      ),
      h("a", { href: "#/cases?customer_id=" + encodeURIComponent(customerId) }, t("all_cases_of_customer")),
    );
  };
  load();
  let timer = null;
  return {
    onNotice() {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}

/** The profiles of other channels linked with a customer as one person,
 * each a link to its cases (and to its latest chat), with "Unlink this
 * profile" and a small form that links another profile by its id (its
 * page's address will do). The element outlives re-renders of the page
 * around it, so a live update does not throw away what the agent typed:
 * `show(id)` reads the customer (the case page), `set(customer)` takes one
 * just read (the customer page). The API's refusals show by the form, or
 * as the toast. */
export function linkedProfilesControl() {
  const list = h("span", { class: "linked-list" });
  const form = linkForm();
  const box = h("div", { class: "linked-profiles", "data-test": "linked-profiles" }, list, form.el);
  let current = null;

  function set(c) {
    if (!current || current.id !== c.id) form.close();
    current = c;
    draw(c);
    // A channel added since sign-in is not in the app's list yet.
    const known = (p) => state.channels.some((ch) => ch.id === p.channel_id);
    if (!(c.linked || []).every(known)) {
      api("GET", "/api/v1/channels")
        .then((r) => {
          state.channels = r.items;
          if (current === c) draw(c);
        })
        .catch(() => {});
    }
  }

  function draw(c) {
    const profiles = c.linked || [];
    clear(list);
    if (profiles.length) {
      append(
        list,
        h("span", { class: "muted" }, t("linked_profiles"), ": "),
        h(
          "ul",
          { "data-test": "linked-list" },
          profiles.map((p) =>
            h(
              "li",
              { "data-test": "linked-profile", "data-customer-id": p.id },
              h("a", { href: "#/cases?customer_id=" + encodeURIComponent(p.id), dir: "auto", "data-test": "linked-profile-cases" }, customerName(p)),
              " ",
              h("span", { class: "muted", "data-test": "linked-profile-channel" }, channelName(p.channel_id)),
              p.latest_case_id
                ? [" ", h("a", { href: "#/case/" + encodeURIComponent(p.latest_case_id), class: "muted", "data-test": "linked-profile-latest" }, t("linked_latest_chat"))]
                : null,
            ),
          ),
        ),
      );
    }
    if (c.person_id) {
      list.appendChild(h("button", { type: "button", class: "link danger", "data-test": "unlink-profile", onclick: unlink }, t("unlink_profile")));
    }
  }

  async function unlink(e) {
    const c = current;
    e.currentTarget.disabled = true;
    const done = await attempt(async () => {
      await api("DELETE", "/api/v1/customers/" + encodeURIComponent(c.id) + "/links");
      return true;
    });
    if (current !== c) return;
    if (!done) {
      draw(c);
      return;
    }
    forget(c);
    const fresh = await customer(c.id);
    if (fresh && current === c) set(fresh);
  }

  /** The profiles whose cached copies the change made stale. */
  function forget(c) {
    state.customers.delete(c.id);
    for (const p of c.linked || []) state.customers.delete(p.id);
  }

  function linkForm() {
    const input = h("input", {
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: t("link_profile_placeholder"),
      "aria-label": t("link_profile_placeholder"),
      "data-test": "link-profile-input",
    });
    const error = h("span", { class: "error", role: "alert", "data-test": "link-profile-error", hidden: true });
    const save = h("button", { type: "button", "data-test": "link-profile-save" }, t("link_profile_save"));
    const fields = h(
      "span",
      { class: "link-profile-form", hidden: true },
      input,
      save,
      h("button", { type: "button", class: "secondary", onclick: () => close() }, t("cancel")),
      error,
    );
    const open = h(
      "button",
      {
        type: "button",
        class: "link",
        "data-test": "link-profile",
        onclick: () => {
          fields.hidden = false;
          open.hidden = true;
          input.focus();
        },
      },
      t("link_profile"),
    );
    function close() {
      input.value = "";
      error.hidden = true;
      save.disabled = false;
      fields.hidden = true;
      open.hidden = false;
    }
    async function submit() {
      const c = current;
      const other = profileIdIn(input.value);
      if (!c || !other || save.disabled) return;
      save.disabled = true;
      try {
        const updated = await api("POST", "/api/v1/customers/" + encodeURIComponent(c.id) + "/links", { customer_id: other });
        forget(c);
        forget(updated);
        state.customers.delete(other);
        state.customers.set(updated.id, Promise.resolve(updated));
        if (current !== c) return;
        close();
        set(updated);
      } catch (e) {
        if (current !== c) return;
        error.textContent = e.message;
        error.hidden = false;
        save.disabled = false;
        input.focus();
      }
    }
    save.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") submit();
      if (e.key === "Escape") close();
    });
    return { el: h("span", { class: "link-profile" }, open, fields), close };
  }

  return {
    el: box,
    set,
    /** Shows customer `id`'s links, read once per id shown. */
    show(id) {
      if (current && current.id === id) return;
      current = { id };
      clear(list);
      form.close();
      customer(id).then((c) => {
        if (c && current && current.id === id && !current.channel_id) set(c);
      });
    },
  };
}

/** The profile id in what the agent pasted: the id itself, or the address
 * of the profile's page or case list. */
function profileIdIn(text) {
  const s = text.trim();
  const m = s.match(/#\/customer\/([^/?#\s]+)/) || s.match(/[?&]customer_id=([^&#\s]+)/);
  if (!m) return s;
  try {
    return decodeURIComponent(m[1]);
  } catch (_) {
    return m[1]; // not an escape after all: the server answers 404
  }
}
