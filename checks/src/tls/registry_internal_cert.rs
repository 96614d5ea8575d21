use async_trait::async_trait;
use serde_json::Value;

use super::cert::{and_list, host_only, is_ip};
use super::{
    Finding, SecretCert, conclude, days_left, judging_time, read_secret_cert, time_finding,
    tls_not_requested,
};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// With the bundled registry served over HTTPS (`--registry-mode bundled-https`, or `auto` when the
    /// Secret exists): the certificate in `registry/registry-internal-tls` (`tls.crt` only) covers the
    /// stable service name `registry.registry.svc.cluster.local` and the rendered pull host
    /// (`MCP_REGISTRY_ENDPOINT`, default `registry.registry.svc.cluster.local:5000`) unless that host is the
    /// public registry host, which the ingress serves with `registry-tls`. A pull host that is an IP address
    /// (such as the registry Service's ClusterIP) needs an IP SAN. Expired fails, under 14 days warns.
    ///
    /// ### Why it matters
    /// kubelet and the push helper verify the registry's certificate against the exact image host. A
    /// ClusterIP host like `10.43.12.34:5000` fails every pull with `x509: cannot validate certificate for
    /// 10.43.12.34 because it doesn't contain any IP SANs`.
    ///
    /// ### What a failure looks like
    /// `MCP_REGISTRY_ENDPOINT=10.43.12.34:5000 is the ClusterIP of Service registry/registry, but Secret
    /// registry/registry-internal-tls covers DNS:registry.registry.svc.cluster.local and no IP SANs: pulls
    /// fail with x509: cannot validate certificate for 10.43.12.34 because it doesn't contain any IP SANs`
    ///
    /// ### How to fix
    /// Pull by a name the certificate covers: `MCP_REGISTRY_ENDPOINT=registry.<domain>` on the public TLS
    /// path, or leave it unset for `registry.registry.svc.cluster.local:5000`, and rerun setup.
    pub struct RegistryInternalCert {
        id: "tls.registry-internal-cert",
        title: "registry-internal-tls covers the service name and the pull host",
        category: "tls",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::SECRETS, kinds::SERVICES],
    }
}

/// The registry Service's stable DNS name.
pub const SERVICE_DNS: &str = "registry.registry.svc.cluster.local";
pub const DEFAULT_PULL_HOST: &str = "registry.registry.svc.cluster.local:5000";

#[async_trait]
impl Check for RegistryInternalCert {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        match ctx.config.value("registry_mode") {
            Some("bundled-http") => Some("the bundled registry serves plain HTTP (--registry-mode bundled-http)".into()),
            Some("external") => Some("the registry is external (--registry-mode external): its TLS is not the bundled flow".into()),
            _ => tls_not_requested(ctx),
        }
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let mode = ctx.config.value("registry_mode").unwrap_or("auto");
        let pull_host = ctx
            .config
            .value("registry_endpoint")
            .unwrap_or(DEFAULT_PULL_HOST)
            .trim()
            .to_ascii_lowercase();
        let public_registry = ctx
            .config
            .public_hosts()
            .registry
            .map(|s| s.value.trim().to_ascii_lowercase());
        let via_ingress = public_registry.as_deref() == Some(host_only(&pull_host));
        let mut should_cover = vec![SERVICE_DNS.to_string()];
        if !via_ingress && host_only(&pull_host) != SERVICE_DNS {
            should_cover.push(host_only(&pull_host).to_string());
        }
        let spec = SecretCert {
            namespace: "registry",
            secret: "registry-internal-tls",
            owner: "setup, issued by cert-manager/mcp-runtime-ca".into(),
            should_cover: should_cover.clone(),
            names_remediation: "rem.registry-internal-cert-names",
        };
        let distribution = ctx.distribution().await;
        let now = judging_time(ctx).await;
        let leaf = match read_secret_cert(ctx, &spec).await {
            Err(o) => return o,
            Ok(None) if mode == "auto" => {
                return Outcome::skip(
                    "Secret registry/registry-internal-tls does not exist: the bundled registry serves plain HTTP (registry mode auto)",
                );
            }
            Ok(None) => {
                let f = Finding::new(
                    Status::Fail,
                    "Secret registry/registry-internal-tls does not exist: with --registry-mode bundled-https the registry pod cannot serve HTTPS".to_string(),
                    "rem.tls-secret-missing",
                )
                .var("namespace", "registry")
                .var("secret", "registry-internal-tls")
                .subject(spec.subject());
                return conclude(vec![f], String::new(), distribution);
            }
            Ok(Some(Err(e))) => {
                let f = Finding::new(
                    Status::Fail,
                    format!("{} {e}", spec.shown()),
                    "rem.tls-secret-missing",
                )
                .var("namespace", "registry")
                .var("secret", "registry-internal-tls")
                .subject(spec.subject());
                return conclude(vec![f], String::new(), distribution);
            }
            Ok(Some(Ok(chain))) => chain[0].clone(),
        };
        let mut findings = Vec::new();
        let missing: Vec<String> = should_cover
            .iter()
            .filter(|h| !leaf.covers(h))
            .cloned()
            .collect();
        let endpoint = ctx
            .config
            .get("registry_endpoint")
            .map(|_| format!("MCP_REGISTRY_ENDPOINT={pull_host}"))
            .unwrap_or_else(|| format!("the pull host {pull_host}"));
        if is_ip(&pull_host) && !leaf.covers(&pull_host) {
            let ip = host_only(&pull_host).to_string();
            let cluster_ip = service_cluster_ip(ctx).await;
            let what = if cluster_ip.as_deref() == Some(ip.as_str()) {
                "the ClusterIP of Service registry/registry".to_string()
            } else {
                "an IP address".to_string()
            };
            let sans = if leaf.ip_addresses.is_empty() {
                " and no IP SANs"
            } else {
                ""
            };
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!(
                        "{endpoint} is {what}, but {} covers {}{sans}: pulls fail with `x509: cannot validate certificate for {ip} because it doesn't contain any IP SANs`; the pull host should be a name the certificate covers ({})",
                        spec.shown(),
                        leaf.names(),
                        public_registry.clone().unwrap_or_else(|| DEFAULT_PULL_HOST.into())
                    ),
                    "rem.registry-pull-host-ip",
                )
                .var("pull_host", pull_host.clone())
                .var(
                    "registry_host",
                    public_registry.clone().unwrap_or_else(|| "registry.<domain>".into()),
                )
                .subject(spec.subject()),
            );
        } else if !missing.is_empty() {
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!(
                        "{} covers {} but not {}; it should cover {} ({endpoint})",
                        spec.shown(),
                        leaf.names(),
                        and_list(&missing),
                        and_list(&should_cover)
                    ),
                    "rem.registry-internal-cert-names",
                )
                .var("missing", and_list(&missing))
                .subject(spec.subject()),
            );
        }
        if let Some(f) = time_finding(&format!("in {}", spec.shown()), &leaf, now) {
            findings.push(
                f.var("namespace", "registry")
                    .var("secret", "registry-internal-tls")
                    .subject(spec.subject()),
            );
        }
        let pass = format!(
            "{} covers {} (pull host {pull_host}{}); issued by {}; {} days left",
            spec.shown(),
            and_list(&should_cover),
            if via_ingress {
                ", served by the ingress with registry-tls"
            } else {
                ""
            },
            leaf.issued_by(),
            days_left(&leaf, now)
        );
        conclude(findings, pass, distribution).detail("certificate", &leaf)
    }
}

/// The registry Service's ClusterIP, when it can be read.
async fn service_cluster_ip(ctx: &Context) -> Option<String> {
    let svc = ctx
        .evidence
        .kube
        .get(&kinds::SERVICES, Some("registry"), "registry")
        .await
        .ok()??;
    svc.pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .map(str::to_string)
}
