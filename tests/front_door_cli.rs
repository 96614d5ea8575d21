//! `mcp-doctor preflight` (the binary) with live DNS and live HTTP probes together: a real BIND serves a zone
//! whose platform/registry/mcp hosts resolve to loopback addresses, nginx plays the front doors on port 80
//! of those addresses, and the fixture API server (`fixtures/k3s-4node-healthy`) plays the cluster.
//!
//! - healthy: every host answers Traefik's plain `404 page not found`, so the http01 checks pass;
//! - each broken front door (basic auth answering 401; a redirect to port 8080) breaks only the registry
//!   host: `http01.challenge-path` fails, the report has exactly one root cause naming that host, and the
//!   message names the address and the hop;
//! - `--record DIR` then `analyze DIR` replays the same verdicts and messages.
//!
//! Everything stays on 127.0.0.0/8: the zone names only 127.0.0.x, the system resolver of the run is BIND
//! (`MCP_DOCTOR_SYSTEM_DNS`), and this is the one CLI test that turns the HTTP probe back on. nginx runs as a
//! single process (`mcp-doctor-test-peers`, shared with `checks/tests/http01_peers.rs`) from a temporary
//! directory and is stopped by its PID. Port 80 needs root. Without named, nginx or root the test is
//! skipped with a message, except under `CI`, where it fails.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use common::*;
use mcp_doctor_test_peers::TRAEFIK_404;
use serde_json::Value;

const CHECKS: &str = "dns.resolve,http01.reachable,http01.challenge-path";
const HTTP01: [&str; 2] = ["http01.reachable", "http01.challenge-path"];
const ZONE: &str = "doors.test";
/// Traefik's plain 404: routed to the ingress, no solver for the probe token.
const HEALTHY_IP: &str = "127.0.0.201";
/// Basic auth in front of the challenge path.
const AUTH_IP: &str = "127.0.0.202";
/// A redirect of the challenge path to port 8080.
const REDIRECT_IP: &str = "127.0.0.203";

/// (sub-domain, address of its registry host); platform and mcp are always at the healthy door.
const CASES: [(&str, &str); 3] = [
    ("ok", HEALTHY_IP),
    ("auth", AUTH_IP),
    ("redirect", REDIRECT_IP),
];

fn zone_text() -> String {
    let mut z = format!(
        "$TTL 60\n@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. ( 1 60 60 600 60 )\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n"
    );
    for (sub, registry) in CASES {
        z.push_str(&format!(
            "platform.{sub} IN A {HEALTHY_IP}\nregistry.{sub} IN A {registry}\nmcp.{sub} IN A {HEALTHY_IP}\n"
        ));
    }
    z
}

/// nginx playing the three front doors: Traefik's plain 404, basic auth, and a redirect to port 8080.
fn peers() -> Option<FrontDoorLab> {
    let servers = format!(
        r#"server {{ listen {HEALTHY_IP}:80; location / {{ {TRAEFIK_404} }} }}
    server {{ listen {AUTH_IP}:80; location / {{ auth_basic "registry"; auth_basic_user_file {{dir}}/htpasswd; root {{dir}}/www; }} }}
    server {{ listen {REDIRECT_IP}:80; return 301 http://$host:8080$request_uri; }}"#
    );
    let listening: Vec<SocketAddr> = [HEALTHY_IP, AUTH_IP, REDIRECT_IP]
        .iter()
        .map(|ip| format!("{ip}:80").parse().unwrap())
        .collect();
    front_door_lab(
        "the front-door test",
        ZONE,
        &zone_text(),
        &[("htpasswd", "ops:{PLAIN}secret\n")],
        &servers,
        &listening,
        "k3s-4node-healthy",
    )
}

/// id -> (status, message)
fn messages(report: &Value) -> BTreeMap<String, (String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| CHECKS.split(',').any(|id| c["id"] == id))
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn root_causes(report: &Value) -> Vec<Value> {
    report["root_causes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `preflight` for `<sub>.doors.test` with live DNS (BIND) and live HTTP probes, recorded into `rec`.
fn preflight(p: &FrontDoorLab, tmp: &Path, sub: &str, rec: &Path) -> Value {
    let env_file = tmp.join(format!("{sub}.env"));
    std::fs::write(
        &env_file,
        format!(
            "MCP_PLATFORM_DOMAIN={sub}.{ZONE}\nMCP_PLATFORM_MODE=public\nMCP_SETUP_WITH_TLS=true\n\
             MCP_ACME_EMAIL=ops@example.com\nMCP_SETUP_REGISTRY_MODE=bundled-https\nMCP_SETUP_INGRESS=none\n\
             PLATFORM_TRAEFIK_NAMESPACE=kube-system\n"
        ),
    )
    .unwrap();
    let out = mcp_doctor(tmp)
        // The one CLI test that probes HTTP, and only 127.0.0.x (the zone names nothing else).
        .env_remove("MCP_DOCTOR_HTTP_PROBE")
        .env("MCP_DOCTOR_SYSTEM_DNS", p.named.server())
        .arg("preflight")
        .arg("--kubeconfig")
        .arg(p.api.kubeconfig_path())
        .arg("--env-file")
        .arg(&env_file)
        .args(["--only", CHECKS, "--format", "json", "--record"])
        .arg(rec)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "preflight {sub}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

fn analyze(tmp: &Path, rec: &Path) -> Value {
    let out = mcp_doctor(tmp)
        .arg("analyze")
        .arg(rec)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "analyze {}: {:?}\n{}",
        rec.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    valid_report(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn each_broken_front_door_names_one_root_cause_with_its_address_and_hop() {
    let Some(p) = peers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (sub, registry_ip) in CASES {
        let rec = tmp.path().join(format!("rec-{sub}"));
        let live = preflight(&p, tmp.path(), sub, &rec);
        let m = messages(&live);
        let causes = root_causes(&live);
        println!("{sub}: {m:#?}\nroot causes: {causes:#?}\n");
        assert_eq!(
            m.keys().map(String::as_str).collect::<Vec<_>>(),
            {
                let mut ids: Vec<&str> = CHECKS.split(',').collect();
                ids.sort();
                ids
            },
            "{sub}: the selected checks ran"
        );
        assert_eq!(m["dns.resolve"].0, "pass", "{sub}: {m:#?}");
        let registry = format!("registry.{sub}.{ZONE}");
        if sub == "ok" {
            for id in HTTP01 {
                assert_eq!(m[id].0, "pass", "{sub}: {id}: {}", m[id].1);
            }
            assert!(causes.is_empty(), "{sub}: {causes:#?}");
        } else {
            assert_eq!(m["http01.reachable"].0, "pass", "{sub}: {m:#?}");
            let (status, message) = &m["http01.challenge-path"];
            assert_eq!(status, "fail", "{sub}: {message}");
            let words: Vec<String> = match sub {
                "auth" => vec!["answered 401".into(), "authentication is required".into()],
                _ => vec![
                    "on port 8080".into(),
                    format!("(hops: http://{registry}/.well-known/acme-challenge/"),
                    format!("redirects to http://{registry}:8080/"),
                ],
            };
            assert!(
                message.starts_with(&format!("{registry} from {registry_ip} (A): ")),
                "{sub}: the host and its address: {message}"
            );
            for w in words {
                assert!(
                    message.contains(w.as_str()),
                    "{sub}: {w:?} missing from: {message}"
                );
            }
            assert_eq!(causes.len(), 1, "{sub}: one root cause: {causes:#?}");
            assert_eq!(
                causes[0]["subjects"],
                serde_json::json!([format!("host/{registry}")]),
                "{sub}: {causes:#?}"
            );
            assert!(
                causes[0]["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == "http01.challenge-path"),
                "{sub}: {causes:#?}"
            );
        }

        // Replayed from the recording: the same verdicts and messages, and the same root causes.
        assert!(rec.join("evidence").is_dir(), "{sub}: nothing journaled");
        let replayed = analyze(tmp.path(), &rec);
        assert_eq!(messages(&replayed), m, "{sub}: replayed");
        let ours = |causes: Vec<Value>| -> Vec<Value> {
            causes
                .into_iter()
                .filter(|c| {
                    c["checks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|id| CHECKS.split(',').any(|x| id == x))
                })
                .collect()
        };
        assert_eq!(
            ours(root_causes(&replayed)),
            causes,
            "{sub}: replayed root causes"
        );
    }
}
