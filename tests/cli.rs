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

/// The demo as a CI log shows it (stdout piped): one root cause for the two checks that see DiskPressure on
/// mcp-worker-1, its fix printed once with its commands whole, no padding, no provenance in messages; the
/// JSON names the same root cause.
#[test]
fn the_demo_report_prints_one_root_cause_and_its_fix_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(fixture("k3s-disk-pressure"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Root causes and fixes (1)"), "{text}");
    assert!(
        text.contains("about node/mcp-worker-1; seen by 2 checks: nodes.pressure, node.disk-usage"),
        "{text}"
    );
    assert_eq!(text.matches("(rem.disk-pressure)").count(), 1, "{text}");
    assert!(text.contains(
        "\n         kubectl get node mcp-worker-1 -o jsonpath='{.status.conditions[?(@.type==\"DiskPressure\")].status}'\n"
    ));
    for line in text.lines() {
        assert_eq!(line, line.trim_end(), "padded line: {line:?}");
    }
    assert!(
        !text.contains("(env file"),
        "provenance belongs in --verbose: {text}"
    );
    let verbose = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(fixture("k3s-disk-pressure"))
        .arg("--verbose")
        .output()
        .unwrap();
    let verbose = String::from_utf8(verbose.stdout).unwrap();
    assert!(verbose.contains("Configuration (where each value came from):"));
    assert!(
        verbose.contains("config.env:MCP_PLATFORM_MODE"),
        "{verbose}"
    );

    let json = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(fixture("k3s-disk-pressure"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = valid_report(&String::from_utf8_lossy(&json.stdout));
    assert_eq!(
        report["root_causes"],
        serde_json::json!([{
            "remediation": "rem.disk-pressure",
            "title": "Recover a node from DiskPressure",
            "status": "fail",
            "subjects": ["node/mcp-worker-1"],
            "checks": ["nodes.pressure", "node.disk-usage"],
        }])
    );
}

// --- cluster.api-reachable against real listeners on 127.0.0.1 -------------------------------------------

/// A kubeconfig (outside /etc/rancher/k3s) for https://127.0.0.1:<port>.
fn loopback_kubeconfig(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let kc = dir.join("mcp-k3s.yaml");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: default\nclusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: default\n  context:\n    cluster: default\n    user: default\nusers:\n- name: default\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&kc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    kc
}

/// Which machine the run happens on, as its host root says.
#[derive(Clone, Copy, Debug)]
enum Machine {
    /// A k3s server: /etc/rancher/k3s/k3s.yaml and the server token exist.
    K3sServer,
    /// A workstation: no k3s files at all.
    Workstation,
    /// No --host-root.
    Unknown,
}

fn host_root(dir: &std::path::Path, machine: Machine) -> Option<std::path::PathBuf> {
    let (name, server) = match machine {
        Machine::K3sServer => ("mcp-cp-1", true),
        Machine::Workstation => ("ops-laptop", false),
        Machine::Unknown => return None,
    };
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/hostname"), format!("{name}\n")).unwrap();
    if server {
        std::fs::create_dir_all(root.join("etc/rancher/k3s")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/rancher/k3s/server")).unwrap();
        std::fs::write(root.join("etc/rancher/k3s/k3s.yaml"), "apiVersion: v1\n").unwrap();
        std::fs::write(root.join("var/lib/rancher/k3s/server/token"), "K10secret\n").unwrap();
    }
    Some(root)
}

/// `doctor --only cluster.api-reachable` against 127.0.0.1:<port>; returns the check's JSON and how long the
/// run took.
fn api_reachable_live(
    tmp: &std::path::Path,
    port: u16,
    machine: Machine,
    record: Option<&std::path::Path>,
) -> (serde_json::Value, std::time::Duration) {
    let kc = loopback_kubeconfig(tmp, port);
    let mut cmd = mcp_doctor(tmp);
    cmd.args([
        "doctor",
        "--only",
        "cluster.api-reachable",
        "--timeout",
        "3",
    ])
    .args(["--format", "json", "--kubeconfig"])
    .arg(&kc)
    .timeout(std::time::Duration::from_secs(30));
    if let Some(root) = host_root(tmp, machine) {
        cmd.arg("--host-root").arg(root);
    }
    if let Some(dir) = record {
        cmd.arg("--record").arg(dir);
    }
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        api_reachable_of(&String::from_utf8_lossy(&out.stdout)),
        took,
    )
}

fn api_reachable_of(report: &str) -> serde_json::Value {
    let report = valid_report(report);
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cluster.api-reachable")
        .cloned()
        .unwrap()
}

/// Asserts status, message needles (and absent words) and the remediation id of cluster.api-reachable.
fn assert_diagnosis(
    check: &serde_json::Value,
    needles: &[&str],
    absent: &[&str],
    remediation: &str,
) {
    let message = check["message"].as_str().unwrap();
    assert_eq!(check["status"], "fail", "{check:#}");
    for n in needles {
        assert!(message.contains(n), "message lacks {n:?}: {message}");
    }
    for n in absent {
        assert!(!message.contains(n), "message has {n:?}: {message}");
    }
    assert_eq!(check["remediation"]["id"], remediation, "{check:#}");
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A listener that accepts every connection and keeps it open without ever writing a byte.
fn silent_listener() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

/// A listener that answers whatever arrives with `reply` and closes (plain HTTP, or garbage, on the TLS
/// port); with an empty reply it closes as soon as it has read the client's first bytes.
fn speaking_listener(reply: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(reply);
        }
    });
    port
}

#[test]
fn a_refused_loopback_is_k3s_down_on_the_server_and_a_copied_kubeconfig_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (check, _) = api_reachable_live(tmp.path(), port, Machine::K3sServer, None);
    assert_diagnosis(
        &check,
        &[
            "k3s is not running on this machine",
            "refused",
            "node mcp-cp-1 is the k3s server",
        ],
        &["copied", "sed -i"],
        "rem.k3s-not-running",
    );
    let text = check["remediation"]["text"].as_str().unwrap();
    for cmd in [
        "sudo systemctl status k3s",
        "sudo journalctl -u k3s --since -10m",
        "sudo systemctl start k3s",
    ] {
        assert!(text.contains(cmd), "{cmd}: {text}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let (check, _) = api_reachable_live(tmp.path(), port, Machine::Workstation, None);
    assert_diagnosis(
        &check,
        &[
            "refused",
            "(ops-laptop) is not the k3s server",
            "copied from the k3s server without replacing 127.0.0.1",
        ],
        &["k3s is not running"],
        "rem.kubeconfig-loopback",
    );
    assert!(
        check["remediation"]["text"]
            .as_str()
            .unwrap()
            .contains("sed -i.bak 's/127.0.0.1/")
    );

    let tmp = tempfile::tempdir().unwrap();
    let (check, _) = api_reachable_live(tmp.path(), port, Machine::Unknown, None);
    assert_diagnosis(
        &check,
        &[
            "refused",
            "either k3s is not running here",
            "copied from the k3s server",
            "--host-root",
        ],
        &[],
        "rem.api-loopback-down",
    );
}

/// A port that accepts and stays silent is not "nothing answers there"; the run ends within the request
/// timeout, and a recording of it replays to the same message.
#[test]
fn a_silent_loopback_port_is_told_from_a_refused_one_and_replays_the_same() {
    let port = silent_listener();
    for (machine, needles, absent, rem) in [
        (
            Machine::K3sServer,
            &[
                "k3s is not answering on this machine",
                "accepted the connection",
                "never answered the TLS handshake",
            ][..],
            &["refused", "copied"][..],
            "rem.k3s-not-running",
        ),
        (
            Machine::Workstation,
            &[
                "accepted the connection but never answered the TLS handshake",
                "(ops-laptop) is not the k3s server",
                "copied",
            ][..],
            &["refused", "nothing listens"][..],
            "rem.kubeconfig-loopback",
        ),
        (
            Machine::Unknown,
            &[
                "accepted the connection to",
                "never answered the TLS handshake",
                "either k3s here is hung",
            ][..],
            &["refused", "nothing listens"][..],
            "rem.api-loopback-down",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let record = tmp.path().join("recording");
        let (live, took) = api_reachable_live(tmp.path(), port, machine, Some(&record));
        assert!(
            took < std::time::Duration::from_secs(10),
            "{machine:?}: took {took:?}"
        );
        assert_diagnosis(&live, needles, absent, rem);

        let out = mcp_doctor(tmp.path())
            .arg("analyze")
            .arg(&record)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replayed = api_reachable_of(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(replayed["message"], live["message"], "{machine:?}");
        assert_eq!(replayed["remediation"], live["remediation"], "{machine:?}");
        assert_eq!(replayed["subjects"], live["subjects"], "{machine:?}");
    }
}

/// Plain HTTP, garbage, or a close on the TLS port is a TLS failure, named as such: neither "refused" nor a CA
/// problem.
#[test]
fn a_loopback_port_that_does_not_speak_tls_is_a_tls_failure() {
    for reply in [
        &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
        &b"\x00\x01garbage that is not TLS\r\n"[..],
        &b""[..],
    ] {
        let port = speaking_listener(reply);
        for machine in [Machine::K3sServer, Machine::Unknown] {
            let tmp = tempfile::tempdir().unwrap();
            let (check, _) = api_reachable_live(tmp.path(), port, machine, None);
            assert_diagnosis(
                &check,
                &[
                    "accepted the connection but did not complete a TLS handshake",
                    "not the Kubernetes API server",
                ],
                &["refused", "copied", "does not match the CA"],
                "rem.api-not-tls",
            );
        }
    }
}

/// A real TLS API server whose CA the kubeconfig lacks keeps its own diagnosis (wrong CA), on the k3s server
/// or not: a TLS certificate failure is neither "refused" nor "k3s is not running".
#[test]
fn a_loopback_api_server_with_another_ca_is_a_certificate_failure() {
    let server = fixture_apiserver::FixtureServer::start(
        &fixture("k3s-4node-healthy"),
        fixture_apiserver::ServerOptions::default(),
    )
    .unwrap();
    for machine in [Machine::K3sServer, Machine::Unknown] {
        let tmp = tempfile::tempdir().unwrap();
        let (check, _) = api_reachable_live(tmp.path(), server.addr().port(), machine, None);
        assert_diagnosis(
            &check,
            &[
                "TLS handshake with",
                "the certificate does not match the CA in",
            ],
            &["refused", "k3s is not running", "copied"],
            "rem.api-tls",
        );
    }
}

/// `sweep` only ever touches objects labelled managed-by=mcp-doctor: against a cluster without any (the
/// fixture API server, which does not filter by label) it deletes nothing and only reads.
#[test]
fn sweep_finds_nothing_to_delete_in_a_cluster_without_probe_objects() {
    use fixture_apiserver::{FixtureServer, ServerOptions};
    let tmp = tempfile::tempdir().unwrap();
    let server =
        FixtureServer::start(&fixture("k3s-4node-healthy"), ServerOptions::default()).unwrap();
    for dry_run in [true, false] {
        let mut cmd = mcp_doctor(tmp.path());
        cmd.arg("sweep")
            .arg("--kubeconfig")
            .arg(server.kubeconfig_path());
        if dry_run {
            cmd.arg("--dry-run");
        }
        cmd.assert().success().stdout(predicate::str::contains(
            "nothing to sweep: no object is labelled app.kubernetes.io/managed-by=mcp-doctor",
        ));
    }
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.method, "GET", "{} {}", r.method, r.path);
        assert!(
            r.query
                .as_deref()
                .unwrap_or_default()
                .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dmcp-doctor"),
            "{:?}",
            r.query
        );
    }
}

/// A reader that goes away (`mcp-doctor explain nodes.pressure | head -1`) ends the tool quietly, without
/// a panic: the read end is closed before the tool writes, so its first write meets a broken pipe.
#[test]
fn a_closed_stdout_ends_the_tool_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mcp-doctor");
    let mut child = std::process::Command::new(bin)
        .args(["explain", "nodes.pressure"])
        .env("HOME", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The table names each setting by the flag that sets it: `config` and `doctor` must both accept every flag it
/// shows, or the advice it gives cannot be followed.
#[test]
fn every_flag_config_shows_is_accepted_by_config_and_doctor() {
    let tmp = tempfile::tempdir().unwrap();
    let table = mcp_doctor(tmp.path()).arg("config").output().unwrap();
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    let flags: Vec<&str> = table
        .lines()
        .filter_map(|l| {
            l.trim_start_matches(['│', '|', ' '])
                .split_whitespace()
                .next()
        })
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(flags.len() > 10, "too few flags found in:\n{table}");
    for command in ["config", "doctor"] {
        let help = mcp_doctor(tmp.path())
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let accepted: Vec<&str> = help.split_whitespace().collect();
        for flag in &flags {
            assert!(
                accepted.contains(flag),
                "`mcp-doctor config` shows {flag}, which `mcp-doctor {command}` does not accept"
            );
        }
    }
}

/// As with kubectl's own flags, `--kubeconfig` and `--context` may come before the subcommand
/// (`kubectl mcp-doctor --context prod doctor`): the run reaches the cluster they name, and a context the
/// kubeconfig lacks is refused by name.
#[test]
fn cluster_flags_before_the_subcommand_reach_the_cluster() {
    let server = fixture_apiserver::FixtureServer::start(
        &fixture("k3s-4node-healthy"),
        fixture_apiserver::ServerOptions::default(),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = mcp_doctor(home.path())
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--context", server.context()])
        .args([
            "doctor",
            "--only",
            "cluster.api-reachable",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        statuses(&report)["cluster.api-reachable"],
        "pass",
        "{report}"
    );
    assert!(
        !server.requests().is_empty(),
        "no request reached the server"
    );

    mcp_doctor(home.path())
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--context=no-such-context", "doctor"])
        .args(["--only", "cluster.api-reachable"])
        .assert()
        .code(predicate::in_iter([1, 2]))
        .stdout(predicate::str::contains("no-such-context"));
}
