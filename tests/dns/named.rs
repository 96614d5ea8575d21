//! A real BIND (`named`) for the DNS tests: serves `tests/dns/zones/` on a free loopback port from a
//! temporary directory, and is stopped by its PID when the handle drops. Nothing listens beyond 127.0.0.1.
//!
//! Installed by `scripts/test.sh` (`apt-get install bind9`). When `named` is absent the tests skip with a
//! message, except in CI (`CI` set), where a missing peer fails them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Named {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn named_binary() -> Option<PathBuf> {
    ["/usr/sbin/named", "/usr/local/sbin/named"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Whether named is installed; outside CI says why the DNS part is skipped when it is not, in CI fails.
pub fn available() -> bool {
    if named_binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "named (bind9) is not installed, and CI must run the DNS tests: scripts/test.sh installs it"
    );
    eprintln!("SKIP: named (bind9) is not installed; `apt-get install bind9` to run the DNS tests");
    false
}

/// Starts named with the test zones (`test.zone` as `test`, `broken.zone` as `sf.test`), or returns None
/// (after saying why) when it is not installed outside CI.
pub fn start(zones: &Path) -> Option<Named> {
    start_zones(&[
        ("test".into(), zones.join("test.zone")),
        ("sf.test".into(), zones.join("broken.zone")),
    ])
}

/// Starts named serving each `(zone name, zone file)`.
pub fn start_zones(zones: &[(String, PathBuf)]) -> Option<Named> {
    let Some(bin) = named_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "named (bind9) is not installed, and CI must run the DNS tests: scripts/test.sh installs it"
        );
        eprintln!(
            "SKIP: named (bind9) is not installed; `apt-get install bind9` to run the DNS tests"
        );
        return None;
    };
    for _ in 0..5 {
        if let Some(n) = try_start(&bin, zones) {
            return Some(n);
        }
    }
    panic!("named did not start on a free loopback port (see the log above)");
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn try_start(bin: &Path, zones: &[(String, PathBuf)]) -> Option<Named> {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let zone_lines: String = zones
        .iter()
        .map(|(name, file)| {
            format!(
                "zone \"{name}\" {{ type primary; file \"{}\"; }};\n",
                file.display()
            )
        })
        .collect();
    let conf = format!(
        r#"options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
{zone_lines}"#
    );
    let conf_path = dir.path().join("named.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(bin);
    // -g: foreground, log to stderr; -4: IPv4 only. As root named would switch to the bind user, which
    // cannot read the temp dir: -u root keeps it as is when we are root.
    cmd.arg("-g").arg("-4").arg("-c").arg(&conf_path);
    if is_root() {
        cmd.arg("-u").arg("root");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn named");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let running = line.ends_with(" running");
            log.push(line);
            if running {
                let _ = tx.send(Ok(()));
            }
        }
        let _ = tx.send(Err(log.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(())) => Some(Named {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        }),
        Ok(Err(log)) => {
            let _ = child.wait();
            eprintln!("named exited before it was ready:\n{log}");
            None
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("named was not ready within 20 s");
            None
        }
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Named {
    pub fn server(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        // Stopped by its own PID, never by name.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DNS server that never answers: reads UDP queries and drops them, accepts TCP and stays silent.
pub struct Silent {
    pub addr: SocketAddr,
    _udp: std::sync::Arc<UdpSocket>,
    _tcp: TcpListener,
}

pub fn silent() -> Silent {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    let tcp = TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|_| TcpListener::bind("127.0.0.1:0").unwrap());
    let udp = std::sync::Arc::new(udp);
    let reader = udp.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while reader.recv_from(&mut buf).is_ok() {}
    });
    Silent {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _udp: udp,
        _tcp: tcp,
    }
}
