//! `mcp-doctor doctor --only platform.public-endpoints` (the binary) against real peers: a real BIND serves a
//! zone whose `platform.<sub>` and `mcp.<sub>` hosts resolve to loopback addresses, nginx plays the platform
//! front door on port 80 of each (healthy, and broken the ways the seed's troubleshooting table lists), and
//! the fixture API server (`fixtures/platform-healthy`, MCPServer `weather`) plays the cluster.
//!
//! - healthy: `/` 200, `/api/health` 401, `/grafana/api/health` 401 without and 200 with the admin key (from
//!   `MCP_ADMIN_API_KEY`, or `--api-key`), `mcp.<sub>/weather/mcp` 400: pass; a wrong key fails as rejected;
//! - Traefik's `404 page not found`, a 502, a proxy's HTML page, and Grafana open without a key each fail
//!   with a message naming the host, the path and what answered;
//! - every run is recorded and `analyze` of the recording gives the same verdict and message; the key never
//!   appears in the recording, the report or the output.
//!
//! Everything stays on 127.0.0.0/8 (the zone names only 127.0.0.x). Without named, nginx or root the test
//! is skipped with a message, except under `CI`, where it fails.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::*;
use mcp_doctor_test_peers::TRAEFIK_404;
use serde_json::Value;

const ZONE: &str = "endpoints.test";
const ID: &str = "platform.public-endpoints";
const KEY: &str = "s3cret-admin-key-7f1c";

/// (sub-domain, address, the nginx `location`s of that front door).
fn doors() -> Vec<(&'static str, &'static str, String)> {
    let root = r#"location = / { default_type text/html; return 200 "<html><head><title>MCP Platform</title></head></html>"; }"#;
    let api = r#"location = /api/health { default_type application/json; return 401 '{"error":"unauthorized"}'; }"#;
    let grafana = format!(
        r#"location = /grafana/api/health {{ if ($http_x_api_key = "{KEY}") {{ return 200 '{{"database":"ok"}}'; }} return 401 "401 Unauthorized\n"; }}"#
    );
    let mcp =
        r#"location = /weather/mcp { return 400 "Bad Request: No valid session ID provided\n"; }"#;
    let traefik = format!("location / {{ {TRAEFIK_404} }}");
    let healthy = format!("{root} {api} {grafana} {mcp} {traefik}");
    vec![
        ("ok", "127.0.0.221", healthy.clone()),
        // Only platform.nomcp has an address (see `zone_text`).
        ("nomcp", "127.0.0.226", healthy.clone()),
        ("noroute", "127.0.0.222", format!("{root} {grafana} {mcp} {traefik}")),
        (
            "badgateway",
            "127.0.0.223",
            format!(
                r#"{root} location = /api/health {{ return 502 "Bad Gateway"; }} {grafana} {mcp} {traefik}"#
            ),
        ),
        (
            "proxypage",
            "127.0.0.224",
            r#"location / { default_type text/html; return 403 "<html><head><title>Access Denied</title></head><body>Your request was blocked by the corporate proxy.</body></html>"; }"#.to_string(),
        ),
        (
            "open",
            "127.0.0.225",
            format!(
                r#"{root} {api} location = /grafana/api/health {{ return 200 '{{"database":"ok"}}'; }} {mcp} {traefik}"#
            ),
        ),
    ]
}

fn zone_text() -> String {
    let mut z = format!(
        "$TTL 60\n@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. ( 1 60 60 600 60 )\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n"
    );
    for (sub, ip, _) in doors() {
        z.push_str(&format!("platform.{sub} IN A {ip}\n"));
        if sub != "nomcp" {
            z.push_str(&format!("mcp.{sub} IN A {ip}\n"));
        }
    }
    z
}

fn peers() -> Option<FrontDoorLab> {
    let servers: String = doors()
        .iter()
        .map(|(_, ip, locations)| format!("server {{ listen {ip}:80; {locations} }}\n"))
        .collect();
    let listening: Vec<SocketAddr> = doors()
        .iter()
        .map(|(_, ip, _)| format!("{ip}:80").parse().unwrap())
        .collect();
    front_door_lab(
        "the platform endpoints test",
        ZONE,
        &zone_text(),
        &[],
        &servers,
        &listening,
        "platform-healthy",
    )
}

/// How the key is given to a run.
#[derive(Clone, Copy)]
enum Key<'a> {
    None,
    Env(&'a str),
    Flag(&'a str),
}

/// `doctor` for `<sub>.endpoints.test`, recorded into `rec`: (status, message, whole stdout+stderr).
fn doctor(
    p: &FrontDoorLab,
    tmp: &Path,
    sub: &str,
    key: Key,
    rec: &Path,
) -> (String, String, String) {
    let mut cmd = mcp_doctor(tmp);
    // HTTP probes only toward 127.0.0.x: the zone names nothing else.
    cmd.env_remove("MCP_DOCTOR_HTTP_PROBE")
        .env("MCP_DOCTOR_SYSTEM_DNS", p.named.server())
        .env("MCP_PLATFORM_DOMAIN", format!("{sub}.{ZONE}"))
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(p.api.kubeconfig_path())
        .args(["--only", &format!("platform.namespaces,{ID}")])
        .args(["--format", "json", "--record"])
        .arg(rec);
    match key {
        Key::None => {}
        Key::Env(k) => {
            cmd.env("MCP_ADMIN_API_KEY", k);
        }
        Key::Flag(k) => {
            cmd.args(["--api-key", k]);
        }
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "doctor {sub}: {:?}\n{stderr}",
        out.status
    );
    let (status, message) = verdict(&valid_report(&stdout));
    (status, message, format!("{stdout}\n{stderr}"))
}

fn verdict(report: &Value) -> (String, String) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == ID)
        .expect("the check ran");
    (
        c["status"].as_str().unwrap().to_string(),
        c["message"].as_str().unwrap().to_string(),
    )
}

fn analyze(tmp: &Path, rec: &Path) -> (String, String) {
    let out = mcp_doctor(tmp)
        .arg("analyze")
        .arg(rec)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "analyze: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    verdict(&valid_report(&String::from_utf8_lossy(&out.stdout)))
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&all_text(&p));
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn each_front_door_gets_the_seeds_verdict_live_and_replayed_and_the_key_stays_out() {
    let Some(p) = peers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Key, &str, Vec<&str>)> = vec![
        (
            "ok",
            Key::Env(KEY),
            "pass",
            vec![
                "http://platform.ok.endpoints.test/ 200",
                "/api/health 401",
                "/grafana/api/health 401",
                "/grafana/api/health with x-api-key 200",
                "http://mcp.ok.endpoints.test/weather/mcp 400",
            ],
        ),
        (
            "ok",
            Key::None,
            "pass",
            vec!["with a key not asked (no --api-key / MCP_ADMIN_API_KEY)"],
        ),
        (
            "ok",
            Key::Flag("not-the-admin-key"),
            "fail",
            vec![
                "http://platform.ok.endpoints.test/grafana/api/health with x-api-key (via 127.0.0.221) answered 401 with the API key",
            ],
        ),
        (
            "nomcp",
            Key::Env(KEY),
            "warn",
            vec![
                "the MCP route was not asked: mcp.nomcp.endpoints.test has no address to ask",
                "http://platform.nomcp.endpoints.test/ 200",
            ],
        ),
        (
            "noroute",
            Key::Env(KEY),
            "fail",
            vec![
                "http://platform.noroute.endpoints.test/api/health (via 127.0.0.222) answered 404 \"404 page not found\": Traefik has no route",
            ],
        ),
        (
            "badgateway",
            Key::Env(KEY),
            "fail",
            vec![
                "http://platform.badgateway.endpoints.test/api/health (via 127.0.0.223) answered 502",
                "nothing healthy answers behind it",
            ],
        ),
        (
            "proxypage",
            Key::Env(KEY),
            "fail",
            vec![
                "http://platform.proxypage.endpoints.test/ (via 127.0.0.224) answered 403 with an HTML page \"Access Denied\"",
                "not the platform",
            ],
        ),
        (
            "open",
            Key::None,
            "fail",
            vec![
                "http://platform.open.endpoints.test/grafana/api/health (via 127.0.0.225) answered 200 without credentials",
                "sentinel-admin-auth@file",
            ],
        ),
    ];
    for (i, (sub, key, want, words)) in cases.into_iter().enumerate() {
        let rec = tmp.path().join(format!("rec-{i}-{sub}"));
        let (status, message, output) = doctor(&p, tmp.path(), sub, key, &rec);
        println!("{sub}: {status}: {message}");
        assert_eq!(status, want, "{sub}: {message}");
        for w in words {
            assert!(message.contains(w), "{sub}: {w:?} missing from: {message}");
        }
        // Replayed from the recording: the same verdict and message.
        assert_eq!(
            analyze(tmp.path(), &rec),
            (status, message.clone()),
            "{sub}: replayed"
        );
        // The key is a header only: not in the output, the report, the journal or the recorded config.
        let recorded = all_text(&rec);
        for secret in [KEY, "not-the-admin-key"] {
            assert!(!output.contains(secret), "{sub}: the key in the output");
            assert!(
                !recorded.contains(secret),
                "{sub}: the key in the recording"
            );
        }
        if let Key::Env(_) | Key::Flag(_) = key {
            assert!(
                recorded.contains("_with_x-api-key"),
                "{sub}: the keyed request is journaled under its own key"
            );
        }
    }
}
