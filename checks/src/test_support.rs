//! Unit-test support: builds a check [`Context`] from setup flags, environment variables and bundle files
//! written to a temporary directory, and runs a check the way the runner does (`not_applicable` first).
//!
//! Two entry points over the same bundle writer:
//!
//! - [`context`]`(files, env)`: bundle files as `(path, JSON)` pairs plus env vars, e.g.
//!   `context(&[nodes_list(vec![node("mcp-cp-1")])], &[("MCP_IMAGE_PLATFORM", "linux/amd64")])`;
//! - [`Case`], a builder that also takes setup flags, an env file, the profile and mode:
//!
//! ```ignore
//! let o = Case::new()
//!     .flag("with_tls", "true")
//!     .env("MCP_PLATFORM_DOMAIN", "example.com")
//!     .objects(&kinds::NODES, Scope::Cluster, vec![node("mcp-worker-1")])
//!     .run(&ImagePlatform)
//!     .await;
//! expect(&o, Status::Pass, &["matches"]);
//! ```

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::check::{Check, Context};
use crate::evidence::journal::keys;
use crate::evidence::replay::Bundle;
use crate::evidence::{Evidence, EvidenceError, ResourceKind, Scope, kinds};
use crate::model::{Mode, Outcome, Profile, Status};
use crate::settings::{ConfigInputs, ResolvedConfig};

/// One test situation: setup flags (by setting key, e.g. `with_tls`), env vars, and bundle files.
pub struct Case {
    inputs: ConfigInputs,
    files: Vec<(String, String)>,
    profile: Profile,
    mode: Mode,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            inputs: ConfigInputs::default(),
            files: Vec::new(),
            profile: Profile::Dev,
            mode: Mode::Setup,
        }
    }
}

impl Case {
    pub fn new() -> Case {
        Case::default()
    }

    /// A setup flag, keyed by setting key (`platform_mode`, `with_tls`, `acme_email` ...).
    pub fn flag(mut self, key: &str, value: &str) -> Case {
        self.inputs.flags.insert(key.into(), value.into());
        self
    }

    /// An environment variable (`MCP_PLATFORM_DOMAIN` ...).
    pub fn env(mut self, name: &str, value: &str) -> Case {
        self.inputs.env.insert(name.into(), value.into());
        self
    }

    /// Several environment variables at once.
    pub fn envs(self, vars: &[(&str, &str)]) -> Case {
        vars.iter().fold(self, |c, (k, v)| c.env(k, v))
    }

    /// An `--env-file` with its path for provenance.
    pub fn env_file(mut self, path: &str, vars: &[(&str, &str)]) -> Case {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.inputs.env_file = Some((path.into(), vars));
        self
    }

    pub fn profile(mut self, profile: Profile) -> Case {
        self.profile = profile;
        self
    }

    /// A raw file in the bundle, at a path relative to its root.
    pub fn file(mut self, rel: &str, contents: impl Into<String>) -> Case {
        self.files.push((rel.into(), contents.into()));
        self
    }

    /// Whether a bundle file is already set.
    pub fn has_file(&self, rel: &str) -> bool {
        self.files.iter().any(|(r, _)| r == rel)
    }

    /// The objects of a kind in a scope, as the List file `cluster/<resource>/<scope>.json`.
    pub fn objects(self, kind: &ResourceKind, scope: Scope, items: Vec<Value>) -> Case {
        let body = json!({ "apiVersion": "v1", "kind": "List", "items": items });
        self.file(&keys::objects_file(kind, &scope), body.to_string())
    }

    /// A recorded failure to list a kind in a scope (a 403, a timeout ...), as a journal entry.
    pub fn list_error(self, kind: &ResourceKind, scope: Scope, error: EvidenceError) -> Case {
        let key = keys::list(kind, &scope);
        let body = json!({ "key": key, "error": error });
        self.file(&format!("evidence/{key}.json"), body.to_string())
    }

    /// The run's mode (`Setup` unless set): doctor-only checks judge installed clusters.
    pub fn mode(mut self, mode: Mode) -> Case {
        self.mode = mode;
        self
    }

    /// A journaled HTTP answer (or error) to a probe.
    pub fn http(
        self,
        probe: &crate::evidence::HttpProbe,
        result: Result<crate::evidence::HttpAnswer, EvidenceError>,
    ) -> Case {
        let key = keys::http(probe);
        let body = match result {
            Ok(answer) => json!({ "key": key, "ok": answer }),
            Err(error) => json!({ "key": key, "error": error }),
        };
        self.file(&format!("evidence/{key}.json"), body.to_string())
    }

    /// A journaled DNS answer (`server` None = the system resolver).
    pub fn dns(
        self,
        server: Option<&str>,
        record_type: &str,
        name: &str,
        rcode: &str,
        records: &[&str],
    ) -> Case {
        self.dns_chain(server, record_type, name, rcode, records, &[])
    }

    /// A journaled DNS answer that followed a CNAME chain.
    pub fn dns_chain(
        self,
        server: Option<&str>,
        record_type: &str,
        name: &str,
        rcode: &str,
        records: &[&str],
        chain: &[&str],
    ) -> Case {
        let q = crate::evidence::DnsQuery {
            name: name.into(),
            record_type: record_type.into(),
            server: server.map(str::to_string),
        };
        let key = keys::dns(&q);
        let answer = crate::evidence::DnsAnswer {
            rcode: rcode.into(),
            records: records.iter().map(|r| r.to_string()).collect(),
            cname_chain: chain.iter().map(|r| r.to_string()).collect(),
        };
        let body = json!({ "key": key, "ok": answer });
        self.file(&format!("evidence/{key}.json"), body.to_string())
    }

    /// A journaled DNS failure (a timeout ...).
    pub fn dns_error(
        self,
        server: Option<&str>,
        record_type: &str,
        name: &str,
        error: EvidenceError,
    ) -> Case {
        let q = crate::evidence::DnsQuery {
            name: name.into(),
            record_type: record_type.into(),
            server: server.map(str::to_string),
        };
        let key = keys::dns(&q);
        let body = json!({ "key": key, "error": error });
        self.file(&format!("evidence/{key}.json"), body.to_string())
    }

    /// Empty Deployment, Pod and CRD lists: a cluster with no workloads yet (nothing to pull).
    pub fn no_workloads(self) -> Case {
        self.objects(&kinds::DEPLOYMENTS, Scope::AllNamespaces, vec![])
            .objects(&kinds::PODS, Scope::AllNamespaces, vec![])
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
    }

    /// Writes the bundle and builds the context.
    pub fn build(self) -> TestContext {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("cluster")).expect("cluster/");
        for (rel, contents) in &self.files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("parent dir");
            std::fs::write(&path, contents).expect("write bundle file");
        }
        let evidence = Evidence::replay(Bundle::open(dir.path()).expect("bundle opens"));
        let config = Arc::new(ResolvedConfig::resolve(&self.inputs));
        TestContext {
            ctx: Context::new(self.mode, self.profile, config, evidence),
            _dir: dir,
        }
    }

    /// Builds the context and runs the check as the runner does: `not_applicable` is a `skip`.
    pub async fn run(self, check: &dyn Check) -> Outcome {
        self.build().run(check).await
    }
}

/// A context whose bundle directory lives as long as it does.
pub struct TestContext {
    ctx: Context,
    _dir: TempDir,
}

impl TestContext {
    pub async fn run(&self, check: &dyn Check) -> Outcome {
        match check.not_applicable(&self.ctx) {
            Some(reason) => Outcome::skip(reason),
            None => check.run(&self.ctx).await,
        }
    }
}

impl Deref for TestContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

/// Asserts the status and that the message contains every needle; a `warn` or `fail` must carry a
/// remediation. Returns the remediation id (empty when none) for further assertions.
pub fn expect(outcome: &Outcome, status: Status, needles: &[&str]) -> String {
    assert_eq!(outcome.status, status, "unexpected status: {outcome:#?}");
    for n in needles {
        assert!(
            outcome.message.contains(n),
            "message lacks {n:?}: {:?}",
            outcome.message
        );
    }
    if matches!(status, Status::Warn | Status::Fail) {
        assert!(
            outcome.remediation.is_some(),
            "a {status} needs a remediation: {outcome:#?}"
        );
    }
    outcome
        .remediation
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_default()
}

/// Builds a context from bundle files (`(path relative to the bundle root, JSON)`) and env vars.
pub fn context(files: &[(&str, Value)], env: &[(&str, &str)]) -> TestContext {
    files
        .iter()
        .fold(Case::new().envs(env), |c, (rel, v)| {
            c.file(rel, v.to_string())
        })
        .build()
}

/// A healthy amd64 k3s node: Ready, no pressure, `kubernetes.io/arch=amd64`, kubelet `v1.32.5+k3s1`,
/// providerID `k3s://<name>`.
pub fn node(name: &str) -> Value {
    let condition = |type_: &str, status: &str, reason: &str| {
        json!({ "type": type_, "status": status, "reason": reason, "message": "",
                "lastHeartbeatTime": "2026-11-21T10:00:00Z", "lastTransitionTime": "2026-11-21T09:00:00Z" })
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "node.kubernetes.io/instance-type": "k3s",
            },
        },
        "spec": { "providerID": format!("k3s://{name}") },
        "status": {
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
                condition("Ready", "True", "KubeletReady"),
            ],
            "nodeInfo": {
                "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://2.0.5-k3s1",
                "kernelVersion": "6.8.0-45-generic", "kubeProxyVersion": "v1.32.5+k3s1",
                "kubeletVersion": "v1.32.5+k3s1", "machineID": "", "operatingSystem": "linux",
                "osImage": "Ubuntu 24.04.1 LTS", "systemUUID": "",
            },
        },
    })
}

/// [`node`] with another `kubernetes.io/arch` (labels and `nodeInfo.architecture`).
pub fn node_with_arch(name: &str, arch: &str) -> Value {
    let mut n = node(name);
    n["metadata"]["labels"]["kubernetes.io/arch"] = json!(arch);
    n["metadata"]["labels"]["beta.kubernetes.io/arch"] = json!(arch);
    n["status"]["nodeInfo"]["architecture"] = json!(arch);
    n
}

/// Sets (or adds) a node condition.
pub fn set_condition(node: &mut Value, type_: &str, status: &str, reason: &str, message: &str) {
    let condition = json!({ "type": type_, "status": status, "reason": reason, "message": message,
                            "lastHeartbeatTime": "2026-11-21T10:00:00Z", "lastTransitionTime": "2026-11-21T10:00:00Z" });
    if !node["status"]["conditions"].is_array() {
        node["status"]["conditions"] = json!([]);
    }
    let conditions = node["status"]["conditions"]
        .as_array_mut()
        .expect("conditions is an array");
    match conditions.iter_mut().find(|c| c["type"] == type_) {
        Some(c) => *c = condition,
        None => conditions.push(condition),
    }
}

/// The node List file of a bundle.
pub fn nodes_list(nodes: Vec<Value>) -> (&'static str, Value) {
    (
        "cluster/nodes/_cluster.json",
        json!({ "apiVersion": "v1", "kind": "NodeList", "items": nodes }),
    )
}

/// A journaled 403 for listing nodes.
pub fn nodes_forbidden() -> (&'static str, Value) {
    let key = "kube/list/nodes/_cluster";
    (
        "evidence/kube/list/nodes/_cluster.json",
        json!({ "key": key, "error": forbidden(&kinds::NODES, &Scope::Cluster) }),
    )
}

/// One node's host facts: `disks` as `(path, available bytes, total bytes, free inodes, total inodes)`,
/// `files` (credential files) as `(path, mode)`.
pub fn host_facts(
    name: &str,
    disks: &[(&str, u64, u64, u64, u64)],
    files: &[(&str, u32)],
) -> Value {
    let disks: serde_json::Map<String, Value> = disks
        .iter()
        .map(|(path, avail, total, free_inodes, total_inodes)| {
            let usage = json!({ "total_bytes": total, "available_bytes": avail, "total_inodes": total_inodes,
                                "free_inodes": free_inodes });
            (path.to_string(), usage)
        })
        .collect();
    let files: serde_json::Map<String, Value> = files
        .iter()
        .map(|(path, mode)| {
            (
                path.to_string(),
                json!({ "mode": mode, "uid": 0, "size": 2048 }),
            )
        })
        .collect();
    json!({
        "schema": crate::evidence::host::HOST_FACTS_SCHEMA,
        "node": name,
        "collected_at": "2026-11-21T10:00:00Z",
        "files": files,
        "disks": disks,
        "versions": {},
    })
}

/// One node's host facts holding configuration files with their contents (`(path, text)`).
pub fn facts_with_files(name: &str, files: &[(&str, &str)]) -> Value {
    let files: serde_json::Map<String, Value> = files
        .iter()
        .map(|(path, text)| {
            let fact = json!({ "mode": 0o644, "uid": 0, "size": text.len(), "content": text });
            (path.to_string(), fact)
        })
        .collect();
    json!({
        "schema": crate::evidence::host::HOST_FACTS_SCHEMA,
        "node": name,
        "collected_at": "2026-11-21T10:00:00Z",
        "files": files,
        "disks": {},
        "versions": { "k3s": "k3s version v1.32.3+k3s1 (079ffa8d)" },
    })
}

/// A Secret of a type in a namespace.
pub fn secret(namespace: &str, name: &str, type_: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name, "namespace": namespace },
        "type": type_,
    })
}

/// The 403 the API server answers when a list is denied.
pub fn forbidden(kind: &ResourceKind, scope: &Scope) -> EvidenceError {
    let at = match scope.namespace() {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".into(),
    };
    EvidenceError::Forbidden {
        message: format!(
            "{} is forbidden: User \"x\" cannot list resource \"{}\" in API group \"{}\" {at}",
            kind.plural, kind.plural, kind.group
        ),
    }
}

/// A self-signed CA certificate named `mcp-runtime-ca` (setup's CA), as PEM.
pub fn test_ca_pem() -> String {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "mcp-runtime-ca");
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap())
        .unwrap()
        .pem()
}
