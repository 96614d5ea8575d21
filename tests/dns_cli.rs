//! `preflight` with `--dns-server` and `--front-door` against a real BIND on a loopback port (the zones of
//! `tests/dns/zones/`) and the fixture API server (an ingress node with ExternalIP 45.79.0.10): each broken
//! front door gives its one root cause, and `--record` then `analyze` replays the same verdicts and messages.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use mcp_doctor_test_peers::named;
use serde_json::Value;

const DNS_CHECKS: &str = "dns.hosts-config,dns.resolve,dns.points-at-ingress,dns.consistent,dns.reserved-address,dns.caa,cluster.api-reachable";

fn zones() -> std::path::PathBuf {
    workspace().join("tests/dns/zones")
}

struct Peers {
    named: named::Named,
    api: FixtureServer,
}

fn peers() -> Option<Peers> {
    let named = named::start(&zones())?;
    let api = FixtureServer::start(
        &fixture("k3s-dns-registry-elsewhere"),
        ServerOptions::default(),
    )
    .unwrap();
    Some(Peers { named, api })
}

/// `preflight` for the hosts of `domain`, the system view and `--dns-server` both at named.
fn preflight(
    p: &Peers,
    tmp: &Path,
    domain: &str,
    extra: &[&str],
    record: Option<&Path>,
) -> (Value, String) {
    let mut cmd = mcp_doctor(tmp);
    cmd.env("MCP_DOCTOR_SYSTEM_DNS", p.named.server())
        .env("MCP_PLATFORM_DOMAIN", domain)
        .arg("preflight")
        .arg("--kubeconfig")
        .arg(p.api.kubeconfig_path())
        .args(["--only", DNS_CHECKS, "--dns-server", &p.named.server()])
        .args(extra);
    let json = tmp.join(format!("{domain}.json"));
    cmd.arg("--json").arg(&json);
    if let Some(dir) = record {
        cmd.arg("--record").arg(dir);
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "preflight {domain}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = valid_report(&std::fs::read_to_string(&json).unwrap());
    (report, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn messages(report: &Value) -> BTreeMap<String, (String, String)> {
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

fn root_causes(report: &Value) -> Vec<Value> {
    report["root_causes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn each_broken_front_door_names_one_root_cause_and_replays_the_same() {
    let Some(p) = peers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let acme = ["--acme-email", "ops@example.com"];
    let internal_acme = [
        "--front-door",
        "internal",
        "--acme-email",
        "ops@example.com",
    ];
    // (domain, flags, check that fails or warns, its status, words of its message)
    let cases: &[(&str, &[&str], &str, &str, &str)] = &[
        (
            "nx.test",
            &acme,
            "dns.resolve",
            "fail",
            "registry.nx.test does not exist (NXDOMAIN",
        ),
        ("sf.test", &acme, "dns.resolve", "fail", "answered SERVFAIL"),
        (
            "dangling.test",
            &acme,
            "dns.resolve",
            "fail",
            "a dangling CNAME",
        ),
        (
            "stray.test",
            &acme,
            "dns.points-at-ingress",
            "fail",
            "registry.stray.test resolves to 45.79.0.99",
        ),
        (
            "ok.test",
            &["--front-door", "proxy"],
            "dns.points-at-ingress",
            "fail",
            "clients bypass the proxy",
        ),
        (
            "rfc1918.test",
            &internal_acme,
            "dns.reserved-address",
            "fail",
            "RFC 1918",
        ),
        (
            "cgnat.test",
            &internal_acme,
            "dns.reserved-address",
            "fail",
            "carrier-grade NAT",
        ),
        (
            "caa-deny.test",
            &acme,
            "dns.caa",
            "fail",
            "allows only sectigo.com",
        ),
    ];
    for (domain, flags, id, status, words) in cases {
        let (report, table) = preflight(&p, tmp.path(), domain, flags, None);
        let m = messages(&report);
        let (got, message) = &m[*id];
        println!("{domain} {flags:?}\n{table}\n");
        assert_eq!(got, status, "{domain}: {id}: {message}");
        assert!(message.contains(words), "{domain}: {message}");
        let causes = root_causes(&report);
        assert_eq!(
            causes.len(),
            1,
            "{domain}: one root cause expected: {causes:#?}"
        );
    }
    // Healthy: direct to the ingress node, and behind a proxy.
    let (report, _) = preflight(&p, tmp.path(), "ok.test", &acme, None);
    assert!(
        messages(&report).values().all(|(s, _)| s == "pass"),
        "{:#?}",
        messages(&report)
    );
    let (report, _) = preflight(
        &p,
        tmp.path(),
        "proxied.test",
        &["--front-door", "proxy"],
        None,
    );
    assert_eq!(messages(&report)["dns.points-at-ingress"].0, "pass");
}

#[test]
fn record_then_analyze_gives_the_same_dns_verdicts() {
    let Some(p) = peers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (domain, flags) in [
        ("stray.test", vec!["--acme-email", "ops@example.com"]),
        ("proxied.test", vec!["--front-door", "proxy"]),
        ("sf.test", vec!["--acme-email", "ops@example.com"]),
    ] {
        let rec = tmp.path().join(format!("rec-{domain}"));
        let (live, _) = preflight(&p, tmp.path(), domain, &flags, Some(&rec));
        assert!(
            rec.join("evidence/dns").is_dir(),
            "the DNS answers are journaled"
        );
        let config = std::fs::read_to_string(rec.join("config.env")).unwrap();
        assert!(config.contains("MCP_DOCTOR_DNS_SERVERS="), "{config}");
        let out = mcp_doctor(tmp.path())
            .arg("analyze")
            .arg(&rec)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let replayed = valid_report(&String::from_utf8_lossy(&out.stdout));
        let dns_only =
            |m: BTreeMap<String, (String, String)>| -> BTreeMap<String, (String, String)> {
                m.into_iter()
                    .filter(|(id, _)| id.starts_with("dns."))
                    .collect()
            };
        let live = dns_only(messages(&live));
        // The live run selected these checks; `analyze` runs every check.
        let replayed: BTreeMap<String, (String, String)> = dns_only(messages(&replayed))
            .into_iter()
            .filter(|(id, _)| live.contains_key(id))
            .collect();
        assert_eq!(replayed, live, "{domain}");
    }
}

#[test]
fn help_teaches_the_front_door_flags_and_bad_servers_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mcp_doctor(tmp.path())
        .args(["preflight", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for words in [
        "--front-door",
        "--dns-server",
        "proxy",
        "internal",
        "MCP_DOCTOR_FRONT_DOOR",
    ] {
        assert!(help.contains(words), "{words} missing from:\n{help}");
    }
    let out = mcp_doctor(tmp.path())
        .args(["preflight", "--dns-server", "dns.example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an IP address"));
    let out = mcp_doctor(tmp.path())
        .args([
            "config",
            "--front-door",
            "proxy",
            "--dns-server",
            "192.0.2.53:5353",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--front-door") && text.contains("proxy") && text.contains("192.0.2.53:5353"),
        "{text}"
    );
}
