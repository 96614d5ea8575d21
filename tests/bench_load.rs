//! `bench/scale.sh --kubeconfig K --load`, the benchmark's path to a real API server, run against the fixture
//! API server accepting writes: kubectl server-side-applies the MCPServer CRD (absent from the scenario),
//! waits until it is Established, applies the generated objects, and the measured doctor run lists them.
//! What the script asks of the server is what a real one answers (discovery, `apply --server-side`, gets),
//! through the nginx it puts in front of a server given by kubeconfig to count requests and bytes; nothing
//! here is measured.

mod common;

use std::collections::BTreeSet;

use common::{fixture, mcp_doctor, valid_report, workspace};
use fixture_apiserver::{FixtureServer, ServerOptions};
use mcp_doctor_test_peers::find_binary;

/// A tenth of the cluster divided by fifty: 14 nodes, 315 pods, 3 MCPServers.
const SCALE: &str = "0.002";

#[test]
fn bench_load_applies_the_synthetic_cluster_and_measures_a_run_over_it() {
    for tool in ["kubectl", "curl", "nginx"] {
        assert!(
            find_binary(tool).is_some(),
            "{tool} is missing: scripts/test.sh installs it"
        );
    }
    let server = FixtureServer::start(
        &fixture("k3s-4node-healthy"),
        ServerOptions {
            patches: true,
            ..Default::default()
        },
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(workspace().join("bench/scale.sh"))
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--load", "--scale", SCALE, "--runs", "1", "--skip-kubectl"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("MCP_DOCTOR_BIN", assert_cmd::cargo::cargo_bin("mcp-doctor"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("loading the synthetic objects into"),
        "{stderr}"
    );

    let applied = server.mutations();
    let refused: Vec<_> = applied.iter().filter(|m| m.status >= 300).collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(
        applied.iter().all(|m| m.method == "PATCH"
            && m.content_type == "application/apply-patch+yaml"
            && m.field_manager.as_deref() == Some("mcp-doctor-bench")),
        "every write is a server-side apply by the benchmark's field manager"
    );
    assert!(
        applied[0]
            .path
            .ends_with("/customresourcedefinitions/mcpservers.mcpruntime.org"),
        "the CRD goes first: {}",
        applied[0].path
    );
    let kinds: BTreeSet<&str> = applied
        .iter()
        .filter_map(|m| m.path.rsplit('/').nth(1))
        .collect();
    for kind in [
        "namespaces",
        "nodes",
        "services",
        "deployments",
        "ingresses",
        "mcpservers",
        "pods",
        "events",
    ] {
        assert!(kinds.contains(kind), "no {kind} applied: {kinds:?}");
    }
    assert!(
        applied.len() > 14 + 315,
        "{} objects applied",
        applied.len()
    );

    // The measured run listed the loaded cluster: every check ran, none ended in error, and the table has
    // the doctor's row.
    assert!(
        stdout.contains("Checks of (b) that ended in error: none."),
        "{stdout}"
    );
    assert!(!stdout.contains("(c) kubectl per check"), "{stdout}");

    // Requests and bytes are counted by the nginx the script puts in front of a server given by kubeconfig:
    // curl fetched each list the doctor reads in one page (none holds 500 objects), and the doctor sent at
    // least those lists.
    assert!(
        stdout.contains("(counted by an nginx on 127.0.0.1:"),
        "{stdout}"
    );
    let lists: usize = stdout
        .split_once("The lists the doctor reads: ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of lists: {stdout}"));
    let requests = |row: &str| -> usize {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row}: {stdout}"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        cells[5]
            .parse()
            .unwrap_or_else(|_| panic!("requests not counted: {line}"))
    };
    assert_eq!(requests("| (a) curl"), lists, "{stdout}");
    assert!(requests("| (b) mcp-doctor doctor") >= lists, "{stdout}");

    // The server holds the loaded cluster: the scenario's four nodes and the ten generated ones, which are
    // not Ready (no kubelet posts their status; on a real server too).
    let report = mcp_doctor(home.path())
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--only", "nodes.ready", "--format", "json"])
        .output()
        .unwrap();
    let report = valid_report(&String::from_utf8_lossy(&report.stdout));
    let ready = &report["checks"][0];
    assert_eq!(ready["id"], "nodes.ready", "{report}");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.starts_with("10 of 14 nodes are not Ready: node bench-node-00000 is not Ready"),
        "{message}"
    );
}
