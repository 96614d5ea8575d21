//! The worst case a run can meet: an API server that accepts connections and never answers (at the TCP
//! level, and after completing TLS), with a DNS server that swallows every query. `preflight` must still
//! end within the per-check timeout plus 2 s, with `error`/`skip` outcomes that say why and exit code 1
//! (an unreachable cluster is a failed run, not a crash). The bound is the contract itself, with no slack
//! added: a run takes about one timeout here (the API's and the resolver's run side by side, and every
//! request after an unanswered `/version` fails at once), so 2 s are left for process start and a busy
//! machine. The measured time is printed.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use serde_json::Value;

/// The per-check timeout the runs use (`--timeout`).
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// What the contract allows beyond it.
const ALLOWED: Duration = Duration::from_secs(2);

/// A loopback peer that never answers, stopped (its thread joined) on drop.
struct Silent {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    /// Accepts TCP connections and holds them open without a byte.
    fn tcp() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        Silent::serve(addr, move |stop| {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((conn, _)) = listener.accept() {
                    held.push(conn);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    }

    /// Reads DNS queries on UDP and never replies.
    fn dns() -> Silent {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        Silent::serve(addr, move |stop| {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                let _ = socket.recv_from(&mut buf);
            }
        })
    }

    fn serve(addr: SocketAddr, run: impl FnOnce(&AtomicBool) + Send + 'static) -> Silent {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || run(&flag));
        Silent {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A kubeconfig for `server` (TLS not verified: the silent peer has no certificate to verify).
fn kubeconfig(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: hung\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n\
         users:\n- name: hung\n  user:\n    token: t\ncontexts:\n- name: hung\n  context:\n    cluster: hung\n    user: hung\n\
         current-context: hung\n"
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

/// `preflight` with the platform settings of `tls-healthy` (domain, ACME, registry: DNS, TLS and API checks
/// all apply), the black-holed resolver as the system's; returns the report and how long the run took.
fn preflight(
    kubeconfig: &std::path::Path,
    dns: SocketAddr,
    tmp: &std::path::Path,
) -> (Value, Duration) {
    let started = Instant::now();
    let out = mcp_doctor(tmp)
        .env("MCP_DOCTOR_SYSTEM_DNS", dns.to_string())
        .arg("preflight")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--env-file")
        .arg(fixture("tls-healthy").join("config.env"))
        .args([
            "--timeout",
            &CHECK_TIMEOUT.as_secs().to_string(),
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit code; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (valid_report(&String::from_utf8_lossy(&out.stdout)), took)
}

/// Every check that needed the API or DNS ended `error` or `skip` with a reason; none passed on no data.
fn assert_clear_outcomes(report: &Value) {
    let got = statuses(report);
    assert!(
        matches!(got["cluster.api-reachable"].as_str(), "error" | "fail"),
        "cluster.api-reachable: {}",
        got["cluster.api-reachable"]
    );
    for check in report["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        let status = check["status"].as_str().unwrap();
        if ["dns.resolve", "nodes.ready", "cluster.permissions"].contains(&id) {
            assert!(status != "pass", "{id} passed without an answer: {check}");
        }
        if status != "pass" {
            assert!(
                !check["message"].as_str().unwrap_or_default().is_empty(),
                "{id} {status} without a reason"
            );
        }
    }
}

fn assert_bounded(case: &str, took: Duration) {
    eprintln!(
        "{case}: preflight took {:.1}s (bound {}s + {}s)",
        took.as_secs_f64(),
        CHECK_TIMEOUT.as_secs(),
        ALLOWED.as_secs(),
    );
    assert!(
        took <= CHECK_TIMEOUT + ALLOWED,
        "{case}: preflight took {took:?}, beyond the per-check timeout plus {ALLOWED:?}"
    );
}

#[test]
fn preflight_ends_in_time_when_the_api_server_hangs_before_tls_and_dns_is_black_holed() {
    let tmp = tempfile::tempdir().unwrap();
    let api = Silent::tcp();
    let dns = Silent::dns();
    let kc = kubeconfig(tmp.path(), &format!("https://{}", api.addr));
    let (report, took) = preflight(&kc, dns.addr, tmp.path());
    assert_clear_outcomes(&report);
    assert_bounded("TCP accepted, never a TLS answer", took);
}

#[test]
fn preflight_ends_in_time_when_the_api_server_hangs_after_tls_and_dns_is_black_holed() {
    let tmp = tempfile::tempdir().unwrap();
    // Completes the TLS handshake, then holds every HTTP request far beyond any timeout.
    let api = FixtureServer::start(
        &fixture("tls-healthy"),
        ServerOptions {
            latency: Some(Duration::from_secs(300)),
            ..Default::default()
        },
    )
    .unwrap();
    let dns = Silent::dns();
    let (report, took) = preflight(api.kubeconfig_path(), dns.addr, tmp.path());
    assert_clear_outcomes(&report);
    assert_bounded("TLS completed, never an HTTP answer", took);
}
