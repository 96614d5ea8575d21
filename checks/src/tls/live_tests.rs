//! Real peers: rustls servers on 127.0.0.1 presenting certificates made with rcgen, probed by the live TLS
//! source and judged by `tls.public-endpoints`. Each broken certificate yields one failing (or, for
//! Traefik's default under dev, warning) verdict that names the host, what the certificate covers, what it
//! should cover, and the fix.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::PublicEndpoints;
use crate::check::{Check, Context};
use crate::evidence::live_tls::LiveTls;
use crate::evidence::replay::Bundle;
use crate::evidence::{Evidence, Journal};
use crate::model::{Mode, Outcome, Profile, Status};
use crate::settings::{ConfigInputs, ResolvedConfig};

const HOST: &str = "platform.example.test";

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

fn intermediate(
    cn: &str,
    root: &CertifiedIssuer<'static, KeyPair>,
) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), root).unwrap()
}

struct Leaf {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// A server certificate for `names`, signed by `issuer` (self-signed when None), valid in `years`.
fn leaf(
    names: &[&str],
    cn: &str,
    issuer: Option<&CertifiedIssuer<'static, KeyPair>>,
    years: (i32, i32),
) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = date_time_ymd(years.0, 1, 1);
    p.not_after = date_time_ymd(years.1, 1, 1);
    let cert = match issuer {
        Some(i) => p.signed_by(&key, i).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    Leaf {
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

const NOW: (i32, i32) = (2024, 2040);

/// Serves `chain` on 127.0.0.1 until the test ends; returns the address.
async fn serve(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    addr
}

/// Runs `tls.public-endpoints` against `addr` for `host`, trusting `trusted` (PEM) via --ca-file.
async fn judge(
    addr: &str,
    host: &str,
    trusted: Option<&str>,
    profile: Profile,
) -> (Outcome, Arc<Journal>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cluster")).unwrap();
    let ca_path = dir.path().join("ca.pem");
    let mut env = vec![
        ("MCP_SETUP_WITH_TLS", "true".to_string()),
        ("MCP_PLATFORM_INGRESS_HOST", host.to_string()),
        ("MCP_DOCTOR_TLS_CONNECT", addr.to_string()),
    ];
    if let Some(pem) = trusted {
        std::fs::write(&ca_path, pem).unwrap();
        env.push(("MCP_DOCTOR_CA_FILE", ca_path.display().to_string()));
    }
    let inputs = ConfigInputs {
        env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Default::default()
    };
    let journal = Journal::new();
    let tls = LiveTls::new(
        trusted.map(|_| ca_path.as_path()),
        Duration::from_secs(5),
        journal.clone(),
    )
    .unwrap();
    let mut evidence = Evidence::replay(Bundle::open(dir.path()).unwrap());
    evidence.tls = Arc::new(tls);
    let ctx = Context::new(
        Mode::Doctor,
        profile,
        Arc::new(ResolvedConfig::resolve(&inputs)),
        evidence,
    );
    let outcome = match PublicEndpoints.not_applicable(&ctx) {
        Some(r) => Outcome::skip(r),
        None => PublicEndpoints.run(&ctx).await,
    };
    (outcome, journal, dir)
}

fn assert_finding(o: &Outcome, status: Status, rem: &str, needles: &[&str]) {
    assert_eq!(o.status, status, "{o:#?}");
    for n in needles {
        assert!(o.message.contains(n), "message lacks {n:?}: {}", o.message);
    }
    assert_eq!(
        o.remediation.as_ref().map(|r| r.id.as_str()),
        Some(rem),
        "{o:#?}"
    );
    assert!(o.subjects.iter().any(|s| s.starts_with("host/")), "{o:#?}");
    println!("{status}: {}", o.message);
}

fn journal_text(journal: &Journal) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for rel in journal.write_to(dir.path()).unwrap() {
        text.push_str(&std::fs::read_to_string(dir.path().join(rel)).unwrap());
    }
    text
}

fn pem_of(c: &CertifiedIssuer<'static, KeyPair>) -> String {
    c.pem()
}

#[tokio::test]
async fn a_valid_chain_passes_and_the_journal_holds_no_private_key() {
    let root = ca("Example Test Root");
    let inter = intermediate("Example Test Intermediate", &root);
    let l = leaf(&[HOST], HOST, Some(&inter), NOW);
    let addr = serve(vec![l.der, inter.der().clone()], l.key).await;
    let (o, journal, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Prod).await;
    assert_eq!(o.status, Status::Pass, "{o:#?}");
    assert!(
        o.message.contains("CN=Example Test Intermediate"),
        "{}",
        o.message
    );
    let text = journal_text(&journal);
    assert!(text.contains("tls/"), "{text}");
    assert!(text.contains("TLSv1.3"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn an_expired_certificate_fails_with_days() {
    let root = ca("Example Test Root");
    let l = leaf(&[HOST], HOST, Some(&root), (2019, 2021));
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-cert-expired",
        &[HOST, "expired", "days ago", "notAfter 2021-01-01"],
    );
}

#[tokio::test]
async fn a_not_yet_valid_certificate_fails() {
    let root = ca("Example Test Root");
    let l = leaf(&[HOST], HOST, Some(&root), (2039, 2041));
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-cert-expired",
        &[HOST, "is not valid until 2039-01-01"],
    );
}

#[tokio::test]
async fn a_wrong_san_fails_naming_what_it_covers_and_should() {
    let root = ca("Example Test Root");
    let l = leaf(
        &["other.example.test"],
        "other.example.test",
        Some(&root),
        NOW,
    );
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-name-mismatch",
        &[
            "covering DNS:other.example.test",
            "it should cover platform.example.test",
        ],
    );
}

#[tokio::test]
async fn an_ip_host_without_ip_san_fails_like_kubelet() {
    let root = ca("Example Test Root");
    let l = leaf(
        &["registry.example.test"],
        "registry.example.test",
        Some(&root),
        NOW,
    );
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, "127.0.0.1", Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-name-mismatch",
        &[
            "no IP SANs",
            "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
            "it should cover IP 127.0.0.1",
        ],
    );
}

#[tokio::test]
async fn a_self_signed_certificate_fails() {
    let l = leaf(&[HOST], HOST, None, NOW);
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, None, Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-self-signed",
        &[HOST, "self-signed", "covering DNS:platform.example.test"],
    );
}

#[tokio::test]
async fn an_untrusted_ca_fails_naming_the_anchor() {
    let trusted = ca("Example Test Root");
    let other = ca("Acme Internal Root");
    let l = leaf(&[HOST], HOST, Some(&other), NOW);
    let addr = serve(vec![l.der, other.der().clone()], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&trusted)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-untrusted-ca",
        &["chain ends at CN=Acme Internal Root", "--ca-file"],
    );
}

#[tokio::test]
async fn a_missing_intermediate_fails() {
    let root = ca("Example Test Root");
    let inter = intermediate("Example Test Intermediate", &root);
    let l = leaf(&[HOST], HOST, Some(&inter), NOW);
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-intermediate-missing",
        &["sends no intermediate", "CN=Example Test Intermediate"],
    );
}

#[tokio::test]
async fn traefiks_default_certificate_warns_in_dev_and_fails_in_prod() {
    let l = leaf(
        &["a1b2c3.traefik.default"],
        "TRAEFIK DEFAULT CERT",
        None,
        NOW,
    );
    let key = l.key.clone_key();
    let addr = serve(vec![l.der], key).await;
    let (o, _, _d) = judge(&addr, HOST, None, Profile::Dev).await;
    assert_finding(
        &o,
        Status::Warn,
        "rem.tls-traefik-default",
        &[
            "Traefik's default self-signed certificate",
            "it should serve a certificate for platform.example.test",
        ],
    );
    let (o, _, _d) = judge(&addr, HOST, None, Profile::Prod).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-traefik-default",
        &["TRAEFIK DEFAULT CERT"],
    );
}

#[tokio::test]
async fn nothing_listening_fails_naming_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (o, _, _d) = judge(&format!("127.0.0.1:{port}"), HOST, None, Profile::Dev).await;
    assert_finding(
        &o,
        Status::Fail,
        "rem.tls-endpoint-unreachable",
        &["no TLS handshake with platform.example.test", "refused"],
    );
}

#[tokio::test]
async fn a_staging_issuer_warns_in_dev_and_fails_in_prod() {
    let staging = ca("(STAGING) Ersatz Edamame E1");
    let l = leaf(&[HOST], HOST, Some(&staging), NOW);
    let addr = serve(vec![l.der], l.key).await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&staging)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Warn,
        "rem.tls-staging-issuer",
        &[
            "Let's Encrypt staging certificate",
            "(STAGING) Ersatz Edamame E1",
        ],
    );
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&staging)), Profile::Prod).await;
    assert_finding(&o, Status::Fail, "rem.tls-staging-issuer", &["staging"]);
}

#[tokio::test]
async fn a_certificate_expiring_within_14_days_warns_with_days_left() {
    let root = ca("Example Test Root");
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![HOST.to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, HOST);
    let soon = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 6))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(soon.year() as i32, soon.month() as u8, soon.day() as u8);
    let cert = p.signed_by(&key, &root).unwrap();
    let addr = serve(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .await;
    let (o, _, _d) = judge(&addr, HOST, Some(&pem_of(&root)), Profile::Dev).await;
    assert_finding(
        &o,
        Status::Warn,
        "rem.tls-cert-expired",
        &["expires in ", " day(s)", "served for platform.example.test"],
    );
}
