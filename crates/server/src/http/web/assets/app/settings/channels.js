// Settings → Channels: messenger bridges (`api`), web chat widgets,
// Telegram bots and e-mail mailboxes; their snippets, allowed sites, bot
// status, mailbox with its IMAP and SMTP servers (and a connection test),
// failed deliveries and failed updates.

import { h, append, clear, t } from "../../shared.js";
import { api } from "../api.js";
import { state, liveChannels } from "../state.js";
import { attempt, copyText, fmtTime, openDialog, toast } from "../ui.js";

/** Settings → Channels: the account's channels and a form to create one,
 * a messenger bridge (`api`), the web chat widget (`widget`), a Telegram
 * bot or a mailbox (`email`). A widget channel shows the snippet for the
 * site and its allowed sites, an e-mail channel where raw letters go; the
 * secrets (an api or e-mail channel's inbound token, a widget's signing
 * key) are shown once, right after creation, and never kept in `state`. */
export function channelsCard() {
  const list = h("ul", { class: "plain channel-list", id: "channel-list", "data-test": "channel-list" });
  const keep = (channel) => {
    const i = state.channels.findIndex((c) => c.id === channel.id);
    if (i < 0) state.channels.push(channel);
    else state.channels[i] = channel;
    render();
  };
  const render = () => {
    clear(list);
    for (const c of liveChannels()) list.appendChild(channelItem(c, keep));
  };
  render();

  const kind = h(
    "select",
    { id: "channel-kind", "data-test": "channel-kind", onchange: () => showKind() },
    h("option", { value: "api" }, t("kind_api")),
    h("option", { value: "widget" }, t("kind_widget")),
    h("option", { value: "telegram" }, t("kind_telegram")),
    h("option", { value: "email" }, t("kind_email")),
  );
  const botToken = h("input", {
    type: "password",
    id: "channel-bot-token",
    "data-test": "bot-token",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "123456789:AAH…",
    "aria-describedby": "channel-bot-token-hint",
  });
  const botField = h(
    "div",
    { class: "field" },
    h("label", { for: "channel-bot-token" }, t("bot_token")),
    botToken,
    h("p", { class: "hint", id: "channel-bot-token-hint" }, t("bot_token_hint")),
  );
  const name = h("input", { type: "text", id: "channel-name", required: true, maxlength: 200, "data-test": "channel-name", dir: "auto" });
  const hook = h("input", { type: "url", id: "channel-webhook", placeholder: "https://…", "data-test": "webhook-url" });
  const origins = h("textarea", {
    id: "channel-origins",
    "data-test": "channel-origins",
    rows: 3,
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "https://shop.example",
    "aria-describedby": "channel-origins-hint",
  });
  const hookField = h("label", {}, t("webhook_url"), hook);
  const originsField = h(
    "div",
    { class: "field" },
    h("label", { for: "channel-origins" }, t("allowed_sites")),
    origins,
    h("p", { class: "hint", id: "channel-origins-hint" }, t("allowed_sites_hint")),
  );
  const mail = mailboxFields();
  const showKind = () => {
    const widget = kind.value === "widget";
    const telegram = kind.value === "telegram";
    const email = kind.value === "email";
    // A hidden field must not block the form with its own validation.
    hookField.hidden = hook.disabled = widget || telegram || email;
    originsField.hidden = origins.disabled = !widget;
    botField.hidden = botToken.disabled = !telegram;
    botToken.required = telegram;
    mail.show(email);
  };
  showKind();
  const error = h("p", { class: "form-error", id: "channel-error", "data-test": "channel-error", role: "alert", hidden: true });
  const tokenBox = h("div", { class: "token-box", "data-test": "token-box", hidden: true });
  const create = h(
    "form",
    {
      class: "channel-new",
      onsubmit: async (e) => {
        e.preventDefault();
        const button = e.submitter || create.querySelector("button[type=submit]");
        if (button.disabled) return;
        const body = { kind: kind.value, name: name.value };
        if (kind.value === "api" && hook.value.trim()) body.webhook_url = hook.value.trim();
        if (kind.value === "widget") body.allowed_origins = originLines(origins.value);
        if (kind.value === "telegram") body.bot_token = botToken.value.trim();
        if (kind.value === "email") Object.assign(body, mail.body());
        error.hidden = true;
        button.disabled = true;
        let created;
        try {
          created = await api("POST", "/api/v1/channels", body);
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
          return;
        } finally {
          button.disabled = false;
        }
        const { inbound_token: secret, ...channel } = created;
        keep(channel);
        name.value = hook.value = origins.value = botToken.value = "";
        mail.reset();
        clear(tokenBox);
        tokenBox.hidden = true;
        if (channel.kind === "widget") {
          widgetCreatedDialog(channel, secret);
          return;
        }
        if (channel.kind === "telegram") {
          toast(t("bot_connected", { bot: botName(channel) }));
          return;
        }
        append(
          tokenBox,
          h("p", {}, t("token_once", { name: channel.name })),
          copyBox(secret, t("inbound_token"), { code: "inbound-token", button: "copy-inbound-token" }),
          channel.kind === "email" ? mimeUrlBox(channel) : h("p", {}, t("inbound_url"), " ", h("code", {}, inboundUrl(channel))),
        );
        tokenBox.hidden = false;
      },
    },
    h("h3", {}, t("new_channel")),
    h("label", {}, t("channel_kind"), kind),
    h("label", {}, t("channel_name"), name),
    hookField,
    originsField,
    botField,
    mail.fields,
    error,
    h("div", {}, h("button", { type: "submit", id: "channel-create", "data-test": "create-channel" }, t("create_channel"))),
    tokenBox,
  );
  return h("section", { class: "card channels-card", "data-test": "channels-card" }, h("h2", {}, t("channels")), list, create);
}

function inboundUrl(channel) {
  return location.origin + "/api/v1/channels/" + channel.id + "/inbound";
}

/** The new e-mail channel's fields: its address, the IMAP mailbox its
 * letters are fetched from and the SMTP server its replies leave through;
 * either server may be left out (letters then come only through the MIME
 * URL, replies are not sent). `body()` is their part of the request: a
 * server's block once any of its fields is filled, so that the API names
 * what is missing. */
function mailboxFields() {
  const address = h("input", {
    id: "channel-address",
    "data-test": "channel-address",
    type: "email",
    maxlength: 254,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "support@shop.example",
    "aria-describedby": "channel-address-hint",
  });
  const imap = serverFields("imap", {
    host: "imap.shop.example",
    port: "993",
    legend: t("imap_legend"),
    hint: t("imap_hint"),
    auto: t("imap_security_auto"),
    folder: true,
  });
  const smtp = serverFields("smtp", {
    host: "smtp.shop.example",
    port: "587",
    legend: t("smtp_legend"),
    hint: t("smtp_hint"),
    auto: t("smtp_security_auto"),
  });
  const fields = h(
    "div",
    { class: "mailbox-fields" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "channel-address" }, t("email_address")),
      address,
      h("p", { class: "hint", id: "channel-address-hint" }, t("email_address_hint")),
    ),
    imap.fields,
    smtp.fields,
  );
  return {
    fields,
    // A disabled fieldset disables what it holds.
    show(on) {
      fields.hidden = address.disabled = imap.fields.disabled = smtp.fields.disabled = !on;
      address.required = on;
    },
    body() {
      const body = { address: address.value.trim() };
      const i = imap.body();
      const o = smtp.body();
      if (i) body.imap = i;
      if (o) body.smtp = o;
      return body;
    },
    reset() {
      address.value = "";
      imap.reset();
      smtp.reset();
    },
  };
}

/** One mail server's fieldset (`which`: `imap` or `smtp`): host, port,
 * encryption, user name, password and, with `texts.folder`, the folder;
 * `texts` holds its placeholders, legend, hint and what the automatic
 * encryption means. `body()` is its block of the request, or nothing while
 * none of it is filled. */
function serverFields(which, texts) {
  const input = (name, attrs) => h("input", { id: which + "-" + name, "data-test": which + "-" + name, autocomplete: "off", spellcheck: "false", ...attrs });
  const host = input("host", { type: "text", maxlength: 253, placeholder: texts.host });
  const port = input("port", { type: "number", min: 1, max: 65535, placeholder: texts.port, class: "server-port" });
  const security = h(
    "select",
    { id: which + "-security", "data-test": which + "-security" },
    h("option", { value: "" }, texts.auto),
    ["starttls", "tls", "none"].map((s) => h("option", { value: s }, securityLabel(s))),
  );
  const user = input("user", { type: "text", maxlength: 320 });
  const password = input("password", { type: "password", maxlength: 1024, "aria-describedby": which + "-password-hint" });
  const folder = texts.folder ? input("folder", { type: "text", maxlength: 200, placeholder: "INBOX" }) : null;
  const fields = h(
    "fieldset",
    { class: "server-fields " + which + "-fields", "aria-describedby": which + "-hint" },
    h("legend", {}, texts.legend),
    h("p", { class: "hint", id: which + "-hint" }, texts.hint),
    h("label", { class: "server-host" }, t("smtp_host"), host),
    h("label", {}, t("smtp_port"), port),
    h("label", {}, t("smtp_security"), security),
    h("label", {}, t("smtp_user"), user),
    h("label", {}, t("smtp_password"), password, h("span", { class: "hint", id: which + "-password-hint" }, t("smtp_password_hint"))),
    folder ? h("label", {}, t("imap_folder"), folder) : null,
  );
  const typed = [host, port, user, password, folder].filter(Boolean);
  return {
    fields,
    body() {
      if (!typed.some((i) => i.value.trim())) return null;
      const body = { host: host.value.trim() };
      if (port.value) body.port = Number(port.value);
      if (security.value) body.security = security.value;
      if (user.value.trim()) body.user = user.value.trim();
      if (password.value) body.password = password.value;
      if (folder && folder.value.trim()) body.folder = folder.value.trim();
      return body;
    },
    reset() {
      for (const i of typed) i.value = "";
      security.value = "";
    },
  };
}

/** How a mail server's connection is secured, as admins read it. */
function securityLabel(security) {
  return ["tls", "starttls", "none"].includes(security) ? t("smtp_security_" + security) : security;
}

/** Where an e-mail channel takes raw letters, with a Copy button and what
 * to point there. */
function mimeUrlBox(c) {
  const url = (c.email && c.email.inbound_mime_url) || "";
  return h(
    "div",
    { class: "mime-box", "data-test": "mime-box" },
    h("span", { class: "muted" }, t("mime_url")),
    copyBox(url, t("mime_url"), { code: "mime-url", button: "copy-mime-url" }),
    h("p", { class: "hint" }, t("mime_url_hint")),
  );
}

/** The kind of a channel as admins read it. */
function channelKindLabel(kind) {
  return ["api", "widget", "telegram", "email"].includes(kind) ? t("kind_" + kind) : kind;
}

/** A Telegram channel's bot as people name it: `@shop_bot`. */
function botName(c) {
  const bot = c.telegram || {};
  return bot.bot_username ? "@" + bot.bot_username : String(bot.bot_id || "");
}

/** Turns a channel off (after asking: it stops taking messages in) or on
 * again (`PATCH /channels/{id} {"disabled"}`). */
function switchChannel(c, keep) {
  const path = "/api/v1/channels/" + encodeURIComponent(c.id);
  const set = async (disabled) => {
    const updated = await attempt(() => api("PATCH", path, { disabled }));
    if (updated) keep(updated);
  };
  if (c.disabled) return set(false);
  openDialog(t("channel_disable"), h("p", { dir: "auto" }, t("channel_disable_confirm", { name: c.name })), [
    { label: t("channel_disable"), class: "danger", test: "channel-disable-confirm", action: () => set(true) },
  ]);
}

/** Removes a channel after asking (`DELETE /channels/{id}`): it is off for
 * good and leaves the Settings list; its cases keep its name. */
function removeChannel(c, keep) {
  openDialog(t("channel_remove"), h("p", { dir: "auto" }, t("channel_remove_confirm", { name: c.name })), [
    {
      label: t("channel_remove"),
      class: "danger",
      test: "channel-remove-confirm",
      action: async () => {
        const done = await attempt(() => api("DELETE", "/api/v1/channels/" + encodeURIComponent(c.id)));
        if (done === undefined) return;
        keep({ ...c, removed: true, disabled: true });
        toast(t("channel_removed_toast", { name: c.name }));
      },
    },
  ]);
}

/** Renames a channel (`PATCH /channels/{id} {"name"}`); the lists and
 * case pages show the new name. The API's refusal shows in the dialog. */
function renameChannel(c, keep) {
  const input = h("input", { type: "text", maxlength: 200, value: c.name, "data-test": "channel-rename-input", dir: "auto", "aria-label": t("channel_name") });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const dlg = openDialog(t("rename_channel"), h("div", { class: "dialog-form" }, input, error), [
    {
      label: t("save"),
      test: "channel-rename-save",
      action: async () => {
        try {
          keep(await api("PATCH", "/api/v1/channels/" + encodeURIComponent(c.id), { name: input.value }));
          toast(t("saved"));
        } catch (e) {
          toast(e.message, true);
        }
      },
    },
  ]);
  input.focus();
  input.select();
  return dlg;
}

/** Origins typed one per line; blank lines are skipped. The API checks
 * each and names the one it refuses. */
function originLines(text) {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** One channel in the Settings list. An api channel shows where its
 * events go in and out; a widget channel its snippet and allowed sites,
 * which `keep` receives once changed. */
function channelItem(c, keep) {
  const item = h(
    "li",
    { class: "channel-item", "data-id": c.id, "data-kind": c.kind, "data-test": "channel-item" },
    h(
      "div",
      { class: "channel-head" },
      h("strong", { class: "channel-name", dir: "auto" }, c.name),
      h("span", { class: "badge channel-kind kind-" + c.kind, "data-test": "channel-kind" }, channelKindLabel(c.kind)),
      c.disabled ? h("span", { class: "badge channel-off", "data-test": "channel-off" }, t("channel_off")) : null,
      h("button", { type: "button", class: "link", "data-test": "channel-rename", onclick: () => renameChannel(c, keep) }, t("rename")),
      h(
        "button",
        {
          type: "button",
          class: c.disabled ? "link" : "link danger",
          "data-test": c.disabled ? "channel-enable" : "channel-disable",
          onclick: () => switchChannel(c, keep),
        },
        c.disabled ? t("channel_enable") : t("channel_disable"),
      ),
      h("button", { type: "button", class: "link danger", "data-test": "channel-remove", onclick: () => removeChannel(c, keep) }, t("channel_remove")),
    ),
  );
  if (c.kind === "telegram") {
    append(item, telegramStatus(c), failedDeliveries(c), failedUpdates(c));
    return item;
  }
  if (c.kind === "email") {
    append(item, mailboxStatus(c), connectionTest(c), mimeUrlBox(c), failedDeliveries(c), failedUpdates(c));
    return item;
  }
  if (c.kind !== "widget") {
    append(item, h("code", {}, inboundUrl(c)), c.webhook_url ? h("div", { class: "muted" }, "→ ", c.webhook_url) : null);
    if (c.webhook_url) append(item, failedDeliveries(c));
    return item;
  }
  if (c.snippet) append(item, snippetBox(c.snippet));
  const sites = h("div", { class: "channel-sites-box" });
  const show = () => {
    clear(sites);
    append(
      sites,
      h(
        "div",
        { class: "channel-sites-head" },
        h("span", { class: "muted" }, t("allowed_sites")),
        h("button", { type: "button", class: "link edit-origins", "data-test": "edit-origins", "aria-label": t("edit_sites"), onclick: edit }, t("edit")),
      ),
      c.allowed_origins.length
        ? h("ul", { class: "channel-sites", "data-test": "channel-sites" }, c.allowed_origins.map((o) => h("li", {}, h("code", {}, o))))
        : h("p", { class: "hint channel-sites any-site", "data-test": "channel-sites" }, t("any_site")),
    );
  };
  const edit = () => {
    const input = h("textarea", {
      class: "origins-input",
      "data-test": "origins-input",
      rows: Math.max(3, c.allowed_origins.length + 1),
      spellcheck: "false",
      autocomplete: "off",
      placeholder: "https://shop.example",
      "aria-label": t("allowed_sites"),
    });
    input.value = c.allowed_origins.join("\n");
    // The API's refusal stays next to the field while it is being fixed.
    const error = h("p", { class: "form-error origins-error", "data-test": "origins-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "save-origins", "data-test": "save-origins" }, t("save"));
    const form = h(
      "form",
      {
        class: "origins-form",
        onsubmit: async (e) => {
          e.preventDefault();
          if (save.disabled) return;
          save.disabled = true;
          error.hidden = true;
          let updated;
          try {
            updated = await api("PATCH", "/api/v1/channels/" + encodeURIComponent(c.id), { allowed_origins: originLines(input.value) });
          } catch (err) {
            error.textContent = err.message;
            error.hidden = false;
            save.disabled = false;
            return;
          }
          keep(updated);
          toast(t("saved"));
        },
      },
      h("span", { class: "muted" }, t("allowed_sites")),
      input,
      h("p", { class: "hint" }, t("allowed_sites_hint")),
      error,
      h(
        "div",
        { class: "form-buttons" },
        save,
        h("button", { type: "button", class: "secondary cancel-origins", "data-test": "cancel-origins", onclick: show }, t("cancel")),
      ),
    );
    clear(sites).appendChild(form);
    input.focus();
  };
  show();
  return append(item, sites);
}

/** The replies a channel's webhook gave up on (dead letters), each with
 * its last error and a Redeliver button; hidden while there are none. A
 * redelivery goes to the channel's current webhook URL. */
function failedDeliveries(c) {
  return failedList({
    box: { class: "channel-deliveries", "data-test": "failed-deliveries" },
    path: "/api/v1/channels/" + encodeURIComponent(c.id) + "/deliveries?state=failed&limit=20",
    title: c.kind === "email" ? t("deliveries_failed_smtp") : t("deliveries_failed"),
    item: (d) => ({ attrs: { "data-id": d.id, "data-test": "failed-delivery" }, line: t("delivery_line", { time: fmtTime(d.failed_at), n: d.attempts }) }),
    button: { class: "secondary redeliver", "data-test": "redeliver", label: t("redeliver"), done: t("redelivered") },
    again: (d) => api("POST", "/api/v1/deliveries/" + encodeURIComponent(d.id) + "/redeliver"),
  });
}

/** A channel's log entries given up on (`path` lists them), each with its
 * `line`, its last error and a button that tries it `again`; hidden while
 * there are none, loaded afresh after each retry. */
function failedList({ box: boxAttrs, path, title, item, button: b, again }) {
  const box = h("div", { ...boxAttrs, hidden: true });
  const load = async () => {
    const page = await attempt(() => api("GET", path));
    const items = (page && page.items) || [];
    clear(box);
    box.hidden = !items.length;
    if (!items.length) return;
    const entry = (x) => {
      const { attrs, line } = item(x);
      const button = h("button", { type: "button", class: b.class, "data-test": b["data-test"] }, b.label);
      button.addEventListener("click", async () => {
        if (button.disabled) return;
        button.disabled = true;
        if (!(await attempt(() => again(x)))) {
          button.disabled = false;
          return;
        }
        toast(b.done);
        load();
      });
      return h(
        "li",
        { class: "delivery", ...attrs },
        h("div", { class: "delivery-head" }, h("span", {}, line), button),
        x.last_error ? h("div", { class: "form-error delivery-error", dir: "auto" }, x.last_error) : null,
      );
    };
    append(box, h("span", { class: "muted" }, title), h("ul", { class: "plain delivery-list" }, items.map(entry)));
  };
  load();
  return box;
}

/** The widget's snippet in a read-only, selectable box with a Copy button. */
function snippetBox(snippet) {
  return copyBox(snippet, t("snippet_label"), { code: "channel-snippet", button: "copy-snippet" });
}

/** `text` in a read-only, selectable box named `label`, with a Copy
 * button; `test` names the code and the button for the tests. */
function copyBox(text, label, test) {
  const code = h("code", { class: test.code, "data-test": test.code }, text);
  return h(
    "div",
    { class: "snippet-box" },
    h("pre", { class: "snippet", tabindex: 0, "aria-label": label }, code),
    h("button", { type: "button", class: "secondary " + test.button, "data-test": test.button, onclick: () => copyText(code) }, t("copy")),
  );
}

/** After a widget channel is created: the snippet to paste, and the
 * channel secret, which is never shown again. */
function widgetCreatedDialog(channel, secret) {
  const body = h(
    "div",
    { class: "widget-created", "data-test": "widget-created" },
    h("p", {}, t("snippet_paste")),
    snippetBox(channel.snippet || ""),
    h(
      "div",
      { class: "token-box" },
      h("p", {}, h("strong", {}, t("widget_secret"))),
      h("code", { class: "secret", "data-test": "widget-secret" }, secret),
      h("p", { class: "hint" }, t("widget_secret_hint")),
    ),
  );
  openDialog(t("widget_created", { name: channel.name }), body, [], { class: "snippet-dialog", closeLabel: t("done") });
}

/** A Telegram channel's bot, how it receives, and what Telegram says of
 * its webhook (pending updates, the last delivery error). */
function telegramStatus(c) {
  const line = h("div", { class: "muted telegram-status", "data-test": "telegram-status" }, botName(c), " · ", t("mode_" + ((c.telegram && c.telegram.mode) || "polling")));
  const box = h("div", { class: "telegram-box" }, line);
  (async () => {
    const status = await attempt(() => api("GET", "/api/v1/channels/" + encodeURIComponent(c.id) + "/telegram"));
    if (!status) return;
    if (status.pending_update_count) append(box, h("div", { class: "muted" }, t("telegram_pending", { n: status.pending_update_count })));
    const problem = status.last_error_message || status.telegram_error;
    if (problem) append(box, h("div", { class: "form-error", dir: "auto", "data-test": "telegram-error" }, problem));
  })();
  return box;
}

/** An e-mail channel's mailbox, where its letters are fetched from (or
 * that they come only through the MIME URL) and the SMTP server its
 * replies leave through (or that they wait for want of one). */
function mailboxStatus(c) {
  const mail = c.email || {};
  const { smtp, imap } = mail;
  return h(
    "div",
    { class: "muted mailbox-status", "data-test": "mailbox-status" },
    h("span", { "data-test": "mailbox-address" }, mail.address || ""),
    " · ",
    imap
      ? h("span", { "data-test": "imap-server" }, t("imap_via", { mailbox: imap.user + "@" + imap.host + ":" + imap.port, folder: imap.folder }))
      : h("span", { class: "imap-missing", "data-test": "imap-server" }, t("imap_missing")),
    " · ",
    smtp
      ? h("span", { "data-test": "smtp-server" }, t("smtp_via", { server: smtp.host + ":" + smtp.port, security: securityLabel(smtp.security) }))
      : h("span", { class: "smtp-missing", "data-test": "smtp-server" }, t("smtp_missing")),
  );
}

/** A Test connection button for an e-mail channel: the server logs in to
 * its IMAP mailbox and greets its SMTP server (up to some seconds), and
 * each outcome shows in a line under it. */
function connectionTest(c) {
  const results = h("ul", { class: "plain connection-results", "data-test": "connection-results", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary test-connection", "data-test": "test-connection" }, t("test_connection"));
  const line = (server, check) => {
    if (!check) return h("li", { class: "muted", "data-test": "test-" + server.toLowerCase() }, t("test_none", { server }));
    if (check.ok) return h("li", { class: "test-ok", "data-test": "test-" + server.toLowerCase() }, t("test_ok", { server }));
    return h("li", { class: "form-error", dir: "auto", "data-test": "test-" + server.toLowerCase() }, t("test_failed", { server, error: check.error || "" }));
  };
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = t("testing_connection");
    clear(results);
    const tested = await attempt(() => api("POST", "/api/v1/channels/" + encodeURIComponent(c.id) + "/email/test"));
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = t("test_connection");
    if (tested) append(results, line("IMAP", tested.imap), line("SMTP", tested.smtp));
  });
  return h("div", { class: "connection-test" }, button, results);
}

/** The updates of a Telegram channel, or the letters of an e-mail one,
 * given up on, each with its error (why a letter could not be read) and a
 * Retry button; hidden while there are none. */
function failedUpdates(c) {
  const base = "/api/v1/channels/" + encodeURIComponent(c.id) + "/updates";
  const letters = c.kind === "email";
  const line = (u) =>
    letters
      ? t("letter_line", { key: u.key || u.update_id, time: fmtTime(u.failed_at), n: u.attempts })
      : t("update_line", { id: u.update_id, time: fmtTime(u.failed_at), n: u.attempts });
  return failedList({
    box: { class: "channel-updates", "data-test": "failed-updates" },
    path: base + "?state=failed&limit=20",
    title: letters ? t("letters_failed") : t("updates_failed"),
    item: (u) => ({ attrs: { "data-test": "failed-update" }, line: line(u) }),
    button: { class: "secondary", "data-test": "retry-update", label: t("retry"), done: letters ? t("letter_retried") : t("update_retried") },
    again: (u) => api("POST", base + "/" + u.update_id + "/retry"),
  });
}
