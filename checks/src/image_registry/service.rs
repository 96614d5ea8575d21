use async_trait::async_trait;
use serde_json::Value;

use super::{
    NAMESPACE, NODE_PORT, RegistryMode, SERVICE, SERVICE_PORT, STORAGE_PVC, bundled_mode,
    registry_port, str_at,
};
use crate::check::{Check, Context, unreadable};
use crate::config::{Finding, vars, verdict};
use crate::declare_check;
use crate::evidence::{Scope, kinds};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// With the bundled registry: Service `registry/registry` exists and publishes port 5000 on NodePort
    /// 32000 (setup's `5000:32000`), and the registry's storage PVC `registry/registry-storage` is Bound
    /// (not checked with `--storage-mode hostpath`, which uses no PVC). A Pending PVC is reported with the
    /// newest event about it (`ProvisioningFailed`, `WaitForFirstConsumer`, ...).
    ///
    /// ### Why it matters
    /// The dev path's node mirrors and hosts entries point at `127.0.0.1:32000` / `registry.local:32000`:
    /// without the NodePort (or on another one) every pull and push from a node reaches nothing. The
    /// registry pod cannot start until its PVC binds, so every image pull behind it fails.
    ///
    /// ### What a failure looks like
    /// `Service registry/registry publishes port 5000 on NodePort 30500, not 32000: node mirrors for
    /// 127.0.0.1:32000 reach nothing` or `PVC registry/registry-storage is Pending (storage class
    /// longhorn): the registry pod cannot start until it binds; newest event ProvisioningFailed: ...`.
    ///
    /// ### How to fix
    /// Rerun setup to recreate the Service (`rem.registry-service-missing`), patch the NodePort back to
    /// 32000 (`rem.registry-node-port`), or make the PVC bindable: a default StorageClass that provisions,
    /// or a free PersistentVolume (`rem.registry-storage`).
    pub struct RegistryService {
        id: "registry.service",
        title: "Bundled registry Service publishes NodePort 32000 and its storage is Bound",
        category: "registry",
        modes: Doctor,
        depends_on: ["cluster.api-reachable", "registry.mode"],
        reads: [kinds::SERVICES, kinds::PERSISTENT_VOLUME_CLAIMS, kinds::EVENTS, kinds::SECRETS],
        // Every namespaced read is of the bundled registry's own objects in namespace `registry`.
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for RegistryService {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let found = match bundled_mode(ctx).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let service_name = format!("Service {NAMESPACE}/{SERVICE}");
        let service = match ctx
            .evidence
            .kube
            .get(&kinds::SERVICES, Some(NAMESPACE), SERVICE)
            .await
        {
            Ok(s) => s,
            Err(e) => return unreadable(&service_name, &e),
        };
        let mut findings = Vec::new();
        let mut subjects = Vec::new();
        let mut good = Vec::new();
        let mut node_port = None;
        match &service {
            None => {
                findings.push(Finding::fail(
                    format!(
                        "{service_name} does not exist: nothing publishes the bundled registry ({}) on port {SERVICE_PORT} \
                         or NodePort {NODE_PORT}",
                        found.mode.as_str()
                    ),
                    "rem.registry-service-missing",
                    vars([("mode", found.mode.as_str().to_string())]),
                ));
                subjects.push(format!("service/{NAMESPACE}/{SERVICE}"));
            }
            Some(svc) => match port_finding(svc, found.mode) {
                Ok(port) => {
                    node_port = Some(port);
                    good.push(format!(
                        "{service_name} publishes {SERVICE_PORT}:{NODE_PORT}"
                    ));
                }
                Err(f) => {
                    findings.push(f);
                    subjects.push(format!("service/{NAMESPACE}/{SERVICE}"));
                }
            },
        }
        if ctx.config.value("storage_mode") == Some("hostpath") {
            good.push("storage is a hostPath (--storage-mode hostpath), no PVC".into());
        } else {
            match storage_finding(ctx).await {
                Err(outcome) => return outcome,
                Ok(Some(f)) => {
                    findings.push(f);
                    subjects.push(format!("persistentvolumeclaim/{NAMESPACE}/{STORAGE_PVC}"));
                }
                Ok(None) => good.push(format!("PVC {NAMESPACE}/{STORAGE_PVC} is Bound")),
            }
        }
        verdict(findings, good.join("; "))
            .subjects(subjects)
            .detail("mode", found.mode)
            .detail("node_port", node_port)
    }
}

/// The registry port's NodePort when it is the one setup publishes, else the finding.
fn port_finding(svc: &Value, mode: RegistryMode) -> Result<i64, Finding> {
    let shown = format!("Service {NAMESPACE}/{SERVICE}");
    let Some(port) = registry_port(svc) else {
        let listed: Vec<String> = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("port").and_then(Value::as_i64))
            .map(|p| p.to_string())
            .collect();
        return Err(Finding::fail(
            format!(
                "{shown} has no port {SERVICE_PORT} (ports: {}): the registry is not published where setup renders it",
                if listed.is_empty() {
                    "none".into()
                } else {
                    listed.join(", ")
                }
            ),
            "rem.registry-service-missing",
            vars([("mode", mode.as_str().to_string())]),
        ));
    };
    let svc_type = str_at(svc, "/spec/type").unwrap_or("ClusterIP");
    let rem = |actual: String| vars([("node_port", NODE_PORT.to_string()), ("actual", actual)]);
    match port.get("nodePort").and_then(Value::as_i64) {
        Some(NODE_PORT) => Ok(NODE_PORT),
        None => Err(Finding::fail(
            format!(
                "{shown} is type {svc_type} without a NodePort for port {SERVICE_PORT}: node mirrors for \
                 127.0.0.1:{NODE_PORT} and registry.local:{NODE_PORT} reach nothing"
            ),
            "rem.registry-node-port",
            rem("none".into()),
        )),
        Some(other) => {
            let f = Finding::fail(
                format!(
                    "{shown} publishes port {SERVICE_PORT} on NodePort {other}, not {NODE_PORT}: node mirrors for \
                     127.0.0.1:{NODE_PORT} and registry.local:{NODE_PORT} reach nothing"
                ),
                "rem.registry-node-port",
                rem(other.to_string()),
            );
            // Over HTTPS nodes pull through a name the certificate covers, not the NodePort: only drift.
            Err(if mode == RegistryMode::BundledHttps {
                Finding {
                    status: crate::model::Status::Warn,
                    ..f
                }
            } else {
                f
            })
        }
    }
}

/// The storage PVC's finding: missing or not Bound (with the newest event about it); None when Bound.
async fn storage_finding(ctx: &Context) -> Result<Option<Finding>, Outcome> {
    let shown = format!("PVC {NAMESPACE}/{STORAGE_PVC}");
    let pvc = ctx
        .evidence
        .kube
        .get(
            &kinds::PERSISTENT_VOLUME_CLAIMS,
            Some(NAMESPACE),
            STORAGE_PVC,
        )
        .await
        .map_err(|e| unreadable(&shown, &e))?;
    let rem = |phase: &str| {
        vars([
            ("namespace", NAMESPACE.to_string()),
            ("pvc", STORAGE_PVC.to_string()),
            ("phase", phase.to_string()),
        ])
    };
    let Some(pvc) = pvc else {
        return Ok(Some(Finding::fail(
            format!("{shown} does not exist: the registry pod cannot mount its storage"),
            "rem.registry-storage",
            rem("missing"),
        )));
    };
    let phase = str_at(&pvc, "/status/phase").unwrap_or("Pending");
    if phase == "Bound" {
        return Ok(None);
    }
    let class = str_at(&pvc, "/spec/storageClassName")
        .map(|c| format!("storage class {c}"))
        .unwrap_or_else(|| "no storage class".into());
    let event = newest_event(ctx, "PersistentVolumeClaim", STORAGE_PVC)
        .await
        .map(|e| format!("; newest event {e}"))
        .unwrap_or_default();
    Ok(Some(Finding::fail(
        format!(
            "{shown} is {phase} ({class}): the registry pod cannot start until it binds{event}"
        ),
        "rem.registry-storage",
        rem(phase),
    )))
}

/// `Reason: message` of the newest event about an object in the registry namespace; None when there is
/// none or events cannot be read (the finding stands without it).
async fn newest_event(ctx: &Context, kind: &str, name: &str) -> Option<String> {
    let events = ctx
        .evidence
        .kube
        .list(&kinds::EVENTS, &Scope::Namespace(NAMESPACE.into()))
        .await
        .ok()?;
    let when = |e: &Value| {
        [
            "/lastTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| str_at(e, p))
        .unwrap_or_default()
        .to_string()
    };
    events
        .iter()
        .filter(|e| {
            str_at(e, "/involvedObject/kind") == Some(kind)
                && str_at(e, "/involvedObject/name") == Some(name)
        })
        .max_by_key(|e| when(e))
        .map(|e| {
            format!(
                "{}: {}",
                str_at(e, "/reason").unwrap_or("?"),
                str_at(e, "/message").unwrap_or_default().trim()
            )
        })
}
