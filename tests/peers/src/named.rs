//! A real BIND (`named`) for the DNS tests: serves the zones a test gives on a free port of 127.0.0.1 from a
//! temporary directory, and is stopped by its PID when the handle drops. Nothing listens beyond 127.0.0.1.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{Peer, is_root, require};

/// A running named; `addr` answers for its zones (UDP and TCP).
pub struct Named {
    _peer: Peer,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Named {
    pub fn server(&self) -> String {
        self.addr.to_string()
    }
}

/// Whether named is installed; when it is not, [`crate::unavailable`] says why the DNS part is skipped (and
/// fails it under `CI`).
pub fn available() -> bool {
    named_binary().is_some()
}

fn named_binary() -> Option<PathBuf> {
    require("the DNS tests", ["named"], None).map(|[bin]| bin)
}

/// Starts named with the DNS tests' zones in `zones` (`test.zone` as `test`, `broken.zone` as `sf.test`),
/// or None after saying why it cannot (outside CI).
pub fn start(zones: &Path) -> Option<Named> {
    start_zones(&[
        ("test".into(), zones.join("test.zone")),
        ("sf.test".into(), zones.join("broken.zone")),
    ])
}

/// Starts named serving each `(zone name, zone file)`, or None after saying why it cannot (outside CI).
pub fn start_zones(zones: &[(String, PathBuf)]) -> Option<Named> {
    let bin = named_binary()?;
    // Another process may take the port between choosing and binding it: a few tries.
    let mut failures = Vec::new();
    for _ in 0..5 {
        match try_start(&bin, zones) {
            Ok(named) => return Some(named),
            Err(e) => failures.push(e),
        }
    }
    panic!(
        "named did not start on a free loopback port:\n{}",
        failures.join("\n")
    );
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

fn try_start(bin: &Path, zones: &[(String, PathBuf)]) -> Result<Named, String> {
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
    let log = dir.path().join("named.log");
    let mut peer = Peer::start("named", &mut cmd, &log);
    peer.wait_until("load its zones", Duration::from_secs(20), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.lines().any(|l| l.ends_with(" running")))
    })?;
    Ok(Named {
        _peer: peer,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _dir: dir,
    })
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
