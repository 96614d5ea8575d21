//! What changed between two bundles beneath a verdict: `mcp-doctor diff` replays each changed check on both
//! bundles through a [`Tracked`] source, which notes every Kubernetes kind and node-facts read, and through
//! [`TrackedProbes`], which keeps every DNS, HTTP and TLS answer it was given; then compares exactly that
//! evidence: objects added, removed or modified (a field-level summary, not a dump), node files and versions
//! that differ, line by line, and probe answers that differ (a DNS record, an HTTP status, a certificate's
//! issuer or expiry).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use super::host::HostFacts;
use super::{
    AccessAnswer, AccessQuestion, DnsAnswer, DnsQuery, DnsSource, EvidenceError, HostSource,
    HttpAnswer, HttpProbe, HttpSource, KubeSource, KubeTarget, LogQuery, ResourceKind, Scope,
    ServerVersion, TlsAnswer, TlsProbe, TlsSource,
};

/// Fields that change on every write or heartbeat and say nothing about why a verdict moved.
const NOISE: &[&str] = &["resourceVersion", "managedFields", "lastHeartbeatTime"];
/// At most this many changed fields are listed per object; the rest are counted.
const MAX_FIELDS: usize = 12;

/// What a check read, by evidence source.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reads {
    pub kinds: BTreeSet<&'static str>,
    pub host: bool,
}

/// Wraps a run's Kubernetes and host sources and notes what is read.
pub struct Tracked {
    kube: Arc<dyn KubeSource>,
    host: Arc<dyn HostSource>,
    reads: Mutex<Reads>,
}

impl Tracked {
    pub fn new(kube: Arc<dyn KubeSource>, host: Arc<dyn HostSource>) -> Arc<Tracked> {
        Arc::new(Tracked {
            kube,
            host,
            reads: Mutex::default(),
        })
    }

    pub fn reads(&self) -> Reads {
        self.reads.lock().expect("reads lock").clone()
    }

    fn note_kind(&self, kind: &'static ResourceKind) {
        self.reads
            .lock()
            .expect("reads lock")
            .kinds
            .insert(kind.plural);
    }
}

#[async_trait]
impl KubeSource for Tracked {
    async fn target(&self) -> Result<KubeTarget, EvidenceError> {
        self.kube.target().await
    }
    async fn version(&self) -> Result<ServerVersion, EvidenceError> {
        self.kube.version().await
    }
    async fn list(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Value>>, EvidenceError> {
        self.note_kind(kind);
        self.kube.list(kind, scope).await
    }
    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        self.note_kind(kind);
        self.kube.get(kind, namespace, name).await
    }
    async fn access(&self, q: &AccessQuestion) -> Result<AccessAnswer, EvidenceError> {
        self.kube.access(q).await
    }
    async fn logs(&self, q: &LogQuery) -> Result<String, EvidenceError> {
        self.kube.logs(q).await
    }
}

#[async_trait]
impl HostSource for Tracked {
    async fn nodes(&self) -> Result<Arc<BTreeMap<String, HostFacts>>, EvidenceError> {
        self.reads.lock().expect("reads lock").host = true;
        self.host.nodes().await
    }
    async fn local_node(&self) -> Result<Option<String>, EvidenceError> {
        self.host.local_node().await
    }
}

/// Wraps a run's DNS, HTTP and TLS sources and keeps, for each question asked, a summary of its answer:
/// what a verdict can turn on, not every byte (an HTTP body or a whole chain is left out).
pub struct TrackedProbes {
    dns: Arc<dyn DnsSource>,
    http: Arc<dyn HttpSource>,
    tls: Arc<dyn TlsSource>,
    answers: Mutex<BTreeMap<String, Value>>,
}

/// HTTP response headers a verdict can turn on.
const HTTP_HEADERS: &[&str] = &["location", "www-authenticate", "server"];

impl TrackedProbes {
    pub fn new(
        dns: Arc<dyn DnsSource>,
        http: Arc<dyn HttpSource>,
        tls: Arc<dyn TlsSource>,
    ) -> Arc<TrackedProbes> {
        Arc::new(TrackedProbes {
            dns,
            http,
            tls,
            answers: Mutex::default(),
        })
    }

    /// Each question asked (`dns A platform.example.com (system resolver)`) with its answer's summary.
    pub fn answers(&self) -> BTreeMap<String, Value> {
        self.answers.lock().expect("answers lock").clone()
    }

    fn note<T>(
        &self,
        question: String,
        answer: &Result<T, EvidenceError>,
        summary: fn(&T) -> Value,
    ) {
        let value = match answer {
            Ok(a) => summary(a),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
        self.answers
            .lock()
            .expect("answers lock")
            .insert(question, value);
    }
}

fn dns_summary(a: &DnsAnswer) -> Value {
    serde_json::json!({"rcode": a.rcode, "records": a.records, "cname_chain": a.cname_chain})
}

fn http_summary(a: &HttpAnswer) -> Value {
    let headers: serde_json::Map<String, Value> = a
        .headers
        .iter()
        .filter(|(k, _)| HTTP_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)))
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    serde_json::json!({"status": a.status, "headers": headers, "remote_addr": a.remote_addr})
}

fn tls_summary(a: &TlsAnswer) -> Value {
    let leaf = match crate::tls::cert::CertInfo::chain_from_base64_der(&a.chain_der_base64) {
        Ok(chain) => chain.first().map(|c| {
            serde_json::json!({
                "subject": c.subject, "issuer": c.issuer, "names": c.names(), "serial": c.serial,
                "not_before": c.not_before_text(), "not_after": c.not_after_text(),
            })
        }),
        Err(e) => Some(serde_json::json!({"unreadable": e})),
    };
    serde_json::json!({
        "verify_error": a.verify_error, "protocol": a.protocol, "alpn": a.alpn,
        "chain_length": a.chain_der_base64.len(), "leaf": leaf,
    })
}

#[async_trait]
impl DnsSource for TrackedProbes {
    async fn resolve(&self, q: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        let answer = self.dns.resolve(q).await;
        let via = match &q.server {
            Some(server) => format!("server {server}"),
            None => "system resolver".into(),
        };
        self.note(
            format!("dns {} {} ({via})", q.record_type, q.name),
            &answer,
            dns_summary,
        );
        answer
    }
}

#[async_trait]
impl HttpSource for TrackedProbes {
    async fn fetch(&self, p: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        let answer = self.http.fetch(p).await;
        let via = p
            .connect_to
            .as_deref()
            .map(|ip| format!(" via {ip}"))
            .unwrap_or_default();
        self.note(
            format!("http {} {}{via}", p.method, p.url),
            &answer,
            http_summary,
        );
        answer
    }
}

#[async_trait]
impl TlsSource for TrackedProbes {
    async fn handshake(&self, p: &TlsProbe) -> Result<TlsAnswer, EvidenceError> {
        let answer = self.tls.handshake(p).await;
        self.note(
            format!("tls {} at {}", p.server_name, p.address),
            &answer,
            tls_summary,
        );
        answer
    }

    async fn now(&self) -> i64 {
        self.tls.now().await
    }
}

/// One probe answer that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeChange {
    /// The question: `dns A platform.example.com (system resolver)`, `http GET https://... via 203.0.113.10`,
    /// `tls platform.example.com at 203.0.113.10:443`.
    pub probe: String,
    /// The changed parts of its answer, `records[0]: "203.0.113.10" -> "198.51.100.7"`; a question asked on
    /// one side only shows every part as added or removed.
    pub fields: Vec<String>,
}

/// The probe answers that differ from `a` to `b` (each as [`TrackedProbes::answers`] kept them).
pub fn probe_changes(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<ProbeChange> {
    let empty = Value::Object(serde_json::Map::new());
    let probes: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    probes
        .into_iter()
        .filter_map(|probe| {
            let fields = field_changes(
                a.get(probe).unwrap_or(&empty),
                b.get(probe).unwrap_or(&empty),
            );
            (!fields.is_empty()).then(|| ProbeChange {
                probe: probe.clone(),
                fields,
            })
        })
        .collect()
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectChange {
    /// `Node`, `Pod`, ...
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// `added`, `removed` or `modified`.
    pub change: &'static str,
    /// For `modified`: the changed fields, `status.conditions[Ready].status: "True" -> "False"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// One node fact that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostChange {
    pub node: String,
    /// `files./etc/rancher/k3s/registries.yaml`, `versions.k3s`, or `node` when a node's facts are new or gone.
    pub what: String,
    /// Lines (for file contents) or values that only the second bundle has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// Every object of `kind` a bundle holds, in all its list files, by (namespace, name).
pub fn objects(root: &Path, kind: &ResourceKind) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    let dir = root.join("cluster").join(kind.resource_key());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(list) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for item in list["items"].as_array().into_iter().flatten() {
            let key = |p: &str| item.pointer(p).and_then(Value::as_str).unwrap_or_default();
            out.insert(
                (
                    key("/metadata/namespace").to_string(),
                    key("/metadata/name").to_string(),
                ),
                item.clone(),
            );
        }
    }
    out
}

/// The objects of `kind` added, removed or modified from bundle `a` to bundle `b`.
pub fn object_changes(a: &Path, b: &Path, kind: &ResourceKind) -> Vec<ObjectChange> {
    let (before, after) = (objects(a, kind), objects(b, kind));
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (change, fields) = match (before.get(key), after.get(key)) {
            (Some(x), Some(y)) => {
                let fields = field_changes(x, y);
                if fields.is_empty() {
                    continue;
                }
                ("modified", fields)
            }
            (None, Some(_)) => ("added", Vec::new()),
            (Some(_), None) => ("removed", Vec::new()),
            (None, None) => continue,
        };
        out.push(ObjectChange {
            kind: kind.kind.to_string(),
            namespace: Some(key.0.clone()).filter(|ns| !ns.is_empty()),
            name: key.1.clone(),
            change,
            fields,
        });
    }
    out
}

/// `path: old -> new` for every leaf that differs (noise fields left out), capped at [`MAX_FIELDS`].
pub fn field_changes(a: &Value, b: &Value) -> Vec<String> {
    let (mut x, mut y) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut x);
    flatten("", b, &mut y);
    let paths: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    let shown = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_string(), Value::to_string);
    let mut out: Vec<String> = paths
        .into_iter()
        .filter(|p| x.get(*p) != y.get(*p))
        .map(|p| format!("{p}: {} -> {}", shown(x.get(p)), shown(y.get(p))))
        .collect();
    if out.len() > MAX_FIELDS {
        let more = out.len() - MAX_FIELDS;
        out.truncate(MAX_FIELDS);
        out.push(format!("... and {more} more fields"));
    }
    out
}

/// Leaves by path; array items are named by their `type` or `name` when they have one
/// (`status.conditions[Ready].status`), so a reordered list is not a change.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if !NOISE.contains(&k.as_str()) {
                    flatten(&join(k), v, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label = ["type", "name"]
                    .iter()
                    .find_map(|k| item.get(k).and_then(Value::as_str))
                    .map_or_else(|| i.to_string(), str::to_string);
                flatten(&format!("{prefix}[{label}]"), item, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

/// Node files (contents line by line, and modes) and versions that differ from `a` to `b`.
pub fn host_changes(
    a: &BTreeMap<String, HostFacts>,
    b: &BTreeMap<String, HostFacts>,
) -> Vec<HostChange> {
    let mut out = Vec::new();
    let nodes: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for node in nodes {
        let (x, y) = match (a.get(node), b.get(node)) {
            (Some(x), Some(y)) => (x, y),
            (x, _) => {
                let (added, removed) = if x.is_some() {
                    (vec![], vec!["facts".to_string()])
                } else {
                    (vec!["facts".to_string()], vec![])
                };
                out.push(HostChange {
                    node: node.clone(),
                    what: "node".into(),
                    added,
                    removed,
                });
                continue;
            }
        };
        let paths: BTreeSet<&String> = x.files.keys().chain(y.files.keys()).collect();
        for path in paths {
            let (fx, fy) = (x.files.get(path), y.files.get(path));
            let content = |f: Option<&super::host::FileFact>| {
                f.and_then(|f| f.content.clone()).unwrap_or_default()
            };
            let (cx, cy) = (content(fx), content(fy));
            let (added, removed) = line_changes(&cx, &cy);
            let mut change = HostChange {
                node: node.clone(),
                what: format!("files.{path}"),
                added,
                removed,
            };
            let mode = |f: Option<&super::host::FileFact>| f.map(|f| format!("mode {:o}", f.mode));
            if mode(fx) != mode(fy) {
                change.removed.extend(mode(fx));
                change.added.extend(mode(fy));
            }
            if !change.added.is_empty() || !change.removed.is_empty() {
                out.push(change);
            }
        }
        let names: BTreeSet<&String> = x.versions.keys().chain(y.versions.keys()).collect();
        for name in names {
            let (vx, vy) = (x.versions.get(name), y.versions.get(name));
            if vx != vy {
                out.push(HostChange {
                    node: node.clone(),
                    what: format!("versions.{name}"),
                    added: vy.cloned().into_iter().collect(),
                    removed: vx.cloned().into_iter().collect(),
                });
            }
        }
    }
    out
}

/// Lines only `b` has (added) and lines only `a` has (removed), each in its file's order.
fn line_changes(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let count = |s: &str| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for l in s.lines() {
            *m.entry(l.to_string()).or_default() += 1;
        }
        m
    };
    let (ca, cb) = (count(a), count(b));
    let only = |s: &str, mine: &BTreeMap<String, usize>, theirs: &BTreeMap<String, usize>| {
        let mut left: BTreeMap<String, usize> = mine
            .iter()
            .map(|(l, n)| {
                (
                    l.clone(),
                    n.saturating_sub(theirs.get(l).copied().unwrap_or(0)),
                )
            })
            .collect();
        s.lines()
            .filter(|l| match left.get_mut(*l) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    (only(b, &cb, &ca), only(a, &ca, &cb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_are_compared_by_type_and_noise_is_ignored() {
        let a = json!({"metadata": {"name": "n", "resourceVersion": "1"},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "t1"},
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "t1"}]}});
        let b = json!({"metadata": {"name": "n", "resourceVersion": "2"},
            "status": {"conditions": [
                {"type": "Ready", "status": "False", "lastHeartbeatTime": "t2"},
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "t2"}]}});
        assert_eq!(
            field_changes(&a, &b),
            [r#"status.conditions[Ready].status: "True" -> "False""#]
        );
        assert!(field_changes(&a, &a).is_empty());
    }

    #[test]
    fn file_lines_added_and_removed() {
        let a = "mirrors:\n  docker.io:\n    endpoint:\n      - https://registry.example.com\n";
        let b = "mirrors:\n  docker.io:\n    endpoint:\n      - http://registry.example.com:5000\n";
        assert_eq!(
            line_changes(a, b),
            (
                vec!["      - http://registry.example.com:5000".to_string()],
                vec!["      - https://registry.example.com".to_string()]
            )
        );
        assert_eq!(line_changes(a, a), (vec![], vec![]));
    }

    #[test]
    fn a_renewed_certificate_shows_its_new_issuer_and_expiry() {
        use base64::Engine;
        let cert = |issuer: &str, days: i64| {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params =
                rcgen::CertificateParams::new(vec!["platform.example.com".to_string()]).unwrap();
            params.not_before = rcgen::date_time_ymd(2026, 1, 1);
            params.not_after =
                params.not_before + std::time::Duration::from_secs(days as u64 * 86_400);
            let mut dn = rcgen::DistinguishedName::new();
            dn.push(rcgen::DnType::CommonName, issuer);
            params.distinguished_name = dn;
            let der = params.self_signed(&key).unwrap().der().to_vec();
            TlsAnswer {
                chain_der_base64: vec![base64::engine::general_purpose::STANDARD.encode(der)],
                verify_error: None,
                protocol: Some("TLSv1_3".into()),
                verify_detail: None,
                alpn: None,
                remote_addr: None,
            }
        };
        let q = "tls platform.example.com at 203.0.113.10:443".to_string();
        let a = BTreeMap::from([(q.clone(), tls_summary(&cert("R10", 90)))]);
        let b = BTreeMap::from([(
            q.clone(),
            tls_summary(&cert("(STAGING) Ersatz Edamame E1", 30)),
        )]);
        let changes = probe_changes(&a, &b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].probe, q);
        let fields = changes[0].fields.join("\n");
        assert!(
            fields.contains(r#"leaf.not_after: "2026-04-01T00:00:00Z" -> "2026-01-31T00:00:00Z""#),
            "{fields}"
        );
        let issuer = fields
            .lines()
            .find(|l| l.starts_with("leaf.issuer: "))
            .unwrap();
        assert!(
            issuer.contains("R10") && issuer.contains("Ersatz Edamame"),
            "{fields}"
        );
        assert!(probe_changes(&a, &a).is_empty());
        // An HTTP status that changed, and a question asked on one side only.
        let ok = HttpAnswer {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: "a".into(),
            body_truncated: false,
            remote_addr: None,
        };
        let moved = HttpAnswer {
            status: 404,
            body: "b".into(),
            ..ok.clone()
        };
        let h = "http GET https://platform.example.com/".to_string();
        let changes = probe_changes(
            &BTreeMap::from([(h.clone(), http_summary(&ok))]),
            &BTreeMap::from([
                (h.clone(), http_summary(&moved)),
                (q, json!({"error": "timed out"})),
            ]),
        );
        assert_eq!(changes[0].fields, ["status: 200 -> 404"]);
        assert_eq!(changes[1].fields, [r#"error: (absent) -> "timed out""#]);
    }

    #[test]
    fn many_changed_fields_are_summarized() {
        let a = json!({"data": (0..20).map(|i| (format!("k{i:02}"), json!(i))).collect::<serde_json::Map<_, _>>()});
        let b = json!({"data": (0..20).map(|i| (format!("k{i:02}"), json!(i + 1))).collect::<serde_json::Map<_, _>>()});
        let fields = field_changes(&a, &b);
        assert_eq!(fields.len(), MAX_FIELDS + 1);
        assert_eq!(fields.last().unwrap(), "... and 8 more fields");
    }
}
