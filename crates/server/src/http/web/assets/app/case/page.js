// A chat or case (`#/case/<id>`): the page's state and its live reloads.
// The parts it draws are in header.js, chain.js, thread.js and
// composer.js; each reads the case from the `page` object they share.

import { h, append, clear, lang, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelName, customer } from "../state.js";
import { attempt, fmtCountdown, openDialog, statusLabel, toast } from "../ui.js";
import { loadLabels } from "../labels.js";
import { inWarning, reloadActiveSoon } from "../active.js";
import { templatePicker } from "../templates.js";
import { renderHeader } from "./header.js";
import { renderBanners, renderChain, renderPrevious } from "./chain.js";
import { messageItem } from "./thread.js";
import { composer } from "./composer.js";
import { customerEmailControl } from "./customer-email.js";
import { linkedProfilesControl } from "../customer.js";

export function casePage(main, caseId) {
  const page = {
    caseId,
    kase: null,
    messages: [],
    previous: null, // { case, messages } while shown
    showPrevious: false,
    editingSubject: false,
    disposed: false,
    load,
    render,
  };
  let reloadTimer = null;
  let lastRendered = "";

  const header = h("div", { class: "case-header" });
  const customerEmail = customerEmailControl();
  const linkedProfiles = linkedProfilesControl();
  const banners = h("div", { class: "banners" });
  const prevBox = h("div", { class: "previous-chat", "data-test": "previous-chat" });
  const chainTop = h("div", { class: "chain chain-top" });
  const thread = h("ol", { class: "thread", "data-test": "thread" });
  const chainBottom = h("div", { class: "chain chain-bottom" });
  const compose = composer(page, { openTemplates, openFinish });
  const { warning, endLink } = compose;
  append(main, h("div", { class: "case-page" }, header, banners, chainTop, prevBox, thread, chainBottom, compose.el));
  main.appendChild(h("p", { class: "loading" }, t("loading")));

  const keydown = (e) => {
    if (e.altKey && e.shiftKey && (e.key === "E" || e.key === "e" || e.code === "KeyE")) {
      e.preventDefault();
      if (page.kase && page.kase.chat_state === "active") openFinish();
    }
  };
  document.addEventListener("keydown", keydown);

  function openFinish() {
    if (!page.kase || page.kase.chat_state !== "active" || document.querySelector("dialog[open]")) return;
    const finish = (status) => async () => {
      const done = await attempt(() =>
        api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/finish", { status }),
      );
      if (done) {
        page.kase = done;
        render();
        reloadActiveSoon();
      }
    };
    openDialog(t("end_chat_title", { n: page.kase.number }), h("p", {}, t("end_chat_hint")), [
      { label: statusLabel("open"), test: "finish-open", action: finish("open") },
      { label: statusLabel("pending"), test: "finish-pending", action: finish("pending") },
      { label: statusLabel("closed"), test: "finish-closed", action: finish("closed") },
    ]);
  }

  // The label picker offers the catalogue as it is now, not as at sign-in.
  const labelsFresh = loadLabels();

  async function load() {
    try {
      const [c] = await Promise.all([api("GET", "/api/v1/cases/" + encodeURIComponent(page.caseId)), labelsFresh]);
      if (page.disposed) return;
      if (c.merged_into_id) {
        // R9: a merged chat redirects to the chat it went into.
        toast(t("merged_into"));
        location.replace("#/case/" + encodeURIComponent(c.merged_into_id));
        return;
      }
      const m = await api("GET", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/messages");
      if (page.showPrevious && c.previous_case_id) {
        const [pc, pm] = await Promise.all([
          api("GET", "/api/v1/cases/" + encodeURIComponent(c.previous_case_id)),
          api("GET", "/api/v1/cases/" + encodeURIComponent(c.previous_case_id) + "/messages"),
        ]);
        page.previous = { case: pc, messages: pm.items };
      } else {
        page.previous = null;
      }
      if (page.disposed) return;
      page.kase = c;
      page.messages = m.items;
      const loading = main.querySelector(".loading");
      if (loading) loading.remove();
      // Live notices often change nothing visible (a read mark, a timer):
      // then the page is left alone, so nothing moves under the cursor.
      const snapshot = JSON.stringify([{ ...page.kase, unread: false }, page.messages, page.previous, page.showPrevious, lang(), state.labels]);
      if (snapshot !== lastRendered) {
        lastRendered = snapshot;
        render();
      }
      if (page.kase.unread) {
        const read = await api("POST", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/read").catch(() => null);
        if (read && !page.disposed) page.kase = read;
      }
    } catch (e) {
      if (page.disposed) return;
      if (e.status === 404) {
        clear(main).appendChild(h("p", {}, t("not_found")));
      } else {
        toast(e.message, true);
      }
    }
  }

  function render() {
    renderHeader(page, header, customerEmail, linkedProfiles);
    renderBanners(page, banners);
    renderChain(page, chainTop, chainBottom);
    renderPrevious(page, prevBox);
    clear(thread);
    // A reply may answer one of the customer's messages (quoted in messengers).
    const actions = page.kase.merged_into_id ? {} : { reply: (m) => compose.replyTo(m) };
    for (const m of page.messages) thread.appendChild(messageItem(m, page.kase, actions));
    endLink.hidden = page.kase.chat_state !== "active";
    tick();
  }

  /** The template picker; applying sends the reply and runs the actions as
   * one change on the server, then the page shows the case as it now is. */
  async function openTemplates() {
    if (!page.kase || document.querySelector("dialog[open]")) return;
    const [list, cust] = await Promise.all([attempt(() => api("GET", "/api/v1/templates")), customer(page.kase.customer_id), labelsFresh]);
    if (!list || page.disposed) return;
    const values = {
      "customer.name": cust && cust.name,
      "customer.id": cust && cust.external_id,
      "case.number": page.kase.number,
      "case.subject": page.kase.subject,
      "agent.name": state.me.name,
      "agent.email": state.me.email,
      "channel.name": channelName(page.kase.channel_id),
    };
    templatePicker(list.items, values, async (tpl) => {
      const updated = await attempt(() =>
        api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/apply-template", { template_id: tpl.id }),
      );
      if (!updated || page.disposed) return;
      page.kase = updated;
      toast(t("template_applied", { name: tpl.name }));
      reloadActiveSoon();
      await load();
    });
  }

  function tick() {
    if (!page.kase) return;
    const now = Date.now();
    const finishAt = page.kase.auto_finish_at ? new Date(page.kase.auto_finish_at).getTime() : null;
    if (!inWarning(page.kase, now)) {
      warning.hidden = true;
      return;
    }
    if (warning.hidden || !warning.firstChild) {
      clear(warning).appendChild(h("span", { class: "countdown", "data-test": "countdown" }));
      warning.appendChild(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "data-test": "keep-active",
            onclick: async () => {
              const kept = await attempt(() => api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/keep-active"));
              if (kept) {
                page.kase = kept;
                render();
                reloadActiveSoon();
              }
            },
          },
          t("keep_active"),
        ),
      );
      warning.hidden = false;
    }
    warning.querySelector(".countdown").textContent = t("auto_finish_warning", { t: fmtCountdown(finishAt - now) });
    // Past the deadline the server finishes the chat; its notice reloads the page.
    // Poll as well, should the notice be missed.
    if (now > finishAt + 3000 && !reloadTimer) scheduleReload(0);
  }

  function scheduleReload(ms) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      load();
    }, ms);
  }

  load();
  return {
    onNotice(n) {
      const related = [page.caseId, page.kase && page.kase.previous_case_id, page.kase && page.kase.next_case_id];
      if (n.type === "resync" || related.includes(n.case_id)) scheduleReload(100);
    },
    tick,
    dispose() {
      page.disposed = true;
      clearTimeout(reloadTimer);
      document.removeEventListener("keydown", keydown);
      compose.dispose();
    },
  };
}

