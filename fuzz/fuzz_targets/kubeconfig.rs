//! A kubeconfig file as `--kubeconfig` reads it, before kube-rs builds a client from it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::evidence::live_kube;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, data).unwrap();
    let _ = live_kube::read_kubeconfig(&path);
});
