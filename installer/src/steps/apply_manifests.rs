//! ### What it does
//! `apply-manifests <file|dir>` (argument `path`, relative to the plan file): server-side applies every
//! object in a YAML/JSON file, or in every `.yaml`/`.yml`/`.json` file of a directory (by name), with the
//! field manager `mcp-doctor`. Namespaces go first, then CustomResourceDefinitions (each waited for until
//! its `Established` condition is `True`), then everything else in file order, so objects never arrive
//! before what they live in or are made of.
//!
//! ### Requires / verifies
//! Requires `cluster.api-reachable`. Verifies nothing by default; a plan adds the checks that judge what the
//! manifests install.
//!
//! ### What it changes
//! One apply per object that is missing or whose applied fields differ from the live object:
//! `apply namespace mcp-system (create, field manager mcp-doctor)`, `apply configmap mcp-system/settings
//! (update: data.mode)`. An object already as written is not sent again. A field another manager owns is a
//! conflict (409) that stops the step: it is never forced.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::kube_write::{FIELD_MANAGER, ServedKind};
use crate::step::{Change, Env, Step, StepPlan};

/// How long a new CRD may take to become Established.
const ESTABLISH_DEADLINE: Duration = Duration::from_secs(60);
const ESTABLISH_POLL: Duration = Duration::from_millis(500);

pub struct ApplyManifests {
    pub path: PathBuf,
}

/// One object to apply, from a manifest file.
struct Manifest {
    object: Value,
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
}

impl Manifest {
    fn rank(&self) -> u8 {
        match self.kind.as_str() {
            "Namespace" => 0,
            "CustomResourceDefinition" => 1,
            _ => 2,
        }
    }

    fn target(&self, kind: Option<&ServedKind>) -> String {
        let namespaced = kind.is_none_or(|k| k.namespaced);
        match (&self.namespace, namespaced) {
            (Some(ns), true) => format!("{} {ns}/{}", self.kind.to_lowercase(), self.name),
            _ => format!("{} {}", self.kind.to_lowercase(), self.name),
        }
    }

    /// The namespace to apply in: the manifest's, or `default` for a namespaced kind without one.
    fn namespace_for(&self, kind: &ServedKind) -> Option<String> {
        kind.namespaced
            .then(|| self.namespace.clone().unwrap_or_else(|| "default".into()))
    }
}

impl ApplyManifests {
    fn files(&self, env: &Env) -> Result<Vec<PathBuf>, String> {
        let path = env.plan_dir.join(&self.path);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
                })
                .collect();
            files.sort();
            Ok(files)
        } else if path.is_file() {
            Ok(vec![path])
        } else {
            Err(format!("{} does not exist", path.display()))
        }
    }

    fn manifests(&self, env: &Env) -> Result<Vec<Manifest>, String> {
        let mut out = Vec::new();
        for file in self.files(env)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
                .map_err(|e| format!("{} is not valid YAML: {e}", file.display()))?;
            for (i, doc) in documents.into_iter().enumerate() {
                let items = match doc {
                    Value::Null => continue,
                    Value::Object(ref m) if m.get("kind") == Some(&Value::from("List")) => m
                        .get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    other => vec![other],
                };
                for object in items {
                    out.push(
                        manifest(object).map_err(|why| {
                            format!("{} document {}: {why}", file.display(), i + 1)
                        })?,
                    );
                }
            }
        }
        out.sort_by_key(Manifest::rank);
        Ok(out)
    }

    /// The change applying `m` would make now, or None when the live object already holds it.
    async fn change(
        &self,
        env: &Env,
        m: &Manifest,
        crds: &[(String, String)],
    ) -> Result<Option<Change>, String> {
        let kube = env.kube()?;
        let served = match kube.resolve(&m.api_version, &m.kind).await {
            Ok(k) => k,
            Err(_) if defined_here(m, crds) => {
                return Ok(Some(Change::new(
                    "apply",
                    m.target(None),
                    "(create, after its CustomResourceDefinition in these manifests)",
                )));
            }
            Err(e) => return Err(e),
        };
        let ns = m.namespace_for(&served);
        let current = kube.get(&served, ns.as_deref(), &m.name).await?;
        let detail = match current {
            None => format!("(create, field manager {FIELD_MANAGER})"),
            Some(live) => {
                let mut differing = Vec::new();
                differences(&m.object, &live, "", &mut differing);
                if differing.is_empty() {
                    return Ok(None);
                }
                format!("(update: {})", differing.join(", "))
            }
        };
        Ok(Some(Change::new("apply", m.target(Some(&served)), detail)))
    }
}

/// (group, kind) of every CRD among the manifests.
fn crds_of(manifests: &[Manifest]) -> Vec<(String, String)> {
    manifests
        .iter()
        .filter(|m| m.kind == "CustomResourceDefinition")
        .filter_map(|m| {
            Some((
                m.object.pointer("/spec/group")?.as_str()?.to_string(),
                m.object.pointer("/spec/names/kind")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

fn defined_here(m: &Manifest, crds: &[(String, String)]) -> bool {
    let group = m.api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    crds.iter().any(|(g, k)| g == group && *k == m.kind)
}

fn manifest(object: Value) -> Result<Manifest, String> {
    let field = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let api_version = field("/apiVersion").ok_or("no apiVersion")?;
    let kind = field("/kind").ok_or("no kind")?;
    let name = field("/metadata/name").ok_or_else(|| format!("{kind} without metadata.name"))?;
    let namespace = field("/metadata/namespace");
    Ok(Manifest {
        object,
        api_version,
        kind,
        name,
        namespace,
    })
}

/// The dotted paths of fields in `wanted` whose value `live` does not have (`status` is the server's).
fn differences(wanted: &Value, live: &Value, prefix: &str, out: &mut Vec<String>) {
    match wanted {
        Value::Object(fields) => {
            for (k, v) in fields {
                if prefix.is_empty() && k == "status" {
                    continue;
                }
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                differences(v, live.get(k).unwrap_or(&Value::Null), &path, out);
            }
        }
        _ if wanted == live => {}
        _ => out.push(prefix.to_string()),
    }
}

/// Waits until CRD `name` reports `Established=True`.
async fn wait_established(env: &Env, name: &str) -> Result<(), String> {
    let kube = env.kube()?;
    let crd = kube
        .resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        .await?;
    let deadline = tokio::time::Instant::now() + ESTABLISH_DEADLINE;
    loop {
        let conditions = kube
            .get(&crd, None, name)
            .await?
            .and_then(|c| c.pointer("/status/conditions").cloned())
            .unwrap_or(Value::Null);
        let established = conditions.as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
        if established {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "CustomResourceDefinition {name} is not Established after {}s (conditions: {conditions})",
                ESTABLISH_DEADLINE.as_secs()
            ));
        }
        tokio::time::sleep(ESTABLISH_POLL).await;
    }
}

#[async_trait]
impl Step for ApplyManifests {
    fn kind(&self) -> &'static str {
        "apply-manifests"
    }

    fn describe(&self) -> String {
        format!(
            "server-side apply {} (namespaces and CRDs first, field manager {FIELD_MANAGER})",
            self.path.display()
        )
    }

    fn requires(&self) -> Vec<String> {
        vec!["cluster.api-reachable".into()]
    }

    fn verifies(&self) -> Vec<String> {
        Vec::new()
    }

    async fn plan(&self, env: &Env) -> Result<StepPlan, String> {
        let manifests = self.manifests(env)?;
        let crds = crds_of(&manifests);
        let mut changes = Vec::new();
        for m in &manifests {
            changes.extend(self.change(env, m, &crds).await?);
        }
        Ok(StepPlan {
            changes,
            notes: Vec::new(),
        })
    }

    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String> {
        let manifests = self.manifests(env)?;
        let crds = crds_of(&manifests);
        let kube = env.kube()?;
        let mut changes = Vec::new();
        for m in &manifests {
            let Some(change) = self.change(env, m, &crds).await? else {
                continue;
            };
            let served = kube.resolve(&m.api_version, &m.kind).await?;
            let ns = m.namespace_for(&served);
            let mut object = m.object.clone();
            if let Some(ns) = &ns {
                object["metadata"]["namespace"] = Value::from(ns.as_str());
            }
            kube.apply(&served, ns.as_deref(), &m.name, &object).await?;
            if m.kind == "CustomResourceDefinition" {
                wait_established(env, &m.name).await?;
            }
            changes.push(change);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn differences_name_changed_fields_and_ignore_extra_live_ones() {
        let wanted = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}});
        let live = json!({"metadata": {"name": "a", "uid": "u", "labels": {"x": "2"}}, "data": {"k": "v"}});
        let mut out = Vec::new();
        differences(&wanted, &live, "", &mut out);
        assert_eq!(out, vec!["metadata.labels.x"]);
    }
}
