use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::config::{shown, vars};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

use super::lookup::{self, HostLookup, Resolution};

declare_check! {
    /// ### What it checks
    /// With `--acme-email` (Let's Encrypt HTTP-01), no A or AAAA record of a public host is in private or
    /// reserved address space, as Let's Encrypt counts it: RFC 1918 (10/8, 172.16/12, 192.168/16),
    /// carrier-grade NAT 100.64/10, loopback (127/8, ::1), link-local (169.254/16, fe80::/10), unique
    /// local fc00::/7, the documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32),
    /// benchmarking 198.18/15, multicast, 0/8, 240/4, 6to4 and the like. The answers judged are those of
    /// each `--dns-server` (public DNS), else of this machine's resolver.
    ///
    /// ### Why it matters
    /// Let's Encrypt validates from the internet and refuses reserved addresses outright, so every order
    /// for such a name fails, and five failures an hour per name lock the account out for that hour.
    /// Private names are the internal front door: they need an enterprise issuer, not `--acme-email`.
    ///
    /// ### What a failure looks like
    /// `registry.example.com resolves to 10.0.0.5 (RFC 1918 private 10.0.0.0/8) via the system resolver:
    /// Let's Encrypt cannot reach it, so --acme-email ops@example.com cannot issue a certificate for it`
    ///
    /// ### How to fix
    /// Publish the public address of the ingress node (or proxy), or issue from an enterprise CA with
    /// `--tls-cluster-issuer` instead (`rem.dns-reserved-address`).
    pub struct ReservedAddress {
        id: "dns.reserved-address",
        title: "With Let's Encrypt, no public host resolves to private or reserved space",
        category: "dns",
        modes: Setup,
        depends_on: ["dns.resolve"],
        reads: [],
    }
}

#[async_trait]
impl Check for ReservedAddress {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if ctx.config.value("acme_email").is_none() {
            return Some(
                "Let's Encrypt is not requested (no --acme-email / MCP_ACME_EMAIL): private addresses are fine \
                 with an enterprise issuer"
                    .into(),
            );
        }
        lookup::no_hosts(&ctx.config)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = lookup::hosts(&ctx.config);
        let views = lookup::public_views(&ctx.config);
        let lookups = lookup::lookup_all(ctx, &hosts, &views).await;
        let acme = shown(&ctx.config, "acme_email").unwrap_or_else(|| "--acme-email".into());
        judge(&lookups, &acme).detail(
            "lookups",
            lookups.iter().map(HostLookup::detail).collect::<Vec<_>>(),
        )
    }
}

fn judge(lookups: &[HostLookup], acme: &str) -> Outcome {
    let mut bad: Vec<(String, String, String, String)> = Vec::new();
    let mut checked = 0;
    for l in lookups {
        match l.resolution() {
            Resolution::Addresses { addrs, .. } => {
                checked += 1;
                for ip in addrs {
                    if let Some(range) = lookup::reserved_range(ip) {
                        bad.push((
                            l.host.name.clone(),
                            ip.to_string(),
                            range.to_string(),
                            l.view(),
                        ));
                    }
                }
            }
            Resolution::Absent { error } => {
                return crate::check::unreadable("the DNS answers for the public hosts", &error);
            }
            _ => {}
        }
    }
    if let Some((host, ip, range, view)) = bad.first() {
        let mut msg = format!(
            "{host} resolves to {ip} ({range}) via {view}: Let's Encrypt cannot reach it, so {acme} cannot issue a \
             certificate for it"
        );
        if bad.len() > 1 {
            msg.push_str(&format!(" (and {} more, see details)", bad.len() - 1));
        }
        let same_host: Vec<String> = bad
            .iter()
            .filter(|b| &b.0 == host)
            .map(|b| b.1.clone())
            .collect();
        return Outcome::fail(msg)
            .detail(
                "reserved",
                bad.iter()
                    .map(|b| serde_json::json!({ "host": b.0, "address": b.1, "range": b.2, "resolver": b.3 }))
                    .collect::<Vec<_>>(),
            )
            .subjects(bad.iter().map(|b| format!("host/{}", b.0)))
            .remediate(
                "rem.dns-reserved-address",
                None,
                &vars([
                    ("host", host.clone()),
                    ("addresses", same_host.join(", ")),
                    ("range", range.clone()),
                ]),
            );
    }
    if checked == 0 {
        return Outcome::skip("no public host resolved (dns.resolve says why)");
    }
    Outcome::pass("every address of the public hosts is public: Let's Encrypt can reach them")
}
