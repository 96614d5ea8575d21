//! The one place the tool writes to a cluster: throwaway objects of opt-in probes (`http01.self-test`, the
//! `--probe-pods` in-cluster probes), always labelled [`MANAGED_BY`] = `mcp-doctor` and with a run id and an
//! expiry ([`EXPIRES_AT_ANNOTATION`]), so a run deletes what it created and `mcp-doctor sweep` finds what an
//! interrupted run left behind once it has expired.
//!
//! [`run_pod`] is the in-cluster probe mechanism every such check uses: a short-lived Pod under the
//! restricted Pod Security Standard ([`restricted_pod`]), waited for, its log read, and deleted on every
//! path. Nothing secret is ever put in a probe object: checks pass only host names and paths.
//!
//! Checks reach it through `Context::objects`, which is None unless the run opted in to a mutating probe and
//! talks to a live cluster (a replayed bundle never writes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

use super::EvidenceError;
use super::kinds::{self, ResourceKind};
use super::live_kube::classify;

/// The label every object the tool creates carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "mcp-doctor");
/// The label naming the run that created an object.
pub const RUN_ID_LABEL: &str = "mcp-doctor.io/run-id";
/// When a probe object has outlived any run that could still use it (RFC 3339): `sweep` deletes it after.
pub const EXPIRES_AT_ANNOTATION: &str = "mcp-doctor.io/expires-at";
/// Where probe objects are created.
pub const PROBE_NAMESPACE: &str = "default";
/// The most a probe pod's log is read (the API server's `limitBytes`).
const LOG_LIMIT_BYTES: i64 = 64 * 1024;
/// The kinds probes create, in the order `sweep` deletes them (routes before what they route to, a
/// DaemonSet before its pods, which its controller would otherwise recreate).
pub const PROBE_KINDS: [&ResourceKind; 5] = [
    &kinds::DAEMONSETS,
    &kinds::INGRESSES,
    &kinds::SERVICES,
    &kinds::PODS,
    &kinds::CONFIGMAPS,
];

/// One object a probe created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: &'static ResourceKind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.kind.kind.to_ascii_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// Creates, reads (unmemoized) and deletes probe objects.
#[async_trait]
pub trait ProbeObjects: Send + Sync {
    async fn create(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        object: Value,
    ) -> Result<(), EvidenceError>;
    /// A fresh read (not the memoized evidence view): for waiting on a pod.
    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError>;
    /// Deletes one object; already gone is fine.
    async fn delete(&self, object: &ObjectRef) -> Result<(), EvidenceError>;
    /// Every object of a kind labelled managed-by=mcp-doctor, in every namespace, with its
    /// [`EXPIRES_AT_ANNOTATION`] when it has one.
    async fn list_managed(
        &self,
        kind: &'static ResourceKind,
    ) -> Result<Vec<(ObjectRef, Option<String>)>, EvidenceError>;
    /// The log of one container of a pod, as text. A container that has not started yet is an error (the
    /// API server's 400 `container ... is waiting to start`).
    async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<String, EvidenceError>;
    /// A fresh list (not the memoized evidence view) of the objects of a kind in one namespace whose labels
    /// match `selector` (`key=value,...`): for following the pods a controller creates.
    async fn list_labelled(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Value>, EvidenceError>;
    /// Like [`ProbeObjects::logs`], reading at most `limit_bytes` instead of the probes' 64 KiB: for output
    /// that is a whole document (a node's host facts).
    async fn logs_up_to(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        limit_bytes: i64,
    ) -> Result<String, EvidenceError>;
}

/// Objects created by this process and not deleted yet: the run deletes them after the report, whatever
/// happened to the check that created them (a timeout or Ctrl-C drops the check mid-way).
static PENDING: Mutex<Vec<ObjectRef>> = Mutex::new(Vec::new());

pub fn remember(object: ObjectRef) {
    PENDING.lock().expect("pending lock").push(object);
}

pub fn forget(object: &ObjectRef) {
    PENDING
        .lock()
        .expect("pending lock")
        .retain(|o| o != object);
}

/// Deletes `these` (in reverse creation order; already gone is fine) and forgets them. What could not be
/// deleted stays pending for the run's cleanup and is returned. Other checks' objects are left alone: they
/// may still be in use.
pub async fn delete_these(
    objects: &dyn ProbeObjects,
    these: &[ObjectRef],
) -> Vec<(ObjectRef, EvidenceError)> {
    let mut failed = Vec::new();
    for o in these.iter().rev() {
        match objects.delete(o).await {
            Ok(()) => forget(o),
            Err(e) => failed.push((o.clone(), e)),
        }
    }
    failed
}

/// Deletes everything still pending (in reverse creation order); returns what could not be deleted. For the
/// end of a run (after the report, or after Ctrl-C): a check deletes only its own objects ([`delete_these`]).
pub async fn delete_pending(objects: &dyn ProbeObjects) -> Vec<(ObjectRef, EvidenceError)> {
    let pending: Vec<ObjectRef> = std::mem::take(&mut *PENDING.lock().expect("pending lock"));
    let mut failed = Vec::new();
    for o in pending.into_iter().rev() {
        if let Err(e) = objects.delete(&o).await {
            failed.push((o, e));
        }
    }
    failed
}

/// The live implementation over a kube client.
pub struct LiveProbeObjects {
    client: kube::Client,
    server: String,
    timeout: Duration,
}

impl LiveProbeObjects {
    pub fn new(client: kube::Client, server: String, timeout: Duration) -> Arc<LiveProbeObjects> {
        Arc::new(LiveProbeObjects {
            client,
            server,
            timeout,
        })
    }

    fn api(&self, kind: &ResourceKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = ApiResource {
            group: kind.group.into(),
            version: kind.version.into(),
            api_version: kind.api_version(),
            kind: kind.kind.into(),
            plural: kind.plural.into(),
        };
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    async fn call<T>(
        &self,
        what: String,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, EvidenceError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&e, &self.server)),
            Err(_) => Err(EvidenceError::Timeout {
                what,
                secs: self.timeout.as_secs().max(1),
            }),
        }
    }
}

#[async_trait]
impl ProbeObjects for LiveProbeObjects {
    async fn create(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        object: Value,
    ) -> Result<(), EvidenceError> {
        let obj: DynamicObject =
            serde_json::from_value(object).map_err(|e| EvidenceError::Decode {
                what: format!("a {} to create", kind.kind),
                message: e.to_string(),
            })?;
        let api = self.api(kind, Some(namespace));
        self.call(
            format!("create {} in {namespace}", kind.kind),
            api.create(&PostParams::default(), &obj),
        )
        .await
        .map(|_| ())
    }

    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        let api = self.api(kind, Some(namespace));
        let got = self
            .call(
                format!("get {} {namespace}/{name}", kind.kind),
                api.get_opt(name),
            )
            .await?;
        Ok(got.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    async fn delete(&self, object: &ObjectRef) -> Result<(), EvidenceError> {
        let api = self.api(object.kind, Some(&object.namespace));
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::background()
        };
        match self
            .call(
                format!("delete {object}"),
                api.delete(&object.name, &params),
            )
            .await
        {
            Ok(_) | Err(EvidenceError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_managed(
        &self,
        kind: &'static ResourceKind,
    ) -> Result<Vec<(ObjectRef, Option<String>)>, EvidenceError> {
        let api = self.api(kind, None);
        let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
        let list = self
            .call(
                format!("list {} labelled {selector}", kind.plural),
                api.list(&ListParams::default().labels(&selector)),
            )
            .await?;
        // Filtered here too: a server that ignored the selector must never make sweep delete others' objects.
        Ok(list
            .items
            .into_iter()
            .filter(|o| {
                o.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(MANAGED_BY.0))
                    .is_some_and(|v| v == MANAGED_BY.1)
            })
            .map(|o| {
                let expires = o
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(EXPIRES_AT_ANNOTATION))
                    .cloned();
                let object = ObjectRef {
                    kind,
                    namespace: o.metadata.namespace.unwrap_or_default(),
                    name: o.metadata.name.unwrap_or_default(),
                };
                (object, expires)
            })
            .collect())
    }

    async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<String, EvidenceError> {
        self.logs_up_to(namespace, pod, container, LOG_LIMIT_BYTES)
            .await
    }

    async fn list_labelled(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Value>, EvidenceError> {
        let api = self.api(kind, Some(namespace));
        let list = self
            .call(
                format!("list {} labelled {selector} in {namespace}", kind.plural),
                api.list(&ListParams::default().labels(selector)),
            )
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .collect())
    }

    async fn logs_up_to(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        limit_bytes: i64,
    ) -> Result<String, EvidenceError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: Some(container.to_string()),
            limit_bytes: Some(limit_bytes),
            ..LogParams::default()
        };
        self.call(
            format!("the log of pod {namespace}/{pod}"),
            api.logs(pod, &params),
        )
        .await
    }
}

/// A fresh run id: 8 lower-case letters and digits, valid in names and label values.
pub fn new_run_id() -> String {
    use ring::rand::SecureRandom;
    let mut buf = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("system randomness");
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    buf.iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// The metadata of a probe object: the managed-by, run-id and app labels, and when it expires (now +
/// `lifetime`).
pub fn probe_metadata(
    name: &str,
    namespace: &str,
    run_id: &str,
    app: &str,
    lifetime: Duration,
) -> Value {
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(lifetime.as_secs() as i64))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    json!({
        "name": name,
        "namespace": namespace,
        "labels": {
            MANAGED_BY.0: MANAGED_BY.1,
            RUN_ID_LABEL: run_id,
            "app.kubernetes.io/name": app,
        },
        "annotations": {EXPIRES_AT_ANNOTATION: expires.to_string()},
    })
}

/// A Pod of one container under the restricted Pod Security Standard: non-root, no privilege escalation,
/// every capability dropped, RuntimeDefault seccomp, read-only root filesystem; no service account token,
/// never restarted, and stopped by the kubelet after `deadline` (`activeDeadlineSeconds`) whatever happens
/// to the run that created it.
pub fn restricted_pod(metadata: Value, mut container: Value, deadline: Duration) -> Value {
    container["securityContext"] = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
    });
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": deadline.as_secs().max(1),
            "securityContext": {
                "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534,
                "seccompProfile": {"type": "RuntimeDefault"}
            },
            "containers": [container]
        }
    })
}

/// How a probe pod ended: its phase (`Succeeded`, `Failed`, or the phase it was still in when the wait was
/// over), its log when it ran, and why it was still waiting when it never finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRun {
    pub phase: String,
    pub log: Option<String>,
    pub waiting: Option<String>,
}

impl PodRun {
    pub fn finished(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed")
    }
}

/// Runs a probe pod: creates it, waits up to `wait` for it to finish, reads `container`'s log, and deletes
/// it on success, failure and timeout. A run cut off mid-way (the check's timeout, Ctrl-C) leaves the pod in
/// the pending list, which the run deletes after its report.
pub async fn run_pod(
    objects: &dyn ProbeObjects,
    pod: Value,
    container: &str,
    wait: Duration,
) -> Result<PodRun, EvidenceError> {
    let r = ObjectRef {
        kind: &kinds::PODS,
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        name: pod["metadata"]["name"].as_str().unwrap_or_default().into(),
    };
    // Remembered before the request: a create cut off mid-way may still have happened.
    remember(r.clone());
    let result = match objects.create(r.kind, &r.namespace, pod).await {
        Ok(()) => watch_pod(objects, &r, container, wait).await,
        // The server answered no (403, 409, 422): nothing was created, nothing to delete.
        Err(e)
            if !matches!(
                e,
                EvidenceError::Timeout { .. } | EvidenceError::Unreachable { .. }
            ) =>
        {
            forget(&r);
            return Err(e);
        }
        Err(e) => Err(e),
    };
    // Deleted here on every path the future reaches; a failed delete stays pending for the run's cleanup.
    if objects.delete(&r).await.is_ok() {
        forget(&r);
    }
    result
}

async fn watch_pod(
    objects: &dyn ProbeObjects,
    r: &ObjectRef,
    container: &str,
    wait: Duration,
) -> Result<PodRun, EvidenceError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let pod = objects.get(r.kind, &r.namespace, &r.name).await?;
        let phase = pod
            .as_ref()
            .and_then(|p| p["status"]["phase"].as_str())
            .unwrap_or("Pending")
            .to_string();
        let run = PodRun {
            phase,
            log: None,
            waiting: None,
        };
        if run.finished() {
            let log = objects.logs(&r.namespace, &r.name, container).await?;
            return Ok(PodRun {
                log: Some(log),
                ..run
            });
        }
        if tokio::time::Instant::now() >= deadline {
            let waiting = match &pod {
                Some(p) => pod_waiting(p),
                None => "it is gone".into(),
            };
            return Ok(PodRun {
                waiting: Some(waiting),
                ..run
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Why a pod is not done: the first container's waiting reason and message, or its phase.
pub fn pod_waiting(pod: &Value) -> String {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|cs| cs.first())
        .and_then(|c| c["state"]["waiting"].as_object())
        .map(|w| {
            format!(
                "{} {}",
                w.get("reason").and_then(Value::as_str).unwrap_or(""),
                w.get("message").and_then(Value::as_str).unwrap_or("")
            )
            .trim()
            .to_string()
        })
        .unwrap_or_else(|| {
            format!(
                "phase {}",
                pod["status"]["phase"].as_str().unwrap_or("unknown")
            )
        })
}

/// What `sweep` did with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swept {
    /// Deleted (or, in a dry run, would be).
    Deleted,
    /// Not expired yet: a run may still be using it.
    Kept {
        expires_at: String,
    },
    Failed(String),
}

/// `mcp-doctor sweep`: every object labelled managed-by=mcp-doctor whose expiry has passed (or that has
/// none), deleted (or only listed with `dry_run`); objects of a run still within its deadline are kept.
pub async fn sweep(objects: Arc<dyn ProbeObjects>, dry_run: bool) -> Vec<(String, Swept)> {
    let now = jiff::Timestamp::now();
    let mut out = Vec::new();
    for kind in PROBE_KINDS {
        match objects.list_managed(kind).await {
            Ok(found) => {
                for (o, expires) in found {
                    let live = expires
                        .as_deref()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .filter(|t| *t > now);
                    let result = match (live, dry_run) {
                        (Some(t), _) => Swept::Kept {
                            expires_at: t.to_string(),
                        },
                        (None, true) => Swept::Deleted,
                        (None, false) => match objects.delete(&o).await {
                            Ok(()) => Swept::Deleted,
                            Err(e) => Swept::Failed(e.to_string()),
                        },
                    };
                    out.push((o.to_string(), result));
                }
            }
            Err(e) => out.push((
                format!("{} (list)", kind.plural),
                Swept::Failed(e.to_string()),
            )),
        }
    }
    out
}
