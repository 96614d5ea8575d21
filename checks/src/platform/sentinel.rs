use async_trait::async_trait;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use mcp_doctor_remediations::Vars;

use super::{FLAPPING_RESTARTS, FLAPPING_WINDOW_SECS, flapping, list_in, pod_problem, pods_of};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};

/// The StatefulSets that hold Sentinel's state.
pub const SENTINEL_STATEFULSETS: [&str; 5] = [
    "clickhouse",
    "kafka",
    "loki",
    "tempo",
    "mcp-sentinel-postgres",
];

declare_check! {
    /// ### What it checks
    /// Sentinel's StatefulSets `clickhouse`, `kafka`, `loki`, `tempo` and `mcp-sentinel-postgres` exist in
    /// the Sentinel namespace(s) and are ready, and each PersistentVolumeClaim made from their
    /// `volumeClaimTemplates` is Bound. A claim stuck Terminating names the pods that still mount it. Only
    /// these claims count: unbound claims of other workloads never fail the platform.
    ///
    /// A ready StatefulSet whose pod restarted 3 or more times, the last within 15 minutes, is a warning
    /// (flapping); restarts are judged by how recent they are, never by the lifetime total.
    ///
    /// ### Why it matters
    /// Sentinel's state lives in these claims. After a clean reset (scale to 0, delete the PVCs) a claim
    /// still mounted by a stale pod of an old ReplicaSet stays Terminating forever, and the StatefulSet
    /// cannot start its replacement.
    ///
    /// ### What a failure looks like
    /// `statefulset mcp-sentinel/mcp-sentinel-postgres 0/1 ready; PVC mcp-sentinel/data-mcp-sentinel-postgres-0
    /// is stuck Terminating, still used by pod mcp-sentinel-backup-5f7d-x2k9q`.
    ///
    /// ### How to fix
    /// Delete the stale pods the message names (`kubectl -n mcp-sentinel delete pod <pod>`), let the claim go,
    /// then scale the StatefulSet back up. For a Pending claim check its StorageClass and provisioner.
    pub struct Sentinel {
        id: "platform.sentinel",
        title: "Sentinel StatefulSets ready, their PVCs Bound",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::STATEFULSETS, kinds::PERSISTENT_VOLUME_CLAIMS, kinds::PODS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for Sentinel {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let sets: Vec<StatefulSet> =
            match list_in(ctx, &kinds::STATEFULSETS, &layout.sentinel).await {
                Ok(s) => s,
                Err(o) => return o,
            };
        let claims: Vec<PersistentVolumeClaim> =
            match list_in(ctx, &kinds::PERSISTENT_VOLUME_CLAIMS, &layout.sentinel).await {
                Ok(c) => c,
                Err(o) => return o,
            };
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &layout.sentinel).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let mut findings: Vec<String> = Vec::new();
        let mut subjects: Vec<String> = Vec::new();
        let mut stale: Vec<(String, String)> = Vec::new(); // (namespace, pod)
        let mut missing = Vec::new();
        let mut ok = Vec::new();
        let mut flaps: Vec<String> = Vec::new();
        let mut flapping_set = None;
        let now = crate::tls::judging_time(ctx).await;
        for name in SENTINEL_STATEFULSETS {
            let Some(sts) = sets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
            else {
                missing.push(name);
                continue;
            };
            let ns = sts.metadata.namespace.clone().unwrap_or_default();
            let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let ready = sts
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            let mut problems = Vec::new();
            if want == 0 {
                problems.push("scaled to 0 replicas".to_string());
            } else if ready < want {
                let mut p = format!("{ready}/{want} ready");
                for pod in pods_of(&pods, &ns, name) {
                    if let Some(why) = pod_problem(pod) {
                        p.push_str(&format!(
                            " (pod {}: {why})",
                            pod.metadata.name.as_deref().unwrap_or("")
                        ));
                    }
                }
                problems.push(p);
            } else {
                // Ready now, but restarting again and again (judged by recency, not lifetime total).
                for pod in pods_of(&pods, &ns, name) {
                    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
                    if flaps.is_empty() && !flapping(pod, now).is_empty() {
                        flapping_set = Some(name);
                    }
                    flaps.extend(
                        flapping(pod, now)
                            .into_iter()
                            .map(|f| format!("statefulset {ns}/{name} pod {pod_name}: {f}")),
                    );
                }
            }
            let templates: Vec<String> = sts
                .spec
                .as_ref()
                .and_then(|s| s.volume_claim_templates.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|t| t.metadata.name.clone())
                .collect();
            for claim in claims.iter().filter(|c| {
                c.metadata.namespace.as_deref() == Some(ns.as_str())
                    && c.metadata.name.as_deref().is_some_and(|n| {
                        templates.iter().any(|t| {
                            n.strip_prefix(&format!("{t}-{name}-")).is_some_and(|o| {
                                !o.is_empty() && o.chars().all(|c| c.is_ascii_digit())
                            })
                        })
                    })
            }) {
                let cname = claim.metadata.name.clone().unwrap_or_default();
                if claim.metadata.deletion_timestamp.is_some() {
                    let users: Vec<String> = pods
                        .iter()
                        .filter(|p| {
                            // Only a pod placed on a node (and not finished) holds the claim's mount.
                            p.metadata.namespace.as_deref() == Some(ns.as_str())
                                && !matches!(
                                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                                    Some("Succeeded" | "Failed")
                                )
                                && p.spec.as_ref().is_some_and(|s| {
                                    s.node_name.is_some()
                                        && s.volumes.iter().flatten().any(|v| {
                                            v.persistent_volume_claim
                                                .as_ref()
                                                .is_some_and(|c| c.claim_name == cname)
                                        })
                                })
                        })
                        .filter_map(|p| p.metadata.name.clone())
                        .collect();
                    let by = if users.is_empty() {
                        "no pod mounts it any more (a finalizer still holds it)".to_string()
                    } else {
                        format!(
                            "still mounted by pod{} {}",
                            if users.len() > 1 { "s" } else { "" },
                            users.join(", ")
                        )
                    };
                    problems.push(format!("PVC {ns}/{cname} is stuck Terminating, {by}"));
                    subjects.push(format!("persistentvolumeclaim/{ns}/{cname}"));
                    stale.extend(users.into_iter().map(|u| (ns.clone(), u)));
                    continue;
                }
                let phase = claim
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_else(|| "Pending".into());
                if phase != "Bound" {
                    let class = claim
                        .spec
                        .as_ref()
                        .and_then(|s| s.storage_class_name.clone())
                        .unwrap_or_else(|| "<default>".into());
                    problems.push(format!(
                        "PVC {ns}/{cname} is {phase} (StorageClass {class})"
                    ));
                    subjects.push(format!("persistentvolumeclaim/{ns}/{cname}"));
                }
            }
            if problems.is_empty() {
                ok.push(format!("{ns}/{name}"));
            } else {
                findings.push(format!("statefulset {ns}/{name} {}", problems.join("; ")));
                subjects.insert(0, format!("statefulset/{ns}/{name}"));
            }
        }
        if !missing.is_empty() {
            findings.push(format!(
                "statefulset{} {} missing from {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                layout.sentinel.join(", ")
            ));
            subjects.extend(
                missing
                    .iter()
                    .map(|m| format!("statefulset/{}/{m}", layout.sentinel[0])),
            );
        }
        let dist = ctx.distribution().await;
        if findings.is_empty() && !flaps.is_empty() {
            let mut vars = Vars::new();
            vars.insert("namespace", layout.sentinel[0].clone());
            vars.insert(
                "workload",
                format!("statefulset/{}", flapping_set.unwrap_or("<name>")),
            );
            return Outcome::warn(format!(
                "Sentinel StatefulSets ready but restarting ({FLAPPING_RESTARTS}+ restarts, the last within {} min): {}",
                FLAPPING_WINDOW_SECS / 60,
                flaps.join("; ")
            ))
            .detail("layout", layout.name)
            .detail("flapping", &flaps)
            .remediate("rem.platform-workload-not-ready", dist, &vars);
        }
        if findings.is_empty() {
            return Outcome::pass(format!(
                "Sentinel StatefulSets ready and their PVCs Bound: {}",
                ok.join(", ")
            ))
            .detail("layout", layout.name);
        }
        let mut vars = Vars::new();
        let (rem, status) = if let Some((ns, _)) = stale.first() {
            vars.insert("namespace", ns.clone());
            vars.insert(
                "pods",
                stale
                    .iter()
                    .map(|(_, p)| p.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            ("rem.platform-stale-pvc-user", Status::Fail)
        } else if !missing.is_empty() && findings.len() == 1 {
            ("rem.platform-rerun-setup", Status::Fail)
        } else {
            vars.insert("namespace", layout.sentinel[0].clone());
            vars.insert(
                "workload",
                subjects
                    .iter()
                    .find_map(|s| s.strip_prefix("statefulset/"))
                    .and_then(|s| s.split('/').nth(1))
                    .map(|n| format!("statefulset/{n}"))
                    .unwrap_or_else(|| "statefulset/<name>".into()),
            );
            ("rem.platform-workload-not-ready", Status::Fail)
        };
        Outcome::of(status, findings.join("; "))
            .detail("layout", layout.name)
            .remediate(rem, dist, &vars)
            .subjects(subjects)
    }
}
