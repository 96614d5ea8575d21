//! docker-registry (Debian's distribution 2.8) serving a filesystem storage, over plain HTTP or HTTPS, open
//! or behind htpasswd basic auth.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Peer, TlsFiles};

/// One docker-registry instance.
pub struct Registry<'a> {
    /// Names its files in the test's directory: `<name>.yml`, `<name>.log`, `<name>.htpasswd`.
    pub name: &'a str,
    pub addr: SocketAddr,
    /// The filesystem storage (instances may share one).
    pub storage: &'a Path,
    /// HTTPS with this certificate and key.
    pub tls: Option<&'a TlsFiles>,
    /// Basic auth: anonymous requests get 401.
    pub htpasswd: bool,
}

impl Registry<'_> {
    /// Writes the configuration into `dir` and starts docker-registry (`bin`) on it; returns once it listens.
    pub fn start(&self, bin: &Path, dir: &Path) -> Result<Peer, String> {
        let mut peer = self.spawn(Command::new(bin), dir);
        peer.wait_listening(&[self.addr])?;
        Ok(peer)
    }

    /// Writes the configuration into `dir` and starts `registry` (the binary, or a command that execs it
    /// where the test cannot connect, such as a network namespace) on it, without waiting.
    pub fn spawn(&self, mut registry: Command, dir: &Path) -> Peer {
        let config = self.write_config(dir);
        Peer::start(
            &format!("docker-registry {}", self.name),
            registry.arg("serve").arg(config),
            &dir.join(format!("{}.log", self.name)),
        )
    }

    fn write_config(&self, dir: &Path) -> PathBuf {
        // Access logs at info: tests read which requests a registry saw.
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {}\n  secret: mcp-doctor-test\n",
            self.storage.display(),
            self.addr
        );
        if let Some(tls) = self.tls {
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.cert.display(),
                tls.key.display()
            ));
        }
        if self.htpasswd {
            // No client logs in, so the hash never has to verify; the file only has to exist.
            let file = dir.join(format!("{}.htpasswd", self.name));
            std::fs::write(
                &file,
                "tester:$2y$05$0000000000000000000000000000000000000000000000000000a\n",
            )
            .unwrap();
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: mcp-doctor-test\n    path: {}\n",
                file.display()
            ));
        }
        let path = dir.join(format!("{}.yml", self.name));
        std::fs::write(&path, cfg).unwrap();
        path
    }
}
