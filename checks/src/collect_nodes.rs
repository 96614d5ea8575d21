//! `bundle --collect-nodes`: every node's host facts, gathered by a short-lived DaemonSet whose pods run
//! `mcp-doctor host-facts` over a read-only mount of the node's root, and read back from their logs.
//!
//! The DaemonSet is a probe object like the probe pods ([`crate::evidence::probe_objects`]): labelled
//! managed-by=mcp-doctor with a run id and an expiry, remembered before it is created, deleted (with its pods,
//! by background propagation) when the collection ends on every path, and found by `mcp-doctor sweep` if a
//! killed run left it. A node whose pod never runs, or whose output is not a host-facts document, is reported
//! as such; the collection itself never fails because of one node, and never outlives its deadline.
//!
//! Why the pod looks as it does: host-facts reads files spread over `/etc`, `/var/lib` and `/usr/local/share`
//! and measures the node's root filesystem, which only a mount of `/` itself shows; mounting each path
//! separately would make the container runtime create the missing ones on the node (a bind mount's missing
//! source is created), writing to every node. Some of what it reads is root-owned and private
//! (`/var/lib/rancher/k3s/server` is 0700, `registries.yaml` is often 0600), so the container runs as uid 0 —
//! with every capability dropped, no privilege escalation, a read-only root filesystem and a read-only mount
//! of the node, no service account token and no host namespaces: root's owner permissions and nothing more.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::evidence::EvidenceError;
use crate::evidence::host::{HOST_FACTS_SCHEMA, HostFacts};
use crate::evidence::kinds;
use crate::evidence::probe_objects::{
    ObjectRef, PROBE_NAMESPACE, ProbeObjects, RUN_ID_LABEL, delete_these, forget, new_run_id,
    pod_waiting, probe_metadata, remember,
};

/// The `app.kubernetes.io/name` of the DaemonSet and its pods.
pub const HOST_FACTS_APP: &str = "mcp-doctor-host-facts";
/// The container that prints the facts.
pub const CONTAINER: &str = "host-facts";
/// Where the node's root is mounted in the container.
pub const HOST_MOUNT: &str = "/host";
/// The variable the pod's node name is given in (the downward API's `spec.nodeName`); `host-facts` reads it.
pub const NODE_NAME_ENV: &str = "MCP_DOCTOR_NODE_NAME";
/// The most of a pod's log read: a host-facts document holds config files of at most 1 MiB each.
const MAX_OUTPUT_BYTES: i64 = 8 << 20;
/// How often the pods are looked at.
const POLL: Duration = Duration::from_millis(500);
/// How much of an invalid output the report quotes.
const EXCERPT_CHARS: usize = 120;

/// How to collect.
#[derive(Debug, Clone)]
pub struct NodeCollectOptions {
    /// The image holding `mcp-doctor` (on its PATH).
    pub image: String,
    /// How long to wait for every node's facts; the DaemonSet is deleted after it whatever came.
    pub timeout: Duration,
}

/// How the collection went for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeFactsStatus {
    /// Its facts are in the bundle's `host/`.
    Collected,
    /// No pod of the DaemonSet was bound to the node before the deadline.
    NoPod,
    /// Its pod was created but its container never ran (image pull, a dead kubelet, admission).
    NotRunning,
    /// Its container ran but what it printed is not a host-facts document.
    InvalidOutput,
}

/// One node's line in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFactsOutcome {
    pub node: String,
    pub status: NodeFactsStatus,
    /// Why the facts are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a collection gathered: the facts by node, and how it went on each node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    pub facts: BTreeMap<String, HostFacts>,
    pub outcomes: Vec<NodeFactsOutcome>,
    /// `namespace/name` of the DaemonSet used.
    pub daemon_set: String,
}

/// The host-facts DaemonSet of run `run_id`: tolerates every taint, reads the node read-only, expires after
/// `lifetime` (for `sweep`).
pub fn host_facts_daemon_set(name: &str, run_id: &str, image: &str, lifetime: Duration) -> Value {
    let metadata = probe_metadata(name, PROBE_NAMESPACE, run_id, HOST_FACTS_APP, lifetime);
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "spec": {
            "selector": {"matchLabels": {RUN_ID_LABEL: run_id, "app.kubernetes.io/name": HOST_FACTS_APP}},
            "template": {
                // The pods carry the DaemonSet's labels and expiry: `sweep` keeps them while a run may use them.
                "metadata": {"labels": metadata["labels"], "annotations": metadata["annotations"]},
                "spec": {
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    // host-facts exits at once on SIGTERM.
                    "terminationGracePeriodSeconds": 5,
                    // Every node, whatever its taints: control-plane, NoExecute, cordoned.
                    "tolerations": [{"operator": "Exists"}],
                    "securityContext": {
                        "runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false,
                        "seccompProfile": {"type": "RuntimeDefault"}
                    },
                    "containers": [{
                        "name": CONTAINER,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["mcp-doctor"],
                        // A DaemonSet's pods must keep running: --hold waits for SIGTERM after printing.
                        "args": ["host-facts", "--host-root", HOST_MOUNT, "--hold"],
                        "env": [{"name": NODE_NAME_ENV, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
                        "resources": {
                            "requests": {"cpu": "10m", "memory": "32Mi"},
                            "limits": {"memory": "128Mi"}
                        },
                        "securityContext": {
                            "privileged": false,
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}
                        },
                        "volumeMounts": [{"name": "host-root", "mountPath": HOST_MOUNT, "readOnly": true}]
                    }],
                    "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}]
                }
            }
        },
        "metadata": metadata,
    })
}

/// Creates the DaemonSet, waits up to `opts.timeout` for the facts of every node in `nodes` (the Node
/// objects), and deletes it. Err only when the DaemonSet could not be created (nothing was collected then).
pub async fn collect_node_facts(
    objects: &dyn ProbeObjects,
    nodes: &[Value],
    opts: &NodeCollectOptions,
) -> Result<NodeFacts, EvidenceError> {
    let names: Vec<String> = nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let run_id = new_run_id();
    let ds = ObjectRef {
        kind: &kinds::DAEMONSETS,
        namespace: PROBE_NAMESPACE.into(),
        name: format!("{HOST_FACTS_APP}-{run_id}"),
    };
    // Past its deadline plus the time a delete may take, nothing can still be using it.
    let lifetime = opts.timeout + Duration::from_secs(60);
    let object = host_facts_daemon_set(&ds.name, &run_id, &opts.image, lifetime);
    // Remembered before the request: a create cut off mid-way may still have happened.
    remember(ds.clone());
    if let Err(e) = objects.create(ds.kind, &ds.namespace, object).await {
        // The server answered no (403, 422): nothing was created.
        if !matches!(
            e,
            EvidenceError::Timeout { .. } | EvidenceError::Unreachable { .. }
        ) {
            forget(&ds);
        }
        return Err(e);
    }
    let selector = format!("{RUN_ID_LABEL}={run_id}");
    let (outcomes, list_error) = follow_pods(objects, &selector, &names, opts.timeout).await;
    // A failed delete stays pending for the run's cleanup (and `sweep`).
    let _ = delete_these(objects, std::slice::from_ref(&ds)).await;
    let mut facts = BTreeMap::new();
    let mut report = Vec::new();
    for (node, object) in names.iter().zip(nodes) {
        let (status, detail) = match outcomes.get(node) {
            Some(Seen::Done(f)) => {
                let mut f = f.clone();
                versions_from_node_info(&mut f, object);
                facts.insert(node.clone(), f);
                (NodeFactsStatus::Collected, None)
            }
            Some(Seen::Invalid { why, .. }) => (NodeFactsStatus::InvalidOutput, Some(why.clone())),
            Some(Seen::Waiting(why)) => (NodeFactsStatus::NotRunning, Some(why.clone())),
            None => (
                NodeFactsStatus::NoPod,
                Some(match &list_error {
                    Some(e) => format!(
                        "the pods of DaemonSet {}/{} could not be listed: {e}",
                        ds.namespace, ds.name
                    ),
                    None => format!(
                        "no pod of DaemonSet {}/{} was bound to it within {}s: it may forbid hostPath pods (Pod \
                     Security admission) or lack resources; `kubectl -n {} get events` tells",
                        ds.namespace,
                        ds.name,
                        opts.timeout.as_secs(),
                        ds.namespace
                    ),
                }),
            ),
        };
        report.push(NodeFactsOutcome {
            node: node.clone(),
            status,
            detail,
        });
    }
    Ok(NodeFacts {
        facts,
        outcomes: report,
        daemon_set: format!("{}/{}", ds.namespace, ds.name),
    })
}

/// The versions `host-facts` finds by running the node's binaries, which it cannot from its container: taken
/// from what the kubelet reports instead, as the node would have given them (k3s: `k3s version v1.32.3+k3s1`,
/// its containerd is embedded; elsewhere: `containerd 1.7.24`).
fn versions_from_node_info(facts: &mut HostFacts, node: &Value) {
    let info = &node["status"]["nodeInfo"];
    let kubelet = info["kubeletVersion"].as_str().unwrap_or_default();
    if kubelet.contains("+k3s") {
        facts
            .versions
            .entry("k3s".into())
            .or_insert_with(|| format!("k3s version {kubelet} (the node's kubeletVersion)"));
    } else if let Some(v) = info["containerRuntimeVersion"]
        .as_str()
        .and_then(|r| r.strip_prefix("containerd://"))
    {
        facts
            .versions
            .entry("containerd".into())
            .or_insert_with(|| format!("containerd {v} (the node's containerRuntimeVersion)"));
    }
}

/// What was last seen of a node's pod.
enum Seen {
    Done(HostFacts),
    /// Its container has not run (why).
    Waiting(String),
    /// It ran and printed this, which is not a host-facts document (why); `stable` once the same output was
    /// read twice: the container printed all it will.
    Invalid {
        log: String,
        why: String,
        stable: bool,
    },
}

impl Seen {
    fn is_final(&self) -> bool {
        matches!(self, Seen::Done(_) | Seen::Invalid { stable: true, .. })
    }
}

/// Polls the DaemonSet's pods until every node's facts are read, or an invalid output stopped changing, or
/// `wait` is over; also returns why the last list of the pods failed, if it did.
async fn follow_pods(
    objects: &dyn ProbeObjects,
    selector: &str,
    nodes: &[String],
    wait: Duration,
) -> (BTreeMap<String, Seen>, Option<String>) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    loop {
        // A failed list is retried until the deadline: the API server may be briefly unavailable.
        let listed = objects
            .list_labelled(&kinds::PODS, PROBE_NAMESPACE, selector)
            .await;
        let list_error = listed.as_ref().err().map(ToString::to_string);
        if let Ok(pods) = listed {
            for pod in pods {
                let Some(node) = pod["spec"]["nodeName"].as_str().map(str::to_string) else {
                    continue;
                };
                if !nodes.contains(&node) || seen.get(&node).is_some_and(Seen::is_final) {
                    continue;
                }
                let next = read_pod(objects, &pod, &node, seen.get(&node)).await;
                seen.insert(node, next);
            }
        }
        let all_final = nodes
            .iter()
            .all(|n| seen.get(n).is_some_and(Seen::is_final));
        if all_final || tokio::time::Instant::now() >= deadline {
            return (seen, list_error);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One look at a node's pod: its facts when its container runs and printed them.
async fn read_pod(
    objects: &dyn ProbeObjects,
    pod: &Value,
    node: &str,
    before: Option<&Seen>,
) -> Seen {
    if !container_ran(pod) {
        return Seen::Waiting(describe_not_running(pod));
    }
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let log = match objects
        .logs_up_to(PROBE_NAMESPACE, name, CONTAINER, MAX_OUTPUT_BYTES)
        .await
    {
        Ok(log) => log,
        Err(e) => {
            return Seen::Waiting(format!("the log of its pod {name} could not be read: {e}"));
        }
    };
    match parse_host_facts(&log) {
        Ok(mut facts) => {
            // The API server's binding is the truth about where the pod ran.
            facts.node = node.to_string();
            Seen::Done(facts)
        }
        Err(why) => {
            let stable =
                matches!(before, Some(Seen::Invalid { log: earlier, .. }) if *earlier == log);
            Seen::Invalid {
                log,
                why: format!("its pod {name} printed {why}"),
                stable,
            }
        }
    }
}

/// Whether the host-facts container has started (running now, or ran and ended).
fn container_ran(pod: &Value) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == CONTAINER)
        .any(|c| {
            c["state"]["running"].is_object()
                || c["state"]["terminated"].is_object()
                || c["lastState"]["terminated"].is_object()
        })
}

/// Why a pod's container has not run: its waiting reason, or that no kubelet reported on it.
fn describe_not_running(pod: &Value) -> String {
    let name = pod["metadata"]["name"].as_str().unwrap_or("?");
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
    if pod["status"]["containerStatuses"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        return format!(
            "its pod {name} stayed {phase} and no container status was ever reported: the node's kubelet did not \
             start it (is the node Ready?)"
        );
    }
    format!("its pod {name} never ran: {}", pod_waiting(pod))
}

/// The host-facts document in a pod's log, read defensively: anything before the first `{` (a warning on
/// stderr) and after the document is ignored; what is not a whole `mcp-doctor.host-facts/v1` document is an
/// error saying what it is instead.
pub fn parse_host_facts(log: &str) -> Result<HostFacts, String> {
    let Some(start) = log.find('{') else {
        return Err(if log.trim().is_empty() {
            "nothing".into()
        } else {
            format!("no JSON document: {}", excerpt(log))
        });
    };
    let mut docs = serde_json::Deserializer::from_str(&log[start..]).into_iter::<Value>();
    let doc = match docs.next() {
        Some(Ok(doc)) => doc,
        Some(Err(e)) if e.is_eof() => return Err("an incomplete JSON document (cut short)".into()),
        Some(Err(e)) => {
            return Err(format!(
                "no valid JSON document ({e}): {}",
                excerpt(&log[start..])
            ));
        }
        None => return Err("nothing".into()),
    };
    let schema = doc["schema"].as_str().unwrap_or_default();
    if schema != HOST_FACTS_SCHEMA {
        return Err(format!(
            "a JSON document of schema {schema:?}, not {HOST_FACTS_SCHEMA:?} (is --collect-image an mcp-doctor image?)"
        ));
    }
    serde_json::from_value(doc)
        .map_err(|e| format!("a {HOST_FACTS_SCHEMA} document this build cannot read: {e}"))
}

/// The start of a text, on one line.
fn excerpt(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = line.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < line.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::probe_objects::{EXPIRES_AT_ANNOTATION, MANAGED_BY};

    fn facts_json(node: &str) -> String {
        serde_json::to_string_pretty(&json!({
            "schema": HOST_FACTS_SCHEMA, "node": node, "collected_at": "2026-12-01T10:00:00Z",
            "files": {"/etc/hosts": {"mode": 420, "uid": 0, "size": 10, "content": "127.0.0.1 localhost\n"}},
            "disks": {}, "versions": {}
        }))
        .unwrap()
    }

    #[test]
    fn a_log_is_read_defensively() {
        let doc = facts_json("mcp-worker-1");
        let f = parse_host_facts(&doc).unwrap();
        assert_eq!(f.node, "mcp-worker-1");
        // A warning before the document and a line after it are ignored.
        let noisy = format!("mcp-doctor: warning: /host/etc/hostname unreadable\n{doc}\nbye\n");
        assert_eq!(parse_host_facts(&noisy).unwrap(), f);
        let cut = &doc[..doc.len() / 2];
        assert!(parse_host_facts(cut).unwrap_err().contains("incomplete"));
        assert_eq!(parse_host_facts("  \n").unwrap_err(), "nothing");
        let err =
            parse_host_facts("exec /usr/local/bin/mcp-doctor: exec format error\n").unwrap_err();
        assert!(
            err.contains("no JSON document") && err.contains("exec format error"),
            "{err}"
        );
        let other = parse_host_facts(r#"{"schema": "something/v9", "node": "x"}"#).unwrap_err();
        assert!(other.contains("something/v9"), "{other}");
        let garbled = parse_host_facts("{\"schema\": ]").unwrap_err();
        assert!(garbled.contains("no valid JSON document"), "{garbled}");
        let wrong = parse_host_facts(&format!(
            r#"{{"schema": "{HOST_FACTS_SCHEMA}", "node": 3}}"#
        ))
        .unwrap_err();
        assert!(wrong.contains("cannot read"), "{wrong}");
    }

    #[test]
    fn the_daemon_set_reads_every_node_read_only_and_selects_its_own_pods() {
        let ds = host_facts_daemon_set(
            "mcp-doctor-host-facts-abc",
            "abc",
            "img:1",
            Duration::from_secs(90),
        );
        let template_labels = &ds["spec"]["template"]["metadata"]["labels"];
        for (k, v) in ds["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(
                &template_labels[k], v,
                "the selector must match the template"
            );
        }
        assert_eq!(ds["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1);
        assert_eq!(template_labels[MANAGED_BY.0], MANAGED_BY.1);
        let expiry = &ds["metadata"]["annotations"][EXPIRES_AT_ANNOTATION];
        assert!(expiry.is_string());
        assert_eq!(
            &ds["spec"]["template"]["metadata"]["annotations"][EXPIRES_AT_ANNOTATION],
            expiry
        );
        let spec = &ds["spec"]["template"]["spec"];
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        let c = &spec["containers"][0];
        assert_eq!(c["volumeMounts"][0]["readOnly"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(spec["volumes"][0]["hostPath"]["path"], "/");
        assert!(
            spec["restartPolicy"].is_null(),
            "a DaemonSet's pods restart Always"
        );
    }
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn versions_come_from_the_kubelets_report_when_the_pod_could_not_run_the_binaries() {
        let mut facts = parse_host_facts(&format!(
            r#"{{"schema": "{HOST_FACTS_SCHEMA}", "node": "n", "collected_at": "t"}}"#
        ))
        .unwrap();
        let k3s = json!({"status": {"nodeInfo": {"kubeletVersion": "v1.32.3+k3s1",
                                                  "containerRuntimeVersion": "containerd://2.0.4-k3s2"}}});
        versions_from_node_info(&mut facts, &k3s);
        assert_eq!(facts.versions.keys().collect::<Vec<_>>(), ["k3s"]);
        let v = crate::containerd::config::parse_version(&facts.versions["k3s"]);
        assert_eq!(v, Some((1, 32, 3)));
        let mut facts = parse_host_facts(&format!(
            r#"{{"schema": "{HOST_FACTS_SCHEMA}", "node": "n", "collected_at": "t"}}"#
        ))
        .unwrap();
        let kubeadm = json!({"status": {"nodeInfo": {"kubeletVersion": "v1.30.2",
                                                      "containerRuntimeVersion": "containerd://1.7.24"}}});
        versions_from_node_info(&mut facts, &kubeadm);
        let v = crate::containerd::config::parse_version(&facts.versions["containerd"]);
        assert_eq!(v, Some((1, 7, 24)));
    }
}

#[cfg(test)]
mod collection_tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::evidence::kinds::ResourceKind;

    /// Accepts the DaemonSet, but may not list pods: what a user gets whose Role allows creating
    /// DaemonSets and not listing pods.
    #[derive(Default)]
    struct PodsForbidden {
        deleted: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl ProbeObjects for PodsForbidden {
        async fn create(
            &self,
            _: &'static ResourceKind,
            _: &str,
            _: Value,
        ) -> Result<(), EvidenceError> {
            Ok(())
        }
        async fn get(
            &self,
            _: &'static ResourceKind,
            _: &str,
            _: &str,
        ) -> Result<Option<Value>, EvidenceError> {
            Ok(None)
        }
        async fn delete(&self, o: &ObjectRef) -> Result<(), EvidenceError> {
            self.deleted.lock().unwrap().push(o.to_string());
            Ok(())
        }
        async fn list_managed(
            &self,
            _: &'static ResourceKind,
        ) -> Result<Vec<(ObjectRef, Option<String>)>, EvidenceError> {
            Ok(Vec::new())
        }
        async fn logs(&self, _: &str, _: &str, _: &str) -> Result<String, EvidenceError> {
            unreachable!("no pod was ever listed")
        }
        async fn list_labelled(
            &self,
            _: &'static ResourceKind,
            ns: &str,
            _: &str,
        ) -> Result<Vec<Value>, EvidenceError> {
            Err(EvidenceError::Forbidden {
                message: format!(
                    "pods is forbidden: User \"ops\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\""
                ),
            })
        }
        async fn logs_up_to(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: i64,
        ) -> Result<String, EvidenceError> {
            unreachable!("no pod was ever listed")
        }
    }

    #[tokio::test]
    async fn pods_that_cannot_be_listed_are_reported_and_the_daemon_set_is_still_deleted() {
        let objects = PodsForbidden::default();
        let nodes = [json!({"metadata": {"name": "mcp-worker-1"}})];
        let opts = NodeCollectOptions {
            image: "img:1".into(),
            timeout: Duration::from_millis(300),
        };
        let got = collect_node_facts(&objects, &nodes, &opts).await.unwrap();
        assert!(got.facts.is_empty());
        assert_eq!(got.outcomes.len(), 1);
        assert_eq!(got.outcomes[0].status, NodeFactsStatus::NoPod);
        let detail = got.outcomes[0].detail.as_deref().unwrap();
        assert!(
            detail.contains("could not be listed") && detail.contains("forbidden"),
            "{detail}"
        );
        assert_eq!(
            *objects.deleted.lock().unwrap(),
            [format!("daemonset/{}", got.daemon_set)]
        );
    }
}
