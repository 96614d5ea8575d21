use async_trait::async_trait;
use serde_json::Value;

use super::{condition, list_cm};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};
use crate::tls::{Finding, conclude, name_of, prod_fails, tls_not_requested};

declare_check! {
    /// ### What it checks
    /// With TLS requested:
    ///
    /// - `--tls-cluster-issuer` / `MCP_TLS_CLUSTER_ISSUER`: that ClusterIssuer exists and is Ready (the
    ///   condition's reason and message are shown when not);
    /// - every ACME ClusterIssuer setup would use (the named one, or with `--acme-email` those registered
    ///   for that email): its server is Let's Encrypt production, not staging (staging warns under `dev`,
    ///   fails under `prod`), and its HTTP-01 solver's ingress class is the active Traefik's (`traefik`).
    ///
    /// ### Why it matters
    /// Setup points every Certificate at this issuer: a missing or unready issuer means no certificate is
    /// ever issued, and Traefik serves its self-signed default. A solver bound to another ingress class
    /// creates challenge Ingresses nothing serves, so every HTTP-01 self check gets a 404.
    ///
    /// ### What a failure looks like
    /// `ClusterIssuer corp-ca named by --tls-cluster-issuer does not exist; the cluster has: letsencrypt-prod`
    ///
    /// `ClusterIssuer corp-ca is not Ready (ErrGetKeyPair: Error getting keypair for CA issuer: secrets
    /// "corp-ca-keypair" not found)`
    ///
    /// ### How to fix
    /// Create the ClusterIssuer (or fix the name you pass), fix what its Ready condition names, point ACME
    /// issuers at `https://acme-v02.api.letsencrypt.org/directory` and set the solver's
    /// `ingressClassName: traefik`.
    pub struct Issuer {
        id: "certmanager.issuer",
        title: "The ClusterIssuer setup uses exists, is Ready and fits Traefik",
        category: "certmanager",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::CLUSTER_ISSUERS, kinds::CUSTOM_RESOURCE_DEFINITIONS],
    }
}

/// The IngressClass of the active Traefik.
const TRAEFIK_CLASS: &str = "traefik";

#[async_trait]
impl Check for Issuer {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        tls_not_requested(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let named = ctx.config.value("tls_cluster_issuer").map(str::to_string);
        let email = ctx.config.value("acme_email").map(str::to_string);
        if named.is_none() && email.is_none() {
            return Outcome::pass(
                "no issuer to judge: neither --tls-cluster-issuer nor --acme-email is set",
            );
        }
        let distribution = ctx.distribution().await;
        let issuers = match list_cm(ctx, &kinds::CLUSTER_ISSUERS).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        let Some(name) = named else {
            let email = email.unwrap_or_default();
            if ctx.config.flag("acme_staging") {
                let f = Finding::new(
                    prod_fails(ctx.profile),
                    format!(
                        "--acme-staging makes setup issue from the Let's Encrypt staging server for {email}: its certificates are not trusted by browsers or kubelets"
                    ),
                    "rem.tls-staging-issuer",
                )
                .var("namespace", "registry")
                .var("secret", "registry-tls")
                .subject("clusterissuer/acme-staging");
                return conclude(vec![f], String::new(), distribution);
            }
            let Some(issuers) = issuers else {
                return Outcome::pass(format!(
                    "cert-manager is not installed yet; setup creates its Let's Encrypt ClusterIssuer for {email}"
                ));
            };
            let mine: Vec<&Value> = issuers
                .iter()
                .filter(|i| {
                    i.pointer("/spec/acme/email").and_then(Value::as_str) == Some(email.as_str())
                })
                .collect();
            if mine.is_empty() {
                return Outcome::pass(format!(
                    "no ACME ClusterIssuer for {email} yet; setup creates it"
                ));
            }
            let mut findings = Vec::new();
            for i in &mine {
                findings.extend(judge_issuer(ctx, i));
            }
            let names: Vec<String> = mine.iter().map(|i| name_of(i).to_string()).collect();
            return conclude(
                findings,
                format!(
                    "ACME ClusterIssuer {} for {email} is Ready, uses Let's Encrypt production and solves HTTP-01 through Traefik",
                    names.join(", ")
                ),
                distribution,
            );
        };
        let subject = format!("clusterissuer/{name}");
        let Some(issuers) = issuers else {
            let f = Finding::new(
                Status::Fail,
                format!(
                    "ClusterIssuer {name} named by --tls-cluster-issuer cannot exist: cert-manager is not installed (the cluster has no clusterissuers.cert-manager.io CRD)"
                ),
                "rem.cluster-issuer-missing",
            )
            .var("issuer", name.clone())
            .subject(subject);
            return conclude(vec![f], String::new(), distribution);
        };
        let Some(issuer) = issuers.iter().find(|i| name_of(i) == name) else {
            let mut others: Vec<&str> = issuers.iter().map(name_of).collect();
            others.sort();
            let has = if others.is_empty() {
                "none".to_string()
            } else {
                others.join(", ")
            };
            let f = Finding::new(
                Status::Fail,
                format!(
                    "ClusterIssuer {name} named by --tls-cluster-issuer does not exist; the cluster has: {has}"
                ),
                "rem.cluster-issuer-missing",
            )
            .var("issuer", name.clone())
            .subject(subject);
            return conclude(vec![f], String::new(), distribution);
        };
        let kind = if issuer.pointer("/spec/acme").is_some() {
            "ACME"
        } else if issuer.pointer("/spec/ca").is_some() {
            "CA"
        } else if issuer.pointer("/spec/vault").is_some() {
            "Vault"
        } else {
            "non-ACME"
        };
        conclude(
            judge_issuer(ctx, issuer),
            format!("ClusterIssuer {name} ({kind}) exists and is Ready"),
            distribution,
        )
    }
}

/// Readiness, ACME server and HTTP-01 solver class of one ClusterIssuer.
fn judge_issuer(ctx: &Context, issuer: &Value) -> Vec<Finding> {
    let name = name_of(issuer).to_string();
    let subject = format!("clusterissuer/{name}");
    let mut findings = Vec::new();
    match condition(issuer, "Ready") {
        Some(("True", _, _)) => {}
        Some((status, reason, message)) => findings.push(
            Finding::new(
                Status::Fail,
                format!("ClusterIssuer {name} is not Ready (Ready={status}, {reason}: {message})"),
                "rem.cluster-issuer-not-ready",
            )
            .var("issuer", name.clone())
            .subject(subject.clone()),
        ),
        None => findings.push(
            Finding::new(
                Status::Fail,
                format!("ClusterIssuer {name} has no Ready condition: cert-manager has not processed it (is the controller running?)"),
                "rem.cluster-issuer-not-ready",
            )
            .var("issuer", name.clone())
            .subject(subject.clone()),
        ),
    }
    if let Some(server) = issuer.pointer("/spec/acme/server").and_then(Value::as_str)
        && server.contains("staging")
    {
        findings.push(
            Finding::new(
                prod_fails(ctx.profile),
                format!(
                    "ClusterIssuer {name} uses the Let's Encrypt staging server {server}: its certificates are not trusted by browsers or kubelets"
                ),
                "rem.tls-staging-issuer",
            )
            .var("issuer", name.clone())
            .subject(subject.clone()),
        );
    }
    let solvers = issuer
        .pointer("/spec/acme/solvers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in &solvers {
        let Some(ingress) = s.pointer("/http01/ingress") else {
            continue;
        };
        let class = ingress
            .get("ingressClassName")
            .or_else(|| ingress.get("class"))
            .and_then(Value::as_str);
        if let Some(class) = class
            && class != TRAEFIK_CLASS
        {
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!(
                        "the HTTP-01 solver of ClusterIssuer {name} uses ingress class {class}, but the active ingress controller is Traefik (class {TRAEFIK_CLASS}): challenge Ingresses are never served and every self check gets a 404"
                    ),
                    "rem.http01-solver-class",
                )
                .var("issuer", name.clone())
                .var("class", class)
                .subject(subject.clone()),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::model::Profile;
    use crate::test_support::{Case, expect};

    fn crds() -> Vec<Value> {
        vec![json!({"metadata": {"name": "clusterissuers.cert-manager.io"}})]
    }

    fn acme(name: &str, server: &str, class: &str, ready: bool) -> Value {
        let cond = if ready {
            json!({"type": "Ready", "status": "True", "reason": "ACMEAccountRegistered", "message": "The ACME account was registered with the ACME server"})
        } else {
            json!({"type": "Ready", "status": "False", "reason": "ErrRegisterACMEAccount", "message": "Failed to register ACME account: Get \"https://acme-v02.api.letsencrypt.org/directory\": dial tcp: lookup acme-v02.api.letsencrypt.org on 10.43.0.10:53: no such host"})
        };
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": name},
               "spec": {"acme": {"email": "ops@example.com", "server": server,
                                 "privateKeySecretRef": {"name": format!("{name}-account-key")},
                                 "solvers": [{"http01": {"ingress": {"ingressClassName": class}}}]}},
               "status": {"conditions": [cond]}})
    }

    fn case(issuers: Vec<Value>) -> Case {
        Case::new()
            .flag("with_tls", "true")
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, crds())
            .objects(&kinds::CLUSTER_ISSUERS, Scope::Cluster, issuers)
    }

    const PROD: &str = "https://acme-v02.api.letsencrypt.org/directory";
    const STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

    #[tokio::test]
    async fn a_missing_named_issuer_fails_listing_the_others() {
        let o = case(vec![acme("letsencrypt-prod", PROD, "traefik", true)])
            .flag("tls_cluster_issuer", "corp-ca")
            .run(&Issuer)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "ClusterIssuer corp-ca",
                "does not exist",
                "letsencrypt-prod",
            ],
        );
    }

    #[tokio::test]
    async fn staging_warns_in_dev_and_fails_in_prod_and_wrong_class_fails() {
        let o = case(vec![acme("le", STAGING, "traefik", true)])
            .flag("acme_email", "ops@example.com")
            .run(&Issuer)
            .await;
        expect(&o, Status::Warn, &["staging"]);
        let o = case(vec![acme("le", STAGING, "traefik", true)])
            .flag("acme_email", "ops@example.com")
            .profile(Profile::Prod)
            .run(&Issuer)
            .await;
        expect(&o, Status::Fail, &["staging"]);
        let o = case(vec![acme("le", PROD, "nginx", true)])
            .flag("tls_cluster_issuer", "le")
            .run(&Issuer)
            .await;
        expect(&o, Status::Fail, &["ingress class nginx"]);
    }

    #[tokio::test]
    async fn an_unready_issuer_fails_with_its_reason() {
        let o = case(vec![acme("le", PROD, "traefik", false)])
            .flag("tls_cluster_issuer", "le")
            .run(&Issuer)
            .await;
        expect(&o, Status::Fail, &["not Ready", "ErrRegisterACMEAccount"]);
    }
}
