//! Real peer processes for integration tests: a PID guard, the root/CI gate, and docker-registry (Debian's
//! `docker-registry`, distribution 2.8) on a loopback address — plain HTTP, HTTPS with a test CA, or
//! htpasswd-protected (401) — plus a tiny OCI image pushed through the registry API.
//!
//! Everything listens on 127.0.0.0/8 only and lives under the caller's temporary directory. Reusable by any
//! test that needs a registry: `mod peers;` from a file in `checks/tests/`.

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
