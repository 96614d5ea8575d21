//! `--probe-pods` end to end: the binary runs `dns.in-cluster` against the fixture API server, which accepts
//! the probe pod, runs it by a script (a log after a second, a failure, or an image that never pulls) and
//! serves its log as kube-apiserver does. Every path must leave nothing behind: success, a failed lookup, a
//! pod that fails, and a run interrupted with SIGINT mid-probe (then `sweep` finds nothing). A run killed
//! with SIGKILL leaves its pod, which `sweep` keeps until the pod's expiry (a run may still be using it).
//!
//! The pod the tool sends is checked as stored: restricted security context, `activeDeadlineSeconds`, the
//! managed-by and run-id labels, the configured image, and no trace of the API key in the environment.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fixture_apiserver::{FixtureServer, PodScript, ServerOptions};
use serde_json::Value;

const ID: &str = "dns.in-cluster";
const KEY: &str = "admin-key-never-in-a-pod-3d9e";

fn start_server(script: PodScript) -> FixtureServer {
    FixtureServer::start(
        &fixture("platform-healthy"),
        ServerOptions {
            pods: Some(script),
            ..ServerOptions::default()
        },
    )
    .unwrap()
}

fn runs(log: &str, exit_code: i32) -> PodScript {
    PodScript::Runs {
        after: Duration::from_millis(1200),
        exit_code,
        log: log.into(),
    }
}

/// `doctor --probe-pods --only dns.in-cluster`: (status, message).
fn doctor(server: &FixtureServer, tmp: &Path) -> (String, String) {
    let out = mcp_doctor(tmp)
        .env("MCP_PLATFORM_DOMAIN", "example.com")
        .env("MCP_ADMIN_API_KEY", KEY)
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args([
            "--probe-pods",
            "--probe-image",
            "registry.example.com/library/busybox:1.36",
        ])
        .args(["--only", ID, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == ID)
        .unwrap()
        .clone();
    (
        c["status"].as_str().unwrap().to_string(),
        c["message"].as_str().unwrap().to_string(),
    )
}

/// The one pod the run created, as the server stored it.
fn the_probe_pod(server: &FixtureServer) -> Value {
    let history = server.created_history();
    assert_eq!(history.len(), 1, "one probe pod: {history:#?}");
    history[0].clone()
}

fn assert_restricted(pod: &Value) {
    let spec = &pod["spec"];
    assert_eq!(pod["metadata"]["namespace"], "default");
    assert_eq!(
        pod["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "mcp-doctor"
    );
    assert!(pod["metadata"]["labels"]["mcp-doctor.io/run-id"].is_string());
    assert!(pod["metadata"]["annotations"]["mcp-doctor.io/expires-at"].is_string());
    assert!(
        spec["activeDeadlineSeconds"]
            .as_u64()
            .is_some_and(|d| d > 0)
    );
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &spec["containers"][0];
    assert_eq!(c["image"], "registry.example.com/library/busybox:1.36");
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert!(c["env"].is_null(), "no environment: {c}");
    let text = pod.to_string();
    assert!(!text.contains(KEY), "the API key is in the pod: {text}");
    let args: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        &args[args.len() - 3..],
        [
            "platform.example.com",
            "registry.example.com",
            "mcp.example.com"
        ]
    );
}

fn requested(server: &FixtureServer, method: &str, suffix: &str) -> bool {
    server
        .requests()
        .iter()
        .any(|r| r.method == method && r.path.ends_with(suffix))
}

#[test]
fn a_probe_pod_reports_and_is_deleted_whatever_its_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let healthy = "mcp-doctor-dns platform.example.com 0 203.0.113.10 \n\
                   mcp-doctor-dns registry.example.com 0 203.0.113.10 \n\
                   mcp-doctor-dns mcp.example.com 0 203.0.113.10 \n";
    let nxdomain = "mcp-doctor-dns platform.example.com 0 203.0.113.10 \n\
                    mcp-doctor-dns registry.example.com 1 ** server can't find registry.example.com: NXDOMAIN\n\
                    mcp-doctor-dns mcp.example.com 0 203.0.113.10 \n";
    let cases = [
        (
            runs(healthy, 0),
            "pass",
            "registry.example.com 203.0.113.10",
        ),
        (
            runs(nxdomain, 0),
            "fail",
            "inside the cluster registry.example.com does not resolve: ** server can't find registry.example.com: NXDOMAIN",
        ),
        (
            runs("sh: nslookup: not found\n", 127),
            "error",
            "ended Failed: sh: nslookup: not found",
        ),
    ];
    for (script, want, words) in cases {
        let server = start_server(script);
        let (status, message) = doctor(&server, tmp.path());
        println!("{status}: {message}");
        assert_eq!(status, want, "{message}");
        assert!(message.contains(words), "{words:?} missing from: {message}");
        assert_restricted(&the_probe_pod(&server));
        assert!(
            requested(&server, "GET", "/log"),
            "the result came from the log"
        );
        assert!(requested(&server, "DELETE", ""), "the pod was deleted");
        assert_eq!(server.created(), Vec::<String>::new(), "nothing left");
    }
}

/// The binary as `mcp_doctor` runs it, as a child process to signal.
fn spawn_doctor(server: &FixtureServer, home: &Path) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("mcp-doctor"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CI", "true")
        .env("MCP_DOCTOR_SYSTEM_DNS", "none")
        .env("MCP_DOCTOR_HTTP_PROBE", "off")
        .env("MCP_DOCTOR_TLS_PROBE", "false")
        .env("MCP_PLATFORM_DOMAIN", "example.com")
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--probe-pods", "--only", ID, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_pod(server: &FixtureServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.created().is_empty() {
        assert!(Instant::now() < deadline, "no probe pod within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
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

fn sweep(server: &FixtureServer, home: &Path) -> String {
    let out = mcp_doctor(home)
        .arg("sweep")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_interrupted_probe_leaves_nothing_and_a_killed_one_is_kept_until_it_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let never = || PodScript::Waits {
        reason: "ImagePullBackOff".into(),
        message: "Back-off pulling image \"busybox:1.36\"".into(),
    };

    // Ctrl-C while the pod waits for its image: the run deletes it before exiting with 130.
    let server = start_server(never());
    let mut child = spawn_doctor(&server, tmp.path());
    wait_for_pod(&server);
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
    assert_eq!(
        server.created(),
        Vec::<String>::new(),
        "SIGINT left objects"
    );
    let swept = sweep(&server, tmp.path());
    assert!(swept.contains("nothing to sweep"), "{swept}");

    // SIGKILL gives the run no chance: the pod stays, and sweep keeps it until its expiry.
    let server = start_server(never());
    let mut child = spawn_doctor(&server, tmp.path());
    wait_for_pod(&server);
    child.kill().unwrap();
    let _ = wait_exit(&mut child);
    let left = server.created();
    assert_eq!(left.len(), 1, "{left:?}");
    let swept = sweep(&server, tmp.path());
    assert!(
        swept.contains("kept pod/default/mcp-doctor-dns-")
            && swept.contains("a run may still use it until"),
        "{swept}"
    );
    assert_eq!(server.created(), left, "an unexpired probe pod is kept");
}

#[test]
fn a_forbidden_probe_pod_is_an_error_that_names_the_denial_and_leaves_no_cleanup_noise() {
    let tmp = tempfile::tempdir().unwrap();
    // Without a pod script the server answers writes as it does for a read-only user: 403.
    let server =
        FixtureServer::start(&fixture("platform-healthy"), ServerOptions::default()).unwrap();
    let out = mcp_doctor(tmp.path())
        .env("MCP_PLATFORM_DOMAIN", "example.com")
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--probe-pods", "--only", ID, "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));
    let c = &report["checks"][0];
    assert_eq!(c["status"], "error", "{c}");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("permission denied")
            && message.contains("cannot create resource \"pods\""),
        "{message}"
    );
    assert!(!stderr.contains("could not delete"), "{stderr}");
    assert!(!requested(&server, "DELETE", ""), "nothing was created");
}
