use std::collections::BTreeSet;
use std::net::IpAddr;

use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::config::vars;
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

use super::lookup::{self, HostLookup, Resolution};

declare_check! {
    /// ### What it checks
    /// Two agreements, among the hosts that resolve:
    ///
    /// - the platform, registry and mcp hosts resolve to the same set of addresses (the guide points all
    ///   three at the ingress node);
    /// - this machine's resolver (including `/etc/hosts`, as `getent hosts` sees it) gives the same set as
    ///   a direct query to each `--dns-server` (without `--dns-server` only the first part is judged).
    ///
    /// Either disagreement is a warning naming both sets.
    ///
    /// ### Why it matters
    /// A split horizon (an `/etc/hosts` line, an internal zone shadowing the public one, a stale cache)
    /// makes this machine, the nodes, cert-manager and Let's Encrypt reach different places: the doctor's
    /// own probes pass while Let's Encrypt fails, or the reverse. Hosts that point at different addresses
    /// are often one record that was forgotten when the ingress moved.
    ///
    /// ### What a failure looks like
    /// `platform.example.com resolves to 10.0.0.5 via the system resolver but to 45.79.0.10 via DNS
    /// server 192.0.2.53: a split horizon (/etc/hosts or an internal zone)`
    ///
    /// `the public hosts resolve to different addresses via the system resolver: platform.example.com
    /// 45.79.0.10; registry.example.com 45.79.0.11`
    ///
    /// ### How to fix
    /// Remove the stale override or align the internal zone (`rem.dns-split-horizon`); point the host that
    /// differs from the others at the ingress (`rem.dns-point-at-ingress`).
    pub struct Consistent {
        id: "dns.consistent",
        title: "All public hosts resolve alike, from every resolver",
        category: "dns",
        modes: Setup,
        depends_on: ["dns.resolve"],
        reads: [],
    }
}

#[async_trait]
impl Check for Consistent {
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
        judge(&lookups, views.len() > 1).detail(
            "lookups",
            lookups.iter().map(HostLookup::detail).collect::<Vec<_>>(),
        )
    }
}

fn set(l: &HostLookup) -> Option<BTreeSet<IpAddr>> {
    match l.resolution() {
        Resolution::Addresses { addrs, .. } => Some(addrs.into_iter().collect()),
        _ => None,
    }
}

fn shown(s: &BTreeSet<IpAddr>) -> String {
    lookup::list(&s.iter().copied().collect::<Vec<_>>())
}

fn judge(lookups: &[HostLookup], compared_servers: bool) -> Outcome {
    if let Some(Resolution::Absent { error }) = lookups
        .iter()
        .map(HostLookup::resolution)
        .find(|r| matches!(r, Resolution::Absent { .. }))
    {
        return crate::check::unreadable("the DNS answers for the public hosts", &error);
    }
    // Split horizon: per host, the system view against each server.
    let mut split: Vec<(String, String)> = Vec::new();
    for sys in lookups.iter().filter(|l| l.server.is_none()) {
        let Some(a) = set(sys) else { continue };
        for other in lookups
            .iter()
            .filter(|l| l.server.is_some() && l.host == sys.host)
        {
            let Some(b) = set(other) else { continue };
            if a != b {
                split.push((
                    sys.host.name.clone(),
                    format!(
                        "{} resolves to {} via {} but to {} via {}",
                        sys.host.name,
                        shown(&a),
                        sys.view(),
                        shown(&b),
                        other.view()
                    ),
                ));
            }
        }
    }
    if let Some((host, first)) = split.first() {
        let mut msg = format!("{first}: a split horizon (/etc/hosts or an internal zone)");
        if split.len() > 1 {
            msg.push_str(&format!(" (and {} more, see details)", split.len() - 1));
        }
        return Outcome::warn(msg)
            .detail(
                "disagreements",
                split.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            )
            .subjects(split.iter().map(|s| format!("host/{}", s.0)))
            .remediate(
                "rem.dns-split-horizon",
                None,
                &vars([("host", host.clone()), ("disagreement", first.clone())]),
            );
    }
    // The hosts among themselves, per view.
    let mut views: Vec<Option<String>> = Vec::new();
    for l in lookups {
        if !views.contains(&l.server) {
            views.push(l.server.clone());
        }
    }
    for v in &views {
        let sets: Vec<(&HostLookup, BTreeSet<IpAddr>)> = lookups
            .iter()
            .filter(|l| &l.server == v)
            .filter_map(|l| set(l).map(|s| (l, s)))
            .collect();
        let distinct: BTreeSet<&BTreeSet<IpAddr>> = sets.iter().map(|(_, s)| s).collect();
        if distinct.len() > 1 {
            // The set most hosts share (the platform host's on a tie) is the reference; the others stray.
            let count = |s: &BTreeSet<IpAddr>| sets.iter().filter(|(_, x)| x == s).count();
            let reference = sets
                .iter()
                .map(|(_, s)| s)
                .max_by_key(|s| {
                    (
                        count(s),
                        std::cmp::Reverse(sets.iter().position(|(_, x)| x == *s)),
                    )
                })
                .expect("at least two sets")
                .clone();
            let odd: Vec<&(&HostLookup, BTreeSet<IpAddr>)> =
                sets.iter().filter(|(_, s)| *s != reference).collect();
            let listed: Vec<String> = sets
                .iter()
                .map(|(l, s)| format!("{} {}", l.host.name, shown(s)))
                .collect();
            let view = lookup::view_name(v.as_deref());
            let reference_list: Vec<IpAddr> = reference.iter().copied().collect();
            return Outcome::warn(format!(
                "the public hosts resolve to different addresses via {view}: {}; the guide points all three at the \
                 ingress node",
                listed.join("; ")
            ))
            .subjects(odd.iter().map(|(l, _)| l.host.subject()))
            .remediate(
                "rem.dns-point-at-ingress",
                None,
                &vars([
                    ("host", odd[0].0.host.name.clone()),
                    ("addresses", shown(&odd[0].1)),
                    ("expected", lookup::list(&reference_list)),
                    ("expected_first", reference_list[0].to_string()),
                ]),
            );
        }
    }
    let resolved = lookups.iter().filter(|l| set(l).is_some()).count();
    if resolved == 0 {
        return Outcome::skip("no public host resolved (dns.resolve says why)");
    }
    let scope = if compared_servers {
        "the system resolver and every --dns-server agree, and all hosts share one address set"
    } else {
        "all hosts share one address set via the system resolver (give --dns-server to compare it with your DNS server)"
    };
    Outcome::pass(scope)
}
