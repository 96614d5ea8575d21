use async_trait::async_trait;

use super::cert::{CertInfo, is_ip};
use super::{Finding, conclude, judging_time, prod_fails, time_finding, tls_not_requested};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::{EvidenceError, TlsAnswer, TlsProbe};
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// A TLS handshake with SNI to each public host (`platform.`, `registry.`, `mcp.<domain>`, or the
    /// explicit `MCP_*_INGRESS_HOST`s) on port 443, or on `--tls-connect ADDR` (e.g. the ingress node)
    /// while still sending the host as SNI. The presented chain is kept even when it does not verify; it is
    /// then verified against the system roots plus `--ca-file` (enterprise PKI). For each host:
    ///
    /// - the leaf covers the host (a DNS SAN, or an IP SAN when the host is an IP address);
    /// - it is not Traefik's self-signed default (`CN=TRAEFIK DEFAULT CERT`, served when the Ingress's TLS
    ///   Secret is missing) nor from a Let's Encrypt staging CA: both warn under `--profile dev` and fail
    ///   under `prod`;
    /// - it is valid now (expired or not yet valid fails; under 14 days left warns; days left are shown);
    /// - the chain verifies: self-signed, an untrusted CA and a missing intermediate are told apart.
    ///
    /// ### Why it matters
    /// Browsers, MCP clients and kubelets pulling from `registry.<domain>` refuse a certificate that does not
    /// verify: `x509: certificate signed by unknown authority`, `x509: certificate is valid for ..., not
    /// ...`, or for an IP `x509: cannot validate certificate for 10.0.0.21 because it doesn't contain any
    /// IP SANs`.
    ///
    /// ### What a failure looks like
    /// `registry.example.com (203.0.113.10:443) serves CN=registry.example.com issued by CN=R11, covering
    /// DNS:registry.example.com; it should cover mcp.example.com`
    ///
    /// `platform.example.com serves Traefik's default self-signed certificate (CN=TRAEFIK DEFAULT CERT): no
    /// TLS Secret matches this host, so Traefik falls back to its own; it should serve a certificate for
    /// platform.example.com`
    ///
    /// ### How to fix
    /// Follow the remediation of the finding: make the owning Certificate cover the host, restore the missing
    /// TLS Secret, serve the full chain (leaf plus intermediates in `tls.crt`), trust your CA with
    /// `--ca-file`, or switch a staging issuer to Let's Encrypt production.
    pub struct PublicEndpoints {
        id: "tls.public-endpoints",
        title: "Public hosts serve trusted certificates that cover them",
        category: "tls",
        modes: Doctor,
        depends_on: [],
        reads: [],
    }
}

#[async_trait]
impl Check for PublicEndpoints {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if matches!(ctx.config.value("tls_probe"), Some("false" | "0" | "off")) {
            return Some("live TLS probing is turned off (MCP_DOCTOR_TLS_PROBE=false)".into());
        }
        tls_not_requested(ctx).or_else(|| {
            hosts(ctx).is_empty().then(|| {
                "no public hosts are configured (MCP_PLATFORM_DOMAIN or MCP_*_INGRESS_HOST)".into()
            })
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let now = judging_time(ctx).await;
        let ca_file = ctx.config.value("ca_file").map(str::to_string);
        let mut findings = Vec::new();
        let mut skipped = Vec::new();
        let mut good = Vec::new();
        // All hosts at once: each handshake has its own deadline, so the check takes one deadline at most.
        let probes: Vec<(String, TlsProbe)> = hosts(ctx)
            .into_iter()
            .map(|host| {
                let probe = TlsProbe {
                    address: address(ctx, &host),
                    server_name: host.clone(),
                    extra_ca_pem: None,
                };
                (host, probe)
            })
            .collect();
        let answers = futures::future::join_all(
            probes
                .iter()
                .map(|(_, probe)| ctx.evidence.tls.handshake(probe)),
        )
        .await;
        for ((host, probe), answer) in probes.into_iter().zip(answers) {
            match answer {
                Ok(answer) => {
                    match judge(&host, &probe.address, &answer, now, ctx, ca_file.as_deref()) {
                        Ok((leaf, protocol)) => good.push((host, leaf, protocol)),
                        Err(f) => findings.push(f),
                    }
                }
                Err(e) if e.is_absent() => skipped.push(format!("{host}: {e}")),
                Err(e) => findings.push(unreachable(&host, &probe.address, &e)),
            }
        }
        if findings.is_empty() && good.is_empty() {
            return Outcome::skip(format!("no TLS handshake to judge: {}", skipped.join("; ")));
        }
        let fewest = good
            .iter()
            .map(|(_, leaf, _)| super::days_left(leaf, now))
            .min()
            .unwrap_or_default();
        let hosts_ok: Vec<String> = good
            .iter()
            .map(|(h, leaf, protocol)| format!("{h} ({}, {protocol})", leaf.issued_by()))
            .collect();
        let mut pass = format!(
            "{} serve trusted certificates that cover them; fewest days left: {fewest}",
            super::cert::and_list(&hosts_ok)
        );
        if !skipped.is_empty() {
            pass.push_str(&format!("; not judged: {}", skipped.join("; ")));
        }
        let distribution = ctx.distribution().await;
        conclude(findings, pass, distribution)
            .detail("hosts", good.iter().map(|(h, _, _)| h).collect::<Vec<_>>())
            .detail("judged_at", super::cert::date(now))
    }
}

/// The public hosts, platform first, each once.
fn hosts(ctx: &Context) -> Vec<String> {
    let h = ctx.config.public_hosts();
    let mut out: Vec<String> = Vec::new();
    for s in [h.platform, h.registry, h.mcp].into_iter().flatten() {
        let v = s.value.trim().to_ascii_lowercase();
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// `--tls-connect` (port 443 unless given), else the host itself on 443.
fn address(ctx: &Context, host: &str) -> String {
    match ctx.config.value("tls_connect") {
        Some(a) if a.contains(':') && !a.ends_with(']') && a.matches(':').count() == 1 => {
            a.to_string()
        }
        Some(a) if a.starts_with('[') && a.contains("]:") => a.to_string(),
        Some(a) => format!("{a}:443"),
        None if host.contains(':')
            && !host.starts_with('[')
            && host.parse::<std::net::Ipv6Addr>().is_ok() =>
        {
            format!("[{host}]:443")
        }
        None => format!("{host}:443"),
    }
}

fn unreachable(host: &str, address: &str, e: &EvidenceError) -> Finding {
    Finding::new(
        Status::Fail,
        format!("no TLS handshake with {host} at {address}: {e}"),
        "rem.tls-endpoint-unreachable",
    )
    .var("host", host)
    .var("address", address)
    .subject(format!("host/{host}"))
}

/// The leaf and protocol of a healthy answer, or what is wrong with it.
fn judge(
    host: &str,
    address: &str,
    answer: &TlsAnswer,
    now: i64,
    ctx: &Context,
    ca_file: Option<&str>,
) -> Result<(CertInfo, String), Finding> {
    let subject = format!("host/{host}");
    let finding = |status: Status, text: String, rem: &'static str| {
        Finding::new(status, text, rem)
            .var("host", host)
            .var("address", address)
            .var("ca_file", ca_file.unwrap_or("<ca.pem>"))
            .subject(subject.clone())
    };
    let chain = match CertInfo::chain_from_base64_der(&answer.chain_der_base64) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            return Err(finding(
                Status::Fail,
                format!(
                    "{host} ({address}) completed a handshake without presenting a certificate"
                ),
                "rem.tls-endpoint-unreachable",
            ));
        }
        Err(e) => {
            return Err(finding(
                Status::Fail,
                format!("{host} ({address}) presented a certificate that cannot be read: {e}"),
                "rem.tls-endpoint-unreachable",
            ));
        }
    };
    let leaf = &chain[0];
    let served = format!(
        "{host} ({address}) serves {} issued by {}, covering {}",
        leaf.who(),
        leaf.issued_by(),
        leaf.names()
    );
    if leaf.is_traefik_default() {
        return Err(finding(
            prod_fails(ctx.profile),
            format!(
                "{host} ({address}) serves Traefik's default self-signed certificate (CN={}, covering {}): no TLS Secret matches this host, so Traefik falls back to its own; it should serve a certificate for {host}",
                super::cert::TRAEFIK_DEFAULT_CN,
                leaf.names()
            ),
            "rem.tls-traefik-default",
        ));
    }
    if leaf.is_staging() {
        return Err(finding(
            prod_fails(ctx.profile),
            format!(
                "{served}: a Let's Encrypt staging certificate, which no browser or kubelet trusts; it should come from the production ACME server"
            ),
            "rem.tls-staging-issuer",
        ));
    }
    if !leaf.covers(host) {
        let text = if is_ip(host) && leaf.ip_addresses.is_empty() {
            format!(
                "{served} but no IP SANs: clients fail with `x509: cannot validate certificate for {host} because it doesn't contain any IP SANs`; it should cover IP {host}, or clients should use a DNS name it covers"
            )
        } else {
            format!("{served}; it should cover {host}")
        };
        return Err(finding(Status::Fail, text, "rem.tls-name-mismatch"));
    }
    if let Some(f) = time_finding(&format!("served for {host} at {address}"), leaf, now)
        && f.status == Status::Fail
    {
        return Err(finding(f.status, f.text, f.remediation));
    }
    if let Some(code) = answer.verify_error.as_deref() {
        let trust = match ca_file {
            Some(f) => format!("the system roots or --ca-file {f}"),
            None => "the system roots (pass --ca-file for a private CA)".to_string(),
        };
        let detail = answer.verify_detail.as_deref().unwrap_or(code);
        return Err(match code {
            "unknown-issuer" if leaf.self_signed => finding(
                Status::Fail,
                format!(
                    "{served}: a self-signed certificate, not issued by any CA in {trust}; it should chain to a trusted CA"
                ),
                "rem.tls-self-signed",
            ),
            "unknown-issuer" if chain.len() == 1 => finding(
                Status::Fail,
                format!(
                    "{served}, but sends no intermediate: its issuer {} is not in {trust}, so the chain cannot be built (serve leaf plus intermediates in tls.crt; if {} is your private root, trust it instead)",
                    leaf.issued_by(),
                    leaf.issued_by()
                ),
                "rem.tls-intermediate-missing",
            ),
            "unknown-issuer" => {
                let top = chain.last().unwrap_or(leaf);
                let anchor = if top.self_signed {
                    top.who()
                } else {
                    top.issued_by()
                };
                finding(
                    Status::Fail,
                    format!(
                        "{served}: the chain ends at {anchor}, which is not in {trust}; it should chain to a trusted CA"
                    ),
                    "rem.tls-untrusted-ca",
                )
            }
            _ => finding(
                Status::Fail,
                format!("{served}, which does not verify: {detail}"),
                "rem.tls-untrusted-ca",
            ),
        });
    }
    if let Some(f) = time_finding(&format!("served for {host} at {address}"), leaf, now) {
        return Err(finding(f.status, f.text, f.remediation));
    }
    Ok((
        leaf.clone(),
        answer.protocol.clone().unwrap_or_else(|| "TLS".into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_443_and_honour_tls_connect() {
        let ctx = crate::test_support::Case::new()
            .env("MCP_DOCTOR_TLS_CONNECT", "127.0.0.1:8443")
            .build();
        assert_eq!(address(&ctx, "platform.example.com"), "127.0.0.1:8443");
        let ctx = crate::test_support::Case::new()
            .env("MCP_DOCTOR_TLS_CONNECT", "203.0.113.10")
            .build();
        assert_eq!(address(&ctx, "platform.example.com"), "203.0.113.10:443");
        let ctx = crate::test_support::Case::new().build();
        assert_eq!(
            address(&ctx, "platform.example.com"),
            "platform.example.com:443"
        );
    }
}
