//! The command line as a user and a CI pipeline meet it: exit codes 0/1/2, selection, list, explain,
//! config, and the preflight that gates a public-mode setup.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn healthy_fixture_exits_0_and_failing_one_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(fixture("k3s-4node-healthy"))
        .assert()
        .code(0);
    mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(fixture("k3s-disk-pressure"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "node mcp-worker-1 has DiskPressure=True",
        ));
}

#[test]
fn warn_fails_the_run_only_with_fail_on_warn() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("k3s-two-default-storageclasses");
    mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&dir)
        .assert()
        .code(0);
    mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&dir)
        .args(["--fail-on", "warn"])
        .assert()
        .code(1);
}

#[test]
fn cannot_start_exits_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["doctor".into(), "--no-such-flag".into()],
        vec![
            "preflight".into(),
            "--env-file".into(),
            tmp.path().join("missing.env").display().to_string(),
        ],
        vec!["doctor".into(), "--only".into(), "nodes.nope".into()],
        vec![
            "analyze".into(),
            tmp.path().join("missing-bundle").display().to_string(),
        ],
        vec!["explain".into(), "no.such-check".into()],
    ];
    for args in cases {
        let out = mcp_doctor(tmp.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn malformed_env_file_and_hostile_bundle_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let env = tmp.path().join("bad.env");
    std::fs::write(
        &env,
        "MCP_PLATFORM_DOMAIN=example.com\nthis line has no equals sign\n",
    )
    .unwrap();
    mcp_doctor(tmp.path())
        .args(["preflight", "--env-file"])
        .arg(&env)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"));
    let bundle = tmp.path().join("evil.tar.gz");
    std::fs::write(&bundle, b"\x1f\x8b\x08\x00garbage").unwrap();
    mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&bundle)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("evil.tar.gz"));
}

#[test]
fn only_and_skip_select_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mcp_doctor(tmp.path())
        .args(["doctor", "--from"])
        .arg(fixture("k3s-disk-pressure"))
        .args([
            "--for-setup",
            "--only",
            "nodes.ready,nodes.pressure",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    let ids: Vec<_> = statuses(&report).into_keys().collect();
    assert_eq!(ids, ["nodes.pressure", "nodes.ready"]);

    let out = mcp_doctor(tmp.path())
        .args(["doctor", "--for-setup", "--from"])
        .arg(fixture("k3s-disk-pressure"))
        .args([
            "--skip",
            "nodes.pressure,node.disk-usage",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "skipping the failing checks leaves a passing run"
    );
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    assert!(!statuses(&report).contains_key("nodes.pressure"));
}

#[test]
fn list_json_names_every_check_with_its_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mcp_doctor(tmp.path())
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let registered = mcp_doctor_checks::Registry::builtin().checks().len();
    assert_eq!(rows.len(), registered);
    for row in &rows {
        for key in ["id", "title", "category", "modes", "depends_on"] {
            assert!(row.get(key).is_some(), "{row} lacks {key}");
        }
    }
    assert!(
        rows.iter()
            .any(|r| r["id"] == "cluster.api-reachable" && r["modes"] == "both")
    );
}

#[test]
fn explain_prints_the_checks_own_doc() {
    let tmp = tempfile::tempdir().unwrap();
    for id in mcp_doctor_checks::Registry::builtin().metas().map(|m| m.id) {
        mcp_doctor(tmp.path())
            .args(["explain", id])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("What it checks")
                    .and(predicate::str::contains("How to fix")),
            );
    }
    mcp_doctor(tmp.path())
        .args(["explain", "rem.disk-pressure"])
        .assert()
        .success()
        .stdout(predicate::str::contains("DiskPressure"));
}

#[test]
fn config_shows_each_value_and_its_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let env = tmp.path().join("deploy.env");
    std::fs::write(
        &env,
        "MCP_PLATFORM_DOMAIN=example.com\nMCP_REGISTRY_ENDPOINT=registry.example.com\n",
    )
    .unwrap();
    let out = mcp_doctor(tmp.path())
        .env("MCP_PLATFORM_ADMIN_EMAIL", "admin@example.com")
        .args([
            "config",
            "--json",
            "--platform-mode",
            "public",
            "--env-file",
        ])
        .arg(&env)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["public_hosts"]["registry"]["value"],
        "registry.example.com"
    );
    assert_eq!(
        v["public_hosts"]["platform"]["source"],
        "derived from MCP_PLATFORM_DOMAIN"
    );
    assert_eq!(
        v["settings"]["platform_mode"]["source"],
        "flag --platform-mode"
    );
    assert_eq!(
        v["settings"]["platform_admin_email"]["source"],
        "env MCP_PLATFORM_ADMIN_EMAIL"
    );
    assert!(
        v["settings"]["platform_domain"]["source"]
            .as_str()
            .unwrap()
            .starts_with("env-file")
    );
    assert_eq!(v["settings"]["storage_mode"]["source"], "default");
}

/// The acceptance case: a public-mode env without the admin allowlist fails config.platform-mode,
/// exits 1, and the JUnit file validates against the XSD.
#[test]
fn preflight_public_mode_without_admin_allowlist_fails_with_valid_junit() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("preflight.xml");
    let json = tmp.path().join("preflight.json");
    let out = mcp_doctor(tmp.path())
        .args(["preflight", "--env-file"])
        .arg(fixture("demo/public-missing-admin.env"))
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_valid_junit_file(&junit);
    let report = valid_report(&std::fs::read_to_string(&json).unwrap());
    assert_eq!(statuses(&report)["config.platform-mode"], "fail");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"config.platform-mode\""));
    // No cluster here: the cluster checks fail or skip, they do not crash the run.
    assert_eq!(statuses(&report)["cluster.api-reachable"], "fail");
}

#[test]
fn host_facts_reads_a_host_root_and_doctor_reads_them_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("node");
    std::fs::create_dir_all(root.join("etc/rancher/k3s")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/rancher/k3s/server")).unwrap();
    std::fs::write(root.join("etc/hostname"), "mcp-worker-9\n").unwrap();
    std::fs::write(
        root.join("etc/hosts"),
        "127.0.0.1 localhost registry.local\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/rancher/k3s/registries.yaml"),
        "mirrors:\n  registry.local:\n    endpoint: [\"http://127.0.0.1:32000\"]\n",
    )
    .unwrap();
    let token = root.join("var/lib/rancher/k3s/server/node-token");
    std::fs::write(&token, "K10secret::server:secret\n").unwrap();
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    let facts_dir = tmp.path().join("facts");
    std::fs::create_dir_all(&facts_dir).unwrap();
    let out_file = facts_dir.join("mcp-worker-9.json");
    mcp_doctor(tmp.path())
        .args(["host-facts", "--host-root"])
        .arg(&root)
        .arg("-o")
        .arg(&out_file)
        .assert()
        .success();
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(facts["node"], "mcp-worker-9");
    assert!(
        facts["files"]["/etc/rancher/k3s/registries.yaml"]["content"]
            .as_str()
            .unwrap()
            .contains("registry.local")
    );
    let token_fact = &facts["files"]["/var/lib/rancher/k3s/server/node-token"];
    assert_eq!(token_fact["mode"], 0o644);
    assert!(
        token_fact.get("content").is_none(),
        "a credential file's content must never be collected"
    );
    assert!(facts["disks"]["/"]["total_bytes"].as_u64().unwrap() > 0);

    // The readable node token fails node.kubeconfig when the facts are read back.
    let out = mcp_doctor(tmp.path())
        .args([
            "preflight",
            "--only",
            "node.kubeconfig",
            "--format",
            "json",
            "--host-facts",
        ])
        .arg(&facts_dir)
        .output()
        .unwrap();
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(statuses(&report)["node.kubeconfig"], "fail", "{report}");
}

#[test]
fn a_tar_gz_bundle_replays_like_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("bundle.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(workspace().join("fixtures"))
        .arg("k3s-node-not-ready")
        .status()
        .unwrap();
    assert!(status.success());
    let out = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&archive)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        statuses(&valid_report(&String::from_utf8_lossy(&out.stdout))),
        expected("k3s-node-not-ready")
    );
}
