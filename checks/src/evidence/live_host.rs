//! Reads node facts: from a host root on this machine (`--host-root`), or from `host-facts` JSON files
//! written on nodes this machine cannot reach (`--host-facts DIR`).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::host::{
    CERTS_D_DIRS, CONTENT_FILES, CREDENTIAL_FILES, DISK_PATHS, DOCKER_DAEMON_JSON,
    DOCKER_REGISTRY_KEYS, DiskUsage, FileFact, HOST_FACTS_SCHEMA, HostFacts, ROLE_FILES,
    TRUST_STORE_DIRS, pem_fingerprints,
};
use super::{EvidenceError, HostSource};

/// Files larger than this are recorded without content (a config file never is; a mistake might be).
pub const MAX_CONTENT_BYTES: u64 = 1 << 20;

/// Collects the facts of the node whose filesystem is mounted at `root` (`/` for this machine).
pub async fn collect(root: &Path) -> Result<HostFacts, EvidenceError> {
    let meta = std::fs::metadata(root).map_err(|e| EvidenceError::NotConfigured {
        message: format!("host root {} cannot be read: {e}", root.display()),
    })?;
    if !meta.is_dir() {
        return Err(EvidenceError::NotConfigured {
            message: format!("host root {} is not a directory", root.display()),
        });
    }
    let mut files = BTreeMap::new();
    for path in CONTENT_FILES {
        if let Some(mut f) = file_fact(root, path, true) {
            if *path == DOCKER_DAEMON_JSON {
                f.content = f.content.as_deref().map(registry_keys_only);
            }
            files.insert(path.to_string(), f);
        }
    }
    for dir in CERTS_D_DIRS {
        for hosts_toml in certs_d_files(root, dir) {
            if let Some(f) = file_fact(root, &hosts_toml, true) {
                files.insert(hosts_toml, f);
            }
        }
        // Certificate files: containerd reads them when a directory has no (valid) hosts.toml. Only their
        // mode and owner are collected, never their contents; CA files (`*.crt`) add their certificates'
        // fingerprints.
        for cert in certs_d_cert_files(root, dir) {
            if let Some(f) = file_fact(root, &cert, false) {
                let f = if cert.ends_with(".crt") {
                    with_fingerprints(root, &cert, f)
                } else {
                    f
                };
                files.insert(cert, f);
            }
        }
    }
    // CA files the registry configuration names, and the system trust store's added anchors: fingerprints
    // only, so a check can tell whether a node trusts a given CA.
    let mut ca_files = referenced_ca_files(&files);
    for dir in TRUST_STORE_DIRS {
        ca_files.extend(trust_store_files(root, dir));
    }
    for path in ca_files {
        if files.contains_key(&path) {
            continue;
        }
        if let Some(f) = file_fact(root, &path, false) {
            files.insert(path.clone(), with_fingerprints(root, &path, f));
        }
    }
    for path in CREDENTIAL_FILES.iter().chain(ROLE_FILES) {
        if let Some(f) = file_fact(root, path, false) {
            files.insert(path.to_string(), f);
        }
    }
    let mut disks = BTreeMap::new();
    for path in DISK_PATHS {
        if let Some(d) = disk_usage(&under(root, path)) {
            disks.insert(path.to_string(), d);
        }
    }
    let node = files
        .get("/etc/hostname")
        .and_then(|f| f.content.as_deref())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(this_hostname)
        .unwrap_or_else(|| "unknown".into());
    let versions = if root == Path::new("/") {
        binary_versions().await
    } else {
        BTreeMap::new()
    };
    Ok(HostFacts {
        schema: HOST_FACTS_SCHEMA.into(),
        node,
        collected_at: jiff::Timestamp::now().to_string(),
        files,
        disks,
        versions,
    })
}

/// The host name of the machine this process runs on.
fn this_hostname() -> Option<String> {
    rustix::system::uname()
        .nodename()
        .to_str()
        .ok()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

fn file_fact(root: &Path, abs: &str, with_content: bool) -> Option<FileFact> {
    let p = under(root, abs);
    let meta = std::fs::metadata(&p).ok()?;
    if !meta.is_file() {
        return None;
    }
    let content = if with_content && meta.len() <= MAX_CONTENT_BYTES {
        // Text that is not UTF-8 is not kept: k3s and containerd refuse such a file, and a lossy copy
        // could look valid. Its fact without content tells the checks it could not be read.
        std::fs::read(&p)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    } else {
        None
    };
    Some(FileFact {
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        size: meta.len(),
        content,
        sha256: Vec::new(),
    })
}

/// Docker's daemon.json reduced to its registry keys (unparseable text is dropped, never kept).
fn registry_keys_only(text: &str) -> String {
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(text) else {
        return String::new();
    };
    let kept: serde_json::Map<String, serde_json::Value> = doc
        .into_iter()
        .filter(|(k, _)| DOCKER_REGISTRY_KEYS.contains(&k.as_str()))
        .collect();
    serde_json::Value::Object(kept).to_string()
}

/// Adds the SHA-256 fingerprints of the certificates in a CA file (bounded in size like any content).
fn with_fingerprints(root: &Path, abs: &str, mut fact: FileFact) -> FileFact {
    if fact.size <= MAX_CONTENT_BYTES
        && let Ok(bytes) = std::fs::read(under(root, abs))
    {
        fact.sha256 = pem_fingerprints(&bytes);
    }
    fact
}

/// The CA files named by `registries.yaml` (`configs.*.tls.ca_file`) and by hosts.toml `ca` entries
/// (relative paths are relative to the hosts.toml directory, as containerd reads them).
fn referenced_ca_files(files: &BTreeMap<String, FileFact>) -> Vec<String> {
    use crate::containerd::config::{K3S_REGISTRIES, parse_hosts_toml, parse_registries_yaml};
    let mut out = Vec::new();
    for (path, f) in files {
        let Some(text) = f.content.as_deref() else {
            continue;
        };
        if path == K3S_REGISTRIES {
            if let Ok(reg) = parse_registries_yaml(text) {
                out.extend(
                    reg.configs
                        .values()
                        .filter_map(|c| c.tls.as_ref()?.ca_file.clone()),
                );
            }
        } else if let Some(dir) = path.strip_suffix("/hosts.toml")
            && let Ok(h) = parse_hosts_toml(path, text)
        {
            for ca in h.hosts.iter().chain([&h.server_entry]).flat_map(|e| &e.ca) {
                out.push(if ca.starts_with('/') {
                    ca.clone()
                } else {
                    format!("{dir}/{ca}")
                });
            }
        }
    }
    out
}

/// The certificate files directly in a trust-store source directory.
fn trust_store_files(root: &Path, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(under(root, dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".crt") || n.ends_with(".pem"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

fn certs_d_files(root: &Path, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(under(root, dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| format!("{dir}/{}/hosts.toml", e.file_name().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// `<dir>/<host>/*.crt|*.cert|*.key`: the Docker-style certificate files containerd falls back to.
fn certs_d_cert_files(root: &Path, dir: &str) -> Vec<String> {
    let Ok(hosts) = std::fs::read_dir(under(root, dir)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for host in hosts.flatten() {
        if !host.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(host.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if [".crt", ".cert", ".key"].iter().any(|x| name.ends_with(x)) {
                out.push(format!(
                    "{dir}/{}/{name}",
                    host.file_name().to_string_lossy()
                ));
            }
        }
    }
    out.sort();
    out
}

fn disk_usage(path: &Path) -> Option<DiskUsage> {
    let st = rustix::fs::statvfs(path).ok()?;
    Some(DiskUsage {
        total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
        available_bytes: st.f_bavail.saturating_mul(st.f_frsize),
        total_inodes: st.f_files,
        free_inodes: st.f_favail,
    })
}

/// `k3s --version` and `containerd --version` of this machine, each with a short timeout.
async fn binary_versions() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, candidates) in [
        ("k3s", &["/usr/local/bin/k3s", "/usr/bin/k3s"][..]),
        (
            "containerd",
            &[
                "/usr/bin/containerd",
                "/usr/local/bin/containerd",
                "/usr/local/bin/k3s-containerd",
            ][..],
        ),
    ] {
        for bin in candidates {
            if !Path::new(bin).is_file() {
                continue;
            }
            let run = tokio::process::Command::new(bin)
                .arg("--version")
                .kill_on_drop(true)
                .output();
            if let Ok(Ok(o)) = tokio::time::timeout(Duration::from_secs(3), run).await
                && let Some(line) = String::from_utf8_lossy(&o.stdout).lines().next()
            {
                out.insert(name.to_string(), line.trim().to_string());
                break;
            }
        }
    }
    out
}

/// Reads every `*.json` host-facts file of a directory (one per node).
pub fn read_facts_dir(dir: &Path) -> Result<BTreeMap<String, HostFacts>, EvidenceError> {
    let entries = std::fs::read_dir(dir).map_err(|e| EvidenceError::NotConfigured {
        message: format!("host facts directory {} cannot be read: {e}", dir.display()),
    })?;
    let mut out = BTreeMap::new();
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| EvidenceError::Decode {
            what: p.display().to_string(),
            message: e.to_string(),
        })?;
        let facts: HostFacts = serde_json::from_str(&text).map_err(|e| EvidenceError::Decode {
            what: p.display().to_string(),
            message: format!(
                "not a host-facts document ({e}); write one with `mcp-doctor host-facts -o FILE`"
            ),
        })?;
        out.insert(facts.node.clone(), facts);
    }
    Ok(out)
}

/// Facts written on nodes, and the one named like this machine, if any: its facts are local.
fn with_local(facts: BTreeMap<String, HostFacts>) -> (BTreeMap<String, HostFacts>, Option<String>) {
    let local = this_hostname().filter(|h| facts.contains_key(h));
    (facts, local)
}

/// Host facts for a live run.
pub enum LiveHost {
    /// Neither `--host-root` nor `--host-facts` was given.
    None,
    Root(PathBuf),
    FactsDir(PathBuf),
    /// Facts collected from the nodes by `bundle --collect-nodes` (its host-facts DaemonSet), or why none
    /// were.
    Collected(Result<BTreeMap<String, HostFacts>, EvidenceError>),
}

/// Node facts of a live run, and which of them (if any) describe the machine mcp-doctor runs on.
type LiveFacts = (Arc<BTreeMap<String, HostFacts>>, Option<String>);

/// Memoizes the node facts of a live run (collected once) and records them in the journal.
pub struct LiveHostSource {
    how: LiveHost,
    cache: tokio::sync::OnceCell<Result<LiveFacts, EvidenceError>>,
    journal: Arc<super::Journal>,
}

impl LiveHostSource {
    pub fn new(how: LiveHost, journal: Arc<super::Journal>) -> Self {
        LiveHostSource {
            how,
            cache: tokio::sync::OnceCell::new(),
            journal,
        }
    }

    async fn facts(&self) -> &Result<LiveFacts, EvidenceError> {
        self.cache
            .get_or_init(|| async {
                let res = match &self.how {
                    LiveHost::None => Err(EvidenceError::NotConfigured {
                        message: "no node facts: pass --host-root / on a node, or --host-facts DIR with files from \
                                  `mcp-doctor host-facts`"
                            .into(),
                    }),
                    // A host root is this machine's filesystem (or a mount of it): its facts are local.
                    LiveHost::Root(root) => collect(root)
                        .await
                        .map(|f| (BTreeMap::from([(f.node.clone(), f.clone())]), Some(f.node))),
                    // Files written on nodes: the one named like this machine, if any, is local.
                    LiveHost::FactsDir(dir) => read_facts_dir(dir).map(with_local),
                    LiveHost::Collected(facts) => facts.clone().map(with_local),
                };
                match &res {
                    Ok((facts, local)) => {
                        self.journal.record_host(facts);
                        self.journal.record(super::journal::keys::HOST_LOCAL, &Ok(local));
                    }
                    Err(e) => self.journal.record::<()>(super::journal::keys::HOST, &Err(e.clone())),
                }
                res.map(|(facts, local)| (Arc::new(facts), local))
            })
            .await
    }
}

#[async_trait]
impl HostSource for LiveHostSource {
    async fn nodes(&self) -> Result<Arc<BTreeMap<String, HostFacts>>, EvidenceError> {
        self.facts().await.clone().map(|(facts, _)| facts)
    }

    async fn local_node(&self) -> Result<Option<String>, EvidenceError> {
        self.facts().await.clone().map(|(_, local)| local)
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    #[tokio::test]
    async fn ca_files_get_fingerprints_and_keys_never_do() {
        let root = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["mcp-runtime-ca".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let want = pem_fingerprints(cert.pem().as_bytes());
        assert_eq!(want.len(), 1);
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let dir = "etc/containerd/certs.d/registry.local:5443";
        write(&format!("{dir}/ca.crt"), &cert.pem());
        write(&format!("{dir}/client.key"), &key.serialize_pem());
        write(
            "etc/rancher/k3s/registries.yaml",
            "configs:\n  \"registry.local:5443\":\n    tls:\n      ca_file: /etc/rancher/k3s/mcp-ca.pem\n",
        );
        write("etc/rancher/k3s/mcp-ca.pem", &cert.pem());
        write("usr/local/share/ca-certificates/corp.crt", &cert.pem());
        write(
            "etc/docker/daemon.json",
            r#"{"insecure-registries": ["10.96.0.0/12"], "proxies": {"http-proxy": "http://u:secret@proxy:3128"}}"#,
        );
        let facts = collect(root.path()).await.unwrap();
        let fp = |p: &str| facts.files.get(p).map(|f| f.sha256.clone());
        assert_eq!(fp(&format!("/{dir}/ca.crt")), Some(want.clone()));
        assert_eq!(fp("/etc/rancher/k3s/mcp-ca.pem"), Some(want.clone()));
        assert_eq!(fp("/usr/local/share/ca-certificates/corp.crt"), Some(want));
        let daemon = facts.files[DOCKER_DAEMON_JSON].content.as_deref().unwrap();
        assert_eq!(daemon, r#"{"insecure-registries":["10.96.0.0/12"]}"#);
        let key_fact = &facts.files[&format!("/{dir}/client.key")];
        assert!(key_fact.sha256.is_empty() && key_fact.content.is_none());
    }
}
