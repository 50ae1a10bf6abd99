// What the app holds while an agent is signed in: who they are, the team,
// the channels and labels, the active chats, and the page on screen.

import { t } from "../shared.js";
import { api } from "./api.js";

export const state = {
  me: null,
  agents: [],
  channels: [],
  labels: [], // the account's label catalogue, by name
  customers: new Map(), // id -> Promise<customer>
  active: [], // active chats
  unanswered: [], // ended chats still open: nobody has answered them
  queues: null, // { mine, unassigned, open, pending }
  events: null, // EventSource
  lastEventId: "", // the id of the last event it had
  live: false,
  page: null, // the current page controller: { onNotice(n), tick(), dispose() }
};

export function agentName(id) {
  const a = state.agents.find((x) => x.id === id);
  return a ? a.name : id ? id.slice(0, 8) : "";
}

export function channelName(id) {
  const c = state.channels.find((x) => x.id === id);
  return c ? channelLabel(c) : "";
}

/** A channel's name, saying so when an admin has removed it. */
export function channelLabel(c) {
  return c.removed ? t("channel_removed_name", { name: c.name }) : c.name;
}

/** The channels still in use: removed ones keep naming their cases (and
 * filter old cases) but are not offered for anything new. */
export function liveChannels() {
  return state.channels.filter((c) => !c.removed);
}

/** A customer, fetched once per id (null when it cannot be read). */
export function customer(id) {
  if (!state.customers.has(id)) {
    const p = api("GET", "/api/v1/customers/" + encodeURIComponent(id)).catch(() => null);
    state.customers.set(id, p);
  }
  return state.customers.get(id);
}

let rulesLoad = null;
/** An automation rule's name (null when unknown), the list read once per
 * sign-in: history lines and messages name the rule that acted. */
export function ruleName(id) {
  if (!rulesLoad) {
    rulesLoad = api("GET", "/api/v1/rules").then(
      (r) => new Map(r.items.map((x) => [x.id, x.name])),
      () => new Map(),
    );
  }
  return rulesLoad.then((names) => names.get(id) || null);
}
