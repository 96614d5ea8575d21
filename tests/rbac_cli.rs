//! `mcp-doctor rbac` and the manifests in `deploy/`: the generated objects are the Kubernetes types they claim
//! to be, `deploy/` carries exactly the generated RBAC, and the role is exactly sufficient: a doctor run
//! through the fixture API server enforcing it gets no 403, and the same run without one of its rules gets
//! the 403 and reports it as `cluster.permissions` and `error`s, never as a pass.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fixture, live_on_fixture, mcp_doctor, statuses, valid_report, workspace};
use fixture_apiserver::{FixtureServer, RbacPolicy, ServerOptions};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde_json::Value;

/// The healthy installed platform: every doctor check has something to read.
const HEALTHY: &str = "platform-healthy";

fn rbac_output(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = mcp_doctor(home.path())
        .arg("rbac")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every YAML document of `text`, as JSON values.
fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn one<T: serde::de::DeserializeOwned>(docs: &[Value], kind: &str) -> T {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} expected in {docs:?}");
    serde_json::from_value(found[0].clone()).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

struct Generated {
    service_account: ServiceAccount,
    role: ClusterRole,
    binding: ClusterRoleBinding,
}

fn generated(args: &[&str]) -> Generated {
    let docs = documents(&rbac_output(args));
    assert_eq!(docs.len(), 3, "{docs:?}");
    Generated {
        service_account: one(&docs, "ServiceAccount"),
        role: one(&docs, "ClusterRole"),
        binding: one(&docs, "ClusterRoleBinding"),
    }
}

#[test]
fn rbac_prints_a_service_account_a_read_only_cluster_role_and_their_binding() {
    let g = generated(&["--namespace", "ops", "--name", "doctor"]);
    assert_eq!(g.service_account.metadata.namespace.as_deref(), Some("ops"));
    assert_eq!(g.service_account.metadata.name.as_deref(), Some("doctor"));
    assert_eq!(g.role.metadata.name.as_deref(), Some("doctor"));
    assert_eq!(g.binding.role_ref.name, "doctor");
    assert_eq!(g.binding.role_ref.kind, "ClusterRole");
    let subjects = g.binding.subjects.unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (
            subjects[0].kind.as_str(),
            subjects[0].name.as_str(),
            subjects[0].namespace.as_deref()
        ),
        ("ServiceAccount", "doctor", Some("ops"))
    );
    // Read-only: get/list everywhere, and the one create is SelfSubjectAccessReview.
    for rule in g.role.rules.unwrap() {
        let resources = rule.resources.unwrap();
        if rule.verbs == ["create"] {
            assert_eq!(rule.api_groups.unwrap(), ["authorization.k8s.io"]);
            assert_eq!(resources, ["selfsubjectaccessreviews"]);
        } else {
            assert_eq!(rule.verbs, ["get", "list"]);
            assert!(!resources.iter().any(|r| r.contains('/') || r == "*"));
        }
    }
}

#[test]
fn rbac_only_narrows_the_role_to_the_selected_checks_and_unknown_ids_are_refused() {
    let g = generated(&["--only", "nodes.ready"]);
    let rules = g.role.rules.unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0].resources.as_deref().unwrap(), ["nodes"]);

    let home = tempfile::tempdir().unwrap();
    let out = mcp_doctor(home.path())
        .args(["rbac", "--only", "no.such-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check id \"no.such-check\""));
}

/// A `command` (doctor or preflight) run of `scenario` through `server` (the scenario's env file and host
/// facts, as tests/fixtures.rs runs it), returning the report.
fn run_through(server: &FixtureServer, command: &str, scenario: &str, home: &Path) -> Value {
    let out = live_on_fixture(home, command, server.kubeconfig_path(), &fixture(scenario))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

fn start(scenario: &str, options: ServerOptions) -> FixtureServer {
    FixtureServer::start(
        &fixture(scenario),
        ServerOptions {
            token: "service-account-token".into(),
            ..options
        },
    )
    .unwrap()
}

fn enforcing(scenario: &str, role: &ClusterRole) -> FixtureServer {
    let policy = RbacPolicy::new("mcp-doctor", "mcp-doctor", "mcp-doctor", role);
    start(
        scenario,
        ServerOptions {
            rbac: Some(policy),
            ..ServerOptions::default()
        },
    )
}

/// The verdicts of the same run with unrestricted access (DNS and HTTP evidence is live here, not the
/// fixture's recording, so they differ from `expected.json`).
fn unrestricted_statuses(command: &str, scenario: &str) -> BTreeMap<String, String> {
    let server = start(scenario, ServerOptions::default());
    let home = tempfile::tempdir().unwrap();
    statuses(&run_through(&server, command, scenario, home.path()))
}

#[test]
fn a_doctor_run_bound_to_exactly_the_generated_role_is_never_forbidden() {
    exactly_sufficient(&[], "doctor", HEALTHY);
}

#[test]
fn a_preflight_run_bound_to_exactly_the_for_setup_role_is_never_forbidden() {
    exactly_sufficient(&["--for-setup"], "preflight", "k3s-4node-healthy");
}

fn exactly_sufficient(rbac_args: &[&str], command: &str, scenario: &str) {
    let role = generated(rbac_args).role;
    let server = enforcing(scenario, &role);
    let home = tempfile::tempdir().unwrap();
    let report = run_through(&server, command, scenario, home.path());

    assert_eq!(server.forbidden_requests(), Vec::new());
    let requests = server.requests();
    let reads = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api"))
        .count();
    assert!(reads >= 10, "the run read little: {requests:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/selfsubjectaccessreviews")),
        "cluster.permissions asked nothing: {requests:?}"
    );
    let got = statuses(&report);
    assert_eq!(
        got.get("cluster.permissions").map(String::as_str),
        Some("pass")
    );
    assert_eq!(got, unrestricted_statuses(command, scenario));
}

#[test]
fn a_role_missing_one_rule_is_forbidden_there_and_the_report_says_so() {
    let mut role = generated(&[]).role;
    // Take pods away from the core-group rule.
    let rules = role.rules.as_mut().unwrap();
    let core = rules
        .iter_mut()
        .find(|r| r.api_groups.as_deref() == Some(&["".to_string()][..]))
        .unwrap();
    core.resources.as_mut().unwrap().retain(|r| r != "pods");
    let server = enforcing(HEALTHY, &role);
    let home = tempfile::tempdir().unwrap();
    let report = run_through(&server, "doctor", HEALTHY, home.path());

    let forbidden = server.forbidden_requests();
    assert!(!forbidden.is_empty());
    assert!(
        forbidden.iter().all(|r| r.path.ends_with("/pods")),
        "only pods are denied: {forbidden:?}"
    );
    let checks = report["checks"].as_array().unwrap();
    let check = |id: &str| checks.iter().find(|c| c["id"] == id).unwrap();
    let permissions = check("cluster.permissions");
    assert_eq!(permissions["status"], "warn", "{permissions}");
    let message = permissions["message"].as_str().unwrap();
    assert!(message.contains("cannot list pods"), "{message}");
    // A 403 never becomes another verdict: what changed is an `error` that names the denial, or a `skip`
    // (of a check that depends on one that errored).
    let baseline = unrestricted_statuses("doctor", HEALTHY);
    let mut errored = 0;
    for (id, status) in statuses(&report) {
        if id == "cluster.permissions" || baseline.get(&id) == Some(&status) {
            continue;
        }
        assert!(status == "error" || status == "skip", "{id}: {status}");
        if status == "error" {
            errored += 1;
            let text = check(&id)["message"].as_str().unwrap().to_string();
            assert!(text.contains("permission denied"), "{id}: {text}");
            assert!(
                text.contains("system:serviceaccount:mcp-doctor:mcp-doctor"),
                "{id}: {text}"
            );
        }
    }
    assert!(errored > 0, "no check reported the 403");
}

/// What a pod of `deploy/` sees: no kubeconfig, `KUBERNETES_SERVICE_HOST`/`PORT`, and the ServiceAccount's
/// token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount (mounted here on a tmpfs in
/// a private mount namespace, so the machine's /run is untouched). The tool falls back to that in-cluster
/// configuration, and the generated role is enough for it.
#[test]
fn an_in_cluster_run_as_the_service_account_of_deploy_is_never_forbidden() {
    let Some([unshare]) = mcp_doctor_test_peers::require(
        "an_in_cluster_run_as_the_service_account",
        ["unshare"],
        Some("it mounts the ServiceAccount's files in a private mount namespace"),
    ) else {
        return;
    };
    let role = generated(&[]).role;
    let server = enforcing(HEALTHY, &role);
    let tmp = tempfile::tempdir().unwrap();
    let account = tmp.path().join("serviceaccount");
    std::fs::create_dir(&account).unwrap();
    std::fs::write(account.join("token"), "service-account-token").unwrap();
    std::fs::copy(server.ca_cert_path(), account.join("ca.crt")).unwrap();
    std::fs::write(account.join("namespace"), "mcp-doctor").unwrap();

    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let template = common::mcp_doctor_process(&home);
    let mut cmd = std::process::Command::new(unshare);
    cmd.env_clear();
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    let dir = fixture(HEALTHY);
    const MOUNT_SERVICE_ACCOUNT: &str = "set -e; mount -t tmpfs tmpfs /var/run; \
        mkdir -p /var/run/secrets/kubernetes.io/serviceaccount; \
        cp \"$ACCOUNT\"/* /var/run/secrets/kubernetes.io/serviceaccount/; exec \"$@\"";
    cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(MOUNT_SERVICE_ACCOUNT)
        .arg("sh")
        .arg(template.get_program())
        .args([
            "doctor",
            "--format",
            "json",
            "--timeout",
            "10",
            "--env-file",
        ])
        .arg(dir.join("config.env"))
        .arg("--host-facts")
        .arg(dir.join("host"))
        .env("ACCOUNT", &account)
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", server.addr().port().to_string());
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = valid_report(&String::from_utf8_lossy(&out.stdout));

    assert_eq!(server.forbidden_requests(), Vec::new());
    let got = statuses(&report);
    assert_eq!(got["cluster.api-reachable"], "pass", "{report}");
    assert_eq!(got["cluster.permissions"], "pass", "{report}");
    assert_eq!(got, unrestricted_statuses("doctor", HEALTHY));
}

fn deploy_documents() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let dir = workspace().join("deploy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        out.extend(documents(&text).into_iter().map(|d| (name.clone(), d)));
    }
    out
}

/// Parses one manifest as the k8s-openapi type of its kind; an unexpected kind fails.
fn parse_as_its_type(file: &str, doc: &Value) {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::batch::v1::CronJob;
    use k8s_openapi::api::core::v1::{Namespace, Service};
    let kind = doc["kind"].as_str().unwrap_or_default();
    let parsed = match kind {
        "Namespace" => serde_json::from_value::<Namespace>(doc.clone()).map(drop),
        "ServiceAccount" => serde_json::from_value::<ServiceAccount>(doc.clone()).map(drop),
        "ClusterRole" => serde_json::from_value::<ClusterRole>(doc.clone()).map(drop),
        "ClusterRoleBinding" => serde_json::from_value::<ClusterRoleBinding>(doc.clone()).map(drop),
        "CronJob" => serde_json::from_value::<CronJob>(doc.clone()).map(drop),
        "Deployment" => serde_json::from_value::<Deployment>(doc.clone()).map(drop),
        "Service" => serde_json::from_value::<Service>(doc.clone()).map(drop),
        other => panic!("{file}: unexpected kind {other:?}"),
    };
    parsed.unwrap_or_else(|e| panic!("{file}: {kind} does not parse: {e}"));
}

#[test]
fn every_manifest_in_deploy_parses_as_its_kubernetes_type() {
    let docs = deploy_documents();
    for (file, doc) in &docs {
        parse_as_its_type(file, doc);
    }
    let kinds: Vec<&str> = docs
        .iter()
        .map(|(_, d)| d["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "CronJob",
        "Deployment",
        "Service",
    ] {
        assert!(kinds.contains(&kind), "deploy/ has no {kind}: {kinds:?}");
    }
}

#[test]
fn deploy_rbac_is_exactly_what_mcp_doctor_rbac_generates() {
    let checked_in = std::fs::read_to_string(workspace().join("deploy/rbac.yaml")).unwrap();
    assert_eq!(
        checked_in,
        rbac_output(&[]),
        "deploy/rbac.yaml is stale: regenerate it with `mcp-doctor rbac > deploy/rbac.yaml`"
    );
}

/// The pods run as the generated ServiceAccount, non-root, with a read-only root filesystem, no
/// capabilities and the runtime's seccomp profile, and are configured in-cluster (no kubeconfig).
#[test]
fn deployed_pods_are_locked_down_and_use_the_generated_service_account() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::batch::v1::CronJob;
    use k8s_openapi::api::core::v1::PodSpec;
    let docs = deploy_documents();
    let sa = generated(&[]).service_account;
    let mut specs: Vec<(String, PodSpec)> = Vec::new();
    for (file, doc) in &docs {
        match doc["kind"].as_str() {
            Some("CronJob") => {
                let cj: CronJob = serde_json::from_value(doc.clone()).unwrap();
                let spec = cj
                    .spec
                    .unwrap()
                    .job_template
                    .spec
                    .unwrap()
                    .template
                    .spec
                    .unwrap();
                specs.push((file.clone(), spec));
            }
            Some("Deployment") => {
                let d: Deployment = serde_json::from_value(doc.clone()).unwrap();
                specs.push((file.clone(), d.spec.unwrap().template.spec.unwrap()));
            }
            _ => {}
        }
    }
    assert_eq!(specs.len(), 2);
    for (file, spec) in specs {
        assert_eq!(spec.service_account_name, sa.metadata.name, "{file}");
        let pod_sc = spec.security_context.clone().unwrap();
        assert_eq!(pod_sc.run_as_non_root, Some(true), "{file}");
        assert_eq!(
            pod_sc.seccomp_profile.map(|p| p.type_),
            Some("RuntimeDefault".to_string()),
            "{file}"
        );
        for c in &spec.containers {
            let sc = c.security_context.clone().unwrap();
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{file}");
            assert_eq!(sc.allow_privilege_escalation, Some(false), "{file}");
            assert_eq!(
                sc.capabilities.and_then(|c| c.drop),
                Some(vec!["ALL".to_string()]),
                "{file}"
            );
            let args = c.args.clone().unwrap_or_default();
            assert!(!args.iter().any(|a| a == "--kubeconfig"), "{file}");
            assert!(
                !c.env.iter().flatten().any(|e| e.name == "KUBECONFIG"),
                "{file}"
            );
        }
    }
}
