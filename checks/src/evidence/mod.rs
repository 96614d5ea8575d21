//! The evidence layer: every fact a check uses comes through one of these sources, either live or replayed
//! from a bundle. Live sources record every answer (errors included) into a [`Journal`], which `--record`
//! writes out in the bundle layout; the replay source answers from such a bundle and reports
//! `not collected` for anything it does not hold.
//!
//! The traits and their types hold no I/O, so checks and fixtures stay testable without a network.

pub mod archive;
pub mod bundle;
pub mod compare;
pub mod error;
pub mod host;
pub mod journal;
pub mod kinds;
pub mod live_dns;
pub mod live_host;
pub mod live_http;
pub mod live_kube;
pub mod live_tls;
pub mod probe_objects;
pub mod redact;
pub mod replay;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::{EvidenceError, ProbeFailure, UnreachableCause};
pub use host::HostFacts;
pub use journal::Journal;
pub use kinds::{ResourceKind, Scope};

/// Which kubeconfig, context and server a run talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KubeTarget {
    /// The kubeconfig file read; None when in-cluster config was used.
    pub kubeconfig: Option<String>,
    /// Permission bits of that file (e.g. 0o644), when it could be stat'ed.
    pub kubeconfig_mode: Option<u32>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: String,
    pub in_cluster: bool,
}

/// The `/version` answer (field names as the API writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    #[serde(default)]
    pub platform: String,
}

impl ServerVersion {
    /// (major, minor) parsed from `gitVersion` (`v1.32.13+k3s1`), which, unlike `minor`, never carries a `+`.
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        parse_major_minor(&self.git_version)
    }
}

/// Parses `v1.32.13+k3s1` or `v1.32.13` into (1, 32).
pub fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '+', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// One SelfSubjectAccessReview question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessQuestion {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
}

impl AccessQuestion {
    pub fn list(kind: &ResourceKind, scope: &Scope) -> Self {
        AccessQuestion {
            verb: "list".into(),
            group: kind.group.into(),
            resource: kind.plural.into(),
            namespace: scope.namespace().map(str::to_string),
        }
    }
}

impl AccessQuestion {
    /// The resource in kubectl's naming (`pods`, `deployments.apps`), as [`ResourceKind::resource_key`].
    pub fn resource_key(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

impl std::fmt::Display for AccessQuestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let res = self.resource_key();
        match &self.namespace {
            Some(ns) => write!(f, "{} {} in namespace {}", self.verb, res, ns),
            None => write!(f, "{} {} at the cluster scope", self.verb, res),
        }
    }
}

/// The answer to an [`AccessQuestion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAnswer {
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One container's log, as `GET /api/v1/namespaces/<ns>/pods/<pod>/log?container=..&tailLines=..` asks it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogQuery {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The container instance before its last restart (`previous=true`).
    pub previous: bool,
    /// Only the last N lines (`tailLines`).
    pub tail_lines: Option<i64>,
    /// Only lines newer than this many seconds (`sinceSeconds`).
    pub since_seconds: Option<i64>,
}

impl std::fmt::Display for LogQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous = if self.previous { " (previous)" } else { "" };
        write!(
            f,
            "log of container {} of pod {}/{}{previous}",
            self.container, self.namespace, self.pod
        )
    }
}

/// The Kubernetes API, live or replayed.
#[async_trait]
pub trait KubeSource: Send + Sync {
    /// The kubeconfig/context/server in use (or why none could be loaded).
    async fn target(&self) -> Result<KubeTarget, EvidenceError>;
    /// `GET /version`.
    async fn version(&self) -> Result<ServerVersion, EvidenceError>;
    /// Every object of a kind in a scope, all pages merged. Live sources list each (kind, scope) at most once
    /// per run.
    async fn list(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Value>>, EvidenceError>;
    /// The same list in the form the source holds it, so [`list_typed`] decodes each object straight from it.
    /// Sources that hold `Value`s need not implement it.
    async fn list_held(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<HeldList, EvidenceError> {
        self.list(kind, scope).await.map(HeldList::Values)
    }
    /// One object; `Ok(None)` when it does not exist.
    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError>;
    /// A SelfSubjectAccessReview.
    async fn access(&self, question: &AccessQuestion) -> Result<AccessAnswer, EvidenceError>;
    /// A container's log, redacted (`redact::text`). Only bundles collect logs; no check reads them.
    async fn logs(&self, query: &LogQuery) -> Result<String, EvidenceError> {
        Err(EvidenceError::NotCollected {
            what: query.to_string(),
        })
    }
}

/// A list as its source holds it.
#[derive(Debug, Clone)]
pub enum HeldList {
    /// Decoded objects (replay: the bundle's List files).
    Values(Arc<Vec<Value>>),
    /// Each object as compact JSON text (live: a fraction of the memory of `Value`s, and decoded into a
    /// check's types without an intermediate tree).
    Json(Arc<Vec<Box<str>>>),
}

/// A DNS question: a name and record type, to the system resolver or a chosen server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DnsQuery {
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `CAA`, `TXT`.
    pub record_type: String,
    /// `ip[:port]` of a server to ask directly; None = the system resolver (including /etc/hosts).
    pub server: Option<String>,
}

/// A DNS answer: the response code and the records' data as text.
///
/// `NOERROR` with no records is NODATA (the name exists, not with this type). A server that does not
/// answer is not an answer: it is an [`EvidenceError::Timeout`] (or `Unreachable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DnsAnswer {
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...
    pub rcode: String,
    /// The data of the records of the asked type, as text: addresses for A/AAAA
    /// (`203.0.113.10`, `2001:db8::10`), the target for CNAME, `flags tag "value"` for CAA
    /// (`0 issue "letsencrypt.org"`).
    pub records: Vec<String>,
    /// The CNAME targets followed from the asked name to the records, in order (empty when the name
    /// has no CNAME). A chain whose last target has no records is a dangling CNAME.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
}

impl DnsAnswer {
    /// The name the records belong to: the last CNAME target, or the asked name.
    pub fn canonical_name<'a>(&'a self, asked: &'a str) -> &'a str {
        self.cname_chain.last().map(String::as_str).unwrap_or(asked)
    }
}

/// An HTTP probe: never follows redirects itself, so a check sees every hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpProbe {
    pub method: String,
    pub url: String,
    /// Connect to this IP address instead of resolving the URL's host; the Host header (and SNI) stay the
    /// URL's host and the port stays the URL's port.
    pub connect_to: Option<String>,
    /// Request headers. None of them is journaled; a credential header ([`is_credential_header`]) is
    /// named in the journal key, its value never is.
    pub headers: Vec<(String, String)>,
}

/// Headers that carry a secret (an API key, a token, a cookie).
pub fn is_credential_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "cookie",
    ]
    .iter()
    .any(|c| name.eq_ignore_ascii_case(c))
}

/// What an HTTP probe saw; the body is capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub body_truncated: bool,
    pub remote_addr: Option<String>,
}

/// A TLS handshake with SNI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsProbe {
    pub address: String,
    pub server_name: String,
    /// Extra trust anchors in PEM (e.g. `--ca-file`); the system roots are always used.
    pub extra_ca_pem: Option<String>,
}

/// What a TLS handshake saw: the peer chain even when it does not verify, and the verification verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsAnswer {
    /// DER certificates in base64, leaf first.
    pub chain_der_base64: Vec<String>,
    /// None when the chain verified; otherwise why not (`unknown-issuer`, `expired`, `name-mismatch`, ...).
    pub verify_error: Option<String>,
    pub protocol: Option<String>,
    /// The verifier's own sentence when the chain did not verify (rustls wording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_detail: Option<String>,
    /// The ALPN protocol the server picked (`h2`, `http/1.1`), when it picked one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The address actually connected to (`203.0.113.10:443`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
}

#[async_trait]
pub trait DnsSource: Send + Sync {
    async fn resolve(&self, query: &DnsQuery) -> Result<DnsAnswer, EvidenceError>;
}

#[async_trait]
pub trait HttpSource: Send + Sync {
    async fn fetch(&self, probe: &HttpProbe) -> Result<HttpAnswer, EvidenceError>;
}

#[async_trait]
pub trait TlsSource: Send + Sync {
    async fn handshake(&self, probe: &TlsProbe) -> Result<TlsAnswer, EvidenceError>;

    /// The moment certificates are judged at, in Unix seconds: a live run journals the first time it is
    /// asked, and a replay answers with that recorded time, so a bundle's expiry verdicts do not drift.
    async fn now(&self) -> i64 {
        unix_now()
    }
}

/// The system clock in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Node-local facts, from `--host-root`, `host-facts` JSON files, or a bundle's `host/`.
#[async_trait]
pub trait HostSource: Send + Sync {
    /// Facts per node name.
    async fn nodes(&self) -> Result<Arc<BTreeMap<String, HostFacts>>, EvidenceError>;
    /// The node whose facts describe the machine mcp-doctor ran on: the host root's node, or the facts file
    /// named like this machine; `Ok(None)` when none of the facts is this machine.
    async fn local_node(&self) -> Result<Option<String>, EvidenceError>;
}

/// The sources a run reads from.
#[derive(Clone)]
pub struct Evidence {
    pub kube: Arc<dyn KubeSource>,
    pub dns: Arc<dyn DnsSource>,
    pub http: Arc<dyn HttpSource>,
    pub tls: Arc<dyn TlsSource>,
    pub host: Arc<dyn HostSource>,
    /// Where live answers are recorded; empty for replay.
    pub journal: Arc<Journal>,
    /// `live` or `bundle`, as the report's `source` field says.
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Live,
    Bundle,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Live => "live",
            Origin::Bundle => "bundle",
        }
    }
}

/// A source that has no live implementation in this build: DNS, HTTP and TLS probing arrive with the checks
/// that use them. It answers `not configured`, so a check built on it would `skip` rather than guess.
pub struct NoLiveProbe {
    pub what: &'static str,
}

#[async_trait]
impl DnsSource for NoLiveProbe {
    async fn resolve(&self, query: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        Err(EvidenceError::NotConfigured {
            message: format!("{} cannot look up {} in this build", self.what, query.name),
        })
    }
}

#[async_trait]
impl HttpSource for NoLiveProbe {
    async fn fetch(&self, probe: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        Err(EvidenceError::NotConfigured {
            message: format!("{} cannot fetch {} in this build", self.what, probe.url),
        })
    }
}

#[async_trait]
impl TlsSource for NoLiveProbe {
    async fn handshake(&self, probe: &TlsProbe) -> Result<TlsAnswer, EvidenceError> {
        Err(EvidenceError::NotConfigured {
            message: format!(
                "{} cannot connect to {} in this build",
                self.what, probe.address
            ),
        })
    }
}

/// Lists a kind and decodes each object into its typed form (k8s-openapi), keeping the API's field names.
/// Decodes straight from the form the source holds (never from a copy of it).
pub async fn list_typed<T: DeserializeOwned>(
    kube: &dyn KubeSource,
    kind: &'static ResourceKind,
    scope: &Scope,
) -> Result<Vec<T>, EvidenceError> {
    list_typed_where(kube, kind, scope, |_| true).await
}

/// [`list_typed`], keeping only the objects `keep` accepts. Objects are decoded one at a time, so a check
/// that needs a few objects of a big list never holds the decoded rest: a typed k8s-openapi object takes
/// several times the bytes of its JSON.
pub async fn list_typed_where<T: DeserializeOwned>(
    kube: &dyn KubeSource,
    kind: &'static ResourceKind,
    scope: &Scope,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, EvidenceError> {
    let decode_error = |e: serde_json::Error| EvidenceError::Decode {
        what: format!("{} in {}", kind.resource_key(), scope),
        message: e.to_string(),
    };
    let kept = |decoded: &Result<T, EvidenceError>| decoded.as_ref().map_or(true, &keep);
    match kube.list_held(kind, scope).await? {
        HeldList::Values(items) => items
            .iter()
            .map(|v| T::deserialize(v).map_err(decode_error))
            .filter(kept)
            .collect(),
        HeldList::Json(items) => items
            .iter()
            .map(|text| serde_json::from_str(text).map_err(decode_error))
            .filter(kept)
            .collect(),
    }
}

impl HeldList {
    /// The objects as `Value`s (decoded anew from JSON text).
    pub fn values(&self) -> Result<Arc<Vec<Value>>, serde_json::Error> {
        match self {
            HeldList::Values(items) => Ok(Arc::clone(items)),
            HeldList::Json(items) => items
                .iter()
                .map(|text| serde_json::from_str(text))
                .collect::<Result<Vec<Value>, _>>()
                .map(Arc::new),
        }
    }
}
