//! An HTTPS server that answers from a fixture directory the way a real kube-apiserver does, so tests drive
//! the tool's real kube-rs client (kubeconfig, TLS, bearer token, paging, error decoding) without a cluster.
//!
//! What a fixture holds is decided by [`mcp_doctor_checks::evidence::replay::Bundle`], the same code that
//! replays bundles, so a fixture means the same thing live and replayed. The wire format follows the
//! recordings in `shared/reference/kube-apiserver-wire/`:
//!
//! - `GET /version`: the fixture's version, or `v1.32.0` when it holds none (a real server always answers).
//! - Legacy discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`) built from
//!   [`kinds::ALL`](mcp_doctor_checks::evidence::kinds::ALL) with the real server's verbs, short names and
//!   categories (a custom resource's from its CRD, in the fixture or applied through the server), plus
//!   `selfsubjectaccessreviews`. Aggregated discovery (v2) is not served; clients fall back, as with 1.26.
//! - Lists (`/api/v1/<plural>`, `.../namespaces/<ns>/<plural>`, `/apis/<g>/<v>/...`) as `<Kind>List` with
//!   `limit`/`continue` paging. Built-in items lose `kind`/`apiVersion` as in the server's lists; custom
//!   resources keep them. A garbled continue token is a 400 `BadRequest`; with
//!   `expire_continue_tokens`, valid ones get the 410 `Expired` of a compacted revision. Equality-based `labelSelector`s
//!   and `fieldSelector`s (`k=v`, `k!=v`) filter the items, fields being those the real server selects by
//!   (`metadata.name`/`namespace`, and e.g. a pod's `spec.nodeName` and `status.phase`; any other is its
//!   400); set-based selectors and `watch` are refused with a 400, rather than answered wrongly.
//! - Single objects (`.../<plural>/<name>`), or a 404 `NotFound` Status.
//! - `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, answered by `Bundle::access` (201).
//! - Recorded errors: `forbidden` → 403 (an empty message gets the server's wording for user
//!   `fixture-user`), `unauthorized` → 401, `timeout` → the request hangs (300 s, then 504),
//!   `api` → that code and reason, `unreachable` → the connection is closed without an answer, a broken
//!   fixture file → 500. Data not in the fixture: an empty list (or 404 Status for a get) for a kind the
//!   server serves, a plain-text `404 page not found` for a custom resource whose CRD is not installed. A
//!   custom resource counts as installed when the fixture's CRD list names its CRD or the fixture says
//!   anything about its whole-cluster list.
//! - Writes (`POST` to a namespaced collection, `DELETE` of an object) and `GET .../pods/<name>/log` when
//!   [`ServerOptions::pods`] scripts how created pods run (see [`probe`]); without it a write is the 403
//!   `Forbidden` a read-only user gets. Created objects are listed and got beside the fixture's.
//! - With [`ServerOptions::rbac`], the token is a ServiceAccount bound to a ClusterRole: a request the role
//!   does not allow is the 403 `Forbidden` Status for that user, and SelfSubjectAccessReviews answer from
//!   the role (see [`rbac`]).
//! - DaemonSets (`POST`, `DELETE`) when [`ServerOptions::daemon_sets`] scripts how the nodes run their pods:
//!   one pod per admitted node of the fixture, listed, got and logged beside the fixture's (see
//!   [`daemonset`]).
//! - `PATCH` of an object (merge, strategic merge for maps, server-side apply) when
//!   [`ServerOptions::patches`] allows it, else the 403 a read-only user gets; see [`patch`]. Patched and
//!   applied objects replace the fixture's in gets and lists, and [`FixtureServer::mutations`] lists what
//!   was sent.
//! - Every other path: plain-text `404 page not found`; other methods on known paths: 405.
//!
//! The server runs on its own thread and runtime, so it serves plain `#[test]`s (e.g. running the
//! `mcp-doctor` binary) as well as async ones, and is stopped, with every pending request, on drop.

mod api;
pub mod daemonset;
pub mod patch;
pub mod probe;
mod rbac;
mod tls;
mod wire;

pub use daemonset::{DaemonSetDeletion, DaemonSetScript};
pub use patch::Mutation;
pub use probe::PodScript;
pub use rbac::RbacPolicy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_doctor_checks::evidence::replay::Bundle;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// How the server behaves beyond what the fixture says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The bearer token the server accepts; any other, or none, gets the 401 `Unauthorized` Status. The
    /// generated kubeconfig carries it.
    pub token: String,
    /// A delay before every answer, to make a client's read timeout fire.
    pub latency: Option<Duration>,
    /// The largest page served when the client sends `limit`, to force continue tokens with a client that
    /// asks for big pages. Lists asked for without `limit` are answered whole, as the real server does.
    pub page_size_cap: Option<usize>,
    /// Accept writes, and run every created pod by this script; None: writes are forbidden.
    pub pods: Option<PodScript>,
    /// Authorize every request of the token as this ServiceAccount's ClusterRole allows (see [`rbac`]);
    /// None: everything the fixture holds is readable.
    pub rbac: Option<RbacPolicy>,
    /// Accept DaemonSets and run their pods on the fixture's nodes by this script (see [`daemonset`]);
    /// None: creating one is forbidden.
    pub daemon_sets: Option<DaemonSetScript>,
    /// Accept PATCH (merge, strategic merge, server-side apply); false: the 403 of a read-only user.
    pub patches: bool,
    /// After a node's labels change, delete the DaemonSet pods on it whose nodeSelector no longer matches,
    /// this long after the change (what the DaemonSet controller does); None: pods never move.
    pub daemonset_controller: Option<Duration>,
    /// Serve on this many threads; None: one, which is all a test needs.
    pub threads: Option<usize>,
    /// Answer this many requests that carry a continue token with the 410 `Expired` Status, as the real
    /// server does once etcd has compacted the revision the token points at (a list paged more slowly than
    /// the compaction interval, five minutes by default); 0: tokens never expire.
    pub expire_continue_tokens: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: "fixture-token".into(),
            latency: None,
            page_size_cap: None,
            pods: None,
            rbac: None,
            daemon_sets: None,
            patches: false,
            daemonset_controller: None,
            threads: None,
            expire_continue_tokens: 0,
        }
    }
}

/// One request as received, before it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogEntry {
    pub method: String,
    /// The URL path, still percent-encoded.
    pub path: String,
    /// The raw query string, without the `?`; kube-rs sends e.g. `&limit=500`.
    pub query: Option<String>,
}

/// One answered request: what was asked, when the answer was ready, its status and the size of its body.
/// Requests the server hung up on (recorded `unreachable`) are not answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub request: RequestLogEntry,
    /// Unix time in milliseconds.
    pub at_ms: u64,
    pub status: u16,
    pub bytes: u64,
}

/// A running fixture API server. Dropping it stops the server and deletes its kubeconfig and CA file.
pub struct FixtureServer {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    ca_cert: PathBuf,
    context: String,
    log: Arc<Mutex<Vec<RequestLogEntry>>>,
    forbidden: Arc<Mutex<Vec<RequestLogEntry>>>,
    answered: Arc<Mutex<Vec<Answered>>>,
    store: Arc<probe::Store>,
    daemon_sets: Arc<daemonset::DaemonSets>,
    overlay: Arc<patch::Overlay>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Holds `kubeconfig` and `ca.crt`; removed on drop.
    _dir: tempfile::TempDir,
}

impl FixtureServer {
    /// Serves `fixture_dir` on `127.0.0.1:<free port>` and writes a kubeconfig for it. The kubeconfig's context
    /// (and cluster and user) are named as the fixture's recorded target when it has one, else `fixture`
    /// (and `fixture` / `fixture-user`).
    pub fn start(fixture_dir: &Path, opts: ServerOptions) -> anyhow::Result<FixtureServer> {
        let bundle = Bundle::open(fixture_dir).map_err(anyhow::Error::msg)?;
        let identity = tls::identity()?;

        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let server = format!("https://{addr}");

        let target = bundle.target().unwrap_or_default();
        let names = tls::KubeconfigNames {
            context: target.context.unwrap_or_else(|| "fixture".into()),
            cluster: target.cluster.unwrap_or_else(|| "fixture".into()),
            user: target.user.unwrap_or_else(|| "fixture-user".into()),
        };

        let dir = tempfile::Builder::new()
            .prefix("fixture-apiserver-")
            .tempdir()?;
        let ca_cert = dir.path().join("ca.crt");
        std::fs::write(&ca_cert, &identity.ca_pem)
            .with_context(|| format!("writing {}", ca_cert.display()))?;
        let kubeconfig = dir.path().join("kubeconfig");
        let text = tls::kubeconfig(&names, &server, &ca_cert, &opts.token);
        std::fs::write(&kubeconfig, text)
            .with_context(|| format!("writing {}", kubeconfig.display()))?;
        // Credentials are kept private, as `chmod 0600` does for a real kubeconfig.
        std::fs::set_permissions(
            &kubeconfig,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;

        let runtime = match opts.threads {
            Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()?,
            _ => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        };
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let forbidden = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::new(probe::Store::default());
        let daemon_sets = Arc::new(daemonset::DaemonSets::default());
        let overlay = Arc::new(patch::Overlay::default());
        let state = Arc::new(api::State {
            bundle,
            continue_tokens_to_expire: AtomicUsize::new(opts.expire_continue_tokens),
            opts,
            addr,
            log: Arc::clone(&log),
            forbidden: Arc::clone(&forbidden),
            store: Arc::clone(&store),
            daemon_sets: Arc::clone(&daemon_sets),
            overlay: Arc::clone(&overlay),
            encoded: Default::default(),
        });
        let answered = Arc::new(Mutex::new(Vec::new()));
        let acceptor = TlsAcceptor::from(identity.server_config);
        let (shutdown, stopped) = oneshot::channel();
        let answers = Arc::clone(&answered);
        let thread = std::thread::Builder::new()
            .name(format!("fixture-apiserver-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async {
                    tokio::select! {
                        () = serve(listener, acceptor, state, answers) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels every connection task, including requests left hanging.
            })?;

        Ok(FixtureServer {
            addr,
            kubeconfig,
            ca_cert,
            context: names.context,
            log,
            forbidden,
            answered,
            store,
            daemon_sets,
            overlay,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The generated kubeconfig: one cluster, user and context, selected as `current-context`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The PEM CA certificate that signed the server's certificate, for tests that write their own kubeconfig.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert
    }

    /// The kubeconfig's context name.
    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl FixtureServer {
    /// Every request the RBAC policy ([`ServerOptions::rbac`]) denied with a 403, in arrival order.
    pub fn forbidden_requests(&self) -> Vec<RequestLogEntry> {
        self.forbidden
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every request answered so far, in the order the answers were ready: what a benchmark counts
    /// (requests and bytes served).
    pub fn answered(&self) -> Vec<Answered> {
        self.answered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// `plural/namespace/name` of every object created through the server and not deleted yet (a created
    /// DaemonSet's pods included).
    pub fn created(&self) -> Vec<String> {
        let mut names = self.store.names();
        names.extend(self.daemon_sets.names());
        names
    }

    /// Every DaemonSet created through the server, deleted or not, as it was stored (creation order).
    pub fn daemon_set_history(&self) -> Vec<serde_json::Value> {
        self.daemon_sets.history()
    }

    /// Every DaemonSet deletion received, in order.
    pub fn daemon_set_deletions(&self) -> Vec<DaemonSetDeletion> {
        self.daemon_sets.deletions()
    }

    /// Every PATCH received (merge, strategic merge, apply), with its body and the status answered, in order.
    pub fn mutations(&self) -> Vec<Mutation> {
        self.overlay.mutations()
    }

    /// Every object created through the server, deleted or not, as it was stored (creation order).
    pub fn created_history(&self) -> Vec<serde_json::Value> {
        self.store.history()
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // Err only when the server thread has already ended.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been printed; nothing more to report from a drop.
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<api::State>,
    answered: Arc<Mutex<Vec<Answered>>>,
) {
    loop {
        let Ok((tcp, _peer)) = listener.accept().await else {
            // Out of file descriptors or a connection reset before accept: try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        let answered = Arc::clone(&answered);
        tokio::spawn(async move {
            // A failed handshake (a client that does not trust the CA) leaves nothing to serve.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let state = Arc::clone(&state);
                let answered = Arc::clone(&answered);
                async move {
                    let request = RequestLogEntry {
                        method: req.method().to_string(),
                        path: req.uri().path().to_string(),
                        query: req.uri().query().map(str::to_string),
                    };
                    let reply = state.answer(req).await;
                    if let Ok(reply) = &reply {
                        let at_ms = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64);
                        answered
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(Answered {
                                request,
                                at_ms,
                                status: reply.status().as_u16(),
                                bytes: hyper::body::Body::size_hint(reply.body())
                                    .exact()
                                    .unwrap_or(0),
                            });
                    }
                    reply
                }
            });
            // Connection errors (client gone, recorded hang-up) end this connection only.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
