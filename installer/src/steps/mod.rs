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

/// Every built-in step's kind and its documentation (the `//!` comment at the top of its file), for
/// `mcp-doctor explain <step>`: one text, in the source and in the tool.
pub fn docs() -> [(&'static str, String); 7] {
    [
        ("label-ingress-node", include_str!("label_ingress_node.rs")),
        ("unlabel-enablelb", include_str!("unlabel_enablelb.rs")),
        (
            "write-registry-config",
            include_str!("write_registry_config.rs"),
        ),
        ("apply-manifests", include_str!("apply_manifests.rs")),
        ("run", include_str!("run_command.rs")),
        ("setup", include_str!("setup.rs")),
        ("wait-for", include_str!("wait_for.rs")),
    ]
    .map(|(kind, source)| (kind, module_doc(source)))
}

/// The `//!` lines of a source file, without the markers.
fn module_doc(source: &str) -> String {
    source
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| {
            let text = l.trim_start_matches("//!");
            text.strip_prefix(' ').unwrap_or(text)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn every_step_is_documented() {
        for (kind, doc) in super::docs() {
            for part in [
                "### What it does",
                "### Requires / verifies",
                "### What it changes",
            ] {
                assert!(doc.contains(part), "{kind} lacks {part:?}");
            }
        }
    }
}
