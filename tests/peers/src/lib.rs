//! Test support: real peer processes (Debian's nginx, docker-registry, containerd, BIND, pebble, ...) started by a
//! test from a temporary directory and stopped by their PID when dropped, so none outlives the test.
//!
//! - [`Peer`]: the process guard (start with its output in a log, wait until it is ready, stop by PID);
//! - [`require`] and [`unavailable`]: the gate for a test whose peers (or root) are missing: skipped with a
//!   message outside CI, failed under `CI`, which installs every peer (`scripts/test.sh`);
//! - [`nginx`]: one nginx process serving the `server` blocks a test gives, and Traefik's 404;
//! - [`registry`]: docker-registry (plain HTTP, HTTPS, htpasswd) and [`tls`], the test CA it serves with;
//! - [`image`]: a one-layer OCI image, pushed through the registry API or written into its storage;
//! - [`named`]: a real BIND serving a test's zones.
//!
//! Peers talk only to 127.0.0.0/8 (or inside a network namespace the test creates).

pub mod image;
pub mod named;
pub mod nginx;
pub mod registry;
pub mod tls;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use image::TestImage;
pub use nginx::{TRAEFIK_404, start_nginx};
pub use registry::Registry;
pub use tls::{TlsFiles, issue_tls, self_signed};

/// A started peer, stopped by PID when dropped: SIGTERM (a clean exit), then SIGKILL after two seconds.
pub struct Peer {
    name: String,
    child: Child,
    /// Where its output goes (the first), and any other log it writes; shown when it fails.
    logs: Vec<PathBuf>,
}

impl Peer {
    /// Starts `cmd` with stdout and stderr in `log` (created afresh); panics when it cannot be started.
    pub fn start(name: &str, cmd: &mut Command, log: &Path) -> Peer {
        let out = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        eprintln!("started {name} (pid {})", child.id());
        Peer {
            name: name.to_string(),
            child,
            logs: vec![log.to_path_buf()],
        }
    }

    /// The file its output goes to.
    pub fn log(&self) -> &Path {
        &self.logs[0]
    }

    /// Also shows `log` (a log file the peer writes itself) when it fails.
    pub fn with_log(mut self, log: PathBuf) -> Peer {
        self.logs.push(log);
        self
    }

    /// Polls `ready` until it holds; an error with the logs when the peer exits first or `timeout` passes.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited ({status}):\n{}", self.name, self.logs()));
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not {what} within {timeout:?}:\n{}",
                    self.name,
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (15 s at most) until every address accepts TCP connections.
    pub fn wait_listening(&mut self, addresses: &[SocketAddr]) -> Result<(), String> {
        self.wait_until(
            &format!("listen on {addresses:?}"),
            Duration::from_secs(15),
            || {
                addresses
                    .iter()
                    .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
            },
        )
    }

    fn logs(&self) -> String {
        self.logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                eprintln!("stopped {} (pid {pid})", self.name);
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

/// A binary from the usual system directories (the Debian packages `scripts/test.sh` installs).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs with effective uid 0 (privileged ports, mount and network namespaces).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    })
}

/// A peer `test` cannot run without is missing: skip loudly (the caller returns), or fail under `CI`,
/// which installs every peer.
pub fn unavailable(test: &str, why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !ci,
        "{test}: {why} (CI has every peer and root, so this is a failure)"
    );
    // Straight to stderr: libtest captures `eprintln!` of a passing test, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The binaries `test` needs, and root when `root_for` says what needs it; None after [`unavailable`]
/// said what is missing.
pub fn require<const N: usize>(
    test: &str,
    names: [&str; N],
    root_for: Option<&str>,
) -> Option<[PathBuf; N]> {
    if let Some(what) = root_for.filter(|_| !is_root()) {
        unavailable(test, &format!("{what}, which needs root"));
        return None;
    }
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
    unavailable(
        test,
        &format!(
            "{} not installed; scripts/test.sh installs it",
            missing.join(", ")
        ),
    );
    None
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
