//! Real peers for the tests that need them: Debian binaries (nginx, docker-registry, pebble) started by the
//! test from a temporary directory, talking only to 127.0.0.0/8, and stopped by their PID.
//!
//! Shared by `checks/tests/http01_peers.rs`, `checks/tests/registry_peers.rs` and `tests/front_door_cli.rs`
//! (which includes this file by path). Without a peer (or without root where a test binds ports 80/443) a
//! test is skipped with a message, except under `CI`, where it fails.
#![allow(dead_code)] // each test binary uses a different part

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process stopped (by its PID) when dropped.
pub struct Peer {
    pub name: &'static str,
    pub child: Child,
}

impl Drop for Peer {
    /// SIGTERM by PID (a clean exit), then SIGKILL if it is still there after two seconds.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                eprintln!("stopped {} (pid {pid})", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("killed {} (pid {pid})", self.name);
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
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
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

/// Starts a peer with its output in `log`.
pub fn start(name: &'static str, cmd: &mut Command, log: &Path) -> Peer {
    let out = std::fs::File::create(log).unwrap();
    let child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    eprintln!("started {name} (pid {})", child.id());
    Peer { name, child }
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
