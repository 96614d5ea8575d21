//! The built-in steps, one per file, each documented like a check: what it does, what it requires and
//! verifies, what it changes.

pub mod apply_manifests;
pub mod label_ingress_node;
pub mod run_command;
pub mod setup;
pub mod unlabel_enablelb;
pub mod wait_for;
pub mod write_registry_config;

use serde_json::Value;

use crate::kube_write::KubeWriter;
use crate::step::Env;

/// A node's labels (empty when it has none).
fn labels(node: &Value) -> serde_json::Map<String, Value> {
    node.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Every node, for steps that change node labels.
async fn nodes(env: &Env) -> Result<Vec<Value>, String> {
    env.kube()?.list(&KubeWriter::nodes()).await
}

/// The node named `wanted`, or an error listing the cluster's nodes (a typo must not pass silently).
fn find_node<'a>(all: &'a [Value], wanted: &str) -> Result<&'a Value, String> {
    all.iter().find(|n| name(n) == wanted).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(name).collect();
        format!(
            "node {wanted} does not exist (the cluster's nodes: {})",
            names.join(", ")
        )
    })
}
