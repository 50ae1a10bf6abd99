//! End-to-end tests: the real server over HTTP, on SQLite and PostgreSQL.
//! One test binary for all of them (faster to build and link).

mod api;
mod attachments;
mod automation;
mod backup;
mod benches;
mod console;
mod durability;
mod email;
mod faults;
mod hardening;
mod help;
mod helpers;
mod imap;
mod imports;
mod limits;
mod live;
mod move_model;
mod moves;
mod outbound;
mod proxy;
mod reports;
mod rules;
mod simulate;
mod smtp;
mod telegram;
mod templates;
mod web;
mod widget;
