//! The installer's cluster access: reads it plans from and the writes it makes, through kube-rs, each under
//! a timeout. Labels change by JSON merge PATCH (only the keys named, `null` removes one); manifests by
//! server-side apply with the field manager [`FIELD_MANAGER`].

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use mcp_doctor_checks::evidence::live_kube::classify;
use serde_json::Value;

/// The field manager of every server-side apply the tool makes.
pub const FIELD_MANAGER: &str = "mcp-doctor";

/// A kind the API server serves, as discovery described it.
#[derive(Debug, Clone)]
pub struct ServedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Cluster access for steps.
#[derive(Clone)]
pub struct KubeWriter {
    client: kube::Client,
    server: String,
    timeout: Duration,
}

impl KubeWriter {
    pub fn new(client: kube::Client, server: String, timeout: Duration) -> KubeWriter {
        KubeWriter {
            client,
            server,
            timeout,
        }
    }

    async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{what}: {}", classify(&e, &self.server))),
            Err(_) => Err(format!(
                "{what}: no answer from {} within {}s",
                self.server,
                self.timeout.as_secs().max(1)
            )),
        }
    }

    fn api(&self, kind: &ServedKind, namespace: Option<&str>) -> Api<DynamicObject> {
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &kind.resource),
            _ => Api::all_with(self.client.clone(), &kind.resource),
        }
    }

    /// The served kind for `apiVersion` + `kind`, from the server's discovery.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ServedKind, String> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = self
            .call(
                &format!("discover {kind} in {api_version}"),
                kube::discovery::pinned_kind(&self.client, &gvk),
            )
            .await?;
        Ok(ServedKind {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        })
    }

    pub fn nodes() -> ServedKind {
        ServedKind {
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::Node>(&()),
            namespaced: false,
        }
    }

    pub async fn get(
        &self,
        kind: &ServedKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let got = self
            .call(
                &format!("get {} {name}", kind.resource.kind),
                self.api(kind, namespace).get_opt(name),
            )
            .await?;
        Ok(got.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    pub async fn list(&self, kind: &ServedKind) -> Result<Vec<Value>, String> {
        let list = self
            .call(
                &format!("list {}", kind.resource.plural),
                self.api(kind, None).list(&ListParams::default()),
            )
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .collect())
    }

    /// A JSON merge PATCH (`application/merge-patch+json`) of one object.
    pub async fn merge_patch(
        &self,
        kind: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        body: &Value,
    ) -> Result<Value, String> {
        let patched = self
            .call(
                &format!("patch {} {name}", kind.resource.kind),
                self.api(kind, namespace)
                    .patch(name, &PatchParams::default(), &Patch::Merge(body)),
            )
            .await?;
        Ok(serde_json::to_value(patched).unwrap_or(Value::Null))
    }

    /// Server-side apply of `object` with the field manager `mcp-doctor` (not forced: a field another
    /// manager owns is a conflict the operator must see).
    pub async fn apply(
        &self,
        kind: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
    ) -> Result<Value, String> {
        let applied = self
            .call(
                &format!("apply {} {name}", kind.resource.kind),
                self.api(kind, namespace).patch(
                    name,
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Apply(object),
                ),
            )
            .await?;
        Ok(serde_json::to_value(applied).unwrap_or(Value::Null))
    }
}
