// A customer's page (`#/customer/<id>`): who they are and all their chats
// in order, the chain at a glance.

import { h, append, clear, t } from "../shared.js";
import { api } from "./api.js";
import { channelName } from "./state.js";
import { attempt, badge, fmtTime, statusLabel, stateLabel } from "./ui.js";

export function customerPage(main, customerId) {
  let disposed = false;
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
    clear(box);
    append(
      box,
      h("h1", { dir: "auto", "data-test": "customer-name" }, c.name || c.external_id),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("external_id")),
        h("dd", { dir: "auto" }, c.external_id),
        h("dt", {}, t("channel")),
        h("dd", {}, channelName(c.channel_id)),
        h("dt", {}, t("created")),
        h("dd", {}, fmtTime(c.created_at)),
        c.language ? h("dt", {}, t("customer_language")) : null,
        c.language ? h("dd", { "data-test": "customer-language" }, c.language) : null,
      ),
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
