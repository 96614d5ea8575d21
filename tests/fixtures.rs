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
use mcp_doctor_test_peers::named;
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

/// What a live run leaves behind: a `--record` directory, or a `bundle` file.
#[derive(Clone, Copy)]
enum Keep<'a> {
    Record(&'a std::path::Path),
    Bundle(&'a std::path::Path),
}

/// `preflight` against a live (fixture) API server with the scenario's env file and host facts.
fn preflight_live(
    name: &str,
    kubeconfig: &std::path::Path,
    tmp: &std::path::Path,
    record: &std::path::Path,
) -> Value {
    live_run(name, kubeconfig, tmp, Keep::Record(record))
}

/// The scenario's live run, recorded (`preflight`/`doctor --record`) or bundled (`bundle [--for-setup]`).
fn live_run(name: &str, kubeconfig: &std::path::Path, tmp: &std::path::Path, keep: Keep) -> Value {
    let dir = fixture(name);
    let mut cmd = mcp_doctor(tmp);
    // A scenario recorded after install (manifest mode `doctor`) is judged by `doctor`, the others by
    // `preflight`, as `analyze` does from the same manifest.
    let doctor = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|m| serde_json::from_str::<Value>(&m).ok())
        .is_some_and(|m| m["mode"] == "doctor");
    // A scenario with public DNS (`dns/<zone>.zone`) is served by a real BIND on a loopback port, asked as
    // this machine's resolver; the others run with no resolver (their dns checks skip, as replayed).
    let _named = dns_zones(&dir).and_then(|zones| {
        let named = named::start_zones(&zones)?;
        cmd.env("MCP_DOCTOR_SYSTEM_DNS", named.server());
        Some(named)
    });
    match keep {
        Keep::Record(record) => {
            cmd.arg(if doctor { "doctor" } else { "preflight" })
                .arg("--record")
                .arg(record);
        }
        Keep::Bundle(file) => {
            cmd.arg("bundle").arg("-o").arg(file);
            if !doctor {
                cmd.arg("--for-setup");
            }
        }
    }
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--format", "json", "--timeout", "10"]);
    cmd.arg("--env-file").arg(dir.join("config.env"));
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

/// The zones of a scenario's `dns/` folder: `dns/shop.test.zone` serves `shop.test`.
fn dns_zones(dir: &std::path::Path) -> Option<Vec<(String, std::path::PathBuf)>> {
    let zones: Vec<_> = std::fs::read_dir(dir.join("dns"))
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".zone")
                .map(|z| (z.to_string(), e.path()))
        })
        .collect();
    (!zones.is_empty()).then_some(zones)
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
        if dns_zones(&fixture(&name)).is_some() && !named::available() {
            eprintln!("SKIP live run of fixtures/{name}: it needs named to serve its DNS zone");
            continue;
        }
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
            live_expected(&name),
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
        // A source this build has no live side for (DNS: `NoLiveProbe`) answers "not configured" live and
        // records nothing, so its replay says "not collected": both skip, with different reasons.
        let unconfigured_live: Vec<String> = messages(&live)
            .into_iter()
            .filter(|(_, (status, message))| status == "skip" && message.contains("in this build"))
            .map(|(id, _)| id)
            .collect();
        let strip = |m: BTreeMap<String, (String, String)>| -> BTreeMap<String, (String, String)> {
            m.into_iter()
                .filter(|(id, _)| !cites_path(id) && !unconfigured_live.contains(id))
                .collect()
        };
        assert_eq!(
            strip(messages(&replayed)),
            strip(messages(&live)),
            "replay of the recording of fixtures/{name}"
        );
    }
}

/// Checks outside `http01.*` whose verdict rests on HTTP probes.
const HTTP_PROBING_CHECKS: &[&str] = &[
    "registry.reachable",
    "registry.public-route",
    "platform.public-endpoints",
];

/// A report without what two runs of the same state never share: timing, `source`, and the paths of the
/// env file (the fixture's live, the unpacked bundle's replayed).
fn comparable(report: &Value, env_files: &[String]) -> Value {
    fn walk(v: &mut Value, env_files: &[String]) {
        match v {
            Value::Object(map) => {
                for key in ["started_at", "duration_ms", "source"] {
                    map.remove(key);
                }
                map.values_mut().for_each(|v| walk(v, env_files));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, env_files)),
            Value::String(s) => {
                for path in env_files {
                    if s.contains(path.as_str()) {
                        *s = s.replace(path.as_str(), "<env-file>");
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = report.clone();
    walk(&mut out, env_files);
    out
}

#[test]
fn every_fixture_bundled_live_analyzes_to_the_same_report() {
    for name in fixture_names() {
        if dns_zones(&fixture(&name)).is_some() && !named::available() {
            eprintln!("SKIP bundle of fixtures/{name}: it needs named to serve its DNS zone");
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("bundle.tar.gz");
        let _server;
        let kubeconfig = if name == "api-unreachable" {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let kc = tmp.path().join("kubeconfig");
            std::fs::write(&kc, unreachable_kubeconfig(port)).unwrap();
            std::fs::set_permissions(&kc, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            kc
        } else {
            _server = FixtureServer::start(&fixture(&name), ServerOptions::default()).unwrap();
            _server.kubeconfig_path().to_path_buf()
        };
        let live = live_run(&name, &kubeconfig, tmp.path(), Keep::Bundle(&file));
        assert_eq!(
            statuses(&live),
            live_expected(&name),
            "live bundle of fixtures/{name}"
        );
        // analyze unpacks into a temporary directory of its own: its config.env path is the one cited.
        let replayed = analyze(&file, tmp.path());
        let env_paths = |r: &Value| -> Vec<String> {
            let mut paths = vec![fixture(&name).join("config.env").display().to_string()];
            let text = r.to_string();
            for (i, _) in text.match_indices("/mcp-doctor-bundle/config.env") {
                let start = text[..i].rfind(['"', ' ', '(']).map_or(0, |s| s + 1);
                paths.push(text[start..i + "/mcp-doctor-bundle/config.env".len()].to_string());
            }
            paths
        };
        let (mut a, mut b) = (
            comparable(&live, &env_paths(&live)),
            comparable(&replayed, &env_paths(&replayed)),
        );
        // A source this build has no live side for answers "not configured" live and records nothing; its
        // replay says "not collected": both skip, with different reasons.
        let unconfigured: Vec<String> = messages(&live)
            .into_iter()
            .filter(|(_, (status, message))| status == "skip" && message.contains("in this build"))
            .map(|(id, _)| id)
            .collect();
        for report in [&mut a, &mut b] {
            for check in report["checks"].as_array_mut().unwrap() {
                if unconfigured.iter().any(|id| check["id"] == id.as_str()) {
                    check
                        .as_object_mut()
                        .unwrap()
                        .retain(|k, _| k == "id" || k == "status");
                }
            }
        }
        let (checks_a, checks_b) = (
            a["checks"].as_array().unwrap(),
            b["checks"].as_array().unwrap(),
        );
        for (x, y) in checks_a.iter().zip(checks_b) {
            assert_eq!(
                y, x,
                "analyze of the bundle of fixtures/{name}, check {}",
                x["id"]
            );
        }
        assert_eq!(b, a, "analyze of the bundle of fixtures/{name}");
    }
}

/// What a live run against the fixture API server should conclude. DNS and HTTP evidence a fixture holds
/// was recorded from the network, which a live run here does not reach (the http01 peers test in
/// `checks/tests/http01_peers.rs` is their live side): the checks built on it skip instead.
fn live_expected(name: &str) -> BTreeMap<String, String> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(name).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let collected = |what: &str| {
        manifest["collected"]
            .as_array()
            .is_some_and(|c| c.iter().any(|s| s == what))
    };
    // Answers recorded from the network are not served live: HTTP probes are off in tests, and DNS is
    // served live only for a scenario that ships its zones (`dns/*.zone`).
    let http_recorded = collected("http");
    let dns_recorded = collected("dns") && dns_zones(&fixture(name)).is_none();
    let mut want = expected(name);
    for (id, status) in want.iter_mut() {
        let network_dns = id.starts_with("dns.") && id != "dns.hosts-config";
        let http_probing = id.starts_with("http01.") || HTTP_PROBING_CHECKS.contains(&id.as_str());
        if (http_recorded && http_probing) || (dns_recorded && network_dns) {
            *status = "skip".into();
        }
    }
    want
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

/// The front-door scenarios (issue 15): each report names exactly one root cause, with the remediation,
/// the subjects (nodes, pods, Services) involved, and the exact fix in the remediation text.
#[test]
fn front_door_fixtures_name_one_root_cause_with_its_fix() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "k3s-svclb-no-enablelb-label",
            "rem.svclb-pin-ingress-node",
            &[
                "node/mcp-ingress-1",
                "node/mcp-cp-1",
                "node/mcp-worker-1",
                "node/mcp-worker-2",
            ],
            "kubectl label node mcp-ingress-1 svccontroller.k3s.cattle.io/enablelb=true ingress.mcpruntime.org/public=true node-role.mcpruntime.org/public-ingress=true --overwrite",
        ),
        (
            "k3s-svclb-two-labelled-nodes",
            "rem.svclb-pin-ingress-node",
            &["node/mcp-ingress-1", "node/mcp-worker-3"],
            "kubectl label node mcp-worker-3 svccontroller.k3s.cattle.io/enablelb-",
        ),
        (
            "k3s-svclb-host-port-conflict",
            "rem.svclb-host-port",
            &[
                "node/mcp-ingress-1",
                "pod/kube-system/svclb-traefik-4c5e2f1a-lz6tk",
                "pod/docs/nginx-docs-7d9c5b8f6-k2x9q",
            ],
            "kubectl -n docs get pod nginx-docs-7d9c5b8f6-k2x9q -o wide",
        ),
        (
            "k3s-servicelb-disabled",
            "rem.servicelb-disabled",
            &["node/mcp-cp-1"],
            "runs with --disable servicelb",
        ),
        (
            "k3s-two-traefik-stacks",
            "rem.traefik-single-stack",
            &[
                "deployment/kube-system/traefik",
                "deployment/traefik/traefik",
            ],
            "kubectl -n traefik scale deployment traefik --replicas=0",
        ),
        (
            "k3s-traefik-web-on-8000",
            "rem.traefik-entrypoints",
            &["service/kube-system/traefik"],
            "kind: HelmChartConfig",
        ),
        (
            "k3s-ingressclass-missing",
            "rem.traefik-ingressclass",
            &["ingressclass/traefik"],
            "controller: traefik.io/ingress-controller",
        ),
        (
            "kind-pending-lb",
            "rem.lb-pending-local",
            &["service/traefik/traefik"],
            "extraPortMappings",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, remediation, subjects, fix) in cases {
        let report = analyze(&fixture(name), tmp.path());
        let causes = report["root_causes"].as_array().unwrap();
        assert_eq!(causes.len(), 1, "fixtures/{name}: {causes:#?}");
        let cause = &causes[0];
        assert_eq!(cause["remediation"], *remediation, "fixtures/{name}");
        let got: Vec<&str> = cause["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(&got, subjects, "fixtures/{name}");
        let first = cause["checks"][0].as_str().unwrap();
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == first)
            .unwrap();
        let text = check["remediation"]["text"].as_str().unwrap();
        assert!(text.contains(fix), "fixtures/{name}: {text}");
    }
}

/// The registry scenarios name the node, the image host and the missing or wrong entry, and carry the
/// registries.yaml snippet that fixes them.
#[test]
fn registry_fixtures_name_the_node_the_host_and_the_fix() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "k3s-registry-node-missing-mirror",
            &["node/mcp-worker-2"],
            "node mcp-worker-2: registry.local:32000/mcp-servers/weather:0.3.2 would fail: failed to do request: \
             Head \"https://registry.local:32000/v2/mcp-servers/weather/manifests/0.3.2\": http: server gave HTTP \
             response to HTTPS client (no mirror entry for \"registry.local:32000\" in /etc/rancher/k3s/registries.yaml)",
        ),
        (
            "k3s-registry-mirror-key-scheme",
            &[
                "node/mcp-cp-1",
                "node/mcp-ingress-1",
                "node/mcp-worker-1",
                "node/mcp-worker-2",
            ],
            "the /etc/rancher/k3s/registries.yaml mirror key \"http://registry.local:32000\" is a URL: containerd \
             looks the registry up as \"registry.local:32000\", so it never matches",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, subjects, message) in cases {
        let report = analyze(&fixture(name), tmp.path());
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "containerd.mirror-match")
            .unwrap();
        assert_eq!(check["status"], "fail", "fixtures/{name}");
        let got = check["message"].as_str().unwrap();
        assert!(got.contains(message), "fixtures/{name}: {got}");
        let subj: Vec<&str> = check["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(&subj, subjects, "fixtures/{name}");
        let snippet = check["remediation"]["snippet"].as_str().unwrap();
        assert!(
            snippet.contains("mirrors:\n  \"registry.local:32000\":\n    endpoint:\n      - \"http://registry.local:32000\""),
            "fixtures/{name}: {snippet}"
        );
        assert!(snippet.contains("sudo systemctl restart k3s"), "{snippet}");
    }
}

/// The node registry scenarios: each check names the node, the image host and the wrong or missing entry,
/// prints the snippet that fixes it, and shares one root cause with the other checks that see the problem.
#[test]
fn node_registry_fixtures_name_the_cause_print_the_fix_and_share_one_root_cause() {
    struct Case {
        fixture: &'static str,
        check: &'static str,
        subjects: &'static [&'static str],
        message: &'static [&'static str],
        snippet: &'static [&'static str],
        cause_checks: &'static [&'static str],
    }
    let all_nodes: &[&str] = &[
        "node/mcp-cp-1",
        "node/mcp-ingress-1",
        "node/mcp-worker-1",
        "node/mcp-worker-2",
    ];
    let cases = [
        Case {
            fixture: "k3s-registry-node-missing-hosts-entry",
            check: "node.hosts-entry",
            subjects: &["node/mcp-worker-2"],
            message: &[
                "node mcp-worker-2 cannot resolve registry.local: its /etc/hosts has no registry.local line",
                "registry.local:32000/mcp-servers/weather:0.3.2",
            ],
            snippet: &["127.0.0.1 registry.local", "sudo systemctl restart k3s"],
            cause_checks: &[
                "node.hosts-entry",
                "containerd.mirror-match",
                "containerd.node-drift",
            ],
        },
        Case {
            fixture: "k3s-registry-node-missing-mirror",
            check: "containerd.node-drift",
            subjects: &["node/mcp-worker-2"],
            message: &[
                "mcp-worker-2 has no mirror for registry.local:32000; mcp-cp-1, mcp-ingress-1 and mcp-worker-1 have registry.local:32000 sent to http://registry.local:32000/v2",
            ],
            snippet: &[
                "  \"registry.local:32000\":\n    endpoint:\n      - \"http://registry.local:32000\"",
            ],
            cause_checks: &["containerd.mirror-match", "containerd.node-drift"],
        },
        Case {
            fixture: "k3s-registry-mirror-key-scheme",
            check: "containerd.config-valid",
            subjects: all_nodes,
            message: &[
                "node mcp-worker-2: /etc/rancher/k3s/registries.yaml key \"http://registry.local:32000\" is a URL",
            ],
            snippet: &[],
            cause_checks: &["containerd.config-valid", "containerd.mirror-match"],
        },
        Case {
            fixture: "k3s-registry-strict-prod-insecure",
            check: "containerd.insecure-in-prod",
            subjects: all_nodes,
            message: &[
                "node mcp-worker-2: /etc/rancher/k3s/registries.yaml mirrors \"registry.local:32000\" to plain HTTP http://registry.local:32000",
                "sets insecure_skip_verify for \"registry.local:32000\"",
                "/etc/hosts pins registry.local to 127.0.0.1",
            ],
            snippet: &[
                "- \"https://registry.local:32000\"",
                "ca_file: \"/usr/local/share/ca-certificates/mcp-runtime-ca.crt\"",
            ],
            cause_checks: &["containerd.insecure-in-prod"],
        },
        Case {
            fixture: "registry-bundled-https-untrusted-ca",
            check: "containerd.ca-trust",
            subjects: all_nodes,
            message: &[
                "node mcp-worker-1 does not trust mcp-runtime-ca (Secret registry/registry-internal-tls ca.crt, SHA-256 ",
                "for registry.registry.svc.cluster.local:5000",
                "x509: certificate signed by unknown authority",
            ],
            snippet: &[
                "\"registry.registry.svc.cluster.local:5000\":\n    tls:\n      ca_file: \"/usr/local/share/ca-certificates/mcp-runtime-ca.crt\"",
            ],
            cause_checks: &[
                "containerd.mirror-match",
                "containerd.ca-trust",
                "images.pull-failures",
            ],
        },
        Case {
            fixture: "platform-image-pull-causes",
            check: "images.pull-failures",
            subjects: &["node/mcp-worker-2"],
            message: &[
                "pod mcp-servers/weather-6c8f7d9b5-k2m4p on node mcp-worker-2: registry.local:32000/mcp-servers/weather:0.3.2",
                "http: server gave HTTP response to HTTPS client",
                "no mirror entry for \"registry.local:32000\" in /etc/rancher/k3s/registries.yaml",
                "registry.example.com/notes:1.4.0: the registry refused the node's credentials (401/403)",
                "10.43.12.34:5000/ticker:2.0.1: nothing listens at the registry address (connection refused)",
            ],
            snippet: &["  \"registry.local:32000\":\n    endpoint:"],
            cause_checks: &["containerd.node-drift", "images.pull-failures"],
        },
        Case {
            fixture: "platform-exec-format-arm64",
            check: "images.pull-failures",
            subjects: &["node/mcp-worker-2"],
            message: &[
                "pod mcp-sentinel/mcp-sentinel-api-5d8b9c7f6d-q2w9r on node mcp-worker-2: registry.example.com/mcp-sentinel-api:v0.9.2",
                "exec format error",
                "node mcp-worker-2 is arm64",
            ],
            snippet: &[],
            cause_checks: &["nodes.architecture", "images.pull-failures"],
        },
    ];
    let tmp = tempfile::tempdir().unwrap();
    for c in cases {
        let name = c.fixture;
        let report = analyze(&fixture(name), tmp.path());
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == c.check)
            .unwrap();
        assert_eq!(check["status"], "fail", "fixtures/{name} {}", c.check);
        let got = check["message"].as_str().unwrap();
        for needle in c.message {
            assert!(
                got.contains(needle),
                "fixtures/{name}: {needle:?} not in {got}"
            );
        }
        let subj: Vec<&str> = check["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(subj, c.subjects, "fixtures/{name}");
        let snippet = check["remediation"]["snippet"].as_str().unwrap_or("");
        for needle in c.snippet {
            assert!(
                snippet.contains(needle),
                "fixtures/{name}: {needle:?} not in {snippet}"
            );
        }
        let remediation = check["remediation"]["id"].as_str().unwrap();
        let causes: Vec<&Value> = report["root_causes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["checks"].as_array().unwrap().iter().any(|x| x == c.check))
            .collect();
        assert_eq!(causes.len(), 1, "fixtures/{name}: {causes:#?}");
        assert_eq!(causes[0]["remediation"], remediation, "fixtures/{name}");
        let checks: Vec<&str> = causes[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(checks, c.cause_checks, "fixtures/{name}");
    }
}
