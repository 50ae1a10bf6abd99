// A chat or case (`#/case/<id>`): the page's state and its live reloads.
// The parts it draws are in header.js, chain.js, thread.js, history.js and
// composer.js; each reads the case from the `page` object they share. The
// page opens at the newest message with the reply box focused, and stays
// at the bottom as messages arrive unless the agent scrolled up.

import { h, append, clear, lang, t } from "../../shared.js";
import { api } from "../api.js";
import { state, channelName, customer } from "../state.js";
import { attempt, fmtCountdown, openDialog, statusLabel, toast } from "../ui.js";
import { loadLabels } from "../labels.js";
import { inWarning, reloadActiveSoon } from "../active.js";
import { templatePicker } from "../templates.js";
import { renderHeader } from "./header.js";
import { renderBanners, renderChain, renderPrevious, splitButton } from "./chain.js";
import { messageItem } from "./thread.js";
import { messageSelection, topicSuggestion } from "./select.js";
import { caseNumbers, historyPanel, threadLines } from "./history.js";
import { composer } from "./composer.js";
import { customerEmailControl } from "./customer-email.js";
import { linkedProfilesControl } from "../customer.js";

export function casePage(main, caseId) {
  const page = {
    caseId,
    kase: null,
    messages: [],
    events: [], // the case's history, oldest first
    suggestion: null, // "this looks like a new question" (select.js)
    previous: null, // { case, messages } while shown
    showPrevious: false,
    editingSubject: false,
    earlier: null, // the customer's cases, read once (header.js)
    rendered: false,
    disposed: false,
    caseRef: caseNumbers(),
    load,
    render,
  };
  let reloadTimer = null;
  let lastRendered = "";

  const header = h("div", { class: "case-header" });
  const contact = h("aside", { class: "contact-panel", "data-test": "contact-panel", "aria-label": t("contact") });
  const customerEmail = customerEmailControl();
  const linkedProfiles = linkedProfilesControl();
  const banners = h("div", { class: "banners" });
  const prevBox = h("div", { class: "previous-chat", "data-test": "previous-chat" });
  const chainTop = h("div", { class: "chain chain-top" });
  const thread = h("ol", { class: "thread", "data-test": "thread" });
  const chainBottom = h("div", { class: "chain chain-bottom" });
  const historyList = h("div", { class: "history-body" });
  const historyCount = h("span", { class: "muted", "data-test": "history-count" });
  // The panel lives as long as the page and keeps its own open state: a
  // render (a live reload) must not reset it, not even between a click on
  // its summary and the `toggle` event that follows as a task.
  const history = h(
    "details",
    { class: "history-panel", "data-test": "history-panel" },
    h("summary", { "data-test": "history-toggle" }, t("history"), " ", historyCount),
    historyList,
  );
  const compose = composer(page, { openTemplates, openFinish });
  const { warning, endLink } = compose;
  const selection = messageSelection(page);
  compose.el.prepend(selection.bar);
  // The contact beside the conversation on a wide screen, under the
  // case's head on a narrow one (app.css).
  append(
    main,
    h(
      "div",
      { class: "case-page" },
      header,
      contact,
      h("div", { class: "case-body" }, banners, history, chainTop, prevBox, thread, chainBottom, compose.el),
    ),
  );
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
    // Each status says what it means; "waiting on the customer" is the
    // usual end of a chat the agent answered, so it has the focus.
    const explained = h(
      "dl",
      { class: "status-help" },
      ["pending", "closed", "open"].map((s) => [h("dt", {}, statusLabel(s)), h("dd", {}, t("end_chat_" + s))]),
    );
    const dlg = openDialog(t("end_chat_title", { n: page.kase.number }), [h("p", {}, t("end_chat_hint")), explained], [
      { label: t("finish_as_pending"), test: "finish-pending", action: finish("pending") },
      { label: t("finish_as_closed"), test: "finish-closed", action: finish("closed") },
      { label: t("finish_as_open"), test: "finish-open", class: "secondary", action: finish("open") },
    ]);
    dlg.querySelector("[data-test=finish-pending]").focus();
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
      const [m, ev, topic] = await Promise.all([
        api("GET", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/messages"),
        api("GET", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/events"),
        c.chat_state === "active" ? api("GET", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/topic-suggestion") : { suggestion: null },
      ]);
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
      page.events = ev.items;
      page.suggestion = topic.suggestion;
      const loading = main.querySelector(".loading");
      if (loading) loading.remove();
      // Live notices often change nothing visible (a read mark, a timer):
      // then the page is left alone, so nothing moves under the cursor.
      const snapshot = JSON.stringify([{ ...page.kase, unread: false }, page.messages, page.events, page.suggestion, page.previous, page.showPrevious, lang(), state.labels]);
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
    // Whoever reads the newest messages keeps reading them as more come.
    const atBottom = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
    renderHeader(page, header, contact, customerEmail, linkedProfiles);
    renderBanners(page, banners);
    renderChain(page, chainTop, chainBottom);
    renderPrevious(page, prevBox);
    renderThread();
    clear(historyList).appendChild(historyPanel(page.events, page.kase, page.caseRef, undoEvent));
    historyCount.textContent = "(" + page.events.length + ")";
    endLink.hidden = page.kase.chat_state !== "active";
    tick();
    if (!page.rendered || atBottom) window.scrollTo(0, document.documentElement.scrollHeight);
    if (!page.rendered && !page.kase.merged_into_id && window.matchMedia("(min-width: 901px)").matches) compose.focus();
    page.rendered = true;
  }

  /** Messages and the lines of the case's life, in time order: a line
   * goes before a message of the same moment (the reopen before the
   * message that reopened). The split button sits on the last reopen. */
  function renderThread() {
    clear(thread);
    // A reply may answer one of the customer's messages (quoted in messengers).
    const actions = page.kase.merged_into_id ? {} : { reply: (m) => compose.replyTo(m), select: selection.checkbox };
    const items = threadLines(page.events, page.kase, page.caseRef).map((l) => ({ ...l, line: true }));
    for (const m of page.messages) items.push({ at: m.created_at, el: messageItem(m, page.kase, actions, page.messages), line: false });
    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.line === b.line ? 0 : a.line ? -1 : 1));
    const reopen = page.kase.split_available ? [...page.events].reverse().find((e) => e.kind === "reopened") : null;
    const suggested = page.suggestion && page.suggestion.message_id;
    for (const item of items) {
      if (suggested && item.el.dataset.messageId === suggested) thread.appendChild(topicSuggestion(page, page.suggestion));
      if (reopen && item.event === reopen) {
        item.el.classList.add("reopen-divider");
        const moving = page.messages.filter((m) => m.created_at >= reopen.created_at).length;
        item.el.appendChild(splitButton(page, moving));
      }
      thread.appendChild(item.el);
    }
    selection.prune();
  }

  /** Undoes (or, for an undo, redoes) what a history event records, then
   * shows the case as it is. */
  async function undoEvent(e) {
    const back = await attempt(() =>
      api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/events/" + encodeURIComponent(e.id) + "/undo"),
    );
    if (!back || page.disposed) return;
    toast(e.kind === "undone" ? t("redo_done", { c: back.number }) : t("undo_done", { c: back.number }));
    reloadActiveSoon();
    await load();
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

  // The sticky head and reply box must not hide what the browser scrolls
  // to (a focused field, a linked message): the window's scroll padding
  // follows their heights.
  const root = document.documentElement;
  const pad = () => {
    const sticky = (el) => getComputedStyle(el).position === "sticky";
    root.style.scrollPaddingTop = (sticky(header) ? header.getBoundingClientRect().bottom + 8 : 60) + "px";
    root.style.scrollPaddingBottom = (sticky(compose.el) ? compose.el.offsetHeight + 8 : 0) + "px";
  };
  const resized = new ResizeObserver(pad);
  resized.observe(header);
  resized.observe(compose.el);

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
      resized.disconnect();
      root.style.scrollPaddingTop = root.style.scrollPaddingBottom = "";
      compose.dispose();
      selection.dispose();
    },
  };
}

