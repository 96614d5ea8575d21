//! `bundle --collect-nodes` end to end, through the fixture API server, which runs the host-facts
//! DaemonSet as the DaemonSet controller and the kubelets would: one pod per node, each printing that node's
//! host facts from the fixture. The facts land in the bundle where `--host-facts` puts them, so `analyze`
//! judges the nodes from them; a node whose pod never runs or prints garbage is reported, bounded by
//! `--collect-timeout`; and the DaemonSet is deleted (with its pods) on every path, Ctrl-C included.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fixture_apiserver::{DaemonSetScript, FixtureServer, ServerOptions};
use serde_json::Value;

const IMAGE: &str = "registry.example.com/mcp/mcp-doctor:test";
/// Doctor-mode checks that judge the nodes from their host facts (and skip without them).
const NODE_FACT_CHECKS: [&str; 3] = [
    "node.disk-usage",
    "containerd.config-valid",
    "containerd.node-drift",
];

fn start(fixture_name: &str, script: Option<DaemonSetScript>) -> FixtureServer {
    FixtureServer::start(
        &fixture(fixture_name),
        ServerOptions {
            daemon_sets: script,
            ..ServerOptions::default()
        },
    )
    .unwrap()
}

/// `bundle --collect-nodes` of the scenario into `file`; returns the process output.
fn bundle(
    server: &FixtureServer,
    fixture_name: &str,
    home: &Path,
    file: &Path,
    timeout_secs: u64,
) -> std::process::Output {
    mcp_doctor(home)
        .arg("bundle")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .arg("--env-file")
        .arg(fixture(fixture_name).join("config.env"))
        .args(["--format", "json", "--timeout", "10", "--collect-nodes"])
        .args(["--collect-image", IMAGE])
        .args(["--collect-timeout", &timeout_secs.to_string()])
        .arg("-o")
        .arg(file)
        .output()
        .unwrap()
}

fn unpack(file: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = mcp_doctor_checks::evidence::archive::extract(file, dir.path()).unwrap();
    (dir, root)
}

fn analyze(file: &Path, home: &Path) -> Value {
    let out = mcp_doctor(home)
        .arg("analyze")
        .arg(file)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

fn node_facts(root: &Path) -> Vec<Value> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    manifest["collection"]["node_facts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The DaemonSet was deleted once, with background propagation, taking every pod it had with it, and
/// nothing the run created is left.
fn assert_cleaned_up(server: &FixtureServer, pods: usize) {
    let deletions = server.daemon_set_deletions();
    assert_eq!(deletions.len(), 1, "{deletions:?}");
    assert_eq!(
        deletions[0].propagation_policy.as_deref(),
        Some("Background")
    );
    assert_eq!(deletions[0].pods.len(), pods, "{deletions:?}");
    assert!(server.requests().iter().any(|r| r.method == "DELETE"
        && r.path
            == format!(
                "/apis/apps/v1/namespaces/default/daemonsets/{}",
                deletions[0].name
            )));
    assert_eq!(server.created(), Vec::<String>::new(), "left behind");
}

#[test]
fn every_node_is_collected_judged_from_its_facts_and_the_daemon_set_is_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    // A node with DiskPressure (and its NoSchedule taint): its facts must fail node.disk-usage.
    let name = "k3s-disk-pressure";
    let server = start(name, Some(DaemonSetScript::default()));
    let file = tmp.path().join("b.tar.gz");
    let out = bundle(&server, name, tmp.path(), &file, 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");

    // What was sent: one DaemonSet in the probe namespace, labelled, read-only, on every node.
    let history = server.daemon_set_history();
    assert_eq!(history.len(), 1, "{history:#?}");
    let ds = &history[0];
    assert_eq!(ds["metadata"]["namespace"], "default");
    assert_eq!(
        ds["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "mcp-doctor"
    );
    assert!(ds["metadata"]["annotations"]["mcp-doctor.io/expires-at"].is_string());
    let spec = &ds["spec"]["template"]["spec"];
    let c = &spec["containers"][0];
    assert_eq!(c["image"], IMAGE);
    assert_eq!(c["volumeMounts"][0]["readOnly"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_cleaned_up(&server, 4);

    // The facts are in the bundle as `--host-facts` puts them, one file per node, and reported collected.
    let (_keep, root) = unpack(&file);
    for node in ["mcp-cp-1", "mcp-ingress-1", "mcp-worker-1", "mcp-worker-2"] {
        let got: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("host").join(format!("{node}.json"))).unwrap(),
        )
        .unwrap();
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(name).join("host").join(format!("{node}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(got["disks"], want["disks"], "{node}");
        assert_eq!(got["files"], want["files"], "{node}");
    }
    let outcomes = node_facts(&root);
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o["status"] == "collected"),
        "{outcomes:?}"
    );

    // The vendor's analyze judges the nodes from those facts, as the fixture's own facts are judged.
    let report = analyze(&file, tmp.path());
    let got = statuses(&report);
    let want = expected(name);
    for id in NODE_FACT_CHECKS {
        assert_eq!(got[id], want[id], "{id}");
        assert_ne!(got[id], "skip", "{id} had no facts");
    }
    assert_eq!(got["node.disk-usage"], "fail");
    let live: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        statuses(&live),
        got,
        "analyze gives the live run's verdicts"
    );
}

#[test]
fn a_node_whose_pod_never_runs_or_prints_garbage_is_reported_within_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    // mcp-worker-2 is NotReady: its pod is bound but no kubelet ever starts it.
    let name = "k3s-node-not-ready";
    let mut script = DaemonSetScript::default();
    script.stuck.insert(
        "mcp-ingress-1".into(),
        (
            "ImagePullBackOff".into(),
            format!("Back-off pulling image \"{IMAGE}\""),
        ),
    );
    script.output.insert(
        "mcp-worker-1".into(),
        "exec /usr/local/bin/mcp-doctor: exec format error\n".into(),
    );
    let server = start(name, Some(script));
    let file = tmp.path().join("b.tar.gz");
    let started = Instant::now();
    let out = bundle(&server, name, tmp.path(), &file, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    // Bounded by --collect-timeout (4 s) plus the doctor's own run, not by the pods.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_cleaned_up(&server, 4);

    let (_keep, root) = unpack(&file);
    let outcome = |node: &str| {
        node_facts(&root)
            .into_iter()
            .find(|o| o["node"] == node)
            .unwrap_or_else(|| panic!("{node} not reported"))
    };
    assert_eq!(outcome("mcp-cp-1")["status"], "collected");
    let dead = outcome("mcp-worker-2");
    assert_eq!(dead["status"], "not-running", "{dead}");
    assert!(
        dead["detail"]
            .as_str()
            .unwrap()
            .contains("no container status was ever reported"),
        "{dead}"
    );
    let pull = outcome("mcp-ingress-1");
    assert_eq!(pull["status"], "not-running", "{pull}");
    assert!(
        pull["detail"]
            .as_str()
            .unwrap()
            .contains("ImagePullBackOff"),
        "{pull}"
    );
    let garbage = outcome("mcp-worker-1");
    assert_eq!(garbage["status"], "invalid-output", "{garbage}");
    assert!(
        garbage["detail"]
            .as_str()
            .unwrap()
            .contains("exec format error"),
        "{garbage}"
    );
    assert!(
        stderr.contains("no host facts from node mcp-worker-2"),
        "{stderr}"
    );
    // Only the node that answered is in host/, and the nodes are judged from it.
    let hosts: Vec<String> = std::fs::read_dir(root.join("host"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(hosts, ["mcp-cp-1.json"]);
    let got = statuses(&analyze(&file, tmp.path()));
    assert_eq!(got["node.disk-usage"], "pass");
}

#[test]
fn a_forbidden_daemon_set_leaves_the_node_checks_skipped_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    // Without a DaemonSet script the server answers the create as it does for a read-only user: 403.
    let name = "k3s-disk-pressure";
    let server = start(name, None);
    let file = tmp.path().join("b.tar.gz");
    let out = bundle(&server, name, tmp.path(), &file, 10);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.daemon_set_deletions().is_empty());
    let report = analyze(&file, tmp.path());
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "node.disk-usage")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "skip", "{check}");
    let why = check["message"].as_str().unwrap();
    assert!(
        why.contains("host-facts DaemonSet could not be created") && why.contains("forbidden"),
        "{why}"
    );
}

/// `bundle --collect-nodes` as a child process to signal, once its DaemonSet exists; mcp-worker-2 of
/// k3s-node-not-ready never answers, so the collection would wait its whole 10 minutes.
fn spawn_collecting(server: &FixtureServer, home: &Path, file: &Path) -> std::process::Child {
    let child = Command::new(assert_cmd::cargo::cargo_bin("mcp-doctor"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CI", "true")
        .env("MCP_DOCTOR_SYSTEM_DNS", "none")
        .env("MCP_DOCTOR_HTTP_PROBE", "off")
        .env("MCP_DOCTOR_TLS_PROBE", "false")
        .arg("bundle")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--collect-nodes", "--collect-timeout", "600", "-o"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.daemon_set_history().is_empty() {
        assert!(Instant::now() < deadline, "no DaemonSet within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the run did not end within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ctrl_c_while_collecting_deletes_the_daemon_set_and_sweep_finds_a_killed_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "k3s-node-not-ready";
    let file = tmp.path().join("never.tar.gz");

    let server = start(name, Some(DaemonSetScript::default()));
    let mut child = spawn_collecting(&server, tmp.path(), &file);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(130), "interrupted: {status:?}");
    assert_cleaned_up(&server, 4);
    assert!(!file.exists(), "an interrupted bundle is not written");

    // SIGKILL gives the run no chance: sweep finds the DaemonSet, and keeps it until its expiry.
    let server = start(name, Some(DaemonSetScript::default()));
    let mut child = spawn_collecting(&server, tmp.path(), &file);
    child.kill().unwrap();
    let _ = wait_exit(&mut child);
    let out = mcp_doctor(tmp.path())
        .arg("sweep")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .output()
        .unwrap();
    let swept = String::from_utf8_lossy(&out.stdout);
    assert!(
        swept.contains("kept daemonset/default/mcp-doctor-host-facts-")
            && swept.contains("a run may still use it until"),
        "{swept}"
    );
    // Its pods too: deleting them would only make the DaemonSet controller start new ones.
    assert!(!swept.contains("deleted"), "{swept}");
    assert_eq!(server.created().len(), 5, "{:?}", server.created());
}

#[test]
fn host_facts_in_a_daemon_set_pod_names_its_node_prints_then_holds_until_sigterm() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("host");
    std::fs::create_dir_all(root.join("etc/rancher/k3s")).unwrap();
    std::fs::write(root.join("etc/hostname"), "not-the-node-name\n").unwrap();
    std::fs::write(
        root.join("etc/rancher/k3s/registries.yaml"),
        "mirrors: {}\n",
    )
    .unwrap();
    // As the DaemonSet runs it: the node name from the downward API, the node's root at --host-root.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("mcp-doctor"))
        .env_clear()
        .env(
            mcp_doctor_checks::collect_nodes::NODE_NAME_ENV,
            "mcp-worker-7",
        )
        .args(["host-facts", "--hold", "--host-root"])
        .arg(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    // The document is out while the process holds: a pod's log is read while its container runs.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "host-facts --hold exited"
    );
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    let facts =
        mcp_doctor_checks::collect_nodes::parse_host_facts(&reader.join().unwrap()).unwrap();
    assert_eq!(facts.node, "mcp-worker-7");
    assert!(facts.files.contains_key("/etc/rancher/k3s/registries.yaml"));
}
