//! What the OpenAPI document says about the values the server accepts:
//! the enums, bounds and patterns of every request field, so that a client
//! (and schemathesis, which generates requests from the document) can tell
//! a request the server takes from one it refuses without sending it.
//!
//! The patterns restate the checks of the use cases and the domain exactly
//! (the tests below hold them to the Rust code): text is trimmed with
//! `str::trim`, so "1 to 200 characters" means after trimming Unicode
//! white space, and lengths count characters. No text anywhere may hold
//! NUL ([`crate::http::input`]); [`forbid_nul`] says so for every string that
//! does not already.
//!
//! JSON Schema cannot say everything: which ids exist (an unknown one is
//! `404`), and a few rules between fields — a list cursor belongs to its
//! sort and order, a statistics period runs forward and holds at most
//! [`MAX_BUCKETS`] days or weeks, business hours start before they end and
//! do not overlap. Those are in the descriptions.

use std::collections::BTreeSet;

use casedesk_domain::rules::{MAX_CONDITIONS, MAX_DELAY_SECONDS};
use casedesk_domain::stats::MAX_BUCKETS;
use casedesk_domain::templates::{MAX_ACTIONS, MAX_TEMPLATE_TEXT, PLACEHOLDERS};
use casedesk_domain::{AccountTimeZone, AutoFinishSettings, ChatState, LabelName, Role, Status};
use casedesk_domain::{Subject, business_hours::MAX_HOLIDAYS};
use serde_json::Value;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ArrayItems, KnownFormat,
    Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::channels::api::inbound::MAX_ID_CHARS;
use crate::channels::widget::{MAX_CLIENT_ID, MAX_USER_FIELD};
use crate::http::urls::MAX_ORIGINS;

/// The characters `str::trim` removes (Unicode `White_Space`), as the
/// inside of a regex class.
const WS: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control` (Unicode `Cc`), as the inside of a regex class.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Any text without NUL.
pub const NO_NUL: &str = r"^[^\u0000]*$";

pub const NAME_CHARS: usize = 200;
pub const EMAIL_CHARS: usize = 254;
pub const PASSWORD_CHARS: (usize, usize) = (8, 1024);
pub const TEMPLATE_NAME_CHARS: usize = 100;
pub const RULE_NAME_CHARS: usize = 100;
pub const CONDITION_TEXT_CHARS: usize = 500;
pub const EMOJI_CHARS: usize = 16;

// ------------------------------------------------------------ patterns

/// Text that, trimmed, has 1 to `max` characters (0 to `max` when
/// `optional`); with `printable`, none of them a control character.
pub fn trimmed_pattern(max: usize, printable: bool, optional: bool) -> String {
    let banned = if printable { CONTROL } else { r"\u0000" };
    let edge = format!("[^{banned}{WS}]");
    let core = match max {
        0 => String::new(),
        1 => edge,
        _ => format!("{edge}(?:[^{banned}]{{0,{}}}{edge})?", max - 2),
    };
    let core = if optional && !core.is_empty() {
        format!("(?:{core})?")
    } else {
        core
    };
    format!("^[{WS}]*{core}[{WS}]*$")
}

/// Text with at least one character that is not white space, and no NUL.
fn not_blank_pattern() -> String {
    format!(r"^[^\u0000]*[^\u0000{WS}][^\u0000]*$")
}

/// An e-mail address as [`crate::auth::normalize_email`] takes it:
/// `name@domain`, no white space inside. Its length is [`email_length_pattern`].
fn email_shape_pattern() -> String {
    format!(r"^[{WS}]*[^\u0000{WS}@]+@[^\u0000{WS}]+[{WS}]*$")
}

fn email_length_pattern() -> String {
    format!(r"^[{WS}]*[^\u0000{WS}]{{1,{EMAIL_CHARS}}}[{WS}]*$")
}

/// A text template (`casedesk_domain::templates::TextTemplate`): every `{{`
/// opens a known placeholder, optionally with a fallback after `|`, closed
/// by the first `}}` after it.
pub fn template_text_pattern() -> String {
    let names = PLACEHOLDERS
        .iter()
        .map(|p| p.replace('.', r"\."))
        .collect::<Vec<_>>()
        .join("|");
    // Text without `{{` that does not end in `{`; a slot; the fallback: no `}}`.
    let text = r"(?:[^{\u0000]|\{[^{\u0000])*";
    let fallback = r"(?:[^}\u0000]|\}[^}\u0000])*";
    let slot = format!(r"\{{\{{[{WS}]*(?:{names})[{WS}]*(?:\|{fallback})?\}}\}}");
    format!(r"^(?:{text}{slot})*{text}\{{?$")
}

pub fn webhook_url_pattern() -> String {
    crate::http::urls::webhook_url_pattern()
}

pub fn origin_pattern() -> String {
    crate::http::urls::origin_pattern()
}

/// A list cursor: `<sort><order><micros>_<case id>` (see `api::cases`).
pub const CURSOR_PATTERN: &str = r"^(?:cd|ca|ad|aa)[0-9]{1,16}_[0-9A-Za-z]{1,64}$";
const HHMM_PATTERN: &str = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$";

// ------------------------------------------------------------ builders

fn string(pattern: impl Into<String>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

/// A composed schema as a [`RefOr`].
trait IntoSchema {
    fn into_schema(self) -> RefOr<Schema>;
}

impl<T: Into<Schema>> IntoSchema for T {
    fn into_schema(self) -> RefOr<Schema> {
        RefOr::T(self.into())
    }
}

/// `schema`, or `null` (which every optional field takes as absent).
fn or_null(schema: impl Into<RefOr<Schema>>) -> Schema {
    let schema = schema.into();
    if let RefOr::T(Schema::Object(mut o)) = schema {
        if let SchemaType::Type(t) = o.schema_type {
            o.schema_type = SchemaType::from_iter([t, Type::Null]);
            if let Some(values) = o.enum_values.as_mut() {
                values.push(Value::Null);
            }
            return Schema::Object(o);
        }
        return one_of_null(RefOr::T(Schema::Object(o)));
    }
    one_of_null(schema)
}

fn one_of_null(schema: RefOr<Schema>) -> Schema {
    OneOfBuilder::new()
        .item(Object::with_type(Type::Null))
        .item(schema)
        .build()
        .into()
}

fn names_of<S: Into<Value>>(names: impl IntoIterator<Item = S>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
        .build()
}

fn integer(min: i64, max: i64) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .build()
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn array(items: impl Into<RefOr<Schema>>, min: usize, max: Option<usize>) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(ArrayItems::RefOrSchema(Box::new(items.into())))
        .min_items((min > 0).then_some(min))
        .max_items(max)
}

// ------------------------------------------------------------ values

pub fn status() -> Object {
    names_of(
        Status::ALL.iter().map(|s| s.as_str()),
        "`open`, `pending` or `closed`",
    )
}

pub fn status_or_null() -> Schema {
    or_null(status())
}

pub fn chat_state() -> Object {
    names_of(
        ChatState::ALL.iter().map(|s| s.as_str()),
        "`active` or `finished`",
    )
}

pub fn role_or_null() -> Schema {
    or_null(names_of(
        Role::ALL.iter().map(|r| r.as_str()),
        "`admin` or `agent`",
    ))
}

/// The kinds of channel the API creates (the others come with their issues).
pub fn new_channel_kind() -> Object {
    names_of(
        ["api", "widget", "telegram", "email"],
        "`api` (a messenger webhook), `widget` (web chat), `telegram` (a bot) or `email` \
         (a mailbox)",
    )
}

/// An e-mail channel's address.
pub fn email_address() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(crate::channels::email::connect::MAX_ADDRESS))
        .description(Some("The mailbox's address, like `support@shop.example`"))
        .examples(["support@shop.example"])
        .build()
}

/// Where an e-mail channel's replies are sent from.
pub fn smtp() -> Object {
    use crate::channels::email::connect::{MAX_HOST, MAX_PASSWORD, MAX_USER};
    let text = |max: usize| {
        or_null(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(max))
                .build(),
        )
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property(
            "host",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_HOST))
                .examples(["smtp.shop.example"]),
        )
        .required("host")
        .property("port", or_null(integer(1, 65535)))
        .property(
            "security",
            or_null(names_of(
                ["tls", "starttls", "none"],
                "`tls` (from the first byte), `starttls` (default; `tls` on port 465) or `none`",
            )),
        )
        .property("user", text(MAX_USER))
        .property("password", text(MAX_PASSWORD))
        .description(Some(
            "The SMTP server replies leave through; without it replies wait as not sent",
        ))
        .build()
}

/// Where an e-mail channel's letters are fetched from.
pub fn imap() -> Object {
    use crate::channels::email::connect::{MAX_FOLDER, MAX_HOST, MAX_PASSWORD, MAX_USER};
    let text = |max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(max))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("host", text(MAX_HOST).examples(["imap.shop.example"]))
        .required("host")
        .property("port", or_null(integer(1, 65535)))
        .property(
            "security",
            or_null(names_of(
                ["tls", "starttls", "none"],
                "`tls` (default; `starttls` on port 143), `starttls` or `none`",
            )),
        )
        .property("user", text(MAX_USER))
        .required("user")
        .property("password", text(MAX_PASSWORD))
        .required("password")
        .property("folder", or_null(text(MAX_FOLDER).build()))
        .description(Some(
            "The IMAP mailbox letters are fetched from (IDLE, polling as fallback)",
        ))
        .build()
}

pub fn update_state() -> Object {
    names_of(
        ["pending", "processed", "failed"],
        "`pending`, `processed` or `failed`",
    )
}

/// A bot token as @BotFather gives it.
pub fn bot_token() -> Object {
    string(r"^\s*[0-9]{1,20}:[A-Za-z0-9_-]{1,150}\s*$")
        .description(Some(
            "The bot's token from @BotFather, like `123456789:AAH…`",
        ))
        .build()
}

pub fn case_sort() -> Object {
    names_of(
        ["created_at", "last_activity_at"],
        "`created_at` (default) or `last_activity_at`",
    )
}

pub fn order() -> Object {
    names_of(["desc", "asc"], "`desc` (default) or `asc`")
}

pub fn export_format() -> Object {
    names_of(["csv", "xlsx"], "`csv` (default) or `xlsx`")
}

pub fn group_by() -> Object {
    names_of(
        ["day", "week", "agent", "channel"],
        "`day` (default), `week` (ISO, Monday first), `agent` or `channel`",
    )
}

pub fn time_zone_or_null() -> Schema {
    or_null(names_of(
        AccountTimeZone::names(),
        "An IANA time zone name such as `Europe/Moscow`",
    ))
}

pub fn auto_finish_seconds_or_null() -> Schema {
    or_null(integer(1, AutoFinishSettings::MAX_SECONDS))
}

pub fn delivery_state() -> Object {
    names_of(
        ["pending", "delivered", "failed"],
        "`pending`, `delivered` or `failed`",
    )
}

pub fn delivery_limit() -> Object {
    integer(1, 500)
}

pub fn case_limit() -> Object {
    let mut o = integer(1, 200);
    o.description = Some("1 to 200, default 50".into());
    o
}

pub fn cursor() -> Object {
    string(CURSOR_PATTERN)
        .description(Some(
            "`next_cursor` of the previous page, with the same `sort` and `order` (a cursor of \
             another sort or order is refused with 400)",
        ))
        .build()
}

/// `from` and `to` of the statistics.
/// `minutes` of the policy simulator: 1 to 10 whole numbers, comma-separated.
pub fn minutes_list() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^ *[0-9]{1,6} *(, *[0-9]{1,6} *){0,9}$"))
        .description(Some(
            "Candidate auto-finish times in minutes, comma-separated: 1 to 10 whole numbers \
             from 1 to 525600 (422 `minutes_invalid` otherwise)",
        ))
        .build()
        .into()
}

pub fn period_bound() -> Schema {
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"));
    let time = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
    AnyOfBuilder::new()
        .item(date)
        .item(time)
        .description(Some(format!(
            "An RFC 3339 time, or a date `YYYY-MM-DD` in the account's time zone. `from` must \
             be before `to`, and a `day` or `week` grouping holds at most {MAX_BUCKETS} of them \
             (400/422 otherwise)."
        )))
        .build()
        .into()
}

// ------------------------------------------------------------ text

fn trimmed(max: usize, printable: bool, what: &str) -> ObjectBuilder {
    string(trimmed_pattern(max, printable, false)).description(Some(format!(
        "{what}: 1 to {max} characters after trimming white space{}",
        if printable {
            ", without control characters"
        } else {
            ""
        }
    )))
}

pub fn name() -> Object {
    trimmed(NAME_CHARS, false, "A name").build()
}

pub fn name_or_null() -> Schema {
    or_null(name())
}

/// An agent's name when they are added: blank takes the e-mail's user part.
pub fn new_agent_name_or_null() -> Schema {
    or_null(
        string(trimmed_pattern(NAME_CHARS, false, true)).description(Some(format!(
            "At most {NAME_CHARS} characters after trimming; blank or absent: the part of the \
             e-mail before `@`"
        ))),
    )
}

pub fn label_name() -> Object {
    trimmed(LabelName::MAX_CHARS, true, "A label name").build()
}

pub fn label_name_or_null() -> Schema {
    or_null(label_name())
}

pub fn template_name() -> Object {
    trimmed(TEMPLATE_NAME_CHARS, true, "A template name").build()
}

pub fn rule_name() -> Object {
    trimmed(RULE_NAME_CHARS, true, "A rule name").build()
}

pub fn subject_or_null() -> Schema {
    or_null(trimmed(Subject::MAX_CHARS, false, "The subject").build())
}

pub fn emoji() -> Object {
    trimmed(EMOJI_CHARS, false, "The emoji").build()
}

/// A widget visitor's name or user id: blank is none.
pub fn user_field_or_null() -> Schema {
    or_null(
        string(trimmed_pattern(MAX_USER_FIELD, true, true)).description(Some(format!(
            "At most {} characters after trimming, without control characters; blank is none",
            MAX_USER_FIELD
        ))),
    )
}

pub fn caption() -> Object {
    string(trimmed_pattern(
        crate::usecases::attachments::MAX_CAPTION,
        false,
        true,
    ))
    .description(Some(format!(
        "A caption of at most {} characters after trimming; the message's text is the file \
             name without one",
        crate::usecases::attachments::MAX_CAPTION
    )))
    .build()
}

/// Message text: not blank, at most `max` characters.
fn text(max: usize) -> Object {
    string(not_blank_pattern())
        .max_length(Some(max))
        .description(Some(format!("Not blank, at most {max} characters")))
        .build()
}

pub fn message_text() -> Object {
    text(crate::usecases::unit::MAX_TEXT_CHARS)
}

pub fn not_blank() -> Object {
    string(not_blank_pattern()).build()
}

/// The channel's own ids in inbound events.
pub fn inbound_id() -> Object {
    let max = MAX_ID_CHARS;
    string(not_blank_pattern())
        .max_length(Some(max))
        .description(Some(format!("Not blank, at most {max} characters")))
        .build()
}

/// An object of `fields` that may hold more (ignored, but free of NUL).
fn open_object(fields: &[(&str, RefOr<Schema>, bool)]) -> ObjectBuilder {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string(NO_NUL).build()))
        .additional_properties(Some(AdditionalProperties::RefOr(any_json())));
    for (name, schema, required) in fields {
        o = o.property(*name, schema.clone());
        if *required {
            o = o.required(*name);
        }
    }
    o
}

/// `POST /channels/{id}/inbound`: a message or a reaction of a customer.
pub fn inbound_event() -> Schema {
    let text_or_null = || -> RefOr<Schema> { or_null(string(NO_NUL)).into() };
    let customer: RefOr<Schema> = open_object(&[
        ("id", inbound_id().into(), true),
        ("name", text_or_null(), false),
    ])
    .description(Some("The customer as the channel knows them"))
    .build()
    .into();
    let message = open_object(&[
        (
            "type",
            names_of(["message"], "A customer message").into(),
            true,
        ),
        ("message_id", inbound_id().into(), true),
        ("customer", customer.clone(), true),
        ("text", message_text().into(), true),
        ("sent_at", text_or_null(), false),
    ]);
    let reaction = open_object(&[
        (
            "type",
            names_of(["reaction"], "A customer reaction").into(),
            true,
        ),
        ("customer", customer, true),
        ("target_message_id", inbound_id().into(), true),
        ("emoji", emoji().into(), true),
    ]);
    OneOfBuilder::new()
        .item(message)
        .item(reaction)
        .description(Some(
            "A customer event: `message` (`message_id` is the channel's own id and the \
             idempotency key) or `reaction` (`target_message_id`: the channel's id of a \
             customer message, or casedesk's id of an agent reply). Other fields are ignored.",
        ))
        .build()
        .into()
}

pub fn client_id() -> Object {
    string(format!("^[!-~]{{1,{}}}$", MAX_CLIENT_ID))
        .description(Some(format!(
            "An idempotency key: 1 to {} printable ASCII characters",
            MAX_CLIENT_ID
        )))
        .build()
}

pub fn client_id_or_null() -> Schema {
    or_null(client_id())
}

pub fn email() -> Schema {
    AllOfBuilder::new()
        .item(string(email_shape_pattern()))
        .item(string(email_length_pattern()))
        .description(Some(format!(
            "An address like `name@example.com`, at most {EMAIL_CHARS} characters; compared \
             in lower case"
        )))
        .build()
        .into()
}

/// An e-mail, or blank for none.
pub fn email_or_blank_or_null() -> Schema {
    let blank = string(format!("^[{WS}]*$"));
    or_null(
        AnyOfBuilder::new()
            .item(blank)
            .item(email())
            .description(Some("An e-mail address; blank or `null` for none"))
            .build()
            .into_schema(),
    )
}

pub fn password() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(NO_NUL))
        .min_length(Some(PASSWORD_CHARS.0))
        .max_length(Some(PASSWORD_CHARS.1))
        .description(Some(format!(
            "{} to {} characters",
            PASSWORD_CHARS.0, PASSWORD_CHARS.1
        )))
        .build()
}

pub fn color_or_null() -> Schema {
    or_null(string("^#[0-9A-Fa-f]{6}$").description(Some("`#rrggbb` (kept in lower case)")))
}

pub fn webhook_url_or_null() -> Schema {
    or_null(string(webhook_url_pattern()).description(Some(
        "Where agent replies are POSTed: an http(s) URL whose host is a DNS name or an \
                 IPv4 address (`null` for none)",
    )))
}

fn origin() -> Object {
    string(origin_pattern())
        .description(Some("An origin: `https://shop.example[:port]`"))
        .build()
}

fn origins() -> ArrayBuilder {
    array(origin(), 0, Some(MAX_ORIGINS)).description(Some(
        "Widget channels: the sites that may embed it; empty for any",
    ))
}

pub fn origins_or_null() -> Schema {
    or_null(origins().build())
}

pub fn email_address_or_null() -> Schema {
    or_null(email_address())
}

pub fn smtp_or_null() -> Schema {
    or_null(smtp())
}

/// In a change, an IMAP password left out keeps the stored one.
pub fn imap_change_or_null() -> Schema {
    let mut imap = imap();
    imap.required.retain(|r| r != "password");
    or_null(imap)
}

/// A text that may hold placeholders (`{{customer.name}}`, …), at most
/// [`MAX_TEMPLATE_TEXT`] characters.
pub fn template_text() -> Object {
    string(template_text_pattern())
        .max_length(Some(MAX_TEMPLATE_TEXT))
        .description(Some(format!(
            "At most {MAX_TEMPLATE_TEXT} characters; `{{{{name}}}}` or `{{{{name | fallback}}}}` \
             placeholders, where name is one of {}",
            PLACEHOLDERS.join(", ")
        )))
        .build()
}

/// Any JSON value that holds no NUL in its strings or keys.
pub fn any_json() -> RefOr<Schema> {
    reference("Json")
}

fn json_component() -> Schema {
    let text = string(NO_NUL).build();
    AnyOfBuilder::new()
        .item(Object::with_type(Type::Null))
        .item(Object::with_type(Type::Boolean))
        .item(Object::with_type(Type::Number))
        .item(text.clone())
        .item(array(any_json(), 0, None))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property_names(Some(text))
                .additional_properties(Some(AdditionalProperties::RefOr(any_json()))),
        )
        .description(Some("Any JSON value without NUL in its texts and keys"))
        .build()
        .into()
}

// ------------------------------------------------------------ bodies

/// `POST /channels`: `allowed_origins` only for a widget channel.
pub fn new_channel() -> Schema {
    let base = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("kind", new_channel_kind())
        .required("kind")
        .property("name", name())
        .required("name")
        .property("webhook_url", webhook_url_or_null())
        .property("allowed_origins", origins())
        .property("bot_token", or_null(Schema::Object(bot_token())))
        .property("address", or_null(Schema::Object(email_address())))
        .property("smtp", or_null(Schema::Object(smtp())))
        .property("imap", or_null(Schema::Object(imap())));
    // An address for an e-mail channel, and only there; SMTP likewise.
    let email = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .property("kind", names_of(["email"], "An e-mail channel"))
                .property("address", email_address())
                .required("address"),
        )
        .item(
            ObjectBuilder::new()
                .property(
                    "kind",
                    names_of(["api", "widget", "telegram"], "Not an e-mail channel"),
                )
                .property("address", Object::with_type(Type::Null))
                .property("smtp", Object::with_type(Type::Null))
                .property("imap", Object::with_type(Type::Null)),
        );
    let widget_only = AnyOfBuilder::new()
        .item(ObjectBuilder::new().property("kind", names_of(["widget"], "A widget channel")))
        .item(
            ObjectBuilder::new()
                .property("allowed_origins", ArrayBuilder::new().max_items(Some(0))),
        );
    // A bot token for a Telegram channel, and only there.
    let telegram = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .property("kind", names_of(["telegram"], "A Telegram channel"))
                .property("bot_token", bot_token())
                .required("bot_token"),
        )
        .item(
            ObjectBuilder::new()
                .property(
                    "kind",
                    names_of(["api", "widget", "email"], "Not a Telegram channel"),
                )
                .property("bot_token", Object::with_type(Type::Null)),
        );
    AllOfBuilder::new()
        .item(base)
        .item(widget_only)
        .item(telegram)
        .item(email)
        .description(Some(
            "A new channel; `allowed_origins` (e.g. `[\"https://shop.example\"]`) only for a \
             widget channel, `bot_token` only and always for a Telegram channel, `address` \
             (and optionally `smtp` and `imap`) only and always for an e-mail channel",
        ))
        .build()
        .into()
}

/// `POST /templates` (`patch`: `PATCH /templates/{id}`): a reply text or at
/// least one action. A change that leaves the template empty together
/// with what it keeps is `409`.
pub fn template_body(patch: bool) -> Schema {
    let maybe = |s: Schema| -> RefOr<Schema> { if patch { or_null(s).into() } else { s.into() } };
    let mut base = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("name", maybe(template_name().into()))
        .property("body", maybe(Schema::Object(template_text())))
        .property("actions", maybe(template_actions().build().into()))
        .property("shared", or_null(Object::with_type(Type::Boolean)));
    if !patch {
        base = base.required("name");
    }
    let some_body = ObjectBuilder::new().property("body", maybe(not_blank().into()));
    let some_action = ObjectBuilder::new().property(
        "actions",
        maybe(ArrayBuilder::new().min_items(Some(1)).build().into()),
    );
    let (some_body, some_action) = if patch {
        (some_body, some_action)
    } else {
        (some_body.required("body"), some_action.required("actions"))
    };
    AllOfBuilder::new()
        .item(base)
        .item(AnyOfBuilder::new().item(some_body).item(some_action))
        .description(Some(
            "A template: its reply text and its actions; it needs one or the other",
        ))
        .build()
        .into()
}

/// `POST /widget/{channel_id}/visitors`: an e-mail only with a signed user id.
pub fn new_visitor() -> Schema {
    let max = MAX_USER_FIELD;
    let base = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("user_id", user_field_or_null())
        .property("user_hash", or_null(string(NO_NUL)))
        .property("name", user_field_or_null())
        .property("email", email_or_blank_or_null());
    let no_email = ObjectBuilder::new().property("email", or_null(string(format!("^[{WS}]*$"))));
    let signed = ObjectBuilder::new()
        .required("user_id")
        .property("user_id", string(trimmed_pattern(max, true, false)));
    AllOfBuilder::new()
        .item(base)
        .item(AnyOfBuilder::new().item(no_email).item(signed))
        .description(Some(
            "A visitor: anonymous, or a user of the host site with `user_id` signed by \
             `user_hash`; `email` (signed with the user id) only with a `user_id`",
        ))
        .build()
        .into()
}

/// The body of an upload.
pub fn file_bytes() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(NO_NUL))
        .min_length(Some(1))
        .description(Some(format!(
            "The file's bytes; their kind is recognised from them, not from the content type: \
             {}. Any text (UTF-8 without NUL) is a text file; anything else is refused with 415.",
            crate::usecases::attachments::ACCEPTED
        )))
        .build()
}

// ------------------------------------------------------------ business hours

pub fn business_hours_or_null() -> Schema {
    let hhmm = string(HHMM_PATTERN).build();
    let interval = ArrayBuilder::new()
        .prefix_items([Schema::Object(hhmm.clone()), Schema::Object(hhmm)])
        .items(ArrayItems::False)
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some("`[start, end]`, local `HH:MM`; `end` may be `24:00`"))
        .build();
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut hours = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for day in days {
        hours = hours.property(day, array(interval.clone(), 0, None));
    }
    let holiday = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"));
    hours = hours.property("holidays", array(holiday, 0, Some(MAX_HOLIDAYS)));
    // At least one interval in the week.
    let mut some_day = AnyOfBuilder::new();
    for day in days {
        some_day = some_day.item(
            ObjectBuilder::new()
                .required(day)
                .property(day, array(interval.clone(), 1, None)),
        );
    }
    or_null(
        AllOfBuilder::new()
            .item(hours)
            .item(some_day)
            .description(Some(
                "Weekly business hours in the account's time zone, e.g. \
                 `{\"mon\": [[\"09:00\", \"18:00\"]], \"holidays\": [\"2026-12-25\"]}`: at least \
                 one interval; each starts before it ends, and a day's intervals do not overlap. \
                 `null`: calendar time.",
            ))
            .build()
            .into_schema(),
    )
}

// ------------------------------------------------------------ actions, conditions, triggers

/// Tagged objects: `{"type": name, ...fields}` and nothing else.
fn tagged(name: &str, fields: &[(&str, RefOr<Schema>, bool)]) -> Object {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("type", names_of([name], "The kind"))
        .required("type")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (field, schema, required) in fields {
        o = o.property(*field, schema.clone());
        if *required {
            o = o.required(*field);
        }
    }
    o.build()
}

fn statuses_but(excluded: Option<Status>) -> Object {
    names_of(
        Status::ALL
            .iter()
            .filter(|s| Some(**s) != excluded)
            .map(|s| s.as_str()),
        "A status",
    )
}

/// `(component name, schema)` of every action kind; `SetStatus…` once for
/// each status a trigger may rule out.
fn action_components() -> Vec<(String, Schema)> {
    let not_blank_template = || -> RefOr<Schema> {
        AllOfBuilder::new()
            .item(template_text())
            .item(string(not_blank_pattern()))
            .description(Some("Not blank; placeholders allowed"))
            .build()
            .into_schema()
    };
    // A subject without placeholders must be a subject as it is.
    let subject: RefOr<Schema> = AllOfBuilder::new()
        .item(template_text())
        .item(string(not_blank_pattern()))
        .item(
            AnyOfBuilder::new()
                .item(string(r"\{\{"))
                .item(string(trimmed_pattern(Subject::MAX_CHARS, false, false))),
        )
        .description(Some(format!(
            "Not blank; placeholders allowed; without any, at most {} characters after trimming",
            Subject::MAX_CHARS
        )))
        .build()
        .into_schema();
    let label = || -> RefOr<Schema> { not_blank().into() };
    let mut out = vec![(
        "ActionSetStatus".to_owned(),
        tagged("set_status", &[("status", status().into(), true)]).into(),
    )];
    for s in Status::ALL {
        out.push((
            format!("ActionSetStatusNot{}", capitalized(s.as_str())),
            tagged(
                "set_status",
                &[("status", statuses_but(Some(*s)).into(), true)],
            )
            .into(),
        ));
    }
    out.extend([
        (
            "ActionFinishChat".to_owned(),
            tagged("finish_chat", &[("status", status().into(), true)]).into(),
        ),
        (
            "ActionAssign".to_owned(),
            tagged(
                "assign",
                &[(
                    "agent_id",
                    or_null(
                        string(NO_NUL).description(Some("An agent; `null` or absent unassigns")),
                    )
                    .into(),
                    false,
                )],
            )
            .into(),
        ),
        (
            "ActionSetSubject".to_owned(),
            tagged("set_subject", &[("subject", subject, true)]).into(),
        ),
        (
            "ActionAddNote".to_owned(),
            tagged("add_note", &[("text", not_blank_template(), true)]).into(),
        ),
        (
            "ActionAddLabel".to_owned(),
            tagged("add_label", &[("label_id", label(), true)]).into(),
        ),
        (
            "ActionRemoveLabel".to_owned(),
            tagged("remove_label", &[("label_id", label(), true)]).into(),
        ),
        (
            "ActionSendReply".to_owned(),
            tagged("send_reply", &[("text", not_blank_template(), true)]).into(),
        ),
        ("ActionSplitOnTopicChange".to_owned(), {
            let mut o = tagged("split_on_topic_change", &[]);
            o.description = Some(
                "Rules with the customer_message trigger only: when the message starts \
                     a new question, it and what follows move to a new case"
                    .to_owned(),
            );
            o.into()
        }),
    ]);
    out
}

fn condition_components() -> Vec<(String, Schema)> {
    let contains: RefOr<Schema> = string(not_blank_pattern())
        .max_length(Some(CONDITION_TEXT_CHARS))
        .description(Some(format!(
            "Not blank, at most {CONDITION_TEXT_CHARS} characters; matched case-insensitively"
        )))
        .build()
        .into();
    let id = || -> RefOr<Schema> { string(NO_NUL).build().into() };
    vec![
        (
            "ConditionChannelIs".to_owned(),
            tagged(
                "channel_is",
                &[("channel_ids", array(id(), 1, None).build().into(), true)],
            )
            .into(),
        ),
        (
            "ConditionStatusIs".to_owned(),
            tagged(
                "status_is",
                &[("statuses", array(status(), 1, None).build().into(), true)],
            )
            .into(),
        ),
        (
            "ConditionChatStateIs".to_owned(),
            tagged(
                "chat_state_is",
                &[("chat_state", chat_state().into(), true)],
            )
            .into(),
        ),
        (
            "ConditionHasLabel".to_owned(),
            tagged("has_label", &[("label_id", id(), true)]).into(),
        ),
        (
            "ConditionLacksLabel".to_owned(),
            tagged("lacks_label", &[("label_id", id(), true)]).into(),
        ),
        (
            "ConditionSubjectContains".to_owned(),
            tagged("subject_contains", &[("text", contains.clone(), true)]).into(),
        ),
        (
            "ConditionMessageContains".to_owned(),
            tagged("message_contains", &[("text", contains.clone(), true)]).into(),
        ),
        (
            "ConditionCustomerNameContains".to_owned(),
            tagged("customer_name_contains", &[("text", contains, true)]).into(),
        ),
        (
            "ConditionCustomerIdIs".to_owned(),
            tagged(
                "customer_id_is",
                &[("customer_id", not_blank().into(), true)],
            )
            .into(),
        ),
        (
            "ConditionInBusinessHours".to_owned(),
            tagged("in_business_hours", &[]).into(),
        ),
        (
            "ConditionOutsideBusinessHours".to_owned(),
            tagged("outside_business_hours", &[]).into(),
        ),
    ]
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// What one kind of trigger allows: the trigger's schema, whether message
/// conditions fit, and the actions that do not contradict it.
struct TriggerVariant {
    trigger: Object,
    message: bool,
    /// The trigger is a customer's message (the only one a split on a
    /// change of topic fits).
    customer_message: bool,
    no_send_reply: bool,
    no_finish_chat: bool,
    set_status_not: Option<Status>,
}

fn trigger_variants() -> Vec<TriggerVariant> {
    let plain = |name: &str, message: bool| TriggerVariant {
        trigger: tagged(name, &[]),
        message,
        customer_message: name == "customer_message",
        no_send_reply: name == "agent_replied",
        no_finish_chat: name == "chat_finished",
        set_status_not: None,
    };
    let seconds: RefOr<Schema> = integer(1, MAX_DELAY_SECONDS).into();
    let mut out = vec![
        plain("case_created", false),
        plain("customer_message", true),
        plain("agent_replied", true),
        plain("chat_finished", false),
        TriggerVariant {
            trigger: tagged(
                "status_changed",
                &[("to", Object::with_type(Type::Null).into(), false)],
            ),
            message: false,
            customer_message: false,
            no_send_reply: false,
            no_finish_chat: false,
            set_status_not: None,
        },
    ];
    for s in Status::ALL {
        out.push(TriggerVariant {
            trigger: tagged(
                "status_changed",
                &[("to", names_of([s.as_str()], "The new status").into(), true)],
            ),
            message: false,
            customer_message: false,
            no_send_reply: false,
            no_finish_chat: false,
            set_status_not: Some(*s),
        });
    }
    out.push(TriggerVariant {
        trigger: tagged("pending_for", &[("seconds", seconds.clone(), true)]),
        message: false,
        customer_message: false,
        no_send_reply: false,
        no_finish_chat: false,
        set_status_not: Some(Status::Pending),
    });
    out.push(TriggerVariant {
        trigger: tagged("open_without_reply", &[("seconds", seconds, true)]),
        message: false,
        customer_message: false,
        no_send_reply: false,
        no_finish_chat: false,
        set_status_not: None,
    });
    out
}

fn one_of_refs(names: impl IntoIterator<Item = String>) -> Schema {
    let mut one = OneOfBuilder::new();
    for n in names {
        one = one.item(reference(&n));
    }
    one.build().into()
}

/// The conditions a trigger allows (`None`: any trigger's).
fn conditions_for(message: bool) -> Schema {
    one_of_refs(
        condition_components()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| message || n != "ConditionMessageContains"),
    )
}

/// The actions of a template, or of a rule with `trigger` (`None`: an
/// action of a rule whose trigger the request does not say).
fn actions_for(rule: Option<&TriggerVariant>, template: bool) -> Schema {
    let set_status = match rule.and_then(|t| t.set_status_not) {
        Some(s) => format!("ActionSetStatusNot{}", capitalized(s.as_str())),
        None => "ActionSetStatus".to_owned(),
    };
    let names = action_components()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.starts_with("ActionSetStatus") || *n == set_status)
        .filter(|n| !(template && n == "ActionSendReply"))
        .filter(|n| {
            n != "ActionSplitOnTopicChange"
                || !(template || rule.is_some_and(|t| !t.customer_message))
        })
        .filter(|n| !(rule.is_some_and(|t| t.no_send_reply) && n == "ActionSendReply"))
        .filter(|n| !(rule.is_some_and(|t| t.no_finish_chat) && n == "ActionFinishChat"));
    one_of_refs(names)
}

pub fn template_actions() -> ArrayBuilder {
    array(actions_for(None, true), 0, Some(MAX_ACTIONS)).description(Some(
        "What the template does besides its reply, in order, e.g. \
         `[{\"type\": \"set_status\", \"status\": \"closed\"}]`",
    ))
}

/// How a request body of rules is shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RuleBody {
    /// `POST /rules`: a whole rule.
    Create,
    /// `POST /rules/dry-run`: a whole rule, or one as `GET /rules` lists it.
    DryRun,
    /// `PATCH /rules/{id}`: any of the fields.
    Patch,
}

/// A rule's body: one variant per kind of trigger, each allowing the
/// conditions and actions that fit that trigger (and for a change without
/// a trigger, any of them: how they fit the rule's trigger is `409`).
pub fn rule_body(kind: RuleBody) -> Schema {
    let common = |mut o: ObjectBuilder| -> ObjectBuilder {
        o = o
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        match kind {
            RuleBody::Create => o
                .property("name", rule_name())
                .required("name")
                .property("enabled", or_null(Object::with_type(Type::Boolean))),
            RuleBody::Patch => o
                .property("name", or_null(rule_name()))
                .property("enabled", or_null(Object::with_type(Type::Boolean)))
                .property(
                    "position",
                    or_null(integer(
                        -crate::usecases::rules::MAX_POSITION,
                        crate::usecases::rules::MAX_POSITION,
                    )),
                ),
            RuleBody::DryRun => {
                for ignored in [
                    "id",
                    "name",
                    "enabled",
                    "position",
                    "created_at",
                    "updated_at",
                ] {
                    o = o.property(ignored, any_json());
                }
                o
            }
        }
    };
    let optional = kind == RuleBody::Patch;
    let parts = |o: ObjectBuilder, conditions: Schema, actions: Schema| -> ObjectBuilder {
        let conditions = array(conditions, 0, Some(MAX_CONDITIONS)).build();
        let actions = array(actions, 1, Some(MAX_ACTIONS)).build();
        let (conditions, actions): (RefOr<Schema>, RefOr<Schema>) = if optional {
            (or_null(conditions).into(), or_null(actions).into())
        } else {
            (conditions.into(), actions.into())
        };
        let o = o
            .property("conditions", conditions)
            .property("actions", actions);
        if optional { o } else { o.required("actions") }
    };
    let mut variants = OneOfBuilder::new();
    if optional {
        // No trigger in the change: the parts it gives must fit some trigger.
        variants = variants.item(parts(
            common(ObjectBuilder::new()).property("trigger", Object::with_type(Type::Null)),
            conditions_for(true),
            actions_for(None, false),
        ));
    }
    for t in trigger_variants() {
        let o = common(ObjectBuilder::new())
            .property("trigger", t.trigger.clone())
            .required("trigger");
        variants = variants.item(parts(
            o,
            conditions_for(t.message),
            actions_for(Some(&t), false),
        ));
    }
    variants
        .description(Some(
            "A trigger (`{\"type\": \"case_created\" | \"customer_message\" | \"agent_replied\" | \
             \"chat_finished\" | \"status_changed\" (optional `\"to\"`) | \"pending_for\" / \
             \"open_without_reply\" (with `\"seconds\"`)}`), conditions that must all hold, and \
             actions; `message_contains` only with a message trigger, and no action that the \
             trigger makes pointless",
        ))
        .build()
        .into()
}

/// Every schema the others refer to by name.
pub(super) fn add_components(openapi: &mut OpenApi) {
    let schemas = &mut openapi
        .components
        .get_or_insert_with(Default::default)
        .schemas;
    schemas.insert("Json".into(), json_component().into());
    for (name, schema) in action_components()
        .into_iter()
        .chain(condition_components())
    {
        schemas.insert(name, schema.into());
    }
}

// ------------------------------------------------------------ NUL

/// Gives every string of a request (path, query, body) that has no pattern
/// or list of values of its own [`NO_NUL`]: the server refuses NUL in all
/// of them.
pub(super) fn forbid_nul(openapi: &mut OpenApi) {
    let mut components = BTreeSet::new();
    for item in openapi.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                if let Some(s) = p.schema.as_mut() {
                    no_nul(s, &mut components);
                }
            }
            if let Some(body) = op.request_body.as_mut() {
                for content in body.content.values_mut() {
                    if let Some(s) = content.schema.as_mut() {
                        no_nul(s, &mut components);
                    }
                }
            }
        }
    }
    let mut done = BTreeSet::new();
    while let Some(name) = components.pop_first() {
        if !done.insert(name.clone()) {
            continue;
        }
        let schema = openapi
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut(&name));
        if let Some(s) = schema {
            let mut found = BTreeSet::new();
            no_nul(s, &mut found);
            components.extend(found.into_iter().filter(|n| !done.contains(n)));
        }
    }
}

fn no_nul(schema: &mut RefOr<Schema>, refs: &mut BTreeSet<String>) {
    match schema {
        RefOr::Ref(r) => {
            if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                refs.insert(name.to_owned());
            }
        }
        RefOr::T(s) => no_nul_in(s, refs),
    }
}

fn no_nul_in(schema: &mut Schema, refs: &mut BTreeSet<String>) {
    match schema {
        Schema::Object(o) => {
            let string = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(ts) => ts.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if string && o.pattern.is_none() && o.enum_values.is_none() {
                o.pattern = Some(NO_NUL.to_owned());
            }
            for p in o.properties.values_mut() {
                no_nul(p, refs);
            }
            if let Some(extra) = o.additional_properties.as_deref_mut()
                && let AdditionalProperties::RefOr(s) = extra
            {
                no_nul(s, refs);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                no_nul(items, refs);
            }
            for p in a.prefix_items.iter_mut() {
                no_nul_in(p, refs);
            }
        }
        Schema::OneOf(o) => o.items.iter_mut().for_each(|s| no_nul(s, refs)),
        Schema::AllOf(o) => o.items.iter_mut().for_each(|s| no_nul(s, refs)),
        Schema::AnyOf(o) => o.items.iter_mut().for_each(|s| no_nul(s, refs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    //! The patterns against the Rust checks they restate: on edge cases and
    //! on random strings of the characters that matter.

    use super::*;
    use rand::Rng;

    fn compile(pattern: &str) -> regex::Regex {
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 28)
            .build()
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    /// Strings around the edges: white space of both kinds, control
    /// characters, NUL, braces, `@`, and lengths near `max`.
    fn corpus(max: usize) -> Vec<String> {
        let pieces = [
            "",
            " ",
            "\t",
            "\n",
            "\u{85}",
            "\u{a0}",
            "\u{2003}",
            "\u{3000}",
            "\u{1c}",
            "\u{7f}",
            "\u{0}",
            "a",
            "é",
            "😀",
            "{",
            "}",
            "{{",
            "}}",
            "|",
            "@",
            ".",
            "x@y",
            "A",
            "customer.name",
            "{{customer.name}}",
            "{{ case.number | n/a }}",
            "{{nope}}",
        ];
        let mut out: Vec<String> = pieces.iter().map(|s| s.to_string()).collect();
        for a in pieces {
            for b in pieces {
                out.push(format!("{a}{b}"));
                out.push(format!("{a}x{b}"));
            }
        }
        for n in [max.saturating_sub(1), max, max + 1, max + 2] {
            out.push("x".repeat(n));
            out.push(format!(" {} ", "x".repeat(n)));
            out.push(format!("\u{a0}{}\t", "é".repeat(n)));
            out.push(format!("x{}x", " ".repeat(n.saturating_sub(2))));
        }
        let mut rng = rand::rng();
        for _ in 0..3000 {
            let len = rng.random_range(0..12);
            let s: String = (0..len)
                .map(|_| *pieces.get(rng.random_range(0..pieces.len())).unwrap_or(&""))
                .collect();
            out.push(s);
        }
        out
    }

    fn agree(pattern: &str, max: usize, check: impl Fn(&str) -> bool) {
        let re = compile(pattern);
        for s in corpus(max) {
            assert_eq!(
                re.is_match(&s),
                check(&s),
                "{pattern} on {s:?}: the pattern and the server disagree"
            );
        }
    }

    fn no_nul(s: &str) -> bool {
        !s.contains('\0')
    }

    #[test]
    fn names_are_what_display_name_takes() {
        agree(
            &trimmed_pattern(NAME_CHARS, false, false),
            NAME_CHARS,
            |s| no_nul(s) && crate::http::input::display_name(s).is_ok(),
        );
        agree(&trimmed_pattern(7, false, false), 7, |s| {
            let t = s.trim();
            no_nul(s) && !t.is_empty() && t.chars().count() <= 7
        });
    }

    #[test]
    fn printable_names_are_what_the_domain_takes() {
        agree(
            &trimmed_pattern(LabelName::MAX_CHARS, true, false),
            LabelName::MAX_CHARS,
            |s| no_nul(s) && LabelName::parse(s).is_ok(),
        );
        agree(
            &trimmed_pattern(TEMPLATE_NAME_CHARS, true, false),
            TEMPLATE_NAME_CHARS,
            |s| no_nul(s) && casedesk_domain::templates::parse_template_name(s).is_ok(),
        );
        agree(
            &trimmed_pattern(RULE_NAME_CHARS, true, false),
            RULE_NAME_CHARS,
            |s| no_nul(s) && crate::usecases::rules::parse_name(s).is_ok(),
        );
        let max = MAX_USER_FIELD;
        agree(&trimmed_pattern(max, true, true), max, |s| {
            no_nul(s) && crate::channels::widget::clean("name", Some(s.to_owned())).is_ok()
        });
    }

    #[test]
    fn optional_texts_are_what_their_checks_take() {
        let max = crate::usecases::attachments::MAX_CAPTION;
        agree(&trimmed_pattern(max, false, true), max, |s| {
            no_nul(s) && crate::usecases::attachments::check_caption(Some(s.to_owned())).is_ok()
        });
        agree(
            &trimmed_pattern(Subject::MAX_CHARS, false, false),
            Subject::MAX_CHARS,
            |s| no_nul(s) && Subject::parse(s).is_ok(),
        );
    }

    #[test]
    fn text_is_what_check_text_takes() {
        let re = compile(&not_blank_pattern());
        for s in corpus(10) {
            assert_eq!(
                re.is_match(&s),
                no_nul(&s) && crate::usecases::unit::check_text(&s).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn emails_are_what_normalize_email_takes() {
        let shape = compile(&email_shape_pattern());
        let length = compile(&email_length_pattern());
        let mut corpus = corpus(EMAIL_CHARS);
        for n in [EMAIL_CHARS - 3, EMAIL_CHARS - 2, EMAIL_CHARS - 1] {
            corpus.push(format!(" {}@b.c ", "a".repeat(n - 4)));
            corpus.push(format!("{}@b.c", "a".repeat(n)));
            corpus.push(format!("{}@İ.c", "É".repeat(n)));
        }
        for s in corpus {
            let both = shape.is_match(&s) && length.is_match(&s);
            assert_eq!(
                both,
                no_nul(&s) && crate::auth::normalize_email(&s).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn template_texts_are_what_the_domain_parses() {
        agree(&template_text_pattern(), 10, |s| {
            no_nul(s) && casedesk_domain::templates::TextTemplate::parse(s).is_ok()
        });
    }

    #[test]
    fn client_ids_are_what_the_widget_takes() {
        let re = compile(&format!("^[!-~]{{1,{}}}$", MAX_CLIENT_ID));
        for s in corpus(MAX_CLIENT_ID) {
            assert_eq!(
                re.is_match(&s),
                crate::channels::widget::client_id(Some(s.clone())).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn every_request_string_refuses_nul() {
        let (_, doc) = super::super::router();
        let json = serde_json::to_value(&doc).expect("document");
        let components = &json["components"]["schemas"];
        // Every string schema a request can hold has a pattern or values.
        fn walk(
            v: &serde_json::Value,
            at: &str,
            components: &serde_json::Value,
            seen: &mut BTreeSet<String>,
        ) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(name) = o
                        .get("$ref")
                        .and_then(|r| r.as_str())
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        if seen.insert(name.to_owned()) {
                            walk(&components[name], name, components, seen);
                        }
                        return;
                    }
                    let is_string = o.get("type").is_some_and(|t| {
                        t == "string" || t.as_array().is_some_and(|a| a.contains(&"string".into()))
                    });
                    assert!(
                        !is_string || o.contains_key("pattern") || o.contains_key("enum"),
                        "{at}: a string without a pattern"
                    );
                    for (k, v) in o {
                        walk(v, &format!("{at}/{k}"), components, seen);
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, v) in a.iter().enumerate() {
                        walk(v, &format!("{at}/{i}"), components, seen);
                    }
                }
                _ => {}
            }
        }
        let mut seen = BTreeSet::new();
        for (path, ops) in json["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                let at = format!("{method} {path}");
                walk(&op["parameters"], &at, components, &mut seen);
                walk(&op["requestBody"], &at, components, &mut seen);
            }
        }
        assert!(seen.contains("Json"), "{seen:?}");
    }
}
