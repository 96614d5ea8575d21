//! The one place the tool writes to a cluster: throwaway objects of opt-in probes (`http01.self-test`),
//! always labelled [`MANAGED_BY`] = `mcp-doctor` and with a run id, so a run deletes what it created and
//! `mcp-doctor sweep` finds what an interrupted run left behind.
//!
//! Checks reach it through `Context::objects`, which is None unless the run opted in to a mutating probe and
//! talks to a live cluster (a replayed bundle never writes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::ApiResource;
use serde_json::Value;

use super::EvidenceError;
use super::kinds::{self, ResourceKind};
use super::live_kube::classify;

/// The label every object the tool creates carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "mcp-doctor");
/// The label naming the run that created an object.
pub const RUN_ID_LABEL: &str = "mcp-doctor.io/run-id";
/// The kinds probes create, in the order `sweep` deletes them (routes before what they route to).
pub const PROBE_KINDS: [&ResourceKind; 4] = [
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
    /// Every object of a kind labelled managed-by=mcp-doctor, in every namespace.
    async fn list_managed(
        &self,
        kind: &'static ResourceKind,
    ) -> Result<Vec<ObjectRef>, EvidenceError>;
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

/// Deletes everything still pending (in reverse creation order); returns what could not be deleted.
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
    ) -> Result<Vec<ObjectRef>, EvidenceError> {
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
            .map(|o| ObjectRef {
                kind,
                namespace: o.metadata.namespace.unwrap_or_default(),
                name: o.metadata.name.unwrap_or_default(),
            })
            .collect())
    }
}
