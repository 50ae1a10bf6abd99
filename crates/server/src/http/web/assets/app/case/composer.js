// The reply and note boxes under a case's thread, with files attached by
// button or dropped, the auto-finish warning's place and "End chat". What
// an agent types is kept per case (in this browser) until it is sent, so
// moving to another chat and back loses nothing.

import { h, t } from "../../shared.js";
import { api, uploadFile } from "../api.js";

/** Builds the composer of `page`; `on.openTemplates` and `on.openFinish`
 * are the page's. Answers its element, the warning box the page fills, the
 * "End chat" link the page shows on active chats, and `dispose`. */
export function composer(page, on) {
  const warning = h("div", { class: "auto-finish", "data-test": "auto-finish-warning", hidden: true });
  const reply = h("textarea", { rows: 3, placeholder: t("reply_placeholder"), "data-test": "reply", dir: "auto", "aria-label": t("reply_placeholder") });
  const note = h("textarea", { rows: 2, placeholder: t("note_placeholder"), "data-test": "note", dir: "auto", "aria-label": t("note_placeholder") });
  const drafts = [draft(page.caseId, "reply", reply), draft(page.caseId, "note", note)];
  // The customer message the next reply answers, if one was picked.
  let answering = null;
  const answeringBar = h("div", { class: "replying-to", "data-test": "replying-to", hidden: true });
  const replyTo = (m) => {
    answering = m || null;
    answeringBar.textContent = "";
    answeringBar.hidden = !answering;
    if (!answering) return;
    answeringBar.append(
      h("span", { class: "muted" }, t("replying_to") + " "),
      h("q", { dir: "auto" }, m.text.length > 80 ? m.text.slice(0, 80) + "…" : m.text),
      h("button", { type: "button", class: "link", "data-test": "cancel-reply-to", "aria-label": t("cancel"), onclick: () => replyTo(null) }, "✕"),
    );
    reply.focus();
  };
  // A message that could not be sent stays in its box, marked as not
  // sent, with a button to try again.
  const sendError = h("div", { class: "form-error send-error", role: "alert", "data-test": "send-error", hidden: true });
  const send = async (kind, box) => {
    const text = box.value;
    if (!text.trim()) return;
    box.disabled = true;
    sendError.hidden = true;
    const body = { text, kind };
    if (kind === "reply" && answering) body.reply_to_message_id = answering.id;
    let ok = null;
    try {
      ok = await api("POST", "/api/v1/cases/" + encodeURIComponent(page.caseId) + "/messages", body);
    } catch (e) {
      sendError.replaceChildren(
        h("span", {}, kind === "reply" ? t("reply_not_sent") : t("note_not_sent"), " ", e.message),
        " ",
        h("button", { type: "button", class: "secondary", "data-test": "send-retry", onclick: () => send(kind, box) }, t("retry")),
      );
      sendError.hidden = false;
    }
    box.disabled = false;
    if (ok) {
      box.value = "";
      forget(page.caseId, kind);
      if (kind === "reply") replyTo(null);
      await page.load();
    }
    box.focus();
  };
  const ctrlEnter = (kind, box) => (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send(kind, box);
    }
  };
  reply.addEventListener("keydown", ctrlEnter("reply", reply));
  note.addEventListener("keydown", ctrlEnter("note", note));
  // Each box attaches files of its own kind, so a file meant for agents
  // only goes exactly where a note would.
  const attachError = h("p", { class: "form-error attach-error", id: "attach-error", "data-test": "attach-error", role: "alert", hidden: true });
  const attachTo = (kind, box, ids) =>
    fileAttacher({ caseId: page.caseId, kind, box, ids, error: attachError, done: () => (page.disposed ? undefined : page.load()) });
  const replyFiles = attachTo("reply", reply, { button: "attach-file", input: "attach-input", title: t("attach_reply_title") });
  const noteFiles = attachTo("note", note, { button: "attach-note-file", input: "attach-note-input", title: t("attach_note_title") });
  // A file dropped beside the boxes would make the browser leave the app
  // to show it.
  const keepDroppedFiles = (e) => {
    if (hasFiles(e)) e.preventDefault();
  };
  document.addEventListener("dragover", keepDroppedFiles);
  document.addEventListener("drop", keepDroppedFiles);
  const endLink = h(
    "a",
    { href: "#", class: "end-chat", "data-test": "end-chat", hidden: true, onclick: (e) => (e.preventDefault(), on.openFinish()) },
    t("end_chat"),
  );
  const el = h(
    "div",
    { class: "composer" },
    h(
      "div",
      { class: "compose-reply" },
      answeringBar,
      reply,
      h(
        "div",
        { class: "compose-row" },
        warning,
        h(
          "button",
          { type: "button", id: "templates-button", class: "secondary", "data-test": "templates-button", onclick: () => on.openTemplates() },
          t("templates"),
        ),
        replyFiles.input,
        replyFiles.button,
        h("button", { type: "button", "data-test": "send-reply", onclick: () => send("reply", reply) }, t("send_reply")),
      ),
    ),
    h(
      "div",
      { class: "compose-note" },
      note,
      h(
        "div",
        { class: "compose-row" },
        h("span", { class: "hint" }, t("shortcuts")),
        noteFiles.input,
        noteFiles.button,
        h("button", { type: "button", class: "note-button", "data-test": "add-note", onclick: () => send("note", note) }, t("add_note")),
      ),
    ),
    sendError,
    attachError,
    h("div", { class: "end-row" }, endLink),
  );
  replyFiles.dropOn(el.querySelector(".compose-reply"));
  noteFiles.dropOn(el.querySelector(".compose-note"));
  return {
    el,
    warning,
    endLink,
    replyTo,
    focus: () => reply.focus({ preventScroll: true }),
    dispose() {
      for (const d of drafts) d.save();
      document.removeEventListener("dragover", keepDroppedFiles);
      document.removeEventListener("drop", keepDroppedFiles);
    },
  };
}

/** Where the case's draft of `kind` (reply or note) is kept. */
function draftKey(caseId, kind) {
  return "casedesk.draft." + kind + "." + caseId;
}

/** Keeps `box`'s text as the case's draft of `kind`: filled in from the
 * saved draft now, saved as the agent types (and by `save`). */
function draft(caseId, kind, box) {
  const key = draftKey(caseId, kind);
  try {
    box.value = localStorage.getItem(key) || "";
  } catch (_) {
    /* storage refused: no drafts */
  }
  const save = () => {
    try {
      if (box.value.trim()) localStorage.setItem(key, box.value);
      else localStorage.removeItem(key);
    } catch (_) {
      /* full or refused: the text stays in the box */
    }
  };
  box.addEventListener("input", save);
  return { save };
}

function forget(caseId, kind) {
  try {
    localStorage.removeItem(draftKey(caseId, kind));
  } catch (_) {
    /* nothing kept */
  }
}

/** Whether a drag carries files (not text or a link). */
function hasFiles(e) {
  return !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
}

/** A composer box's "Attach file" button and its hidden file input: the
 * chosen (or dropped) files go to the case one after another as messages
 * of `kind`, the box's text as the first one's caption. The button shows
 * the progress; the server's refusal shows in `error`. `done` reloads the
 * thread after each file. */
function fileAttacher({ caseId, kind, box, ids, error, done }) {
  let busy = false;
  const input = h("input", {
    type: "file",
    id: ids.input,
    "data-test": ids.input,
    multiple: true,
    hidden: true,
    onchange: () => {
      const files = [...input.files];
      // Choosing the same file again must fire `change` again.
      input.value = "";
      send(files);
    },
  });
  const button = h(
    "button",
    { type: "button", id: ids.button, class: "secondary attach-button", "data-test": ids.button, title: ids.title, onclick: () => input.click() },
    t("attach_file"),
  );
  const progress = (share) => (button.textContent = t("uploading", { p: Math.round(share * 100) }));
  async function send(files) {
    if (busy || !files.length) return;
    busy = true;
    button.disabled = box.disabled = true;
    error.hidden = true;
    let current = null;
    try {
      for (const file of files) {
        current = file;
        const query = new URLSearchParams({ filename: file.name, kind });
        const caption = box.value.trim() ? box.value : "";
        if (caption) query.set("text", caption);
        progress(0);
        await uploadFile("/api/v1/cases/" + encodeURIComponent(caseId) + "/attachments?" + query, file, progress);
        if (caption) {
          box.value = "";
          box.dispatchEvent(new Event("input"));
        }
        await done();
      }
    } catch (e) {
      error.textContent = current.name + ": " + e.message;
      error.hidden = false;
    } finally {
      busy = false;
      button.disabled = box.disabled = false;
      button.textContent = t("attach_file");
    }
  }
  /** Files dropped onto `area` are attached as if chosen. */
  function dropOn(area) {
    let depth = 0; // dragenter/dragleave fire for every child crossed
    area.setAttribute("data-drop-hint", t("drop_file"));
    const leave = () => {
      depth = 0;
      area.classList.remove("drop-target");
    };
    area.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      area.classList.add("drop-target");
    });
    area.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    area.addEventListener("dragleave", (e) => {
      if (hasFiles(e) && --depth <= 0) leave();
    });
    area.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      leave();
      send([...e.dataTransfer.files]);
    });
  }
  return { input, button, dropOn };
}
