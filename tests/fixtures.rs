//! Every fixture gives its `expected.json` verdicts three ways: replayed with `analyze`, live through the
//! fixture API server (the real kube client, TLS and kubeconfig path), and replayed from the recording of
//! that live run. The request log shows each (kind, scope) listed once, and only reads.
//!
//! The binary under test is the one of the profile these tests are built with, so `scripts/test.sh` also
//! runs this file with `--cargo-profile release` to hold the binary users run to the same verdicts.

mod common;

use std::collections::BTreeMap;

use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use serde_json::Value;

/// `analyze <fixture>`, returning the JSON report (validated) and checking the JUnit it wrote.
fn analyze(dir: &std::path::Path, tmp: &std::path::Path) -> Value {
    let junit = tmp.join("analyze.junit.xml");
    let out = mcp_doctor(tmp)
        .arg("analyze")
        .arg(dir)
        .args(["--format", "json", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "analyze {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_valid_junit_file(&junit);
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

/// `preflight` against a live (fixture) API server with the scenario's env file and host facts.
fn preflight_live(
    name: &str,
    kubeconfig: &std::path::Path,
    tmp: &std::path::Path,
    record: &std::path::Path,
) -> Value {
    let dir = fixture(name);
    let mut cmd = mcp_doctor(tmp);
    cmd.arg("preflight")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--format", "json", "--timeout", "10"]);
    cmd.arg("--env-file")
        .arg(dir.join("config.env"))
        .arg("--record")
        .arg(record);
    if dir.join("host").is_dir() {
        cmd.arg("--host-facts").arg(dir.join("host"));
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "preflight {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

fn messages(report: &Value) -> BTreeMap<String, (String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap().to_string();
            (
                id,
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn the_binary_under_test_is_built_with_the_profile_of_this_test() {
    // Cargo names the binary it built for this test build; assert_cmd must resolve the same file.
    let built = std::path::Path::new(env!("CARGO_BIN_EXE_mcp-doctor"));
    let used = assert_cmd::cargo::cargo_bin("mcp-doctor");
    assert_eq!(used, built);
    let profile_dir = built.parent().and_then(|d| d.file_name()).unwrap();
    let expected = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    assert_eq!(
        profile_dir,
        expected,
        "testing {} from a {expected} test build",
        built.display()
    );
    assert!(built.is_file(), "{} exists", built.display());
}

#[test]
fn every_fixture_replays_to_its_expected_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    for name in fixture_names() {
        let report = analyze(&fixture(&name), tmp.path());
        assert_eq!(
            statuses(&report),
            expected(&name),
            "analyze fixtures/{name}"
        );
    }
}

#[test]
fn every_fixture_gives_the_same_verdicts_live_and_from_its_recording() {
    for name in fixture_names() {
        let tmp = tempfile::tempdir().unwrap();
        let record = tmp.path().join("recording");
        let (live, requests) = if name == "api-unreachable" {
            // A copied k3s kubeconfig pointing at a loopback port nothing listens on.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let kc = tmp.path().join("kubeconfig");
            std::fs::write(&kc, unreachable_kubeconfig(port)).unwrap();
            std::fs::set_permissions(&kc, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            (preflight_live(&name, &kc, tmp.path(), &record), Vec::new())
        } else {
            let server = FixtureServer::start(&fixture(&name), ServerOptions::default()).unwrap();
            let report = preflight_live(&name, server.kubeconfig_path(), tmp.path(), &record);
            (report, server.requests())
        };
        assert_eq!(
            statuses(&live),
            expected(&name),
            "live preflight against fixtures/{name}"
        );
        // The reports a recording carries meet the same contracts as the ones on stdout.
        valid_report(&std::fs::read_to_string(record.join("report.json")).unwrap());
        assert_valid_junit_file(&record.join("report.junit.xml"));

        // Only reads, and each list asked once (continue pages aside).
        let mut first_pages: BTreeMap<String, usize> = BTreeMap::new();
        for r in &requests {
            let ssar = r.method == "POST"
                && r.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
            assert!(
                r.method == "GET" || ssar,
                "{name}: unexpected {} {}",
                r.method,
                r.path
            );
            let query = r.query.clone().unwrap_or_default();
            if r.method == "GET" && !query.contains("continue=") {
                *first_pages.entry(r.path.clone()).or_default() += 1;
            }
        }
        for (path, n) in &first_pages {
            assert_eq!(*n, 1, "{name}: {path} was listed {n} times");
        }

        // The recording replays to exactly the live run's verdicts, and to the same messages wherever a
        // message does not cite the env file's path (which differs between the run and its recording).
        let replayed = analyze(&record, tmp.path());
        assert_eq!(
            statuses(&replayed),
            statuses(&live),
            "replay of the recording of fixtures/{name}"
        );
        let cites_path = |id: &str| id.starts_with("config.") || id.starts_with("dns.");
        let strip = |m: BTreeMap<String, (String, String)>| -> BTreeMap<String, (String, String)> {
            m.into_iter().filter(|(id, _)| !cites_path(id)).collect()
        };
        assert_eq!(
            strip(messages(&replayed)),
            strip(messages(&live)),
            "replay of the recording of fixtures/{name}"
        );
    }
}

fn unreachable_kubeconfig(port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: default\nclusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: default\n  context:\n    cluster: default\n    user: default\nusers:\n- name: default\n  user:\n    token: t\n"
    )
}

#[test]
fn forbidden_pods_never_yield_a_pass_from_a_check_that_reads_pods() {
    let tmp = tempfile::tempdir().unwrap();
    let server =
        FixtureServer::start(&fixture("k3s-rbac-denied"), ServerOptions::default()).unwrap();
    let report = preflight_live(
        "k3s-rbac-denied",
        server.kubeconfig_path(),
        tmp.path(),
        &tmp.path().join("rec"),
    );
    let readers: Vec<&str> = mcp_doctor_checks::Registry::builtin()
        .metas()
        .filter(|m| {
            m.reads
                .iter()
                .any(|k| k.plural == "pods" || k.plural == "secrets")
        })
        .map(|m| m.id)
        .collect();
    assert!(!readers.is_empty());
    let got = statuses(&report);
    for id in readers {
        if let Some(status) = got.get(id) {
            assert_ne!(
                status, "pass",
                "{id} passed although pods/secrets are forbidden"
            );
        }
    }
}

#[test]
fn a_hung_api_server_is_an_error_within_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        latency: Some(std::time::Duration::from_secs(60)),
        ..Default::default()
    };
    let server = FixtureServer::start(&fixture("k3s-4node-healthy"), opts).unwrap();
    let out = mcp_doctor(tmp.path())
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--timeout", "2", "--format", "json"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    let got = statuses(&report);
    assert_eq!(got["cluster.api-reachable"], "error");
    assert_eq!(got["nodes.ready"], "skip");
}

#[test]
fn small_pages_are_followed_through_continue_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        page_size_cap: Some(1),
        ..Default::default()
    };
    let server = FixtureServer::start(&fixture("k3s-5node-healthy"), opts).unwrap();
    let report = preflight_live(
        "k3s-5node-healthy",
        server.kubeconfig_path(),
        tmp.path(),
        &tmp.path().join("rec"),
    );
    assert_eq!(statuses(&report), expected("k3s-5node-healthy"));
    let continued = server
        .requests()
        .iter()
        .filter(|r| {
            r.path == "/api/v1/nodes" && r.query.as_deref().unwrap_or("").contains("continue=")
        })
        .count();
    assert_eq!(
        continued, 4,
        "5 nodes in pages of 1 take 4 continue requests"
    );
}
