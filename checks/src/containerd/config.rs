//! A node's registry configuration, parsed from its host facts: k3s `registries.yaml`, containerd
//! `config.toml` (legacy CRI `registry.mirrors`/`configs`, `config_path`) and `certs.d/<host>/hosts.toml`.
//! Malformed YAML or TOML gives an error with line and column; nothing here panics.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::reference::{is_localhost, split_port};
use crate::evidence::host::{CERTS_D_DIRS, HostFacts};

pub const K3S_REGISTRIES: &str = "/etc/rancher/k3s/registries.yaml";
pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
pub const K3S_CONTAINERD_CONFIG: &str = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml";
pub const K3S_CERTS_D: &str = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d";

/// A dotted version as (major, minor, patch).
pub type Version = (u32, u32, u32);

/// A parse error in one node file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = match e.span() {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    ConfigError {
        file: file.to_string(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// k3s registries.yaml (rancher/wharfie pkg/registries/types.go)

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct K3sRegistries {
    #[serde(default)]
    pub mirrors: BTreeMap<String, K3sMirror>,
    #[serde(default)]
    pub configs: BTreeMap<String, RegistryConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct K3sMirror {
    #[serde(default)]
    pub endpoint: Vec<String>,
    #[serde(default)]
    pub rewrite: BTreeMap<String, String>,
}

/// `configs.<host>`: auth and TLS, shared by registries.yaml and containerd's legacy `registry.configs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RegistryConfig {
    #[serde(default)]
    pub auth: Option<Auth>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Auth {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub identitytoken: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

pub fn parse_registries_yaml(text: &str) -> Result<K3sRegistries, ConfigError> {
    if text.trim().is_empty() {
        return Ok(K3sRegistries::default());
    }
    serde_saphyr::from_str_with_options::<K3sRegistries>(text, registries_yaml_budget()).map_err(
        |e| {
            let msg = e.to_string();
            let (line, column) = yaml_location(&msg);
            ConfigError {
                file: K3S_REGISTRIES.to_string(),
                line,
                column,
                message: msg,
            }
        },
    )
}

/// registries.yaml is a few dozen lines: a budget far below serde-saphyr's default (250,000 nodes) ends an
/// alias bomb in milliseconds rather than seconds, and the file is parsed by several checks.
fn registries_yaml_budget() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000;
    budget.max_aliases = 1_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// serde-saphyr writes locations as `line N column M` (or `line N, column M`).
fn yaml_location(msg: &str) -> (Option<usize>, Option<usize>) {
    let num_after = |key: &str| {
        msg.find(key).and_then(|i| {
            msg[i + key.len()..]
                .trim_start_matches([' ', ':'])
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
    };
    (num_after("line"), num_after("column"))
}

// ---------------------------------------------------------------------------------------------
// containerd config.toml (CRI plugin registry section)

/// What config.toml says about registries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerdRegistry {
    /// `config_path` roots (split on `:`), empty when unset or "".
    pub config_path: Vec<String>,
    /// Legacy `registry.mirrors.<host>.endpoint`.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Legacy `registry.configs.<host>` (auth and TLS).
    pub configs: BTreeMap<String, RegistryConfig>,
}

fn cri_plugin(doc: &toml::Table) -> Option<&toml::Table> {
    let plugins = doc.get("plugins")?.as_table()?;
    [
        "io.containerd.grpc.v1.cri",
        "io.containerd.cri.v1.images",
        "cri",
    ]
    .iter()
    .find_map(|k| plugins.get(*k).and_then(|v| v.as_table()))
}

pub fn parse_containerd_config(file: &str, text: &str) -> Result<ContainerdRegistry, ConfigError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let mut out = ContainerdRegistry::default();
    let Some(reg) = cri_plugin(&doc)
        .and_then(|c| c.get("registry"))
        .and_then(|r| r.as_table())
    else {
        return Ok(out);
    };
    if let Some(p) = reg.get("config_path").and_then(|v| v.as_str()) {
        out.config_path = p
            .split(':')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    if let Some(m) = reg.get("mirrors").and_then(|v| v.as_table()) {
        for (host, v) in m {
            let endpoints = v
                .get("endpoint")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            out.mirrors.insert(host.clone(), endpoints);
        }
    }
    if let Some(c) = reg.get("configs").and_then(|v| v.as_table()) {
        for (host, v) in c {
            let cfg: RegistryConfig = v.clone().try_into().unwrap_or_default();
            out.configs.insert(host.clone(), cfg);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// hosts.toml (containerd docs/hosts.md)

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostEntry {
    /// The URL as written, e.g. `http://registry.local:32000` or `https://m.example/v2`.
    pub url: String,
    /// `pull`, `resolve`, `push`; default all three.
    pub capabilities: Vec<String>,
    pub ca: Vec<String>,
    pub client: bool,
    pub skip_verify: bool,
    pub override_path: bool,
    /// k3s's `[host."<url>".rewrite]` table: repository regex → replacement, applied on this host only
    /// (k3s's containerd; upstream containerd ignores the table).
    pub rewrite: Vec<(String, String)>,
}

impl HostEntry {
    pub fn has_tls_config(&self) -> bool {
        !self.ca.is_empty() || self.client || self.skip_verify
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostsToml {
    pub server: Option<String>,
    /// The server entry's own settings (top-level `ca`, `skip_verify`, `capabilities`...).
    pub server_entry: HostEntry,
    /// `[host."<url>"]` tables in file order.
    pub hosts: Vec<HostEntry>,
    /// The file has a `host` tree (containerd before 1.7.32 rejects files without one).
    pub has_host_tree: bool,
}

fn strings(v: Option<&toml::Value>) -> Vec<String> {
    match v {
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Array(pair) => pair.first().and_then(|p| p.as_str()).map(String::from),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn entry(url: &str, t: &toml::Table) -> HostEntry {
    HostEntry {
        url: url.to_string(),
        capabilities: if t.contains_key("capabilities") {
            strings(t.get("capabilities"))
        } else {
            vec!["pull".into(), "resolve".into(), "push".into()]
        },
        ca: strings(t.get("ca")),
        client: t.contains_key("client"),
        skip_verify: t
            .get("skip_verify")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        override_path: t
            .get("override_path")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        rewrite: t
            .get("rewrite")
            .and_then(|v| v.as_table())
            .into_iter()
            .flatten()
            .filter_map(|(pattern, to)| Some((pattern.clone(), to.as_str()?.to_string())))
            .collect(),
    }
}

pub fn parse_hosts_toml(file: &str, text: &str) -> Result<HostsToml, ConfigError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let server = doc.get("server").and_then(|v| v.as_str()).map(String::from);
    let mut out = HostsToml {
        server_entry: entry(server.as_deref().unwrap_or(""), &doc),
        server,
        hosts: Vec::new(),
        has_host_tree: false,
    };
    if let Some(h) = doc.get("host").and_then(|v| v.as_table()) {
        out.has_host_tree = true;
        for (url, v) in h {
            if let Some(t) = v.as_table() {
                out.hosts.push(entry(url, t));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The node view

/// One `certs.d/<dir>` directory on a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostsDir {
    /// hosts.toml text, when the file exists.
    pub hosts_toml: Option<String>,
    /// Docker-style certificate files in the directory (`*.crt`, `*.cert`, `*.key`).
    pub cert_files: Vec<String>,
}

/// Which software wrote the registry configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    K3s,
    Containerd,
}

/// The effective registry configuration containerd on one node runs with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeRegistry {
    pub config_path: Vec<String>,
    pub mirrors: BTreeMap<String, Vec<String>>,
    pub configs: BTreeMap<String, RegistryConfig>,
    /// `certs.d` directories by full path (`<root>/<name>`).
    pub dirs: BTreeMap<String, HostsDir>,
}

/// A dotted version (`v1.6.20`, `1.29.3+k3s1`, a `--version` line) as (major, minor, patch).
pub fn parse_version(s: &str) -> Option<Version> {
    let word = s.split_whitespace().find(|w| {
        w.trim_start_matches('v')
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
            && w.contains('.')
    })?;
    let core = word.trim_start_matches('v').split(['+', '-', '~']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let major = it.next()??;
    let minor = it.next().flatten().unwrap_or(0);
    let patch = it.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// Everything one node's facts say about registries.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    pub node: String,
    pub distribution: Distribution,
    pub k3s_version: Option<Version>,
    /// The containerd version: collected, else the one the k3s minor bundles.
    pub containerd_version: Option<Version>,
    /// k3s registries.yaml, when present and valid.
    pub registries_yaml: Option<K3sRegistries>,
    pub effective: NodeRegistry,
    pub errors: Vec<ConfigError>,
    /// What the effective configuration was read from: the files found on the node, or `registries.yaml`
    /// as this k3s renders it when its rendered files were not collected (an older `host-facts`, a bundle).
    pub rests_on: Vec<String>,
    /// Registry hosts whose rendered configuration (what containerd runs with) is not what the node's
    /// `registries.yaml` renders to, k3s not having been restarted since the edit: (host, how they differ).
    pub stale_render: Vec<(String, String)>,
}

/// Why a configuration file present on a node has no content in its facts.
fn unread_file(size: u64) -> String {
    use crate::evidence::live_host::MAX_CONTENT_BYTES;
    if size > MAX_CONTENT_BYTES {
        format!(
            "{size} bytes, more than the {} MiB mcp-doctor reads of a configuration file: it was not read, so it cannot be judged",
            MAX_CONTENT_BYTES >> 20
        )
    } else {
        "not UTF-8 text (or unreadable): k3s and containerd refuse such a file".into()
    }
}

impl NodeFacts {
    pub fn from_host(facts: &HostFacts) -> NodeFacts {
        let content = |p: &str| facts.files.get(p).and_then(|f| f.content.clone());
        let k3s_version = facts.versions.get("k3s").and_then(|v| parse_version(v));
        let containerd_version = facts
            .versions
            .get("containerd")
            .and_then(|v| parse_version(v));
        let is_k3s = k3s_version.is_some()
            || facts.files.contains_key(K3S_REGISTRIES)
            || facts
                .files
                .keys()
                .any(|k| k.starts_with("/var/lib/rancher/k3s"));
        let mut errors = Vec::new();
        let mut dirs = BTreeMap::new();
        for (path, f) in &facts.files {
            if let Some(dir) = path.strip_suffix("/hosts.toml") {
                dirs.entry(dir.to_string())
                    .or_insert_with(HostsDir::default)
                    .hosts_toml = f.content.clone();
            } else if let Some((dir, name)) = path.rsplit_once('/')
                && [".crt", ".cert", ".key"].iter().any(|x| name.ends_with(x))
                && CERTS_D_DIRS
                    .iter()
                    .any(|root| dir.rsplit_once('/').is_some_and(|(r, _)| r == *root))
            {
                let d: &mut HostsDir = dirs.entry(dir.to_string()).or_default();
                d.cert_files.push(name.to_string());
            }
        }
        let registries_yaml =
            content(K3S_REGISTRIES).and_then(|t| match parse_registries_yaml(&t) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(e);
                    None
                }
            });
        let config_file = if is_k3s {
            K3S_CONTAINERD_CONFIG
        } else {
            CONTAINERD_CONFIG
        };
        // A registry file that is there but was not read (too large, not UTF-8) cannot be judged valid.
        for (path, f) in &facts.files {
            let parsed_here =
                path == K3S_REGISTRIES || path == config_file || path.ends_with("/hosts.toml");
            if parsed_here && f.content.is_none() {
                errors.push(ConfigError {
                    file: path.clone(),
                    line: None,
                    column: None,
                    message: unread_file(f.size),
                });
            }
        }
        let mut effective = NodeRegistry {
            dirs,
            ..NodeRegistry::default()
        };
        let mut rests_on = Vec::new();
        let mut stale_render = Vec::new();
        match content(config_file) {
            Some(text) => match parse_containerd_config(config_file, &text) {
                Ok(c) => {
                    rests_on.push(config_file.to_string());
                    effective.config_path = c.config_path;
                    effective.mirrors = c.mirrors;
                    effective.configs = c.configs;
                    if is_k3s {
                        // containerd follows what k3s rendered at its last start, not registries.yaml.
                        let rendered = render_k3s(registries_yaml.as_ref(), k3s_version);
                        stale_render = render_differences(&rendered, &effective);
                    }
                }
                Err(e) => errors.push(e),
            },
            None if is_k3s => {
                // k3s renders registries.yaml at start: model what it writes.
                rests_on.push(match &registries_yaml {
                    Some(_) => format!(
                        "{K3S_REGISTRIES} as k3s renders it (the rendered {K3S_CONTAINERD_CONFIG} was not collected)"
                    ),
                    None => format!(
                        "k3s defaults (no {K3S_REGISTRIES}; the rendered {K3S_CONTAINERD_CONFIG} was not collected)"
                    ),
                });
                let rendered = render_k3s(registries_yaml.as_ref(), k3s_version);
                effective.config_path = rendered.config_path;
                effective.mirrors = rendered.mirrors;
                effective.configs = rendered.configs;
                effective.dirs.extend(rendered.dirs);
            }
            None => {
                rests_on.push(format!("containerd defaults (no {config_file} collected)"));
                // containerd 2.x defaults config_path when nothing legacy is set.
                if containerd_version.is_some_and(|v| v.0 >= 2) {
                    effective.config_path = vec![
                        "/etc/containerd/certs.d".into(),
                        "/etc/docker/certs.d".into(),
                    ];
                }
            }
        }
        for (dir, d) in &effective.dirs {
            if let Some(t) = &d.hosts_toml {
                let file = format!("{dir}/hosts.toml");
                if facts.files.contains_key(&file) {
                    rests_on.push(file.clone());
                }
                if let Err(e) = parse_hosts_toml(&file, t) {
                    errors.push(e);
                }
            }
        }
        NodeFacts {
            node: facts.node.clone(),
            distribution: if is_k3s {
                Distribution::K3s
            } else {
                Distribution::Containerd
            },
            k3s_version,
            containerd_version: containerd_version
                .or_else(|| k3s_version.map(k3s_bundled_containerd)),
            registries_yaml,
            effective,
            errors,
            rests_on,
            stale_render,
        }
    }
}

/// Per registry host, the endpoints a configuration sends it to: legacy `mirrors` endpoints, or the
/// `[host]` URLs of k3s's rendered `certs.d/<host>/hosts.toml` (unparsable files count as empty). URLs are
/// compared without the `/v2` path k3s writes into hosts.toml (with `override_path`).
fn endpoints_by_host(reg: &NodeRegistry) -> BTreeMap<String, Vec<String>> {
    let bare = |url: &str| {
        url.trim_end_matches('/')
            .trim_end_matches("/v2")
            .to_string()
    };
    let mut out: BTreeMap<String, Vec<String>> = reg
        .mirrors
        .iter()
        .map(|(host, endpoints)| (host.clone(), endpoints.iter().map(|e| bare(e)).collect()))
        .collect();
    for (dir, d) in &reg.dirs {
        let Some(host) = dir.strip_prefix(&format!("{K3S_CERTS_D}/")) else {
            continue;
        };
        let urls = d
            .hosts_toml
            .as_deref()
            .and_then(|t| parse_hosts_toml(dir, t).ok())
            .map(|h| h.hosts.iter().map(|e| bare(&e.url)).collect())
            .unwrap_or_default();
        out.insert(host.to_string(), urls);
    }
    out
}

/// How what `registries.yaml` renders to differs from what k3s rendered last, per registry host.
fn render_differences(wanted: &NodeRegistry, running: &NodeRegistry) -> Vec<(String, String)> {
    let (wanted, running) = (endpoints_by_host(wanted), endpoints_by_host(running));
    let hosts: std::collections::BTreeSet<&String> = wanted.keys().chain(running.keys()).collect();
    let shown = |e: Option<&Vec<String>>| match e {
        Some(e) if !e.is_empty() => e.join(", "),
        Some(_) => "no endpoint (the registry itself)".to_string(),
        None => "no entry".to_string(),
    };
    hosts
        .into_iter()
        .filter(|h| wanted.get(*h) != running.get(*h))
        .map(|h| {
            let how = format!(
                "{K3S_REGISTRIES} says {}, containerd runs with {}",
                shown(wanted.get(h)),
                shown(running.get(h))
            );
            (h.clone(), how)
        })
        .collect()
}

impl NodeFacts {
    /// How k3s's last rendering of `host` differs from `registries.yaml`, when k3s was not restarted since
    /// an edit that concerns it.
    pub fn stale_render_of(&self, host: &str) -> Option<&str> {
        self.stale_render
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, how)| how.as_str())
    }
}

/// The containerd a k3s minor embeds (approximate: a recent release of that minor's line).
pub fn k3s_bundled_containerd(k3s: Version) -> Version {
    match k3s.1 {
        32.. => (2, 0, 4),
        29..=31 => (1, 7, 23),
        _ => (1, 7, 11),
    }
}

fn at_least(v: Version, gates: &[Version], from_minor: u32) -> bool {
    if v.0 > 1 || v.1 >= from_minor {
        return true;
    }
    gates.iter().any(|g| g.0 == v.0 && g.1 == v.1 && v.2 >= g.2)
}

/// k3s writes hosts.toml files (config_path) from the January 2024 releases.
pub fn k3s_uses_hosts_toml(v: Version) -> bool {
    at_least(v, &[(1, 26, 13), (1, 27, 10), (1, 28, 6), (1, 29, 1)], 30)
}

/// k3s renders a `"*"` mirror into `_default` from the March 2024 releases.
pub fn k3s_supports_wildcard(v: Version) -> bool {
    at_least(v, &[(1, 26, 15), (1, 27, 12), (1, 28, 8), (1, 29, 3)], 30)
}

/// k3s's `normalizeEndpointAddress`: (url without a trailing `/v2`, override_path).
pub fn k3s_normalize_endpoint(raw: &str) -> (String, bool) {
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (Some(s.to_string()), r),
        None => (None, raw),
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let hostport = if hostport == "docker.io" {
        "registry-1.docker.io"
    } else {
        hostport
    };
    let scheme = scheme.unwrap_or_else(|| {
        let port = split_port(hostport).1;
        if is_localhost(hostport) && port.is_some_and(|p| p != "443") {
            "http".into()
        } else {
            "https".into()
        }
    });
    let path = path.trim_end_matches('/');
    let override_path = !(path.is_empty() || path == "/v2");
    (
        format!(
            "{scheme}://{hostport}{}",
            if override_path { path } else { "" }
        ),
        override_path,
    )
}

/// What k3s writes for a registries.yaml: legacy mirrors before the January 2024 releases, one hosts.toml per
/// registry after (`"*"` as `_default` from the March 2024 releases).
pub fn render_k3s(reg: Option<&K3sRegistries>, k3s: Option<Version>) -> NodeRegistry {
    let mut out = NodeRegistry::default();
    let hosts_mode = k3s.is_none_or(k3s_uses_hosts_toml);
    let Some(reg) = reg else {
        if hosts_mode {
            out.config_path = vec![K3S_CERTS_D.into()];
        }
        return out;
    };
    if !hosts_mode {
        for (k, m) in &reg.mirrors {
            out.mirrors.insert(k.clone(), m.endpoint.clone());
        }
        out.configs = reg.configs.clone();
        return out;
    }
    out.config_path = vec![K3S_CERTS_D.into()];
    out.configs = reg
        .configs
        .iter()
        .map(|(k, c)| {
            (
                k.clone(),
                RegistryConfig {
                    auth: c.auth.clone(),
                    tls: None,
                },
            )
        })
        .collect();
    let wildcard = k3s.is_none_or(k3s_supports_wildcard);
    let mut keys: Vec<&String> = reg.mirrors.keys().collect();
    for k in reg.configs.keys() {
        if !reg.mirrors.contains_key(k) && k != "*" {
            keys.push(k);
        }
    }
    for key in keys {
        let dir = if key == "*" {
            if !wildcard {
                continue;
            }
            "_default".to_string()
        } else {
            key.clone()
        };
        let upstream = if key == "docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            key.clone()
        };
        let mut text = String::from("# File generated by k3s. DO NOT EDIT.\n");
        if key != "*" {
            text.push_str(&format!(
                "server = \"https://{upstream}/v2\"\ncapabilities = [\"pull\", \"resolve\"]\n"
            ));
            if let Some(tls) = reg.configs.get(key).and_then(|c| c.tls.as_ref()) {
                push_tls(&mut text, tls);
            }
        }
        let endpoints = reg
            .mirrors
            .get(key)
            .map(|m| m.endpoint.clone())
            .unwrap_or_default();
        for ep in endpoints {
            let (url, override_path) = k3s_normalize_endpoint(&ep);
            if url == format!("https://{upstream}") {
                continue;
            }
            let host = url
                .split_once("://")
                .map(|(_, r)| r.split('/').next().unwrap_or(r))
                .unwrap_or(&url)
                .to_string();
            text.push_str(&format!(
                "\n[host.\"{url}{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
                if override_path { "" } else { "/v2" }
            ));
            if override_path {
                text.push_str("  override_path = true\n");
            }
            if let Some(tls) = reg.configs.get(&host).and_then(|c| c.tls.as_ref()) {
                push_tls(&mut text, tls);
            }
            // Last: the rewrite table is a sub-table of this host's table.
            let rewrite = reg.mirrors.get(key).map(|m| &m.rewrite);
            if let Some(rules) = rewrite.filter(|r| !r.is_empty()) {
                text.push_str(&format!(
                    "  [host.\"{url}{}\".rewrite]\n",
                    if override_path { "" } else { "/v2" }
                ));
                for (pattern, to) in rules {
                    text.push_str(&format!(
                        "    {} = {}\n",
                        toml_string(pattern),
                        toml_string(to)
                    ));
                }
            }
        }
        out.dirs.insert(
            format!("{K3S_CERTS_D}/{dir}"),
            HostsDir {
                hosts_toml: Some(text),
                cert_files: Vec::new(),
            },
        );
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn push_tls(text: &mut String, tls: &TlsConfig) {
    if let Some(ca) = &tls.ca_file {
        text.push_str(&format!("  ca = [{ca:?}]\n"));
    }
    if let (Some(c), Some(k)) = (&tls.cert_file, &tls.key_file) {
        text.push_str(&format!("  client = [[{c:?}, {k:?}]]\n"));
    }
    if tls.insecure_skip_verify {
        text.push_str("  skip_verify = true\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_toml_has_line_and_column() {
        let e = parse_hosts_toml("/x/hosts.toml", "server = \"http://a\n[host]").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.column.is_some(), "{e}");
        let e = parse_containerd_config("/c.toml", "version = 2\n[plugins\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn malformed_yaml_has_a_line() {
        let e = parse_registries_yaml(
            "mirrors:\n  registry.local:\n    endpoint: [\"http://a\"\n  x: [",
        )
        .unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert!(parse_registries_yaml("mirrors: 3").is_err());
    }

    #[test]
    fn parses_all_three_formats() {
        let r = parse_registries_yaml(
            "mirrors:\n  \"*\":\n    endpoint: [\"http://m:5000\"]\n  registry.local:32000:\n    endpoint:\n      - http://registry.local:32000\n    rewrite:\n      \"^(.*)$\": \"mcp/$1\"\nconfigs:\n  registry.local:32000:\n    tls:\n      insecure_skip_verify: true\n    auth:\n      username: u\n",
        )
        .unwrap();
        assert_eq!(
            r.mirrors["registry.local:32000"].endpoint,
            ["http://registry.local:32000"]
        );
        assert!(r.mirrors.contains_key("*"));
        assert!(
            r.configs["registry.local:32000"]
                .tls
                .as_ref()
                .unwrap()
                .insecure_skip_verify
        );
        let c = parse_containerd_config(
            "/c",
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/a:/b\"\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n  endpoint = [\"http://m:5000\"]\n[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"m:5000\".tls]\n  ca_file = \"/ca.crt\"\n",
        )
        .unwrap();
        assert_eq!(c.config_path, ["/a", "/b"]);
        assert_eq!(c.mirrors["docker.io"], ["http://m:5000"]);
        assert_eq!(
            c.configs["m:5000"].tls.as_ref().unwrap().ca_file.as_deref(),
            Some("/ca.crt")
        );
        let h = parse_hosts_toml(
            "/h",
            "server = \"https://registry-1.docker.io\"\n[host.\"http://b:1\"]\n  capabilities = [\"pull\"]\n[host.\"http://a:1\"]\n  ca = \"ca.crt\"\n",
        )
        .unwrap();
        assert_eq!(h.hosts[0].url, "http://b:1", "file order is kept");
        assert_eq!(h.hosts[0].capabilities, ["pull"]);
        assert_eq!(h.hosts[1].ca, ["ca.crt"]);
    }

    #[test]
    fn k3s_endpoint_normalisation() {
        assert_eq!(
            k3s_normalize_endpoint("localhost:5000"),
            ("http://localhost:5000".into(), false)
        );
        assert_eq!(
            k3s_normalize_endpoint("registry.local:32000"),
            ("https://registry.local:32000".into(), false)
        );
        assert_eq!(
            k3s_normalize_endpoint("http://r:1/v2"),
            ("http://r:1".into(), false)
        );
        assert_eq!(
            k3s_normalize_endpoint("https://r/mirror/v2"),
            ("https://r/mirror/v2".into(), true)
        );
        assert_eq!(
            k3s_normalize_endpoint("docker.io"),
            ("https://registry-1.docker.io".into(), false)
        );
    }

    #[test]
    fn certificate_files_make_a_directory_match() {
        let mut f = HostFacts {
            schema: "mcp-doctor.host-facts/v1".into(),
            node: "n".into(),
            collected_at: String::new(),
            files: Default::default(),
            disks: Default::default(),
            versions: Default::default(),
        };
        let fact = crate::evidence::host::FileFact {
            mode: 0o644,
            uid: 0,
            size: 1,
            content: None,
            sha256: Vec::new(),
        };
        f.files.insert(
            "/etc/containerd/certs.d/registry.local:5443/ca.crt".into(),
            fact,
        );
        let n = NodeFacts::from_host(&f);
        let d = &n.effective.dirs["/etc/containerd/certs.d/registry.local:5443"];
        assert_eq!(d.hosts_toml, None);
        assert_eq!(d.cert_files, ["ca.crt"]);
    }

    #[test]
    fn versions_and_gates() {
        assert_eq!(
            parse_version("k3s version v1.32.3+k3s1 (079ffa8d)"),
            Some((1, 32, 3))
        );
        assert_eq!(
            parse_version("containerd github.com/containerd/containerd 1.6.20~ds1 abc"),
            Some((1, 6, 20))
        );
        assert!(k3s_uses_hosts_toml((1, 29, 1)) && !k3s_uses_hosts_toml((1, 29, 0)));
        assert!(!k3s_supports_wildcard((1, 28, 6)) && k3s_supports_wildcard((1, 28, 8)));
    }
}
