//! ### What it does
//! `unlabel-enablelb` (argument `keep: <node>`): removes `svccontroller.k3s.cattle.io/enablelb` from every
//! node but the ingress node, as the k3s guide's `kubectl label node <node> svccontroller.k3s.cattle.io/enablelb-`
//! does, so ServiceLB answers on 80/443 only there.
//!
//! ### Requires / verifies
//! Requires `cluster.api-reachable` and `nodes.ready`. Verifies `svclb.enablelb-labels` and
//! `svclb.placement`: the DaemonSet controller removes the svclb pods from the unlabelled nodes, which the
//! verification waits for.
//!
//! ### What it changes
//! One JSON merge PATCH per other node that carries the label, whatever its value, setting it to `null`:
//! `PATCH node mcp-worker-3 labels -svccontroller.k3s.cattle.io/enablelb`. Nothing when no other node has
//! it. It refuses to run when `keep` is not a node, so a typo cannot unpin ServiceLB everywhere.

use async_trait::async_trait;
use mcp_doctor_checks::svclb::servicelb::ENABLELB;
use serde_json::json;

use super::{find_node, labels, name, nodes};
use crate::kube_write::KubeWriter;
use crate::step::{Change, Env, Step, StepPlan};

pub struct UnlabelEnablelb {
    /// The ingress node, which keeps its label.
    pub keep: String,
}

impl UnlabelEnablelb {
    /// The other nodes that carry the label.
    async fn labelled(&self, env: &Env) -> Result<Vec<String>, String> {
        let all = nodes(env).await?;
        find_node(&all, &self.keep)?;
        Ok(all
            .iter()
            .filter(|n| name(n) != self.keep && labels(n).contains_key(ENABLELB))
            .map(|n| name(n).to_string())
            .collect())
    }

    fn change(node: &str) -> Change {
        Change::new(
            "PATCH",
            format!("node {node}"),
            format!("labels -{ENABLELB}"),
        )
    }
}

#[async_trait]
impl Step for UnlabelEnablelb {
    fn kind(&self) -> &'static str {
        "unlabel-enablelb"
    }

    fn describe(&self) -> String {
        format!("remove {ENABLELB} from every node but {}", self.keep)
    }

    fn requires(&self) -> Vec<String> {
        vec!["cluster.api-reachable".into(), "nodes.ready".into()]
    }

    fn verifies(&self) -> Vec<String> {
        vec!["svclb.enablelb-labels".into(), "svclb.placement".into()]
    }

    async fn plan(&self, env: &Env) -> Result<StepPlan, String> {
        Ok(StepPlan {
            changes: self
                .labelled(env)
                .await?
                .iter()
                .map(|n| UnlabelEnablelb::change(n))
                .collect(),
            notes: Vec::new(),
        })
    }

    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String> {
        let body = json!({"metadata": {"labels": {ENABLELB: null}}});
        let mut changes = Vec::new();
        for node in self.labelled(env).await? {
            env.kube()?
                .merge_patch(&KubeWriter::nodes(), None, &node, &body)
                .await?;
            changes.push(UnlabelEnablelb::change(&node));
        }
        Ok(changes)
    }
}
