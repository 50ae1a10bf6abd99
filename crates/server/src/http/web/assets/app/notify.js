// Desktop notifications: a new chat, or a customer's message in a chat that
// is mine or nobody's, while the app is in the background, with a short
// chime. The browser's permission is asked once, from the sidebar's button
// (browsers want a click); the answer is the browser's to keep.

import { h, t } from "../shared.js";
import { state } from "./state.js";

const ASKED = "casedesk.notify.asked";

function supported() {
  return typeof Notification !== "undefined";
}

/** The sidebar's offer to turn notifications on: shown until asked once. */
export function notifyOffer() {
  if (!supported() || Notification.permission !== "default" || localStorage.getItem(ASKED)) return null;
  const box = h(
    "p",
    { class: "notify-offer", "data-test": "notify-offer" },
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        "data-test": "notify-enable",
        onclick: async () => {
          localStorage.setItem(ASKED, "1");
          box.remove();
          try {
            await Notification.requestPermission();
          } catch (_) {
            /* refused or unsupported: nothing to show */
          }
        },
      },
      t("notify_enable"),
    ),
    " ",
    h(
      "button",
      {
        type: "button",
        class: "link",
        "data-test": "notify-dismiss",
        onclick: () => {
          localStorage.setItem(ASKED, "1");
          box.remove();
        },
      },
      t("notify_not_now"),
    ),
  );
  return box;
}

/** A live notice worth a notification while the page is hidden. */
export function notifyOf(n) {
  if (!supported() || Notification.permission !== "granted" || !document.hidden) return;
  const c = [...state.active, ...(state.unanswered || [])].find((x) => x.id === n.case_id);
  const mineOrNobodys = !c || !c.assignee_id || c.assignee_id === (state.me && state.me.id);
  let title = null;
  if (n.type === "case.created") {
    title = t("notify_new_case", { n: n.case_number });
  } else if (n.type === "message.created" && n.data && n.data.author_type === "customer" && n.data.kind !== "note" && !n.data.new_case && mineOrNobodys) {
    // (The message that opened a case was told of with the case.)
    title = t("notify_new_message", { n: n.case_number });
  }
  if (!title) return;
  chime();
  try {
    const note = new Notification(title, { body: c ? c.subject : "", tag: "casedesk-" + n.case_id, lang: document.documentElement.lang });
    note.onclick = () => {
      window.focus();
      location.hash = "#/case/" + encodeURIComponent(n.case_id);
      note.close();
    };
  } catch (_) {
    /* some browsers allow notifications only from a service worker */
  }
}

let audio = null;
/** A soft two-note chime (Web Audio, no sound file); silent where the
 * browser has not allowed sound yet. */
function chime() {
  try {
    audio = audio || new AudioContext();
    const at = audio.currentTime;
    [880, 660].forEach((hz, i) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at + i * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.08, at + i * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + i * 0.15 + 0.14);
      tone.connect(gain).connect(audio.destination);
      tone.start(at + i * 0.15);
      tone.stop(at + i * 0.15 + 0.15);
    });
  } catch (_) {
    /* no audio here */
  }
}
