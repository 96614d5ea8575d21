//! Differential conformance: the containerd simulator (`checks/src/containerd/simulate.rs`) against a real
//! containerd pulling through the CRI `PullImage` call, as the kubelet does.
//!
//! - **docker-registry** instances on loopback addresses, all serving one storage directory: plain HTTP
//!   (`registry.local:5000`, `mirror.test:5000`, `127.0.60.1:35000`), HTTPS with a CA the test generates
//!   (`secure.test:5443`, `127.0.60.1:35443`) and htpasswd-protected (`auth.test:5000`, 401). The test
//!   builds a one-layer OCI image and pushes it through the registry API.
//! - **containerd** (Debian's) runs as root with the native snapshotter and its own root, state and socket,
//!   inside a private mount namespace (`unshare --mount`) where a bind-mounted `/etc/hosts` maps the names
//!   above (and `localhost`) to 127.0.60.x and a bind-mounted `/etc/resolv.conf` names only 127.0.0.1, so
//!   no lookup or connection leaves loopback. `registry-1.docker.io`, `upstream.test` and `down.test` map to an address
//!   where nothing listens.
//! - For each corpus case the test writes the node configuration (certs.d directories, or config.toml
//!   legacy mirrors with a restart), parses it with the tool's own parsers, asks the simulator for the
//!   outcome and the kubelet's message, pulls for real, and requires both to be equal.
//! - Closing the loop: for each failing case whose registry the tool treats as plain HTTP, the snippet the
//!   `containerd.mirror-match` check prints (both the hosts.toml and the k3s registries.yaml form, the
//!   latter rendered as k3s renders it) is applied and the pull must then succeed.
//!
//! Needs root, `containerd`, `docker-registry` and `unshare` (scripts/test.sh installs them). Without them
//! the test is skipped with a message, except under `CI`, where it fails. The peers are
//! `mcp-doctor-test-peers`'s, stopped by PID.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use mcp_doctor_checks::config::registry_url::dev_reason;
use mcp_doctor_checks::containerd::config::{
    HostsDir, K3S_CERTS_D, NodeRegistry, Version, parse_containerd_config, parse_registries_yaml,
    parse_version, render_k3s,
};
use mcp_doctor_checks::containerd::fix::plain_http;
use mcp_doctor_checks::containerd::reference::{ImageRef, parse};
use mcp_doctor_checks::containerd::simulate::{
    Behavior, ClientFlags, Listener, Prediction, Proto, World, assumed_behaviour, plan, predict,
};
use mcp_doctor_remediations::{Distribution as Cluster, RegistryAccess, registry_snippet};
use mcp_doctor_test_peers::{Peer, Registry, TestImage, issue_tls, require, unavailable};

const TEST: &str = "containerd differential conformance";
/// The file name of the test CA ([`issue_tls`] writes `ca.crt`): the simulator knows a CA by its file name.
const CA_NAME: &str = "ca.crt";
/// Replaced by the absolute path of the test CA in hosts.toml and config.toml texts.
const CA: &str = "{CA}";
const REGISTRY_LOCAL: &str = "127.0.60.2";
const SECURE: &str = "127.0.60.3";
const AUTH: &str = "127.0.60.4";
const MIRROR: &str = "127.0.60.5";
/// Where `registry-1.docker.io`, `upstream.test` and `down.test` point: nothing listens there.
const NOWHERE: &str = "127.0.60.9";
/// The loopback registries: an address of its own (containerd's localhost rule covers all of 127.0.0.0/8),
/// so no other test's ephemeral port on 127.0.0.1 can collide; `localhost` maps here too.
const LOOPBACK: &str = "127.0.60.1";
const LOOPBACK_HTTP_PORT: u16 = 35000;
const LOOPBACK_TLS_PORT: u16 = 35443;
/// The k3s version whose registries.yaml rendering the loop-closing step uses (hosts.toml mode).
const K3S: Version = (1, 29, 3);

fn etc_hosts() -> String {
    format!(
        "{LOOPBACK} localhost\n{REGISTRY_LOCAL} registry.local\n{SECURE} secure.test\n{AUTH} auth.test\n\
         {MIRROR} mirror.test\n{NOWHERE} registry-1.docker.io upstream.test down.test\n"
    )
}

/// What the registries speak, in the simulator's terms: the same network the daemon sees.
fn world(images: &BTreeSet<String>) -> World {
    let registry = |proto: Proto| Listener {
        proto,
        behavior: Behavior::Registry(images.clone()),
    };
    let tls = || Proto::Https { ca: CA_NAME.into() };
    let mut w = World::default();
    for (hostport, listener) in [
        ("registry.local:5000".to_string(), registry(Proto::Http)),
        ("mirror.test:5000".into(), registry(Proto::Http)),
        ("secure.test:5443".into(), registry(tls())),
        (
            "auth.test:5000".into(),
            Listener {
                proto: Proto::Http,
                behavior: Behavior::Status(401),
            },
        ),
        (
            format!("{LOOPBACK}:{LOOPBACK_HTTP_PORT}"),
            registry(Proto::Http),
        ),
        (
            format!("localhost:{LOOPBACK_HTTP_PORT}"),
            registry(Proto::Http),
        ),
        (format!("{LOOPBACK}:{LOOPBACK_TLS_PORT}"), registry(tls())),
        (format!("localhost:{LOOPBACK_TLS_PORT}"), registry(tls())),
    ] {
        w.listeners.insert(hostport, listener);
    }
    for line in etc_hosts().lines() {
        let mut words = line.split_whitespace();
        let Some(address) = words.next() else {
            continue;
        };
        for name in words {
            w.names.insert(name.to_string());
            w.addresses.insert(name.to_string(), address.to_string());
        }
    }
    w
}

/// One `certs.d/<name>` directory of a case.
#[derive(Clone)]
struct Dir {
    name: String,
    hosts_toml: Option<String>,
    /// The test CA copied into the directory as `test-ca.crt`.
    ca_file: bool,
}

enum Setup {
    /// `config_path` mode: these certs.d directories (read on each pull, no restart).
    CertsD(Vec<Dir>),
    /// A containerd started with this CRI `registry` section (legacy mirrors and configs).
    Legacy(String),
    /// A k3s `registries.yaml`, rendered into certs.d as k3s (hosts.toml era) renders it.
    K3s(String),
}

impl Setup {
    /// The certs.d directories of a `config_path` setup.
    fn dirs(&self) -> Option<Vec<Dir>> {
        match self {
            Setup::CertsD(dirs) => Some(dirs.clone()),
            Setup::K3s(yaml) => Some(k3s_dirs(yaml)),
            Setup::Legacy(_) => None,
        }
    }
}

/// What k3s writes under its certs.d for a registries.yaml.
fn k3s_dirs(yaml: &str) -> Vec<Dir> {
    let parsed = parse_registries_yaml(yaml).unwrap_or_else(|e| panic!("{yaml:?}: {e}"));
    render_k3s(Some(&parsed), Some(K3S))
        .dirs
        .into_iter()
        .map(|(path, d)| Dir {
            name: path
                .trim_start_matches(K3S_CERTS_D)
                .trim_start_matches('/')
                .to_string(),
            hosts_toml: d.hosts_toml,
            ca_file: false,
        })
        .collect()
}

struct Case {
    id: &'static str,
    covers: &'static str,
    setup: Setup,
    image: String,
}

fn hosts(name: &str, toml: &str) -> Dir {
    Dir {
        name: name.to_string(),
        hosts_toml: Some(toml.to_string()),
        ca_file: false,
    }
}

fn case(id: &'static str, covers: &'static str, setup: Setup, image: &str) -> Case {
    Case {
        id,
        covers,
        setup,
        image: image.to_string(),
    }
}

const CRI: &str = "plugins.\"io.containerd.grpc.v1.cri\".registry";

fn legacy_mirror(key: &str, endpoints: &[&str]) -> String {
    let list: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "[{CRI}.mirrors.{key:?}]\n  endpoint = [{}]\n",
        list.join(", ")
    )
}

fn corpus(digest: &str) -> Vec<Case> {
    use Setup::{CertsD, K3s, Legacy};
    let app = "registry.local:5000/team/app:v1";
    let tls_app = "secure.test:5443/team/app:v1";
    let upstream_app = "upstream.test/team/app:v1";
    let http_host = "[host.\"http://registry.local:5000\"]\n";
    let mirror_host = "[host.\"http://mirror.test:5000\"]\n";
    let docker_mirror = |caps: &str| {
        format!(
            "server = \"https://registry-1.docker.io\"\n[host.\"http://mirror.test:5000\"]\n  capabilities = [{caps}]\n"
        )
    };
    let https_ca = format!("[host.\"https://secure.test:5443\"]\n  ca = \"{CA}\"\n");
    let lo_http = format!("{LOOPBACK}:{LOOPBACK_HTTP_PORT}/team/app:v1");
    let lo_tls = format!("{LOOPBACK}:{LOOPBACK_TLS_PORT}/team/app:v1");
    vec![
        case(
            "C01",
            "no configuration, plain-HTTP registry with a name",
            CertsD(vec![]),
            app,
        ),
        case(
            "C02",
            "no configuration, loopback IP (localhost rule)",
            CertsD(vec![]),
            &lo_http,
        ),
        case(
            "C03",
            "no configuration, the name localhost",
            CertsD(vec![]),
            &format!("localhost:{LOOPBACK_HTTP_PORT}/team/app:v1"),
        ),
        case(
            "C04",
            "no configuration, TLS registry on loopback",
            CertsD(vec![]),
            &lo_tls,
        ),
        case(
            "C04b",
            "no configuration, the name localhost, TLS registry",
            CertsD(vec![]),
            &format!("localhost:{LOOPBACK_TLS_PORT}/team/app:v1"),
        ),
        case(
            "C05",
            "no configuration, TLS registry with a private CA",
            CertsD(vec![]),
            tls_app,
        ),
        case(
            "C06",
            "directory host:port, http host",
            CertsD(vec![hosts("registry.local:5000", http_host)]),
            app,
        ),
        case(
            "C07",
            "directory host_port_, http host",
            CertsD(vec![hosts("registry.local_5000_", http_host)]),
            app,
        ),
        case(
            "C08",
            "directory without the port",
            CertsD(vec![hosts("registry.local", http_host)]),
            app,
        ),
        case(
            "C09",
            "_default directory with a mirror",
            CertsD(vec![hosts("_default", mirror_host)]),
            upstream_app,
        ),
        case(
            "C10",
            "host URL without a scheme",
            CertsD(vec![hosts(
                "registry.local:5000",
                "[host.\"registry.local:5000\"]\n",
            )]),
            app,
        ),
        case(
            "C11",
            "server-only hosts.toml",
            CertsD(vec![hosts(
                "registry.local:5000",
                "server = \"http://registry.local:5000\"\n",
            )]),
            app,
        ),
        case(
            "C12",
            "https host with an absolute CA file",
            CertsD(vec![hosts("secure.test:5443", &https_ca)]),
            tls_app,
        ),
        case(
            "C13",
            "https host with skip_verify",
            CertsD(vec![hosts(
                "secure.test:5443",
                "[host.\"https://secure.test:5443\"]\n  skip_verify = true\n",
            )]),
            tls_app,
        ),
        case(
            "C14",
            "https host without a CA",
            CertsD(vec![hosts(
                "secure.test:5443",
                "[host.\"https://secure.test:5443\"]\n",
            )]),
            tls_app,
        ),
        case(
            "C15",
            "CA file only, no hosts.toml",
            CertsD(vec![Dir {
                name: "secure.test:5443".into(),
                hosts_toml: None,
                ca_file: true,
            }]),
            tls_app,
        ),
        case(
            "C16",
            "https host against a plain-HTTP registry",
            CertsD(vec![hosts(
                "registry.local:5000",
                "[host.\"https://registry.local:5000\"]\n",
            )]),
            app,
        ),
        case(
            "C17",
            "http host against a TLS registry",
            CertsD(vec![hosts(
                "secure.test:5443",
                "[host.\"http://secure.test:5443\"]\n",
            )]),
            tls_app,
        ),
        case(
            "C18",
            "malformed TOML",
            CertsD(vec![hosts(
                "registry.local:5000",
                "server = \"http://registry.local:5000\n[host.\"http://registry.local:5000\"]\n",
            )]),
            app,
        ),
        case(
            "C19",
            "docker.io mirror, pull and resolve, tag",
            CertsD(vec![hosts(
                "docker.io",
                &docker_mirror("\"pull\", \"resolve\""),
            )]),
            "docker.io/team/app:v1",
        ),
        case(
            "C20",
            "docker.io mirror, short image name",
            CertsD(vec![hosts(
                "docker.io",
                &docker_mirror("\"pull\", \"resolve\""),
            )]),
            "team/app:v1",
        ),
        case(
            "C21",
            "pull-only mirror, tag",
            CertsD(vec![hosts("docker.io", &docker_mirror("\"pull\""))]),
            "docker.io/team/app:v1",
        ),
        case(
            "C22",
            "pull-only mirror, digest",
            CertsD(vec![hosts("docker.io", &docker_mirror("\"pull\""))]),
            &format!("docker.io/team/app@{digest}"),
        ),
        case(
            "C23",
            "image missing on the mirror: 404, then upstream",
            CertsD(vec![hosts(
                "docker.io",
                &docker_mirror("\"pull\", \"resolve\""),
            )]),
            "docker.io/team/missing:v1",
        ),
        case(
            "C24",
            "directory name in another case",
            CertsD(vec![hosts("Registry.Local:5000", http_host)]),
            app,
        ),
        case(
            "C25",
            "mirror behind htpasswd (401)",
            CertsD(vec![hosts(
                "upstream.test",
                "[host.\"http://auth.test:5000\"]\n",
            )]),
            upstream_app,
        ),
        case(
            "C26",
            "first host down, then server",
            CertsD(vec![hosts(
                "registry.local:5000",
                "server = \"http://registry.local:5000\"\n[host.\"http://down.test:5000\"]\n",
            )]),
            app,
        ),
        case(
            "C27",
            "override_path mirror path",
            CertsD(vec![hosts(
                "upstream.test",
                "[host.\"http://mirror.test:5000/v2/mirror\"]\n  override_path = true\n",
            )]),
            upstream_app,
        ),
        case(
            "C28",
            "loopback TLS registry with a CA in hosts.toml",
            CertsD(vec![hosts(
                &format!("{LOOPBACK}:{LOOPBACK_TLS_PORT}"),
                &format!("[host.\"https://{LOOPBACK}:{LOOPBACK_TLS_PORT}\"]\n  ca = \"{CA}\"\n"),
            )]),
            &lo_tls,
        ),
        case(
            "C29",
            "relative CA path in hosts.toml",
            CertsD(vec![Dir {
                ca_file: true,
                ..hosts(
                    "secure.test:5443",
                    &format!("[host.\"https://secure.test:5443\"]\n  ca = \"{CA_NAME}\"\n"),
                )
            }]),
            tls_app,
        ),
        case(
            "C30",
            "a registry's own directory wins over _default",
            CertsD(vec![
                hosts("_default", "[host.\"http://down.test:5000\"]\n"),
                hosts("registry.local:5000", http_host),
            ]),
            app,
        ),
        case(
            "C31",
            "_default mirror for a TLS registry",
            CertsD(vec![hosts("_default", mirror_host)]),
            tls_app,
        ),
        case(
            "C32",
            "no configuration, digest reference",
            CertsD(vec![]),
            &format!("registry.local:5000/team/app@{digest}"),
        ),
        case(
            "L01",
            "legacy mirror, exact key, http endpoint",
            Legacy(legacy_mirror(
                "registry.local:5000",
                &["http://registry.local:5000"],
            )),
            app,
        ),
        case(
            "L02",
            "legacy mirror, endpoint without a scheme",
            Legacy(legacy_mirror("upstream.test", &["mirror.test:5000"])),
            upstream_app,
        ),
        case(
            "L03",
            "legacy \"*\" mirror",
            Legacy(legacy_mirror("*", &["http://mirror.test:5000"])),
            upstream_app,
        ),
        case(
            "L04",
            "legacy mirror key without the port, no \"*\"",
            Legacy(legacy_mirror(
                "registry.local",
                &["http://registry.local:5000"],
            )),
            app,
        ),
        case(
            "L05",
            "legacy mirror with configs.<endpoint host>.tls.ca_file",
            Legacy(format!(
                "{}[{CRI}.configs.\"secure.test:5443\".tls]\n  ca_file = \"{CA}\"\n",
                legacy_mirror("secure.test:5443", &["https://secure.test:5443"])
            )),
            tls_app,
        ),
        case(
            "L06",
            "legacy mirror, scheme-less loopback endpoint",
            Legacy(legacy_mirror(
                "upstream.test",
                &[&format!("{LOOPBACK}:{LOOPBACK_HTTP_PORT}")],
            )),
            upstream_app,
        ),
        case(
            "L07",
            "legacy docker.io mirror, short image name",
            Legacy(legacy_mirror("docker.io", &["http://mirror.test:5000"])),
            "team/app:v1",
        ),
        case(
            "L08",
            "mirrors together with config_path",
            Legacy(format!(
                "[{CRI}]\n  config_path = \"{{CERTS_D}}\"\n{}",
                legacy_mirror("registry.local:5000", &["http://registry.local:5000"])
            )),
            app,
        ),
        case(
            "K01",
            "k3s registries.yaml, http endpoint",
            K3s(
                "mirrors:\n  registry.local:5000:\n    endpoint:\n      - http://registry.local:5000\n"
                    .into(),
            ),
            app,
        ),
        case(
            "K02",
            "k3s registries.yaml \"*\" (rendered as _default)",
            K3s("mirrors:\n  \"*\":\n    endpoint:\n      - http://mirror.test:5000\n".into()),
            upstream_app,
        ),
        case(
            "K03",
            "k3s registries.yaml, endpoint without a scheme (https)",
            K3s("mirrors:\n  registry.local:5000:\n    endpoint:\n      - registry.local:5000\n".into()),
            app,
        ),
        case(
            "K04",
            "k3s registries.yaml, configs.tls.ca_file for the registry",
            K3s(format!(
                "mirrors:\n  secure.test:5443:\n    endpoint:\n      - https://secure.test:5443\nconfigs:\n  secure.test:5443:\n    tls:\n      ca_file: \"{CA}\"\n"
            )),
            tls_app,
        ),
        case(
            "K05",
            "k3s registries.yaml, docker.io mirror",
            K3s("mirrors:\n  docker.io:\n    endpoint:\n      - http://mirror.test:5000\n".into()),
            "team/app:v1",
        ),
        case(
            "K06",
            "k3s registries.yaml, mirror key written as a URL",
            K3s(
                "mirrors:\n  http://registry.local:5000:\n    endpoint:\n      - http://registry.local:5000\n"
                    .into(),
            ),
            app,
        ),
        case(
            "K07",
            "k3s registries.yaml, mirror endpoint with a path",
            K3s("mirrors:\n  upstream.test:\n    endpoint:\n      - http://mirror.test:5000/mirror\n".into()),
            upstream_app,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// The node: config.toml, certs.d, and containerd in a private mount namespace

struct Node {
    dir: PathBuf,
    certs_d: PathBuf,
    ca: PathBuf,
    containerd: PathBuf,
    etc_hosts: PathBuf,
    resolv_conf: PathBuf,
}

impl Node {
    fn fill(&self, text: &str) -> String {
        text.replace(CA, &self.ca.display().to_string())
            .replace("{CERTS_D}", &self.certs_d.display().to_string())
    }

    fn config_toml(&self, state: &Path, registry: &str) -> String {
        let d = state.display();
        format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n[grpc]\n  address = \"{d}/containerd.sock\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_cgroup = true\n  disable_apparmor = true\n  \
             restrict_oom_score_adj = true\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"native\"\n{}",
            self.fill(registry)
        )
    }

    /// Replace the certs.d tree with these directories.
    fn write_certs_d(&self, dirs: &[Dir]) {
        let _ = std::fs::remove_dir_all(&self.certs_d);
        std::fs::create_dir_all(&self.certs_d).unwrap();
        self.add_dirs(dirs);
    }

    /// Write these certs.d directories over what is there (as an operator applying a snippet does).
    fn add_dirs(&self, dirs: &[Dir]) {
        for d in dirs {
            let path = self.certs_d.join(&d.name);
            std::fs::create_dir_all(&path).unwrap();
            if let Some(t) = &d.hosts_toml {
                std::fs::write(path.join("hosts.toml"), self.fill(t)).unwrap();
            }
            if d.ca_file {
                std::fs::copy(&self.ca, path.join(CA_NAME)).unwrap();
            }
        }
    }

    /// The node's registry configuration as the tool reads it: config.toml through the tool's parser, and
    /// every certs.d directory under its `config_path`.
    fn registry_view(&self, config_file: &Path) -> NodeRegistry {
        let text = std::fs::read_to_string(config_file).unwrap();
        let c = parse_containerd_config(&config_file.display().to_string(), &text).unwrap();
        let mut dirs = BTreeMap::new();
        for root in &c.config_path {
            for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
                let path = entry.path();
                let cert_files = std::fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|f| f.file_name().to_string_lossy().into_owned())
                    .filter(|n| [".crt", ".cert", ".key"].iter().any(|x| n.ends_with(x)))
                    .collect();
                dirs.insert(
                    format!(
                        "{}/{}",
                        root.trim_end_matches('/'),
                        entry.file_name().to_string_lossy()
                    ),
                    HostsDir {
                        hosts_toml: std::fs::read_to_string(path.join("hosts.toml")).ok(),
                        cert_files,
                    },
                );
            }
        }
        NodeRegistry {
            config_path: c.config_path,
            mirrors: c.mirrors,
            configs: c.configs,
            dirs,
        }
    }

    /// Start containerd with this CRI registry section in its own mount namespace.
    fn start(&self, name: &str, registry: &str) -> Result<Containerd, String> {
        let state = self.dir.join(name);
        std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
        let config = state.join("config.toml");
        std::fs::write(&config, self.config_toml(&state, registry)).map_err(|e| e.to_string())?;
        let log = state.join("containerd.log");
        let script = format!(
            "mount --bind '{}' /etc/hosts && mount --bind '{}' /etc/resolv.conf && exec '{}' --config '{}'",
            self.etc_hosts.display(),
            self.resolv_conf.display(),
            self.containerd.display(),
            config.display()
        );
        let mut peer = Peer::start(
            &format!("containerd {name}"),
            Command::new("unshare").args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &script,
            ]),
            &log,
        );
        peer.wait_until("boot", Duration::from_secs(30), || {
            std::fs::read_to_string(&log)
                .is_ok_and(|t| t.contains("containerd successfully booted"))
        })?;
        Ok(Containerd {
            _peer: peer,
            socket: state.join("containerd.sock"),
            log,
            config,
        })
    }
}

struct Containerd {
    _peer: Peer,
    socket: PathBuf,
    log: PathBuf,
    config: PathBuf,
}

impl Containerd {
    fn log_len(&self) -> usize {
        std::fs::metadata(&self.log)
            .map(|m| m.len() as usize)
            .unwrap_or(0)
    }

    fn log_since(&self, offset: usize) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(offset..).unwrap_or_default()).into_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// CRI PullImage over containerd's unix socket: gRPC on HTTP/2, the two protobuf fields by hand

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Field 1, length-delimited.
fn field1(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a];
    varint(payload.len(), &mut out);
    out.extend_from_slice(payload);
    out
}

/// `runtime.v1.PullImageRequest{image: ImageSpec{image}}` in a gRPC frame.
fn pull_request_frame(image: &str) -> Vec<u8> {
    let message = field1(&field1(image.as_bytes()));
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    frame
}

fn grpc_code(code: u32) -> &'static str {
    [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ]
    .get(code as usize)
    .copied()
    .unwrap_or("Unknown")
}

/// gRPC's `grpc-message` is percent-encoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pull `image` through CRI: `Ok(())`, or the status as the kubelet prints it
/// (`rpc error: code = Unknown desc = ...`).
async fn cri_pull(socket: &Path, image: &str) -> Result<(), String> {
    let io = |e: &dyn std::fmt::Display| format!("CRI transport: {e}");
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| io(&e))?;
    let (client, connection) = h2::client::handshake(stream).await.map_err(|e| io(&e))?;
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.map_err(|e| io(&e))?;
    let request = http::Request::builder()
        .method("POST")
        .uri("http://localhost/runtime.v1.ImageService/PullImage")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).map_err(|e| io(&e))?;
    // containerd may answer (Trailers-Only) and close the stream before the request body is out, as it does
    // for a service it lacks (CRI disabled by its configuration); then the answer says what happened, and a
    // transport failure shows in the response as well.
    let _ = send.send_data(Bytes::from(pull_request_frame(image)), true);
    let (head, mut body) = response.await.map_err(|e| io(&e))?.into_parts();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| io(&e))?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body
        .trailers()
        .await
        .map_err(|e| io(&e))?
        .unwrap_or_default();
    driver.abort();
    // A failure before any message may come as headers only ("Trailers-Only").
    let field = |k: &str| {
        trailers
            .get(k)
            .or_else(|| head.headers.get(k))
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let code: u32 = field("grpc-status")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("CRI answer without grpc-status: {head:?}"))?;
    if code == 0 {
        return Ok(());
    }
    Err(format!(
        "rpc error: code = {} desc = {}",
        grpc_code(code),
        percent_decode(&field("grpc-message").unwrap_or_default())
    ))
}

// ---------------------------------------------------------------------------------------------

fn describe(p: &Prediction, r: &ImageRef) -> String {
    if p.ok() {
        "ok".into()
    } else {
        p.kubelet_message(r)
    }
}

/// Print a line of the test's report and keep it for the report file.
fn record(report: &mut Vec<String>, line: String) {
    println!("{line}");
    report.push(line);
}

/// One pull, predicted and real; a difference is returned as the failure text.
async fn differential(
    report: &mut Vec<String>,
    node: &Node,
    daemon: &Containerd,
    world: &World,
    version: Option<Version>,
    id: &str,
    image: &str,
) -> (Result<(), String>, Option<String>) {
    let r = parse(image).unwrap_or_else(|e| panic!("{id}: {image}: {e}"));
    let reg = node.registry_view(&daemon.config);
    let pl = plan(&reg, version, &r, &ClientFlags::default());
    let predicted = predict(&pl, &r, world);
    let offset = daemon.log_len();
    let observed = match tokio::time::timeout(
        Duration::from_secs(60),
        cri_pull(&daemon.socket, image),
    )
    .await
    {
        Ok(res) => res,
        Err(_) => Err("PullImage did not answer within 60 s".into()),
    };
    let observed_text = match &observed {
        Ok(()) => "ok".to_string(),
        Err(e) => e.clone(),
    };
    let predicted_text = describe(&predicted, &r);
    let log = daemon.log_since(offset);
    let mut difference = None;
    if observed_text != predicted_text {
        difference = Some(format!(
            "{id} {image}:\n  predicted: {predicted_text}\n  observed:  {observed_text}\n  endpoints tried (simulated): {:?}",
            predicted.tried
        ));
    }
    // The log lines the simulator says containerd writes must be there, and only those.
    if pl.notes.is_empty() && log.contains("msg=\"failed to decode hosts.toml\"") {
        difference
            .get_or_insert_with(String::new)
            .push_str(&format!(
                "\n{id}: containerd rejected a hosts.toml the simulator accepted:\n{log}"
            ));
    }
    for note in &pl.notes {
        let msg = note.split(" error=").next().unwrap_or(note);
        if !log.contains(&format!("msg=\"{msg}\"")) {
            difference
                .get_or_insert_with(String::new)
                .push_str(&format!(
                    "\n{id}: predicted log line {note:?} not in containerd's log:\n{log}"
                ));
        }
        if note.contains("invalid `host` tree") && !log.contains("invalid `host` tree") {
            difference
                .get_or_insert_with(String::new)
                .push_str(&format!(
                    "\n{id}: containerd's log does not say \"invalid `host` tree\":\n{log}"
                ));
        }
    }
    record(
        report,
        format!(
            "{id:4} {image:<62} predicted {:<4} observed {observed_text}",
            if predicted.ok() { "ok" } else { "fail" },
        ),
    );
    (observed, difference)
}

/// The snippets the `containerd.mirror-match` check prints for `host` (remediations' one generator, for a
/// node that resolves the name), as certs.d directories: the kubeadm hosts.toml form directly, and the k3s
/// registries.yaml form rendered as k3s renders it.
fn fixes(host: &str) -> Vec<(&'static str, Vec<Dir>)> {
    let access = RegistryAccess {
        host: host.to_string(),
        endpoint: format!(
            "{}://{host}",
            if plain_http(host) { "http" } else { "https" }
        ),
        ca_file: None,
        hosts_line: None,
    };
    let generic = registry_snippet(Cluster::Generic, std::slice::from_ref(&access), &[], false);
    let marker = format!("# /etc/containerd/certs.d/{host}/hosts.toml on every node\n");
    let body = generic
        .split_once(&marker)
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split("\n# then").next())
        .expect("the generic snippet holds the hosts.toml");
    let k3s = registry_snippet(Cluster::K3s, &[access], &[], false);
    let yaml = k3s
        .split_once('\n')
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split("\n# then").next())
        .expect("the k3s snippet holds registries.yaml");
    vec![
        ("hosts.toml", vec![hosts(host, body.trim())]),
        ("registries.yaml (as k3s renders it)", k3s_dirs(yaml)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_predicts_what_a_real_containerd_does() {
    let Some([containerd, registry, _unshare]) = require(
        TEST,
        ["containerd", "docker-registry", "unshare"],
        Some("containerd and its mount namespace"),
    ) else {
        return;
    };
    let version_line = Command::new(&containerd)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let version = parse_version(&version_line);
    let mut report = Vec::new();
    record(
        &mut report,
        format!("containerd under test: {version_line}"),
    );
    record(
        &mut report,
        format!("simulator assumed: {}", assumed_behaviour(version)),
    );
    assert!(version.is_some(), "no version in {version_line:?}");

    let tmp = tempfile::tempdir().unwrap();
    let tls_dir = tmp.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let tls = issue_tls(&tls_dir, &["secure.test", "localhost", LOOPBACK]);
    let storage = tmp.path().join("storage");
    let mut registries = Vec::new();
    // (name, address, HTTPS, htpasswd)
    for (name, addr, https, htpasswd) in [
        (
            "registry-local",
            format!("{REGISTRY_LOCAL}:5000"),
            false,
            false,
        ),
        ("mirror-test", format!("{MIRROR}:5000"), false, false),
        ("secure-test", format!("{SECURE}:5443"), true, false),
        ("auth-test", format!("{AUTH}:5000"), false, true),
        (
            "loopback-http",
            format!("{LOOPBACK}:{LOOPBACK_HTTP_PORT}"),
            false,
            false,
        ),
        (
            "loopback-tls",
            format!("{LOOPBACK}:{LOOPBACK_TLS_PORT}"),
            true,
            false,
        ),
    ] {
        let started = Registry {
            name,
            addr: addr.parse().unwrap(),
            storage: &storage,
            tls: https.then_some(&tls),
            htpasswd,
        }
        .start(&registry, tmp.path());
        match started {
            Ok(peer) => registries.push(peer),
            Err(e) => {
                unavailable(TEST, &e);
                return;
            }
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let image = TestImage::new("hello from mcp-doctor's differential test\n");
    image
        .push(
            &client,
            &format!("http://{REGISTRY_LOCAL}:5000"),
            "team/app",
            "v1",
        )
        .await;
    let digest = image.digest();
    let images = BTreeSet::from(["team/app:v1".to_string(), format!("team/app@{digest}")]);
    let world = world(&images);

    let node = Node {
        dir: tmp.path().join("node"),
        certs_d: tmp.path().join("node/certs.d"),
        ca: tls.ca.clone(),
        containerd,
        etc_hosts: tmp.path().join("hosts"),
        resolv_conf: tmp.path().join("resolv.conf"),
    };
    std::fs::write(&node.etc_hosts, etc_hosts()).unwrap();
    std::fs::write(
        &node.resolv_conf,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    std::fs::create_dir_all(&node.certs_d).unwrap();

    let corpus = corpus(&digest);
    let mut differences = Vec::new();
    let mut failing: Vec<(&Case, String)> = Vec::new();
    let mut outcomes = (0, 0);
    let hosts_mode = match node.start(
        "config-path",
        &format!("[{CRI}]\n  config_path = \"{{CERTS_D}}\"\n"),
    ) {
        Ok(d) => d,
        Err(e) => {
            unavailable(TEST, &e);
            return;
        }
    };
    for c in &corpus {
        let (observed, difference) = match &c.setup {
            Setup::CertsD(_) | Setup::K3s(_) => {
                node.write_certs_d(&c.setup.dirs().unwrap_or_default());
                differential(
                    &mut report,
                    &node,
                    &hosts_mode,
                    &world,
                    version,
                    c.id,
                    &c.image,
                )
                .await
            }
            Setup::Legacy(section) => {
                node.write_certs_d(&[]);
                let daemon = node
                    .start(&c.id.to_lowercase(), section)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.id));
                differential(&mut report, &node, &daemon, &world, version, c.id, &c.image).await
            }
        };
        differences.extend(difference.map(|d| format!("[{}] {d}", c.covers)));
        match observed {
            Ok(()) => outcomes.0 += 1,
            Err(e) => {
                outcomes.1 += 1;
                failing.push((c, e));
            }
        }
    }

    // Closing the loop: the tool's fix, applied to the node, makes the failing pull succeed.
    let mut unfixed = Vec::new();
    let mut closed = 0;
    for (c, error) in &failing {
        let Some(dirs) = c.setup.dirs() else {
            continue;
        };
        // The check's fix is for a plain-HTTP registry that containerd speaks HTTPS to; it takes dev-style
        // hosts to be plain HTTP (a TLS registry on a loopback address is outside what it can fix).
        let host = parse(&c.image).unwrap().domain;
        if dev_reason(&host).is_none()
            || !error.contains("http: server gave HTTP response to HTTPS client")
        {
            continue;
        }
        for (form, fix) in fixes(&host) {
            node.write_certs_d(&dirs);
            node.add_dirs(&fix);
            let id = format!("{} + {form}", c.id);
            let (observed, difference) = differential(
                &mut report,
                &node,
                &hosts_mode,
                &world,
                version,
                &id,
                &c.image,
            )
            .await;
            differences.extend(difference);
            match observed {
                Ok(()) => closed += 1,
                Err(e) => unfixed.push(format!(
                    "{id}: was {error}\n  still {e}\n  fix {:?}",
                    fix.iter()
                        .map(|d| (&d.name, &d.hosts_toml))
                        .collect::<Vec<_>>()
                )),
            }
        }
    }
    drop(hosts_mode);
    drop(registries);

    record(
        &mut report,
        format!(
            "{} cases: {} pulled, {} failed; {closed} failing pulls fixed by the tool's snippets; {} differences",
            corpus.len(),
            outcomes.0,
            outcomes.1,
            differences.len()
        ),
    );
    // Kept after the run: the test harness shows stdout only for failing tests.
    let report_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("containerd-differential.txt");
    if std::fs::write(&report_file, report.join("\n") + "\n").is_ok() {
        println!("report: {}", report_file.display());
    }
    assert!(
        differences.is_empty(),
        "the simulator ({}) and {version_line} differ on {} pull(s):\n{}",
        assumed_behaviour(version),
        differences.len(),
        differences.join("\n")
    );
    assert!(
        unfixed.is_empty(),
        "the tool's fix did not make these pulls succeed:\n{}",
        unfixed.join("\n")
    );
    assert!(
        corpus.len() >= 30 && outcomes.0 >= 10 && outcomes.1 >= 10,
        "the corpus must hold both outcomes"
    );
    assert!(
        closed >= 6,
        "too few failing cases were closed by the tool's fix: {closed}"
    );
}
