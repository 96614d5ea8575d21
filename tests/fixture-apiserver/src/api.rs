//! Routing and answers: every request is logged, delayed by the configured latency, authenticated, routed
//! and answered from the [`Bundle`], whose rules decide what a fixture holds.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mcp_doctor_checks::evidence::kinds::{self, ResourceKind};
use mcp_doctor_checks::evidence::replay::Bundle;
use mcp_doctor_checks::evidence::{AccessAnswer, AccessQuestion, EvidenceError, LogQuery, Scope};
use serde_json::{Value, json};

use crate::patch::PatchRequest;
use crate::rbac::ResourceRequest;
use crate::wire::{self, Reply};
use crate::{RequestLogEntry, ServerOptions};

/// How long a request whose recorded answer is a timeout hangs before the server gives up with a 504: far
/// beyond any client timeout. Shutting the server down cancels it.
const HANG: Duration = Duration::from_secs(300);

/// The group and version that serve `selfsubjectaccessreviews`.
const AUTHZ_GROUP: &str = "authorization.k8s.io";
const AUTHZ_VERSION: &str = "v1";
const ACCESS_REVIEWS: &str = "selfsubjectaccessreviews";

/// Returned instead of an answer when the recorded outcome is that the server could not be reached: hyper
/// then closes the connection without a response.
#[derive(Debug)]
pub(crate) struct Hangup(String);

impl fmt::Display for Hangup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "closing the connection: the fixture records the server as unreachable ({})",
            self.0
        )
    }
}

impl std::error::Error for Hangup {}

pub(crate) struct State {
    pub(crate) bundle: Bundle,
    pub(crate) opts: ServerOptions,
    pub(crate) addr: SocketAddr,
    pub(crate) log: Arc<Mutex<Vec<RequestLogEntry>>>,
    /// The requests the RBAC policy denied.
    pub(crate) forbidden: Arc<Mutex<Vec<RequestLogEntry>>>,
    pub(crate) store: Arc<crate::probe::Store>,
    pub(crate) daemon_sets: Arc<crate::daemonset::DaemonSets>,
    pub(crate) overlay: Arc<crate::patch::Overlay>,
    pub(crate) encoded: crate::wire::EncodedLists,
    /// How many more continue tokens to answer with 410 `Expired` ([`ServerOptions::expire_continue_tokens`]).
    pub(crate) continue_tokens_to_expire: std::sync::atomic::AtomicUsize,
}

/// What a path addresses.
enum Route<'p> {
    Version,
    CoreVersions,
    Groups,
    Group(&'p str),
    Resources {
        group: &'p str,
        version: &'p str,
    },
    Collection {
        kind: &'static ResourceKind,
        namespace: Option<&'p str>,
    },
    Object {
        kind: &'static ResourceKind,
        namespace: Option<&'p str>,
        name: &'p str,
    },
    /// `pods/<name>/log`, the log subresource.
    PodLog {
        namespace: &'p str,
        name: &'p str,
    },
    AccessReviews,
    Unknown,
}

impl<'p> Route<'p> {
    /// The resource attributes RBAC authorizes, with the API server's verb for the method; None for what
    /// every authenticated user may ask (`/version`, discovery), for paths the server does not serve and for
    /// methods with no verb there.
    fn resource_request(&self, method: &Method, params: &Params) -> Option<ResourceRequest<'p>> {
        let watch = matches!(params.get("watch"), Some("true" | "1"));
        let (verb, group, resource, namespace, name) = match self {
            Route::Collection { kind, namespace } => {
                let verb = match *method {
                    Method::GET if watch => "watch",
                    Method::GET => "list",
                    Method::POST => "create",
                    Method::DELETE => "deletecollection",
                    _ => return None,
                };
                (verb, kind.group, kind.plural.to_string(), *namespace, None)
            }
            Route::Object {
                kind,
                namespace,
                name,
            } => {
                let verb = match *method {
                    Method::GET if watch => "watch",
                    Method::GET => "get",
                    Method::PUT => "update",
                    Method::PATCH => "patch",
                    Method::DELETE => "delete",
                    _ => return None,
                };
                let resource = kind.plural.to_string();
                (verb, kind.group, resource, *namespace, Some(*name))
            }
            Route::PodLog { namespace, name } if method == Method::GET => {
                let resource = "pods/log".to_string();
                ("get", "", resource, Some(*namespace), Some(*name))
            }
            Route::AccessReviews if method == Method::POST => {
                let resource = ACCESS_REVIEWS.to_string();
                ("create", AUTHZ_GROUP, resource, None, None)
            }
            _ => return None,
        };
        Some(ResourceRequest {
            verb,
            group,
            resource,
            namespace,
            name,
        })
    }

    fn parse(path: &'p str) -> Route<'p> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["version"] => Route::Version,
            ["api"] => Route::CoreVersions,
            ["apis"] => Route::Groups,
            ["apis", group] => Route::Group(group),
            ["api", version] => Route::Resources { group: "", version },
            ["apis", group, version] => Route::Resources { group, version },
            ["api", version, rest @ ..] => Route::resource("", version, rest),
            ["apis", group, version, rest @ ..] => Route::resource(group, version, rest),
            _ => Route::Unknown,
        }
    }

    /// `<plural>`, `<plural>/<name>`, `namespaces/<ns>/<plural>`, `namespaces/<ns>/<plural>/<name>`.
    fn resource(group: &str, version: &str, rest: &[&'p str]) -> Route<'p> {
        let find = |plural: &str| {
            kinds::ALL
                .iter()
                .copied()
                .find(|k| k.group == group && k.version == version && k.plural == plural)
        };
        match rest {
            [ACCESS_REVIEWS] if group == AUTHZ_GROUP && version == AUTHZ_VERSION => {
                Route::AccessReviews
            }
            ["namespaces", namespace, plural] => match find(plural) {
                Some(kind) if kind.namespaced => Route::Collection {
                    kind,
                    namespace: Some(namespace),
                },
                _ => Route::Unknown,
            },
            ["namespaces", namespace, "pods", name, "log"]
                if group.is_empty() && version == "v1" =>
            {
                Route::PodLog { namespace, name }
            }
            ["namespaces", namespace, plural, name] => match find(plural) {
                Some(kind) if kind.namespaced => Route::Object {
                    kind,
                    namespace: Some(namespace),
                    name,
                },
                _ => Route::Unknown,
            },
            [plural] => match find(plural) {
                Some(kind) => Route::Collection {
                    kind,
                    namespace: None,
                },
                None => Route::Unknown,
            },
            [plural, name] => match find(plural) {
                Some(kind) if !kind.namespaced => Route::Object {
                    kind,
                    namespace: None,
                    name,
                },
                _ => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }
}

/// What was asked, to word an error the way the server would.
enum Ask<'a> {
    Resource {
        verb: &'static str,
        kind: &'a ResourceKind,
        namespace: Option<&'a str>,
        name: Option<&'a str>,
    },
    /// A non-resource URL such as `/version`.
    Path(&'a str),
}

impl State {
    fn record(&self, entry: RequestLogEntry) {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(entry);
    }

    pub(crate) async fn answer<B>(&self, req: Request<B>) -> Result<Reply, Hangup>
    where
        B: hyper::body::Body,
    {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        self.record(RequestLogEntry {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
        });

        if let Some(latency) = self.opts.latency {
            tokio::time::sleep(latency).await;
        }
        let expected = format!("Bearer {}", self.opts.token);
        let authorized = req
            .headers()
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
        if !authorized {
            return Ok(wire::unauthorized());
        }

        let params = Params::parse(query.as_deref());
        let route = Route::parse(&path);
        if let Some(policy) = &self.opts.rbac
            && let Some(request) = route.resource_request(&method, &params)
            && !policy.allows(&request)
        {
            self.forbidden
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(RequestLogEntry {
                    method: method.to_string(),
                    path: path.clone(),
                    query: query.clone(),
                });
            return Ok(wire::status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &policy.forbidden_message(&request),
                Some(wire::request_details(&request)),
            ));
        }
        match (route, method) {
            (Route::Unknown, _) => Ok(wire::page_not_found()),
            (Route::AccessReviews, Method::POST) => match req.into_body().collect().await {
                Ok(body) => self.access_review(&body.to_bytes()).await,
                Err(_) => Ok(wire::bad_request("the request body could not be read")),
            },
            (
                Route::Collection {
                    kind,
                    namespace: Some(ns),
                },
                Method::POST,
            ) => match req.into_body().collect().await {
                Ok(body) => Ok(self.create(kind, ns, &body.to_bytes())),
                Err(_) => Ok(wire::bad_request("the request body could not be read")),
            },
            (
                Route::Object {
                    kind,
                    namespace: Some(ns),
                    name,
                },
                Method::DELETE,
            ) => {
                // DeleteOptions come as the body (kube-rs, kubectl) or as query parameters.
                let body = req.into_body().collect().await.map(|b| b.to_bytes());
                let options: Value = body
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                let policy = options["propagationPolicy"]
                    .as_str()
                    .or(params.get("propagationPolicy"))
                    .map(str::to_string);
                Ok(self.delete(kind, ns, name, policy))
            }
            (Route::PodLog { namespace, name }, Method::GET) => {
                if let Some(script) = &self.opts.daemon_sets {
                    let limit = params.get("limitBytes").and_then(|l| l.parse().ok());
                    if let Some(reply) =
                        self.daemon_sets
                            .log(namespace, name, limit, script, &self.bundle)
                    {
                        return Ok(reply);
                    }
                }
                // A probe pod this server runs answers from its script; a fixture's pod from its logs/.
                let script = self.opts.pods.as_ref();
                match self.store.log(
                    namespace,
                    name,
                    params.get("container"),
                    script,
                    &kinds::PODS,
                ) {
                    Some(reply) => Ok(reply),
                    None => self.pod_log(namespace, name, &params).await,
                }
            }
            (
                Route::Object {
                    kind,
                    namespace,
                    name,
                },
                Method::PATCH,
            ) => {
                let content_type = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                match req.into_body().collect().await {
                    Ok(body) => {
                        let patch = PatchRequest {
                            kind,
                            namespace,
                            name,
                            path: &path,
                            content_type: &content_type,
                            field_manager: params.get("fieldManager"),
                            body: &body.to_bytes(),
                        };
                        self.patch(&patch).await
                    }
                    Err(_) => Ok(wire::bad_request("the request body could not be read")),
                }
            }
            (route, Method::GET) => self.get(route, &params).await,
            _ => Ok(wire::method_not_allowed()),
        }
    }

    async fn get(&self, route: Route<'_>, params: &Params) -> Result<Reply, Hangup> {
        match route {
            Route::Version => self.version().await,
            Route::CoreVersions => Ok(wire::json_reply(StatusCode::OK, &self.core_versions())),
            Route::Groups => Ok(wire::json_reply(StatusCode::OK, &self.groups())),
            Route::Group(group) => Ok(match self.group(group) {
                Some(body) => wire::json_reply(StatusCode::OK, &body),
                None => wire::page_not_found(),
            }),
            Route::Resources { group, version } => Ok(match self.resources(group, version) {
                Some(body) => wire::json_reply(StatusCode::OK, &body),
                None => wire::page_not_found(),
            }),
            Route::Collection { kind, namespace } => self.list(kind, namespace, params).await,
            Route::Object {
                kind,
                namespace,
                name,
            } => self.object(kind, namespace, name).await,
            Route::PodLog { namespace, name } => self.pod_log(namespace, name, params).await,
            Route::AccessReviews => Ok(wire::method_not_allowed()),
            Route::Unknown => Ok(wire::page_not_found()),
        }
    }

    /// A write is accepted only when the options script created pods; otherwise it is what a read-only
    /// user gets.
    fn write_forbidden(
        &self,
        verb: &'static str,
        kind: &ResourceKind,
        namespace: &str,
    ) -> Option<Reply> {
        let allowed = if kind.plural == kinds::DAEMONSETS.plural {
            self.opts.daemon_sets.is_some()
        } else {
            // Pods of a created DaemonSet may be deleted (`sweep`) when DaemonSets are accepted.
            self.opts.pods.is_some() || (self.opts.daemon_sets.is_some() && kind.plural == "pods")
        };
        (!allowed).then(|| {
            wire::status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &wire::forbidden_message(verb, kind, Some(namespace), None),
                Some(wire::resource_details(kind, None)),
            )
        })
    }

    fn create(&self, kind: &'static ResourceKind, namespace: &str, body: &Bytes) -> Reply {
        if let Some(denied) = self.write_forbidden("create", kind, namespace) {
            return denied;
        }
        if kind.plural == kinds::DAEMONSETS.plural {
            return self.daemon_sets.create(namespace, body, &self.bundle);
        }
        self.store.create(kind, namespace, body)
    }

    fn delete(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        propagation_policy: Option<String>,
    ) -> Reply {
        if let Some(denied) = self.write_forbidden("delete", kind, namespace) {
            return denied;
        }
        if let Some(reply) = self
            .daemon_sets
            .delete(kind, namespace, name, propagation_policy)
        {
            return reply;
        }
        self.store
            .delete(kind, namespace, name)
            .unwrap_or_else(|| wire::object_not_found(kind, name))
    }

    /// The DaemonSets created through the server and their pods, when the kind is one of those.
    fn created_by_daemon_sets(&self, kind: &ResourceKind, namespace: Option<&str>) -> Vec<Value> {
        match (&self.opts.daemon_sets, kind.plural) {
            (Some(script), "pods") => self.daemon_sets.pods(namespace, script),
            (Some(_), "daemonsets") => self.daemon_sets.daemon_sets(namespace),
            _ => Vec::new(),
        }
    }

    /// A PATCH, against the object as it is now (overlay, else fixture); a node whose labels changed lets
    /// the emulated DaemonSet controller evict the pods it no longer selects.
    async fn patch(&self, req: &PatchRequest<'_>) -> Result<Reply, Hangup> {
        if !self.opts.patches {
            return Ok(wire::status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &wire::forbidden_message("patch", req.kind, req.namespace, Some(req.name)),
                Some(wire::resource_details(req.kind, Some(req.name))),
            ));
        }
        let existing = match self.overlay.current(req.kind, req.namespace, req.name) {
            Some(current) => current,
            None => match self.bundle.get(req.kind, req.namespace, req.name) {
                Ok(found) => found.map(|o| wire::object(req.kind, o)),
                Err(e) if e.is_absent() => None,
                Err(e) => {
                    return self
                        .failure(
                            e,
                            Ask::Resource {
                                verb: "patch",
                                kind: req.kind,
                                namespace: req.namespace,
                                name: Some(req.name),
                            },
                        )
                        .await;
                }
            },
        };
        let reply = self.overlay.patch(req, existing);
        if req.kind.plural == kinds::NODES.plural
            && reply.status().is_success()
            && let Some(after) = self.opts.daemonset_controller
        {
            let current = |kind: &'static ResourceKind| {
                let items = self
                    .bundle
                    .list(kind, &Scope::everywhere(kind))
                    .unwrap_or_default();
                self.overlay.list(kind, None, items)
            };
            self.overlay
                .evict_unselected(&current(&kinds::NODES), current(&kinds::PODS), after);
        }
        Ok(reply)
    }

    async fn version(&self) -> Result<Reply, Hangup> {
        match self.bundle.version() {
            Ok(v) => Ok(wire::json_reply(StatusCode::OK, &wire::version(&v))),
            Err(e) if e.is_absent() => Ok(wire::json_reply(
                StatusCode::OK,
                &wire::version(&wire::default_version()),
            )),
            Err(e) => self.failure(e, Ask::Path("/version")).await,
        }
    }

    /// Whether the server serves a kind: built-in kinds always; a custom resource when the fixture's CRD list
    /// names its CRD, when its CRD was applied through the server, or when the fixture says anything (objects or an error) about its whole-cluster list.
    fn installed(&self, kind: &ResourceKind) -> bool {
        if wire::is_built_in(kind) {
            return true;
        }
        self.crd(kind).is_some()
            || !matches!(self.bundle.list_shared(kind, &Scope::everywhere(kind)), Err(e) if e.is_absent())
    }

    /// The CustomResourceDefinition of a custom resource: applied through the server, else the fixture's.
    fn crd(&self, kind: &ResourceKind) -> Option<Value> {
        let name = kind.resource_key();
        if let Some(applied) =
            self.overlay
                .current(&kinds::CUSTOM_RESOURCE_DEFINITIONS, None, &name)
        {
            return applied;
        }
        self.bundle
            .list_shared(&kinds::CUSTOM_RESOURCE_DEFINITIONS, &Scope::Cluster)
            .ok()?
            .iter()
            .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str()))
            .cloned()
    }

    fn served(&self, group: &str, version: &str) -> Vec<&'static ResourceKind> {
        kinds::ALL
            .iter()
            .copied()
            .filter(|k| k.group == group && k.version == version && self.installed(k))
            .collect()
    }

    fn core_versions(&self) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.addr.to_string()}],
        })
    }

    /// Every named group with something served, in `kinds::ALL` order, then `authorization.k8s.io`.
    fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for k in kinds::ALL
            .iter()
            .copied()
            .filter(|k| !k.group.is_empty() && self.installed(k))
        {
            if !out.contains(&(k.group, k.version)) {
                out.push((k.group, k.version));
            }
        }
        out.push((AUTHZ_GROUP, AUTHZ_VERSION));
        out
    }

    fn group_entry(group: &str, versions: &[&str]) -> Value {
        let gv = |v: &str| json!({"groupVersion": format!("{group}/{v}"), "version": v});
        json!({
            "name": group,
            "versions": versions.iter().map(|v| gv(v)).collect::<Vec<_>>(),
            "preferredVersion": gv(versions[0]),
        })
    }

    fn groups(&self) -> Value {
        let mut names: Vec<&str> = Vec::new();
        let all = self.group_versions();
        for (group, _) in &all {
            if !names.contains(group) {
                names.push(group);
            }
        }
        let groups: Vec<Value> = names
            .iter()
            .map(|name| {
                let versions: Vec<&str> = all
                    .iter()
                    .filter(|(g, _)| g == name)
                    .map(|(_, v)| *v)
                    .collect();
                State::group_entry(name, &versions)
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn group(&self, group: &str) -> Option<Value> {
        let versions: Vec<&str> = self
            .group_versions()
            .into_iter()
            .filter(|(g, _)| *g == group)
            .map(|(_, v)| v)
            .collect();
        if versions.is_empty() {
            return None;
        }
        let mut body = State::group_entry(group, &versions);
        let fields = body.as_object_mut().expect("group_entry builds an object");
        fields.insert("kind".into(), "APIGroup".into());
        fields.insert("apiVersion".into(), "v1".into());
        Some(body)
    }

    /// `APIResourceList` for one group version, or None when nothing is served there.
    fn resources(&self, group: &str, version: &str) -> Option<Value> {
        let mut resources: Vec<Value> = self
            .served(group, version)
            .into_iter()
            .map(|k| {
                let crd = (!wire::is_built_in(k)).then(|| self.crd(k)).flatten();
                wire::discovery_entry(k, crd.as_ref().and_then(|c| c.pointer("/spec/names")))
            })
            .collect();
        if group == AUTHZ_GROUP && version == AUTHZ_VERSION {
            resources.push(json!({
                "name": ACCESS_REVIEWS,
                "singularName": "selfsubjectaccessreview",
                "namespaced": false,
                "kind": "SelfSubjectAccessReview",
                "verbs": ["create"],
            }));
        }
        if resources.is_empty() {
            return None;
        }
        Some(if group.is_empty() {
            json!({"kind": "APIResourceList", "groupVersion": version, "resources": resources})
        } else {
            json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": format!("{group}/{version}"),
                "resources": resources,
            })
        })
    }

    /// Whether this continue token is one of those to expire; counts it down.
    fn expire_a_continue_token(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.continue_tokens_to_expire
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    async fn list(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        params: &Params,
    ) -> Result<Reply, Hangup> {
        if let Some(message) = params.unsupported() {
            return Ok(wire::bad_request(&message));
        }
        let fields = match params.field_selector(kind) {
            Ok(fields) => fields,
            Err(message) => return Ok(wire::bad_request(&message)),
        };
        let page_size = match params.limit() {
            Ok(limit) => limit.map(|n| self.opts.page_size_cap.map_or(n, |cap| n.min(cap.max(1)))),
            Err(message) => return Ok(wire::bad_request(&message)),
        };
        let offset = match params.get("continue") {
            Some(token) => match wire::decode_continue(token) {
                Ok(offset) if self.expire_a_continue_token() => {
                    return Ok(wire::continue_expired(offset));
                }
                Ok(offset) => offset,
                Err(message) => return Ok(wire::bad_request(&message)),
            },
            None => 0,
        };
        let scope = match namespace {
            Some(ns) => Scope::Namespace(ns.to_string()),
            None => Scope::everywhere(kind),
        };
        let items = match self.bundle.list_shared(kind, &scope) {
            Ok(items) => items,
            Err(e) if e.is_absent() && self.installed(kind) => Arc::default(),
            Err(e) => {
                return self
                    .failure(
                        e,
                        Ask::Resource {
                            verb: "list",
                            kind,
                            namespace,
                            name: None,
                        },
                    )
                    .await;
            }
        };
        let selector = params.label_selector().unwrap_or_default();
        let created = self.store.list(kind, namespace, self.opts.pods.as_ref());
        let daemon_set_objects = self.created_by_daemon_sets(kind, namespace);
        let patched = self.overlay.touches(kind);
        if !patched
            && selector.is_empty()
            && fields.is_empty()
            && created.is_empty()
            && daemon_set_objects.is_empty()
        {
            // The fixture's list as it is: its pages are cut from items serialized once.
            return Ok(self.encoded.get(kind, &items).page(kind, offset, page_size));
        }
        // The shared list is copied only when patches changed its kind.
        let items = if patched {
            Arc::new(self.overlay.list(kind, namespace, items.as_ref().clone()))
        } else {
            items
        };
        let items: Vec<&Value> = items
            .iter()
            .chain(&created)
            .chain(&daemon_set_objects)
            .filter(|item| {
                selector.iter().all(|(k, v, eq)| {
                    let has = item["metadata"]["labels"][k.as_str()].as_str() == Some(v.as_str());
                    has == *eq
                }) && fields
                    .iter()
                    .all(|(pointer, v, eq)| (field_value(item, pointer) == *v) == *eq)
            })
            .collect();
        Ok(wire::json_reply(
            StatusCode::OK,
            &wire::list_page(kind, &items, offset, page_size),
        ))
    }

    async fn object(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Reply, Hangup> {
        if let Some(ns) = namespace
            && let Some(item) = self.store.get(kind, ns, name, self.opts.pods.as_ref())
        {
            return Ok(wire::json_reply(StatusCode::OK, &item));
        }
        if let (Some(ns), Some(script)) = (namespace, &self.opts.daemon_sets)
            && let Some(item) = self.daemon_sets.get(kind, ns, name, script)
        {
            return Ok(wire::json_reply(StatusCode::OK, &item));
        }
        match self.overlay.current(kind, namespace, name) {
            Some(Some(item)) => return Ok(wire::json_reply(StatusCode::OK, &item)),
            Some(None) => return Ok(wire::object_not_found(kind, name)),
            None => {}
        }
        match self.bundle.get(kind, namespace, name) {
            Ok(Some(item)) => Ok(wire::json_reply(StatusCode::OK, &wire::object(kind, item))),
            Ok(None) => Ok(wire::object_not_found(kind, name)),
            Err(e) if e.is_absent() && self.installed(kind) => {
                Ok(wire::object_not_found(kind, name))
            }
            Err(e) => {
                self.failure(
                    e,
                    Ask::Resource {
                        verb: "get",
                        kind,
                        namespace,
                        name: Some(name),
                    },
                )
                .await
            }
        }
    }

    /// A container's log from the fixture's `logs/` (see `Bundle::logs`), with the API server's answers for a
    /// missing pod, an ambiguous or unknown container, and a previous instance that never terminated.
    /// `sinceSeconds` is not applied: fixture logs carry no timestamps.
    async fn pod_log(&self, namespace: &str, name: &str, params: &Params) -> Result<Reply, Hangup> {
        let ask = Ask::Resource {
            verb: "get",
            kind: &kinds::PODS,
            namespace: Some(namespace),
            name: Some(name),
        };
        let pod = match self.bundle.get(&kinds::PODS, Some(namespace), name) {
            Ok(Some(pod)) => pod,
            Ok(None) => return Ok(wire::object_not_found(&kinds::PODS, name)),
            Err(e) if e.is_absent() => return Ok(wire::object_not_found(&kinds::PODS, name)),
            Err(e) => return self.failure(e, ask).await,
        };
        let containers: Vec<&str> = ["initContainers", "containers"]
            .iter()
            .filter_map(|list| {
                pod.pointer(&format!("/spec/{list}"))
                    .and_then(Value::as_array)
            })
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect();
        let container = match params.get("container") {
            Some(c) if containers.contains(&c) => c.to_string(),
            Some(c) => {
                return Ok(wire::bad_request(&format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            None => match pod.pointer("/spec/containers").and_then(Value::as_array) {
                Some(only) if only.len() == 1 => {
                    containers.last().copied().unwrap_or_default().to_string()
                }
                _ => {
                    return Ok(wire::bad_request(&format!(
                        "a container name must be specified for pod {name}, choose one of: [{}]",
                        containers.join(" ")
                    )));
                }
            },
        };
        let tail_lines = match params.get("tailLines").map(str::parse::<i64>) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(n),
            Some(_) => {
                return Ok(wire::bad_request(
                    "PodLogOptions \"\" is invalid: tailLines: Invalid value: must be greater than or equal to 0",
                ));
            }
        };
        let query = LogQuery {
            namespace: namespace.to_string(),
            pod: name.to_string(),
            container: container.clone(),
            previous: params.get("previous") == Some("true"),
            tail_lines,
            since_seconds: None,
        };
        match self.bundle.logs(&query) {
            Ok(text) => Ok(wire::text_reply(StatusCode::OK, &text)),
            Err(e) if e.is_absent() && query.previous => Ok(wire::bad_request(&format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))),
            Err(e) if e.is_absent() => Ok(wire::text_reply(StatusCode::OK, "")),
            Err(e) => self.failure(e, ask).await,
        }
    }

    async fn access_review(&self, body: &Bytes) -> Result<Reply, Hangup> {
        let review: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(wire::bad_request(&format!(
                    "couldn't get version/kind; json parse error: {e}"
                )));
            }
        };
        let spec = review.get("spec").cloned().unwrap_or_else(|| json!({}));
        let Some(attrs) = spec.get("resourceAttributes") else {
            let message = if spec.get("nonResourceAttributes").is_some() {
                "fixture-apiserver answers only resourceAttributes reviews; nonResourceAttributes are not supported"
            } else {
                "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"
            };
            return Ok(wire::status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                message,
                None,
            ));
        };
        let field = |name: &str| {
            attrs
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let question = AccessQuestion {
            verb: field("verb"),
            group: field("group"),
            resource: field("resource"),
            namespace: Some(field("namespace")).filter(|ns| !ns.is_empty()),
        };
        if let Some(policy) = &self.opts.rbac {
            let name = field("name");
            let request = ResourceRequest {
                verb: &question.verb,
                group: &question.group,
                resource: match field("subresource") {
                    sub if sub.is_empty() => question.resource.clone(),
                    sub => format!("{}/{sub}", question.resource),
                },
                namespace: question.namespace.as_deref(),
                name: Some(name.as_str()).filter(|n| !n.is_empty()),
            };
            let allowed = policy.allows(&request);
            let answer = AccessAnswer {
                allowed,
                reason: allowed.then(|| policy.allowed_reason()),
            };
            return Ok(wire::json_reply(
                StatusCode::CREATED,
                &wire::access_review(spec, &answer),
            ));
        }
        match self.bundle.access(&question) {
            Ok(answer) => Ok(wire::json_reply(
                StatusCode::CREATED,
                &wire::access_review(spec, &answer),
            )),
            Err(e) => self.failure(e, Ask::Path(ACCESS_REVIEWS)).await,
        }
    }

    /// The server's answer for a recorded error.
    async fn failure(&self, err: EvidenceError, ask: Ask<'_>) -> Result<Reply, Hangup> {
        Ok(match err {
            EvidenceError::Forbidden { message } => match ask {
                Ask::Resource {
                    verb,
                    kind,
                    namespace,
                    name,
                } => {
                    let message = if message.is_empty() {
                        wire::forbidden_message(verb, kind, namespace, name)
                    } else {
                        message
                    };
                    wire::status(
                        StatusCode::FORBIDDEN,
                        "Forbidden",
                        &message,
                        Some(wire::resource_details(kind, name)),
                    )
                }
                Ask::Path(path) => {
                    let message = if message.is_empty() {
                        format!(
                            "forbidden: User \"{}\" cannot get path \"{path}\"",
                            wire::USER
                        )
                    } else {
                        message
                    };
                    wire::status(
                        StatusCode::FORBIDDEN,
                        "Forbidden",
                        &message,
                        Some(json!({})),
                    )
                }
            },
            EvidenceError::Unauthorized { .. } => wire::unauthorized(),
            EvidenceError::NotFound { .. }
            | EvidenceError::NotCollected { .. }
            | EvidenceError::NotConfigured { .. } => wire::page_not_found(),
            EvidenceError::Timeout { .. } => {
                tokio::time::sleep(HANG).await;
                wire::gateway_timeout()
            }
            EvidenceError::Api {
                code,
                reason,
                message,
            } => {
                let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                wire::status(code, &reason, &message, Some(json!({})))
            }
            EvidenceError::Decode { what, message } => wire::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &format!("fixture-apiserver could not read {what}: {message}"),
                Some(json!({})),
            ),
            EvidenceError::Unreachable { message, .. } | EvidenceError::Probe { message, .. } => {
                return Err(Hangup(message));
            }
        })
    }
}

/// Query parameters, decoded.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>) -> Params {
        Params(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The last non-empty value of a parameter.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: None when absent or 0 (no limit, as on the real server).
    fn limit(&self) -> Result<Option<usize>, String> {
        match self.get("limit") {
            None => Ok(None),
            Some(text) => match text.parse::<usize>() {
                Ok(0) => Ok(None),
                Ok(n) => Ok(Some(n)),
                Err(e) => Err(format!("limit: Invalid value: \"{text}\": {e}")),
            },
        }
    }

    /// An equality-based `labelSelector` (`k=v`, `k==v`, `k!=v`, comma-separated) as (key, value, equal);
    /// set-based selectors are refused rather than answered wrongly.
    fn label_selector(&self) -> Result<Vec<SelectorTerm>, String> {
        equality_terms(self.get("labelSelector"), "labelSelector")
    }

    /// A `fieldSelector` as (where the field sits in an object, value, equal), each field one the real
    /// server selects `kind` by; any other is the real server's 400 message.
    fn field_selector(
        &self,
        kind: &ResourceKind,
    ) -> Result<Vec<(&'static str, String, bool)>, String> {
        equality_terms(self.get("fieldSelector"), "fieldSelector")?
            .into_iter()
            .map(|(field, value, eq)| match field_pointer(kind, &field) {
                Some(pointer) => Ok((pointer, value, eq)),
                None => Err(unsupported_field_message(kind, &field)),
            })
            .collect()
    }

    /// Why this list cannot be answered faithfully, if it asks for something the fixture server does not do.
    fn unsupported(&self) -> Option<String> {
        if let Err(message) = self.label_selector() {
            return Some(message);
        }
        matches!(self.get("watch"), Some("true" | "1"))
            .then(|| "fixture-apiserver does not serve watches: list instead".to_string())
    }
}

/// One term of a label or field selector: key, value, and whether it asks for equality.
type SelectorTerm = (String, String, bool);

/// The terms of an equality-based selector (`k=v`, `k==v`, `k!=v`, comma-separated); set-based terms are
/// refused rather than answered wrongly.
fn equality_terms(selector: Option<&str>, what: &str) -> Result<Vec<SelectorTerm>, String> {
    let Some(sel) = selector.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    sel.split(',')
        .map(|term| {
            let term = term.trim();
            let refused = || {
                format!(
                    "fixture-apiserver implements only equality-based {what} terms, not {term:?}"
                )
            };
            let (k, v, eq) = if let Some((k, v)) = term.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, v, true)
            } else {
                return Err(refused());
            };
            if k.contains(' ') || v.contains(' ') || v.contains('(') {
                return Err(refused());
            }
            Ok((k.trim().to_string(), v.trim().to_string(), eq))
        })
        .collect()
}

/// Where a field the real server selects `kind` by sits in the object: every kind by `metadata.name` and
/// `metadata.namespace`, and some by more (the field label conversions of kube-apiserver's core/v1).
fn field_pointer(kind: &ResourceKind, field: &str) -> Option<&'static str> {
    let common = match field {
        "metadata.name" => Some("/metadata/name"),
        "metadata.namespace" => Some("/metadata/namespace"),
        _ => None,
    };
    let specific = match (kind.group, kind.kind, field) {
        ("", "Pod", "spec.nodeName") => Some("/spec/nodeName"),
        ("", "Pod", "spec.restartPolicy") => Some("/spec/restartPolicy"),
        ("", "Pod", "spec.schedulerName") => Some("/spec/schedulerName"),
        ("", "Pod", "spec.serviceAccountName") => Some("/spec/serviceAccountName"),
        ("", "Pod", "spec.hostNetwork") => Some("/spec/hostNetwork"),
        ("", "Pod", "status.phase") => Some("/status/phase"),
        ("", "Pod", "status.podIP") => Some("/status/podIP"),
        ("", "Pod", "status.nominatedNodeName") => Some("/status/nominatedNodeName"),
        ("", "Node", "spec.unschedulable") => Some("/spec/unschedulable"),
        ("", "Namespace", "status.phase") => Some("/status/phase"),
        ("", "Secret", "type") => Some("/type"),
        ("", "Event", "involvedObject.kind") => Some("/involvedObject/kind"),
        ("", "Event", "involvedObject.namespace") => Some("/involvedObject/namespace"),
        ("", "Event", "involvedObject.name") => Some("/involvedObject/name"),
        ("", "Event", "involvedObject.uid") => Some("/involvedObject/uid"),
        ("", "Event", "reason") => Some("/reason"),
        ("", "Event", "type") => Some("/type"),
        _ => None,
    };
    common.or(specific)
}

/// The real server's 400 message for a field it cannot select `kind` by: core/v1 kinds with their own
/// conversion say `field label not supported`, every other kind the generic message.
fn unsupported_field_message(kind: &ResourceKind, field: &str) -> String {
    match (kind.group, kind.kind) {
        ("", "Pod" | "Node" | "Namespace" | "Secret" | "Event") => {
            format!("field label not supported: {field}")
        }
        _ => format!(
            "{field:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        ),
    }
}

/// An object's value of a selectable field as the server compares it: a string, or a bool or number as
/// text, and "" when the field is absent (so `spec.nodeName=` selects unscheduled pods).
fn field_value(item: &Value, pointer: &str) -> String {
    match item.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}
