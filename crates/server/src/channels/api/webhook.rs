//! Outbound webhooks: which addresses a delivery may reach, the HTTP client
//! that holds to it, and how often a delivery is tried.
//!
//! A webhook URL is typed by an admin, so unchecked it would let anyone who
//! can save one make the server send requests into its own network: the
//! cloud metadata service, a database on loopback, a panel on the LAN. The
//! rule ([`reach`]) is applied to the address a connection actually goes
//! to. A host name is checked by the client's resolver ([`GuardedResolver`])
//! on every lookup, so a name that resolves somewhere else later (DNS
//! rebinding) is still caught. An IP literal never reaches a resolver, so
//! [`check_url`] checks it when the channel is saved and again right before
//! each delivery. Redirects are never followed: a 3xx would send the request,
//! signature and all, to an address nobody checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The setting that opens loopback and private networks, as operators know it.
const ALLOW_PRIVATE_HINT: &str = "--webhook-allow-private (CASEDESK_WEBHOOK_ALLOW_PRIVATE)";

/// Where an address leads, for a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The internet: always allowed.
    Public,
    /// This host or a private network: allowed only with the operator's
    /// `webhook_allow_private` (a bridge on the same host is a fair use).
    Private(&'static str),
    /// Never allowed: nothing a webhook receiver should live at.
    Forbidden(&'static str),
}

const LOOPBACK: &str = "a loopback address (127.0.0.0/8, ::1)";
const PRIVATE: &str = "a private-network address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)";
const SHARED: &str = "a carrier-grade NAT address (100.64.0.0/10)";
const UNIQUE_LOCAL: &str = "a unique-local or site-local IPv6 address (fc00::/7, fec0::/10)";
const LINK_LOCAL: &str =
    "a link-local address (169.254.0.0/16, fe80::/10), where cloud metadata services answer";
const METADATA: &str = "a cloud metadata service address";
const THIS_NETWORK: &str = "an unspecified or \"this network\" address (0.0.0.0/8, ::)";
const MULTICAST: &str = "a multicast address (224.0.0.0/4, ff00::/8)";
const RESERVED: &str = "a broadcast or reserved address (240.0.0.0/4, 255.255.255.255)";
const IPV4_COMPATIBLE: &str = "a deprecated IPv4-compatible IPv6 address (::/96)";

/// The address policy of webhook deliveries.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        _ if ip == Ipv4Addr::new(100, 100, 100, 200) => Reach::Forbidden(METADATA), // Alibaba
        (0, _) => Reach::Forbidden(THIS_NETWORK),
        (127, _) => Reach::Private(LOOPBACK),
        (10, _) | (192, 168) => Reach::Private(PRIVATE),
        (172, 16..=31) => Reach::Private(PRIVATE),
        (100, 64..=127) => Reach::Private(SHARED),
        (169, 254) => Reach::Forbidden(LINK_LOCAL),
        (224..=239, _) => Reach::Forbidden(MULTICAST),
        (240..=255, _) => Reach::Forbidden(RESERVED),
        _ => Reach::Public,
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    // An IPv4 address in IPv6 clothing goes where the IPv4 address goes:
    // mapped (::ffff:a.b.c.d) and the NAT64 well-known prefix (64:ff9b::/96).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return reach_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let o = ip.octets();
        return reach_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    match s {
        _ if ip.is_unspecified() => Reach::Forbidden(THIS_NETWORK),
        _ if ip.is_loopback() => Reach::Private(LOOPBACK),
        // AWS's instance metadata over IPv6, inside the unique-local range.
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] => Reach::Forbidden(METADATA),
        [0, 0, 0, 0, 0, 0, _, _] => Reach::Forbidden(IPV4_COMPATIBLE),
        [x, ..] if x & 0xffc0 == 0xfe80 => Reach::Forbidden(LINK_LOCAL),
        [x, ..] if x & 0xff00 == 0xff00 => Reach::Forbidden(MULTICAST),
        [x, ..] if x & 0xfe00 == 0xfc00 || x & 0xffc0 == 0xfec0 => Reach::Private(UNIQUE_LOCAL),
        _ => Reach::Public,
    }
}

/// Whether a delivery may connect to `ip`; the refusal names the rule.
pub fn permit(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    match reach(ip) {
        Reach::Public => Ok(()),
        Reach::Private(_) if allow_private => Ok(()),
        Reach::Private(what) => Err(format!(
            "{ip} is {what}: webhooks go there only when the server runs with \
             {ALLOW_PRIVATE_HINT}"
        )),
        Reach::Forbidden(what) => Err(format!("{ip} is {what}: webhooks never go there")),
    }
}

/// Parses a webhook URL and checks what can be checked without a lookup:
/// the scheme, and an IP-literal host against [`permit`]. Numeric hosts
/// are read the way browsers read them (`http://2130706433/` is
/// `127.0.0.1`), so no spelling of an address slips past.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, String> {
    let parsed = Url::parse(url.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http(s) URL".into());
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("must be an http(s) URL with a host")?;
    // The parser has already turned every numeric spelling into the
    // canonical one (IPv6 in brackets): a host that parses as an address is
    // an address.
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Ok(ip) = literal.unwrap_or(host).parse::<IpAddr>() {
        permit(ip, allow_private)?;
    }
    Ok(parsed)
}

/// The addresses of a lookup a delivery may use; an error naming the rule
/// when there are none.
fn permitted_addrs(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let mut kept = Vec::new();
    let mut refused = None;
    for addr in addrs {
        match permit(addr.ip(), allow_private) {
            Ok(()) => kept.push(addr),
            Err(why) => refused = refused.or(Some(why)),
        }
    }
    match (kept.is_empty(), refused) {
        (false, _) => Ok(kept),
        (true, Some(why)) => Err(format!(
            "{host} resolves to no address webhooks may use: {why}"
        )),
        (true, None) => Err(format!("{host} resolves to no address")),
    }
}

/// Looks names up with the system resolver and drops every address
/// [`permit`] refuses, so a connection can only go where the rule allows.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the client puts in the URL's port.
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let kept = permitted_addrs(&host, found, allow_private)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The client webhook deliveries go through: it resolves through
/// [`GuardedResolver`], follows no redirect, and ignores proxy settings of
/// the environment (a proxy would connect to addresses nobody checked).
/// Only an operator's explicit `proxy` is used, and then it resolves host
/// names and enforces its own egress rules.
pub fn client(allow_private: bool, proxy: Option<&str>) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("casedesk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }));
    match proxy {
        Some(url) => builder.proxy(reqwest::Proxy::all(url)?).build(),
        None => builder.build(),
    }
}

/// An error with its causes (`reqwest` keeps the useful part, such as the
/// resolver's refusal, in the sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// How often a delivery is tried before it becomes a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub max_attempts: i64,
    /// The wait after the first failed attempt; it doubles after each
    /// further one, up to [`Retry::MAX_DELAY`].
    pub first_delay: Duration,
}

impl Retry {
    /// 24 attempts: with waits of 1 s, 2 s, 4 s, … up to an hour, the last
    /// one is about 12 hours after the first, long enough to ride out a
    /// receiver's night-long outage without retrying forever.
    pub const DEFAULT_MAX_ATTEMPTS: i64 = 24;
    pub const DEFAULT_FIRST_DELAY: Duration = Duration::from_secs(1);
    pub const MAX_DELAY: Duration = Duration::from_secs(3600);

    /// The wait before the next attempt after `attempts` failed ones, or
    /// `None` when they are used up.
    pub fn delay_after(&self, attempts: i64) -> Option<chrono::Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = (attempts.clamp(1, 32) - 1) as u32;
        let delay = self
            .first_delay
            .saturating_mul(1 << doublings)
            .min(Self::MAX_DELAY);
        chrono::Duration::from_std(delay).ok()
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            first_delay: Self::DEFAULT_FIRST_DELAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn assert_reach(addrs: &[&str], want: fn(Reach) -> bool, what: &str) {
        for a in addrs {
            assert!(
                want(reach(ip(a))),
                "{a} should be {what}: {:?}",
                reach(ip(a))
            );
        }
    }

    fn forbidden(r: Reach) -> bool {
        matches!(r, Reach::Forbidden(_))
    }

    fn private(r: Reach) -> bool {
        matches!(r, Reach::Private(_))
    }

    fn public(r: Reach) -> bool {
        r == Reach::Public
    }

    #[test]
    fn link_local_and_metadata_are_forbidden() {
        let addrs = [
            "169.254.169.254",
            "169.254.0.1",
            "169.254.255.255",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "100.100.100.200",
        ];
        assert_reach(&addrs, forbidden, "forbidden");
    }

    #[test]
    fn unspecified_multicast_broadcast_and_reserved_are_forbidden() {
        let addrs = [
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "ff05::2",
            "255.255.255.255",
            "240.0.0.1",
            "::7f00:1",
        ];
        assert_reach(&addrs, forbidden, "forbidden");
    }

    #[test]
    fn loopback_private_and_cgnat_are_private() {
        let addrs = [
            "127.0.0.1",
            "127.255.0.9",
            "::1",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
        ];
        assert_reach(&addrs, private, "private");
    }

    #[test]
    fn ipv4_in_ipv6_goes_where_the_ipv4_goes() {
        assert!(forbidden(reach(ip("::ffff:169.254.169.254"))));
        assert!(forbidden(reach(ip("::ffff:0.0.0.0"))));
        assert!(private(reach(ip("::ffff:127.0.0.1"))));
        assert!(private(reach(ip("::ffff:10.1.2.3"))));
        assert!(forbidden(reach(ip("64:ff9b::a9fe:a9fe"))));
        assert!(private(reach(ip("64:ff9b::7f00:1"))));
        assert!(public(reach(ip("::ffff:93.184.216.34"))));
        assert!(public(reach(ip("64:ff9b::5db8:d822"))));
    }

    #[test]
    fn the_internet_is_public() {
        let addrs = [
            "93.184.216.34",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:db8::1",
        ];
        assert_reach(&addrs, public, "public");
    }

    #[test]
    fn permit_opens_only_private_addresses_with_the_setting() {
        assert!(permit(ip("127.0.0.1"), true).is_ok());
        assert!(permit(ip("192.168.0.10"), true).is_ok());
        assert!(permit(ip("169.254.169.254"), true).is_err());
        assert!(permit(ip("93.184.216.34"), false).is_ok());
        let refusal = permit(ip("10.0.0.1"), false).expect_err("private");
        assert!(
            refusal.contains("CASEDESK_WEBHOOK_ALLOW_PRIVATE"),
            "{refusal}"
        );
        let refusal = permit(ip("169.254.169.254"), false).expect_err("metadata");
        assert!(refusal.contains("link-local"), "{refusal}");
    }

    #[test]
    fn check_url_sees_every_spelling_of_an_ip_literal() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:5432/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "https://0/",
        ] {
            assert!(check_url(url, false).is_err(), "{url} passed");
        }
        assert!(check_url("http://2130706433/", true).is_ok());
        assert!(check_url("http://[::ffff:169.254.169.254]/", true).is_err());
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        // A name is checked when it is resolved, not here.
        assert!(check_url("http://localhost:9/", false).is_ok());
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[test]
    fn lookups_keep_only_permitted_addresses() {
        let sa = |s: &str| SocketAddr::new(ip(s), 0);
        let mixed = [sa("127.0.0.1"), sa("93.184.216.34"), sa("::1")];
        assert_eq!(
            permitted_addrs("mixed.example", mixed, false),
            Ok(vec![sa("93.184.216.34")])
        );
        assert_eq!(
            permitted_addrs("mixed.example", mixed, true).map(|a| a.len()),
            Ok(3)
        );
        let refusal =
            permitted_addrs("localhost", [sa("127.0.0.1"), sa("::1")], false).expect_err("none");
        assert!(
            refusal.starts_with("localhost resolves to no address webhooks may use")
                && refusal.contains("loopback"),
            "{refusal}"
        );
        assert!(permitted_addrs("meta", [sa("169.254.169.254")], true).is_err());
    }

    #[test]
    fn retries_double_up_to_an_hour_and_stop_at_the_cap() {
        let r = Retry::default();
        let secs = |n| r.delay_after(n).map(|d| d.num_seconds());
        assert_eq!(secs(1), Some(1));
        assert_eq!(secs(2), Some(2));
        assert_eq!(secs(5), Some(16));
        assert_eq!(secs(13), Some(3600));
        assert_eq!(secs(23), Some(3600));
        assert_eq!(secs(24), None, "the 24th failed attempt is the last");
        let fast = Retry {
            max_attempts: 3,
            first_delay: Duration::from_millis(50),
        };
        assert_eq!(fast.delay_after(2).map(|d| d.num_milliseconds()), Some(100));
        assert_eq!(fast.delay_after(3), None);
    }
}
