//! A bundle `.tar.gz` from someone else's machine: extracted under small caps into a temporary folder, then
//! opened for replay as `analyze` opens it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::evidence::{archive, bundle, replay};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.tar.gz");
    std::fs::write(&file, data).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let limits = archive::Limits {
        total_bytes: 4 << 20,
        file_bytes: 1 << 20,
        entries: 1000,
    };
    let Ok(root) = archive::extract_with(&file, &out, &limits) else {
        return;
    };
    // Nothing was written outside the folder it was extracted into.
    assert!(root.starts_with(&out), "{}", root.display());
    let _ = bundle::read_manifest(&root);
    let _ = bundle::read_config_env(&root);
    let _ = replay::Bundle::open(&root);
});
