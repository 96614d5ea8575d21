//! Real peers: the `hosts.toml` that the registry snippet generator writes for containerd nodes (kubeadm,
//! kind) is handed to a real containerd (Debian's 1.6), which must pull and unpack an image named by the
//! dev registry host `registry.local:32000` from a real docker-registry on 127.0.0.1 through that file
//! alone. The image is written straight into the registry's filesystem storage; `ctr --hosts-dir` reads the
//! generated directory the way the CRI plugin reads `config_path`. Nothing leaves the loopback: the mirror is
//! tried first and answers, so `registry.local` is never looked up.
//!
//! Without containerd, ctr and docker-registry the test is skipped, except under `CI`, where a missing peer
//! fails it. Peers are started here and stopped by PID.

use std::io::{Read, Write};
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

/// `GET /v2/` answers 200 (plain HTTP, one request, short timeouts).
fn registry_ready(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 32];
    s.read(&mut buf)
        .is_ok_and(|n| String::from_utf8_lossy(&buf[..n]).contains(" 200 "))
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

#[test]
fn containerd_pulls_through_the_generated_hosts_toml() {
    let (Some(containerd), Some(ctr), Some(registry)) = (
        binary("containerd"),
        binary("ctr"),
        binary("docker-registry"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "containerd, ctr and docker-registry are needed (apt-get install containerd docker-registry)"
        );
        eprintln!("skipped: containerd, ctr or docker-registry not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let storage = dir.join("storage");
    write_image(&storage);
    let port = free_port();
    std::fs::write(
        dir.join("registry.yml"),
        format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        ),
    )
    .unwrap();
    let registry_log = dir.join("registry.log");
    let _registry = start(
        Command::new(registry)
            .arg("serve")
            .arg(dir.join("registry.yml")),
        &registry_log,
    );
    wait("docker-registry", &registry_log, || registry_ready(port));

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
    let _containerd = start(
        Command::new(containerd)
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

    // The fix for a dev registry reached through its NodePort on the node's loopback.
    let access = RegistryAccess {
        host: IMAGE_HOST.into(),
        endpoint: format!("http://127.0.0.1:{port}"),
        ca_file: None,
        hosts_line: None,
    };
    let snippet = registry_snippet(Distribution::Generic, &[access], &[], false);
    let hosts_toml = section(&snippet, &format!("certs.d/{IMAGE_HOST}/hosts.toml"));
    let certs_d = dir.join("certs.d");
    std::fs::create_dir_all(certs_d.join(IMAGE_HOST)).unwrap();
    std::fs::write(certs_d.join(IMAGE_HOST).join("hosts.toml"), hosts_toml).unwrap();

    let image = format!("{IMAGE_HOST}/{REPO}:{TAG}");
    let out = Command::new("timeout")
        .arg("60")
        .arg(&ctr)
        .arg("-a")
        .arg(&sock)
        .args([
            "-n",
            "mcp-doctor-test",
            "images",
            "pull",
            "--snapshotter",
            "native",
            "--hosts-dir",
        ])
        .arg(&certs_d)
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pull of {image} through\n{hosts_toml}\nfailed: {}{}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&registry_log).unwrap_or_default()
    );
    // The mirror answered: the registry saw the namespaced request containerd sends to a mirror.
    let log = std::fs::read_to_string(&registry_log).unwrap_or_default();
    assert!(
        log.contains("ns=registry.local:32000") || log.contains("ns=registry.local%3A32000"),
        "{log}"
    );
}
