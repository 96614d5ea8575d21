//! DaemonSets a client creates (`bundle --collect-nodes`), run the way the DaemonSet controller, the
//! scheduler, the kubelets and the garbage collector would run them:
//!
//! - `POST .../namespaces/<ns>/daemonsets` validates what kube-apiserver validates that a client can get
//!   wrong (a name, a selector that matches the template's labels, `restartPolicy: Always`), stores the
//!   DaemonSet with the server's defaults, and creates one pod per node of the fixture that its
//!   `nodeSelector` and tolerations admit (plus the tolerations the controller adds itself). Each pod is the
//!   template with the controller's labels, `ownerReferences`, node affinity and tolerations, bound to its
//!   node (`spec.nodeName`).
//! - A pod's status follows its node: on a node that is not `Ready` it stays `Pending` with no container
//!   status (no kubelet reports on it); on a node the script names it waits with that reason
//!   (`ImagePullBackOff`); elsewhere it is `ContainerCreating` until `start_after`, then `Running`.
//! - `GET .../pods/<name>/log` of a running pod is what the node "printed": the script's text for that node,
//!   else the node's host facts from the fixture's `host/` (as `mcp-doctor host-facts` prints them), else
//!   the script's text for nodes without facts; cut at `limitBytes`. Before the container runs it is the
//!   server's 400 `... is waiting to start`.
//! - `DELETE` of the DaemonSet removes it and its pods (background propagation, as the garbage collector
//!   does) and is recorded with the propagation policy the client sent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_doctor_checks::evidence::Scope;
use mcp_doctor_checks::evidence::kinds::{self, ResourceKind};
use mcp_doctor_checks::evidence::replay::Bundle;
use serde_json::{Map, Value, json};

use crate::wire::{self, Reply};

/// How the nodes run the pods of a created DaemonSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSetScript {
    /// How long after creation a pod's container starts.
    pub start_after: Duration,
    /// Nodes whose pod never starts, with the waiting reason and message (`ImagePullBackOff`, ...).
    pub stuck: BTreeMap<String, (String, String)>,
    /// What the container prints on these nodes, instead of the node's host facts.
    pub output: BTreeMap<String, String>,
    /// What the container prints on a node whose fixture holds no host facts.
    pub output_without_facts: String,
}

impl Default for DaemonSetScript {
    fn default() -> Self {
        DaemonSetScript {
            start_after: Duration::from_millis(600),
            stuck: BTreeMap::new(),
            output: BTreeMap::new(),
            output_without_facts:
                "mcp-doctor: host root /host cannot be read: No such file or directory\n".into(),
        }
    }
}

/// A deletion of a DaemonSet as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSetDeletion {
    pub namespace: String,
    pub name: String,
    /// `propagationPolicy` of the DeleteOptions body (or query), when sent.
    pub propagation_policy: Option<String>,
    /// The pods deleted with it.
    pub pods: Vec<String>,
}

struct Running {
    object: Value,
    at: Instant,
    /// The pods as created, without status; by name.
    pods: BTreeMap<String, Pod>,
}

struct Pod {
    object: Value,
    node: String,
    node_ready: bool,
    host_ip: String,
}

#[derive(Default)]
pub(crate) struct DaemonSets {
    sets: Mutex<BTreeMap<(String, String), Running>>,
    history: Mutex<Vec<Value>>,
    deletions: Mutex<Vec<DaemonSetDeletion>>,
    serial: Mutex<u64>,
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn invalid(name: &str, message: &str) -> Reply {
    wire::status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &format!("DaemonSet.apps \"{name}\" is invalid: {message}"),
        Some(wire::resource_details(&kinds::DAEMONSETS, Some(name))),
    )
}

/// The tolerations the DaemonSet controller adds to every pod it creates.
const CONTROLLER_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// Whether a toleration tolerates a taint, by the scheduler's rule.
fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let field = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let effect_ok = field(toleration, "effect").is_empty()
        || field(toleration, "effect") == field(taint, "effect");
    let key_ok = (field(toleration, "key").is_empty() && field(toleration, "operator") == "Exists")
        || field(toleration, "key") == field(taint, "key");
    let value_ok = field(toleration, "operator") == "Exists"
        || field(toleration, "value") == field(taint, "value");
    effect_ok && key_ok && value_ok
}

/// The controller's own tolerations, as they appear in a pod spec.
fn controller_tolerations() -> impl Iterator<Item = Value> {
    CONTROLLER_TOLERATIONS
        .iter()
        .map(|(key, effect)| json!({"key": key, "operator": "Exists", "effect": effect}))
}

/// Whether the controller places a pod of `spec` on `node`: its nodeSelector matches and every NoSchedule or
/// NoExecute taint is tolerated, by the template or by the controller's own tolerations.
fn admits(spec: &Value, node: &Value) -> bool {
    let selector_ok = spec["nodeSelector"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| node["metadata"]["labels"][k.as_str()] == *v);
    let mut tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    tolerations.extend(controller_tolerations());
    let taints_ok = node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
        .all(|t| tolerations.iter().any(|tol| tolerates(tol, t)));
    selector_ok && taints_ok
}

fn node_ready(node: &Value) -> bool {
    node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn internal_ip(node: &Value) -> String {
    node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .unwrap_or("10.0.0.1")
        .to_string()
}

/// The API server's defaults for a pod template's spec.
fn default_pod_spec(spec: &mut Value) {
    let defaults = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
    ];
    for (k, v) in defaults {
        if spec[k].is_null() {
            spec[k] = v;
        }
    }
    for c in spec["containers"].as_array_mut().into_iter().flatten() {
        if c["terminationMessagePath"].is_null() {
            c["terminationMessagePath"] = json!("/dev/termination-log");
        }
        if c["terminationMessagePolicy"].is_null() {
            c["terminationMessagePolicy"] = json!("File");
        }
        if c["resources"].is_null() {
            c["resources"] = json!({});
        }
        if c["imagePullPolicy"].is_null() {
            let image = c["image"].as_str().unwrap_or_default();
            let tag = image.rsplit('/').next().unwrap_or_default();
            let latest = !tag.contains(':') || tag.ends_with(":latest");
            c["imagePullPolicy"] = json!(if latest { "Always" } else { "IfNotPresent" });
        }
    }
}

/// A random-looking suffix from the alphabet the API server's generateName uses.
fn suffix(seed: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    (0..5)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ALPHABET[((x >> 33) % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

impl DaemonSets {
    fn next_serial(&self) -> u64 {
        let mut s = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        *s += 1;
        *s
    }

    fn uid(serial: u64) -> String {
        format!("d5e70000-0000-4000-8000-{serial:012x}")
    }

    pub(crate) fn history(&self) -> Vec<Value> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn deletions(&self) -> Vec<DaemonSetDeletion> {
        self.deletions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `daemonsets/<ns>/<name>` and `pods/<ns>/<name>` of everything still stored.
    pub(crate) fn names(&self) -> Vec<String> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for ((ns, name), running) in sets.iter() {
            out.push(format!("daemonsets/{ns}/{name}"));
            out.extend(running.pods.keys().map(|p| format!("pods/{ns}/{p}")));
        }
        out
    }

    pub(crate) fn create(&self, namespace: &str, body: &[u8], bundle: &Bundle) -> Reply {
        let mut ds: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return wire::bad_request(&format!(
                    "couldn't get version/kind; json parse error: {e}"
                ));
            }
        };
        let Some(name) = ds["metadata"]["name"].as_str().map(str::to_string) else {
            return invalid(
                "",
                "metadata.name: Required value: name or generateName is required",
            );
        };
        let template_labels = ds["spec"]["template"]["metadata"]["labels"].clone();
        let match_labels = ds["spec"]["selector"]["matchLabels"].clone();
        let selects = match_labels
            .as_object()
            .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| template_labels[k] == *v));
        if !selects {
            return invalid(
                &name,
                &format!(
                    "spec.template.metadata.labels: Invalid value: {template_labels}: `selector` does not match template `labels`"
                ),
            );
        }
        let policy = ds["spec"]["template"]["spec"]["restartPolicy"].clone();
        if !policy.is_null() && policy != "Always" {
            return invalid(
                &name,
                &format!(
                    "spec.template.spec.restartPolicy: Unsupported value: {policy}: supported values: \"Always\""
                ),
            );
        }
        let key = (namespace.to_string(), name.clone());
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if sets.contains_key(&key) {
            return wire::status(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &format!("daemonsets.apps \"{name}\" already exists"),
                Some(wire::resource_details(&kinds::DAEMONSETS, Some(&name))),
            );
        }
        let serial = self.next_serial();
        let created = now();
        let meta = &mut ds["metadata"];
        meta["namespace"] = json!(namespace);
        meta["uid"] = json!(DaemonSets::uid(serial));
        meta["resourceVersion"] = json!((200_000 + serial).to_string());
        meta["generation"] = json!(1);
        meta["creationTimestamp"] = json!(created);
        if ds["spec"]["revisionHistoryLimit"].is_null() {
            ds["spec"]["revisionHistoryLimit"] = json!(10);
        }
        if ds["spec"]["updateStrategy"].is_null() {
            ds["spec"]["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}});
        }
        default_pod_spec(&mut ds["spec"]["template"]["spec"]);
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ds.clone());

        let nodes = bundle
            .list(&kinds::NODES, &Scope::Cluster)
            .unwrap_or_default();
        let mut pods = BTreeMap::new();
        for node in nodes
            .iter()
            .filter(|n| admits(&ds["spec"]["template"]["spec"], n))
        {
            let pod = self.pod_for(&ds, node, &created);
            let pod_name = pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            pods.insert(
                pod_name,
                Pod {
                    object: pod,
                    node: node["metadata"]["name"].as_str().unwrap_or_default().into(),
                    node_ready: node_ready(node),
                    host_ip: internal_ip(node),
                },
            );
        }
        let n = pods.len();
        ds["status"] = json!({
            "currentNumberScheduled": n, "numberMisscheduled": 0, "desiredNumberScheduled": n,
            "numberReady": 0, "observedGeneration": 1, "updatedNumberScheduled": n, "numberUnavailable": n
        });
        sets.insert(
            key,
            Running {
                object: ds.clone(),
                at: Instant::now(),
                pods,
            },
        );
        wire::json_reply(StatusCode::CREATED, &ds)
    }

    /// The pod the controller creates for `node`, bound by the scheduler.
    fn pod_for(&self, ds: &Value, node: &Value, created: &str) -> Value {
        let serial = self.next_serial();
        let ds_name = ds["metadata"]["name"].as_str().unwrap_or_default();
        let node_name = node["metadata"]["name"].as_str().unwrap_or_default();
        let mut labels = ds["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        labels.insert("controller-revision-hash".into(), json!("7f9c5d8b6"));
        labels.insert("pod-template-generation".into(), json!("1"));
        let mut spec = ds["spec"]["template"]["spec"].clone();
        let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
        let mut all = tolerations.clone();
        all.extend(controller_tolerations().filter(|t| !tolerations.contains(t)));
        spec["tolerations"] = json!(all);
        spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [node_name]}
            ]}]
        }}});
        spec["nodeName"] = json!(node_name);
        for (k, v) in [
            ("serviceAccountName", json!("default")),
            ("serviceAccount", json!("default")),
            ("priority", json!(0)),
            ("enableServiceLinks", json!(true)),
            ("preemptionPolicy", json!("PreemptLowerPriority")),
        ] {
            if spec[k].is_null() {
                spec[k] = v;
            }
        }
        let mut pod = json!({
            "metadata": {
                "name": format!("{ds_name}-{}", suffix(serial)),
                "generateName": format!("{ds_name}-"),
                "namespace": ds["metadata"]["namespace"],
                "uid": DaemonSets::uid(serial),
                "resourceVersion": (200_000 + serial).to_string(),
                "creationTimestamp": created,
                "labels": Value::Object(labels),
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds_name,
                    "uid": ds["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": spec
        });
        let annotations = &ds["spec"]["template"]["metadata"]["annotations"];
        if annotations.is_object() {
            pod["metadata"]["annotations"] = annotations.clone();
        }
        pod
    }

    /// The pods of every stored DaemonSet in a namespace (or all), as the server sends them now.
    pub(crate) fn pods(&self, namespace: Option<&str>, script: &DaemonSetScript) -> Vec<Value> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .flat_map(|(_, r)| r.pods.values().map(move |p| current(r, p, script)))
            .collect()
    }

    /// The stored DaemonSets in a namespace (or all).
    pub(crate) fn daemon_sets(&self, namespace: Option<&str>) -> Vec<Value> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, r)| r.object.clone())
            .collect()
    }

    /// One stored DaemonSet or pod of one, as the server sends it now.
    pub(crate) fn get(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
        script: &DaemonSetScript,
    ) -> Option<Value> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        match kind.plural {
            "daemonsets" => sets
                .get(&(namespace.to_string(), name.to_string()))
                .map(|r| wire::object(kind, r.object.clone())),
            "pods" => sets
                .iter()
                .filter(|((ns, _), _)| ns == namespace)
                .find_map(|(_, r)| r.pods.get(name).map(|p| current(r, p, script)))
                .map(|p| wire::object(kind, p)),
            _ => None,
        }
    }

    /// Deletes a DaemonSet with its pods (recording the deletion), or one of their pods; None when neither
    /// is stored.
    pub(crate) fn delete(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
        propagation_policy: Option<String>,
    ) -> Option<Reply> {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if kind.plural == "pods" {
            let running = sets
                .iter_mut()
                .filter(|((ns, _), _)| ns == namespace)
                .find(|(_, r)| r.pods.contains_key(name))?
                .1;
            let pod = running.pods.remove(name)?;
            let mut object = pod.object;
            object["metadata"]["deletionTimestamp"] = json!(now());
            object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return Some(wire::json_reply(
                StatusCode::OK,
                &wire::object(kind, object),
            ));
        }
        if kind.plural != "daemonsets" {
            return None;
        }
        let removed = sets.remove(&(namespace.to_string(), name.to_string()))?;
        self.deletions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(DaemonSetDeletion {
                namespace: namespace.into(),
                name: name.into(),
                propagation_policy,
                pods: removed.pods.keys().cloned().collect(),
            });
        Some(wire::json_reply(
            StatusCode::OK,
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": "apps", "kind": "daemonsets",
                            "uid": removed.object["metadata"]["uid"]}
            }),
        ))
    }

    /// `GET .../pods/<name>/log` of a DaemonSet's pod; None when no stored DaemonSet owns the pod.
    pub(crate) fn log(
        &self,
        namespace: &str,
        name: &str,
        limit_bytes: Option<usize>,
        script: &DaemonSetScript,
        bundle: &Bundle,
    ) -> Option<Reply> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        let (running, pod) = sets
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .find_map(|(_, r)| r.pods.get(name).map(|p| (r, p)))?;
        let container = pod.object["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or_default();
        let waiting = |reason: &str| {
            wire::bad_request(&format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
            ))
        };
        if !pod.node_ready {
            return Some(waiting("ContainerCreating"));
        }
        if script.stuck.contains_key(&pod.node) {
            return Some(waiting("trying and failing to pull image"));
        }
        if running.at.elapsed() < script.start_after {
            return Some(waiting("ContainerCreating"));
        }
        let facts = bundle.host().ok().and_then(|mut all| all.remove(&pod.node));
        let mut text = match (script.output.get(&pod.node), facts) {
            (Some(out), _) => out.clone(),
            (None, Some(f)) => serde_json::to_string_pretty(&f).unwrap_or_default() + "\n",
            (None, None) => script.output_without_facts.clone(),
        };
        if let Some(limit) = limit_bytes {
            let mut cut = limit.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        Some(wire::text_reply(StatusCode::OK, &text))
    }
}

/// A DaemonSet's pod as the server sends it now: its status follows its node and the script.
fn current(running: &Running, pod: &Pod, script: &DaemonSetScript) -> Value {
    let mut object = pod.object.clone();
    let started_at = running.object["metadata"]["creationTimestamp"].clone();
    let container = object["spec"]["containers"][0]["name"].clone();
    let image = object["spec"]["containers"][0]["image"].clone();
    let condition = |type_: &str, ok: bool, reason: Option<&str>| {
        let mut c = json!({"type": type_, "status": if ok { "True" } else { "False" },
                           "lastProbeTime": null, "lastTransitionTime": started_at});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        c
    };
    if !pod.node_ready {
        // Bound, but no kubelet ever reported on it.
        object["status"] = json!({
            "phase": "Pending",
            "conditions": [condition("PodScheduled", true, None)],
            "qosClass": "Burstable"
        });
        return object;
    }
    let waiting = match script.stuck.get(&pod.node) {
        Some((reason, message)) => Some(json!({"reason": reason, "message": message})),
        None if running.at.elapsed() < script.start_after => {
            Some(json!({"reason": "ContainerCreating"}))
        }
        None => None,
    };
    let mut status = Map::new();
    let running_now = waiting.is_none();
    status.insert(
        "phase".into(),
        json!(if running_now { "Running" } else { "Pending" }),
    );
    let not_ready = (!running_now).then_some("ContainersNotReady");
    status.insert(
        "conditions".into(),
        json!([
            condition("PodReadyToStartContainers", true, None),
            condition("Initialized", true, None),
            condition("Ready", running_now, not_ready),
            condition("ContainersReady", running_now, not_ready),
            condition("PodScheduled", true, None),
        ]),
    );
    status.insert("hostIP".into(), json!(pod.host_ip));
    status.insert("hostIPs".into(), json!([{"ip": pod.host_ip}]));
    status.insert("podIP".into(), json!("10.42.0.200"));
    status.insert("podIPs".into(), json!([{"ip": "10.42.0.200"}]));
    status.insert("startTime".into(), started_at.clone());
    let state = match waiting {
        Some(w) => json!({"waiting": w}),
        None => json!({"running": {"startedAt": started_at}}),
    };
    let mut container_status = json!({
        "name": container, "state": state, "lastState": {}, "ready": running_now,
        "restartCount": 0, "image": image, "imageID": "", "started": running_now
    });
    if running_now {
        container_status["imageID"] = json!(format!(
            "{}@sha256:{}",
            image.as_str().unwrap_or_default(),
            "0".repeat(64)
        ));
        container_status["containerID"] = json!(format!("containerd://{:064x}", 0xd5e7u64));
    }
    status.insert("containerStatuses".into(), json!([container_status]));
    status.insert("qosClass".into(), json!("Burstable"));
    object["status"] = Value::Object(status);
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(taints: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "n", "labels": labels}, "spec": {"taints": taints}})
    }

    #[test]
    fn placement_follows_node_selector_taints_and_tolerations() {
        let master =
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
        let plain = json!({"spec": {}});
        let tolerating = json!({"tolerations": [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
        ]});
        let everything = json!({"tolerations": [{"operator": "Exists"}]});
        let labels = json!({"kubernetes.io/os": "linux"});
        assert!(!admits(&plain, &node(master.clone(), labels.clone())));
        assert!(admits(&tolerating, &node(master.clone(), labels.clone())));
        assert!(admits(&everything, &node(master, labels.clone())));
        // The controller tolerates a NotReady or cordoned node itself; PreferNoSchedule never keeps a pod off.
        let not_ready = json!([
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "example.com/spot", "effect": "PreferNoSchedule"}
        ]);
        assert!(admits(&plain, &node(not_ready, labels.clone())));
        let on_arm = json!({"nodeSelector": {"kubernetes.io/arch": "arm64"}});
        assert!(!admits(&on_arm, &node(json!([]), labels)));
        let tainted_value = json!([{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]);
        let other_value =
            json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db"}]});
        let same_value =
            json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]});
        assert!(!admits(
            &other_value,
            &node(tainted_value.clone(), json!({}))
        ));
        assert!(admits(&same_value, &node(tainted_value, json!({}))));
    }
}
