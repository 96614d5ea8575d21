//! certmanager checks: cert-manager itself, the issuer setup will use, and how the platform's Certificates
//! are getting on (Certificate -> CertificateRequest -> Order -> Challenge).

mod certificates;
mod issuer;
mod ready;
mod reissue_budget;
mod single_owner;

pub use certificates::{Certificates, diagnose_certificate};
pub use issuer::Issuer;
pub use ready::Ready;
pub use reissue_budget::ReissueBudget;
pub use single_owner::SingleOwner;

use std::sync::Arc;

use serde_json::Value;

use crate::Check;
use crate::check::{Context, unreadable};
use crate::evidence::{EvidenceError, ResourceKind, Scope, kinds};
use crate::model::Outcome;

/// The certmanager checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(Ready),
        Box::new(Issuer),
        Box::new(Certificates),
        Box::new(SingleOwner),
        Box::new(ReissueBudget),
    ]
}

/// Namespaces whose Certificates are the platform's.
pub const PLATFORM_NAMESPACES: &[&str] =
    &["registry", "mcp-sentinel", "mcp-runtime", "mcp-servers"];

/// Every object of a cert-manager kind, in all namespaces (or cluster-wide): `Ok(None)` when its CRD is
/// not installed, as the CRD list says (so a cluster before install reads the same live and replayed).
pub async fn list_cm(
    ctx: &Context,
    kind: &'static ResourceKind,
) -> Result<Option<Arc<Vec<Value>>>, Outcome> {
    if !crd_installed(ctx, kind).await? {
        return Ok(None);
    }
    match ctx.evidence.kube.list(kind, &Scope::everywhere(kind)).await {
        Ok(items) => Ok(Some(items)),
        Err(EvidenceError::NotFound { .. }) => Ok(None),
        Err(e) => Err(unreadable(
            &format!("{} ({})", kind.kind, kind.resource_key()),
            &e,
        )),
    }
}

/// Whether the cluster's CRD list names the kind's CRD.
pub async fn crd_installed(ctx: &Context, kind: &ResourceKind) -> Result<bool, Outcome> {
    let crds = ctx
        .evidence
        .kube
        .list(&kinds::CUSTOM_RESOURCE_DEFINITIONS, &Scope::Cluster)
        .await
        .map_err(|e| unreadable("the CustomResourceDefinitions", &e))?;
    let name = kind.resource_key();
    Ok(crds
        .iter()
        .any(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str())))
}

/// A status condition of a cert-manager object: (status, reason, message).
pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<(&'a str, &'a str, &'a str)> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
            (s("status"), s("reason"), s("message"))
        })
}

/// Whether the object's `Ready` condition is True.
pub fn is_ready(obj: &Value) -> bool {
    matches!(condition(obj, "Ready"), Some(("True", _, _)))
}

/// Whether `obj` names `owner` (by kind and name) among its ownerReferences.
pub fn owned_by(obj: &Value, kind: &str, name: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("kind").and_then(Value::as_str) == Some(kind)
                    && r.get("name").and_then(Value::as_str) == Some(name)
            })
        })
}

/// `metadata.creationTimestamp` in Unix seconds (0 when absent).
pub fn created(obj: &Value) -> i64 {
    obj.pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}
