use async_trait::async_trait;
use serde_json::Value;

use super::{PLATFORM_NAMESPACES, condition, created, is_ready, list_cm, owned_by};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};
use crate::tls::{Finding, conclude, name_of, namespace_of, tls_not_requested};

declare_check! {
    /// ### What it checks
    /// Every Certificate in the platform namespaces (`registry`, `mcp-sentinel`, `mcp-runtime`,
    /// `mcp-servers`) is Ready. For one that is not, the chain cert-manager works through is followed:
    /// Certificate -> its newest CertificateRequest -> that request's Order -> the Order's Challenges, and
    /// the deepest reason found is surfaced in one line naming the Certificate and the Challenge (or
    /// Order): the HTTP-01 self check got a 404, the name does not resolve (NXDOMAIN), Let's Encrypt rate
    /// limited the order, or the issuer refused the request.
    ///
    /// ### Why it matters
    /// `kubectl get certificate -A` only says `False`; the cause sits three objects further down. Until the
    /// Certificate is Ready, its Secret is missing or stale and Traefik serves its default certificate.
    ///
    /// ### What a failure looks like
    /// `Certificate registry/registry-cert is not Ready (DoesNotExist: Issuing certificate as Secret does
    /// not exist): Challenge registry/registry-cert-1-3188722312-1847432431 for mcp.example.com is pending:
    /// Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'`
    ///
    /// ### How to fix
    /// The remediation follows the cause: make `http://<host>/.well-known/acme-challenge/` reach Traefik on
    /// port 80 (DNS pointing at the ingress node, no proxy or auth in the way), fix the public DNS record,
    /// or wait out the rate limit and restore backed-up TLS Secrets instead of issuing again.
    pub struct Certificates {
        id: "certmanager.certificates",
        title: "Platform Certificates are Ready (else the failing Challenge or Order)",
        category: "certmanager",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [
            kinds::CERTIFICATES,
            kinds::CERTIFICATE_REQUESTS,
            kinds::ORDERS,
            kinds::CHALLENGES,
            kinds::CUSTOM_RESOURCE_DEFINITIONS,
        ],
    }
}

#[async_trait]
impl Check for Certificates {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        tls_not_requested(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let distribution = ctx.distribution().await;
        let provided = ctx.config.flag("provided_tls_secrets");
        let certificates = match list_cm(ctx, &kinds::CERTIFICATES).await {
            Ok(Some(c)) => c,
            Ok(None) if provided => {
                return Outcome::pass(
                    "cert-manager is not installed; the TLS Secrets are provided by hand (--provided-tls-secrets)",
                );
            }
            Ok(None) => {
                let f = Finding::new(
                    Status::Fail,
                    "cert-manager is not installed (no certificates.cert-manager.io CRD), so nothing issues or renews the platform's certificates",
                    "rem.cert-manager-install",
                )
                .subject("namespace/cert-manager");
                return conclude(vec![f], String::new(), distribution);
            }
            Err(o) => return o,
        };
        let platform: Vec<&Value> = certificates
            .iter()
            .filter(|c| PLATFORM_NAMESPACES.contains(&namespace_of(c)))
            .collect();
        if platform.is_empty() {
            if provided {
                return Outcome::pass(
                    "no Certificates in the platform namespaces; the TLS Secrets are provided by hand",
                );
            }
            let f = Finding::new(
                Status::Warn,
                "no Certificate exists in the platform namespaces (registry, mcp-sentinel): setup --with-tls has not applied TLS yet",
                "rem.certificate-not-ready",
            )
            .var("namespace", "registry")
            .var("certificate", "registry-cert")
            .subject("namespace/registry");
            return conclude(vec![f], String::new(), distribution);
        }
        let requests = match list_cm(ctx, &kinds::CERTIFICATE_REQUESTS).await {
            Ok(r) => r.map(|r| r.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let orders = match list_cm(ctx, &kinds::ORDERS).await {
            Ok(r) => r.map(|r| r.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let challenges = match list_cm(ctx, &kinds::CHALLENGES).await {
            Ok(r) => r.map(|r| r.as_ref().clone()).unwrap_or_default(),
            Err(o) => return o,
        };
        let mut findings = Vec::new();
        let mut ready = Vec::new();
        for c in &platform {
            let id = format!("{}/{}", namespace_of(c), name_of(c));
            if is_ready(c) {
                ready.push(id);
                continue;
            }
            findings.push(diagnose(c, &requests, &orders, &challenges));
        }
        conclude(
            findings,
            format!(
                "{} Certificate(s) in the platform namespaces are Ready: {}",
                ready.len(),
                ready.join(", ")
            ),
            distribution,
        )
        .detail("ready", &ready)
    }
}

/// Why one Certificate is not Ready, following its chain (lists are memoized, so this costs nothing when
/// `certmanager.certificates` ran too).
pub async fn diagnose_certificate(ctx: &Context, cert: &Value) -> Result<Finding, Outcome> {
    let mut lists = Vec::new();
    for kind in [
        &kinds::CERTIFICATE_REQUESTS,
        &kinds::ORDERS,
        &kinds::CHALLENGES,
    ] {
        lists.push(
            list_cm(ctx, kind)
                .await?
                .map(|l| l.as_ref().clone())
                .unwrap_or_default(),
        );
    }
    Ok(diagnose(cert, &lists[0], &lists[1], &lists[2]))
}

/// The newest object among `items` in `ns` that `pred` accepts.
fn newest<'a>(items: &'a [Value], ns: &str, pred: impl Fn(&Value) -> bool) -> Option<&'a Value> {
    items
        .iter()
        .filter(|o| namespace_of(o) == ns && pred(o))
        .max_by_key(|o| (created(o), name_of(o).to_string()))
}

fn text(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Follows Certificate -> CertificateRequest -> Order -> Challenge and words the deepest failure.
fn diagnose(cert: &Value, requests: &[Value], orders: &[Value], challenges: &[Value]) -> Finding {
    let ns = namespace_of(cert).to_string();
    let name = name_of(cert).to_string();
    let head = match condition(cert, "Ready") {
        Some((_, reason, message)) => {
            format!("Certificate {ns}/{name} is not Ready ({reason}: {message})")
        }
        None => format!("Certificate {ns}/{name} is not Ready (no Ready condition yet)"),
    };
    let request = newest(requests, &ns, |r| {
        owned_by(r, "Certificate", &name)
            || r.pointer("/metadata/annotations/cert-manager.io~1certificate-name")
                .and_then(Value::as_str)
                == Some(name.as_str())
    });
    let order = request.and_then(|r| {
        newest(orders, &ns, |o| {
            owned_by(o, "CertificateRequest", name_of(r))
        })
    });
    let challenge = order.and_then(|o| {
        newest(challenges, &ns, |c| {
            owned_by(c, "Order", name_of(o)) && text(c, "/status/state") != "valid"
        })
    });
    let mut subjects = vec![format!("certificate/{ns}/{name}")];
    let mut host = String::new();
    let (cause, detail) = if let Some(ch) = challenge {
        host = text(ch, "/spec/dnsName");
        let state = text(ch, "/status/state");
        let state = if state.is_empty() {
            "pending".to_string()
        } else {
            state
        };
        let reason = text(ch, "/status/reason");
        subjects.push(format!("challenge/{ns}/{}", name_of(ch)));
        let reason = if reason.is_empty() {
            "no reason recorded yet".to_string()
        } else {
            reason
        };
        (
            reason.clone(),
            format!(
                "Challenge {ns}/{} for {host} is {state}: {reason}",
                name_of(ch)
            ),
        )
    } else if let Some(o) =
        order.filter(|o| matches!(text(o, "/status/state").as_str(), "errored" | "invalid"))
    {
        let reason = text(o, "/status/reason");
        subjects.push(format!("order/{ns}/{}", name_of(o)));
        (
            reason.clone(),
            format!(
                "Order {ns}/{} is {}: {reason}",
                name_of(o),
                text(o, "/status/state")
            ),
        )
    } else if let Some(r) = request {
        match condition(r, "Ready") {
            Some(("False", reason, message)) => (
                message.to_string(),
                format!(
                    "CertificateRequest {ns}/{} is not Ready ({reason}: {message})",
                    name_of(r)
                ),
            ),
            _ => (
                String::new(),
                format!("CertificateRequest {ns}/{} is still pending", name_of(r)),
            ),
        }
    } else {
        (
            String::new(),
            "no CertificateRequest has been created for it yet".to_string(),
        )
    };
    if !host.is_empty() {
        subjects.push(format!("host/{host}"));
    }
    let lower = cause.to_ascii_lowercase();
    let remediation = if lower.contains("ratelimited") || lower.contains("too many certificates") {
        "rem.acme-rate-limited"
    } else if lower.contains("no such host") || lower.contains("nxdomain") {
        "rem.acme-challenge-nxdomain"
    } else if lower.contains("wrong status code")
        || lower.contains("connection refused")
        || lower.contains("i/o timeout")
        || lower.contains("self check")
    {
        "rem.acme-self-check-failed"
    } else {
        "rem.certificate-not-ready"
    };
    let mut f = Finding::new(Status::Fail, format!("{head}: {detail}"), remediation)
        .var("namespace", ns.clone())
        .var("certificate", name.clone())
        .var(
            "host",
            if host.is_empty() {
                "<host>".to_string()
            } else {
                host.clone()
            },
        );
    if let Some(ch) = challenge {
        f = f
            .var("challenge", name_of(ch))
            .var("token", text(ch, "/spec/token"));
    }
    for s in subjects {
        f = f.subject(s);
    }
    f
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::test_support::{Case, expect};

    fn crds() -> Vec<Value> {
        [
            "certificates.cert-manager.io",
            "certificaterequests.cert-manager.io",
            "orders.acme.cert-manager.io",
            "challenges.acme.cert-manager.io",
        ]
        .iter()
        .map(|n| json!({"metadata": {"name": n}}))
        .collect()
    }

    fn owner(kind: &str, name: &str) -> Value {
        json!([{"apiVersion": "x", "kind": kind, "name": name, "uid": "u", "controller": true, "blockOwnerDeletion": true}])
    }

    #[tokio::test]
    async fn a_404_self_check_is_surfaced_with_certificate_and_challenge() {
        let cert = json!({"metadata": {"name": "registry-cert", "namespace": "registry"},
            "spec": {"secretName": "registry-tls", "dnsNames": ["registry.example.com", "mcp.example.com"]},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"}]}});
        let cr = json!({"metadata": {"name": "registry-cert-1", "namespace": "registry", "creationTimestamp": "2026-11-30T10:00:00Z", "ownerReferences": owner("Certificate", "registry-cert")},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting on certificate issuance from order registry/registry-cert-1-3188722312: \"pending\""}]}});
        let order = json!({"metadata": {"name": "registry-cert-1-3188722312", "namespace": "registry", "creationTimestamp": "2026-11-30T10:00:01Z", "ownerReferences": owner("CertificateRequest", "registry-cert-1")},
            "status": {"state": "pending"}});
        let ok = json!({"metadata": {"name": "registry-cert-1-3188722312-1", "namespace": "registry", "creationTimestamp": "2026-11-30T10:00:02Z", "ownerReferences": owner("Order", "registry-cert-1-3188722312")},
            "spec": {"dnsName": "registry.example.com", "token": "a"}, "status": {"state": "valid", "reason": "Successfully authorized domain"}});
        let bad = json!({"metadata": {"name": "registry-cert-1-3188722312-2", "namespace": "registry", "creationTimestamp": "2026-11-30T10:00:02Z", "ownerReferences": owner("Order", "registry-cert-1-3188722312")},
            "spec": {"dnsName": "mcp.example.com", "token": "b"}, "status": {"state": "pending", "presented": true, "processing": true, "reason": "Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'"}});
        let o = Case::new()
            .flag("with_tls", "true")
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, crds())
            .objects(&kinds::CERTIFICATES, Scope::AllNamespaces, vec![cert])
            .objects(&kinds::CERTIFICATE_REQUESTS, Scope::AllNamespaces, vec![cr])
            .objects(&kinds::ORDERS, Scope::AllNamespaces, vec![order])
            .objects(&kinds::CHALLENGES, Scope::AllNamespaces, vec![ok, bad])
            .run(&Certificates)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Certificate registry/registry-cert is not Ready",
                "Challenge registry/registry-cert-1-3188722312-2 for mcp.example.com",
                "wrong status code '404'",
            ],
        );
        assert_eq!(rem, "rem.acme-self-check-failed");
    }

    fn failing(cert_msg: &str, order: Value, challenges: Vec<Value>) -> Case {
        let cert = json!({"metadata": {"name": "mcp-sentinel-platform-tls", "namespace": "mcp-sentinel"},
            "spec": {"secretName": "mcp-sentinel-platform-tls", "dnsNames": ["platform.example.com"]},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": cert_msg}]}});
        let cr = json!({"metadata": {"name": "mcp-sentinel-platform-tls-1", "namespace": "mcp-sentinel", "creationTimestamp": "2026-11-30T10:00:00Z",
            "ownerReferences": owner("Certificate", "mcp-sentinel-platform-tls")},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting on certificate issuance from order"}]}});
        Case::new()
            .flag("with_tls", "true")
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, crds())
            .objects(&kinds::CERTIFICATES, Scope::AllNamespaces, vec![cert])
            .objects(&kinds::CERTIFICATE_REQUESTS, Scope::AllNamespaces, vec![cr])
            .objects(&kinds::ORDERS, Scope::AllNamespaces, vec![order])
            .objects(&kinds::CHALLENGES, Scope::AllNamespaces, challenges)
    }

    #[tokio::test]
    async fn a_rate_limited_order_and_an_nxdomain_challenge_get_their_own_fixes() {
        let order = json!({"metadata": {"name": "mcp-sentinel-platform-tls-1-42", "namespace": "mcp-sentinel", "creationTimestamp": "2026-11-30T10:00:01Z",
            "ownerReferences": owner("CertificateRequest", "mcp-sentinel-platform-tls-1")},
            "status": {"state": "errored", "reason": "Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-12-03 10:00:00 UTC"}});
        let o = failing(
            "Issuing certificate as Secret does not exist",
            order,
            vec![],
        )
        .run(&Certificates)
        .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Order mcp-sentinel/mcp-sentinel-platform-tls-1-42 is errored",
                "rateLimited",
            ],
        );
        assert_eq!(rem, "rem.acme-rate-limited");

        let order = json!({"metadata": {"name": "mcp-sentinel-platform-tls-1-42", "namespace": "mcp-sentinel", "creationTimestamp": "2026-11-30T10:00:01Z",
            "ownerReferences": owner("CertificateRequest", "mcp-sentinel-platform-tls-1")}, "status": {"state": "pending"}});
        let ch = json!({"metadata": {"name": "mcp-sentinel-platform-tls-1-42-7", "namespace": "mcp-sentinel", "creationTimestamp": "2026-11-30T10:00:02Z",
            "ownerReferences": owner("Order", "mcp-sentinel-platform-tls-1-42")},
            "spec": {"dnsName": "platform.example.com", "token": "t"},
            "status": {"state": "pending", "reason": "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request 'http://platform.example.com/.well-known/acme-challenge/t': Get \"http://platform.example.com/.well-known/acme-challenge/t\": dial tcp: lookup platform.example.com on 10.43.0.10:53: no such host"}});
        let o = failing(
            "Issuing certificate as Secret does not exist",
            order,
            vec![ch],
        )
        .run(&Certificates)
        .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Challenge mcp-sentinel/mcp-sentinel-platform-tls-1-42-7 for platform.example.com",
                "no such host",
            ],
        );
        assert_eq!(rem, "rem.acme-challenge-nxdomain");
    }
}
