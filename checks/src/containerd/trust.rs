//! Whether a node trusts the CA of the bundled registry's internal certificate: the CA read from the cluster
//! (`registry/registry-internal-tls` `ca.crt`, else `cert-manager/mcp-runtime-ca`), compared by SHA-256
//! fingerprint with the CA files containerd would use on the node (hosts.toml `ca`, k3s `ca_file`, the
//! directory's `*.crt` fallback) and with the system trust store's added anchors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::config::NodeFacts;
use super::reference;
use super::simulate::{ClientFlags, plan};
use crate::check::{Context, unreadable};
use crate::evidence::host::{HostFacts, TRUST_STORE_DIRS, pem_fingerprints};
use crate::evidence::kinds;
use crate::model::Outcome;
use crate::tls::cert::host_only;
use crate::tls::registry_internal_cert::DEFAULT_PULL_HOST;

/// The internal registry's CA, as the cluster holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCa {
    /// The host nodes pull platform images from (`registry.registry.svc.cluster.local:5000`).
    pub pull_host: String,
    /// Fingerprints of the CA certificates.
    pub fingerprints: Vec<String>,
    /// Where they were read (`Secret registry/registry-internal-tls ca.crt`).
    pub source: String,
}

/// The bundled registry's CA when nodes pull from the registry pod over HTTPS; `Err` holds the outcome of a
/// check that cannot judge (not bundled-https, pulls through the ingress, CA not readable).
pub async fn bundled_registry_ca(ctx: &Context) -> Result<RegistryCa, Outcome> {
    let mode = ctx.config.value("registry_mode").unwrap_or("auto");
    if matches!(mode, "bundled-http" | "external") {
        return Err(Outcome::skip(format!(
            "the registry mode is {mode}: nodes do not pull from the bundled registry's internal certificate"
        )));
    }
    let pull_host = ctx
        .config
        .value("registry_endpoint")
        .unwrap_or(DEFAULT_PULL_HOST)
        .trim()
        .to_ascii_lowercase();
    let public = ctx
        .config
        .public_hosts()
        .registry
        .map(|s| s.value.trim().to_ascii_lowercase());
    if public.as_deref() == Some(host_only(&pull_host)) {
        return Err(Outcome::skip(format!(
            "nodes pull from {pull_host} through the ingress, whose certificate is the public registry-tls \
             (tls.registry-cert judges it); the internal CA is not involved"
        )));
    }
    if crate::tls::cert::is_ip(&pull_host) {
        return Err(Outcome::skip(format!(
            "the pull host {pull_host} is an IP address: whether the certificate can serve it is \
             tls.registry-internal-cert's finding, which comes first"
        )));
    }
    for (ns, name, key) in [
        ("registry", "registry-internal-tls", "ca.crt"),
        ("cert-manager", "mcp-runtime-ca", "tls.crt"),
    ] {
        let secret = ctx
            .evidence
            .kube
            .get(&kinds::SECRETS, Some(ns), name)
            .await
            .map_err(|e| unreadable(&format!("Secret {ns}/{name}"), &e))?;
        let Some(pem) = secret
            .as_ref()
            .and_then(|s| s.pointer(&format!("/data/{key}")))
            .and_then(Value::as_str)
            .and_then(|b| STANDARD.decode(b.trim()).ok())
        else {
            continue;
        };
        let fingerprints = pem_fingerprints(&pem);
        if !fingerprints.is_empty() {
            return Ok(RegistryCa {
                pull_host,
                fingerprints,
                source: format!("Secret {ns}/{name} {key}"),
            });
        }
    }
    Err(if mode == "bundled-https" {
        Outcome::skip(
            "neither registry/registry-internal-tls nor cert-manager/mcp-runtime-ca holds a CA certificate yet \
             (setup creates them): nothing to compare the nodes' trust with",
        )
    } else {
        Outcome::skip(
            "Secret registry/registry-internal-tls does not exist: the bundled registry serves plain HTTP (registry mode auto)",
        )
    })
}

/// How a node stands with the registry CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Trusted, and by what (`/etc/.../ca.crt`, `the system trust store (...)`, `skip_verify`).
    Trusted(String),
    /// Not trusted; what containerd would use instead.
    Untrusted(String),
    /// A CA file is named but its fingerprint was not collected.
    Unknown(String),
}

/// Whether containerd on this node trusts `ca` for pulls from `ca.pull_host`.
pub fn node_trust(facts: &HostFacts, ca: &RegistryCa) -> Trust {
    let n = NodeFacts::from_host(facts);
    let Ok(r) = reference::parse(&format!("{}/mcp-doctor/trust-probe:latest", ca.pull_host)) else {
        return Trust::Untrusted(format!("{} is not a registry host", ca.pull_host));
    };
    let p = plan(
        &n.effective,
        n.containerd_version,
        &r,
        &ClientFlags::default(),
    );
    let Some(ep) = p.endpoints.first() else {
        return Trust::Untrusted("containerd has no endpoint for it".into());
    };
    if ep.skip_verify {
        return Trust::Trusted(format!("{} skips verification (skip_verify)", ep.source));
    }
    let matches = |path: &str| {
        facts.files.get(path).map(|f| {
            (
                f.sha256.iter().any(|fp| ca.fingerprints.contains(fp)),
                f.sha256.is_empty(),
            )
        })
    };
    let mut unknown = None;
    for path in &ep.ca {
        match matches(path) {
            Some((true, _)) => return Trust::Trusted(format!("{path} ({})", ep.source)),
            Some((false, true)) => unknown = Some(path.clone()),
            _ => {}
        }
    }
    for (path, f) in &facts.files {
        let in_store = TRUST_STORE_DIRS.iter().any(|d| {
            path.strip_prefix(d)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if in_store && f.sha256.iter().any(|fp| ca.fingerprints.contains(fp)) {
            return Trust::Trusted(format!("the system trust store ({path})"));
        }
    }
    if let Some(path) = unknown {
        return Trust::Unknown(format!(
            "{path} is named as the CA but its fingerprint was not collected (host facts from an older mcp-doctor)"
        ));
    }
    let used = if ep.ca.is_empty() {
        format!(
            "no CA file for {} ({}) and the CA is not in the system trust store",
            ep.url(),
            ep.source
        )
    } else {
        format!(
            "{} names {} for {}, which holds a different CA, and the CA is not in the system trust store",
            ep.source,
            ep.ca.join(", "),
            ep.url()
        )
    };
    Trust::Untrusted(used)
}
