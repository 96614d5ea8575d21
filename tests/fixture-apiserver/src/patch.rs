//! Changes a client makes to objects (the installer's label PATCHes and server-side applies), kept in an
//! overlay above the read-only fixture: a changed object replaces the fixture's in gets and lists, a deleted
//! one disappears from both, and an object applied into existence is listed beside the fixture's.
//!
//! What is served follows kube-apiserver:
//! - `application/merge-patch+json` (RFC 7386) and `application/strategic-merge-patch+json` (for maps, as
//!   labels are, the two are the same; a strategic patch that holds a list is refused with 415 rather than
//!   merged wrongly) on an existing object: `200` with the patched object, its `resourceVersion` bumped; a
//!   missing object is the `404 NotFound` Status; a `metadata.resourceVersion` in the patch that is not the
//!   current one is the `409 Conflict` "the object has been modified"; a patch that renames the object is
//!   `422 Invalid`.
//! - `application/apply-patch+yaml` (server-side apply; the body may be JSON, which is YAML): `fieldManager`
//!   is required (`422 Invalid` for `PatchOptions` otherwise, as the server says); the object is created
//!   (`201`) or the applied fields merged into it (`200`), with a `managedFields` entry (`operation: Apply`)
//!   for the manager listing the fields it set; a field another manager owns, applied with another value,
//!   is the `409 Conflict` "Apply failed with 1 conflict: conflict with "kubectl": .data.mode" (the tool
//!   never forces). An applied CustomResourceDefinition becomes `Established`.
//! - Every mutation is recorded ([`Mutation`]): method, path, content type, field manager, body and the
//!   status answered, so tests assert the exact PATCH bodies a client sent.
//!
//! With [`ServerOptions::daemonset_controller`](crate::ServerOptions) set, the server also does what k3s's
//! ServiceLB controller and the DaemonSet controller do after a node's labels change: a DaemonSet pod whose
//! node no longer satisfies its selector is deleted, after the given delay (a real controller takes a
//! moment). See [`Overlay::evict_unselected`].

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_doctor_checks::evidence::kinds::{self, ResourceKind};
use serde_json::{Map, Value, json};

use crate::wire::{self, Reply};

/// k3s ServiceLB's node label and the label on its svclb pods.
const ENABLELB: &str = "svccontroller.k3s.cattle.io/enablelb";
const SVCNAME: &str = "svccontroller.k3s.cattle.io/svcname";

/// One write a client sent, as received and answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub method: String,
    pub path: String,
    /// The request's `Content-Type` (`application/merge-patch+json`, `application/apply-patch+yaml`, ...).
    pub content_type: String,
    /// The `fieldManager` query parameter, when sent.
    pub field_manager: Option<String>,
    /// The request body, parsed (JSON, or YAML for an apply); `Null` when it was neither.
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
}

/// The state of one object above the fixture, from `effective` on.
struct Entry {
    /// None: deleted.
    object: Option<Value>,
    effective: Instant,
}

type Key = (String, String, String);

fn key(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> Key {
    (
        kind.plural.into(),
        namespace.unwrap_or_default().into(),
        name.into(),
    )
}

/// What a patch request asks, decoded from the request.
pub(crate) struct PatchRequest<'a> {
    pub(crate) kind: &'static ResourceKind,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) field_manager: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

#[derive(Default)]
pub(crate) struct Overlay {
    entries: Mutex<BTreeMap<Key, Vec<Entry>>>,
    mutations: Mutex<Vec<Mutation>>,
    serial: Mutex<u64>,
}

impl Overlay {
    pub(crate) fn mutations(&self) -> Vec<Mutation> {
        self.mutations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The object as the overlay has it now: Some(Some) changed, Some(None) deleted, None untouched.
    pub(crate) fn current(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Option<Value>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Overlay::effective(entries.get(&key(kind, namespace, name))?)
    }

    fn effective(history: &[Entry]) -> Option<Option<Value>> {
        let now = Instant::now();
        history
            .iter()
            .rev()
            .find(|e| e.effective <= now)
            .map(|e| e.object.clone())
    }

    /// Whether any object of this kind was patched or applied: lists of other kinds are served as stored.
    pub(crate) fn touches(&self, kind: &ResourceKind) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.keys().any(|(plural, _, _)| plural == kind.plural)
    }

    /// The fixture's items of a list with the overlay applied, plus the objects applied into existence.
    pub(crate) fn list(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        items: Vec<Value>,
    ) -> Vec<Value> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let item_key = |item: &Value| {
            key(
                kind,
                item.pointer("/metadata/namespace").and_then(Value::as_str),
                item.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
        };
        let fixture_keys: Vec<Key> = items.iter().map(item_key).collect();
        let mut out: Vec<Value> = items
            .into_iter()
            .filter_map(|item| match entries.get(&item_key(&item)) {
                Some(history) => match Overlay::effective(history) {
                    Some(changed) => changed,
                    None => Some(item),
                },
                None => Some(item),
            })
            .collect();
        for (k, history) in entries.iter() {
            if k.0 != kind.plural
                || namespace.is_some_and(|want| want != k.1)
                || fixture_keys.contains(k)
            {
                continue;
            }
            if let Some(Some(object)) = Overlay::effective(history) {
                out.push(object);
            }
        }
        out
    }

    fn record(&self, req: &PatchRequest<'_>, body: Value, status: StatusCode) {
        self.mutations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Mutation {
                method: "PATCH".into(),
                path: req.path.into(),
                content_type: req.content_type.into(),
                field_manager: req.field_manager.map(str::to_string),
                body,
                status: status.as_u16(),
            });
    }

    fn next_serial(&self) -> u64 {
        let mut s = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        *s += 1;
        *s
    }

    fn next_resource_version(&self) -> String {
        (200_000 + self.next_serial()).to_string()
    }

    fn store(&self, k: Key, object: Option<Value>, effective: Instant) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(k)
            .or_default()
            .push(Entry { object, effective });
    }

    /// Answers a PATCH of an object whose current state (fixture or overlay) is `existing`.
    pub(crate) fn patch(&self, req: &PatchRequest<'_>, existing: Option<Value>) -> Reply {
        let media = req
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        let parsed: Result<Value, String> = match media {
            "application/apply-patch+yaml" => {
                serde_saphyr::from_slice::<Value>(req.body).map_err(|e| e.to_string())
            }
            _ => serde_json::from_slice::<Value>(req.body).map_err(|e| e.to_string()),
        };
        let body = parsed.clone().unwrap_or(Value::Null);
        let (status, reply) = match parsed {
            Err(e) => (
                StatusCode::BAD_REQUEST,
                wire::bad_request(&format!(
                    "error decoding patch: couldn't get version/kind; json parse error: {e}"
                )),
            ),
            Ok(patch) => match media {
                "application/merge-patch+json" => self.merge(req, existing, &patch),
                "application/strategic-merge-patch+json" if holds_list(&patch) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    wire::status(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "UnsupportedMediaType",
                        "fixture-apiserver merges strategic patches only when they hold no list",
                        Some(json!({})),
                    ),
                ),
                "application/strategic-merge-patch+json" => self.merge(req, existing, &patch),
                "application/apply-patch+yaml" => self.apply(req, existing, patch),
                other => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    wire::status(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "UnsupportedMediaType",
                        &format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
                        ),
                        Some(json!({})),
                    ),
                ),
            },
        };
        self.record(req, body, status);
        reply
    }

    fn merge(
        &self,
        req: &PatchRequest<'_>,
        existing: Option<Value>,
        patch: &Value,
    ) -> (StatusCode, Reply) {
        let Some(mut object) = existing else {
            return (
                StatusCode::NOT_FOUND,
                wire::object_not_found(req.kind, req.name),
            );
        };
        if let Some(rv) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && Some(rv)
                != object
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
        {
            return (
                StatusCode::CONFLICT,
                wire::status(
                    StatusCode::CONFLICT,
                    "Conflict",
                    &format!(
                        "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                        req.kind.resource_key(),
                        req.name
                    ),
                    Some(wire::resource_details(req.kind, Some(req.name))),
                ),
            );
        }
        if let Some(renamed) = patch.pointer("/metadata/name").and_then(Value::as_str)
            && renamed != req.name
        {
            return invalid(
                req,
                &format!("metadata.name: Invalid value: \"{renamed}\": field is immutable"),
            );
        }
        merge_patch(&mut object, patch);
        object["metadata"]["resourceVersion"] = json!(self.next_resource_version());
        let object = wire::object(req.kind, object);
        self.store(
            key(req.kind, req.namespace, req.name),
            Some(object.clone()),
            Instant::now(),
        );
        (StatusCode::OK, wire::json_reply(StatusCode::OK, &object))
    }

    fn apply(
        &self,
        req: &PatchRequest<'_>,
        existing: Option<Value>,
        applied: Value,
    ) -> (StatusCode, Reply) {
        let Some(manager) = req.field_manager.filter(|m| !m.is_empty()) else {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                wire::status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    Some(
                        json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                            {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}
                        ]}),
                    ),
                ),
            );
        };
        if applied.get("kind").and_then(Value::as_str) != Some(req.kind.kind)
            || applied.get("apiVersion").and_then(Value::as_str)
                != Some(req.kind.api_version().as_str())
        {
            return invalid(
                req,
                &format!(
                    "the applied object must be {} {} (apiVersion and kind are required for apply)",
                    req.kind.api_version(),
                    req.kind.kind
                ),
            );
        }
        if applied.pointer("/metadata/name").and_then(Value::as_str) != Some(req.name) {
            return invalid(
                req,
                "metadata.name: Invalid value: the name of the object does not match the name on the URL",
            );
        }
        if let Some(current) = &existing {
            let conflicts = conflicts(current, &applied, manager);
            if !conflicts.is_empty() {
                return (StatusCode::CONFLICT, apply_conflict(&conflicts));
            }
        }
        let created = existing.is_none();
        let mut object = existing.unwrap_or_else(|| {
            let mut fresh = json!({"metadata": {
                "name": req.name,
                "uid": format!("5a9e0000-0000-4000-8000-{:012x}", self.next_serial()),
                "creationTimestamp": now_rfc3339(),
            }});
            if let Some(ns) = req.namespace {
                fresh["metadata"]["namespace"] = json!(ns);
            }
            fresh
        });
        merge_patch(&mut object, &applied);
        let fields = fields_v1(&applied);
        let mut managed: Vec<Value> = object
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| !(m["manager"] == json!(manager) && m["operation"] == json!("Apply")))
            .collect();
        managed.push(json!({
            "manager": manager,
            "operation": "Apply",
            "apiVersion": req.kind.api_version(),
            "time": now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }));
        object["metadata"]["managedFields"] = Value::Array(managed);
        object["metadata"]["resourceVersion"] = json!(self.next_resource_version());
        if req.kind.plural == kinds::CUSTOM_RESOURCE_DEFINITIONS.plural {
            establish(&mut object);
        }
        if req.kind.plural == "namespaces" && object.get("status").is_none() {
            object["status"] = json!({"phase": "Active"});
            object["spec"] = json!({"finalizers": ["kubernetes"]});
        }
        let object = wire::object(req.kind, object);
        self.store(
            key(req.kind, req.namespace, req.name),
            Some(object.clone()),
            Instant::now(),
        );
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        (status, wire::json_reply(status, &object))
    }

    /// What k3s's ServiceLB controller and the DaemonSet controller do after nodes' labels change: a
    /// DaemonSet pod whose node no longer satisfies its selector is deleted `after` from now. A svclb pod's
    /// selector is the one ServiceLB puts on its DaemonSet: `svccontroller.k3s.cattle.io/enablelb=true`
    /// once any node carries that label, none otherwise; other pods keep their `spec.nodeSelector`.
    pub(crate) fn evict_unselected(&self, nodes: &[Value], pods: Vec<Value>, after: Duration) {
        let labels_of = |node: &Value| {
            node.pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let pinned = nodes.iter().any(|n| labels_of(n).contains_key(ENABLELB));
        for pod in pods {
            let from_daemonset = pod
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|r| r["kind"] == json!("DaemonSet")));
            let Some(node) = nodes
                .iter()
                .find(|n| n.pointer("/metadata/name") == pod.pointer("/spec/nodeName"))
            else {
                continue;
            };
            let svclb = pod
                .pointer(&format!("/metadata/labels/{}", SVCNAME.replace('/', "~1")))
                .is_some();
            let selector = if svclb {
                if pinned {
                    Map::from_iter([(ENABLELB.to_string(), json!("true"))])
                } else {
                    Map::new()
                }
            } else {
                pod.pointer("/spec/nodeSelector")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            let labels = labels_of(node);
            let selected = selector.iter().all(|(k, v)| labels.get(k) == Some(v));
            if from_daemonset && !selected {
                let name = pod
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str);
                self.store(key(&kinds::PODS, ns, name), None, Instant::now() + after);
            }
        }
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn invalid(req: &PatchRequest<'_>, detail: &str) -> (StatusCode, Reply) {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        wire::status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            &format!("{} \"{}\" is invalid: {detail}", req.kind.kind, req.name),
            Some(wire::resource_details(req.kind, Some(req.name))),
        ),
    )
}

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let fields = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            fields.remove(k);
        } else {
            merge_patch(fields.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn holds_list(v: &Value) -> bool {
    match v {
        Value::Array(_) => true,
        Value::Object(m) => m.values().any(holds_list),
        _ => false,
    }
}

/// The `fieldsV1` set of an applied object: `f:<field>` for every map key, lists owned whole.
fn fields_v1(applied: &Value) -> Value {
    let Value::Object(m) = applied else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, v) in m {
        if matches!(k.as_str(), "apiVersion" | "kind") {
            continue;
        }
        let inner = match v {
            Value::Object(_) => fields_v1(v),
            _ => json!({}),
        };
        out.insert(format!("f:{k}"), inner);
    }
    Value::Object(out)
}

/// One field another manager owns with another value: (its manager, as the server prints it; the path).
type Conflict = (String, String);

/// The fields `applied` sets to a value other than the current one while another manager owns them (an
/// apply that is not forced fails on them).
fn conflicts(current: &Value, applied: &Value, manager: &str) -> Vec<Conflict> {
    let Some(entries) = current
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut leaves = Vec::new();
    leaf_paths(applied, &mut leaves);
    let mut out = Vec::new();
    for entry in entries.iter().filter(|e| e["manager"] != json!(manager)) {
        for path in &leaves {
            let owned = path
                .iter()
                .try_fold(&entry["fieldsV1"], |node, key| node.get(format!("f:{key}")))
                .is_some();
            let pointer: String = path
                .iter()
                .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
                .collect();
            if owned && current.pointer(&pointer) != applied.pointer(&pointer) {
                out.push((printed_manager(entry), format!(".{}", path.join("."))));
            }
        }
    }
    out
}

/// The paths (as keys) of the non-map values in `v`, `apiVersion` and `kind` aside.
fn leaf_paths(v: &Value, out: &mut Vec<Vec<String>>) {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind") {
                        continue;
                    }
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        }
    }
    let mut path = Vec::new();
    walk(v, &mut path, out);
}

/// A manager as the server names it in a conflict: `"kubectl"`, or `"kubectl-edit" using v1 at <time>`
/// for an Update.
fn printed_manager(entry: &Value) -> String {
    let name = format!("{:?}", entry["manager"].as_str().unwrap_or_default());
    if entry["operation"] != json!("Update") {
        return name;
    }
    let api = entry["apiVersion"].as_str().unwrap_or_default();
    match entry["time"].as_str() {
        Some(t) => format!("{name} using {api} at {t}"),
        None => format!("{name} using {api}"),
    }
}

/// The 409 of a server-side apply that conflicts, as kube-apiserver words it.
fn apply_conflict(conflicts: &[Conflict]) -> Reply {
    let message = match conflicts {
        [(manager, path)] => {
            format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
        }
        many => format!(
            "Apply failed with {} conflicts: {}",
            many.len(),
            many.iter()
                .map(|(m, p)| format!("conflict with {m}: {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p}))
        .collect();
    wire::status(
        StatusCode::CONFLICT,
        "Conflict",
        &message,
        Some(json!({"causes": causes})),
    )
}

/// What the apiextensions controller writes once a CRD's names are accepted.
fn establish(crd: &mut Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let now = now_rfc3339();
    crd["status"] = json!({
        "acceptedNames": names,
        "storedVersions": crd.pointer("/spec/versions").and_then(Value::as_array)
            .map(|vs| vs.iter().filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect::<Vec<_>>())
            .unwrap_or_default(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_sets_and_deletes_labels() {
        let mut node = json!({"metadata": {"name": "n", "labels": {"a": "1", "b": "2"}}});
        merge_patch(
            &mut node,
            &json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
        );
        assert_eq!(node["metadata"]["labels"], json!({"b": "2", "c": "3"}));
    }

    #[test]
    fn fields_v1_names_every_applied_field() {
        let f = fields_v1(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "v"}}));
        assert_eq!(
            f,
            json!({"f:metadata": {"f:name": {}, "f:labels": {"f:a": {}}}, "f:data": {"f:k": {}}})
        );
    }
}
