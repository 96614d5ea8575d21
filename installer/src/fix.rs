//! `mcp-doctor fix <check-id>`: the installer steps that carry out a failing check's remediation, with
//! their arguments taken from the cluster as it is (which node is the ingress node).

use mcp_doctor_checks::facts::PUBLIC_INGRESS_LABELS;
use mcp_doctor_checks::svclb::servicelb::ENABLELB;
use mcp_doctor_remediations::automated_by;
use serde_json::Value;

use crate::kube_write::KubeWriter;
use crate::plan::PlannedStep;
use crate::step::{Env, Step};
use crate::steps::label_ingress_node::LabelIngressNode;
use crate::steps::unlabel_enablelb::UnlabelEnablelb;

/// The steps that fix `check_id` whose remediation is `remediation`; each step's verifies include the
/// check itself on the last step. Err says why it cannot be automated.
pub async fn steps_for(
    check_id: &str,
    remediation: &str,
    env: &Env,
) -> Result<Vec<PlannedStep>, String> {
    let Some(kinds) = automated_by(remediation) else {
        return Err(format!(
            "{remediation} is not automatable: follow its text (`mcp-doctor explain {remediation}`)"
        ));
    };
    let mut steps = Vec::new();
    for kind in kinds {
        let step: Box<dyn Step> = match *kind {
            "label-ingress-node" => Box::new(LabelIngressNode {
                node: ingress_node(env).await?,
            }),
            "unlabel-enablelb" => Box::new(UnlabelEnablelb {
                keep: ingress_node(env).await?,
            }),
            other => {
                return Err(format!(
                    "{remediation} names step {other}, which fix cannot plan"
                ));
            }
        };
        steps.push(PlannedStep::new(step));
    }
    if let Some(last) = steps.last_mut()
        && !last.verifies.iter().any(|v| v == check_id)
    {
        last.verifies.push(check_id.to_string());
    }
    Ok(steps)
}

/// The ingress node: the one node labelled `ingress.mcpruntime.org/public=true`, else the one node with
/// `svccontroller.k3s.cattle.io/enablelb=true`.
async fn ingress_node(env: &Env) -> Result<String, String> {
    let nodes = env.kube()?.list(&KubeWriter::nodes()).await?;
    let with = |label: &str| -> Vec<String> {
        nodes
            .iter()
            .filter(|n| {
                n.pointer("/metadata/labels").and_then(|l| l.get(label))
                    == Some(&Value::from("true"))
            })
            .filter_map(|n| {
                n.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    };
    for label in [PUBLIC_INGRESS_LABELS[0], ENABLELB] {
        match with(label).as_slice() {
            [one] => return Ok(one.clone()),
            [] => continue,
            many => {
                return Err(format!(
                    "cannot tell which node is the ingress node: {} all carry {label}=true; write a plan with label-ingress-node and unlabel-enablelb for the one you mean",
                    many.join(", ")
                ));
            }
        }
    }
    Err(format!(
        "cannot tell which node is the ingress node: none carries {}=true or {ENABLELB}=true; write a plan with label-ingress-node <node> and unlabel-enablelb",
        PUBLIC_INGRESS_LABELS[0]
    ))
}
