//! Real peers: the `hosts.toml` that the registry snippet generator writes for containerd nodes (kubeadm,
//! kind) is handed to a real containerd (Debian's 1.6), which must pull and unpack an image named by the
//! dev registry host `registry.local:32000` from a real docker-registry through that file alone: over plain
//! HTTP on the dev path, and over HTTPS with the CA the production snippet names. Without the CA the same
//! pull fails with exactly the `x509: certificate signed by unknown authority` that `images.pull-failures`
//! classifies. The image is written straight into the registry's filesystem storage; `ctr --hosts-dir`
//! reads the generated directory the way the CRI plugin reads `config_path`.
//!
//! Everything runs in a network namespace the test creates (only its loopback is up), so a fallback to
//! `registry.local` cannot reach any resolver. Without containerd, ctr, docker-registry or root (for `ip
//! netns`) the tests are skipped, except under `CI`, where that fails them. Peers are stopped by PID, then the
//! namespace is deleted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mcp_doctor_remediations::{Distribution, RegistryAccess, registry_snippet};

const IMAGE_HOST: &str = "registry.local:32000";
const REPO: &str = "mcp-servers/weather";
const TAG: &str = "0.3.2";

/// A started peer, stopped by PID when dropped.
struct Peer {
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn digest(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a blob and links it into the repository, as docker-registry's filesystem driver lays them out.
fn put_blob(root: &Path, bytes: &[u8], link: Option<&str>) -> String {
    let hex = digest(bytes);
    let v2 = root.join("docker/registry/v2");
    let dir = v2.join(format!("blobs/sha256/{}/{hex}", &hex[..2]));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), bytes).unwrap();
    if let Some(link) = link {
        let l = v2.join(format!("repositories/{REPO}/{link}/sha256/{hex}"));
        std::fs::create_dir_all(&l).unwrap();
        std::fs::write(l.join("link"), format!("sha256:{hex}")).unwrap();
    }
    hex
}

/// A one-layer OCI image for this machine's architecture, tagged `TAG` in `REPO`.
fn write_image(root: &Path) {
    let mut tar = tar::Builder::new(Vec::new());
    let body = b"weather\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "etc/weather", &body[..])
        .unwrap();
    let layer_tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer_tar).unwrap();
    let layer = gz.finish().unwrap();
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        other => other,
    };
    let config = serde_json::json!({
        "architecture": arch, "os": "linux", "config": {},
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{}", digest(&layer_tar))] },
    })
    .to_string();
    let config_hex = put_blob(root, config.as_bytes(), Some("_layers"));
    let layer_hex = put_blob(root, &layer, Some("_layers"));
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": format!("sha256:{config_hex}"), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                     "digest": format!("sha256:{layer_hex}"), "size": layer.len() }],
    })
    .to_string();
    let manifest_hex = put_blob(root, manifest.as_bytes(), Some("_manifests/revisions"));
    let tag = root.join(format!(
        "docker/registry/v2/repositories/{REPO}/_manifests/tags/{TAG}"
    ));
    std::fs::create_dir_all(tag.join("current")).unwrap();
    std::fs::write(tag.join("current/link"), format!("sha256:{manifest_hex}")).unwrap();
    let index = tag.join(format!("index/sha256/{manifest_hex}"));
    std::fs::create_dir_all(&index).unwrap();
    std::fs::write(index.join("link"), format!("sha256:{manifest_hex}")).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait(what: &str, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{what} did not become ready: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn start(cmd: &mut Command, log: &Path) -> Peer {
    let out = std::fs::File::create(log).unwrap();
    let child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Peer { child }
}

/// The text after the line holding `header`, up to the next blank line followed by a comment.
fn section<'a>(snippet: &'a str, header: &str) -> &'a str {
    let start = snippet.find(header).expect(header) + header.len();
    let rest = snippet[start..].trim_start_matches(|c| c != '\n');
    rest.split("\n\n#").next().unwrap_or(rest)
}

/// A network namespace of this test: only its loopback is up. Deleted when dropped (after the peers in it).
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Option<Netns> {
        let name = format!("mcpdoc-{tag}-{}", std::process::id());
        let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
        if !ok(Command::new("ip").args(["netns", "add", &name])) {
            return None;
        }
        let ns = Netns { name };
        ok(Command::new("ip").args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]))
            .then_some(ns)
    }

    /// A command run inside the namespace (`ip netns exec` execs it: its PID is the program's).
    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// containerd, ctr, docker-registry and a fresh namespace; None (skip) when any is missing, except under CI.
fn lab(tag: &str) -> Option<(Netns, PathBuf, PathBuf, PathBuf)> {
    let found = (
        binary("containerd"),
        binary("ctr"),
        binary("docker-registry"),
    );
    let ns = Netns::create(tag);
    match (ns, found) {
        (Some(ns), (Some(c), Some(ctr), Some(r))) => Some((ns, c, ctr, r)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "containerd, ctr, docker-registry (apt-get install containerd docker-registry) and root for ip netns are needed"
            );
            eprintln!("skipped: containerd, ctr, docker-registry or ip netns not available");
            None
        }
    }
}

/// The running peers of one test; fields drop in order: peers first, then the namespace.
struct Running {
    _registry: Peer,
    _containerd: Peer,
    ns: Netns,
    ctr: PathBuf,
    sock: PathBuf,
    registry_log: PathBuf,
}

impl Running {
    /// docker-registry on 127.0.0.1:`port` (TLS when `tls` = (cert, key)) with the image, and containerd.
    fn start(tag: &str, dir: &Path, port: u16, tls: Option<(&Path, &Path)>) -> Option<Running> {
        let (ns, containerd, ctr, registry) = lab(tag)?;
        let storage = dir.join("storage");
        write_image(&storage);
        let tls = tls
            .map(|(c, k)| {
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    c.display(),
                    k.display()
                )
            })
            .unwrap_or_default();
        std::fs::write(
            dir.join("registry.yml"),
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}",
                storage.display()
            ),
        )
        .unwrap();
        let registry_log = dir.join("registry.log");
        let registry = start(
            ns.command(&registry)
                .arg("serve")
                .arg(dir.join("registry.yml")),
            &registry_log,
        );
        wait("docker-registry", &registry_log, || {
            std::fs::read_to_string(&registry_log)
                .is_ok_and(|l| l.contains(&format!("listening on 127.0.0.1:{port}")))
        });
        let sock = dir.join("containerd.sock");
        std::fs::write(
            dir.join("containerd.toml"),
            format!(
                "version = 2\nroot = \"{}\"\nstate = \"{}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{}\"\n",
                dir.join("root").display(),
                dir.join("state").display(),
                sock.display()
            ),
        )
        .unwrap();
        let containerd_log = dir.join("containerd.log");
        let containerd = start(
            ns.command(&containerd)
                .arg("--config")
                .arg(dir.join("containerd.toml")),
            &containerd_log,
        );
        wait("containerd", &containerd_log, || {
            Command::new(&ctr)
                .arg("-a")
                .arg(&sock)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        Some(Running {
            _registry: registry,
            _containerd: containerd,
            ns,
            ctr,
            sock,
            registry_log,
        })
    }

    /// `ctr images pull` of the image through `certs.d` (the client resolves inside the namespace).
    fn pull(&self, certs_d: &Path) -> std::process::Output {
        let mut timeout = self.ns.command(Path::new("/usr/bin/timeout"));
        timeout
            .arg("60")
            .arg(&self.ctr)
            .arg("-a")
            .arg(&self.sock)
            .args([
                "-n",
                "mcp-doctor-test",
                "images",
                "pull",
                "--snapshotter",
                "native",
                "--hosts-dir",
            ])
            .arg(certs_d)
            .arg(format!("{IMAGE_HOST}/{REPO}:{TAG}"))
            .output()
            .unwrap()
    }
}

/// Writes the generated hosts.toml for `IMAGE_HOST` under `<dir>/<name>/` and returns that certs.d root.
fn certs_d(dir: &Path, name: &str, snippet: &str) -> PathBuf {
    let hosts_toml = section(snippet, &format!("certs.d/{IMAGE_HOST}/hosts.toml"));
    let root = dir.join(name);
    std::fs::create_dir_all(root.join(IMAGE_HOST)).unwrap();
    std::fs::write(root.join(IMAGE_HOST).join("hosts.toml"), hosts_toml).unwrap();
    root
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn containerd_pulls_through_the_generated_dev_hosts_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let Some(lab) = Running::start("dev", dir, port, None) else {
        return;
    };
    // The fix for a dev registry reached through its NodePort on the node's loopback.
    let access = RegistryAccess {
        host: IMAGE_HOST.into(),
        endpoint: format!("http://127.0.0.1:{port}"),
        ca_file: None,
        hosts_line: None,
    };
    let snippet = registry_snippet(Distribution::Generic, &[access], &[], false);
    let out = lab.pull(&certs_d(dir, "certs.d", &snippet));
    let log = std::fs::read_to_string(&lab.registry_log).unwrap_or_default();
    assert!(
        out.status.success(),
        "pull through\n{snippet}\nfailed: {}\n{log}",
        text(&out)
    );
    // The mirror answered: the registry saw the namespaced request containerd sends to a mirror.
    assert!(log.contains("ns=registry.local"), "{log}");
}

#[test]
fn the_production_fix_trusts_the_ca_and_without_it_the_pull_fails_with_x509() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "mcp-runtime-ca");
    let ca = rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["registry.local".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let (cert_path, key_path, ca_path) =
        (dir.join("tls.crt"), dir.join("tls.key"), dir.join("ca.crt"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(&ca_path, ca.pem()).unwrap();
    let port = free_port();
    let Some(lab) = Running::start("prod", dir, port, Some((&cert_path, &key_path))) else {
        return;
    };
    let access = |ca_file: Option<String>| RegistryAccess {
        host: IMAGE_HOST.into(),
        endpoint: format!("https://127.0.0.1:{port}"),
        ca_file,
        hosts_line: None,
    };
    let untrusted = registry_snippet(Distribution::Generic, &[access(None)], &[], true);
    let out = lab.pull(&certs_d(dir, "untrusted", &untrusted));
    assert!(!out.status.success(), "pulled without the CA:\n{untrusted}");
    assert!(
        text(&out).contains("x509: certificate signed by unknown authority"),
        "{}",
        text(&out)
    );
    let fixed = registry_snippet(
        Distribution::Generic,
        &[access(Some(ca_path.display().to_string()))],
        &[],
        true,
    );
    assert!(
        !fixed.contains("http://") && !fixed.contains("skip_verify"),
        "{fixed}"
    );
    let out = lab.pull(&certs_d(dir, "trusted", &fixed));
    assert!(
        out.status.success(),
        "pull through\n{fixed}\nfailed: {}",
        text(&out)
    );
}
