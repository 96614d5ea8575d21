//! TLS end to end: private keys never reach a journal, a recording or an output, and the tls fixtures
//! group their findings into one root cause each.

mod common;

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use fixture_apiserver::{FixtureServer, ServerOptions};
use serde_json::Value;

/// Not a real key: a PEM block shaped like one, to prove the live path drops `tls.key` whatever it holds.
const FAKE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZmFrZS1rZXktZm9yLXRl\n-----END PRIVATE KEY-----\n";

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            files(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

/// Every string in a JSON value, and what each decodes to when it is base64.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            out.push(s.clone());
            if let Ok(bytes) = STANDARD.decode(s.trim()) {
                out.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn assert_no_key(what: &str, text: &str) {
    assert!(!text.contains("PRIVATE KEY"), "{what} holds a private key");
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let mut all = Vec::new();
        strings(&v, &mut all);
        for s in all {
            assert!(
                !s.contains("PRIVATE KEY"),
                "{what} holds a (base64) private key"
            );
        }
    }
}

#[test]
fn no_private_key_reaches_a_journal_a_recording_or_an_output() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("scenario");
    copy_dir(&fixture("tls-healthy"), &scenario);
    // The API server hands out tls.key with every TLS Secret.
    let secrets_file = scenario.join("cluster/secrets/_all.json");
    let mut secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets_file).unwrap()).unwrap();
    for s in secrets["items"].as_array_mut().unwrap() {
        s["data"]["tls.key"] = Value::String(STANDARD.encode(FAKE_KEY));
    }
    std::fs::write(&secrets_file, secrets.to_string()).unwrap();

    let server = FixtureServer::start(&scenario, ServerOptions::default()).unwrap();
    let record = tmp.path().join("recording");
    let json = tmp.path().join("report.json");
    let junit = tmp.path().join("report.junit.xml");
    let out = mcp_doctor(tmp.path())
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .arg("--env-file")
        .arg(scenario.join("config.env"))
        .arg("--record")
        .arg(&record)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--verbose")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_key("stdout", &stdout);
    assert_no_key("stderr", &String::from_utf8_lossy(&out.stderr));
    let report = valid_report(&std::fs::read_to_string(&json).unwrap());
    assert_eq!(statuses(&report)["tls.registry-cert"], "pass");
    let mut all = vec![json, junit];
    files(&record, &mut all);
    let mut secrets_seen = 0;
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap();
        assert_no_key(&f.display().to_string(), &text);
        if f.to_string_lossy().contains("/evidence/kube/get/secrets/") {
            let entry: Value = serde_json::from_str(&text).unwrap();
            // The key's value is replaced by the (base64, as Secret data is served) marker of its hash.
            let marker = mcp_doctor_checks::evidence::redact::marker(FAKE_KEY.as_bytes());
            assert_eq!(
                entry["ok"]["data"]["tls.key"],
                STANDARD.encode(marker),
                "tls.key is reduced to its marker in {}",
                f.display()
            );
            assert!(
                entry["ok"]["data"]["tls.crt"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
            );
            secrets_seen += 1;
        }
    }
    assert_eq!(
        secrets_seen, 3,
        "the three platform TLS Secrets are recorded: {all:?}"
    );
}

#[test]
fn each_tls_fixture_reports_one_root_cause() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, remediation, checks) in [
        (
            "tls-challenge-404",
            "rem.acme-self-check-failed",
            vec!["tls.registry-cert", "certmanager.certificates"],
        ),
        (
            "tls-two-certificates-registry-tls",
            "rem.tls-secret-double-owner",
            vec!["tls.registry-cert", "certmanager.single-owner"],
        ),
        (
            "tls-registry-cert-missing-mcp",
            "rem.registry-cert-names",
            vec!["tls.registry-cert"],
        ),
        (
            "tls-platform-cert-expired",
            "rem.tls-cert-expired",
            vec!["tls.platform-cert"],
        ),
        (
            "tls-cluster-issuer-missing",
            "rem.cluster-issuer-missing",
            vec!["certmanager.issuer"],
        ),
        (
            "tls-issuer-not-ready",
            "rem.cluster-issuer-not-ready",
            vec!["certmanager.issuer"],
        ),
        (
            "tls-registry-clusterip-internal-cert",
            "rem.registry-pull-host-ip",
            vec!["tls.registry-internal-cert"],
        ),
        (
            "tls-reissue-six-in-a-week",
            "rem.le-duplicate-budget",
            vec!["certmanager.reissue-budget"],
        ),
    ] {
        let out = mcp_doctor(tmp.path())
            .arg("analyze")
            .arg(fixture(name))
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let report = valid_report(&String::from_utf8_lossy(&out.stdout));
        let causes = report["root_causes"].as_array().unwrap();
        assert_eq!(causes.len(), 1, "{name}: {causes:#?}");
        assert_eq!(causes[0]["remediation"], remediation, "{name}");
        let got: Vec<&str> = causes[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let mut want = checks.clone();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want, "{name}");
    }
}

/// A blocking rustls server on 127.0.0.1 presenting `chain`; returns its port.
fn serve(chain: Vec<rustls::pki_types::CertificateDer<'static>>, key: Vec<u8>) -> u16 {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.into());
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut tcp).is_err() {
                    break;
                }
            }
            let _ = conn.complete_io(&mut tcp);
        }
    });
    port
}

#[test]
fn a_live_probe_is_journaled_and_its_recording_replays_to_the_same_verdict() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let tmp = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Corp Test Root");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["registry.example.test".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let port = serve(vec![leaf.der().clone()], key.serialize_der());
    let ca_file = tmp.path().join("corp-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let env = tmp.path().join("deploy.env");
    std::fs::write(
        &env,
        "MCP_SETUP_WITH_TLS=true\nMCP_PLATFORM_INGRESS_HOST=platform.example.test\n",
    )
    .unwrap();
    let record = tmp.path().join("recording");
    let out = mcp_doctor(tmp.path())
        // Every handshake goes to the in-test server (--tls-connect), so probing may be on.
        .env("MCP_DOCTOR_TLS_PROBE", "true")
        .args([
            "doctor",
            "--only",
            "tls.public-endpoints",
            "--format",
            "json",
        ])
        .arg("--env-file")
        .arg(&env)
        .arg("--ca-file")
        .arg(&ca_file)
        .arg("--tls-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--record")
        .arg(&record)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = valid_report(&String::from_utf8_lossy(&out.stdout));
    let check = |r: &Value| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "tls.public-endpoints")
            .cloned()
            .unwrap()
    };
    let live_check = check(&live);
    assert_eq!(live_check["status"], "fail");
    let message = live_check["message"].as_str().unwrap();
    assert!(
        message
            .contains("covering DNS:registry.example.test; it should cover platform.example.test"),
        "{message}"
    );
    assert_eq!(live_check["remediation"]["id"], "rem.tls-name-mismatch");
    assert!(record.join("evidence/tls/clock.json").is_file());
    let probe = record.join(format!(
        "evidence/tls/127.0.0.1_{port}/platform.example.test.json"
    ));
    let entry: Value = serde_json::from_str(&std::fs::read_to_string(&probe).unwrap()).unwrap();
    assert_eq!(entry["ok"]["protocol"], "TLSv1.3");
    assert_eq!(entry["ok"]["verify_error"], "name-mismatch");
    let mut recorded = Vec::new();
    files(&record, &mut recorded);
    for f in &recorded {
        assert_no_key(
            &f.display().to_string(),
            &std::fs::read_to_string(f).unwrap(),
        );
    }

    let out = mcp_doctor(tmp.path())
        .arg("analyze")
        .arg(&record)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let replayed = valid_report(&String::from_utf8_lossy(&out.stdout));
    let replayed_check = check(&replayed);
    assert_eq!(replayed_check["status"], live_check["status"]);
    assert_eq!(replayed_check["message"], live_check["message"]);
}
