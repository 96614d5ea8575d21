//! Real peers for the tests that need them: Debian binaries (nginx, docker-registry, containerd, pebble)
//! started by the test from a temporary directory, talking only to 127.0.0.0/8, and stopped by their PID.
//!
//! Shared by the files in `checks/tests/` (`mod peers;`) and by `tests/front_door_cli.rs` and
//! `tests/registry_cli.rs` (which include this file by path). Here: the PID guard, the root/CI gate, nginx,
//! docker-registry (plain HTTP, HTTPS with a test CA, or htpasswd-protected) and a tiny OCI image pushed
//! through the registry API. Without a peer (or without root where a test needs it) a test is skipped with
//! a message, except under `CI`, where it fails.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ring::digest::{SHA256, digest};

/// A started peer, stopped by PID when dropped: SIGTERM, then SIGKILL after two seconds.
pub struct Peer {
    pub name: String,
    child: Child,
}

impl Peer {
    /// Spawn `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> std::io::Result<Peer> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Peer {
            name: name.to_string(),
            child,
        })
    }

    /// Whether the process has exited already.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!(
            "killed {} (pid {pid}) after SIGTERM did not stop it",
            self.name
        );
    }
}

pub fn find_binary(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    })
}

/// A peer the test cannot run without is missing: skip loudly (the caller returns), or fail under CI, which
/// installs everything.
pub fn unavailable(test: &str, why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !ci,
        "{test}: {why} (CI installs every peer, so this is a failure)"
    );
    // Straight to stderr: libtest hides `eprintln!` output of a passing test, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Poll a TCP connect to `addr` until it is accepted or `timeout` passes.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// A test CA and a server certificate it issued, as PEM files in `dir`: `<ca_name>` and `server.crt`,
/// `server.key` for the given DNS names and IP addresses.
pub fn issue_tls(dir: &Path, ca_name: &str, sans: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mcp-doctor test registry CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (ca_file, crt, key_file) = (
        dir.join(ca_name),
        dir.join("server.crt"),
        dir.join("server.key"),
    );
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&crt, leaf.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (ca_file, crt, key_file)
}

/// How one docker-registry instance serves.
pub enum RegistryMode<'a> {
    Http,
    /// HTTPS with this certificate and key.
    Https {
        cert: &'a Path,
        key: &'a Path,
    },
    /// Plain HTTP behind htpasswd basic auth: anonymous requests get 401.
    Htpasswd,
}

/// Start docker-registry on `addr` serving the filesystem storage at `storage` (instances may share one).
pub fn start_registry(
    binary: &Path,
    dir: &Path,
    name: &str,
    addr: SocketAddr,
    storage: &Path,
    mode: RegistryMode,
) -> Result<Peer, String> {
    let mut cfg = format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: mcp-doctor-test\n",
        storage.display()
    );
    match mode {
        RegistryMode::Http => {}
        RegistryMode::Https { cert, key } => cfg.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        )),
        RegistryMode::Htpasswd => {
            // No client logs in, so the hash never has to verify; the file only has to exist.
            let file = dir.join(format!("{name}.htpasswd"));
            std::fs::write(
                &file,
                "tester:$2y$05$0000000000000000000000000000000000000000000000000000a\n",
            )
            .map_err(|e| e.to_string())?;
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: mcp-doctor-test\n    path: {}\n",
                file.display()
            ));
        }
    }
    let cfg_file = dir.join(format!("{name}.yml"));
    std::fs::write(&cfg_file, cfg).map_err(|e| e.to_string())?;
    let log = dir.join(format!("{name}.log"));
    let mut peer = Peer::spawn(name, Command::new(binary).arg("serve").arg(&cfg_file), &log)
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    if !wait_for_port(addr, Duration::from_secs(10)) || peer.exited() {
        return Err(format!(
            "docker-registry {name} did not listen on {addr}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        ));
    }
    Ok(peer)
}

pub fn sha256(bytes: &[u8]) -> String {
    let d = digest(&SHA256, bytes);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A one-layer OCI image: a gzip tar with one small file, its config and its manifest.
pub struct TestImage {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl TestImage {
    pub fn new(content: &str) -> TestImage {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "hello.txt", content.as_bytes())
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let layer = gz.finish().unwrap();
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(&config),
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha256(&layer),
                "size": layer.len(),
            }],
        }))
        .unwrap();
        TestImage {
            layer,
            config,
            manifest,
        }
    }

    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }

    /// Push through the registry API at `base` (`http://127.0.0.1:5000`): a monolithic blob upload per blob
    /// (POST, then PUT with `digest=`), then the manifest under `tag`.
    pub async fn push(&self, client: &reqwest::Client, base: &str, repo: &str, tag: &str) {
        for blob in [&self.layer, &self.config] {
            let started = client
                .post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .send()
                .await
                .unwrap();
            assert_eq!(started.status().as_u16(), 202, "blob upload start");
            let location = started.headers()["location"].to_str().unwrap().to_string();
            let location = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location
            };
            let sep = if location.contains('?') { '&' } else { '?' };
            let put = client
                .put(format!("{location}{sep}digest={}", sha256(blob)))
                .header("content-type", "application/octet-stream")
                .body(blob.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(put.status().as_u16(), 201, "blob upload");
        }
        let put = client
            .put(format!("{base}/v2/{repo}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(self.manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "manifest upload");
    }
}

/// The binaries named, or None after saying what is missing; under `CI` a missing peer fails the test.
pub fn binaries<const N: usize>(names: [&str; N], package_hint: &str) -> Option<[PathBuf; N]> {
    let found = names.map(find_binary);
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Some(found.map(|f| f.expect("found")));
    }
    let why = format!(
        "peers missing ({}); scripts/test.sh installs {package_hint}",
        missing.join(", ")
    );
    assert!(std::env::var_os("CI").is_none(), "{why}; CI must run it");
    eprintln!("SKIP: {why}");
    None
}

/// Whether the test may bind privileged ports; says why not (and fails under `CI`) when it may not.
pub fn root_or_skip(why_root: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{why_root} and needs root under CI"
    );
    eprintln!("SKIP: {why_root} and needs root");
    false
}

/// Starts a peer with its output in `log`; panics when it cannot be started.
pub fn start(name: &str, cmd: &mut Command, log: &Path) -> Peer {
    let peer = Peer::spawn(name, cmd, log).unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    eprintln!("started {name} (pid {})", peer.child.id());
    peer
}

/// Waits until every address accepts TCP connections; panics with the logs when the peer exits or does
/// not listen within 15 s.
pub fn wait_listening(peer: &mut Peer, addresses: &[SocketAddr], logs: &[&Path]) {
    let text = || {
        logs.iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("{} exited ({status}):\n{}", peer.name, text());
        }
        if addresses
            .iter()
            .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {addresses:?} within 15 s:\n{}",
            peer.name,
            text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An nginx configuration for one process (`daemon off; master_process off`, so no worker outlives it)
/// whose files all live in `dir`, serving `http_block` (server blocks and http-level directives).
pub fn nginx_conf(dir: &Path, http_block: &str) -> String {
    let d = dir.display().to_string();
    let user = if is_root() { "user root;" } else { "" };
    for sub in ["tmp", "www"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    format!(
        "daemon off;
master_process off;
{user}
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    server_tokens off;
    default_type text/plain;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
{http_block}
}}
"
    )
}

/// Writes [`nginx_conf`] into `dir` and starts nginx on it; returns once it listens on `addresses`.
pub fn start_nginx(bin: &Path, dir: &Path, http_block: &str, addresses: &[SocketAddr]) -> Peer {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir, http_block)).unwrap();
    let log = dir.join("nginx.out");
    let mut nginx = start(
        "nginx",
        Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf),
        &log,
    );
    wait_listening(&mut nginx, addresses, &[&log, &dir.join("error.log")]);
    nginx
}

/// Traefik's answer when no router matches: Go's `http.NotFound`, `404 page not found` in text/plain.
pub const TRAEFIK_404: &str =
    r#"default_type "text/plain; charset=utf-8"; return 404 "404 page not found\n";"#;
