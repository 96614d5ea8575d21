use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::config::vars;
use crate::declare_check;
use crate::model::{CheckMeta, Outcome, Status};

use super::lookup::{self, HostLookup, Resolution};

declare_check! {
    /// ### What it checks
    /// Each public host (platform, registry, mcp) resolves to at least one A or AAAA address, asked of
    /// this machine's resolver (the servers in `/etc/resolv.conf`, with `/etc/hosts` first, as
    /// `getent hosts` does) and of every `--dns-server IP[:PORT]` directly. CNAME chains are followed and
    /// kept. The ways a name can fail are told apart, because each has another fix:
    ///
    /// - NXDOMAIN: the name does not exist (no record), or a CNAME points at a name that does not
    ///   (a dangling CNAME);
    /// - NOERROR with no data: the name exists but has neither A nor AAAA;
    /// - SERVFAIL / REFUSED: the server cannot answer for the zone (zone failed to load, broken
    ///   delegation, DNSSEC);
    /// - timeout: no server answered in time.
    ///
    /// One address family failing (AAAA SERVFAIL) while the other resolves is a warning.
    ///
    /// ### Why it matters
    /// Setup issues certificates and pulls images by these names. With Let's Encrypt, cert-manager's order
    /// fails with `NXDOMAIN` or `SERVFAIL looking up A` long after setup started; nodes fail pulls with
    /// `no such host`.
    ///
    /// ### What a failure looks like
    /// `registry.example.com does not exist (NXDOMAIN from the system resolver): create its A record`
    ///
    /// `platform.example.com is a CNAME to lb.example.net, which does not exist (NXDOMAIN from DNS server
    /// 192.0.2.53): a dangling CNAME; fix or remove it`
    ///
    /// `mcp.example.com: DNS server 192.0.2.53 answered SERVFAIL: the zone or the server is broken, not
    /// the record`
    ///
    /// ### How to fix
    /// Create the records (remediation `rem.dns-missing-record`), or repair the zone/server
    /// (`rem.dns-server-failure`); check with `dig +short <host>` and `getent hosts <host>`.
    pub struct Resolve {
        id: "dns.resolve",
        title: "Each public host resolves (A/AAAA) from here",
        category: "dns",
        modes: Setup,
        depends_on: ["dns.hosts-config"],
        reads: [],
    }
}

#[async_trait]
impl Check for Resolve {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        lookup::no_hosts(&ctx.config)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = lookup::hosts(&ctx.config);
        let views = lookup::all_views(&ctx.config);
        let lookups = lookup::lookup_all(ctx, &hosts, &views).await;
        judge(&lookups)
    }
}

/// One host/view that did not resolve cleanly.
pub(crate) struct Problem {
    pub status: Status,
    pub message: String,
    pub remediation: &'static str,
    pub host: String,
    pub resolver: String,
    pub why: String,
}

/// The problem with one lookup, if any.
pub(crate) fn problem(l: &HostLookup) -> Option<Problem> {
    let host = &l.host.name;
    let view = l.view();
    let make = |status, message: String, remediation, why: String| Problem {
        status,
        message,
        remediation,
        host: host.clone(),
        resolver: view.clone(),
        why,
    };
    match l.resolution() {
        Resolution::Addresses { partial: None, .. } | Resolution::Absent { .. } => None,
        Resolution::Addresses {
            addrs,
            partial: Some(p),
        } => Some(make(
            Status::Warn,
            format!(
                "{host} resolves to {} via {view}, but {p}: clients that ask for that family fail",
                lookup::list(&addrs)
            ),
            "rem.dns-server-failure",
            p,
        )),
        Resolution::NxDomain { chain } if chain.is_empty() => Some(make(
            Status::Fail,
            format!("{host} does not exist (NXDOMAIN from {view}): create its A record"),
            "rem.dns-missing-record",
            "NXDOMAIN".into(),
        )),
        Resolution::NxDomain { chain } => Some(make(
            Status::Fail,
            format!(
                "{host} is a CNAME to {}, which does not exist (NXDOMAIN from {view}): a dangling CNAME; fix or remove it",
                chain.join(" -> ")
            ),
            "rem.dns-missing-record",
            format!("dangling CNAME to {}", chain.join(" -> ")),
        )),
        Resolution::NoData { chain } => {
            let name = chain.last().unwrap_or(host);
            let via = if chain.is_empty() {
                String::new()
            } else {
                format!(" (a CNAME to {})", chain.join(" -> "))
            };
            Some(make(
                Status::Fail,
                format!(
                    "{host}{via} exists but has no A or AAAA record (NOERROR, no data from {view}): add an A record for {name}"
                ),
                "rem.dns-missing-record",
                "NOERROR with no A/AAAA data".into(),
            ))
        }
        Resolution::ServerError { rcode } => Some(make(
            Status::Fail,
            format!(
                "{host}: {view} answered {rcode}: the zone or the server is broken, not the record"
            ),
            "rem.dns-server-failure",
            rcode,
        )),
        Resolution::NoAnswer { error } => Some(make(
            Status::Fail,
            format!("{host}: {error}: no answer, so nothing can resolve it from here"),
            "rem.dns-server-failure",
            "timeout".into(),
        )),
    }
}

fn judge(lookups: &[HostLookup]) -> Outcome {
    let details: Vec<_> = lookups.iter().map(HostLookup::detail).collect();
    let absent: Vec<&HostLookup> = lookups
        .iter()
        .filter(|l| matches!(l.resolution(), Resolution::Absent { .. }))
        .collect();
    let mut problems: Vec<Problem> = lookups.iter().filter_map(problem).collect();
    problems.sort_by_key(|p| std::cmp::Reverse(p.status == Status::Fail));
    if let Some(first) = problems.first() {
        let mut message = first.message.clone();
        let mut other_hosts: Vec<&str> = Vec::new();
        for p in &problems {
            if p.host != first.host && !other_hosts.contains(&p.host.as_str()) {
                other_hosts.push(&p.host);
            }
        }
        if !other_hosts.is_empty() {
            message.push_str(&format!(
                " (and {} more: {}; see details)",
                other_hosts.len(),
                other_hosts.join(", ")
            ));
        } else if problems.len() > 1 {
            if problems.iter().all(|p| p.why == first.why) {
                message.push_str(" (the same from the other resolvers asked)");
            } else {
                message.push_str(" (other resolvers answer otherwise: see details)");
            }
        }
        let subjects: Vec<String> = problems
            .iter()
            .map(|p| format!("host/{}", p.host))
            .collect();
        let listed: Vec<_> = problems
            .iter()
            .map(|p| serde_json::json!({ "status": p.status, "message": p.message }))
            .collect();
        return Outcome::of(first.status, message)
            .detail("problems", listed)
            .detail("lookups", details)
            .subjects(subjects)
            .remediate(
                first.remediation,
                None,
                &vars([
                    ("host", first.host.clone()),
                    ("resolver", first.resolver.clone()),
                    ("why", first.why.clone()),
                ]),
            );
    }
    if let Some(l) = absent.first()
        && let Resolution::Absent { error } = l.resolution()
    {
        return crate::check::unreadable(&format!("DNS for {}", l.host.name), &error)
            .detail("lookups", details);
    }
    let summary: Vec<String> = lookups
        .iter()
        .filter(|l| l.server.is_none())
        .map(|l| format!("{} {}", l.host.name, lookup::list(&l.addresses())))
        .collect();
    let views: Vec<String> = lookups.iter().fold(Vec::new(), |mut v, l| {
        if !v.contains(&l.view()) {
            v.push(l.view());
        }
        v
    });
    Outcome::pass(format!(
        "every public host resolves ({}) via {}",
        summary.join("; "),
        views.join(" and ")
    ))
    .detail("lookups", details)
}
