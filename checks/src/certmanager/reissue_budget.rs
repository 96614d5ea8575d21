use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::{condition, created, list_cm};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};
use crate::tls::cert::{and_list, csr_dns_names, date};
use crate::tls::{Finding, conclude, name_of, namespace_of};

declare_check! {
    /// ### What it checks
    /// How many certificates cert-manager obtained from Let's Encrypt production for the same set of names
    /// in the last 7 days: issued CertificateRequests (Ready, reason `Issued`) whose issuer is a production
    /// ACME issuer (or no longer exists), grouped by the DNS names of their CSR. Let's Encrypt allows 5
    /// duplicate certificates per exact set of names per 7 days: 3 or 4 warn, 5 or more fail (the next
    /// issuance is refused until the oldest of them is a week old).
    ///
    /// ### Why it matters
    /// Reinstalling on the same public domain (namespace wipe, setup rerun) issues every certificate again.
    /// Past the limit, orders fail with `429 urn:ietf:params:acme:error:rateLimited` for up to a week and
    /// the platform runs on Traefik's default certificate.
    ///
    /// ### What a failure looks like
    /// `6 certificates for mcp.example.com, registry.example.com were issued by Let's Encrypt in the last 7
    /// days (limit 5): the next issuance for these names is refused until 2026-11-24T09:00:00Z`
    ///
    /// ### How to fix
    /// Do not reinstall or delete TLS Secrets until then. Before a reinstall, back up the platform TLS
    /// Secrets (`hack/deploy/mcpruntime-org/clean.sh --yes`) and restore them after setup.
    pub struct ReissueBudget {
        id: "certmanager.reissue-budget",
        title: "Let's Encrypt duplicate-certificate budget (5 per week) is not exhausted",
        category: "certmanager",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [
            kinds::CERTIFICATE_REQUESTS,
            kinds::CERTIFICATES,
            kinds::CLUSTER_ISSUERS,
            kinds::ISSUERS,
            kinds::CUSTOM_RESOURCE_DEFINITIONS,
        ],
    }
}

const WEEK: i64 = 7 * 86_400;
const LIMIT: usize = 5;
const WARN_AT: usize = 3;

#[async_trait]
impl Check for ReissueBudget {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let requests = match list_cm(ctx, &kinds::CERTIFICATE_REQUESTS).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Outcome::pass(
                    "cert-manager is not installed (no certificaterequests.cert-manager.io CRD): nothing was issued",
                );
            }
            Err(o) => return o,
        };
        let cluster_issuers = match list_cm(ctx, &kinds::CLUSTER_ISSUERS).await {
            Ok(i) => i.map(|i| i.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let issuers = match list_cm(ctx, &kinds::ISSUERS).await {
            Ok(i) => i.map(|i| i.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let certificates = match list_cm(ctx, &kinds::CERTIFICATES).await {
            Ok(c) => c.map(|c| c.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let now = super::super::tls::judging_time(ctx).await;
        let mut groups: BTreeMap<Vec<String>, Vec<&Value>> = BTreeMap::new();
        for r in requests.iter() {
            let when = created(r);
            if when <= now - WEEK || when > now {
                continue;
            }
            if !matches!(condition(r, "Ready"), Some(("True", "Issued", _))) {
                continue;
            }
            if !counts_against_letsencrypt(r, &cluster_issuers, &issuers) {
                continue;
            }
            let Some(names) = names_of(r, &certificates) else {
                continue;
            };
            groups.entry(names).or_default().push(r);
        }
        let mut findings = Vec::new();
        let mut worst = 0;
        for (names, reqs) in &groups {
            worst = worst.max(reqs.len());
            if reqs.len() < WARN_AT {
                continue;
            }
            let oldest = reqs.iter().map(|r| created(r)).min().unwrap_or(now);
            let mut req_names: Vec<String> = reqs
                .iter()
                .map(|r| format!("{}/{}", namespace_of(r), name_of(r)))
                .collect();
            req_names.sort();
            let owners: Vec<String> = reqs
                .iter()
                .filter_map(|r| {
                    r.pointer("/metadata/annotations/cert-manager.io~1certificate-name")
                        .and_then(Value::as_str)
                        .map(|c| format!("certificate/{}/{c}", namespace_of(r)))
                })
                .collect();
            let (status, text) = if reqs.len() >= LIMIT {
                (
                    Status::Fail,
                    format!(
                        "{} certificates for {} were issued by Let's Encrypt in the last 7 days (limit {LIMIT}; CertificateRequests {}): the next issuance for these names is refused until {}",
                        reqs.len(),
                        names.join(", "),
                        and_list(&req_names),
                        date(oldest + WEEK)
                    ),
                )
            } else {
                (
                    Status::Warn,
                    format!(
                        "{} of Let's Encrypt's {LIMIT} duplicate certificates per week for {} are used (CertificateRequests {}); the budget frees up from {}",
                        reqs.len(),
                        names.join(", "),
                        and_list(&req_names),
                        date(oldest + WEEK)
                    ),
                )
            };
            let mut f = Finding::new(status, text, "rem.le-duplicate-budget")
                .var("names", names.join(", "))
                .var("until", date(oldest + WEEK));
            for o in owners {
                f = f.subject(o);
            }
            findings.push(f);
        }
        conclude(
            findings,
            format!(
                "at most {worst} of Let's Encrypt's {LIMIT} duplicate certificates per week used for any set of names"
            ),
            ctx.distribution().await,
        )
        .detail("judged_at", date(now))
    }
}

/// Whether a request's issuer is Let's Encrypt production ACME (or is gone, so it may have been).
fn counts_against_letsencrypt(r: &Value, cluster_issuers: &[Value], issuers: &[Value]) -> bool {
    let name = r
        .pointer("/spec/issuerRef/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = r
        .pointer("/spec/issuerRef/kind")
        .and_then(Value::as_str)
        .unwrap_or("Issuer");
    let issuer = if kind == "ClusterIssuer" {
        cluster_issuers.iter().find(|i| name_of(i) == name)
    } else {
        issuers
            .iter()
            .find(|i| name_of(i) == name && namespace_of(i) == namespace_of(r))
    };
    match issuer {
        None => true,
        Some(i) => i
            .pointer("/spec/acme/server")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("api.letsencrypt.org") && !s.contains("staging")),
    }
}

/// The names a request asked for: its CSR's SANs, else its Certificate's `dnsNames`.
fn names_of(r: &Value, certificates: &[Value]) -> Option<Vec<String>> {
    if let Some(names) = r
        .pointer("/spec/request")
        .and_then(Value::as_str)
        .and_then(csr_dns_names)
        .filter(|n| !n.is_empty())
    {
        return Some(names);
    }
    let cert = r
        .pointer("/metadata/annotations/cert-manager.io~1certificate-name")
        .and_then(Value::as_str)?;
    let c = certificates
        .iter()
        .find(|c| name_of(c) == cert && namespace_of(c) == namespace_of(r))?;
    let mut names: Vec<String> = c
        .pointer("/spec/dnsNames")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect();
    names.sort();
    names.dedup();
    Some(names)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::test_support::{Case, expect};

    fn crds() -> Vec<Value> {
        [
            "certificaterequests.cert-manager.io",
            "clusterissuers.cert-manager.io",
            "certificates.cert-manager.io",
        ]
        .iter()
        .map(|n| json!({"metadata": {"name": n}}))
        .collect()
    }

    fn issued(n: usize, issuer: &str) -> Value {
        json!({"metadata": {"name": format!("registry-cert-{n}"), "namespace": "registry",
                            "creationTimestamp": format!("2026-11-{:02}T10:00:00Z", 14 + n),
                            "annotations": {"cert-manager.io/certificate-name": "registry-cert"}},
               "spec": {"issuerRef": {"kind": "ClusterIssuer", "name": issuer}},
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Issued",
                                          "message": "Certificate fetched from issuer successfully"}]}})
    }

    fn case(requests: Vec<Value>) -> Case {
        let issuer = |name: &str, server: &str| json!({"metadata": {"name": name}, "spec": {"acme": {"server": server}}});
        Case::new()
            .env("MCP_DOCTOR_NOW", "2026-11-21T12:00:00Z")
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, crds())
            .objects(&kinds::CERTIFICATE_REQUESTS, Scope::AllNamespaces, requests)
            .objects(
                &kinds::CLUSTER_ISSUERS,
                Scope::Cluster,
                vec![
                    issuer("le", "https://acme-v02.api.letsencrypt.org/directory"),
                    issuer(
                        "le-staging",
                        "https://acme-staging-v02.api.letsencrypt.org/directory",
                    ),
                ],
            )
            .objects(
                &kinds::CERTIFICATES,
                Scope::AllNamespaces,
                vec![
                    json!({"metadata": {"name": "registry-cert", "namespace": "registry"},
                            "spec": {"dnsNames": ["registry.example.com", "mcp.example.com"]}}),
                ],
            )
    }

    #[tokio::test]
    async fn three_in_a_week_warn_and_staging_does_not_count() {
        let mut reqs: Vec<Value> = (1..=3).map(|n| issued(n, "le")).collect();
        reqs.extend((4..=6).map(|n| issued(n, "le-staging")));
        let o = case(reqs).run(&ReissueBudget).await;
        expect(
            &o,
            Status::Warn,
            &[
                "3 of Let's Encrypt's 5",
                "mcp.example.com, registry.example.com",
            ],
        );
    }

    #[tokio::test]
    async fn five_in_a_week_fail() {
        let o = case((1..=5).map(|n| issued(n, "le")).collect())
            .run(&ReissueBudget)
            .await;
        expect(
            &o,
            Status::Fail,
            &["5 certificates", "refused until 2026-11-22T10:00:00Z"],
        );
    }
}
