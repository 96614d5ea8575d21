//! The fuzz targets' entry points (`fuzz/`): one per parser of other people's files, each reaching the
//! parser the way the tool does. `tests/fuzz_regressions.rs` replays through the same functions every
//! input a fuzzer once crashed on (`fuzz/regressions/<target>/`). Built only with the `fuzzing` feature.

use crate::containerd::{config, reference};
use crate::evidence::{archive, bundle, live_kube, replay};

/// A fuzz target: it returns on any input, or panics on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, as `cargo fuzz list` and `fuzz/regressions/` name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("image_reference", image_reference),
    ("registries_yaml", registries_yaml),
    ("containerd_config_toml", containerd_config_toml),
    ("hosts_toml", hosts_toml),
    ("kubeconfig", kubeconfig),
    ("env_file", env_file),
    ("bundle_manifest", bundle_manifest),
    ("bundle_archive", bundle_archive),
];

/// Image references as pods name them: parsing never panics, and a parsed reference printed and parsed
/// again is the same reference (checks print references in messages and match them against mirrors).
pub fn image_reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = reference::parse(text) {
        let printed = parsed.to_string();
        let again = reference::parse(&printed).unwrap_or_else(|e| {
            panic!("{text:?} parsed as {printed:?}, which does not parse: {e}")
        });
        assert_eq!(again, parsed, "{text:?} -> {printed:?}");
        let _ = (parsed.hostname(), parsed.object());
    }
}

/// k3s `registries.yaml`, then the hosts.toml tree k3s renders from it.
pub fn registries_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(registries) = config::parse_registries_yaml(text) {
        let _ = config::render_k3s(Some(&registries), None);
    }
}

/// containerd's config.toml (the CRI plugin's registry section).
pub fn containerd_config_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::parse_containerd_config("config.toml", text);
    }
}

/// containerd's per-registry `certs.d/<host>/hosts.toml`.
pub fn hosts_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::parse_hosts_toml("hosts.toml", text);
    }
}

/// A kubeconfig file as `--kubeconfig` reads it, before kube-rs builds a client from it.
pub fn kubeconfig(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("config");
    std::fs::write(&path, data).expect("a temporary file");
    let _ = live_kube::read_kubeconfig(&path);
}

/// A deployment env file (`--env-file`, a bundle's config.env).
pub fn env_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::settings::parse_env_text("deploy.env".into(), text);
    }
}

/// A bundle's manifest.json, read before anything of the bundle is replayed.
pub fn bundle_manifest(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("manifest.json"), data).expect("a temporary file");
    let _ = bundle::read_manifest(dir.path());
}

/// A bundle `.tar.gz` from someone else's machine, extracted under small caps, then opened for replay as
/// `analyze` opens it. Nothing may land outside the folder it is extracted into.
pub fn bundle_archive(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("bundle.tar.gz");
    std::fs::write(&file, data).expect("a temporary file");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("a temporary folder");
    let limits = archive::Limits {
        total_bytes: 4 << 20,
        file_bytes: 1 << 20,
        entries: 1000,
    };
    let Ok(root) = archive::extract_with(&file, &out, &limits) else {
        return;
    };
    assert!(root.starts_with(&out), "{}", root.display());
    let _ = bundle::read_manifest(&root);
    let _ = bundle::read_config_env(&root);
    let _ = replay::Bundle::open(&root);
}
