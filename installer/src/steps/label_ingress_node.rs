//! ### What it does
//! `label-ingress-node <node>`: puts the k3s guide's three public-ingress labels on the ingress node:
//! `svccontroller.k3s.cattle.io/enablelb=true` (ServiceLB runs its svclb pods, and so answers on 80/443,
//! only on nodes labelled `true` once any node carries the label), `ingress.mcpruntime.org/public=true` and
//! `node-role.mcpruntime.org/public-ingress=true`.
//!
//! ### Requires / verifies
//! Requires `cluster.api-reachable` and `nodes.ready`. Verifies nothing itself: `svclb.enablelb-labels`
//! and `svclb.placement` can pass only once no other node carries the ServiceLB label, so the
//! `unlabel-enablelb` step that completes the pin verifies them (a plan that labels a node already alone
//! can add them here with `verifies`).
//!
//! ### What it changes
//! One JSON merge PATCH of the node with only the labels it lacks or has with another value:
//! `PATCH node mcp-ingress-1 labels +svccontroller.k3s.cattle.io/enablelb=true`. Nothing when all three are
//! already `true`.

use async_trait::async_trait;
use mcp_doctor_checks::facts::PUBLIC_INGRESS_LABELS;
use mcp_doctor_checks::svclb::servicelb::ENABLELB;
use serde_json::{Map, Value, json};

use super::{find_node, labels, nodes};
use crate::kube_write::KubeWriter;
use crate::step::{Change, Env, Step, StepPlan};

/// The three labels of the guide, all `true`.
pub fn ingress_labels() -> [&'static str; 3] {
    [ENABLELB, PUBLIC_INGRESS_LABELS[0], PUBLIC_INGRESS_LABELS[1]]
}

pub struct LabelIngressNode {
    pub node: String,
}

impl LabelIngressNode {
    /// The labels to set (those missing or not `true`), or the reason the node cannot be labelled.
    async fn missing(&self, env: &Env) -> Result<Map<String, Value>, String> {
        let all = nodes(env).await?;
        let node = find_node(&all, &self.node)?;
        let have = labels(node);
        Ok(ingress_labels()
            .into_iter()
            .filter(|l| have.get(*l).and_then(Value::as_str) != Some("true"))
            .map(|l| (l.to_string(), json!("true")))
            .collect())
    }

    fn changes(&self, missing: &Map<String, Value>) -> Vec<Change> {
        missing
            .keys()
            .map(|l| {
                Change::new(
                    "PATCH",
                    format!("node {}", self.node),
                    format!("labels +{l}=true"),
                )
            })
            .collect()
    }
}

#[async_trait]
impl Step for LabelIngressNode {
    fn kind(&self) -> &'static str {
        "label-ingress-node"
    }

    fn describe(&self) -> String {
        format!(
            "put the public-ingress labels on {} (ServiceLB answers 80/443 there)",
            self.node
        )
    }

    fn requires(&self) -> Vec<String> {
        vec!["cluster.api-reachable".into(), "nodes.ready".into()]
    }

    fn verifies(&self) -> Vec<String> {
        Vec::new()
    }

    async fn plan(&self, env: &Env) -> Result<StepPlan, String> {
        let missing = self.missing(env).await?;
        Ok(StepPlan {
            changes: self.changes(&missing),
            notes: Vec::new(),
        })
    }

    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String> {
        let missing = self.missing(env).await?;
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let changes = self.changes(&missing);
        let body = json!({"metadata": {"labels": missing}});
        env.kube()?
            .merge_patch(&KubeWriter::nodes(), None, &self.node, &body)
            .await?;
        Ok(changes)
    }
}
