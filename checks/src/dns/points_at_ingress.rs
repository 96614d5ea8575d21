use std::net::IpAddr;

use async_trait::async_trait;

use crate::check::{Check, Context, unreadable};
use crate::config::vars;
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};

use super::ingress::{self, OriginAddress};
use super::lookup::{self, FrontDoor, HostLookup, Resolution};

declare_check! {
    /// ### What it checks
    /// What the public hosts resolve to (asked of each `--dns-server`, or of this machine's resolver when
    /// none is given), against the origin: the addresses where Traefik receives traffic, read from the
    /// cluster (the Traefik Service's `status.loadBalancer.ingress` in `kube-system` or `traefik`, and the
    /// ExternalIP/InternalIP of nodes labelled `ingress.mcpruntime.org/public=true` or
    /// `node-role.mcpruntime.org/public-ingress=true`). What is expected depends on `--front-door`:
    ///
    /// - `direct` (default): every A/AAAA of every host is an origin address;
    /// - `proxy`: no A/AAAA is an origin address (the records point at the CDN/WAF/proxy);
    /// - `internal`: the records point at the origin or at private addresses (an internal LB); a public
    ///   address is a warning.
    ///
    /// ### Why it matters
    /// A record that points elsewhere sends clients and Let's Encrypt to a machine that does not run
    /// Traefik: certificates never issue and the dashboard answers from the wrong place. Let's Encrypt
    /// tries AAAA first, so one stale AAAA is enough. With a proxy in front, a record that still points at
    /// the origin bypasses the proxy and exposes the node.
    ///
    /// ### What a failure looks like
    /// `registry.example.com resolves to 198.51.100.7 via DNS server 192.0.2.53, but Traefik receives
    /// traffic at 45.79.0.10 (node/mcp-ingress-1 ExternalIP): not the ingress node`
    ///
    /// `platform.example.com resolves to the origin 45.79.0.10 via the system resolver although
    /// --front-door proxy says a proxy is in front: clients bypass the proxy`
    ///
    /// ### How to fix
    /// Point the records at the ingress address (`rem.dns-point-at-ingress`), or at the proxy
    /// (`rem.dns-proxy-bypassed`); or tell the doctor the real front door with `--front-door`.
    pub struct PointsAtIngress {
        id: "dns.points-at-ingress",
        title: "The public hosts point at the ingress node (or at the proxy in front of it)",
        category: "dns",
        modes: Both,
        depends_on: ["dns.resolve", "cluster.api-reachable"],
        reads: [kinds::SERVICES, kinds::NODES],
    }
}

#[async_trait]
impl Check for PointsAtIngress {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        lookup::no_hosts(&ctx.config)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        if let Some(given) = FrontDoor::invalid(&ctx.config) {
            return Outcome::error(format!(
                "{given} names no front door: use direct, proxy or internal (--front-door)"
            ));
        }
        let door = FrontDoor::of(&ctx.config);
        let origin = match ingress::origin_addresses(ctx).await {
            Ok(o) => o,
            Err(unread) => return unread,
        };
        let hosts = lookup::hosts(&ctx.config);
        let views = lookup::public_views(&ctx.config);
        let lookups = lookup::lookup_all(ctx, &hosts, &views).await;
        // Where dns.resolve does not run (doctor mode, --only), this check names the hosts that do not
        // resolve itself; otherwise that is dns.resolve's finding and this check judges the others.
        let resolve_runs = ctx.selected.iter().any(|m| m.id == "dns.resolve");
        judge(door, &origin, &lookups, !resolve_runs)
            .detail("front_door", door)
            .detail("origin", &origin)
            .detail(
                "lookups",
                lookups.iter().map(HostLookup::detail).collect::<Vec<_>>(),
            )
    }
}

fn judge(
    door: FrontDoor,
    origin: &[OriginAddress],
    lookups: &[HostLookup],
    report_unresolved: bool,
) -> Outcome {
    if report_unresolved
        && let Some(p) = lookups.iter().find_map(super::resolve::problem)
        && p.status == Status::Fail
    {
        let subjects: Vec<String> = lookups
            .iter()
            .filter_map(super::resolve::problem)
            .filter(|p| p.status == Status::Fail)
            .map(|p| format!("host/{}", p.host))
            .collect();
        return Outcome::fail(p.message.clone())
            .subjects(subjects)
            .remediate(
                p.remediation,
                None,
                &vars([("host", p.host), ("resolver", p.resolver), ("why", p.why)]),
            );
    }
    let origin_ips: Vec<IpAddr> = origin.iter().map(|o| o.ip).collect();
    let shown_origin = ingress::describe(origin);
    // Lookups that resolved; the rest are dns.resolve's to report.
    let resolved: Vec<(&HostLookup, Vec<IpAddr>)> = lookups
        .iter()
        .filter_map(|l| match l.resolution() {
            Resolution::Addresses { addrs, .. } => Some((l, addrs)),
            _ => None,
        })
        .collect();
    if resolved.is_empty() {
        if let Some(Resolution::Absent { error }) = lookups.first().map(HostLookup::resolution) {
            return unreadable("the DNS answers for the public hosts", &error);
        }
        return Outcome::skip("no public host resolved (dns.resolve says why)");
    }
    if origin.is_empty() && door != FrontDoor::Internal {
        return Outcome::skip(
            "the cluster shows no ingress address to compare with: no Traefik LoadBalancer address in kube-system \
             or traefik, and no node labelled ingress.mcpruntime.org/public=true or \
             node-role.mcpruntime.org/public-ingress=true (see ingress.exposure and svclb.enablelb-labels)",
        );
    }
    let mut findings: Vec<(Status, String, &'static str, String, Vec<IpAddr>)> = Vec::new();
    for (l, addrs) in &resolved {
        let host = &l.host.name;
        let view = l.view();
        let shown = lookup::list(addrs);
        match door {
            FrontDoor::Direct => {
                let stray: Vec<IpAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| !origin_ips.contains(a))
                    .collect();
                if !stray.is_empty() {
                    let what = if stray.len() == addrs.len() {
                        "not the ingress node".to_string()
                    } else {
                        format!(
                            "{} {} not the ingress node, and Let's Encrypt and clients may pick {}",
                            lookup::list(&stray),
                            if stray.len() == 1 { "is" } else { "are" },
                            if stray.len() == 1 { "it" } else { "them" }
                        )
                    };
                    findings.push((
                        Status::Fail,
                        format!(
                            "{host} resolves to {shown} via {view}, but Traefik receives traffic at {shown_origin}: {what}"
                        ),
                        "rem.dns-point-at-ingress",
                        host.clone(),
                        addrs.clone(),
                    ));
                }
            }
            FrontDoor::Proxy => {
                let exposed: Vec<IpAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| origin_ips.contains(a))
                    .collect();
                if !exposed.is_empty() {
                    findings.push((
                        Status::Fail,
                        format!(
                            "{host} resolves to the origin {} via {view} although --front-door proxy says a proxy is in front \
                             (origin: {shown_origin}): clients bypass the proxy",
                            lookup::list(&exposed)
                        ),
                        "rem.dns-proxy-bypassed",
                        host.clone(),
                        exposed,
                    ));
                }
            }
            FrontDoor::Internal => {
                let public: Vec<IpAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| !origin_ips.contains(a) && lookup::reserved_range(*a).is_none())
                    .collect();
                if !public.is_empty() {
                    findings.push((
                        Status::Warn,
                        format!(
                            "{host} resolves to the public address {} via {view}, but --front-door internal expects \
                             the internal LB (a private address) or the ingress node",
                            lookup::list(&public)
                        ),
                        "rem.dns-point-at-ingress",
                        host.clone(),
                        public,
                    ));
                }
            }
        }
    }
    if findings.is_empty() {
        let summary: Vec<String> = resolved
            .iter()
            .map(|(l, a)| format!("{} {}", l.host.name, lookup::list(a)))
            .collect();
        let how = match door {
            FrontDoor::Direct => format!("the ingress ({shown_origin})"),
            FrontDoor::Proxy => format!("the proxy, not the origin ({shown_origin})"),
            FrontDoor::Internal => "the ingress node or an internal (private) address".to_string(),
        };
        return Outcome::pass(format!(
            "every public host points at {how}: {}",
            summary.join("; ")
        ));
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.0 == Status::Fail));
    let (status, message, rem, host, addrs) = findings[0].clone();
    let mut msg = message;
    if findings.len() > 1 {
        msg.push_str(&format!(" (and {} more, see details)", findings.len() - 1));
    }
    let expected_first = origin_ips
        .first()
        .map(IpAddr::to_string)
        .unwrap_or_else(|| "<ingress-public-ip>".into());
    Outcome::of(status, msg)
        .detail(
            "problems",
            findings
                .iter()
                .map(|f| serde_json::json!({ "status": f.0, "message": f.1 }))
                .collect::<Vec<_>>(),
        )
        .subjects(findings.iter().map(|f| format!("host/{}", f.3)))
        .remediate(
            rem,
            None,
            &vars([
                ("host", host),
                ("addresses", lookup::list(&addrs)),
                ("expected", lookup::list(&origin_ips)),
                ("expected_first", expected_first),
            ]),
        )
}
