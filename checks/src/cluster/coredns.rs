use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds, list_typed};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The CoreDNS deployment in `kube-system` (named `coredns`, or labelled `k8s-app=kube-dns`) has all
    /// its replicas ready, and its pods are Running and Ready.
    ///
    /// ### Why it matters
    /// Setup pushes images through the registry Service's cluster DNS name and the platform's pods find each
    /// other by name: without CoreDNS, setup stalls at its first in-cluster step. `mcp-runtime bootstrap`
    /// checks the same thing.
    ///
    /// ### What a failure looks like
    /// `CoreDNS in kube-system has 0/1 ready replicas; pod coredns-ccb96694c-x7x2q is Pending:
    /// Unschedulable (0/4 nodes are available: 4 node(s) had untolerated taint(s))`
    ///
    /// ### How to fix
    /// `kubectl -n kube-system describe deploy coredns` and its pods' events; on k3s, `mcp-runtime bootstrap
    /// --apply --provider k3s` reapplies the bundled CoreDNS manifest.
    pub struct CoreDns {
        id: "cluster.coredns",
        title: "CoreDNS ready",
        category: "cluster",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS, kinds::PODS],
    }
}

const NAMESPACE: &str = "kube-system";

#[async_trait]
impl Check for CoreDns {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let scope = Scope::Namespace(NAMESPACE.into());
        let kube = ctx.evidence.kube.as_ref();
        let deployments: Vec<Deployment> = match list_typed(kube, &kinds::DEPLOYMENTS, &scope).await
        {
            Ok(d) => d,
            Err(e) => return unreadable("deployments in kube-system", &e),
        };
        let pods: Vec<Pod> = match list_typed(kube, &kinds::PODS, &scope).await {
            Ok(p) => p,
            Err(e) => return unreadable("pods in kube-system", &e),
        };
        let distribution = ctx.distribution().await;
        let mut vars = Vars::new();
        let Some(dep) = deployments
            .iter()
            .find(|d| is_coredns(d.metadata.name.as_deref(), d.metadata.labels.as_ref()))
        else {
            return Outcome::fail("no CoreDNS deployment in kube-system (looked for `coredns` or label k8s-app=kube-dns)")
                .remediate("rem.coredns-missing", distribution, &vars)
                .subject("namespace/kube-system");
        };
        let name = dep.metadata.name.clone().unwrap_or_default();
        vars.insert("deployment", name.clone());
        let want = dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let ready = dep
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        let dns_pods: Vec<&Pod> = pods
            .iter()
            .filter(|p| is_coredns(p.metadata.name.as_deref(), p.metadata.labels.as_ref()))
            .collect();
        let unready: Vec<String> = dns_pods
            .iter()
            .filter(|p| !pod_ready(p))
            .map(|p| describe_pod(p))
            .collect();
        if want > 0 && ready >= want && unready.is_empty() && !dns_pods.is_empty() {
            return Outcome::pass(format!(
                "CoreDNS deployment {name}: {ready}/{want} replicas ready"
            ))
            .detail("ready_replicas", ready)
            .detail("pods", dns_pods.len());
        }
        let mut message = format!("CoreDNS in kube-system has {ready}/{want} ready replicas");
        if dns_pods.is_empty() {
            message.push_str("; no CoreDNS pods exist");
        } else if !unready.is_empty() {
            message.push_str(&format!("; {}", unready.join("; ")));
        }
        Outcome::fail(message)
            .detail("unready_pods", &unready)
            .remediate("rem.coredns-unready", distribution, &vars)
            .subject(format!("deployment/kube-system/{name}"))
    }
}

fn is_coredns(
    name: Option<&str>,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    labels
        .and_then(|l| l.get("k8s-app"))
        .is_some_and(|v| v == "kube-dns")
        || name.is_some_and(|n| n == "coredns")
}

fn pod_ready(p: &Pod) -> bool {
    let status = p.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `pod coredns-x is Pending: Unschedulable (0/4 nodes ...)`, or the waiting reason of its container.
fn describe_pod(p: &Pod) -> String {
    let name = p.metadata.name.as_deref().unwrap_or("?");
    let status = p.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown");
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| c.state.as_ref().and_then(|st| st.waiting.as_ref()))
        .map(|w| {
            format!(
                "{} {}",
                w.reason.as_deref().unwrap_or(""),
                w.message.as_deref().unwrap_or("")
            )
            .trim()
            .to_string()
        });
    let unscheduled = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| {
            format!(
                "{} ({})",
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            )
        });
    match waiting.or(unscheduled) {
        Some(why) if !why.is_empty() => format!("pod {name} is {phase}: {why}"),
        _ => format!("pod {name} is {phase} and not Ready"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect, forbidden};

    fn deployment(ready: i64) -> Value {
        json!({"metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
               "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": ready}})
    }

    fn pod(phase: &str, ready: &str, scheduled: Option<(&str, &str)>) -> Value {
        let mut conditions = vec![json!({"type": "Ready", "status": ready})];
        if let Some((reason, message)) = scheduled {
            conditions.push(json!({"type": "PodScheduled", "status": "False", "reason": reason, "message": message}));
        }
        json!({"metadata": {"name": "coredns-ccb96694c-x7x2q", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
               "status": {"phase": phase, "conditions": conditions}})
    }

    fn case(deployments: Vec<Value>, pods: Vec<Value>) -> Case {
        let ns = Scope::Namespace(NAMESPACE.into());
        Case::new()
            .objects(&kinds::DEPLOYMENTS, ns.clone(), deployments)
            .objects(&kinds::PODS, ns, pods)
    }

    #[tokio::test]
    async fn ready_coredns_passes() {
        let o = case(vec![deployment(1)], vec![pod("Running", "True", None)])
            .run(&CoreDns)
            .await;
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[tokio::test]
    async fn unscheduled_coredns_fails_naming_the_pod_and_cause() {
        let pending = pod(
            "Pending",
            "False",
            Some((
                "Unschedulable",
                "0/4 nodes are available: 4 node(s) had untolerated taint(s).",
            )),
        );
        let o = case(vec![deployment(0)], vec![pending]).run(&CoreDns).await;
        expect(
            &o,
            Status::Fail,
            &[
                "0/1 ready replicas",
                "coredns-ccb96694c-x7x2q is Pending",
                "untolerated taint",
            ],
        );
    }

    #[tokio::test]
    async fn missing_coredns_fails() {
        let o = case(vec![], vec![]).run(&CoreDns).await;
        expect(&o, Status::Fail, &["no CoreDNS deployment in kube-system"]);
    }

    #[tokio::test]
    async fn forbidden_pods_are_an_error() {
        let ns = Scope::Namespace(NAMESPACE.into());
        let o = Case::new()
            .objects(&kinds::DEPLOYMENTS, ns.clone(), vec![deployment(1)])
            .list_error(&kinds::PODS, ns.clone(), forbidden(&kinds::PODS, &ns))
            .run(&CoreDns)
            .await;
        assert_eq!(o.status, Status::Error, "{}", o.message);
    }
}
