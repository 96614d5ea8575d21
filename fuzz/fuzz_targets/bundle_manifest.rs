//! A bundle's manifest.json, read before anything of the bundle is replayed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::evidence::bundle;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.json"), data).unwrap();
    let _ = bundle::read_manifest(dir.path());
});
