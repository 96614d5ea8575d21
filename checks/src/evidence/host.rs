//! Node-local facts: the files and disks that decide whether the kubelet's runtime can pull and keep
//! images, and whether the node is a k3s server. Collected by `mcp-doctor host-facts` on a node (or read through `--host-root`), one JSON
//! document per node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const HOST_FACTS_SCHEMA: &str = "mcp-doctor.host-facts/v1";

/// Files whose contents are collected (configuration, no secrets).
pub const CONTENT_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/hostname",
    "/etc/rancher/k3s/registries.yaml",
    "/etc/rancher/k3s/config.yaml",
    "/etc/containerd/config.toml",
    "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    DOCKER_DAEMON_JSON,
];

/// Docker's daemon configuration. Only its registry keys are collected ([`DOCKER_REGISTRY_KEYS`]): the
/// file may also hold proxy URLs with credentials.
pub const DOCKER_DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const DOCKER_REGISTRY_KEYS: &[&str] = &["insecure-registries", "registry-mirrors"];

/// Directories of CA certificates an administrator adds to the system trust store (Debian/Ubuntu's
/// `update-ca-certificates` source, RHEL's `update-ca-trust` anchors). containerd verifies registries against
/// the system roots, which these feed. Only fingerprints of their certificates are collected.
pub const TRUST_STORE_DIRS: &[&str] = &[
    "/usr/local/share/ca-certificates",
    "/etc/pki/ca-trust/source/anchors",
];

/// Directories whose `*/hosts.toml` files are collected (containerd's per-registry host config).
pub const CERTS_D_DIRS: &[&str] = &[
    "/etc/containerd/certs.d",
    "/var/lib/rancher/k3s/agent/etc/containerd/certs.d",
];

/// Credential files: only their mode and owner are collected, never their contents.
pub const CREDENTIAL_FILES: &[&str] = &[
    "/etc/rancher/k3s/k3s.yaml",
    "/var/lib/rancher/k3s/server/node-token",
    "/var/lib/rancher/k3s/server/token",
    "/etc/kubernetes/admin.conf",
];

/// Files whose presence tells the node's k3s role. Only their mode and owner are collected, never their
/// contents: a unit's command line may carry `--token`.
pub const ROLE_FILES: &[&str] = &[
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
];

/// Files that exist only on a k3s server: its admin kubeconfig, its tokens, its systemd unit (agents run
/// `k3s-agent.service` and have none of these).
pub const K3S_SERVER_MARKERS: &[&str] = &[
    "/etc/rancher/k3s/k3s.yaml",
    "/var/lib/rancher/k3s/server/token",
    "/var/lib/rancher/k3s/server/node-token",
    "/etc/systemd/system/k3s.service",
];

/// Paths whose filesystem usage is measured: the node filesystem and the image filesystems.
pub const DISK_PATHS: &[&str] = &[
    "/",
    "/var/lib/rancher",
    "/var/lib/containerd",
    "/var/lib/kubelet",
];

/// The facts of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    pub schema: String,
    pub node: String,
    pub collected_at: String,
    /// Collected files by absolute node path.
    #[serde(default)]
    pub files: BTreeMap<String, FileFact>,
    /// Filesystem usage by absolute node path.
    #[serde(default)]
    pub disks: BTreeMap<String, DiskUsage>,
    /// `k3s`, `containerd`: the version lines the binaries print, when found.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

impl HostFacts {
    /// The node's `/etc/hosts`: each name with the addresses it maps to, in file order. Empty when the file
    /// was not collected (see [`HostFacts::has_etc_hosts`]).
    pub fn etc_hosts(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let text = self
            .files
            .get("/etc/hosts")
            .and_then(|f| f.content.as_deref())
            .unwrap_or("");
        for line in text.lines() {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            let Some(addr) = words.next() else { continue };
            for name in words {
                out.entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(addr.to_string());
            }
        }
        out
    }

    /// Whether `/etc/hosts` was collected with its content.
    pub fn has_etc_hosts(&self) -> bool {
        self.files
            .get("/etc/hosts")
            .is_some_and(|f| f.content.is_some())
    }

    /// The files that show this node is a k3s server (empty when none does).
    pub fn k3s_server_markers(&self) -> Vec<&'static str> {
        K3S_SERVER_MARKERS
            .iter()
            .copied()
            .filter(|p| self.files.contains_key(*p))
            .collect()
    }
}

/// A file on the node: its permission bits and, for configuration files, its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFact {
    /// Permission bits, e.g. 420 (0o644).
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// SHA-256 fingerprints (`AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints them) of the
    /// certificates in a CA file; collected for certificate files only, never for keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sha256: Vec<String>,
}

impl FileFact {
    /// Readable by users other than the owner and group.
    pub fn world_readable(&self) -> bool {
        self.mode & 0o004 != 0
    }
    pub fn group_readable(&self) -> bool {
        self.mode & 0o040 != 0
    }
}

/// Usage of the filesystem holding a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    pub total_bytes: u64,
    /// Bytes available to unprivileged users (what `df` calls Avail and kubelet calls available).
    pub available_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

impl DiskUsage {
    /// Available space as a percentage of the total (100 when the size is unknown).
    pub fn available_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            100.0
        } else {
            self.available_bytes as f64 * 100.0 / self.total_bytes as f64
        }
    }
    pub fn free_inodes_percent(&self) -> f64 {
        if self.total_inodes == 0 {
            100.0
        } else {
            self.free_inodes as f64 * 100.0 / self.total_inodes as f64
        }
    }
}

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509 -noout -fingerprint -sha256` prints it.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The fingerprints of every `CERTIFICATE` block of a PEM text (other blocks, such as keys, are skipped
/// unread); a DER file gives its one fingerprint.
pub fn pem_fingerprints(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = x509_parser::pem::Pem::iter_from_buffer(bytes)
        .filter_map(Result::ok)
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| sha256_fingerprint(&b.contents))
        .collect();
    if out.is_empty() && x509_parser::parse_x509_certificate(bytes).is_ok() {
        out.push(sha256_fingerprint(bytes));
    }
    out
}
