//! `install` and `fix` end to end: the binary against the fixture API server (through its kubeconfig, TLS
//! and token, accepting PATCH and server-side apply and recording each), with a temporary `--host-root` for
//! host files. Every claim of the installer is checked on what reached the server: a failing gate stops a
//! plan before any write, a dry run writes nothing, a second apply changes nothing, verification waits for
//! the DaemonSet controller to move svclb pods (or fails at its deadline with the last message), the
//! registries.yaml merge keeps other entries and backs the file up, a failing command stops the plan, and
//! `fix svclb.enablelb-labels` sends exactly the PATCH the guide's `kubectl label` would.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use serde_json::{Value, json};

const ENABLELB: &str = "svccontroller.k3s.cattle.io/enablelb";

fn server(name: &str, daemonset_controller: Option<Duration>) -> FixtureServer {
    FixtureServer::start(
        &fixture(name),
        ServerOptions {
            patches: true,
            daemonset_controller,
            ..ServerOptions::default()
        },
    )
    .unwrap()
}

/// A test's working area: HOME, the plan's directory, and the host root.
struct Area {
    dir: tempfile::TempDir,
}

impl Area {
    fn new() -> Area {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("host")).unwrap();
        std::fs::create_dir_all(dir.path().join("plan")).unwrap();
        Area { dir }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn host(&self, path: &str) -> PathBuf {
        self.dir
            .path()
            .join("host")
            .join(path.trim_start_matches('/'))
    }

    fn plan(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("plan/plan.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn journals(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("plan"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".journal-"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

/// `mcp-doctor <command> ...` against `server` with the scenario's env file and host facts.
fn run(area: &Area, server: &FixtureServer, scenario: &str, args: &[&str]) -> Output {
    let mut cmd = mcp_doctor(area.home());
    cmd.args(args)
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--timeout", "10"])
        .arg("--host-root")
        .arg(area.dir.path().join("host"))
        .arg("--env-file")
        .arg(fixture(scenario).join("config.env"));
    if fixture(scenario).join("host").is_dir() {
        cmd.arg("--host-facts").arg(fixture(scenario).join("host"));
    }
    cmd.timeout(Duration::from_secs(300)).output().unwrap()
}

fn install(area: &Area, server: &FixtureServer, scenario: &str, plan: &Path, mode: &str) -> Output {
    run(
        area,
        server,
        scenario,
        &["install", "--plan", plan.to_str().unwrap(), mode],
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Requests that could change something: anything but GETs and access reviews (which only ask).
fn writes(server: &FixtureServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/selfsubjectaccessreviews"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The shipped example plan, with `setup` pointing at a script that records its arguments and
/// environment (standing in for mcp-runtime), and the deadlines of `unlabel-enablelb` shortened.
fn example_plan(area: &Area, keep_wait_for: bool) -> PathBuf {
    let script = area.dir.path().join("plan/fake-mcp-runtime");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/setup-argv\"\necho \"MCP_SETUP_WAIT_TIMEOUT=$MCP_SETUP_WAIT_TIMEOUT\" > \"$(dirname \"$0\")/setup-env\"\necho setup ran\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let text = std::fs::read_to_string(workspace().join("installer/plans/k3s-4node.yaml")).unwrap();
    let mut text = text
        .replace(
            "binary: ./bin/mcp-runtime",
            &format!("binary: {}", script.display()),
        )
        .replace("timeout: 180", "timeout: 5")
        .replace("timeout: 900", "timeout: 2");
    assert!(text.contains(&script.display().to_string()), "{text}");
    if !keep_wait_for {
        let at = text
            .find("  # The platform is up")
            .expect("the plan ends with wait-for");
        text.truncate(at);
    }
    area.plan(&text)
}

#[test]
fn the_example_plan_runs_end_to_end_on_the_healthy_cluster() {
    let area = Area::new();
    let server = server("k3s-4node-healthy", None);
    let plan = example_plan(&area, false);
    let out = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    for want in [
        "[1/4] label-ingress-node",
        "requires cluster.api-reachable pass",
        "requires nodes.ready pass",
        "verified: svclb.enablelb-labels pass, svclb.placement pass",
        "changed: write /etc/rancher/k3s/registries.yaml (+mirror registry.local:32000 -> http://127.0.0.1:32000; keeps 0 other entries)",
        "changed: append /etc/hosts 127.0.0.1 registry.local",
        "note: k3s reads registries.yaml only at start",
        "setup ran",
        "Done: all 4 step(s) completed.",
    ] {
        assert!(text.contains(want), "missing {want:?}\n{}", show(&out));
    }
    // The cluster already had the guide's labels: nothing was patched.
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    // setup got the flags of the scenario's env file, as preflight judged them.
    let argv = std::fs::read_to_string(area.dir.path().join("plan/setup-argv")).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    let kubeconfig = server.kubeconfig_path().display().to_string();
    assert_eq!(
        argv,
        [
            "setup",
            "--kubeconfig",
            kubeconfig.as_str(),
            "--platform-mode",
            "public",
            "--registry-mode",
            "bundled-https",
            "--storage-mode",
            "dynamic",
            "--ingress",
            "none",
            "--acme-email",
            "ops@example.com",
            "--with-tls",
            "--parallel-builds"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(area.dir.path().join("plan/setup-env")).unwrap(),
        "MCP_SETUP_WAIT_TIMEOUT=1200\n"
    );
    let registries =
        std::fs::read_to_string(area.host("/etc/rancher/k3s/registries.yaml")).unwrap();
    assert!(registries.contains("registry.local:32000"), "{registries}");
    let journals = area.journals();
    assert_eq!(journals.len(), 1);
    let j = &journals[0];
    assert_eq!(j["schema"], "mcp-doctor.install-journal/v1");
    assert_eq!(j["completed"], true);
    let results: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["done"; 4]);
    // setup's gate was the whole preflight.
    assert!(j["steps"][3]["requires"].as_array().unwrap().len() > 30);
}

/// Every setup-mode scenario that `preflight` finds broken here (a check fails or errors; scenarios whose
/// failures need public DNS or HTTP probes are not broken without them): the example plan stops at a gate
/// (or a verification) naming one of those checks, and setup never runs.
#[test]
fn the_example_plan_refuses_every_broken_cluster_with_the_failing_gate() {
    let mut stopped = 0;
    for name in fixture_names() {
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&name).join("manifest.json")).unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        if manifest["mode"] != "setup" || !fixture(&name).join("config.env").is_file() {
            continue;
        }
        let area = Area::new();
        let server = server(&name, Some(Duration::from_millis(300)));
        let mut preflight = mcp_doctor(area.home());
        preflight
            .args([
                "preflight",
                "--format",
                "json",
                "--timeout",
                "10",
                "--kubeconfig",
            ])
            .arg(server.kubeconfig_path())
            .arg("--env-file")
            .arg(fixture(&name).join("config.env"));
        if fixture(&name).join("host").is_dir() {
            preflight
                .arg("--host-facts")
                .arg(fixture(&name).join("host"));
        }
        let preflight = preflight.output().unwrap();
        let report = valid_report(&String::from_utf8_lossy(&preflight.stdout));
        let broken: Vec<String> = statuses(&report)
            .into_iter()
            .filter(|(_, s)| s == "fail" || s == "error")
            .map(|(id, _)| id)
            .collect();
        if broken.is_empty() {
            continue;
        }
        let plan = example_plan(&area, true);
        let out = install(&area, &server, &name, &plan, "--yes");
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", show(&out));
        assert!(
            !area.dir.path().join("plan/setup-argv").exists(),
            "{name}: setup ran on a broken cluster\n{}",
            show(&out)
        );
        let gate = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("gate failed: "))
            .map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
        match &gate {
            Some(id) => assert!(
                broken.contains(id),
                "{name}: the gate named {id}, which the scenario does not fail\n{}",
                show(&out)
            ),
            None => assert!(
                text.contains("verification failed"),
                "{name}: stopped without naming a gate\n{}",
                show(&out)
            ),
        }
        eprintln!(
            "{name}: stopped ({})",
            gate.map(|g| format!("gate {g}"))
                .unwrap_or_else(|| "verification".into())
        );
        stopped += 1;
    }
    assert!(stopped >= 10, "only {stopped} broken scenarios were tried");
}

#[test]
fn a_failing_gate_stops_the_plan_before_any_write() {
    let area = Area::new();
    let server = server("k3s-node-not-ready", None);
    let plan = example_plan(&area, true);
    let out = install(&area, &server, "k3s-node-not-ready", &plan, "--yes");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("gate failed: nodes.ready fail"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("remediation rem.node-not-ready"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("stopped: step 1 did not complete; the 4 step(s) after it were not run"),
        "{}",
        show(&out)
    );
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert!(server.mutations().is_empty());
    assert!(!area.host("/etc/rancher/k3s/registries.yaml").exists());
    let j = &area.journals()[0];
    assert_eq!(j["completed"], false);
    assert_eq!(j["steps"][0]["result"], "gate-failed");
    assert_eq!(j["steps"][1]["result"], "not-run");
}

#[test]
fn dry_run_shows_every_change_and_gate_and_writes_nothing() {
    let area = Area::new();
    let server = server("k3s-svclb-two-labelled-nodes", None);
    let plan = example_plan(&area, false);
    let out = install(
        &area,
        &server,
        "k3s-svclb-two-labelled-nodes",
        &plan,
        "--dry-run",
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    for want in [
        "Dry run of",
        "requires cluster.api-reachable pass",
        "would change: nothing (already done)",
        &format!("would PATCH node mcp-worker-3 labels -{ENABLELB}"),
        "then verifies svclb.enablelb-labels, svclb.placement (waiting up to 5s)",
        "would write /etc/rancher/k3s/registries.yaml (+mirror registry.local:32000 -> http://127.0.0.1:32000",
        "would append /etc/hosts 127.0.0.1 registry.local",
        "would run MCP_SETUP_WAIT_TIMEOUT=1200 ",
        "setup --kubeconfig",
        "--platform-mode public --registry-mode bundled-https",
    ] {
        assert!(text.contains(want), "missing {want:?}\n{}", show(&out));
    }
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert!(!area.host("/etc/rancher/k3s/registries.yaml").exists());
    assert!(!area.host("/etc/hosts").exists());
    assert!(!area.dir.path().join("plan/setup-argv").exists());
    // Nor its journal: a dry run writes nothing at all.
    assert!(area.journals().is_empty());
}

#[test]
fn applying_twice_changes_nothing_the_second_time_and_verify_waits_for_the_pods_to_move() {
    let area = Area::new();
    let manifests = area.dir.path().join("plan/manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    // Out of order on purpose: the namespace and the CRD must be applied first.
    std::fs::write(
        manifests.join("app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: mcp-install-test\ndata:\n  mode: public\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: mcp-install-test\n",
    )
    .unwrap();
    std::fs::write(
        manifests.join("crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
    )
    .unwrap();
    let plan = area.plan(
        "steps:\n  - step: label-ingress-node\n    node: mcp-ingress-1\n  - step: unlabel-enablelb\n    keep: mcp-ingress-1\n    timeout: 30\n  - step: apply-manifests\n    path: manifests\n",
    );
    let server = server("k3s-svclb-two-labelled-nodes", Some(Duration::from_secs(2)));
    let first = install(
        &area,
        &server,
        "k3s-svclb-two-labelled-nodes",
        &plan,
        "--yes",
    );
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    let text = stdout(&first);
    for want in [
        &format!("changed: PATCH node mcp-worker-3 labels -{ENABLELB}"),
        "changed: apply namespace mcp-install-test (create, field manager mcp-doctor)",
        "changed: apply customresourcedefinition widgets.example.com (create, field manager mcp-doctor)",
        "changed: apply configmap mcp-install-test/settings (create, field manager mcp-doctor)",
    ] {
        assert!(text.contains(want), "missing {want:?}\n{}", show(&first));
    }
    let after_first = server.mutations();
    let sent: Vec<(String, String, Option<String>)> = after_first
        .iter()
        .map(|m| {
            (
                m.path.clone(),
                m.content_type.clone(),
                m.field_manager.clone(),
            )
        })
        .collect();
    let apply = "application/apply-patch+yaml".to_string();
    let manager = Some("mcp-doctor".to_string());
    assert_eq!(
        sent,
        [
            (
                "/api/v1/nodes/mcp-worker-3".into(),
                "application/merge-patch+json".into(),
                None
            ),
            (
                "/api/v1/namespaces/mcp-install-test".into(),
                apply.clone(),
                manager.clone()
            ),
            (
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
                    .into(),
                apply.clone(),
                manager.clone()
            ),
            (
                "/api/v1/namespaces/mcp-install-test/configmaps/settings".into(),
                apply,
                manager
            ),
        ]
    );
    assert!(
        after_first.iter().all(|m| m.status < 300),
        "{after_first:?}"
    );
    // The svclb pod left mcp-worker-3 only two seconds after the label: verification had to wait.
    let journal = &area.journals()[0];
    let attempts = journal["steps"][1]["verify_attempts"].as_u64().unwrap();
    assert!(attempts >= 2, "verified at once: {journal}");
    assert!(text.contains("verified: svclb.enablelb-labels pass, svclb.placement pass (attempt"));

    let second = install(
        &area,
        &server,
        "k3s-svclb-two-labelled-nodes",
        &plan,
        "--yes",
    );
    assert_eq!(second.status.code(), Some(0), "{}", show(&second));
    assert_eq!(
        server.mutations().len(),
        after_first.len(),
        "{}",
        show(&second)
    );
    let text = stdout(&second);
    assert_eq!(
        text.matches("nothing to change (already done)").count(),
        3,
        "{text}"
    );
    assert!(!text.contains("changed:"), "{text}");
}

#[test]
fn verification_fails_at_its_deadline_with_the_last_message() {
    let area = Area::new();
    // No DaemonSet controller: the svclb pod never leaves mcp-worker-3.
    let server = server("k3s-svclb-two-labelled-nodes", None);
    let plan = area.plan(
        "steps:\n  - step: unlabel-enablelb\n    keep: mcp-ingress-1\n    timeout: 3\n  - step: run\n    argv: [\"true\"]\n",
    );
    let out = install(
        &area,
        &server,
        "k3s-svclb-two-labelled-nodes",
        &plan,
        "--yes",
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("verification failed after 3s"),
        "{}",
        show(&out)
    );
    let last = text
        .lines()
        .find(|l| l.trim_start().starts_with("svclb.placement "))
        .unwrap_or_else(|| panic!("no svclb.placement verdict\n{}", show(&out)));
    assert!(last.contains("mcp-worker-3"), "{last}");
    let j = &area.journals()[0];
    assert_eq!(j["steps"][0]["result"], "verify-failed");
    assert!(
        j["steps"][0]["error"]
            .as_str()
            .unwrap()
            .contains("svclb.placement"),
        "{j}"
    );
    assert_eq!(j["steps"][1]["result"], "not-run");
}

#[test]
fn the_registries_yaml_merge_keeps_other_entries_and_backs_the_file_up() {
    let area = Area::new();
    let server = server("k3s-4node-healthy", None);
    let original = "# hand-written\nmirrors:\n  docker.io:\n    endpoint:\n      - \"https://mirror.corp.example\"\nconfigs:\n  mirror.corp.example:\n    auth:\n      username: puller\n";
    std::fs::create_dir_all(area.host("/etc/rancher/k3s")).unwrap();
    std::fs::write(area.host("/etc/rancher/k3s/registries.yaml"), original).unwrap();
    std::fs::write(area.host("/etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    let plan = area.plan(
        "steps:\n  - step: write-registry-config\n    mirror: registry.local:32000\n    endpoint: http://127.0.0.1:32000\n    hosts: 127.0.0.1 registry.local\n",
    );
    let out = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains("keeps 2 other entries; backup registries.yaml.mcp-doctor-"));
    let dir = area.host("/etc/rancher/k3s");
    let backups: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), original);
    let merged: Value = serde_saphyr_value(&dir.join("registries.yaml"));
    assert_eq!(
        merged["mirrors"]["docker.io"]["endpoint"][0],
        "https://mirror.corp.example"
    );
    assert_eq!(
        merged["configs"]["mirror.corp.example"]["auth"]["username"],
        "puller"
    );
    assert_eq!(
        merged["mirrors"]["registry.local:32000"]["endpoint"],
        json!(["http://127.0.0.1:32000"])
    );
    assert_eq!(
        std::fs::read_to_string(area.host("/etc/hosts")).unwrap(),
        "127.0.0.1 localhost\n127.0.0.1 registry.local\n"
    );
    // Again: already there, so no write and no second backup.
    let again = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    assert!(stdout(&again).contains("nothing to change (already done)"));
    let count = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(count, 2, "registries.yaml and one backup");
}

/// A YAML file as JSON.
fn serde_saphyr_value(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_failing_command_stops_the_plan_with_its_exit_code() {
    let area = Area::new();
    let server = server("k3s-4node-healthy", None);
    let plan = area.plan(
        "steps:\n  - step: run\n    argv: [sh, -c, \"echo streaming; exit 7\"]\n  - step: label-ingress-node\n    node: mcp-ingress-1\n",
    );
    let out = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("streaming"), "{}", show(&out));
    assert!(
        text.contains("failed: sh -c 'echo streaming; exit 7' exited with code 7"),
        "{}",
        show(&out)
    );
    assert!(
        text.contains("the 1 step(s) after it were not run"),
        "{}",
        show(&out)
    );
    let j = &area.journals()[0];
    assert_eq!(j["steps"][0]["result"], "failed");
    assert_eq!(j["steps"][1]["result"], "not-run");
    // The second step's gates were never evaluated: nothing was asked of the cluster.
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn fix_enablelb_labels_sends_the_guides_patch_and_rechecks() {
    let area = Area::new();
    let server = server(
        "k3s-svclb-two-labelled-nodes",
        Some(Duration::from_millis(500)),
    );
    let scenario = "k3s-svclb-two-labelled-nodes";

    // Not on a terminal and neither --yes nor --dry-run: refused before anything is asked.
    let refused = run(&area, &server, scenario, &["fix", "svclb.enablelb-labels"]);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("refusing to change anything without confirmation")
    );
    assert!(server.requests().is_empty());

    let dry = run(
        &area,
        &server,
        scenario,
        &["fix", "svclb.enablelb-labels", "--dry-run"],
    );
    assert_eq!(dry.status.code(), Some(0), "{}", show(&dry));
    assert!(stdout(&dry).contains(&format!("would PATCH node mcp-worker-3 labels -{ENABLELB}")));
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));

    let out = run(
        &area,
        &server,
        scenario,
        &["fix", "svclb.enablelb-labels", "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("svclb.enablelb-labels warn: 2 nodes carry"),
        "{text}"
    );
    assert!(
        text.contains("Plan to fix svclb.enablelb-labels (rem.svclb-pin-ingress-node):"),
        "{text}"
    );
    assert!(text.contains("svclb.enablelb-labels now pass"), "{text}");
    let sent: Vec<(String, String, String, Value)> = server
        .mutations()
        .into_iter()
        .map(|m| (m.method, m.path, m.content_type, m.body))
        .collect();
    assert_eq!(
        sent,
        [(
            "PATCH".to_string(),
            "/api/v1/nodes/mcp-worker-3".to_string(),
            "application/merge-patch+json".to_string(),
            json!({"metadata": {"labels": {ENABLELB: null}}})
        )]
    );
    assert_eq!(writes(&server), ["PATCH /api/v1/nodes/mcp-worker-3"]);
}

#[test]
fn a_missing_label_is_fixed_with_the_guides_three_labels() {
    let area = Area::new();
    let server = server(
        "k3s-svclb-no-enablelb-label",
        Some(Duration::from_millis(200)),
    );
    let out = run(
        &area,
        &server,
        "k3s-svclb-no-enablelb-label",
        &["fix", "svclb.enablelb-labels", "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let bodies: Vec<Value> = server.mutations().into_iter().map(|m| m.body).collect();
    assert_eq!(
        bodies,
        [json!({"metadata": {"labels": {ENABLELB: "true"}}})],
        "{}",
        show(&out)
    );
}

#[test]
fn malformed_plans_and_missing_confirmation_are_refused_before_anything_runs() {
    let area = Area::new();
    let server = server("k3s-4node-healthy", None);
    let plan = area.plan("steps:\n  - step: label-ingress-node\n    node: mcp-ingress-1\n  - step: unlabel-enablelb\n    kep: mcp-ingress-1\n");
    let out = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plan.yaml:4:"), "{err}");
    assert!(err.contains("step 2: unknown field `kep`"), "{err}");

    let plan = area.plan("steps:\n  - step: label-ingress-node\n    node: mcp-ingress-1\n");
    let out = run(
        &area,
        &server,
        "k3s-4node-healthy",
        &["install", "--plan", plan.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes to apply, or --dry-run"));
    assert!(server.requests().is_empty());
}

#[test]
fn a_run_journal_goes_into_the_support_bundle() {
    let area = Area::new();
    let server = server("k3s-4node-healthy", None);
    let plan = area.plan("steps:\n  - step: wait-for\n    checks: [nodes.ready]\n    timeout: 5\n");
    let out = install(&area, &server, "k3s-4node-healthy", &plan, "--yes");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let journal = std::fs::read_dir(area.dir.path().join("plan"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains(".journal-"))
        .unwrap();
    let archive = area.dir.path().join("bundle.tar.gz");
    let bundle = |extra: &Path| {
        mcp_doctor(area.home())
            .arg("bundle")
            .arg("--kubeconfig")
            .arg(server.kubeconfig_path())
            .args(["--format", "json", "--timeout", "10", "-o"])
            .arg(&archive)
            .arg("--install-journal")
            .arg(extra)
            .output()
            .unwrap()
    };
    let out = bundle(&journal);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", show(&out));
    let file = std::fs::File::open(&archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let name = journal.file_name().unwrap().to_string_lossy().to_string();
    let mut found = None;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().to_string();
        if path.ends_with(&format!("install/{name}")) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            found = Some(text);
        }
    }
    let text = found.expect("the journal is in the bundle");
    let packed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(packed["steps"][0]["step"], "wait-for");

    // Anything that is not a run journal is refused, not packed.
    let out = bundle(&plan);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an install run journal"));
}

/// On a terminal (a pseudo-terminal from util-linux `script`), each mutating step is asked about: "n"
/// declines it and changes nothing, "y" applies it.
#[test]
fn on_a_terminal_each_mutating_step_is_confirmed() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "util-linux script is missing"
        );
        eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let area = Area::new();
    let marker = area.dir.path().join("touched");
    let plan = area.plan(&format!(
        "steps:\n  - step: run\n    argv: [touch, \"{}\"]\n",
        marker.display()
    ));
    let binary = assert_cmd::cargo::cargo_bin("mcp-doctor");
    let answer = |reply: &str| {
        let command = format!(
            "{} install --plan {} --timeout 2",
            binary.display(),
            plan.display()
        );
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", area.home())
            .env("KUBECONFIG", area.dir.path().join("no-kubeconfig"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{reply}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let no = answer("n");
    let text = String::from_utf8_lossy(&no.stdout).into_owned();
    assert!(text.contains("Apply step 1 (run)? [y/N]"), "{text}");
    assert!(text.contains("declined: nothing changed"), "{text}");
    assert!(!marker.exists());
    let yes = answer("y");
    let text = String::from_utf8_lossy(&yes.stdout).into_owned();
    assert!(text.contains("Done: all 1 step(s) completed."), "{text}");
    assert!(marker.exists());
}

#[test]
fn explain_prints_a_steps_documentation() {
    let area = Area::new();
    let out = mcp_doctor(area.home())
        .args(["explain", "write-registry-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("installer step write-registry-config"),
        "{text}"
    );
    assert!(text.contains("### What it changes"), "{text}");
    assert!(
        text.contains("registries.yaml.mcp-doctor-<UTC timestamp>.bak"),
        "{text}"
    );
}
