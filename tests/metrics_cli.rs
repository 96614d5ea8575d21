//! Prometheus metrics: `--metrics FILE` passes `promtool check metrics` (Debian's `prometheus` package), and
//! a real Prometheus started here on a loopback port scrapes `mcp-doctor serve` (running against the fixture
//! API server) and answers the expected series through its query API. `serve` also survives an unreachable
//! API server and a run that outlives its timeout, and stops cleanly on SIGTERM.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fixture, mcp_doctor, mcp_doctor_process, statuses, valid_report};
use fixture_apiserver::{FixtureServer, ServerOptions};
use mcp_doctor_checks::Status;
use mcp_doctor_test_peers::{Peer, free_port, require};
use serde_json::Value;

const HEALTHY: &str = "platform-healthy";

/// `promtool check metrics` on `text`: Ok, or its complaints.
fn promtool_check(promtool: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // promtool exits 0 with lint findings printed; either is a failure here.
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(said)
    }
}

/// The sample value of `series` (its name and labels exactly as written) in `text`.
fn sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
}

#[test]
fn metrics_files_pass_promtool_and_hold_one_series_per_check_and_status() {
    let Some([promtool]) = require("metrics_files_pass_promtool", ["promtool"], None) else {
        return;
    };
    // A healthy platform, failing checks, and a cluster that cannot be reached.
    for scenario in [HEALTHY, "k3s-node-not-ready", "api-unreachable"] {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("mcp-doctor.prom");
        let out = mcp_doctor(tmp.path())
            .arg("analyze")
            .arg(fixture(scenario))
            .args(["--format", "json", "--metrics"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{scenario}");
        let report = valid_report(&String::from_utf8_lossy(&out.stdout));
        let text = std::fs::read_to_string(&file).unwrap();
        promtool_check(&promtool, &text).unwrap_or_else(|e| panic!("{scenario}: {e}\n{text}"));

        let got = statuses(&report);
        // Every status of the model, so one added later is covered too.
        let all_statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        for (id, status) in &got {
            for s in &all_statuses {
                let series = format!("mcp_doctor_check_status{{check=\"{id}\",status=\"{s}\"}}");
                let want = if s == status { "1" } else { "0" };
                assert_eq!(sample(&text, &series), Some(want), "{scenario}: {series}");
            }
        }
        let series = text
            .lines()
            .filter(|l| l.starts_with("mcp_doctor_check_status{"))
            .count();
        assert!(series >= got.len() * all_statuses.len(), "{scenario}");
        for s in &all_statuses {
            let count = got.values().filter(|v| v == s).count().to_string();
            let series = format!("mcp_doctor_checks{{status=\"{s}\"}}");
            assert_eq!(sample(&text, &series), Some(count.as_str()), "{scenario}");
        }
        assert_eq!(sample(&text, "mcp_doctor_last_run_success"), Some("1"));
        // Messages and subjects never become labels.
        for check in report["checks"].as_array().unwrap() {
            let message = check["message"].as_str().unwrap();
            assert!(!text.contains(message), "{scenario}: {message}");
        }
    }
}

/// `mcp-doctor serve` started as a peer against `kubeconfig`, listening on a free loopback port.
struct Serve {
    _peer: Peer,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn start_serve(kubeconfig: &Path, scenario: &str, extra: &[&str]) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let fixture_dir = fixture(scenario);
    let mut cmd = mcp_doctor_process(dir.path());
    cmd.arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--env-file")
        .arg(fixture_dir.join("config.env"))
        .arg("--host-facts")
        .arg(fixture_dir.join("host"))
        .args(extra);
    let mut peer = Peer::start("mcp-doctor serve", &mut cmd, &dir.path().join("serve.log"));
    peer.wait_listening(&[addr]).unwrap();
    Serve {
        _peer: peer,
        addr,
        _dir: dir,
    }
}

fn http_get(url: &str) -> (u16, String) {
    // reqwest is built without a TLS provider of its own: ring, as the binary uses. Err: already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .unwrap();
        let reply = client.get(url).send().await.unwrap();
        let code = reply.status().as_u16();
        (code, reply.text().await.unwrap())
    })
}

/// Polls `url` until `done` accepts its body (30 s at most).
fn poll(url: &str, what: &str, mut done: impl FnMut(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = http_get(url);
        if done(code, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {code} {body} from {url}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A real Prometheus scraping `target` every second, with its own config and storage in a temporary
/// directory, listening on a free loopback port; stopped by PID when dropped.
struct Prometheus {
    _peer: Peer,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn start_prometheus(binary: &Path, target: SocketAddr) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mcp-doctor\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let storage: PathBuf = dir.path().join("data");
    let mut cmd = Command::new(binary);
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", storage.display()))
        .arg(format!("--web.listen-address={addr}"))
        .current_dir(dir.path());
    let mut peer = Peer::start("prometheus", &mut cmd, &dir.path().join("prometheus.log"));
    peer.wait_listening(&[addr]).unwrap();
    Prometheus {
        _peer: peer,
        addr,
        _dir: dir,
    }
}

impl Prometheus {
    /// Polls an instant query until it returns at least one series; the series.
    fn query(&self, promql: &str) -> Vec<Value> {
        let url = format!(
            "http://{}/api/v1/query?query={}",
            self.addr,
            percent_encode(promql)
        );
        let body = poll(&url, promql, |code, body| {
            code == 200
                && serde_json::from_str::<Value>(body).is_ok_and(|v| {
                    v["data"]["result"]
                        .as_array()
                        .is_some_and(|r| !r.is_empty())
                })
        });
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{body}");
        v["data"]["result"].as_array().unwrap().clone()
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_serve_and_answers_each_checks_status() {
    let Some([prometheus]) = require("prometheus_scrapes_serve", ["prometheus"], None) else {
        return;
    };
    let api = FixtureServer::start(&fixture(HEALTHY), ServerOptions::default()).unwrap();
    let serve = start_serve(api.kubeconfig_path(), HEALTHY, &["--interval", "3s"]);
    let base = format!("http://{}", serve.addr);
    assert_eq!(http_get(&format!("{base}/healthz")), (200, "ok\n".into()));
    let text = poll(&format!("{base}/metrics"), "first run", |code, _| {
        code == 200
    });
    let prom = start_prometheus(&prometheus, serve.addr);

    let up = prom.query("up{job=\"mcp-doctor\"} == 1");
    assert_eq!(up.len(), 1, "{up:?}");
    // The per-check series, as Prometheus stored them, agree with what serve exposes.
    let series = prom.query("mcp_doctor_check_status{check=\"nodes.ready\"}");
    assert_eq!(
        series.len(),
        Status::ALL.len(),
        "one series per status: {series:?}"
    );
    for s in &series {
        let status = s["metric"]["status"].as_str().unwrap();
        let want = if status == "pass" { "1" } else { "0" };
        assert_eq!(s["value"][1], want, "{s}");
        assert_eq!(s["metric"]["check"], "nodes.ready");
    }
    let passing = prom.query("sum(mcp_doctor_check_status{status=\"pass\"})");
    let exposed = sample(&text, "mcp_doctor_checks{status=\"pass\"}").unwrap();
    assert_eq!(passing[0]["value"][1], exposed);
    let success = prom.query("mcp_doctor_last_run_success");
    assert_eq!(success[0]["value"][1], "1");
    let ran = prom.query("time() - mcp_doctor_last_run_timestamp_seconds < 60");
    assert_eq!(ran.len(), 1);
    drop(serve);
}

#[test]
fn serve_reports_an_unreachable_api_and_a_run_past_its_timeout_and_keeps_serving() {
    let Some([promtool]) = require("serve_reports_failures", ["promtool"], None) else {
        return;
    };
    // Nothing listens on this port: the run finishes with cluster.api-reachable failing.
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:{port}\n\
             contexts:\n- name: gone\n  context:\n    cluster: gone\n    user: gone\n\
             current-context: gone\nusers:\n- name: gone\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let serve = start_serve(&kubeconfig, HEALTHY, &["--interval", "1h"]);
    let url = format!("http://{}/metrics", serve.addr);
    let text = poll(&url, "first run", |code, _| code == 200);
    promtool_check(&promtool, &text).unwrap();
    assert_eq!(sample(&text, "mcp_doctor_last_run_success"), Some("1"));
    assert_eq!(
        sample(
            &text,
            "mcp_doctor_check_status{check=\"cluster.api-reachable\",status=\"fail\"}"
        ),
        Some("1"),
        "{text}"
    );
    drop(serve);

    // An API server that answers nothing for a minute: the run is abandoned after 2 s, reported, and the
    // server keeps answering.
    let hung = FixtureServer::start(
        &fixture(HEALTHY),
        ServerOptions {
            latency: Some(Duration::from_secs(60)),
            ..ServerOptions::default()
        },
    )
    .unwrap();
    let serve = start_serve(
        hung.kubeconfig_path(),
        HEALTHY,
        &["--interval", "1h", "--run-timeout", "2s", "--timeout", "30"],
    );
    let url = format!("http://{}/metrics", serve.addr);
    let started = Instant::now();
    let text = poll(&url, "abandoned run", |code, _| code == 200);
    assert!(started.elapsed() < Duration::from_secs(20));
    promtool_check(&promtool, &text).unwrap();
    assert_eq!(
        sample(&text, "mcp_doctor_last_run_success"),
        Some("0"),
        "{text}"
    );
    assert!(!text.contains("mcp_doctor_check_status{"), "{text}");
    assert_eq!(http_get(&format!("http://{}/healthz", serve.addr)).0, 200);
    drop(serve);
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_refuses_bad_flags() {
    let api = FixtureServer::start(&fixture(HEALTHY), ServerOptions::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = mcp_doctor_process(home.path())
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--kubeconfig")
        .arg(api.kubeconfig_path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve (pid {pid}) did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));

    for (flags, says) in [
        (vec!["--only", "no.such-check"], "unknown check id"),
        (vec!["--interval", "0s"], "positive duration"),
        (vec!["--listen", "not-an-address"], "invalid"),
        (vec!["--record", "/tmp/x"], "serve does not take --record"),
    ] {
        let out = mcp_doctor(home.path())
            .arg("serve")
            .args(&flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}
