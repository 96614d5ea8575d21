use std::net::IpAddr;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{EvidenceError, ProbeFailure};
use crate::http01::{addresses_of_each, challenge_url, hosts, probe, show_ip};
use crate::model::{CheckMeta, Outcome};
use mcp_doctor_remediations::Vars;

declare_check! {
    /// ### What it checks
    /// For each public host (when Let's Encrypt is requested with `--acme-email`), every address it
    /// resolves to, AAAA and A each on its own, answers HTTP on port 80: the first request of the
    /// Let's Encrypt validator (`GET http://<host>/.well-known/acme-challenge/<token>`, Host header kept) gets
    /// any HTTP answer. What the answer says is `http01.challenge-path`'s business.
    ///
    /// ### Why it matters
    /// Let's Encrypt validates HTTP-01 on port 80 only, from the internet, and tries the first AAAA before
    /// the first A. It falls back to IPv4 only when the IPv6 connection fails, and only on the first
    /// request; an AAAA that points at the wrong machine breaks issuance while every IPv4 test looks fine,
    /// and a dead AAAA is the first thing broken IPv6 clients hit. cert-manager then leaves the Certificate
    /// pending with `connection refused` or `timeout during connect`.
    ///
    /// ### What a failure looks like
    /// `platform.example.com: port 80 on [2001:db8::10] (AAAA) refused the connection (A 203.0.113.10
    /// answers); fix or remove the AAAA record`
    ///
    /// ### How to fix
    /// Make port 80 reach Traefik on every address (host firewall, cloud security group, ServiceLB on the
    /// ingress node), or remove DNS records that point elsewhere (remediation `rem.http01-port80`):
    ///
    /// ```sh
    /// curl -v --connect-to platform.example.com:80:203.0.113.10:80 http://platform.example.com/.well-known/acme-challenge/test
    /// ```
    pub struct Reachable {
        id: "http01.reachable",
        title: "Port 80 answers on every address of each public host",
        category: "http01",
        modes: Setup,
        depends_on: [],
        reads: [],
        timeout_secs: 45,
    }
}

#[async_trait]
impl Check for Reachable {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        super::not_applicable(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = hosts(&ctx.config);
        let mut failures: Vec<(String, String, Vars)> = Vec::new();
        let mut passes: Vec<String> = Vec::new();
        let mut details = Map::new();
        let mut lookup_errors: Vec<(String, EvidenceError)> = Vec::new();
        let looked_up = addresses_of_each(ctx, &hosts).await;
        for (host, addrs) in hosts.iter().zip(looked_up) {
            let addrs = match addrs {
                Ok(a) => a,
                Err(e) if e.is_absent() => {
                    return unreadable(&format!("the addresses of {host}"), &e);
                }
                Err(e) => {
                    lookup_errors.push((host.clone(), e));
                    continue;
                }
            };
            if addrs.is_empty() {
                let notes = if addrs.notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", addrs.notes.join(", "))
                };
                failures.push((
                    host.clone(),
                    format!(
                        "{host} has no A or AAAA record{notes}: Let's Encrypt cannot reach it at all"
                    ),
                    Vars::from([("host", host.clone()), ("address", "<ingress-public-ip>".into())]),
                ));
                details.insert(host.clone(), json!({"addresses": [], "dns": addrs.notes}));
                continue;
            }
            let url = challenge_url(host);
            let results = futures::future::join_all(addrs.all().map(|ip| {
                let p = probe(&url, &ip);
                async move { (ip, ctx.evidence.http.fetch(&p).await) }
            }))
            .await;
            let mut answering: Vec<(IpAddr, String)> = Vec::new();
            let mut dead: Vec<(IpAddr, String)> = Vec::new();
            let mut per_family = Map::new();
            for (ip, result) in results {
                let family = if ip.is_ipv6() { "AAAA" } else { "A" };
                let seen = match &result {
                    Ok(a) => {
                        answering.push((ip, format!("HTTP {}", a.status)));
                        format!("answers HTTP {}", a.status)
                    }
                    Err(e) if e.is_absent() => {
                        return unreadable(&format!("port 80 of {host} on {ip}"), e);
                    }
                    // TCP answered; what it said is the challenge path's finding.
                    Err(EvidenceError::Probe {
                        cause: cause @ (ProbeFailure::Tls | ProbeFailure::Protocol),
                        ..
                    }) => {
                        answering.push((ip, format!("connects ({})", cause.as_str())));
                        format!("connects, but the answer is not HTTP ({})", cause.as_str())
                    }
                    Err(e) => {
                        let why = match e {
                            EvidenceError::Probe {
                                cause: ProbeFailure::Refused,
                                ..
                            } => "refused the connection".to_string(),
                            EvidenceError::Probe {
                                cause: ProbeFailure::ConnectTimeout,
                                ..
                            } => "did not accept a connection in time".to_string(),
                            EvidenceError::Probe {
                                cause: ProbeFailure::Timeout,
                                ..
                            } => "accepted the connection but did not answer in time".to_string(),
                            other => format!("cannot be reached ({other})"),
                        };
                        dead.push((ip, why.clone()));
                        why
                    }
                };
                per_family
                    .entry(family)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("object")
                    .insert(ip.to_string(), Value::String(seen));
            }
            details.insert(host.clone(), Value::Object(per_family));
            if dead.is_empty() {
                let list: Vec<String> = answering.iter().map(|(ip, _)| show_ip(ip)).collect();
                passes.push(format!("{host} ({})", list.join(", ")));
                continue;
            }
            let dead_text: Vec<String> = dead
                .iter()
                .map(|(ip, why)| {
                    format!(
                        "port 80 on {} ({}) {why}",
                        show_ip(ip),
                        if ip.is_ipv6() { "AAAA" } else { "A" }
                    )
                })
                .collect();
            let mut text = format!("{host}: {}", dead_text.join(", "));
            if !answering.is_empty() {
                let ok: Vec<String> = answering
                    .iter()
                    .map(|(ip, _)| {
                        format!(
                            "{} {}",
                            if ip.is_ipv6() { "AAAA" } else { "A" },
                            show_ip(ip)
                        )
                    })
                    .collect();
                text.push_str(&format!(" ({} answers)", ok.join(", ")));
            }
            if dead.iter().any(|(ip, _)| ip.is_ipv6()) {
                text.push_str(
                    "; Let's Encrypt tries the AAAA first (falling back to IPv4 only when it cannot connect), so fix or remove the AAAA record",
                );
            }
            let first = dead[0].0;
            failures.push((
                host.clone(),
                text,
                Vars::from([("host", host.clone()), ("address", show_ip(&first))]),
            ));
        }
        let distribution = ctx.distribution().await;
        if let Some((_, _, vars)) = failures.first() {
            let message = failures
                .iter()
                .map(|(_, t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Outcome::fail(message)
                .subjects(failures.iter().map(|(h, _, _)| format!("host/{h}")))
                .remediate("rem.http01-port80", distribution, vars)
                .detail("addresses", details);
        }
        if let Some((host, e)) = lookup_errors.first() {
            return Outcome::error(format!("cannot look up the addresses of {host}: {e}"))
                .subjects(lookup_errors.iter().map(|(h, _)| format!("host/{h}")))
                .detail("addresses", details);
        }
        Outcome::pass(format!(
            "port 80 answers on every address: {}",
            passes.join(", ")
        ))
        .detail("addresses", details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http01::test_support::*;
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn every_address_answering_passes() {
        let o = scenario()
            .a("platform.example.com", &["203.0.113.10"])
            .aaaa("platform.example.com", &["2001:db8::10"])
            .answer("platform.example.com", "203.0.113.10", traefik_404())
            .answer("platform.example.com", "2001:db8::10", traefik_404())
            .only_host("platform.example.com")
            .run(&Reachable)
            .await;
        expect(&o, Status::Pass, &["port 80 answers on every address"]);
        assert!(
            o.message.contains("[2001:db8::10], 203.0.113.10"),
            "{}",
            o.message
        );
    }

    #[tokio::test]
    async fn a_dead_aaaa_fails_even_when_ipv4_answers() {
        let o = scenario()
            .a("platform.example.com", &["203.0.113.10"])
            .aaaa("platform.example.com", &["2001:db8::10"])
            .answer("platform.example.com", "203.0.113.10", traefik_404())
            .failure(
                "platform.example.com",
                "2001:db8::10",
                ProbeFailure::Refused,
            )
            .only_host("platform.example.com")
            .run(&Reachable)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "platform.example.com: port 80 on [2001:db8::10] (AAAA) refused the connection",
                "(A 203.0.113.10 answers)",
                "fix or remove the AAAA record",
            ],
        );
        assert_eq!(rem, "rem.http01-port80");
        assert_eq!(o.subjects, vec!["host/platform.example.com"]);
    }

    #[tokio::test]
    async fn a_host_without_addresses_fails() {
        let o = scenario()
            .nxdomain("platform.example.com")
            .only_host("platform.example.com")
            .run(&Reachable)
            .await;
        expect(
            &o,
            Status::Fail,
            &["platform.example.com has no A or AAAA record (AAAA NXDOMAIN, A NXDOMAIN)"],
        );
    }

    #[tokio::test]
    async fn not_applicable_without_acme_email_and_skips_without_dns() {
        let o = crate::test_support::Case::new()
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .run(&Reachable)
            .await;
        expect(&o, Status::Skip, &["Let's Encrypt is not requested"]);
        let o = crate::test_support::Case::new()
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .flag("acme_email", "ops@example.com")
            .run(&Reachable)
            .await;
        expect(&o, Status::Skip, &["not collected"]);
    }
}
