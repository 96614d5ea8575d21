//! tls checks: the certificates the platform serves, live at the public hosts and at rest in its Secrets.
//!
//! Who owns which certificate (from the readiness guide): `registry/registry-cert` writes
//! `registry/registry-tls` for `registry.<domain>` and `mcp.<domain>`; the `mcp-sentinel-platform-ui` Ingress
//! owns `platform.<domain>`, whose certificate cert-manager writes into `mcp-sentinel/mcp-sentinel-platform-tls`;
//! bundled HTTPS serves `registry/registry-internal-tls` with the stable service name
//! `registry.registry.svc.cluster.local`.

pub mod cert;
#[cfg(test)]
mod live_tests;
mod platform_cert;
mod public_endpoints;
mod registry_cert;
pub(crate) mod registry_internal_cert;

pub use platform_cert::PlatformCert;
pub use public_endpoints::PublicEndpoints;
pub use registry_cert::RegistryCert;
pub use registry_internal_cert::RegistryInternalCert;

use mcp_doctor_remediations::{Distribution, Vars};
use serde_json::Value;

use crate::check::{Context, unreadable};
use crate::evidence::kinds;
use crate::model::{Outcome, Profile, Status};
use cert::{CertInfo, Validity, and_list};

use crate::Check;

/// The tls checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(PublicEndpoints),
        Box::new(RegistryCert),
        Box::new(PlatformCert),
        Box::new(RegistryInternalCert),
    ]
}

/// Why a TLS check does not apply: TLS was not requested.
pub fn tls_not_requested(ctx: &Context) -> Option<String> {
    (!ctx.config.flag("with_tls"))
        .then(|| "TLS is not requested (--with-tls / MCP_SETUP_WITH_TLS is not true)".to_string())
}

/// One problem a check found, with the fix it points to.
#[derive(Debug, Clone)]
pub struct Finding {
    pub status: Status,
    pub text: String,
    pub remediation: &'static str,
    pub vars: Vars,
    pub subjects: Vec<String>,
}

impl Finding {
    pub fn new(status: Status, text: impl Into<String>, remediation: &'static str) -> Finding {
        Finding {
            status,
            text: text.into(),
            remediation,
            vars: Vars::new(),
            subjects: Vec::new(),
        }
    }

    pub fn var(mut self, key: &'static str, value: impl Into<String>) -> Finding {
        self.vars.insert(key, value.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Finding {
        self.subjects.push(subject.into());
        self
    }
}

/// `fail` under `--profile prod`, `warn` under dev: for Traefik's default certificate and staging issuers.
pub fn prod_fails(profile: Profile) -> Status {
    match profile {
        Profile::Prod => Status::Fail,
        Profile::Dev => Status::Warn,
    }
}

/// Turns findings into one outcome: the worst status, its findings' texts first, the remediation of the
/// first worst finding, and every finding's subjects. No finding is a pass with `pass_message`.
pub fn conclude(
    mut findings: Vec<Finding>,
    pass_message: String,
    distribution: Option<Distribution>,
) -> Outcome {
    if findings.is_empty() {
        return Outcome::pass(pass_message);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(rank(f.status)));
    let worst = findings[0].status;
    let texts: Vec<&str> = findings.iter().map(|f| f.text.as_str()).collect();
    let first = &findings[0];
    let mut outcome = Outcome::of(worst, texts.join("; "))
        .remediate(first.remediation, distribution, &first.vars)
        .detail("findings", texts.len());
    for f in &findings {
        outcome = outcome.subjects(f.subjects.clone());
    }
    outcome
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Error => 4,
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Skip => 1,
        Status::Pass => 0,
    }
}

/// A certificate kept in a Secret, and what it must cover.
pub struct SecretCert<'a> {
    pub namespace: &'a str,
    pub secret: &'a str,
    /// Who writes it, for messages: `Certificate registry/registry-cert`.
    pub owner: String,
    pub should_cover: Vec<String>,
    /// The fix for names it lacks.
    pub names_remediation: &'static str,
}

impl SecretCert<'_> {
    pub fn subject(&self) -> String {
        format!("secret/{}/{}", self.namespace, self.secret)
    }

    pub fn shown(&self) -> String {
        format!("Secret {}/{}", self.namespace, self.secret)
    }
}

/// Reads the Secret's `tls.crt` (the leaf first): `Ok(None)` when the Secret does not exist.
pub async fn read_secret_cert(
    ctx: &Context,
    spec: &SecretCert<'_>,
) -> Result<Option<Result<Vec<CertInfo>, String>>, Outcome> {
    match ctx
        .evidence
        .kube
        .get(&kinds::SECRETS, Some(spec.namespace), spec.secret)
        .await
    {
        Ok(None) => Ok(None),
        Ok(Some(secret)) => Ok(Some(cert::secret_chain(&secret))),
        Err(e) => Err(unreadable(&spec.shown(), &e)),
    }
}

/// What is wrong with a leaf kept in a Secret: names it lacks, time, staging issuer.
pub fn judge_leaf(
    spec: &SecretCert<'_>,
    leaf: &CertInfo,
    now: i64,
    profile: Profile,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let missing: Vec<String> = spec
        .should_cover
        .iter()
        .filter(|h| !leaf.covers(h))
        .cloned()
        .collect();
    let names_json = serde_json::to_string(
        &spec
            .should_cover
            .iter()
            .map(|h| cert::host_only(h).to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    if !missing.is_empty() {
        findings.push(
            Finding::new(
                Status::Fail,
                format!(
                    "{} ({}) covers {} but not {}; it should cover {}",
                    spec.shown(),
                    spec.owner,
                    leaf.names(),
                    and_list(&missing),
                    and_list(&spec.should_cover)
                ),
                spec.names_remediation,
            )
            .var("namespace", spec.namespace)
            .var("secret", spec.secret)
            .var("missing", and_list(&missing))
            .var("names", and_list(&spec.should_cover))
            .var("names_json", names_json)
            .subject(spec.subject()),
        );
    }
    if let Some(f) = time_finding(&format!("in {}", spec.shown()), leaf, now) {
        findings.push(
            f.var("namespace", spec.namespace)
                .var("secret", spec.secret)
                .subject(spec.subject()),
        );
    }
    if leaf.is_staging() {
        findings.push(
            Finding::new(
                prod_fails(profile),
                format!(
                    "{} holds a Let's Encrypt staging certificate (issuer {}), which no browser or kubelet trusts",
                    spec.shown(),
                    leaf.issued_by()
                ),
                "rem.tls-staging-issuer",
            )
            .var("namespace", spec.namespace)
            .var("secret", spec.secret)
            .subject(spec.subject()),
        );
    }
    findings
}

/// Expired, not yet valid (fail) or expiring within 14 days (warn), for the certificate `what`
/// (`in Secret registry/registry-tls`, `served for platform.example.com at 203.0.113.10:443`).
pub fn time_finding(what: &str, leaf: &CertInfo, now: i64) -> Option<Finding> {
    let covers = leaf.names();
    let (status, text) = match leaf.validity(now) {
        Validity::Valid { .. } => return None,
        Validity::Expired { days_ago } => (
            Status::Fail,
            format!(
                "the certificate {what} (covers {covers}) expired {} (notAfter {})",
                ago(days_ago),
                leaf.not_after_text()
            ),
        ),
        Validity::NotYetValid { days_until } => (
            Status::Fail,
            format!(
                "the certificate {what} (covers {covers}) is not valid until {} ({days_until} day(s) from now): check the issuer's clock",
                leaf.not_before_text()
            ),
        ),
        Validity::ExpiresSoon { days_left } => (
            Status::Warn,
            format!(
                "the certificate {what} (covers {covers}) expires in {days_left} day(s) (notAfter {}) and has not been renewed",
                leaf.not_after_text()
            ),
        ),
    };
    Some(Finding::new(status, text, "rem.tls-cert-expired"))
}

fn ago(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "1 day ago".into(),
        n => format!("{n} days ago"),
    }
}

/// The days left of a valid leaf, for pass messages.
pub fn days_left(leaf: &CertInfo, now: i64) -> i64 {
    (leaf.not_after - now).max(0) / 86_400
}

/// The Certificates (any namespace) whose `spec.secretName` is `secret` in `namespace`.
pub fn claimants<'a>(certificates: &'a [Value], namespace: &str, secret: &str) -> Vec<&'a Value> {
    certificates
        .iter()
        .filter(|c| {
            c.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
                && c.pointer("/spec/secretName").and_then(Value::as_str) == Some(secret)
        })
        .collect()
}

/// `metadata.name` of an object.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// `metadata.namespace` of an object.
pub fn namespace_of(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// How a platform TLS Secret is expected to be owned.
pub struct Ownership<'a> {
    /// The Certificate that should write the Secret (`registry-cert`), or None when any single one may
    /// (ingress-shim names it after the Secret).
    pub certificate: Option<&'a str>,
    /// `--provided-tls-secrets`: the Secret was created by hand; no Certificate is expected.
    pub provided: bool,
}

/// The shared judgement of a platform TLS Secret: it exists, exactly one Certificate claims it (the
/// expected one), and its leaf covers the names, is valid in time and not from a staging CA.
pub async fn judge_platform_secret(
    ctx: &Context,
    spec: &SecretCert<'_>,
    ownership: Ownership<'_>,
) -> Outcome {
    let distribution = ctx.distribution().await;
    let now = judging_time(ctx).await;
    let certificates = match crate::certmanager::list_cm(ctx, &kinds::CERTIFICATES).await {
        Ok(c) => c.map(|c| c.as_ref().clone()).unwrap_or_default(),
        Err(o) => return o,
    };
    let claims = claimants(&certificates, spec.namespace, spec.secret);
    let mut findings = Vec::new();
    let owner = match ownership.certificate {
        Some(name) => claims.iter().find(|c| name_of(c) == name).copied(),
        None => claims.first().copied(),
    };
    let strays: Vec<&Value> = claims
        .iter()
        .filter(|c| owner.is_none_or(|o| name_of(o) != name_of(c)))
        .copied()
        .collect();
    if !strays.is_empty() && (owner.is_some() || strays.len() > 1) {
        let mut names: Vec<String> = owner.iter().map(|c| describe_claimant(c)).collect();
        names.extend(strays.iter().map(|c| describe_claimant(c)));
        let stale = strays.first().map(|c| name_of(c)).unwrap_or("?");
        findings.push(
            Finding::new(
                Status::Fail,
                format!(
                    "{} is claimed by {} Certificates: {}; cert-manager issues for each in turn and overwrites the other's certificate",
                    spec.shown(),
                    names.len(),
                    and_list(&names)
                ),
                "rem.tls-secret-double-owner",
            )
            .var("namespace", spec.namespace)
            .var("secret", spec.secret)
            .var("stale", stale)
            .var("keep", owner.map(name_of).unwrap_or("?"))
            .subject(spec.subject()),
        );
    }
    let secret = match read_secret_cert(ctx, spec).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let leaf = match secret {
        None => {
            let hosts = and_list(&spec.should_cover);
            let f = match owner.or(strays.first().copied()) {
                Some(c) if !crate::certmanager::is_ready(c) => {
                    match crate::certmanager::diagnose_certificate(ctx, c).await {
                        Ok(mut f) => {
                            f.text = format!(
                                "{} does not exist, so Traefik serves its default self-signed certificate for {hosts}: {}",
                                spec.shown(),
                                f.text
                            );
                            f
                        }
                        Err(o) => return o,
                    }
                }
                Some(c) => Finding::new(
                    Status::Fail,
                    format!(
                        "{} does not exist although Certificate {}/{} is Ready: Traefik serves its default self-signed certificate for {hosts}",
                        spec.shown(),
                        spec.namespace,
                        name_of(c)
                    ),
                    "rem.tls-secret-missing",
                )
                .subject(spec.subject()),
                None if ownership.provided => Finding::new(
                    Status::Fail,
                    format!(
                        "{} does not exist although --provided-tls-secrets says it was created by hand; Traefik serves its default self-signed certificate for {hosts}",
                        spec.shown()
                    ),
                    "rem.tls-secret-missing",
                )
                .subject(spec.subject()),
                None => Finding::new(
                    Status::Fail,
                    format!(
                        "{} does not exist and no Certificate claims it ({} should write it); Traefik serves its default self-signed certificate for {hosts}",
                        spec.shown(),
                        spec.owner
                    ),
                    "rem.tls-secret-missing",
                )
                .subject(spec.subject()),
            };
            findings.push(
                f.var("namespace", spec.namespace)
                    .var("secret", spec.secret),
            );
            return conclude(findings, String::new(), distribution);
        }
        Some(Err(e)) => {
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!("{} {e}", spec.shown()),
                    "rem.tls-secret-missing",
                )
                .var("namespace", spec.namespace)
                .var("secret", spec.secret)
                .subject(spec.subject()),
            );
            return conclude(findings, String::new(), distribution);
        }
        Some(Ok(chain)) => chain[0].clone(),
    };
    if owner.is_none() && !ownership.provided && certificates_known(&certificates) {
        findings.push(
            Finding::new(
                Status::Warn,
                format!(
                    "{} is not written by any Certificate ({} should own it), so nothing renews it",
                    spec.shown(),
                    spec.owner
                ),
                "rem.tls-secret-missing",
            )
            .var("namespace", spec.namespace)
            .var("secret", spec.secret)
            .subject(spec.subject()),
        );
    }
    findings.extend(judge_leaf(spec, &leaf, now, ctx.profile));
    let pass = format!(
        "{} ({}) covers {}; issued by {}; {} days left",
        spec.shown(),
        spec.owner,
        and_list(&spec.should_cover),
        leaf.issued_by(),
        days_left(&leaf, now)
    );
    conclude(findings, pass, distribution)
        .detail("certificate", &leaf)
        .detail("judged_at", cert::date(now))
}

/// Whether cert-manager was readable at all (an empty list from a cluster without cert-manager says
/// nothing about ownership).
fn certificates_known(certificates: &[Value]) -> bool {
    !certificates.is_empty()
}

/// `registry/registry-cert`, or `registry/registry-tls (created by ingress-shim from Ingress registry/registry)`.
pub fn describe_claimant(c: &Value) -> String {
    let ns = namespace_of(c);
    let base = format!("{ns}/{}", name_of(c));
    let ingress = c
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("kind").and_then(Value::as_str) == Some("Ingress"))
        })
        .and_then(|r| r.get("name").and_then(Value::as_str));
    match ingress {
        Some(i) => format!("{base} (created by ingress-shim from Ingress {ns}/{i})"),
        None => base,
    }
}

/// The moment certificates and issuance history are judged at: `MCP_DOCTOR_NOW` (RFC 3339, for
/// reproducible fixtures) when set, else the evidence's clock (a live run's start, or a recording's).
pub async fn judging_time(ctx: &Context) -> i64 {
    match ctx
        .config
        .value("judge_time")
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    {
        Some(t) => t.as_second(),
        None => ctx.evidence.tls.now().await,
    }
}
