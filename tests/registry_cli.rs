//! `mcp-doctor doctor` (the binary) with the registry checks live end to end: the fixture API server plays the
//! cluster of `fixtures/platform-healthy`, Debian's `docker-registry` plays the bundled registry over HTTPS
//! (a certificate from a CA the test generates), and nginx plays the public front door with the admin guard
//! (401 without `x-api-key`, the registry behind it with the key).
//!
//! The run uses `--registry-url` and `--tls-connect` so every probe goes to 127.0.0.1, and passes the admin
//! key in `MCP_ADMIN_API_KEY`. Then: every registry check passes, the key appears nowhere in the recording
//! (`config.env` masks it, the journal keys the authenticated probe without it), and `analyze` of the
//! recording gives the same verdicts and messages. The peers (`mcp-doctor-test-peers`) are stopped by PID;
//! without them the test is skipped, except under `CI`, where it fails.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use mcp_doctor_test_peers::{self as peers, Registry, issue_tls, self_signed};
use serde_json::Value;

const KEY: &str = "k-registry-cli-admin";
const CHECKS: &str = "cluster.api-reachable,registry.mode,registry.service,registry.reachable,\
                      registry.public-route,registry.ingress-hosts,registry.pull-secrets";

fn checks_of(report: &Value) -> BTreeMap<String, (String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
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

fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap_or_default(),
            ));
        }
    }
    out
}

#[test]
fn registry_checks_pass_live_keep_the_key_out_of_the_recording_and_replay() {
    let Some([nginx_bin, registry_bin]) = peers::require(
        "registry_checks_pass_live_keep_the_key_out_of_the_recording_and_replay",
        ["nginx", "docker-registry"],
        None,
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The internal CA's certificate (service DNS name and 127.0.0.1) for the registry, as setup's
    // mcp-runtime-ca would issue it; a self-signed one for the public front door.
    let internal = issue_tls(dir, &["registry.registry.svc.cluster.local", "127.0.0.1"]);
    self_signed(dir, "public", &["registry.example.com"]);

    let registry_port = peers::free_port();
    let _registry = Registry {
        name: "docker-registry",
        addr: SocketAddr::from(([127, 0, 0, 1], registry_port)),
        storage: &dir.join("data"),
        tls: Some(&internal),
        htpasswd: false,
    }
    .start(&registry_bin, dir)
    .unwrap_or_else(|e| panic!("{e}"));

    let door_port = peers::free_port();
    let d = dir.display();
    let guard = format!(
        r#"server {{ listen 127.0.0.1:{door_port} ssl; ssl_certificate {d}/public.crt; ssl_certificate_key {d}/public.key;
        location / {{
            default_type "text/plain; charset=utf-8";
            if ($http_x_api_key != "{KEY}") {{ return 401 "401 Unauthorized\n"; }}
            proxy_pass https://127.0.0.1:{registry_port}; proxy_ssl_verify off;
        }} }}"#
    );
    let nginx_dir = dir.join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let door: SocketAddr = format!("127.0.0.1:{door_port}").parse().unwrap();
    let _nginx = peers::start_nginx(&nginx_bin, &nginx_dir, &guard, &[door]);

    let api = FixtureServer::start(&fixture("platform-healthy"), ServerOptions::default()).unwrap();
    let record = dir.join("recording");
    let out = mcp_doctor(dir)
        // Probes go to 127.0.0.1 only: --registry-url and --tls-connect pin them.
        .env_remove("MCP_DOCTOR_HTTP_PROBE")
        .env("MCP_ADMIN_API_KEY", KEY)
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(api.kubeconfig_path())
        .arg("--env-file")
        .arg(fixture("platform-healthy").join("config.env"))
        .args([
            "--registry-url",
            &format!("https://127.0.0.1:{registry_port}"),
            "--tls-connect",
            &format!("127.0.0.1:{door_port}"),
            "--only",
            CHECKS,
            "--format",
            "json",
            "--record",
        ])
        .arg(&record)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let live = checks_of(&valid_report(&stdout));
    for (id, (status, message)) in &live {
        assert_eq!(status, "pass", "{id}: {message}\n{live:#?}");
    }
    assert!(
        live["registry.public-route"].1.contains(
            "200 with docker-distribution-api-version: registry/2.0 with the admin API key"
        ),
        "{live:#?}"
    );
    assert!(
        live["registry.reachable"].1.contains(&format!(
            "https://127.0.0.1:{registry_port}/v2/ answers 200 over HTTPS"
        )),
        "{live:#?}"
    );
    assert!(!stdout.contains(KEY), "the key reached the report");

    let recorded = files_under(&record);
    for (path, text) in &recorded {
        assert!(!text.contains(KEY), "the key reached {path}");
    }
    let config_env = std::fs::read_to_string(record.join("config.env")).unwrap();
    assert!(
        config_env
            .lines()
            .any(|l| l.starts_with("MCP_ADMIN_API_KEY=") && !l.ends_with(KEY)),
        "{config_env}"
    );
    assert!(
        recorded
            .iter()
            .any(|(p, _)| p.ends_with("_with_x-api-key.json")),
        "no authenticated probe recorded: {:?}",
        recorded.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );

    let out = mcp_doctor(dir)
        .arg("analyze")
        .arg(&record)
        .args(["--format", "json"])
        .output()
        .unwrap();
    // analyze judges every check; those the live run selected must come back the same.
    let replayed: BTreeMap<_, _> = checks_of(&valid_report(&String::from_utf8_lossy(&out.stdout)))
        .into_iter()
        .filter(|(id, _)| live.contains_key(id))
        .collect();
    assert_eq!(replayed, live, "analyze of the recording");
}
