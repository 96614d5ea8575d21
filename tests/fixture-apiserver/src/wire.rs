//! The bodies a kube-apiserver writes, shaped after the recordings in
//! `shared/reference/kube-apiserver-wire/`: `Status` errors, `<Kind>List` pages with continue tokens, single
//! objects, `SelfSubjectAccessReview` answers and `/version`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use mcp_doctor_checks::evidence::{AccessAnswer, ResourceKind, ServerVersion};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};

pub(crate) type Reply = Response<Full<Bytes>>;

/// The user named in synthesized `Forbidden` messages.
pub(crate) const USER: &str = "fixture-user";

/// The `/version` answered when the fixture records none: a real server always answers it.
pub(crate) const DEFAULT_GIT_VERSION: &str = "v1.32.0";

/// The groups a bare kube-apiserver serves without any CRD; every other group belongs to a CRD.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "networking.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
];

pub(crate) fn is_built_in(kind: &ResourceKind) -> bool {
    BUILT_IN_GROUPS.contains(&kind.group)
}

/// A resource's entry in an `APIResourceList`, as kube-apiserver lists it: every verb the resource supports
/// whoever asks (RBAC does not narrow discovery), with its short names and categories. Those of a built-in
/// kind are the server's own; a custom resource's come from its CRD's `spec.names` (`crd_names`).
pub(crate) fn discovery_entry(kind: &ResourceKind, crd_names: Option<&Value>) -> Value {
    const BUILT_IN_VERBS: &[&str] = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    // A namespace is deleted one at a time (its finalizer empties it first).
    const NAMESPACE_VERBS: &[&str] = &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    // The apiextensions server's order.
    const CUSTOM_VERBS: &[&str] = &[
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "create",
        "update",
        "watch",
    ];
    let (verbs, short_names, categories): (&[&str], Vec<Value>, Vec<Value>) = if is_built_in(kind) {
        let short: &[&str] = match kind.plural {
            "nodes" => &["no"],
            "namespaces" => &["ns"],
            "pods" => &["po"],
            "services" => &["svc"],
            "configmaps" => &["cm"],
            "events" => &["ev"],
            "persistentvolumeclaims" => &["pvc"],
            "deployments" => &["deploy"],
            "daemonsets" => &["ds"],
            "statefulsets" => &["sts"],
            "storageclasses" => &["sc"],
            "ingresses" => &["ing"],
            "customresourcedefinitions" => &["crd", "crds"],
            _ => &[],
        };
        let all = matches!(
            kind.plural,
            "pods" | "services" | "deployments" | "daemonsets" | "statefulsets"
        );
        let verbs = if kind.plural == "namespaces" {
            NAMESPACE_VERBS
        } else {
            BUILT_IN_VERBS
        };
        (
            verbs,
            short.iter().map(|s| json!(s)).collect(),
            if all { vec![json!("all")] } else { Vec::new() },
        )
    } else {
        let names = |field: &str| {
            crd_names
                .and_then(|n| n.get(field))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        (CUSTOM_VERBS, names("shortNames"), names("categories"))
    };
    let mut entry = json!({
        "name": kind.plural,
        "singularName": kind.kind.to_lowercase(),
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": verbs,
    });
    if !short_names.is_empty() {
        entry["shortNames"] = Value::Array(short_names);
    }
    if !categories.is_empty() {
        entry["categories"] = Value::Array(categories);
    }
    entry
}

pub(crate) fn json_reply(code: StatusCode, body: &Value) -> Reply {
    let mut bytes = serde_json::to_vec(body).expect("a serde_json::Value always serializes");
    bytes.push(b'\n');
    bytes_reply(code, Bytes::from(bytes))
}

/// A JSON body already serialized (with its trailing newline).
fn bytes_reply(code: StatusCode, bytes: Bytes) -> Reply {
    let mut reply = Response::new(Full::new(bytes));
    *reply.status_mut() = code;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    reply
}

/// A plain-text body, as a pod's log is served.
pub(crate) fn text_reply(code: StatusCode, text: &str) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(text.to_string())));
    *reply.status_mut() = code;
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    reply
}

/// Go's `http.NotFound`: what the server says for a path it does not route, e.g. a CRD that is not installed.
pub(crate) fn page_not_found() -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *reply.status_mut() = StatusCode::NOT_FOUND;
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    reply
}

/// A `Status` failure body; `details` is left out when None, as the server does for e.g. `BadRequest`.
pub(crate) fn status(
    code: StatusCode,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Reply {
    let mut body = Map::new();
    body.insert("kind".into(), "Status".into());
    body.insert("apiVersion".into(), "v1".into());
    body.insert("metadata".into(), json!({}));
    body.insert("status".into(), "Failure".into());
    body.insert("message".into(), message.into());
    body.insert("reason".into(), reason.into());
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    body.insert("code".into(), code.as_u16().into());
    json_reply(code, &Value::Object(body))
}

pub(crate) fn unauthorized() -> Reply {
    status(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Unauthorized",
        None,
    )
}

pub(crate) fn bad_request(message: &str) -> Reply {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, None)
}

pub(crate) fn method_not_allowed() -> Reply {
    status(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

pub(crate) fn gateway_timeout() -> Reply {
    status(
        StatusCode::GATEWAY_TIMEOUT,
        "Timeout",
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
        Some(json!({})),
    )
}

/// `details` of a resource error: `{name?, group?, kind: <plural>}`.
pub(crate) fn resource_details(kind: &ResourceKind, name: Option<&str>) -> Value {
    let mut details = Map::new();
    if let Some(name) = name {
        details.insert("name".into(), name.into());
    }
    if !kind.group.is_empty() {
        details.insert("group".into(), kind.group.into());
    }
    details.insert("kind".into(), kind.plural.into());
    Value::Object(details)
}

/// `details` of a 403 for a request the RBAC policy denied: as [`resource_details`], the subresource left out.
pub(crate) fn request_details(req: &crate::rbac::ResourceRequest<'_>) -> Value {
    let mut details = Map::new();
    if let Some(name) = req.name {
        details.insert("name".into(), name.into());
    }
    if !req.group.is_empty() {
        details.insert("group".into(), req.group.into());
    }
    let plural = req.resource.split('/').next().unwrap_or_default();
    details.insert("kind".into(), plural.into());
    Value::Object(details)
}

/// `pods "web-1" not found` / `deployments.apps "web" not found`.
pub(crate) fn object_not_found(kind: &ResourceKind, name: &str) -> Reply {
    let message = format!("{} \"{name}\" not found", kind.resource_key());
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &message,
        Some(resource_details(kind, Some(name))),
    )
}

/// The RBAC sentence for a denied resource request, in the server's wording.
pub(crate) fn forbidden_message(
    verb: &str,
    kind: &ResourceKind,
    namespace: Option<&str>,
    name: Option<&str>,
) -> String {
    let subject = match name {
        Some(name) => format!("{} \"{name}\"", kind.resource_key()),
        None => kind.resource_key(),
    };
    let place = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!(
        "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{}\" in API group \"{}\" {place}",
        kind.plural, kind.group
    )
}

/// A single object as `GET .../<plural>/<name>` returns it: `kind` and `apiVersion` first.
pub(crate) fn object(kind: &ResourceKind, item: Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), kind.kind.into());
    out.insert("apiVersion".into(), kind.api_version().into());
    if let Value::Object(fields) = item {
        for (key, value) in fields {
            if key != "kind" && key != "apiVersion" {
                out.insert(key, value);
            }
        }
    }
    Value::Object(out)
}

/// Items as a list carries them: built-in kinds without `kind`/`apiVersion` (the server strips them), custom
/// resources with them (served as unstructured objects, they keep them).
fn list_item(kind: &ResourceKind, item: Value) -> Value {
    if is_built_in(kind) {
        match item {
            Value::Object(mut fields) => {
                fields.remove("kind");
                fields.remove("apiVersion");
                Value::Object(fields)
            }
            other => other,
        }
    } else {
        object(kind, item)
    }
}

/// The list's `metadata.resourceVersion`: the newest object's, as etcd's revision is at least that.
fn list_resource_version<'a>(items: impl IntoIterator<Item = &'a Value>) -> u64 {
    items
        .into_iter()
        .filter_map(|o| {
            o.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(1)
}

/// What a continue token encodes: the real server's fields (`v`, `rv`), with an offset in place of its etcd
/// key. `rv` is -1 in the token of an expired list's answer: continuing with it reads the latest revision.
#[derive(Debug, Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    offset: usize,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

pub(crate) fn encode_continue(rv: u64, offset: usize) -> String {
    continue_token(rv.try_into().unwrap_or(i64::MAX), offset)
}

/// The 410 `Expired` Status kube-apiserver answers for a continue token whose revision etcd has compacted
/// away (`apierrors.NewResourceExpired` in the storage layer), carrying a token that continues from the
/// same place without the consistency guarantee.
pub(crate) fn continue_expired(offset: usize) -> Reply {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"continue": continue_token(-1, offset)},
        "status": "Failure",
        "message": "The provided continue parameter is too old to display a consistent list result. You can \
            start a new list without the continue parameter, or use the continue token in this response to \
            retrieve the remainder of the results. Continuing with the provided token results in an \
            inconsistent list - objects that were created, modified, or deleted between the time the first \
            chunk was returned and now may show up in the list.",
        "reason": "Expired",
        "code": 410,
    });
    json_reply(StatusCode::GONE, &body)
}

fn continue_token(rv: i64, offset: usize) -> String {
    let token = ContinueToken {
        v: TOKEN_VERSION.into(),
        rv,
        offset,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("a continue token always serializes"))
}

/// The offset a continue token points at, or the message of the server's 400 `BadRequest`.
pub(crate) fn decode_continue(token: &str) -> Result<usize, String> {
    let invalid = |why: String| format!("invalid continue token: continue key is not valid: {why}");
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => {
                invalid(format!("illegal base64 data at input byte {at}"))
            }
            other => invalid(other.to_string()),
        })?;
    let token: ContinueToken =
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if token.v != TOKEN_VERSION {
        return Err("invalid continue token: server does not recognize this encoded key".into());
    }
    Ok(token.offset)
}

/// One page of a list: `items[offset..offset+page_size]`, with `continue`/`remainingItemCount` when more follow.
/// Only the page's items are copied, so paging through a big list costs each item once.
pub(crate) fn list_page(
    kind: &ResourceKind,
    items: &[&Value],
    offset: usize,
    page_size: Option<usize>,
) -> Value {
    let (start, end) = page_bounds(items.len(), offset, page_size);
    let mut page = list_envelope(
        kind,
        list_resource_version(items.iter().copied()),
        end,
        items.len(),
    );
    page["items"] = items[start..end]
        .iter()
        .map(|o| list_item(kind, (*o).clone()))
        .collect();
    page
}

/// A list's items as they appear in its pages, each serialized once, so a page is the concatenation of the
/// bytes of its items: what makes a big list cheap to page through many times (`bench/scale.sh`).
pub(crate) struct EncodedList {
    items: Vec<Bytes>,
    rv: u64,
}

impl EncodedList {
    pub(crate) fn new(kind: &ResourceKind, items: &[Value]) -> EncodedList {
        EncodedList {
            items: items
                .iter()
                .map(|o| {
                    Bytes::from(
                        serde_json::to_vec(&list_item(kind, o.clone()))
                            .expect("a serde_json::Value always serializes"),
                    )
                })
                .collect(),
            rv: list_resource_version(items),
        }
    }

    /// The same bytes [`list_page`] and [`json_reply`] write for this page.
    pub(crate) fn page(
        &self,
        kind: &ResourceKind,
        offset: usize,
        page_size: Option<usize>,
    ) -> Reply {
        let total = self.items.len();
        let (start, end) = page_bounds(total, offset, page_size);
        let envelope = serde_json::to_vec(&list_envelope(kind, self.rv, end, total))
            .expect("a serde_json::Value always serializes");
        // The envelope ends with its empty `"items":[]}`: the page's items go between the brackets.
        let head = envelope
            .strip_suffix(b"]}")
            .expect("a list envelope ends with its items");
        let size: usize = self.items[start..end].iter().map(|i| i.len() + 1).sum();
        let mut body = Vec::with_capacity(head.len() + size + 3);
        body.extend_from_slice(head);
        for (i, item) in self.items[start..end].iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"]}\n");
        bytes_reply(StatusCode::OK, Bytes::from(body))
    }
}

/// The encoded form of each shared list served so far, found by the list's address (the list is held here
/// too, so that address is never reused).
#[derive(Default)]
pub(crate) struct EncodedLists(Mutex<Vec<EncodedEntry>>);

struct EncodedEntry {
    kind: &'static ResourceKind,
    source: Arc<Vec<Value>>,
    encoded: Arc<EncodedList>,
}

impl EncodedLists {
    pub(crate) fn get(
        &self,
        kind: &'static ResourceKind,
        items: &Arc<Vec<Value>>,
    ) -> Arc<EncodedList> {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = held
            .iter()
            .find(|e| std::ptr::eq(e.kind, kind) && Arc::ptr_eq(&e.source, items))
        {
            return Arc::clone(&entry.encoded);
        }
        let encoded = Arc::new(EncodedList::new(kind, items));
        if items.is_empty() {
            // An absent list is a new empty one each time: nothing worth holding.
            return encoded;
        }
        held.push(EncodedEntry {
            kind,
            source: Arc::clone(items),
            encoded: Arc::clone(&encoded),
        });
        encoded
    }
}

fn page_bounds(total: usize, offset: usize, page_size: Option<usize>) -> (usize, usize) {
    let start = offset.min(total);
    let end = page_size.map_or(total, |n| start.saturating_add(n).min(total));
    (start, end)
}

/// A list without its items (an empty `items`, last): kind, apiVersion and the list metadata of the page
/// that ends at `end` of `total` items.
fn list_envelope(kind: &ResourceKind, rv: u64, end: usize, total: usize) -> Value {
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), rv.to_string().into());
    if end < total {
        metadata.insert("continue".into(), encode_continue(rv, end).into());
        metadata.insert("remainingItemCount".into(), (total - end).into());
    } else if !is_built_in(kind) {
        // Custom resource lists always carry the field, empty on the last page (widgets-cr-list.json).
        metadata.insert("continue".into(), "".into());
    }
    json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": kind.api_version(),
        "metadata": metadata,
        "items": [],
    })
}

/// `/version`, with the fields the fixture cannot hold filled in plausibly.
pub(crate) fn version(v: &ServerVersion) -> Value {
    let platform = if v.platform.is_empty() {
        "linux/amd64"
    } else {
        v.platform.as_str()
    };
    json!({
        "major": v.major,
        "minor": v.minor,
        "gitVersion": v.git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.5",
        "compiler": "gc",
        "platform": platform,
    })
}

pub(crate) fn default_version() -> ServerVersion {
    ServerVersion {
        major: "1".into(),
        minor: "32".into(),
        git_version: DEFAULT_GIT_VERSION.into(),
        platform: "linux/amd64".into(),
    }
}

/// The `SelfSubjectAccessReview` the server returns: the asked spec echoed, and the verdict.
pub(crate) fn access_review(spec: Value, answer: &AccessAnswer) -> Value {
    json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": answer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_doctor_checks::evidence::kinds;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_continue(212, 2);
        assert_eq!(decode_continue(&token), Ok(2));
        let err = decode_continue("not-a-token").unwrap_err();
        assert!(
            err.starts_with("invalid continue token: continue key is not valid: "),
            "{err}"
        );
        assert!(
            decode_continue("!!!")
                .unwrap_err()
                .contains("illegal base64 data at input byte 0")
        );
    }

    /// An expired token's answer is kube-apiserver's: 410 `Expired` with the storage layer's message, and a
    /// token (rv -1) that continues where the expired one pointed.
    #[test]
    fn an_expired_continue_token_gets_the_servers_410() {
        use http_body_util::BodyExt;
        let reply = continue_expired(4);
        assert_eq!(reply.status(), StatusCode::GONE);
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(reply.into_body().collect())
            .unwrap()
            .to_bytes();
        let status: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "Expired");
        assert_eq!(status["code"], 410);
        assert!(
            status["message"].as_str().unwrap().starts_with(
                "The provided continue parameter is too old to display a consistent list result. You \
                 can start a new list without the continue parameter, or use the continue token"
            ),
            "{status}"
        );
        let token = status["metadata"]["continue"].as_str().unwrap();
        assert_eq!(decode_continue(token), Ok(4));
        let decoded: ContinueToken =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap();
        assert_eq!(decoded.rv, -1);
    }

    #[test]
    fn pages_carry_continue_and_remaining_count_until_the_last() {
        let items: Vec<Value> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"kind": "Node", "metadata": {"name": n, "resourceVersion": (200 + i).to_string()}}))
            .collect();
        let items: Vec<&Value> = items.iter().collect();
        let first = list_page(&kinds::NODES, &items, 0, Some(2));
        assert_eq!(first["kind"], "NodeList");
        assert_eq!(first["apiVersion"], "v1");
        assert_eq!(first["metadata"]["resourceVersion"], "202");
        assert_eq!(first["metadata"]["remainingItemCount"], 1);
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        assert!(
            first["items"][0].get("kind").is_none(),
            "built-in list items lose kind"
        );
        let offset = decode_continue(first["metadata"]["continue"].as_str().unwrap()).unwrap();
        let last = list_page(&kinds::NODES, &items, offset, Some(2));
        assert_eq!(last["items"][0]["metadata"]["name"], "c");
        assert!(last["metadata"].get("continue").is_none());
        assert!(last["metadata"].get("remainingItemCount").is_none());
    }

    /// The pages cut from items serialized once are byte for byte what serializing the page would write,
    /// for built-in and custom kinds, every page of a paged list and an unpaged one, and an empty list.
    #[test]
    fn encoded_pages_are_the_bytes_of_the_serialized_page() {
        async fn body(reply: Reply) -> Vec<u8> {
            use http_body_util::BodyExt;
            reply
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec()
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let items: Vec<Value> = (0..5)
            .map(|i| json!({"kind": "Node", "apiVersion": "v1", "metadata": {"name": format!("n{i}"), "resourceVersion": (300 - i).to_string(), "labels": {"k": "v\"\u{e9}"}}}))
            .collect();
        let refs: Vec<&Value> = items.iter().collect();
        for kind in [&kinds::NODES, &kinds::MCP_SERVERS] {
            for list in [&items[..], &[]] {
                let refs = &refs[..list.len()];
                let encoded = EncodedList::new(kind, list);
                for (offset, page_size) in [
                    (0, Some(2)),
                    (2, Some(2)),
                    (4, Some(2)),
                    (0, None),
                    (9, Some(2)),
                ] {
                    let cut = runtime.block_on(body(encoded.page(kind, offset, page_size)));
                    let serialized = runtime.block_on(body(json_reply(
                        StatusCode::OK,
                        &list_page(kind, refs, offset, page_size),
                    )));
                    assert_eq!(
                        String::from_utf8(cut).unwrap(),
                        String::from_utf8(serialized).unwrap(),
                        "{} offset {offset} page {page_size:?} of {}",
                        kind.kind,
                        list.len()
                    );
                }
            }
        }
    }

    #[test]
    fn custom_resource_lists_keep_kind_and_an_empty_continue() {
        let list = list_page(
            &kinds::MCP_SERVERS,
            &[&json!({"metadata": {"name": "s"}})],
            0,
            None,
        );
        assert_eq!(list["kind"], "MCPServerList");
        assert_eq!(list["items"][0]["apiVersion"], "mcpruntime.org/v1alpha1");
        assert_eq!(list["items"][0]["kind"], "MCPServer");
        assert_eq!(list["metadata"]["continue"], "");
    }

    #[test]
    fn forbidden_wording_matches_the_server() {
        assert_eq!(
            forbidden_message("list", &kinds::NODES, None, None),
            "nodes is forbidden: User \"fixture-user\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        assert_eq!(
            forbidden_message("get", &kinds::DEPLOYMENTS, Some("demo"), Some("web")),
            "deployments.apps \"web\" is forbidden: User \"fixture-user\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"demo\""
        );
    }
}
