//! k3s `registries.yaml` as a node holds it (read through --host-root or host-facts).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::containerd::config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(registries) = config::parse_registries_yaml(&text) {
        // What the checks do next with it: render the hosts.toml tree k3s would write.
        let _ = config::render_k3s(Some(&registries), None);
    }
});
