use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use mcp_doctor_remediations::Vars;

use super::{
    FLAPPING_RESTARTS, FLAPPING_WINDOW_SECS, OPERATOR_DEPLOYMENT, OPERATOR_NAMESPACE, flapping,
    is_pull_failure, list_in, pod_problem, pods_of,
};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The operator Deployment `mcp-runtime/mcp-runtime-operator-controller-manager` exists and has as many
    /// ready replicas as it wants (at least one). When it is not ready, its pods say why: an image pull
    /// failure (`ImagePullBackOff`, `ErrImagePull`) or a crash loop, with the restart count and last exit.
    ///
    /// ### Why it matters
    /// The operator turns every MCPServer into a Deployment, Service and Ingress; without it nothing new is
    /// served and nothing broken is repaired.
    ///
    /// ### What a failure looks like
    /// `operator mcp-runtime/mcp-runtime-operator-controller-manager 0/1 ready: pod ...-7c9d: container
    /// manager ImagePullBackOff: Back-off pulling image "registry.example.com/mcp-runtime-operator:latest"`.
    ///
    /// ### How to fix
    /// For a pull failure make the image pullable from every node (registry DNS, mirrors, pull secret), then
    /// `kubectl -n mcp-runtime rollout restart deploy/mcp-runtime-operator-controller-manager`. For a crash
    /// loop read `kubectl -n mcp-runtime logs deploy/mcp-runtime-operator-controller-manager --previous`.
    ///
    /// A ready operator whose container restarted 3 or more times, the last within 15 minutes, is a warning
    /// (it is flapping). Restarts are judged by how recent they are, never by the lifetime total.
    pub struct Operator {
        id: "platform.operator",
        title: "The operator is ready",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::DEPLOYMENTS, kinds::PODS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for Operator {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let ns = [OPERATOR_NAMESPACE.to_string()];
        let deployments: Vec<Deployment> = match list_in(ctx, &kinds::DEPLOYMENTS, &ns).await {
            Ok(d) => d,
            Err(o) => return o,
        };
        let name = format!("{OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT}");
        let subject = format!("deployment/{name}");
        let dist = ctx.distribution().await;
        let mut vars = Vars::new();
        vars.insert("namespace", OPERATOR_NAMESPACE.to_string());
        vars.insert("deployment", OPERATOR_DEPLOYMENT.to_string());
        vars.insert("workload", format!("deploy/{OPERATOR_DEPLOYMENT}"));
        let Some(d) = deployments
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(OPERATOR_DEPLOYMENT))
        else {
            return Outcome::fail(format!("operator deployment {name} is missing"))
                .remediate("rem.platform-rerun-setup", dist, &vars)
                .subject(subject);
        };
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let ready = d
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        if want > 0 && ready >= want {
            // Ready now, but restarting again and again: it drops its watches each time.
            let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &ns).await {
                Ok(p) => p,
                Err(o) => return o,
            };
            let now = crate::tls::judging_time(ctx).await;
            let flaps: Vec<String> = pods_of(&pods, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
                .into_iter()
                .flat_map(|p| {
                    let pod = p.metadata.name.clone().unwrap_or_default();
                    flapping(p, now)
                        .into_iter()
                        .map(move |f| format!("pod {pod}: {f}"))
                })
                .collect();
            if flaps.is_empty() {
                return Outcome::pass(format!("operator {name} {ready}/{want} ready"));
            }
            return Outcome::warn(format!(
                "operator {name} {ready}/{want} ready but restarting ({FLAPPING_RESTARTS}+ restarts, the last within {} min): {}",
                FLAPPING_WINDOW_SECS / 60,
                flaps.join("; ")
            ))
            .detail("flapping", &flaps)
            .remediate("rem.platform-workload-not-ready", dist, &vars)
            .subject(subject);
        }
        if want == 0 {
            return Outcome::fail(format!("operator {name} is scaled to 0 replicas"))
                .remediate("rem.platform-workload-not-ready", dist, &vars)
                .subject(subject);
        }
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &ns).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let problems: Vec<(String, String)> =
            pods_of(&pods, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
                .into_iter()
                .filter_map(|p| {
                    pod_problem(p).map(|why| (p.metadata.name.clone().unwrap_or_default(), why))
                })
                .collect();
        let why = if problems.is_empty() {
            "no pod reports a pull failure or crash loop (see `kubectl -n mcp-runtime describe deploy/mcp-runtime-operator-controller-manager`)".to_string()
        } else {
            problems
                .iter()
                .map(|(p, w)| format!("pod {p}: {w}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let rem = if problems.iter().any(|(_, w)| is_pull_failure(w)) {
            "rem.platform-image-pull"
        } else {
            "rem.platform-workload-not-ready"
        };
        Outcome::fail(format!("operator {name} {ready}/{want} ready: {why}"))
            .detail("pods", &problems)
            .remediate(rem, dist, &vars)
            .subject(subject)
    }
}
