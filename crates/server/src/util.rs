//! Small helpers shared by the HTTP layer and the use cases.

use casedesk_domain::Time;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new opaque id: a UUIDv7, so ids sort roughly by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// 32 random bytes as hex: bearer tokens and channel inbound tokens.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// RFC 3339 in UTC with microseconds, as every time in the API.
pub fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn opt_rfc3339(t: Option<Time>) -> Option<String> {
    t.map(rfc3339)
}
