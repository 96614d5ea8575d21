//! `registry.reachable` and `registry.public-route` against real peers, live and then replayed:
//!
//! - **docker-registry** (Debian's distribution 2.8) plays the bundled registry twice: plain HTTP without auth
//!   (`/v2/` answers 200) and HTTPS with a certificate from a CA the test generates plus htpasswd auth
//!   (`/v2/` answers 401 with `docker-distribution-api-version: registry/2.0`);
//! - **nginx** plays the public front door of `registry.example.com`, one TLS port per shape: Traefik with the
//!   admin guard (401 in text/plain without the `x-api-key`, the registry behind it with the key), a proxy to
//!   the HTTPS registry, Traefik's own `404 page not found`, and a proxy's HTML block page; a listener that
//!   accepts and never answers plays a proxy that holds the connection.
//!
//! `registry.reachable` probes through `--registry-url` (the NodePort path needs a cluster), with and without
//! `registry/registry-internal-tls` in the cluster; `registry.public-route` pins its connection with
//! `--tls-connect 127.0.0.1:<port>`. Every live answer is journaled, and the recording replays to the same
//! verdicts and messages. Everything listens on 127.0.0.1 high ports (no root needed); the peers
//! (`mcp-doctor-test-peers`) are stopped by PID. Without them the test is skipped, except under `CI`, where
//! it fails.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::evidence::live_http::LiveHttp;
use mcp_doctor_checks::evidence::replay::Bundle;
use mcp_doctor_checks::evidence::{Evidence, Journal, Origin};
use mcp_doctor_checks::image_registry::{RegistryPublicRoute, RegistryReachable};
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig};
use mcp_doctor_checks::{Check, Context, Mode, Outcome, Profile, Status};
use mcp_doctor_test_peers::{
    self as peers, Peer, Registry, TRAEFIK_404, TlsFiles, free_port, issue_tls, self_signed,
    start_nginx,
};
use serde_json::json;

const API_KEY: &str = "k-peers-admin";

/// One run of one check: the cluster state, the settings, and what it must conclude.
struct Scenario {
    name: &'static str,
    check: &'static dyn Check,
    /// Whether Secret registry/registry-internal-tls exists (the install implies HTTPS).
    internal_tls: bool,
    /// Setting key and value (`registry_url`, `tls_connect`, `api_key`).
    flags: Vec<(&'static str, String)>,
    status: Status,
    needle: String,
}

/// docker-registry on a free port of 127.0.0.1 with storage of its own (HTTPS and htpasswd auth when
/// `tls` is given).
fn start_registry(bin: &Path, dir: &Path, name: &str, tls: Option<&TlsFiles>) -> (Peer, u16) {
    let port = free_port();
    let registry = Registry {
        name,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        storage: &dir.join(format!("{name}-data")),
        tls,
        htpasswd: tls.is_some(),
    }
    .start(bin, dir)
    .unwrap_or_else(|e| panic!("{e}"));
    (registry, port)
}

/// The internal CA and the registry's certificate (service DNS name and 127.0.0.1), as setup's
/// mcp-runtime-ca would issue it; the public front door gets its own self-signed one.
fn certificates(dir: &Path) -> TlsFiles {
    self_signed(dir, "public", &["registry.example.com"]);
    issue_tls(dir, &["registry.registry.svc.cluster.local", "127.0.0.1"])
}

/// The front doors: (name, port, server body).
fn front_doors(dir: &Path, open_port: u16, tls_port: u16) -> Vec<(&'static str, u16, String)> {
    let d = dir.display();
    let tls = format!("ssl_certificate {d}/public.crt; ssl_certificate_key {d}/public.key;");
    let guard = format!(
        r#"location / {{
            default_type "text/plain; charset=utf-8";
            if ($http_x_api_key != "{API_KEY}") {{
                add_header WWW-Authenticate 'Basic realm="registry-admin"' always;
                return 401 "401 Unauthorized\n";
            }}
            proxy_pass http://127.0.0.1:{open_port};
        }}"#
    );
    let proxied =
        format!("location / {{ proxy_pass https://127.0.0.1:{tls_port}; proxy_ssl_verify off; }}");
    let html = r#"location / { default_type "text/html; charset=UTF-8"; return 403 "<!DOCTYPE html><html><head><title>Access denied</title></head><body>Request blocked by the security policy.</body></html>"; }"#;
    [
        ("guard", guard),
        ("proxied", proxied),
        ("traefik-404", format!("location / {{ {TRAEFIK_404} }}")),
        ("proxy-html", html.to_string()),
    ]
    .into_iter()
    .map(|(name, body)| {
        let port = free_port();
        (
            name,
            port,
            format!("server {{ listen 127.0.0.1:{port} ssl; {tls} {body} }}"),
        )
    })
    .collect()
}

fn config(flags: &[(&'static str, String)]) -> Arc<ResolvedConfig> {
    Arc::new(ResolvedConfig::resolve(&ConfigInputs {
        flags: flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        env: [
            ("MCP_PLATFORM_DOMAIN".to_string(), "example.com".to_string()),
            ("MCP_SETUP_WITH_TLS".to_string(), "true".to_string()),
        ]
        .into(),
        env_file: None,
    }))
}

/// A bundle holding only the registry namespace's Secrets (with or without the internal certificate).
fn write_cluster(dir: &Path, internal_tls: bool) {
    let items = if internal_tls {
        vec![
            json!({"metadata": {"name": "registry-internal-tls", "namespace": "registry"},
                    "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
        ]
    } else {
        vec![]
    };
    let path = dir.join("cluster/secrets/_all.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
            .to_string(),
    )
    .unwrap();
}

async fn run(check: &dyn Check, ctx: &Context) -> Outcome {
    match check.not_applicable(ctx) {
        Some(reason) => Outcome::skip(reason),
        None => check.run(ctx).await,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_probes_read_real_registries_and_front_doors() {
    let Some([nginx_bin, registry_bin]) = peers::require(
        "registry_probes_read_real_registries_and_front_doors",
        ["nginx", "docker-registry"],
        None,
    ) else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let internal = certificates(dir);
    let (_open, open_port) = start_registry(&registry_bin, dir, "registry-http-open", None);
    let (_tls, tls_port) =
        start_registry(&registry_bin, dir, "registry-https-auth", Some(&internal));
    let doors = front_doors(dir, open_port, tls_port);
    let servers: String = doors.iter().map(|(_, _, s)| format!("{s}\n")).collect();
    let listening: Vec<SocketAddr> = doors
        .iter()
        .map(|(_, p, _)| format!("127.0.0.1:{p}").parse().unwrap())
        .collect();
    let nginx_dir = dir.join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let _nginx = start_nginx(&nginx_bin, &nginx_dir, &servers, &listening);
    let door = |name: &str| {
        let port = doors.iter().find(|(n, _, _)| *n == name).unwrap().1;
        ("tls_connect", format!("127.0.0.1:{port}"))
    };
    // A proxy that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let closed_port = free_port();

    let url = |port: u16| ("registry_url", format!("http://127.0.0.1:{port}"));
    let s =
        |name, check: &'static dyn Check, internal_tls, flags, status, needle: String| Scenario {
            name,
            check,
            internal_tls,
            flags,
            status,
            needle,
        };
    let scenarios = vec![
        s("https-401", &RegistryReachable, true, vec![url(tls_port)], Status::Pass,
          format!("https://127.0.0.1:{tls_port}/v2/ answers 401 over HTTPS")),
        s("internal-tls-but-http", &RegistryReachable, true, vec![url(open_port)], Status::Fail,
          format!("Secret registry/registry-internal-tls exists, but 127.0.0.1:{open_port} (--registry-url http://127.0.0.1:{open_port}) answers plain HTTP (200) instead of HTTPS")),
        s("https-without-internal-tls", &RegistryReachable, false, vec![url(tls_port)], Status::Fail,
          "serves HTTPS, but Secret registry/registry-internal-tls does not exist".into()),
        s("http-200", &RegistryReachable, false, vec![url(open_port)], Status::Pass,
          format!("http://127.0.0.1:{open_port}/v2/ answers 200 over HTTP")),
        s("refused", &RegistryReachable, false, vec![url(closed_port)], Status::Fail,
          format!("no answer from the registry at http://127.0.0.1:{closed_port}/v2/: connection to 127.0.0.1:{closed_port} refused")),
        s("guard-with-key", &RegistryPublicRoute, true, vec![door("guard"), ("api_key", API_KEY.into())], Status::Pass,
          "answers 401 without credentials, and 200 with docker-distribution-api-version: registry/2.0 with the admin API key".into()),
        s("guard-wrong-key", &RegistryPublicRoute, true, vec![door("guard"), ("api_key", "k-stale".into())], Status::Fail,
          "answers 401 with the admin API key (x-api-key): the key is not accepted".into()),
        s("proxied-registry", &RegistryPublicRoute, true, vec![door("proxied")], Status::Pass,
          "answers 401 without credentials (routed, auth required)".into()),
        s("traefik-404", &RegistryPublicRoute, true, vec![door("traefik-404")], Status::Fail,
          "is answered by Traefik's 404 page not found without credentials".into()),
        s("proxy-html", &RegistryPublicRoute, true, vec![door("proxy-html")], Status::Fail,
          "answers an HTML page without credentials: 403 (text/html; charset=UTF-8, server nginx".into()),
        s("silent-proxy", &RegistryPublicRoute, true, vec![("tls_connect", format!("127.0.0.1:{silent_port}"))], Status::Fail,
          "a proxy or firewall in front holds the connection".into()),
    ];

    let mut failures = Vec::new();
    for sc in &scenarios {
        let base_dir = dir.join("cluster-state").join(sc.name);
        write_cluster(&base_dir, sc.internal_tls);
        let journal = Journal::new();
        let base = Evidence::replay(Bundle::open(&base_dir).unwrap());
        let evidence = Evidence {
            http: Arc::new(LiveHttp::new(journal.clone(), Duration::from_secs(2))),
            journal: journal.clone(),
            origin: Origin::Live,
            ..base
        };
        let ctx = Context::new(Mode::Doctor, Profile::Dev, config(&sc.flags), evidence);
        let live = run(sc.check, &ctx).await;
        eprintln!("{}: {} {}", sc.name, live.status, live.message);
        if live.status != sc.status || !live.message.contains(&sc.needle) {
            failures.push(format!(
                "{}: expected {} containing {:?}, got {} {:?}",
                sc.name, sc.status, sc.needle, live.status, live.message
            ));
            continue;
        }
        assert!(
            !format!("{live:?}").contains(API_KEY),
            "{}: the API key leaked into the outcome",
            sc.name
        );
        if live.status != Status::Pass {
            assert!(live.remediation.is_some(), "{}: no remediation", sc.name);
        }
        // The recording (journal plus the same cluster state) replays to the same verdict and message.
        let rec = dir.join("recordings").join(sc.name);
        write_cluster(&rec, sc.internal_tls);
        journal.write_to(&rec).unwrap();
        let recorded = walk(&rec);
        assert!(
            !recorded.contains(API_KEY),
            "{}: the API key reached the recording",
            sc.name
        );
        let replay = Evidence::replay(Bundle::open(&rec).unwrap());
        let ctx = Context::new(Mode::Doctor, Profile::Dev, config(&sc.flags), replay);
        let replayed = run(sc.check, &ctx).await;
        assert_eq!(
            (replayed.status, &replayed.message),
            (live.status, &live.message),
            "{}: replayed",
            sc.name
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every file under a directory, concatenated (to look for a leaked credential).
fn walk(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.push_str(&walk(&p));
        } else {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}
