//! The mirror-matching simulator: from a node's effective registry configuration, its containerd version and
//! an image reference, the ordered endpoints containerd tries (scheme, TLS settings, capabilities, upstream
//! fallback), and against a model of what each registry speaks, the outcome the kubelet shows.
//!
//! Rules (containerd `remotes/docker/config/hosts.go`, `config_unix.go`, `resolver.go`,
//! `pkg/cri/server/image_pull.go`; the survey in the reference notes):
//! - legacy CRI `registry.mirrors`: exact host key, else `"*"`; scheme-less endpoints are `https` unless
//!   localhost; upstream appended unless an endpoint already is the registry host; `configs` keyed by the
//!   endpoint's host; `mirrors` together with `config_path` stops the CRI plugin from loading;
//! - `config_path`: per root, `<host>_<port>_`, `<host:port>`, `_default`, first existing wins, exact and
//!   case-sensitive; no hosts.toml, a malformed one, or (before 1.7.32) one without a `host` tree falls back
//!   to the default host with the directory's `*.crt` files; hosts in file order, then `server` or the
//!   registry itself;
//! - tag references resolve only on `resolve` hosts, digests on `pull` hosts; a 404 moves on silently; the
//!   error that surfaces is the first non-404 failure, or `<ref>: not found`;
//! - localhost: plain HTTP before 1.6.25/1.7.8, HTTPS-first with HTTP fallback on other ports after.
//!
//! `checks/tests/containerd_differential.rs` holds these predictions, message for message, to a real
//! containerd pulling through CRI; `assumed_behaviour` says which version rules a prediction used.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{HostEntry, NodeRegistry, RegistryConfig, Version, parse_hosts_toml};
use super::reference::{ImageRef, is_localhost, split_port};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One host containerd tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// `host[:port]` as in the URL.
    pub host: String,
    /// `/v2`, or the path as written with `override_path`.
    pub path: String,
    pub resolve: bool,
    pub pull: bool,
    pub ca: Vec<String>,
    pub skip_verify: bool,
    /// Newer containerd tries HTTPS first, then plain HTTP (localhost on odd ports, or `http://` hosts with a
    /// TLS configuration).
    pub https_then_http: bool,
    /// A mirror: requests carry `?ns=<registry>`.
    pub mirror: bool,
    /// Where the entry comes from: `certs.d/<dir>/hosts.toml`, `registry.mirrors."<key>"`, `default`.
    pub source: String,
    /// k3s rewrite rules (repository regex → replacement) for requests to this host, in file order.
    pub rewrite: Vec<(String, String)>,
}

impl Endpoint {
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.host, self.path)
    }
}

/// The endpoints containerd tries for one reference, with what it logs along the way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub endpoints: Vec<Endpoint>,
    /// The `certs.d` directory used, when one matched.
    pub dir: Option<String>,
    /// Log lines containerd writes while building the plan (`failed to decode hosts.toml`...).
    pub notes: Vec<String>,
    /// The CRI plugin did not load: every pull fails before any host is tried.
    pub fatal: Option<String>,
}

/// `ctr` flags for the no-configuration cases (`--plain-http`, `--tlscacert`, `--skip-verify`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFlags {
    pub plain_http: bool,
    pub tls_ca: Option<String>,
    pub skip_verify: bool,
}

fn before(v: Option<Version>, gates: &[Version]) -> bool {
    let Some(v) = v else { return false };
    if v.0 != 1 {
        return false;
    }
    match gates.iter().find(|g| g.1 == v.1) {
        Some(g) => v.2 < g.2,
        None => gates.iter().all(|g| v.1 < g.1),
    }
}

/// containerd before 1.6.25 / 1.7.8: localhost is plain HTTP, and `http://` with TLS settings stays HTTP.
pub fn old_localhost_rule(v: Option<Version>) -> bool {
    before(v, &[(1, 6, 25), (1, 7, 8)])
}

/// containerd 1.6.x and 1.7.0-1.7.31 reject a hosts.toml without a `host` tree.
pub fn requires_host_tree(v: Option<Version>) -> bool {
    v.is_some_and(|v| v.0 == 1 && (v.1 < 7 || (v.1 == 7 && v.2 < 32)))
}

/// The version-dependent rules the simulator applies for `v`, in words: what a prediction assumed.
pub fn assumed_behaviour(v: Option<Version>) -> String {
    let version = match v {
        Some((a, b, c)) => format!("containerd {a}.{b}.{c}"),
        None => "containerd of unknown version (the newest rules)".into(),
    };
    let localhost = if old_localhost_rule(v) {
        "localhost and loopback hosts are plain HTTP with skip-verify, `http://` hosts stay HTTP \
         (before 1.6.25/1.7.8)"
    } else {
        "localhost on ports other than 80/443, and `http://` hosts with TLS settings, try HTTPS first, then \
         HTTP (1.6.25/1.7.8 and later)"
    };
    let host_tree = if requires_host_tree(v) {
        "a hosts.toml without a `host` tree is rejected (before 1.7.32)"
    } else {
        "a hosts.toml with only `server` is used (1.7.32 and later)"
    };
    format!("{version}: {localhost}; {host_tree}")
}

/// The upstream host for a registry name (`docker.io` is served by `registry-1.docker.io`).
pub fn upstream_host(domain: &str) -> &str {
    if domain == "docker.io" {
        "registry-1.docker.io"
    } else {
        domain
    }
}

fn default_endpoint(domain: &str, v: Option<Version>, source: &str) -> Endpoint {
    let host = upstream_host(domain).to_string();
    let mut ep = Endpoint {
        scheme: Scheme::Https,
        host: host.clone(),
        path: "/v2".into(),
        resolve: true,
        pull: true,
        ca: Vec::new(),
        skip_verify: false,
        https_then_http: false,
        mirror: false,
        source: source.into(),
        rewrite: Vec::new(),
    };
    if is_localhost(&host) {
        if old_localhost_rule(v) {
            ep.scheme = Scheme::Http;
            ep.skip_verify = true;
        } else {
            match split_port(&host).1 {
                None | Some("443") => {}
                Some("80") => ep.scheme = Scheme::Http,
                Some(_) => {
                    ep.skip_verify = true;
                    ep.https_then_http = true;
                }
            }
        }
    }
    ep
}

/// Split a URL into (scheme, host, path); a missing scheme is `None`.
fn split_url(url: &str) -> (Option<&str>, &str, &str) {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    match rest.find('/') {
        Some(i) => (scheme, &rest[..i], &rest[i..]),
        None => (scheme, rest, ""),
    }
}

fn scheme_of(s: Option<&str>, host: &str) -> Scheme {
    match s {
        Some("http") => Scheme::Http,
        Some(_) => Scheme::Https,
        None if is_localhost(host) => Scheme::Http,
        None => Scheme::Https,
    }
}

fn hosts_entry(
    e: &HostEntry,
    registry_host: &str,
    v: Option<Version>,
    source: &str,
    is_server: bool,
) -> Endpoint {
    let (scheme, host, path) = split_url(&e.url);
    let host = if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    };
    let scheme = match scheme {
        Some("http") => Scheme::Http,
        _ => Scheme::Https,
    };
    let path = path.trim_end_matches('/');
    let path = if e.override_path || path.ends_with("/v2") {
        path.to_string()
    } else {
        format!("{path}/v2")
    };
    let caps = |c: &str| e.capabilities.iter().any(|x| x == c);
    Endpoint {
        scheme,
        host: host.to_string(),
        path,
        resolve: caps("resolve"),
        pull: caps("pull"),
        ca: e.ca.clone(),
        skip_verify: e.skip_verify,
        https_then_http: scheme == Scheme::Http && e.has_tls_config() && !old_localhost_rule(v),
        mirror: !is_server && host != registry_host,
        source: source.into(),
        rewrite: e.rewrite.clone(),
    }
}

/// The repository path requested from `ep`: k3s rewrites it with the first rule whose regex matches (a rule
/// that is not a valid regex never matches, as k3s skips it).
fn repository(ep: &Endpoint, path: &str) -> String {
    for (pattern, to) in &ep.rewrite {
        if let Ok(re) = regex::Regex::new(pattern)
            && re.is_match(path)
        {
            return re.replace(path, to.as_str()).into_owned();
        }
    }
    path.to_string()
}

fn tls_from(configs: &BTreeMap<String, RegistryConfig>, host: &str, ep: &mut Endpoint) {
    if let Some(tls) = configs.get(host).and_then(|c| c.tls.as_ref()) {
        ep.ca.extend(tls.ca_file.iter().cloned());
        ep.skip_verify |= tls.insecure_skip_verify;
    }
}

/// The `certs.d` directory names tried for a registry host, in order.
pub fn dir_candidates(domain: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let (h, Some(p)) = split_port(domain) {
        out.push(format!("{h}_{p}_"));
    }
    out.push(domain.to_string());
    out.push("_default".into());
    out
}

/// The endpoints containerd tries for `r` on a node.
pub fn plan(reg: &NodeRegistry, v: Option<Version>, r: &ImageRef, flags: &ClientFlags) -> Plan {
    let domain = r.domain.as_str();
    let upstream = upstream_host(domain).to_string();
    let mut plan = Plan::default();
    if !reg.mirrors.is_empty() && !reg.config_path.is_empty() {
        plan.fatal = Some(
            "failed to load plugin io.containerd.grpc.v1.cri: invalid plugin config: `mirrors` cannot be set \
             when `config_path` is provided"
                .into(),
        );
        return plan;
    }
    if reg.config_path.is_empty() {
        // Legacy CRI mirrors (or nothing at all).
        let (key, endpoints) = match reg.mirrors.get(domain) {
            Some(e) => (domain, e.as_slice()),
            None => match reg.mirrors.get("*") {
                Some(e) => ("*", e.as_slice()),
                None => (domain, &[][..]),
            },
        };
        for raw in endpoints {
            let (s, host, path) = split_url(raw);
            let path = path.trim_end_matches('/');
            let mut ep = Endpoint {
                scheme: scheme_of(s, host),
                host: host.to_string(),
                path: if path.is_empty() {
                    "/v2".into()
                } else if path.ends_with("/v2") {
                    path.into()
                } else {
                    format!("{path}/v2")
                },
                resolve: true,
                pull: true,
                ca: Vec::new(),
                skip_verify: false,
                https_then_http: false,
                mirror: host != upstream,
                source: format!("registry.mirrors.\"{key}\""),
                rewrite: Vec::new(),
            };
            tls_from(&reg.configs, host, &mut ep);
            plan.endpoints.push(ep);
        }
        if !plan.endpoints.iter().any(|e| e.host == upstream) {
            let mut ep = default_endpoint(domain, v, "default");
            tls_from(&reg.configs, &ep.host.clone(), &mut ep);
            apply_flags(&mut ep, flags);
            plan.endpoints.push(ep);
        }
        return plan;
    }
    let found = reg.config_path.iter().find_map(|root| {
        dir_candidates(domain).into_iter().find_map(|name| {
            let path = format!("{}/{name}", root.trim_end_matches('/'));
            reg.dirs.get(&path).map(|d| (path, d))
        })
    });
    let Some((dir, d)) = found else {
        let mut ep = default_endpoint(domain, v, "default");
        apply_flags(&mut ep, flags);
        plan.endpoints.push(ep);
        return plan;
    };
    plan.dir = Some(dir.clone());
    let file = format!("{dir}/hosts.toml");
    let parsed = match &d.hosts_toml {
        None => None,
        Some(text) => match parse_hosts_toml(&file, text) {
            Err(e) => {
                plan.notes.push(format!(
                    "failed to decode hosts.toml error=\"failed to parse TOML: {e}\""
                ));
                None
            }
            Ok(h) if !h.has_host_tree && requires_host_tree(v) => {
                plan.notes
                    .push("failed to decode hosts.toml error=\"invalid `host` tree\"".into());
                None
            }
            Ok(h) => Some(h),
        },
    };
    match parsed {
        None => {
            // Docker-style certificate files next to (or instead of) hosts.toml.
            let mut ep = default_endpoint(domain, v, &format!("{dir} (certificate files)"));
            ep.ca.extend(
                d.cert_files
                    .iter()
                    .filter(|f| f.ends_with(".crt"))
                    .map(|f| format!("{dir}/{f}")),
            );
            plan.endpoints.push(ep);
        }
        Some(h) => {
            for e in &h.hosts {
                plan.endpoints
                    .push(hosts_entry(e, &upstream, v, &file, false));
            }
            match &h.server {
                Some(_) => {
                    plan.endpoints
                        .push(hosts_entry(&h.server_entry, &upstream, v, &file, true))
                }
                None => plan.endpoints.push(default_endpoint(
                    domain,
                    v,
                    &format!("{file} (registry host)"),
                )),
            }
        }
    }
    plan
}

fn apply_flags(ep: &mut Endpoint, flags: &ClientFlags) {
    if flags.plain_http {
        ep.scheme = Scheme::Http;
    }
    ep.ca.extend(flags.tls_ca.iter().cloned());
    ep.skip_verify |= flags.skip_verify;
}

// ---------------------------------------------------------------------------------------------
// What the registries speak

/// What a listener speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proto {
    Http,
    /// HTTPS with a certificate issued by the named CA (trusted when a `ca` file name ends with it); an empty
    /// name is a publicly trusted CA.
    Https {
        ca: String,
    },
}

/// How a listener answers manifest requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// A registry serving `repo:tag` and `repo@digest` entries.
    Registry(BTreeSet<String>),
    /// Every request answered with this status.
    Status(u16),
    /// A captive portal: 200 with an HTML page.
    Html,
    /// A redirect to this base URL (`https://host:port`).
    Redirect(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub proto: Proto,
    pub behavior: Behavior,
}

/// The network as seen from the node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    /// Listeners by `host:port` (explicit port).
    pub listeners: BTreeMap<String, Listener>,
    /// Names that resolve, besides IP literals, `localhost` and listener hosts.
    pub names: BTreeSet<String>,
    /// The resolver address in DNS errors (`10.255.255.53:53`), when known.
    pub resolver: Option<String>,
    /// The address a name resolves to, when known: Go's dial errors name the address, not the host name.
    pub addresses: BTreeMap<String, String>,
}

impl World {
    fn resolves(&self, name: &str) -> bool {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || self.names.contains(name)
            || self.listeners.keys().any(|k| split_port(k).0 == name)
    }
}

/// The kind of outcome, comparable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Ok,
    HttpResponseToHttpsClient,
    NoSuchHost,
    X509UnknownAuthority,
    ConnectionRefused,
    Status(u16),
    NotFound,
    UnexpectedMediaType,
    CriPluginNotLoaded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    pub class: Class,
    /// containerd's error (empty on success).
    pub message: String,
    /// The endpoint that served the image.
    pub via: Option<String>,
    /// Every endpoint tried, with its result.
    pub tried: Vec<String>,
}

impl Prediction {
    pub fn ok(&self) -> bool {
        self.class == Class::Ok
    }
    /// The gRPC status of the CRI `PullImage` call, as the kubelet shows it in the pod's events (empty on
    /// success).
    pub fn kubelet_message(&self, r: &ImageRef) -> String {
        match self.class {
            Class::Ok => String::new(),
            Class::CriPluginNotLoaded => {
                "rpc error: code = Unimplemented desc = unknown service runtime.v1.ImageService"
                    .into()
            }
            _ => format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{r}\": failed to resolve \
                 reference \"{r}\": {}",
                self.message
            ),
        }
    }
}

enum Attempt {
    Found,
    NotFound,
    Failed(Class, String),
    /// The host answered, and the pull then failed there.
    Broken(Class, String),
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn attempt(ep: &Endpoint, scheme: Scheme, r: &ImageRef, world: &World, hops: u8) -> Attempt {
    let (name, port) = split_port(&ep.host);
    let port = port.unwrap_or(match scheme {
        Scheme::Http => "80",
        Scheme::Https => "443",
    });
    let ns = if ep.mirror {
        format!("?ns={}", r.domain)
    } else {
        String::new()
    };
    let repo = repository(ep, &r.path);
    let url = format!(
        "{}://{}{}/{}/manifests/{}{ns}",
        scheme.as_str(),
        ep.host,
        ep.path,
        repo,
        r.object()
    );
    let req = |e: String| format!("failed to do request: Head \"{url}\": {e}");
    if !world.resolves(name) {
        let on = world
            .resolver
            .as_ref()
            .map(|s| format!(" on {s}"))
            .unwrap_or_default();
        return Attempt::Failed(
            Class::NoSuchHost,
            req(format!("dial tcp: lookup {name}{on}: no such host")),
        );
    }
    let Some(l) = world.listeners.get(&format!("{name}:{port}")) else {
        let address = world.addresses.get(name).map_or(name, String::as_str);
        return Attempt::Failed(
            Class::ConnectionRefused,
            req(format!(
                "dial tcp {address}:{port}: connect: connection refused"
            )),
        );
    };
    let status = |code: u16| {
        Attempt::Failed(
            Class::Status(code),
            format!(
                "pulling from host {} failed with status code [manifests {}]: {code} {}",
                ep.host,
                r.object(),
                reason(code)
            ),
        )
    };
    match (&l.proto, scheme) {
        (Proto::Http, Scheme::Https) => {
            return Attempt::Failed(
                Class::HttpResponseToHttpsClient,
                req("http: server gave HTTP response to HTTPS client".into()),
            );
        }
        (Proto::Https { .. }, Scheme::Http) => return status(400),
        (Proto::Https { ca }, Scheme::Https) => {
            let trusted = ep.skip_verify
                || ca.is_empty()
                || ep.ca.iter().any(|c| {
                    c.rsplit('/')
                        .next()
                        .is_some_and(|f| f.ends_with(ca.as_str()))
                });
            if !trusted {
                return Attempt::Failed(
                    Class::X509UnknownAuthority,
                    req("x509: certificate signed by unknown authority".into()),
                );
            }
        }
        (Proto::Http, Scheme::Http) => {}
    }
    match &l.behavior {
        Behavior::Registry(images) => {
            let key = match (&r.digest, &r.tag) {
                (Some(d), _) => format!("{repo}@{d}"),
                (None, Some(t)) => format!("{repo}:{t}"),
                (None, None) => format!("{repo}:latest"),
            };
            if ep.path == "/v2" && images.contains(&key) {
                Attempt::Found
            } else {
                Attempt::NotFound
            }
        }
        Behavior::Status(404) => Attempt::NotFound,
        Behavior::Status(code) => status(*code),
        Behavior::Html => Attempt::Broken(
            Class::UnexpectedMediaType,
            "unexpected media type text/html for sha256:…: not found".into(),
        ),
        Behavior::Redirect(to) if hops < 10 => {
            let (s, host, _) = split_url(to);
            let next = Endpoint {
                scheme: scheme_of(s, host),
                host: host.to_string(),
                ..ep.clone()
            };
            attempt(&next, next.scheme, r, world, hops + 1)
        }
        Behavior::Redirect(_) => {
            Attempt::Failed(Class::Status(310), "stopped after 10 redirects".into())
        }
    }
}

/// Predict the pull of `r` with `plan` against `world`.
pub fn predict(plan: &Plan, r: &ImageRef, world: &World) -> Prediction {
    if let Some(f) = &plan.fatal {
        return Prediction {
            class: Class::CriPluginNotLoaded,
            message: format!("unknown service runtime.v1.ImageService ({f})"),
            via: None,
            tried: Vec::new(),
        };
    }
    let mut first: Option<(Class, String)> = None;
    let mut tried = Vec::new();
    for ep in &plan.endpoints {
        let capable = if r.is_digest() { ep.pull } else { ep.resolve };
        if !capable {
            continue;
        }
        let mut res = attempt(ep, ep.scheme, r, world, 0);
        if ep.https_then_http
            && ep.scheme == Scheme::Https
            && matches!(res, Attempt::Failed(Class::HttpResponseToHttpsClient, _))
        {
            res = attempt(ep, Scheme::Http, r, world, 0);
        }
        match res {
            Attempt::Found => {
                tried.push(format!("{}: ok", ep.url()));
                return Prediction {
                    class: Class::Ok,
                    message: String::new(),
                    via: Some(ep.url()),
                    tried,
                };
            }
            Attempt::NotFound => tried.push(format!("{}: 404, next host", ep.url())),
            Attempt::Failed(c, m) => {
                tried.push(format!("{}: {m}", ep.url()));
                first.get_or_insert((c, m));
            }
            Attempt::Broken(c, m) => {
                tried.push(format!("{}: {m}", ep.url()));
                return Prediction {
                    class: c,
                    message: m,
                    via: Some(ep.url()),
                    tried,
                };
            }
        }
    }
    let (class, message) = first.unwrap_or((Class::NotFound, format!("{r}: not found")));
    Prediction {
        class,
        message,
        via: None,
        tried,
    }
}

#[cfg(test)]
#[path = "matrix_tests.rs"]
mod matrix_tests;
