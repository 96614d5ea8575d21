//! `mcp-doctor bundle` end to end, through the fixture API server with the real kube client: no planted
//! secret (in objects, logs, kubeconfigs or node config files) leaves in any form (the canary test), two bundles of the same cluster are the same files, an
//! unreadable kind is recorded and not fatal, `--preview` writes nothing, and `analyze` refuses a bundle of
//! another format.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use mcp_doctor_checks::evidence::redact::marker;
use serde_json::{Value, json};

/// Runs `bundle` against `server` for the scenario in `dir`; returns the process output.
fn bundle(server: &FixtureServer, dir: &Path, tmp: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = mcp_doctor(tmp);
    cmd.arg("bundle")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--format", "json", "--timeout", "10"])
        .arg("--env-file")
        .arg(dir.join("config.env"))
        .args(extra);
    if dir.join("host").is_dir() {
        cmd.arg("--host-facts").arg(dir.join("host"));
    }
    cmd.output().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn edit_list(dir: &Path, resource: &str, edit: impl FnOnce(&mut Vec<Value>)) {
    let path = dir.join("cluster").join(resource).join("_all.json");
    let mut list: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": []}),
    };
    edit(list["items"].as_array_mut().unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
}

/// The decompressed tar stream of a bundle: every file's bytes, headers and names.
fn tar_bytes(archive: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The forms a secret could leak in: as is, base64 at each of the three alignments it can sit at inside a
/// longer encoded value, and hex.
fn leak_forms(canary: &str) -> Vec<(String, Vec<u8>)> {
    let mut forms = vec![("raw".to_string(), canary.as_bytes().to_vec())];
    for shift in 0..3 {
        let padded = format!("{}{canary}", "x".repeat(shift));
        let encoded = STANDARD.encode(padded.as_bytes());
        // Drop the characters that also encode the padding, and the last group (it depends on what follows).
        let skip = (shift * 4).div_ceil(3);
        let core = encoded[skip..encoded.len().saturating_sub(4)].to_string();
        forms.push((format!("base64+{shift}"), core.into_bytes()));
    }
    let hex: String = canary.bytes().map(|b| format!("{b:02x}")).collect();
    forms.push(("hex".into(), hex.clone().into_bytes()));
    forms.push(("HEX".into(), hex.to_uppercase().into_bytes()));
    forms
}

const API_POD: &str = "mcp-sentinel-api-5d8b9c7f6d-q2w9r";
const NODE: &str = "mcp-cp-1";

#[test]
fn no_planted_secret_leaves_in_any_form() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("scenario");
    copy_dir(&fixture("platform-healthy"), &dir);

    let secret_value = "canary-secret-7f3a9c21e4";
    let secret_kubeconfig_token = "canary-secretkube-5d1e8a";
    let env_value = "canary-envpw-5b8d2e61";
    let cm_token = "canary-cmtoken-9e4f1a07";
    let cm_referenced = "canary-cmref-3f9a0d17";
    let cm_kubeconfig_token = "canary-cmkube-2c6b8d93";
    let bearer = "canarybearer3d7e9f15a2";
    let basic_password = "canarybasicpw8a1c";
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOiJqd3QifQ.Y2FuYXJ5LWp3dC1zaWduYXR1cmU";
    let api_key = "canary-apikey-4e2b7d";
    let pem_body = "MIIEcanaryPEMbody0q9w8e7r";
    let previous_token = "canaryprevious61f0e2";
    let server_token = "canary-kubeconfig-token-b71d4c";

    let kubeconfig = |token: &str| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts: []\n"
        )
    };
    edit_list(&dir, "secrets", |items| {
        items.push(json!({
            "metadata": {"name": "sentinel-db", "namespace": "mcp-sentinel", "uid": "0b0c7a4e-1f1e-4c4b-9a55-3e0e7c1d2a10",
                         "resourceVersion": "5120", "creationTimestamp": "2026-10-22T09:45:00Z"},
            "data": {
                "DATABASE_URL": STANDARD.encode(format!("postgres://sentinel:{secret_value}@postgres:5432/sentinel")),
                "admin.kubeconfig": STANDARD.encode(kubeconfig(secret_kubeconfig_token)),
            },
            "type": "Opaque"
        }));
    });
    // A ConfigMap key with a harmless name, read into a secret-looking env var: a secret by reference.
    let env = json!([
        {"name": "DATABASE_PASSWORD", "value": env_value},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "SENTINEL_DB_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "sentinel-settings", "key": "db"}}}
    ]);
    edit_list(&dir, "pods", |items| {
        let pod = items
            .iter_mut()
            .find(|p| p["metadata"]["name"] == API_POD)
            .unwrap();
        pod["spec"]["containers"][0]["env"] = env.clone();
        pod["status"]["containerStatuses"][0]["restartCount"] = json!(1);
        pod["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {
            "exitCode": 1, "reason": "Error", "startedAt": "2026-11-18T10:01:02Z",
            "finishedAt": "2026-11-18T10:02:09Z",
            "containerID": "containerd://1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e"}});
    });
    edit_list(&dir, "deployments.apps", |items| {
        let d = items
            .iter_mut()
            .find(|d| d["metadata"]["name"] == "mcp-sentinel-api")
            .unwrap();
        d["spec"]["template"]["spec"]["containers"][0]["env"] = env.clone();
    });
    edit_list(&dir, "configmaps", |items| {
        items.push(json!({
            "metadata": {"name": "sentinel-settings", "namespace": "mcp-sentinel", "uid": "5a1c9e0b-7d43-4f0e-8a21-6b2d9c3e4f50",
                         "resourceVersion": "5121", "creationTimestamp": "2026-10-22T09:45:00Z"},
            "data": {"API_TOKEN": cm_token, "admin.kubeconfig": kubeconfig(cm_kubeconfig_token), "LOG_FORMAT": "json", "db": cm_referenced}
        }));
    });
    let logs = dir.join("logs/mcp-sentinel").join(API_POD);
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("api.log"),
        format!(
            "sentinel api started\nGET /v1/servers Authorization: Bearer {bearer}\nconnecting to postgres://sentinel:{basic_password}@postgres:5432/sentinel\nsession token {jwt} accepted\nupstream call x-api-key: {api_key}\nloaded key -----BEGIN PRIVATE KEY-----\n{pem_body}\n-----END PRIVATE KEY-----\nready\n"
        ),
    )
    .unwrap();
    std::fs::write(
        logs.join("api.previous.log"),
        format!("panic: token rejected: Bearer {previous_token}\n"),
    )
    .unwrap();

    // Node facts given with --host-facts: a registry password and the k3s join token in their config files.
    let registry_password = "canary-regpw-61c0d2";
    let k3s_token = "K10canarytoken7a9b3e::server:c4d5";
    std::fs::create_dir_all(dir.join("host")).unwrap();
    let facts = json!({
        "schema": "mcp-doctor.host-facts/v1", "node": NODE, "collected_at": "2026-11-18T10:00:00Z",
        "files": {
            "/etc/rancher/k3s/registries.yaml": {"mode": 384, "uid": 0, "size": 120, "content": format!(
                "configs:\n  \"registry.example.com\":\n    auth:\n      username: robot\n      password: {registry_password}\n")},
            "/etc/rancher/k3s/config.yaml": {"mode": 384, "uid": 0, "size": 60, "content": format!(
                "token: {k3s_token}\nwrite-kubeconfig-mode: \"0600\"\n")}
        },
        "disks": {}, "versions": {}
    });
    std::fs::write(
        dir.join("host").join(format!("{NODE}.json")),
        serde_json::to_string_pretty(&facts).unwrap(),
    )
    .unwrap();

    let server = FixtureServer::start(
        &dir,
        ServerOptions {
            token: server_token.into(),
            ..Default::default()
        },
    )
    .unwrap();
    let out_file = tmp.path().join("bundle.tar.gz");
    let out = bundle(
        &server,
        &dir,
        tmp.path(),
        &["-o", out_file.to_str().unwrap()],
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Redacted objects are still what the API serves: every check could read them.
    let live = valid_report(&String::from_utf8_lossy(&out.stdout));
    for (id, status) in statuses(&live) {
        assert_ne!(status, "error", "{id} could not read the redacted evidence");
    }
    let compressed = std::fs::read(&out_file).unwrap();
    let stream = tar_bytes(&out_file);
    let canaries = [
        secret_value,
        secret_kubeconfig_token,
        env_value,
        cm_token,
        cm_referenced,
        cm_kubeconfig_token,
        bearer,
        basic_password,
        jwt,
        "Y2FuYXJ5LWp3dC1zaWduYXR1cmU",
        api_key,
        pem_body,
        previous_token,
        server_token,
        registry_password,
        k3s_token,
    ];
    for canary in canaries {
        for (form, bytes) in leak_forms(canary) {
            assert!(
                !contains(&stream, &bytes) && !contains(&compressed, &bytes),
                "canary {canary} leaked into the bundle ({form} form)"
            );
        }
    }
    // The values were collected (as markers), not merely missed: the test can tell a leak from a gap.
    let text = String::from_utf8_lossy(&stream);
    for collected in [
        marker(env_value.as_bytes()),
        marker(cm_token.as_bytes()),
        marker(cm_referenced.as_bytes()),
        marker(bearer.as_bytes()),
        marker(previous_token.as_bytes()),
        marker(api_key.as_bytes()),
        marker(registry_password.as_bytes()),
        marker(k3s_token.as_bytes()),
    ] {
        assert!(text.contains(&collected), "{collected} not in the bundle");
    }
    assert!(
        text.contains("sentinel api started"),
        "the log's plain lines are kept"
    );

    let unpacked = tempfile::tempdir().unwrap();
    let root = mcp_doctor_checks::evidence::archive::extract(&out_file, unpacked.path()).unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let report = manifest["redaction_report"].as_array().unwrap();
    let count = |redactor: &str, file: &str| {
        report
            .iter()
            .filter(|r| r["redactor"] == redactor && r["file"].as_str().unwrap().ends_with(file))
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    let log = format!("logs/mcp-sentinel/{API_POD}/api.log");
    assert_eq!(count("secret-data", "cluster/secrets/mcp-sentinel.json"), 2);
    assert_eq!(count("secret-env", "cluster/pods/mcp-sentinel.json"), 1);
    assert_eq!(
        count("secret-env", "cluster/deployments.apps/mcp-sentinel.json"),
        1
    );
    assert_eq!(
        count(
            "configmap-secret-key",
            "cluster/configmaps/mcp-sentinel.json"
        ),
        2
    );
    assert_eq!(
        count("kubeconfig", "cluster/configmaps/mcp-sentinel.json"),
        1
    );
    for redactor in [
        "bearer-token",
        "basic-auth-url",
        "jwt",
        "x-api-key",
        "pem-private-key",
    ] {
        assert_eq!(count(redactor, &log), 1, "{redactor} in {log}");
    }
    assert_eq!(
        count(
            "bearer-token",
            &format!("logs/mcp-sentinel/{API_POD}/api.previous.log")
        ),
        1
    );

    assert_eq!(
        count("config-secret-value", &format!("host/{NODE}.json")),
        2
    );

    // The vendor's side: the bundle analyzes offline.
    let analyzed = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&out_file)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(matches!(analyzed.status.code(), Some(0 | 1)));
    valid_report(&String::from_utf8_lossy(&analyzed.stdout));
}

/// Every file of an unpacked bundle, by path.
fn files(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, rel: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap().flatten() {
            let path = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.clone(), std::fs::read(root.join(&path)).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, Path::new(""), &mut out);
    out
}

/// A report or manifest without what differs between two runs of the same state: when, and how long.
fn without_timing(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["started_at", "duration_ms", "created_at"] {
                map.remove(key);
            }
            map.values_mut().for_each(without_timing);
        }
        Value::Array(items) => items.iter_mut().for_each(without_timing),
        _ => {}
    }
}

#[test]
fn two_bundles_of_the_same_cluster_hold_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("platform-evicted-pod");
    let server = FixtureServer::start(&dir, ServerOptions::default()).unwrap();
    let mut roots = Vec::new();
    let mut keep = Vec::new();
    for name in ["a.tar.gz", "b.tar.gz"] {
        let file = tmp.path().join(name);
        let out = bundle(&server, &dir, tmp.path(), &["-o", file.to_str().unwrap()]);
        assert!(matches!(out.status.code(), Some(0 | 1)));
        let unpacked = tempfile::tempdir().unwrap();
        roots.push(mcp_doctor_checks::evidence::archive::extract(&file, unpacked.path()).unwrap());
        keep.push(unpacked);
    }
    let (a, b) = (files(&roots[0]), files(&roots[1]));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        let name = path.display().to_string();
        if matches!(name.as_str(), "report.json" | "manifest.json") {
            let mut x: Value = serde_json::from_slice(bytes).unwrap();
            let mut y: Value = serde_json::from_slice(&b[path]).unwrap();
            without_timing(&mut x);
            without_timing(&mut y);
            assert_eq!(x, y, "{name} apart from timing");
        } else if name != "report.junit.xml" {
            assert!(bytes == &b[path], "{name} differs between two bundles");
        }
    }
    // The journal, objects and logs are the bulk of a bundle and are byte for byte the same.
    assert!(a.keys().filter(|p| p.starts_with("cluster")).count() > 50);
}

#[test]
fn an_unreadable_kind_is_recorded_and_the_bundle_is_still_made() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("k3s-rbac-denied");
    let server = FixtureServer::start(&dir, ServerOptions::default()).unwrap();
    let file = tmp.path().join("b.tar.gz");
    let out = bundle(&server, &dir, tmp.path(), &["-o", file.to_str().unwrap()]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unpacked = tempfile::tempdir().unwrap();
    let root = mcp_doctor_checks::evidence::archive::extract(&file, unpacked.path()).unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let unreadable = manifest["collection"]["unreadable"].as_array().unwrap();
    assert!(
        unreadable
            .iter()
            .any(|u| u.as_str().unwrap().contains("forbidden")),
        "{unreadable:?}"
    );
    // The 403 is kept in the journal, where a replay finds it.
    let journal = files(&root.join("evidence"));
    assert!(
        journal
            .values()
            .any(|e| String::from_utf8_lossy(e).contains("\"kind\": \"forbidden\"")),
        "no forbidden entry in the journal"
    );
}

#[test]
fn preview_lists_what_would_leave_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("platform-healthy");
    let server = FixtureServer::start(&dir, ServerOptions::default()).unwrap();
    let file = tmp.path().join("never.tar.gz");
    let out = bundle(
        &server,
        &dir,
        tmp.path(),
        &["--preview", "-o", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!file.exists());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Nothing was written"), "{text}");
    assert!(text.contains("cluster/secrets/mcp-sentinel.json"), "{text}");
    assert!(text.contains("manifest.json"), "{text}");
    assert!(text.contains("Redactions by redactor:"), "{text}");
}

#[test]
fn analyze_refuses_a_bundle_of_a_newer_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    copy_dir(&fixture("platform-healthy"), &dir);
    let path = dir.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["schema"] = json!("mcp-doctor.bundle/v2");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let out = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this mcp-doctor reads"), "{err}");
}

#[test]
fn analyze_refuses_a_hostile_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("evil.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_path("bundle/manifest.json").unwrap();
    h.set_link_name("/etc/shadow").unwrap();
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    b.into_inner().unwrap().finish().unwrap();
    let out = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsafe to open"), "{err}");
}
