//! Test support: real peer processes (nginx, pebble, ...) started by a test from a temporary directory and
//! stopped by their PID when dropped, so none outlives the test.
//!
//! nginx runs as a single process (`daemon off; master_process off`), so no worker survives its PID. The
//! tests using it serve only 127.0.0.0/8 addresses; ports 80 and 443 there need root.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process stopped (by its PID) when dropped.
pub struct Peer {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Peer {
    /// Starts `cmd` with its output in `log`.
    pub fn start(name: &'static str, cmd: &mut Command, log: &Path) -> Peer {
        let out = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        eprintln!("started {name} (pid {})", child.id());
        Peer {
            name,
            child,
            log: log.to_path_buf(),
        }
    }

    /// Panics with the peer's log if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
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

/// A binary from the usual system directories (the Debian packages `scripts/test.sh` installs).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs as root (binding ports 80 and 443 needs it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

/// nginx and root, or None (skip, after saying why) when either is missing outside CI; under `CI` a
/// missing peer fails the test instead.
pub fn nginx_or_skip(what: &str) -> Option<PathBuf> {
    let found = find_binary("nginx");
    let why = match (&found, is_root()) {
        (None, _) => "nginx is not installed (scripts/test.sh installs nginx-light)".to_string(),
        (Some(_), false) => format!("{what} binds ports 80/443 on 127.0.0.x and needs root"),
        (Some(_), true) => return found,
    };
    assert!(std::env::var_os("CI").is_none(), "{why}; CI must run it");
    eprintln!("SKIP: {why}");
    None
}

/// A whole nginx.conf around `servers` (the `server { ... }` blocks of the `http` context): one process,
/// every path under `dir`, `{dir}` in `servers` replaced by it.
pub fn nginx_conf(dir: &Path, servers: &str) -> String {
    let d = dir.display().to_string();
    for sub in ["tmp", "cache"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Workers of a root nginx would switch to `nobody`, who cannot read the temporary directory.
    let user = if is_root() { "user root;" } else { "" };
    let servers = servers.replace("{dir}", &d);
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
    proxy_cache_path {d}/cache keys_zone=front:1m;
{servers}
}}
"
    )
}

/// Writes [`nginx_conf`] into `dir`, starts nginx on it and waits until every address in `listening`
/// accepts connections (15 s at most).
pub fn start_nginx(bin: &Path, dir: &Path, servers: &str, listening: &[SocketAddr]) -> Peer {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir, servers)).unwrap();
    let mut nginx = Peer::start(
        "nginx",
        Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf),
        &dir.join("nginx.out"),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        nginx.assert_running();
        let up = listening
            .iter()
            .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok());
        if up {
            return nginx;
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {listening:?} within 15 s:\n{}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Traefik's answer for a host or path it has no route for.
pub const TRAEFIK_404: &str = r#"return 404 "404 page not found\n";"#;
