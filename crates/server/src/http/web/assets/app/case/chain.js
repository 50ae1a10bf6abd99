// Around a case's thread: the split button at the reopen line and the
// finished banner (R7), the previous and next chats of the customer (R12),
// the previous chat shown inline and merging into it (R8, R9).

import { h, append, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { attempt, badge, openDialog, statusLabel, toast, toastAction, undoLatest } from "../ui.js";
import { reloadActiveSoon } from "../active.js";
import { messageItem } from "./thread.js";

/** R7: "Split new messages", placed on the line where the chat reopened,
 * right above the messages it moves. It asks first (saying how many move),
 * then opens the new case and says where the messages went. */
export function splitButton(page, moving) {
  return h(
    "button",
    {
      type: "button",
      class: "secondary split-button",
      "data-test": "split",
      onclick: () =>
        openDialog(t("split_title"), h("p", {}, t("split_confirm", { n: moving, c: page.kase.number })), [
          {
            label: t("split_do"),
            test: "split-confirm",
            action: async () => {
              const created = await attempt(() => api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/split"));
              if (created) {
                const source = page.kase.id;
                toastAction(t("split_done", { n: created.number, c: page.kase.number }), t("undo"), () => undoLatest(source));
                reloadActiveSoon();
                location.hash = "#/case/" + encodeURIComponent(created.id);
              }
            },
          },
        ]),
    },
    t("split"),
  );
}

export function renderBanners(page, banners) {
  clear(banners);
  if (page.kase.chat_state === "finished") {
    banners.appendChild(h("div", { class: "banner muted", "data-test": "finished-banner" }, t("finished_banner", { s: statusLabel(page.kase.status) })));
  }
}

export function renderChain(page, chainTop, chainBottom) {
  clear(chainTop);
  clear(chainBottom);
  if (page.kase.previous_case_id) {
    append(
      chainTop,
      h("a", { href: "#/case/" + encodeURIComponent(page.kase.previous_case_id), "data-test": "go-previous" }, "↑ ", t("go_previous")),
      h(
        "button",
        {
          type: "button",
          class: "link",
          "data-test": "toggle-previous",
          onclick: () => {
            page.showPrevious = !page.showPrevious;
            page.load();
          },
        },
        page.showPrevious ? t("hide_previous") : t("show_previous"),
      ),
    );
    if (page.showPrevious && page.previous) {
      chainTop.appendChild(
        h(
          "button",
          {
            type: "button",
            class: "link danger",
            "data-test": "merge",
            onclick: () => {
              const a = page.kase.number;
              const b = page.previous.case.number;
              openDialog(t("merge"), h("p", {}, t("merge_confirm", { a, b })), [
                {
                  label: t("merge_do"),
                  test: "merge-confirm",
                  class: "danger",
                  action: async () => {
                    const into = await attempt(() =>
                      api("POST", "/api/v1/cases/" + encodeURIComponent(page.kase.id) + "/merge-previous"),
                    );
                    if (into) {
                      page.showPrevious = false;
                      const merged = page.kase.id;
                      toastAction(t("merge_done", { c: into.number }), t("undo"), () => undoLatest(merged));
                      reloadActiveSoon();
                      location.hash = "#/case/" + encodeURIComponent(into.id);
                    }
                  },
                },
              ]);
            },
          },
          t("merge"),
        ),
      );
    }
  }
  if (page.kase.next_case_id) {
    chainBottom.appendChild(
      h("a", { href: "#/case/" + encodeURIComponent(page.kase.next_case_id), "data-test": "go-next" }, "↓ ", t("go_next")),
    );
  }
}

export function renderPrevious(page, prevBox) {
  clear(prevBox);
  if (!page.showPrevious || !page.previous) {
    prevBox.hidden = true;
    return;
  }
  prevBox.hidden = false;
  const list = h("ol", { class: "thread previous" });
  for (const m of page.previous.messages) list.appendChild(messageItem(m, page.previous.case, {}, page.previous.messages));
  append(
    prevBox,
    h(
      "div",
      { class: "divider" },
      h("a", { href: "#/case/" + encodeURIComponent(page.previous.case.id) }, t("previous_chat", { n: page.previous.case.number })),
      " ",
      badge("status", page.previous.case.status, statusLabel(page.previous.case.status)),
    ),
    list,
    h("div", { class: "divider" }, t("current_chat", { n: page.kase.number })),
  );
}
