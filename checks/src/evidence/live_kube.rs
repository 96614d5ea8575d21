//! The live Kubernetes source: kube-rs over rustls, every list paginated (`limit=500` plus continue tokens)
//! and memoized per (kind, scope), every answer and error recorded in the journal.
//!
//! Cost on a big cluster is what shapes the list path: each (kind, scope) is requested once however many
//! checks ask (concurrent askers wait for the one request in flight), each page's objects are sanitized
//! and kept as compact JSON text, the one form held and shared by checks and journal alike (a `Value`
//! tree costs several times its text; `list_typed` decodes a check's types straight from the text), and at most
//! [`MAX_REQUESTS_IN_FLIGHT`] requests run at once so a run does not flood the API server.
//!
//! Errors are classified here, once: a 403 becomes [`EvidenceError::Forbidden`] with the API server's own
//! sentence, never an empty list; a connection failure says whether it was DNS, a refused port, a timeout or
//! TLS, so `cluster.api-reachable` can name the cause.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::journal::keys;
use super::redact::{self, Tally};
use super::{
    AccessAnswer, AccessQuestion, EvidenceError, HeldList, Journal, KubeSource, KubeTarget,
    LogQuery, ResourceKind, Scope, ServerVersion, UnreachableCause,
};

/// How to reach the API server.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, then `~/.kube/config`, then in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; otherwise the kubeconfig's current context.
    pub context: Option<String>,
    /// Upper bound for each request. Kept below the runner's per-check timeout so a hung server is recorded
    /// as a timeout in the journal rather than lost.
    pub request_timeout: Duration,
}

type Shared<T> = Arc<OnceCell<Result<T, EvidenceError>>>;

/// A list's objects as compact JSON text.
type JsonList = Arc<Vec<Box<str>>>;

/// Most requests one run has in flight at once (kubectl's and client-go's default QPS burst is 10).
pub const MAX_REQUESTS_IN_FLIGHT: usize = 8;

/// The page size of every list, as kubectl's `--chunk-size` default.
const PAGE_SIZE: u32 = 500;

/// The most one answer of the API server may hold: far above a page of 500 objects or any single object
/// (etcd stores at most 1.5 MiB per object), so only a server that is not what it claims reaches it, and
/// it cannot make a run hold an endless body in memory until the request's time limit.
const MAX_ANSWER_BYTES: usize = 512 << 20;

/// kube's client, with every answer's body capped at [`MAX_ANSWER_BYTES`]. An answer that declares a
/// larger `content-length` gets no allowance at all, so it fails at its first bytes rather than after
/// downloading the cap's worth of them.
fn bounded_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    let cap = tower::util::MapResponseLayer::new(|answer: http::Response<_>| {
        let declared_too_long = answer
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|length| length > MAX_ANSWER_BYTES as u64);
        let allowance = if declared_too_long {
            0
        } else {
            MAX_ANSWER_BYTES
        };
        answer.map(|body| http_body_util::Limited::new(body, allowance))
    });
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&cap)
        .build())
}

/// One page of a list as the API sends it, decoded without a detour through typed objects: the items stay
/// exactly as they came over the wire, as text until each is sanitized in turn (so a page is never held as
/// `Value`s all at once: a `Value` takes several times the bytes of its JSON).
#[derive(serde::Deserialize)]
struct ListPage {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Option<Vec<Box<serde_json::value::RawValue>>>,
}

#[derive(serde::Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Live API access with per-run memoization.
pub struct LiveKube {
    connection: Result<(kube::Client, KubeTarget), EvidenceError>,
    target: Result<KubeTarget, EvidenceError>,
    timeout: Duration,
    /// Requests go through an HTTP proxy, so a direct TCP probe of the server would not tell anything.
    proxied: bool,
    journal: Arc<Journal>,
    version: OnceCell<Result<ServerVersion, EvidenceError>>,
    /// Each list once, as compact JSON text per object ([`HeldList::Json`]).
    lists: Mutex<HashMap<String, Shared<JsonList>>>,
    gets: Mutex<HashMap<String, Shared<Option<Value>>>>,
    access: Mutex<HashMap<String, Shared<AccessAnswer>>>,
    /// Bounds the requests in flight ([`MAX_REQUESTS_IN_FLIGHT`]).
    in_flight: tokio::sync::Semaphore,
}

impl LiveKube {
    /// Loads the kubeconfig and builds a client. Never fails: a configuration problem is kept and returned
    /// by every request, so the checks report it.
    pub async fn connect(opts: &KubeOptions, journal: Arc<Journal>) -> LiveKube {
        let built = build_client(opts).await;
        let proxied = built.as_ref().is_ok_and(|(_, _, proxied)| *proxied);
        let connection = built.map(|(c, t, _)| (c, t));
        let target = connection
            .as_ref()
            .map(|(_, t)| t.clone())
            .map_err(Clone::clone);
        journal.record(keys::TARGET, &target);
        LiveKube {
            connection,
            target,
            timeout: opts.request_timeout,
            proxied,
            journal,
            version: OnceCell::new(),
            lists: Mutex::default(),
            gets: Mutex::default(),
            access: Mutex::default(),
            in_flight: tokio::sync::Semaphore::new(MAX_REQUESTS_IN_FLIGHT),
        }
    }

    /// The client and server URL, for the opt-in probes that create objects (`probe_objects`).
    pub fn client_handle(&self) -> Option<(kube::Client, String)> {
        self.connection
            .as_ref()
            .ok()
            .map(|(c, t)| (c.clone(), t.server.clone()))
    }

    fn client(&self) -> Result<(&kube::Client, &KubeTarget), EvidenceError> {
        self.connection
            .as_ref()
            .map(|(c, t)| (c, t))
            .map_err(Clone::clone)
    }

    /// Runs one request under the timeout and classifies its error.
    async fn call<T>(
        &self,
        what: String,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, EvidenceError> {
        let server = self
            .target
            .as_ref()
            .map(|t| t.server.clone())
            .unwrap_or_default();
        // Never closed, so acquiring only waits; the wait is not part of the request's time limit.
        let _permit = self.in_flight.acquire().await;
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if is_connect_timeout(&e) && !self.proxied => {
                Err(self.after_connect_timeout(&e, &server).await)
            }
            Ok(Err(e)) => Err(classify(&e, &server)),
            Err(_) => Err(EvidenceError::Timeout {
                what,
                secs: self.timeout.as_secs().max(1),
            }),
        }
    }

    /// The connect phase (TCP and TLS handshake) ran out of time, which alone does not tell a port that
    /// drops the connection attempt from one that accepts it and then never speaks TLS. A bounded TCP
    /// connect to the same address tells them apart; its result becomes part of the (journaled) error.
    async fn after_connect_timeout(&self, err: &kube::Error, server: &str) -> EvidenceError {
        let classified = classify(err, server);
        let Some(address) = server_address(server) else {
            return classified;
        };
        let connect = connect_timeout(self.timeout);
        let probe_limit = probe_timeout(self.timeout);
        let (cause, message) = match tcp_probe(&address, probe_limit).await {
            TcpProbe::Accepted => (
                UnreachableCause::Silent,
                format!(
                    "{address} accepts TCP connections, but sent no TLS handshake answer within {}",
                    secs(connect)
                ),
            ),
            TcpProbe::Refused(e) => (
                UnreachableCause::Refused,
                format!(
                    "no TLS handshake within {}; a new TCP connection to {address} was then refused ({e})",
                    secs(connect)
                ),
            ),
            TcpProbe::NoAnswer => (
                UnreachableCause::Timeout,
                format!(
                    "TCP connection to {address} not established within {} (a second attempt got no answer within {} either)",
                    secs(connect),
                    secs(probe_limit)
                ),
            ),
            TcpProbe::Failed(e) => {
                return EvidenceError::Unreachable {
                    cause: UnreachableCause::Timeout,
                    server: server.into(),
                    message: format!(
                        "{classified}; a TCP connection to {address} then failed: {e}"
                    ),
                };
            }
        };
        EvidenceError::Unreachable {
            cause,
            server: server.into(),
            message,
        }
    }
}

/// `1.8s`, `5s`.
fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// How long the connect phase (TCP plus TLS handshake) may take: well inside the request timeout, so a
/// connect-phase timeout is told from a response timeout and the TCP probe still fits in the request's time.
fn connect_timeout(request_timeout: Duration) -> Duration {
    (request_timeout * 3 / 4).min(Duration::from_secs(5))
}

/// How long the TCP probe after a connect-phase timeout may take.
fn probe_timeout(request_timeout: Duration) -> Duration {
    (request_timeout / 4).min(Duration::from_secs(3))
}

/// `host:port` of an API server URL (`https://127.0.0.1:6443` -> `127.0.0.1:6443`; default ports 443/80).
fn server_address(server: &str) -> Option<String> {
    let uri: http::Uri = server.parse().ok()?;
    let host = uri.host()?;
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("http") => 80,
        _ => 443,
    });
    Some(format!("{host}:{port}"))
}

/// What a plain TCP connect saw.
#[derive(Debug, PartialEq)]
enum TcpProbe {
    Accepted,
    Refused(String),
    NoAnswer,
    Failed(String),
}

async fn tcp_probe(address: &str, limit: Duration) -> TcpProbe {
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => TcpProbe::Accepted,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            TcpProbe::Refused(e.to_string())
        }
        Ok(Err(e)) => TcpProbe::Failed(e.to_string()),
        Err(_) => TcpProbe::NoAnswer,
    }
}

/// One memoized answer per key: concurrent callers share the single request in flight.
fn memo_cell<T>(map: &Mutex<HashMap<String, Shared<T>>>, key: &str) -> Shared<T> {
    map.lock()
        .expect("memo lock")
        .entry(key.to_string())
        .or_default()
        .clone()
}

#[async_trait]
impl KubeSource for LiveKube {
    async fn target(&self) -> Result<KubeTarget, EvidenceError> {
        self.target.clone()
    }

    async fn version(&self) -> Result<ServerVersion, EvidenceError> {
        self.version
            .get_or_init(|| async {
                let res = async {
                    let (client, t) = self.client()?;
                    let i = self
                        .call(format!("{} /version", t.server), client.apiserver_version())
                        .await?;
                    // kube-rs fills absent fields with defaults: a Status or any other object sent with
                    // 200 would read as a version of nothing, and the API would count as reachable.
                    if i.git_version.is_empty() {
                        return Err(EvidenceError::Decode {
                            what: format!("{} /version", t.server),
                            message: "the answer holds no gitVersion: not a Kubernetes API server's version"
                                .into(),
                        });
                    }
                    Ok(ServerVersion {
                        major: i.major,
                        minor: i.minor,
                        git_version: i.git_version,
                        platform: i.platform,
                    })
                }
                .await;
                self.journal.record(keys::VERSION, &res);
                res
            })
            .await
            .clone()
    }

    async fn list(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Value>>, EvidenceError> {
        self.list_held(kind, scope)
            .await?
            .values()
            .map_err(|e| EvidenceError::Decode {
                what: format!("list {} in {}", kind.resource_key(), scope),
                message: e.to_string(),
            })
    }

    async fn list_held(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<HeldList, EvidenceError> {
        let key = keys::list(kind, scope);
        let cell = memo_cell(&self.lists, &key);
        cell.get_or_init(|| async {
            let mut tally = Tally::default();
            let res = async {
                self.answering().await?;
                let (client, _) = self.client()?;
                let mut listed = self.list_all_pages(client, kind, scope, &mut tally).await;
                if is_expired(&listed) {
                    // etcd compacted away the revision of the list's continue token (a list paged more
                    // slowly than the compaction interval, five minutes by default): start over once from
                    // the first page, for one consistent snapshot, as client-go's pager does. What the
                    // first attempt redacted is not counted.
                    tally = Tally::default();
                    listed = self
                        .list_all_pages(client, kind, scope, &mut tally)
                        .await
                        .map_err(|mut e| {
                            if let EvidenceError::Api {
                                code: 410, message, ..
                            } = &mut e
                            {
                                message.push_str(
                                    " (the list was started over once and expired again before its \
                                     last page: the API server compacts faster than it answers the \
                                     pages)",
                                );
                            }
                            e
                        });
                }
                listed.map(Arc::new)
            }
            .await;
            self.journal.record_list_json(kind, scope, &res);
            self.journal
                .record_redactions(&keys::objects_file(kind, scope), &tally);
            res
        })
        .await
        .clone()
        .map(HeldList::Json)
    }

    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        let key = keys::get(kind, namespace, name);
        let cell = memo_cell(&self.gets, &key);
        cell.get_or_init(|| async {
            let res = async {
                self.answering().await?;
                let (client, _) = self.client()?;
                let api = dynamic_api(client, kind, namespace);
                let what = format!("get {} {}", kind.resource_key(), name);
                let found = self.call(what, api.get_opt(name)).await?;
                Ok(found.map(|o| {
                    let mut obj = to_value(o);
                    let tally = sanitize(kind, &mut obj);
                    self.journal
                        .record_redactions(&format!("evidence/{key}.json"), &tally);
                    obj
                }))
            }
            .await;
            self.journal.record(&key, &res);
            res
        })
        .await
        .clone()
    }

    async fn logs(&self, q: &LogQuery) -> Result<String, EvidenceError> {
        let res = self.fetch_log(q).await;
        self.journal.record_log(q, &res);
        res
    }

    async fn access(&self, q: &AccessQuestion) -> Result<AccessAnswer, EvidenceError> {
        let key = keys::access(q);
        let cell = memo_cell(&self.access, &key);
        cell.get_or_init(|| async {
            let res = async {
                self.answering().await?;
                let (client, _) = self.client()?;
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(ResourceAttributes {
                            verb: Some(q.verb.clone()),
                            group: Some(q.group.clone()),
                            resource: Some(q.resource.clone()),
                            namespace: q.namespace.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
                let answered = self
                    .call(
                        format!("access review {q}"),
                        api.create(&PostParams::default(), &review),
                    )
                    .await?;
                let status = answered.status.unwrap_or_default();
                Ok(AccessAnswer {
                    allowed: status.allowed,
                    reason: status.reason.filter(|s| !s.is_empty()),
                })
            }
            .await;
            self.journal.record(&key, &res);
            res
        })
        .await
        .clone()
    }
}

impl LiveKube {
    /// Every request first waits for the server's first answer (`/version`, asked once per run). When none
    /// came in time, or the server cannot be reached, the request fails at once with that error instead of
    /// waiting out a time limit of its own: a hung API server costs a run one timeout, not one for each
    /// request a check makes after another (a remediation's distribution lookup after a DNS timeout, say).
    async fn answering(&self) -> Result<(), EvidenceError> {
        match self.version().await {
            Err(e @ (EvidenceError::Timeout { .. } | EvidenceError::Unreachable { .. })) => Err(e),
            _ => Ok(()),
        }
    }

    async fn fetch_log(&self, q: &LogQuery) -> Result<String, EvidenceError> {
        self.answering().await?;
        let (client, _) = self.client()?;
        let api: Api<Pod> = Api::namespaced(client.clone(), &q.namespace);
        let params = LogParams {
            container: Some(q.container.clone()),
            previous: q.previous,
            tail_lines: q.tail_lines,
            since_seconds: q.since_seconds,
            ..Default::default()
        };
        let raw = self.call(q.to_string(), api.logs(&q.pod, &params)).await?;
        let mut tally = Tally::default();
        let text = redact::text(&raw, &mut tally);
        self.journal.record_redactions(&keys::log_file(q), &tally);
        Ok(text)
    }

    async fn list_all_pages(
        &self,
        client: &kube::Client,
        kind: &'static ResourceKind,
        scope: &Scope,
        tally: &mut Tally,
    ) -> Result<Vec<Box<str>>, EvidenceError> {
        let path = kind.list_path(scope);
        let mut params = ListParams::default().limit(PAGE_SIZE);
        let mut items = Vec::new();
        // A page is sanitized on a blocking thread while the next one is fetched, so the server's work and
        // the transfer overlap with this side's decoding; at most one page waits to be sanitized.
        let mut sanitizing: Option<tokio::task::JoinHandle<SanitizedPage>> = None;
        loop {
            let what = format!("list {} in {}", kind.resource_key(), scope);
            let request = kube::core::Request::new(&path).list(&params).map_err(|e| {
                EvidenceError::Decode {
                    what: what.clone(),
                    message: e.to_string(),
                }
            })?;
            let page: ListPage = self.call(what.clone(), client.request(request)).await?;
            if let Some(previous) = sanitizing.take() {
                items.extend(joined(previous.await, &what, tally)?);
            }
            let raw = page.items.unwrap_or_default();
            let page_what = what.clone();
            sanitizing = Some(tokio::task::spawn_blocking(move || {
                sanitize_page(kind, raw, &page_what)
            }));
            match page.metadata.continue_token {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => {
                    if let Some(last) = sanitizing.take() {
                        items.extend(joined(last.await, &what, tally)?);
                    }
                    break;
                }
            }
        }
        Ok(items)
    }
}

/// Whether a list ended on the 410 `Expired` a continue token gets once its revision is compacted away.
fn is_expired<T>(listed: &Result<T, EvidenceError>) -> bool {
    matches!(listed, Err(EvidenceError::Api { code: 410, .. }))
}

/// A page's items sanitized and held as compact JSON, with what was redacted.
type SanitizedPage = Result<(Vec<Box<str>>, Tally), EvidenceError>;

fn sanitize_page(
    kind: &'static ResourceKind,
    raw: Vec<Box<serde_json::value::RawValue>>,
    what: &str,
) -> SanitizedPage {
    let mut tally = Tally::default();
    let mut items = Vec::with_capacity(raw.len());
    for item in raw {
        let mut obj: Value =
            serde_json::from_str(item.get()).map_err(|e| EvidenceError::Decode {
                what: what.to_string(),
                message: e.to_string(),
            })?;
        tally.merge(&sanitize(kind, &mut obj));
        items.push(obj.to_string().into_boxed_str());
    }
    Ok((items, tally))
}

/// The items of a page sanitized on its thread; its tally merged into the list's.
fn joined(
    page: Result<SanitizedPage, tokio::task::JoinError>,
    what: &str,
    tally: &mut Tally,
) -> Result<Vec<Box<str>>, EvidenceError> {
    let (items, page_tally) = page.map_err(|e| EvidenceError::Decode {
        what: what.to_string(),
        message: format!("sanitizing the page failed: {e}"),
    })??;
    tally.merge(&page_tally);
    Ok(items)
}

fn dynamic_api(
    client: &kube::Client,
    kind: &ResourceKind,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    let ar = ApiResource {
        group: kind.group.into(),
        version: kind.version.into(),
        api_version: kind.api_version(),
        kind: kind.kind.into(),
        plural: kind.plural.into(),
    };
    match namespace {
        Some(ns) if kind.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

fn to_value(o: impl Serialize) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// What every check sees of an object, live and replayed alike: no `managedFields` (noise), and the object
/// redacted by [`redact::object`] (Secrets reduced to their keys plus public certificates, secret env
/// values hashed, ...), so nothing secret reaches a check, a journal or a bundle. Returns what was redacted.
pub fn sanitize(kind: &ResourceKind, obj: &mut Value) -> Tally {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    redact::object(kind, obj)
}

/// The client, the target it talks to, and whether it goes through an HTTP proxy.
type Built = (kube::Client, KubeTarget, bool);

async fn build_client(opts: &KubeOptions) -> Result<Built, EvidenceError> {
    let bad = |message: String| EvidenceError::Unreachable {
        cause: UnreachableCause::BadKubeconfig,
        server: String::new(),
        message,
    };
    let (kubeconfig, path) = match load_kubeconfig(opts)? {
        Some(found) => found,
        None => return in_cluster(opts),
    };
    let shown = path.display().to_string();
    let context_name = opts
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let Some(context_name) = context_name else {
        return Err(bad(format!(
            "kubeconfig {shown} has no current-context; pass --context NAME"
        )));
    };
    let Some(ctx) = kubeconfig.contexts.iter().find(|c| c.name == context_name) else {
        let names: Vec<_> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(bad(format!(
            "context {context_name:?} is not in kubeconfig {shown} (it has: {})",
            names.join(", ")
        )));
    };
    let cluster_name = ctx.context.as_ref().map(|c| c.cluster.clone());
    let user = ctx.context.as_ref().and_then(|c| c.user.clone());
    let server = cluster_name
        .as_ref()
        .and_then(|n| kubeconfig.clusters.iter().find(|c| &c.name == n))
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    let target = KubeTarget {
        kubeconfig: Some(shown.clone()),
        kubeconfig_mode: std::fs::metadata(&path).ok().map(|m| m.mode() & 0o7777),
        context: Some(context_name.clone()),
        cluster: cluster_name,
        user,
        server,
        in_cluster: false,
    };
    check_named_files(
        &kubeconfig,
        target.cluster.as_deref(),
        target.user.as_deref(),
    )
    .map_err(|e| bad(format!("kubeconfig {shown} cannot be used: {e}")))?;
    let options = KubeConfigOptions {
        context: Some(context_name),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| bad(format!("kubeconfig {shown} cannot be used: {e}")))?;
    tune(&mut config, opts);
    let proxied = config.proxy_url.is_some();
    // Building the client runs an `exec` credential plugin, synchronously: bound it like a request.
    let limit = opts.request_timeout;
    let building = tokio::task::spawn_blocking(move || bounded_client(config));
    let client = match tokio::time::timeout(limit, building).await {
        Ok(Ok(Ok(client))) => client,
        Ok(Ok(Err(e))) => return Err(bad(format!("kubeconfig {shown} cannot be used: {e}"))),
        Ok(Err(e)) => return Err(bad(format!("kubeconfig {shown} cannot be used: {e}"))),
        Err(_) => {
            return Err(bad(format!(
                "kubeconfig {shown} cannot be used: its credential plugin (exec) did not finish within {}",
                secs(limit)
            )));
        }
    };
    Ok((client, target, proxied))
}

/// The largest kubeconfig read: real ones are kilobytes, and the parser holds the whole text in memory.
const MAX_KUBECONFIG_BYTES: u64 = 16 << 20;

/// Reads one kubeconfig file through kube-rs, after refusing what would hurt it: more than
/// [`MAX_KUBECONFIG_BYTES`] (`/dev/zero` never ends), and a UTF-16 byte order mark followed by an odd number
/// of bytes (kube-rs indexes past the end of such a file and panics). Also the fuzzing entry point.
pub fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, String> {
    use std::io::Read;
    let shown = path.display();
    let cannot = |e: &dyn std::fmt::Display| format!("cannot read kubeconfig {shown}: {e}");
    let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
    let regular = file.metadata().map_err(|e| cannot(&e))?.is_file();
    let mut bytes = Vec::new();
    file.take(MAX_KUBECONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > MAX_KUBECONFIG_BYTES {
        return Err(format!(
            "kubeconfig {shown} is larger than {} MiB: a kubeconfig is a few kilobytes, is this the right file?",
            MAX_KUBECONFIG_BYTES >> 20
        ));
    }
    if matches!(bytes.as_slice(), [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) && bytes.len() % 2 == 1 {
        return Err(format!(
            "kubeconfig {shown} starts with a UTF-16 byte order mark but has an odd number of bytes: it is truncated"
        ));
    }
    let parsed = if regular {
        // kube-rs reads it again, to resolve relative certificate and token paths against its folder.
        Kubeconfig::read_from(path)
    } else {
        // A pipe (`--kubeconfig <(...)`) cannot be read twice.
        let text = String::from_utf8(bytes).map_err(|_| cannot(&"not UTF-8 text"))?;
        Kubeconfig::from_yaml(&text)
    };
    parsed.map_err(|e| cannot(&e))
}

/// The largest certificate, key or token file a kubeconfig may name.
const MAX_NAMED_FILE_BYTES: u64 = 1 << 20;

/// kube-rs reads the files a kubeconfig names (CA, client certificate and key, token file) whole: anything
/// but a regular file of sane size is refused first (`tokenFile: /dev/zero` never ends). A missing file is
/// left to kube-rs, which names it.
fn check_named_files(
    kubeconfig: &Kubeconfig,
    cluster: Option<&str>,
    user: Option<&str>,
) -> Result<(), String> {
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| Some(c.name.as_str()) == cluster)
        .and_then(|c| c.cluster.as_ref());
    let auth = kubeconfig
        .auth_infos
        .iter()
        .find(|a| Some(a.name.as_str()) == user)
        .and_then(|a| a.auth_info.as_ref());
    let named = [
        (
            "certificate-authority",
            cluster.and_then(|c| c.certificate_authority.as_deref()),
        ),
        (
            "client-certificate",
            auth.and_then(|a| a.client_certificate.as_deref()),
        ),
        ("client-key", auth.and_then(|a| a.client_key.as_deref())),
        ("tokenFile", auth.and_then(|a| a.token_file.as_deref())),
    ];
    for (field, path) in named {
        let Some(path) = path else { continue };
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => {
                return Err(format!("its {field} {path} is not a regular file"));
            }
            Ok(m) if m.len() > MAX_NAMED_FILE_BYTES => {
                return Err(format!(
                    "its {field} {path} is larger than {} MiB",
                    MAX_NAMED_FILE_BYTES >> 20
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Finds the kubeconfig to use: the flag, then `KUBECONFIG` (merged as kubectl does), then `~/.kube/config`.
fn load_kubeconfig(opts: &KubeOptions) -> Result<Option<(Kubeconfig, PathBuf)>, EvidenceError> {
    let bad = |message: String| EvidenceError::Unreachable {
        cause: UnreachableCause::BadKubeconfig,
        server: String::new(),
        message,
    };
    let read = |p: &Path| read_kubeconfig(p).map_err(bad);
    if let Some(p) = &opts.kubeconfig {
        if !p.exists() {
            return Err(EvidenceError::Unreachable {
                cause: UnreachableCause::NoKubeconfig,
                server: String::new(),
                message: format!("kubeconfig {} does not exist", p.display()),
            });
        }
        return read(p).map(|k| Some((k, p.clone())));
    }
    if let Some(env) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        // As kubectl (client-go's loading rules): files that do not exist are skipped, the rest are merged
        // in order, the first to set a value or a named entry winning (kube's `Kubeconfig::merge`), each file
        // read as --kubeconfig reads it. `Kubeconfig::from_env` would refuse the whole list over one missing
        // file.
        let existing: Vec<PathBuf> = std::env::split_paths(&env)
            .filter(|p| !p.as_os_str().is_empty() && p.exists())
            .collect();
        return match existing.first() {
            Some(first) => existing
                .iter()
                .try_fold(Kubeconfig::default(), |merged, p| {
                    merged.merge(read_kubeconfig(p)?).map_err(|e| e.to_string())
                })
                .map_err(|e| {
                    bad(format!(
                        "cannot read KUBECONFIG={}: {e}",
                        env.to_string_lossy()
                    ))
                })
                .map(|k| Some((k, first.clone()))),
            None => Err(EvidenceError::Unreachable {
                cause: UnreachableCause::NoKubeconfig,
                server: String::new(),
                message: format!(
                    "KUBECONFIG={} names no existing file",
                    env.to_string_lossy()
                ),
            }),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.map(|h| h.join(".kube/config")).filter(|p| p.exists()) {
        Some(p) => read(&p).map(|k| Some((k, p))),
        None => Ok(None),
    }
}

fn in_cluster(opts: &KubeOptions) -> Result<Built, EvidenceError> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
        return Err(EvidenceError::Unreachable {
            cause: UnreachableCause::NoKubeconfig,
            server: String::new(),
            message: "no kubeconfig: --kubeconfig not given, KUBECONFIG unset, ~/.kube/config missing, and not running in a pod".into(),
        });
    }
    let fail = |e: String| EvidenceError::Unreachable {
        cause: UnreachableCause::BadKubeconfig,
        server: String::new(),
        message: e,
    };
    let mut config = kube::Config::incluster()
        .map_err(|e| fail(format!("in-cluster config cannot be used: {e}")))?;
    tune(&mut config, opts);
    let server = config.cluster_url.to_string();
    let proxied = config.proxy_url.is_some();
    let client = bounded_client(config)
        .map_err(|e| fail(format!("in-cluster config cannot be used: {e}")))?;
    Ok((
        client,
        KubeTarget {
            server,
            in_cluster: true,
            ..Default::default()
        },
        proxied,
    ))
}

/// A diagnostics tool must not retry or wait forever: set explicit timeouts and no automatic retries.
///
/// Reads and writes are bounded a margin beyond `request_timeout`, as a backstop only: a server that
/// accepted the connection and then stays silent must end in [`LiveKube::call`]'s timeout
/// (`EvidenceError::Timeout`: it hung), never in kube's own "connection error: timed out", which classifies
/// as `Unreachable { Timeout }` (nothing answers there). With equal bounds the two timers raced, and a hung
/// API server on 127.0.0.1 was now and then diagnosed as a copied k3s kubeconfig.
fn tune(config: &mut kube::Config, opts: &KubeOptions) {
    config.connect_timeout = Some(connect_timeout(opts.request_timeout));
    config.read_timeout = Some(opts.request_timeout + Duration::from_secs(2));
    config.write_timeout = Some(opts.request_timeout + Duration::from_secs(2));
    config.default_retry = false;
}

/// Classifies a kube error into an evidence error.
pub fn classify(err: &kube::Error, server: &str) -> EvidenceError {
    if let kube::Error::Api(status) = err {
        let message = status.message.clone();
        return match status.code {
            403 => EvidenceError::Forbidden { message },
            401 => EvidenceError::Unauthorized { message },
            404 => EvidenceError::NotFound { message },
            code => EvidenceError::Api {
                code,
                reason: status.reason.clone(),
                message,
            },
        };
    }
    if let kube::Error::SerdeError(e) = err {
        return EvidenceError::Decode {
            what: server.into(),
            message: e.to_string(),
        };
    }
    if find_in_chain::<http_body_util::LengthLimitError>(err).is_some() {
        return EvidenceError::Decode {
            what: server.into(),
            message: format!(
                "the answer is larger than {} MiB, more than a Kubernetes API server sends for one page or \
                 object; is {server} an API server?",
                MAX_ANSWER_BYTES >> 20
            ),
        };
    }
    let chain = error_chain(err);
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    let connect_phase = lower.contains("client error (connect)");
    let cause = if let Some(tls) = find_in_chain::<rustls::Error>(err) {
        match tls {
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                UnreachableCause::Tls
            }
            // The peer answered, but not with TLS (plain HTTP, another protocol) or not one we share.
            other => {
                return EvidenceError::Unreachable {
                    cause: UnreachableCause::TlsProtocol,
                    server: server.into(),
                    message: other.to_string(),
                };
            }
        }
    } else if lower.contains("invalid peer certificate") || lower.contains("certificate") {
        UnreachableCause::Tls
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        UnreachableCause::Dns
    } else if lower.contains("connection refused") {
        UnreachableCause::Refused
    } else if lower.contains("tls handshake eof")
        || (connect_phase && lower.contains("connection reset"))
    {
        // The peer accepted the TCP connection and closed or reset it before the TLS handshake finished.
        return EvidenceError::Unreachable {
            cause: UnreachableCause::TlsProtocol,
            server: server.into(),
            message: format!(
                "closed during the TLS handshake: {}",
                chain.last().map(String::as_str).unwrap_or("eof")
            ),
        };
    } else if lower.contains("timed out") || lower.contains("elapsed") || lower.contains("deadline")
    {
        UnreachableCause::Timeout
    } else {
        UnreachableCause::Other
    };
    EvidenceError::Unreachable {
        cause,
        server: server.into(),
        message: text,
    }
}

/// Whether the request failed because the connect phase (TCP connect plus TLS handshake, which kube's
/// connector times together) ran out of time: hyper-timeout reports that as an `io::Error` of kind
/// `TimedOut` wrapping tokio's `Elapsed`, while a response that never comes times out without it.
pub fn is_connect_timeout(err: &kube::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut
                && io
                    .get_ref()
                    .is_some_and(|i| i.is::<tokio::time::error::Elapsed>())
            {
                return true;
            }
            cur = io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static));
        } else {
            cur = e.source();
        }
    }
    false
}

/// The messages of an error and its causes, deduplicated (kube's Display already repeats its source).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        if !out.iter().any(|m| m.contains(&msg)) {
            out.push(msg);
        }
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The first error of type `E` in the chain; rustls errors hide inside io::Error payloads, which `source()`
/// skips.
fn find_in_chain<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_address_names_host_and_port() {
        assert_eq!(
            server_address("https://127.0.0.1:6443").as_deref(),
            Some("127.0.0.1:6443")
        );
        assert_eq!(
            server_address("https://cp.example.test").as_deref(),
            Some("cp.example.test:443")
        );
        assert_eq!(
            server_address("https://[::1]:6443").as_deref(),
            Some("[::1]:6443")
        );
        assert_eq!(server_address(""), None);
    }

    /// The connect phase ends early enough for the TCP probe to fit in the request's time.
    #[test]
    fn connect_phase_and_probe_fit_in_the_request_timeout() {
        for ms in [500, 1600, 2400, 12_000, 60_000] {
            let request = Duration::from_millis(ms);
            assert!(connect_timeout(request) < request, "{ms}");
            assert!(
                connect_timeout(request) + probe_timeout(request) <= request,
                "{ms}"
            );
        }
        assert_eq!(secs(Duration::from_millis(1800)), "1.8s");
        assert_eq!(secs(Duration::from_secs(5)), "5s");
    }

    #[tokio::test]
    async fn tcp_probe_tells_accepted_from_refused() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = open.local_addr().unwrap().to_string();
        assert_eq!(
            tcp_probe(&address, Duration::from_secs(2)).await,
            TcpProbe::Accepted
        );
        drop(open);
        assert!(matches!(
            tcp_probe(&address, Duration::from_secs(2)).await,
            TcpProbe::Refused(_)
        ));
    }

    #[test]
    fn docker_configs_keep_only_their_registry_hosts() {
        use crate::evidence::redact::registry_hosts_only;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let config = r#"{"auths":{"registry.example.com":{"username":"robot","password":"s3cret","auth":"cm9ib3Q6czNjcmV0"},"https://index.docker.io/v1/":{"auth":"eDp5"}}}"#;
        let legacy = r#"{"ghcr.io":{"auth":"eDp5","email":"a@b"}}"#;
        let mut reduced = serde_json::json!({
            "metadata": {"name": "pull", "namespace": "mcp-runtime"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {
                ".dockerconfigjson": b64.encode(config),
                ".dockercfg": b64.encode(legacy),
                "token": b64.encode("s3cret"),
            }
        });
        sanitize(&crate::evidence::kinds::SECRETS, &mut reduced);
        let text = reduced.to_string();
        let decode = |k: &str| {
            let v = reduced["data"][k].as_str().unwrap();
            String::from_utf8(b64.decode(v).unwrap()).unwrap()
        };
        assert_eq!(
            decode(".dockerconfigjson"),
            r#"{"auths":{"registry.example.com":{},"https://index.docker.io/v1/":{}}}"#
        );
        assert_eq!(decode(".dockercfg"), r#"{"ghcr.io":{}}"#);
        assert!(decode("token").starts_with("<redacted sha256:"));
        for leaked in ["robot", "s3cret", "cm9ib3Q6czNjcmV0", "eDp5"] {
            assert!(!text.contains(leaked) && !decode(".dockerconfigjson").contains(leaked));
        }
        assert_eq!(registry_hosts_only(".dockerconfigjson", "not base64!"), "");
        assert_eq!(
            registry_hosts_only(".dockerconfigjson", &b64.encode("{\"x\":1}")),
            ""
        );
    }
}
