//! Objects a client creates (the tool's probe pods and self-test objects): kept in memory beside the
//! read-only fixture, listed and got with it, deleted on request, and pods that "run" by a script: waiting
//! in `ContainerCreating` (or a pull failure) until they start, then `Succeeded` or `Failed` with a log.
//!
//! Answers are shaped like kube-apiserver's: a create is `201` with the stored object (uid,
//! resourceVersion, creationTimestamp, `status.phase: Pending`); a pod delete is `200` with the pod, other
//! deletes `200` with a `Success` Status; `.../pods/<name>/log` is `text/plain`, or a `400 BadRequest`
//! Status `container "<c>" in pod "<p>" is waiting to start: <reason>` before the container started.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_doctor_checks::evidence::kinds::ResourceKind;
use serde_json::{Value, json};

use crate::wire::{self, Reply};

/// How a created pod behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodScript {
    /// Starts after `after` and ends at once: exit code 0 is `Succeeded`, anything else `Failed`; `log` is
    /// what its container printed.
    Runs {
        after: Duration,
        exit_code: i32,
        log: String,
    },
    /// Never starts: waits with this reason (`ImagePullBackOff`) and message.
    Waits { reason: String, message: String },
}

struct Created {
    object: Value,
    at: Instant,
}

/// The objects created through this server, by (plural, namespace, name).
#[derive(Default)]
pub(crate) struct Store {
    objects: Mutex<BTreeMap<(String, String, String), Created>>,
    /// Every object ever created, as stored, in order: tests read what the client sent.
    history: Mutex<Vec<Value>>,
    serial: Mutex<u64>,
}

impl Store {
    fn key(kind: &ResourceKind, namespace: &str, name: &str) -> (String, String, String) {
        (kind.plural.into(), namespace.into(), name.into())
    }

    pub(crate) fn history(&self) -> Vec<Value> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `kind/namespace/name` of every object still stored.
    pub(crate) fn names(&self) -> Vec<String> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .map(|(k, ns, n)| format!("{k}/{ns}/{n}"))
            .collect()
    }

    pub(crate) fn create(&self, kind: &ResourceKind, namespace: &str, body: &[u8]) -> Reply {
        let mut object: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return wire::bad_request(&format!(
                    "couldn't get version/kind; json parse error: {e}"
                ));
            }
        };
        let Some(name) = object["metadata"]["name"].as_str().map(str::to_string) else {
            return wire::status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                &format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    kind.kind
                ),
                None,
            );
        };
        let key = Store::key(kind, namespace, &name);
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        if objects.contains_key(&key) {
            return wire::status(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", kind.resource_key()),
                Some(wire::resource_details(kind, Some(&name))),
            );
        }
        let serial = {
            let mut s = self.serial.lock().unwrap_or_else(|p| p.into_inner());
            *s += 1;
            *s
        };
        let meta = &mut object["metadata"];
        meta["namespace"] = json!(namespace);
        meta["uid"] = json!(format!("7a1c0000-0000-4000-8000-{serial:012x}"));
        meta["resourceVersion"] = json!((100_000 + serial).to_string());
        meta["creationTimestamp"] = json!(
            jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        );
        if kind.plural == "pods" {
            object["status"] = json!({"phase": "Pending", "qosClass": "Burstable"});
        }
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(object.clone());
        objects.insert(
            key,
            Created {
                object: object.clone(),
                at: Instant::now(),
            },
        );
        wire::json_reply(StatusCode::CREATED, &object)
    }

    /// A stored object as it is now (a pod's status follows its script); None when not stored.
    pub(crate) fn get(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
        script: Option<&PodScript>,
    ) -> Option<Value> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects
            .get(&Store::key(kind, namespace, name))
            .map(|c| current(kind, c, script))
    }

    /// The stored objects of a kind (in one namespace, or all).
    pub(crate) fn list(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        script: Option<&PodScript>,
    ) -> Vec<Value> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects
            .iter()
            .filter(|((k, ns, _), _)| k == kind.plural && namespace.is_none_or(|n| n == ns))
            .map(|(_, c)| current(kind, c, script))
            .collect()
    }

    /// Deletes a stored object: the pod itself for a pod, a `Success` Status otherwise; None when not
    /// stored.
    pub(crate) fn delete(&self, kind: &ResourceKind, namespace: &str, name: &str) -> Option<Reply> {
        let removed = self
            .objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Store::key(kind, namespace, name))?;
        if kind.plural == "pods" {
            let mut pod = removed.object;
            pod["metadata"]["deletionTimestamp"] = json!(
                jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            );
            pod["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return Some(wire::json_reply(StatusCode::OK, &pod));
        }
        let uid = removed.object["metadata"]["uid"].clone();
        Some(wire::json_reply(
            StatusCode::OK,
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": kind.plural, "uid": uid}
            }),
        ))
    }

    /// `GET .../pods/<name>/log?container=<c>`.
    pub(crate) fn log(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
        script: Option<&PodScript>,
        pods: &ResourceKind,
    ) -> Option<Reply> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        let created = objects.get(&Store::key(pods, namespace, name))?;
        let container = container
            .map(str::to_string)
            .or_else(|| {
                created.object["spec"]["containers"][0]["name"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Some(match script {
            Some(PodScript::Runs { after, log, .. }) if created.at.elapsed() >= *after => {
                wire::text_reply(StatusCode::OK, log)
            }
            Some(PodScript::Waits { .. }) => wire::bad_request(&format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: trying and failing to pull image"
            )),
            _ => wire::bad_request(&format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
            )),
        })
    }
}

/// An object as the server would send it now: a pod's status is computed from its script and age.
fn current(kind: &ResourceKind, created: &Created, script: Option<&PodScript>) -> Value {
    let mut object = created.object.clone();
    if kind.plural != "pods" {
        return object;
    }
    let container = object["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let image = object["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let waiting = |reason: &str, message: Option<&str>| {
        let mut state = json!({"reason": reason});
        if let Some(m) = message {
            state["message"] = json!(m);
        }
        json!({
            "phase": "Pending", "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": format!("containers with unready status: [{container}]")}],
            "containerStatuses": [{"name": container, "image": image, "imageID": "", "ready": false,
                                   "restartCount": 0, "started": false, "state": {"waiting": state}}]
        })
    };
    object["status"] = match script {
        Some(PodScript::Runs {
            after, exit_code, ..
        }) if created.at.elapsed() >= *after => {
            let (phase, reason) = if *exit_code == 0 {
                ("Succeeded", "Completed")
            } else {
                ("Failed", "Error")
            };
            json!({
                "phase": phase, "qosClass": "Burstable",
                "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}],
                "containerStatuses": [{"name": container, "image": image, "ready": false, "restartCount": 0,
                                       "started": false,
                                       "state": {"terminated": {"exitCode": exit_code, "reason": reason}}}]
            })
        }
        Some(PodScript::Waits { reason, message }) => waiting(reason, Some(message)),
        _ => waiting("ContainerCreating", None),
    };
    object
}
