//! What the dns checks share: the hosts to look up, the resolver views to ask, A+AAAA lookups of every
//! host in every view (concurrently, memoized by the evidence layer), how a lookup is classified, the
//! front-door shape, and the address ranges Let's Encrypt refuses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::future::join_all;
use serde::Serialize;

use crate::check::Context;
use crate::evidence::{DnsAnswer, DnsQuery, EvidenceError};
use crate::settings::ResolvedConfig;

use super::dns_name_problem;

/// The three front-door shapes of the k3s guide (`--front-door`, `MCP_DOCTOR_FRONT_DOOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrontDoor {
    /// DNS points at the ingress node or its load balancer.
    Direct,
    /// DNS points at Cloudflare, a WAF or a reverse proxy in front of the origin.
    Proxy,
    /// Internal DNS points at an internal enterprise LB or proxy.
    Internal,
}

impl FrontDoor {
    pub fn of(cfg: &ResolvedConfig) -> FrontDoor {
        match cfg
            .value("front_door")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("proxy") => FrontDoor::Proxy,
            Some("internal") => FrontDoor::Internal,
            _ => FrontDoor::Direct,
        }
    }

    /// A value that names no shape (`MCP_DOCTOR_FRONT_DOOR=cdn`), as given; None when valid or unset.
    pub fn invalid(cfg: &ResolvedConfig) -> Option<String> {
        let v = cfg.value("front_door")?;
        (!matches!(
            v.to_ascii_lowercase().as_str(),
            "direct" | "proxy" | "internal"
        ))
        .then(|| crate::config::shown(cfg, "front_door").unwrap_or_else(|| v.to_string()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FrontDoor::Direct => "direct",
            FrontDoor::Proxy => "proxy",
            FrontDoor::Internal => "internal",
        }
    }
}

/// A public host and its role (`platform`, `registry`, `mcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    pub role: &'static str,
    pub name: String,
}

impl Host {
    /// The report subject: `host/platform.example.com`.
    pub fn subject(&self) -> String {
        format!("host/{}", self.name)
    }
}

/// The configured public hosts that are valid DNS names, once each (dns.hosts-config judges the rest).
pub fn hosts(cfg: &ResolvedConfig) -> Vec<Host> {
    let h = cfg.public_hosts();
    let mut out: Vec<Host> = Vec::new();
    for (role, s) in [
        ("platform", h.platform),
        ("registry", h.registry),
        ("mcp", h.mcp),
    ] {
        let Some(s) = s else { continue };
        let name = s.value.trim().trim_end_matches('.').to_ascii_lowercase();
        if dns_name_problem(&name).is_none() && !out.iter().any(|x| x.name == name) {
            out.push(Host { role, name });
        }
    }
    out
}

/// Why a dns check has nothing to look up, when it has not.
pub fn no_hosts(cfg: &ResolvedConfig) -> Option<String> {
    hosts(cfg).is_empty().then(|| {
        "no valid public hosts are configured (MCP_PLATFORM_DOMAIN or the MCP_*_INGRESS_HOST variables; \
         dns.hosts-config says more)"
            .to_string()
    })
}

/// Every view to ask: this machine's resolver (None), then each `--dns-server`.
pub fn all_views(cfg: &ResolvedConfig) -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(cfg.dns_servers().into_iter().map(Some))
        .collect()
}

/// The views that stand for public DNS: the `--dns-server`s when given, else this machine's resolver.
pub fn public_views(cfg: &ResolvedConfig) -> Vec<Option<String>> {
    let servers = cfg.dns_servers();
    if servers.is_empty() {
        vec![None]
    } else {
        servers.into_iter().map(Some).collect()
    }
}

/// A view as messages name it.
pub fn view_name(server: Option<&str>) -> String {
    match server {
        None => "the system resolver".into(),
        Some(s) => format!("DNS server {s}"),
    }
}

/// The A and AAAA answers for one host from one view.
#[derive(Debug, Clone)]
pub struct HostLookup {
    pub host: Host,
    pub server: Option<String>,
    pub a: Result<DnsAnswer, EvidenceError>,
    pub aaaa: Result<DnsAnswer, EvidenceError>,
}

/// What a host's lookup amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// At least one address. `partial` names a family whose query failed (SERVFAIL, timeout ...).
    Addresses {
        addrs: Vec<IpAddr>,
        partial: Option<String>,
    },
    /// The name does not exist (NXDOMAIN), or a CNAME points at a name that does not (`chain`).
    NxDomain { chain: Vec<String> },
    /// The name exists with neither A nor AAAA (NOERROR, no data), possibly at the end of a CNAME chain.
    NoData { chain: Vec<String> },
    /// A server answered with an error code (SERVFAIL, REFUSED ...).
    ServerError { rcode: String },
    /// No answer in time, or no server reachable.
    NoAnswer { error: String },
    /// The evidence is not there (replay without this lookup, source not configured).
    Absent { error: EvidenceError },
}

impl HostLookup {
    pub fn view(&self) -> String {
        view_name(self.server.as_deref())
    }

    /// The A then AAAA addresses.
    pub fn addresses(&self) -> Vec<IpAddr> {
        [&self.a, &self.aaaa]
            .into_iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|a| a.records.iter().filter_map(|r| r.parse::<IpAddr>().ok()))
            .collect()
    }

    /// The CNAME chain either family followed (the longer one).
    pub fn chain(&self) -> Vec<String> {
        let a = self
            .a
            .as_ref()
            .map(|a| a.cname_chain.clone())
            .unwrap_or_default();
        let b = self
            .aaaa
            .as_ref()
            .map(|a| a.cname_chain.clone())
            .unwrap_or_default();
        if a.len() >= b.len() { a } else { b }
    }

    pub fn resolution(&self) -> Resolution {
        let addrs = self.addresses();
        let failed = |r: &Result<DnsAnswer, EvidenceError>, family: &str| -> Option<String> {
            match r {
                Ok(a) if a.rcode != "NOERROR" && a.rcode != "NXDOMAIN" => {
                    Some(format!("{family} answered {}", a.rcode))
                }
                Err(e) if !e.is_absent() => Some(format!("{family}: {e}")),
                _ => None,
            }
        };
        if !addrs.is_empty() {
            let partial = failed(&self.a, "A").or_else(|| failed(&self.aaaa, "AAAA"));
            return Resolution::Addresses { addrs, partial };
        }
        for r in [&self.a, &self.aaaa] {
            if let Err(e) = r
                && e.is_absent()
            {
                return Resolution::Absent { error: e.clone() };
            }
        }
        for r in [&self.a, &self.aaaa] {
            match r {
                Err(e) => {
                    return Resolution::NoAnswer {
                        error: e.to_string(),
                    };
                }
                Ok(a) if a.rcode != "NOERROR" && a.rcode != "NXDOMAIN" => {
                    return Resolution::ServerError {
                        rcode: a.rcode.clone(),
                    };
                }
                _ => {}
            }
        }
        let chain = self.chain();
        let nx = [&self.a, &self.aaaa]
            .into_iter()
            .any(|r| matches!(r, Ok(a) if a.rcode == "NXDOMAIN"));
        if nx {
            Resolution::NxDomain { chain }
        } else {
            Resolution::NoData { chain }
        }
    }

    /// The evidence for the report details.
    pub fn detail(&self) -> serde_json::Value {
        let side = |r: &Result<DnsAnswer, EvidenceError>| match r {
            Ok(a) => serde_json::to_value(a).unwrap_or_default(),
            Err(e) => serde_json::json!({ "error": e }),
        };
        serde_json::json!({
            "host": self.host.name,
            "resolver": self.view(),
            "A": side(&self.a),
            "AAAA": side(&self.aaaa),
        })
    }
}

/// Looks every host up (A and AAAA) in every view, concurrently; in host-then-view order.
pub async fn lookup_all(
    ctx: &Context,
    hosts: &[Host],
    views: &[Option<String>],
) -> Vec<HostLookup> {
    let jobs = hosts.iter().flat_map(|h| {
        views.iter().map(move |v| async move {
            let q = |t: &str| DnsQuery {
                name: h.name.clone(),
                record_type: t.into(),
                server: v.clone(),
            };
            let (qa, qaaaa) = (q("A"), q("AAAA"));
            let (a, aaaa) = futures::join!(
                ctx.evidence.dns.resolve(&qa),
                ctx.evidence.dns.resolve(&qaaaa)
            );
            HostLookup {
                host: h.clone(),
                server: v.clone(),
                a,
                aaaa,
            }
        })
    });
    join_all(jobs).await
}

/// Addresses as a sorted, de-duplicated, comma-separated list.
pub fn list(addrs: &[IpAddr]) -> String {
    let mut v: Vec<IpAddr> = addrs.to_vec();
    v.sort();
    v.dedup();
    let v: Vec<String> = v.iter().map(IpAddr::to_string).collect();
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}

/// The reserved range an address is in, as Let's Encrypt (Boulder) and letsdebug count them; None for a
/// public address.
pub fn reserved_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => reserved_v4(v4),
        IpAddr::V6(v6) => reserved_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn reserved_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "\"this network\" 0.0.0.0/8"),
        ([10, 0, 0, 0], 8, "RFC 1918 private 10.0.0.0/8"),
        (
            [100, 64, 0, 0],
            10,
            "carrier-grade NAT 100.64.0.0/10 (RFC 6598)",
        ),
        ([127, 0, 0, 0], 8, "loopback 127.0.0.0/8"),
        ([169, 254, 0, 0], 16, "link-local 169.254.0.0/16"),
        ([172, 16, 0, 0], 12, "RFC 1918 private 172.16.0.0/12"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments 192.0.0.0/24"),
        ([192, 0, 2, 0], 24, "documentation TEST-NET-1 192.0.2.0/24"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast 192.88.99.0/24"),
        ([192, 168, 0, 0], 16, "RFC 1918 private 192.168.0.0/16"),
        ([198, 18, 0, 0], 15, "benchmarking 198.18.0.0/15"),
        (
            [198, 51, 100, 0],
            24,
            "documentation TEST-NET-2 198.51.100.0/24",
        ),
        (
            [203, 0, 113, 0],
            24,
            "documentation TEST-NET-3 203.0.113.0/24",
        ),
        ([224, 0, 0, 0], 4, "multicast 224.0.0.0/4"),
        ([240, 0, 0, 0], 4, "reserved 240.0.0.0/4"),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, name)| *name)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

fn reserved_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return reserved_v4(v4).map(|_| "IPv4-mapped ::ffff:0:0/96");
    }
    let ranges: &[(&str, u32, &str)] = &[
        ("::", 128, "unspecified ::"),
        ("::1", 128, "loopback ::1"),
        ("64:ff9b:1::", 48, "local-use NAT64 64:ff9b:1::/48"),
        ("100::", 64, "discard-only 100::/64"),
        ("2001::", 23, "IETF protocol assignments 2001::/23"),
        ("2001:db8::", 32, "documentation 2001:db8::/32"),
        ("2002::", 16, "6to4 2002::/16"),
        ("fc00::", 7, "unique local (ULA) fc00::/7"),
        ("fe80::", 10, "link-local fe80::/10"),
        ("ff00::", 8, "multicast ff00::/8"),
    ];
    ranges
        .iter()
        .find(|(net, bits, _)| in_v6(ip, net.parse().expect("valid range"), *bits))
        .map(|(_, _, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ranges() {
        for (ip, want) in [
            ("10.1.2.3", Some("RFC 1918")),
            ("172.31.0.1", Some("RFC 1918")),
            ("192.168.1.1", Some("RFC 1918")),
            ("100.64.0.1", Some("carrier-grade NAT")),
            ("100.127.255.255", Some("carrier-grade NAT")),
            ("127.0.0.1", Some("loopback")),
            ("169.254.1.1", Some("link-local")),
            ("fd00::1", Some("unique local")),
            ("fe80::1", Some("link-local")),
            ("::1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("IPv4-mapped")),
            ("100.128.0.1", None),
            ("172.32.0.1", None),
            ("45.79.0.10", None),
            ("2a01:4f8::10", None),
        ] {
            let got = reserved_range(ip.parse().unwrap());
            match want {
                Some(w) => assert!(got.is_some_and(|g| g.contains(w)), "{ip}: {got:?}"),
                None => assert_eq!(got, None, "{ip}"),
            }
        }
    }
}
