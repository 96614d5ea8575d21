//! containerd's per-registry hosts.toml (certs.d/<host>/hosts.toml).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::containerd::config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = config::parse_hosts_toml("hosts.toml", &text);
});
