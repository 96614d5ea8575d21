//! Shared by the end-to-end tests: run the binary with a clean environment, and validate every report it
//! writes (JSON against `runner/schema/report-v1.json`, JUnit against `runner/schema/junit.xsd`, both
//! through `mcp-doctor-contracts`).
#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::path::{Path, PathBuf};

pub use mcp_doctor_contracts::{assert_valid_junit_file, valid_report};
use serde_json::Value;

pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    workspace().join("fixtures").join(name)
}

/// Every scenario directory under `fixtures/`.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("fixtures"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The binary, with an environment that holds nothing of the developer's: no MCP_* settings, no
/// KUBECONFIG, a HOME without ~/.kube, CI set (plain progress), and no system DNS resolver.
pub fn mcp_doctor(home: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(mcp_doctor_process(home));
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// [`mcp_doctor`] as a plain `std::process::Command`, for a test that controls the process itself (a
/// long-running `serve` started as a peer, memory limits, killing it).
pub fn mcp_doctor_process(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mcp-doctor"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        // DNS never leaves the machine in tests: no system resolver (a test that serves DNS sets its own).
        .env("MCP_DOCTOR_SYSTEM_DNS", "none")
        .env("MCP_DOCTOR_HOSTS_FILE", "/dev/null")
        // Fixture DNS zones name public addresses: no HTTP probe may follow them off this machine.
        .env("MCP_DOCTOR_HTTP_PROBE", "off")
        // Nor a TLS probe: a test that probes its own TLS server turns this back on with --tls-connect.
        .env("MCP_DOCTOR_TLS_PROBE", "false");
    cmd
}

/// `mcp-doctor <command>` live against `kubeconfig`, with the settings of the scenario in `dir` (its env
/// file, and its node facts when it has them), a JSON report on stdout and a 10 s timeout: a fixture run
/// through the live path.
pub fn live_on_fixture(
    home: &Path,
    command: &str,
    kubeconfig: &Path,
    dir: &Path,
) -> assert_cmd::Command {
    let mut cmd = mcp_doctor(home);
    cmd.arg(command)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--format", "json", "--timeout", "10"])
        .arg("--env-file")
        .arg(dir.join("config.env"));
    if dir.join("host").is_dir() {
        cmd.arg("--host-facts").arg(dir.join("host"));
    }
    cmd
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = workspace().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from the golden file (UPDATE_GOLDEN=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// id -> status of a report.
pub fn statuses(report: &Value) -> std::collections::BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn expected(name: &str) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Real peers of an end-to-end front-door test, stopped when dropped: BIND serving one zone (the system
/// resolver of the run), nginx playing the front doors, and the fixture API server holding one scenario.
pub struct FrontDoorLab {
    pub named: mcp_doctor_test_peers::named::Named,
    _nginx: mcp_doctor_test_peers::Peer,
    _nginx_dir: tempfile::TempDir,
    pub api: fixture_apiserver::FixtureServer,
    _zone_dir: tempfile::TempDir,
}

/// Starts a [`FrontDoorLab`]: `zone` from `zone_text`; nginx with `files` written into its directory first,
/// serving `servers` until it listens on `listening`; the API server on `fixtures/<scenario>`. None (after
/// saying why, or failing under CI) when a peer or root is missing.
pub fn front_door_lab(
    test: &str,
    zone: &str,
    zone_text: &str,
    files: &[(&str, &str)],
    servers: &str,
    listening: &[std::net::SocketAddr],
    scenario: &str,
) -> Option<FrontDoorLab> {
    let [nginx_bin] =
        mcp_doctor_test_peers::require(test, ["nginx"], Some("it binds port 80 on 127.0.0.x"))?;
    let zone_dir = tempfile::tempdir().unwrap();
    let zone_file = zone_dir.path().join(format!("{zone}.zone"));
    std::fs::write(&zone_file, zone_text).unwrap();
    let named = mcp_doctor_test_peers::named::start_zones(&[(zone.into(), zone_file)])?;
    let nginx_dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(nginx_dir.path().join(name), text).unwrap();
    }
    let nginx =
        mcp_doctor_test_peers::start_nginx(&nginx_bin, nginx_dir.path(), servers, listening);
    let api = fixture_apiserver::FixtureServer::start(
        &fixture(scenario),
        fixture_apiserver::ServerOptions::default(),
    )
    .unwrap();
    Some(FrontDoorLab {
        named,
        _nginx: nginx,
        _nginx_dir: nginx_dir,
        api,
        _zone_dir: zone_dir,
    })
}
