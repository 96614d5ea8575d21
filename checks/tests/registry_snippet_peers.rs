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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mcp_doctor_remediations::{Distribution, RegistryAccess, registry_snippet};
use mcp_doctor_test_peers::{
    Peer, Registry, TestImage, TlsFiles, free_port, issue_tls, require, unavailable,
};

const TEST: &str = "registry snippet peers";
const IMAGE_HOST: &str = "registry.local:32000";
const REPO: &str = "mcp-servers/weather";
const TAG: &str = "0.3.2";

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
fn lab(tag: &str) -> Option<(Netns, [PathBuf; 3])> {
    let bins = require(
        TEST,
        ["containerd", "ctr", "docker-registry"],
        Some("ip netns"),
    )?;
    let Some(ns) = Netns::create(tag) else {
        unavailable(TEST, "ip netns could not create a network namespace");
        return None;
    };
    Some((ns, bins))
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
    /// docker-registry on 127.0.0.1:`port` (HTTPS when `tls` is given) with the image, and containerd.
    fn start(tag: &str, dir: &Path, port: u16, tls: Option<&TlsFiles>) -> Option<Running> {
        let (ns, [containerd, ctr, registry]) = lab(tag)?;
        let storage = dir.join("storage");
        TestImage::new("weather\n").write_to_storage(&storage, REPO, TAG);
        // Inside the namespace: readiness shows in the registry's log, not on a port the test can reach.
        let mut registry = Registry {
            name: "docker-registry",
            addr: ([127, 0, 0, 1], port).into(),
            storage: &storage,
            tls,
            htpasswd: false,
        }
        .spawn(ns.command(&registry), dir);
        let registry_log = registry.log().to_path_buf();
        registry
            .wait_until("listen", Duration::from_secs(15), || {
                std::fs::read_to_string(&registry_log)
                    .is_ok_and(|l| l.contains(&format!("listening on 127.0.0.1:{port}")))
            })
            .unwrap_or_else(|e| panic!("{e}"));
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
        let mut containerd = Peer::start(
            "containerd",
            ns.command(&containerd)
                .arg("--config")
                .arg(dir.join("containerd.toml")),
            &dir.join("containerd.log"),
        );
        containerd
            .wait_until("answer ctr version", Duration::from_secs(15), || {
                Command::new(&ctr)
                    .arg("-a")
                    .arg(&sock)
                    .arg("version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .unwrap_or_else(|e| panic!("{e}"));
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
    let tls = issue_tls(dir, &["registry.local", "127.0.0.1"]);
    let port = free_port();
    let Some(lab) = Running::start("prod", dir, port, Some(&tls)) else {
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
        &[access(Some(tls.ca.display().to_string()))],
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
