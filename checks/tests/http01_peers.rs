//! `http01.challenge-path` and `http01.reachable` against real peers, refereed by a real ACME CA.
//!
//! - **nginx** plays every front door on loopback addresses (`127.0.0.101`.. on the real ports 80 and 443,
//!   so the checks probe exactly what Let's Encrypt would) and, on `127.0.0.2`, the cluster behind it:
//!   Traefik's plain `404 page not found` for unknown paths and a cert-manager solver for the tokens the
//!   test publishes;
//! - **pebble** (Let's Encrypt's test CA) with **pebble-challtestsrv** as its DNS server validates a real
//!   ACME HTTP-01 challenge for every scenario through the same front door, and the check must agree with
//!   it: `pass` exactly when pebble's validation succeeds;
//! - the live answers are journaled, written in the bundle layout, and replayed: the same verdicts and
//!   messages come back offline.
//!
//! Pebble is laxer than Let's Encrypt in one place the scenarios reach: it follows a redirect to any port
//! (`redirect-8080` validates in pebble, while Let's Encrypt refuses ports other than 80 and 443). The table
//! marks that row instead of hiding it.
//!
//! The peers are Debian packages (`nginx-light`, `pebble`) installed by `scripts/test.sh`; they are started
//! and stopped by PID from here through `mcp-doctor-test-peers` (nginx as a single process, so no worker outlives it), with temporary directories, and talk only to 127.0.0.0/8 and ::1. Binding
//! ports 80 and 443 on loopback needs root (as on CI). Without the peers the test is skipped, except under
//! `CI`, where a missing peer fails it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use mcp_doctor_checks::evidence::journal::keys;
use mcp_doctor_checks::evidence::live_http::LiveHttp;
use mcp_doctor_checks::evidence::replay::Bundle;
use mcp_doctor_checks::evidence::{
    DnsAnswer, DnsQuery, DnsSource, Evidence, EvidenceError, Journal, Origin,
};
use mcp_doctor_checks::http01::{ChallengePath, Reachable};
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig};
use mcp_doctor_checks::{Check, Context, Mode, Outcome, Profile, Status};
use mcp_doctor_test_peers::{Peer, TRAEFIK_404, free_port, require, self_signed, start_nginx};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

const BACKEND_IP: &str = "127.0.0.2";

/// One front door: its host name, addresses, the nginx it needs, and what each side should conclude.
struct Scenario {
    name: &'static str,
    a: Option<&'static str>,
    aaaa: Option<&'static str>,
    /// The nginx `server` blocks of this front door (`{ip}`, `{backend}`, `{dir}` filled in).
    nginx: &'static str,
    /// `http01.challenge-path` as Let's Encrypt's rules judge it.
    challenge: Status,
    reachable: Status,
    /// Whether pebble validates; differs from `challenge == Pass` only where pebble is laxer than LE.
    pebble_valid: bool,
    /// Why pebble and Let's Encrypt differ here, when they do.
    laxer: Option<&'static str>,
}

/// Traefik in front of the cluster: a challenge file the solver serves from `root` when it exists, else
/// Traefik's 404.
fn traefik() -> String {
    format!(
        "location /.well-known/acme-challenge/ {{ try_files $uri @traefik; }}
        location / {{ {TRAEFIK_404} }}
        location @traefik {{ {TRAEFIK_404} }}"
    )
}

const PROXY: &str = "location / { proxy_pass http://{backend}; proxy_set_header Host $host; }";

fn scenarios() -> Vec<Scenario> {
    use Status::*;
    let s = |name, a, nginx, challenge, reachable, pebble_valid| Scenario {
        name,
        a: Some(a),
        aaaa: None,
        nginx,
        challenge,
        reachable,
        pebble_valid,
        laxer: None,
    };
    vec![
        s(
            "direct",
            "127.0.0.101",
            "server { listen {ip}:80; root {dir}/www; TRAEFIK }",
            Pass,
            Pass,
            true,
        ),
        s(
            "proxy",
            "127.0.0.102",
            "server { listen {ip}:80; PROXY }",
            Pass,
            Pass,
            true,
        ),
        s(
            "redirect-https",
            "127.0.0.103",
            "server { listen {ip}:80; return 301 https://$host$request_uri; }
             server { listen {ip}:443 ssl; ssl_certificate {dir}/tls.crt; ssl_certificate_key {dir}/tls.key; PROXY }",
            Pass,
            Pass,
            true,
        ),
        s(
            "redirect-loop",
            "127.0.0.104",
            "server { listen {ip}:80; return 301 http://$host$request_uri; }",
            Fail,
            Pass,
            false,
        ),
        Scenario {
            laxer: Some(
                "pebble follows a redirect to any port; Let's Encrypt follows only to 80 and 443",
            ),
            ..s(
                "redirect-8080",
                "127.0.0.105",
                "server { listen {ip}:80; return 301 http://$host:8080$request_uri; }
                 server { listen {ip}:8080; PROXY }",
                Fail,
                Pass,
                true,
            )
        },
        s(
            "cloudflare-error-page",
            "127.0.0.106",
            r#"server { listen {ip}:80; default_type text/html;
                 location / { add_header Server cloudflare always; add_header CF-Ray 8a1b2c3d4e5f6a7b-AMS always;
                   return 522 "<!DOCTYPE html><html><head><title>example.com | 522: Connection timed out</title></head><body>Error code 522 Cloudflare</body></html>"; } }"#,
            Fail,
            Pass,
            false,
        ),
        s(
            "basic-auth-401",
            "127.0.0.107",
            r#"server { listen {ip}:80; auth_basic "registry"; auth_basic_user_file {dir}/htpasswd; PROXY }"#,
            Fail,
            Pass,
            false,
        ),
        s(
            "cache-hit",
            "127.0.0.108",
            "server { listen {ip}:80; location / { proxy_pass http://{backend}; proxy_set_header Host $host;
                 proxy_cache front; proxy_cache_key $host; proxy_cache_valid any 10m;
                 add_header X-Cache $upstream_cache_status always; } }",
            Fail,
            Pass,
            false,
        ),
        s(
            "http-to-https-port",
            "127.0.0.109",
            "server { listen {ip}:80; return 301 http://$host:443$request_uri; }
             server { listen {ip}:443 ssl; ssl_certificate {dir}/tls.crt; ssl_certificate_key {dir}/tls.key; PROXY }",
            Fail,
            Pass,
            false,
        ),
        s(
            "bad-gateway-502",
            "127.0.0.110",
            "server { listen {ip}:80; location / { proxy_pass http://127.0.0.2:9; proxy_set_header Host $host; } }",
            Fail,
            Pass,
            false,
        ),
        s(
            "firewall-block-page",
            "127.0.0.111",
            r#"server { listen {ip}:80; default_type text/html;
                 location / { return 503 "<html><body><h1>Application Blocked</h1><p>Application: acme-protocol</p></body></html>"; } }"#,
            Fail,
            Pass,
            false,
        ),
        s(
            "proxy-own-404",
            "127.0.0.112",
            "server { listen {ip}:80; location / { return 404; } }",
            Fail,
            Pass,
            false,
        ),
        // Accepts the connection and never answers (a tokio listener, not nginx).
        s("timeout", "127.0.0.113", "", Fail, Fail, false),
        // Nothing listens.
        s("refused", "127.0.0.114", "", Fail, Fail, false),
        Scenario {
            aaaa: Some("::1"),
            ..s(
                "aaaa-answers-wrongly",
                "127.0.0.115",
                r#"server { listen {ip}:80; PROXY }
                 server { listen [::1]:80; location / { return 403 "forbidden\n"; } }"#,
                Fail,
                Pass,
                false,
            )
        },
    ]
}

fn host_of(s: &Scenario) -> String {
    format!("{}.example.com", s.name)
}

// ---------------------------------------------------------------------------------------------------------
// Peers

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `server` blocks: the cluster behind the doors on the backend address, then every front door.
fn nginx_servers(backend_port: u16, scenarios: &[Scenario]) -> String {
    let backend = format!("{BACKEND_IP}:{backend_port}");
    let traefik = traefik();
    let mut servers = format!("server {{ listen {backend}; root {{dir}}/www; {traefik} }}\n");
    for s in scenarios.iter().filter(|s| !s.nginx.is_empty()) {
        servers.push_str(
            &s.nginx
                .replace("TRAEFIK", &traefik)
                .replace("PROXY", PROXY)
                .replace("{ip}", s.a.unwrap())
                .replace("{backend}", &backend),
        );
        servers.push('\n');
    }
    servers
}

async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    log: &Path,
    mut f: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{what} did not come up: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------------------------------------
// DNS for the checks: the scenario table, journaled like a live source would.

struct TableDns {
    records: BTreeMap<(String, String), Vec<String>>,
    journal: Arc<Journal>,
}

#[async_trait]
impl DnsSource for TableDns {
    async fn resolve(&self, q: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        let key = (q.name.clone(), q.record_type.clone());
        let known = self.records.keys().any(|(n, _)| *n == q.name);
        let result = Ok(DnsAnswer {
            rcode: if known { "NOERROR" } else { "NXDOMAIN" }.into(),
            records: self.records.get(&key).cloned().unwrap_or_default(),
            ..Default::default()
        });
        self.journal.record(&keys::dns(q), &result);
        result
    }
}

fn config_for(host: &str) -> Arc<ResolvedConfig> {
    Arc::new(ResolvedConfig::resolve(&ConfigInputs {
        flags: [("acme_email".to_string(), "ops@example.com".to_string())].into(),
        env: [("MCP_PLATFORM_INGRESS_HOST".to_string(), host.to_string())].into(),
        env_file: None,
    }))
}

async fn run_checks(ctx: &Context) -> (Outcome, Outcome) {
    let reach = match Reachable.not_applicable(ctx) {
        Some(r) => Outcome::skip(r),
        None => Reachable.run(ctx).await,
    };
    let path = match ChallengePath.not_applicable(ctx) {
        Some(r) => Outcome::skip(r),
        None => ChallengePath.run(ctx).await,
    };
    (reach, path)
}

// ---------------------------------------------------------------------------------------------------------
// A minimal ACME client (RFC 8555, ES256 JWS) for pebble.

struct Acme {
    http: reqwest::Client,
    key: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    dir: Value,
    kid: Option<String>,
}

impl Acme {
    async fn new(directory: &str) -> Acme {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let dir: Value = serde_json::from_slice(
            &http
                .get(directory)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let mut acme = Acme {
            http,
            key,
            rng,
            dir,
            kid: None,
        };
        let url = acme.dir["newAccount"].as_str().unwrap().to_string();
        let (resp, _) = acme
            .post(&url, Some(json!({"termsOfServiceAgreed": true})))
            .await;
        acme.kid = Some(resp);
        acme
    }

    fn jwk(&self) -> Value {
        let pk = self.key.public_key().as_ref();
        json!({"crv": "P-256", "kty": "EC", "x": B64.encode(&pk[1..33]), "y": B64.encode(&pk[33..65])})
    }

    fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
            jwk["x"], jwk["y"]
        );
        B64.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    async fn nonce(&self) -> String {
        let url = self.dir["newNonce"].as_str().unwrap();
        let r = self.http.head(url).send().await.unwrap();
        r.headers()["replay-nonce"].to_str().unwrap().to_string()
    }

    /// A signed POST (payload None = POST-as-GET); returns (Location header, body).
    async fn post(&self, url: &str, payload: Option<Value>) -> (String, Value) {
        for _ in 0..5 {
            let mut protected = json!({"alg": "ES256", "nonce": self.nonce().await, "url": url});
            match &self.kid {
                Some(kid) => protected["kid"] = json!(kid),
                None => protected["jwk"] = self.jwk(),
            }
            let protected = B64.encode(protected.to_string());
            let payload = payload
                .as_ref()
                .map(|p| B64.encode(p.to_string()))
                .unwrap_or_default();
            let sig = self
                .key
                .sign(&self.rng, format!("{protected}.{payload}").as_bytes())
                .unwrap();
            let body = json!({"protected": protected, "payload": payload, "signature": B64.encode(sig.as_ref())});
            let r = self
                .http
                .post(url)
                .header("content-type", "application/jose+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let status = r.status();
            let body: Value =
                serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
            if body["type"] == "urn:ietf:params:acme:error:badNonce" {
                continue;
            }
            assert!(status.is_success(), "ACME POST {url}: {status} {body}");
            return (location, body);
        }
        panic!("ACME POST {url}: nonces kept being rejected");
    }

    /// Orders a certificate for `host`, publishes the key authorization with `publish`, answers the
    /// HTTP-01 challenge and waits for pebble's verdict: Ok(()) valid, Err(detail) invalid.
    async fn validate(&self, host: &str, www: &Path) -> Result<(), String> {
        let new_order = self.dir["newOrder"].as_str().unwrap().to_string();
        let (_, order) = self
            .post(
                &new_order,
                Some(json!({"identifiers": [{"type": "dns", "value": host}]})),
            )
            .await;
        let authz_url = order["authorizations"][0].as_str().unwrap().to_string();
        let (_, authz) = self.post(&authz_url, None).await;
        let challenge = authz["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "http-01")
            .unwrap()
            .clone();
        let token = challenge["token"].as_str().unwrap();
        let dir = www.join(".well-known/acme-challenge");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(token), format!("{token}.{}", self.thumbprint())).unwrap();
        self.post(challenge["url"].as_str().unwrap(), Some(json!({})))
            .await;
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (_, authz) = self.post(&authz_url, None).await;
            match authz["status"].as_str() {
                Some("valid") => return Ok(()),
                Some("invalid") => {
                    let c = authz["challenges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["type"] == "http-01")
                        .cloned()
                        .unwrap_or_default();
                    return Err(c["error"]["detail"]
                        .as_str()
                        .unwrap_or("invalid")
                        .to_string());
                }
                _ => {}
            }
        }
        Err("pebble gave no verdict within 90 s".into())
    }
}

// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn challenge_path_agrees_with_pebble_for_every_front_door() {
    // Ports 80 and 443 on loopback, where the validator looks, need root.
    let Some([nginx_bin, pebble_bin, challtestsrv_bin]) = require(
        "challenge_path_agrees_with_pebble_for_every_front_door",
        ["nginx", "pebble", "pebble-challtestsrv"],
        Some("the http01 peers test binds ports 80 and 443"),
    ) else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scenarios = scenarios();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for sub in ["www", "recordings"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("htpasswd"), "ops:{PLAIN}secret\n").unwrap();
    let hosts: Vec<String> = scenarios.iter().map(host_of).collect();
    self_signed(
        dir,
        "tls",
        &hosts.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    self_signed(dir, "pebble", &["127.0.0.1", "localhost"]);

    // nginx: the front doors and the cluster behind them.
    let backend_port = free_port();
    let backend: SocketAddr = format!("{BACKEND_IP}:{backend_port}").parse().unwrap();
    let _nginx = start_nginx(
        &nginx_bin,
        dir,
        &nginx_servers(backend_port, &scenarios),
        &[backend],
    );

    // The silent front door: accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.113:80")
        .await
        .unwrap();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });

    // challtestsrv as pebble's DNS, pebble as the CA.
    let dns_port = free_udp_port();
    let mgmt_port = free_port();
    let cts_log = dir.join("challtestsrv.out");
    let _cts = Peer::start(
        "pebble-challtestsrv",
        Command::new(&challtestsrv_bin).args([
            "-dns01",
            &format!("127.0.0.1:{dns_port}"),
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-management",
            &format!("127.0.0.1:{mgmt_port}"),
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
        ]),
        &cts_log,
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mgmt = format!("http://127.0.0.1:{mgmt_port}");
    wait_for("pebble-challtestsrv", &cts_log, || {
        let c = client.clone();
        let u = format!("{mgmt}/clear-request-history");
        async move {
            c.post(u)
                .body(r#"{"host":"x","type":"http"}"#)
                .send()
                .await
                .is_ok()
        }
    })
    .await;
    for s in &scenarios {
        let host = host_of(s);
        if let Some(a) = s.a {
            let r = client
                .post(format!("{mgmt}/add-a"))
                .body(json!({"host": host, "addresses": [a]}).to_string())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "add-a {host}");
        }
        if let Some(aaaa) = s.aaaa {
            let r = client
                .post(format!("{mgmt}/add-aaaa"))
                .body(json!({"host": host, "addresses": [aaaa]}).to_string())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "add-aaaa {host}");
        }
    }
    let acme_port = free_port();
    std::fs::write(
        dir.join("pebble.json"),
        json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{}", free_port()),
            "certificate": dir.join("pebble.crt"),
            "privateKey": dir.join("pebble.key"),
            "httpPort": 80,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }})
        .to_string(),
    )
    .unwrap();
    let pebble_log = dir.join("pebble.out");
    let _pebble = Peer::start(
        "pebble",
        Command::new(&pebble_bin)
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{dns_port}"))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0"),
        &pebble_log,
    );
    let directory = format!("https://127.0.0.1:{acme_port}/dir");
    let insecure = reqwest::Client::builder()
        .no_proxy()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    wait_for("pebble", &pebble_log, || {
        let c = insecure.clone();
        let u = directory.clone();
        async move { c.get(u).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    // Prime the cache of the cache-hit front door, as earlier traffic would have.
    let primed = reqwest::Client::builder()
        .no_proxy()
        .resolve("cache-hit.example.com", "127.0.0.108:80".parse().unwrap())
        .build()
        .unwrap()
        .get("http://cache-hit.example.com/.well-known/acme-challenge/earlier")
        .send()
        .await;
    assert!(primed.is_ok(), "priming the cache: {primed:?}");

    // 1. The checks, live, each scenario with its own journal.
    let empty_bundle = dir.join("empty");
    std::fs::create_dir_all(empty_bundle.join("cluster")).unwrap();
    let mut live: Vec<(Outcome, Outcome, PathBuf)> = Vec::new();
    let runs = futures::future::join_all(scenarios.iter().map(|s| {
        let empty_bundle = empty_bundle.clone();
        let rec = dir.join("recordings").join(s.name);
        async move {
            let host = host_of(s);
            let journal = Journal::new();
            let mut records = BTreeMap::new();
            records.insert(
                (host.clone(), "A".to_string()),
                s.a.iter().map(|a| a.to_string()).collect(),
            );
            records.insert(
                (host.clone(), "AAAA".to_string()),
                s.aaaa.iter().map(|a| a.to_string()).collect(),
            );
            let base = Evidence::replay(Bundle::open(&empty_bundle).unwrap());
            let evidence = Evidence {
                dns: Arc::new(TableDns {
                    records,
                    journal: journal.clone(),
                }),
                http: Arc::new(LiveHttp::new(journal.clone(), Duration::from_secs(3))),
                journal: journal.clone(),
                origin: Origin::Live,
                ..base
            };
            let ctx = Context::new(Mode::Setup, Profile::Dev, config_for(&host), evidence);
            let (reach, path) = run_checks(&ctx).await;
            std::fs::create_dir_all(rec.join("cluster")).unwrap();
            journal.write_to(&rec).unwrap();
            (reach, path, rec)
        }
    }))
    .await;
    live.extend(runs);

    // 2. pebble's verdict for every scenario, through the same front doors.
    let acme = Acme::new(&directory).await;
    let hosts: Vec<String> = scenarios.iter().map(host_of).collect();
    let www = dir.join("www");
    let verdicts = futures::future::join_all(hosts.iter().map(|h| acme.validate(h, &www))).await;

    // 3. The table, then the assertions (so a failure shows every row first).
    let mut table = String::from(
        "| scenario | http01.reachable | http01.challenge-path | message | pebble |\n|---|---|---|---|---|\n",
    );
    for ((s, (reach, path, _)), verdict) in scenarios.iter().zip(&live).zip(&verdicts) {
        let pebble = match verdict {
            Ok(()) => "valid".to_string(),
            Err(detail) => format!("invalid: {detail}"),
        };
        let lax = s
            .laxer
            .map(|l| format!(" (pebble is laxer: {l})"))
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {} | {} | {} | {}{} |\n",
            s.name,
            reach.status,
            path.status,
            path.message.replace('|', "\\|"),
            pebble.replace('|', "\\|"),
            lax
        ));
    }
    eprintln!("\n{table}");
    std::fs::write(
        std::env::temp_dir().join("mcp-doctor-http01-peers.md"),
        &table,
    )
    .ok();
    for ((s, (reach, path, rec)), verdict) in scenarios.iter().zip(&live).zip(&verdicts) {
        assert_eq!(
            path.status, s.challenge,
            "{}: challenge-path {path:#?}",
            s.name
        );
        assert_eq!(
            reach.status, s.reachable,
            "{}: reachable {reach:#?}",
            s.name
        );
        assert_eq!(
            verdict.is_ok(),
            s.pebble_valid,
            "{}: pebble said {verdict:?}",
            s.name
        );
        if s.laxer.is_none() {
            assert_eq!(
                path.status == Status::Pass,
                verdict.is_ok(),
                "{}: the check and pebble disagree ({} vs {verdict:?})",
                s.name,
                path.message
            );
        }
        if path.status != Status::Pass {
            assert_eq!(
                path.subjects,
                vec![format!("host/{}", host_of(s))],
                "{}",
                s.name
            );
            assert!(path.remediation.is_some(), "{}: no remediation", s.name);
        }

        // Replayed from the recording: the same verdicts and messages.
        let host = host_of(s);
        let replay = Evidence::replay(Bundle::open(rec).unwrap());
        let ctx = Context::new(Mode::Setup, Profile::Dev, config_for(&host), replay);
        let (r_reach, r_path) = run_checks(&ctx).await;
        assert_eq!(
            (r_reach.status, &r_reach.message),
            (reach.status, &reach.message),
            "{}: reachable replayed",
            s.name
        );
        assert_eq!(
            (r_path.status, &r_path.message),
            (path.status, &path.message),
            "{}: challenge-path replayed",
            s.name
        );
    }
}
