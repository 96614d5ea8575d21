//! The live TLS source: a handshake with SNI over tokio-rustls (ring) that keeps the peer's chain even when
//! it does not verify. A recording verifier accepts any chain and writes down what the webpki verifier
//! (system roots plus `--ca-file`) decided, so a check sees both the certificates and the verdict.
//!
//! Handshake signatures are still checked; only the chain decision is deferred to the check. Every answer
//! and error is journaled under `tls/<address>/<server name>`, and the judging time under `tls/clock`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::sync::OnceCell;
use tokio_rustls::TlsConnector;

use super::journal::keys;
use super::{EvidenceError, Journal, TlsAnswer, TlsProbe, TlsSource, UnreachableCause};

type Shared<T> = Arc<OnceCell<Result<T, EvidenceError>>>;

/// Live TLS probing with per-run memoization.
pub struct LiveTls {
    provider: Arc<CryptoProvider>,
    /// System roots plus the `--ca-file` anchors.
    roots: RootCertStore,
    timeout: Duration,
    journal: Arc<Journal>,
    memo: Mutex<HashMap<String, Shared<TlsAnswer>>>,
    clock: OnceCell<i64>,
}

impl LiveTls {
    /// Trusts the system roots, plus the certificates of `ca_file` (PEM) when given. An unreadable or empty
    /// CA file is an error for the caller to report before anything runs.
    pub fn new(
        ca_file: Option<&Path>,
        timeout: Duration,
        journal: Arc<Journal>,
    ) -> Result<LiveTls, String> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --ca-file {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(pem_certificates(&pem));
            if added == 0 {
                return Err(format!(
                    "--ca-file {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        Ok(LiveTls {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots,
            timeout,
            journal,
            memo: Mutex::default(),
            clock: OnceCell::new(),
        })
    }

    async fn probe(&self, probe: &TlsProbe) -> Result<TlsAnswer, EvidenceError> {
        let mut roots = self.roots.clone();
        if let Some(pem) = &probe.extra_ca_pem {
            roots.add_parsable_certificates(pem_certificates(pem.as_bytes()));
        }
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| tls_error(probe, format!("cannot build a verifier: {e}")))?;
        let verifier = Arc::new(RecordingVerifier {
            inner,
            provider: self.provider.clone(),
            verdict: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(probe, e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let name = ServerName::try_from(probe.server_name.clone()).map_err(|e| {
            tls_error(
                probe,
                format!(
                    "{:?} is not a DNS name or IP address: {e}",
                    probe.server_name
                ),
            )
        })?;
        let timeout_err = || EvidenceError::Timeout {
            what: format!("TLS handshake with {}", probe.address),
            secs: self.timeout.as_secs().max(1),
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        let tcp =
            match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(&probe.address))
                .await
            {
                Err(_) => return Err(timeout_err()),
                Ok(Err(e)) => return Err(connect_error(probe, &e)),
                Ok(Ok(tcp)) => tcp,
            };
        let remote = tcp.peer_addr().ok().map(|a| a.to_string());
        let connector = TlsConnector::from(Arc::new(config));
        let tls = match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
            Err(_) => return Err(timeout_err()),
            Ok(Err(e)) => {
                return Err(tls_error(
                    probe,
                    format!("TLS handshake with {} failed: {e}", probe.address),
                ));
            }
            Ok(Ok(tls)) => tls,
        };
        let conn = tls.get_ref().1;
        let chain = conn
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|c| STANDARD.encode(c.as_ref()))
            .collect();
        let protocol = conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            other => format!("{other:?}"),
        });
        let alpn = conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let verdict = verifier.verdict.lock().expect("verdict lock").take();
        Ok(TlsAnswer {
            chain_der_base64: chain,
            verify_error: verdict.as_ref().map(classify),
            protocol,
            verify_detail: verdict.map(|e| e.to_string()),
            alpn,
            remote_addr: remote,
        })
    }
}

#[async_trait]
impl TlsSource for LiveTls {
    async fn handshake(&self, probe: &TlsProbe) -> Result<TlsAnswer, EvidenceError> {
        let key = keys::tls(probe);
        let cell = self
            .memo
            .lock()
            .expect("memo lock")
            .entry(key.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let res = self.probe(probe).await;
            self.journal.record(&key, &res);
            res
        })
        .await
        .clone()
    }

    async fn now(&self) -> i64 {
        *self
            .clock
            .get_or_init(|| async {
                let now = super::unix_now();
                self.journal.record::<i64>(keys::CLOCK, &Ok(now));
                now
            })
            .await
    }
}

/// The certificates in a PEM text; any other block (a private key included) is skipped unread.
pub fn pem_certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// The verdict as a short code checks match on.
pub fn classify(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(c) => {
            match c {
                CertificateError::UnknownIssuer => "unknown-issuer",
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired",
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "not-yet-valid"
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => "name-mismatch",
                CertificateError::BadSignature => "bad-signature",
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => "invalid-purpose",
                CertificateError::BadEncoding => "bad-encoding",
                _ => "invalid-certificate",
            }
            .to_string()
        }
        _ => "other".to_string(),
    }
}

fn tls_error(probe: &TlsProbe, message: String) -> EvidenceError {
    EvidenceError::Unreachable {
        cause: UnreachableCause::Tls,
        server: probe.address.clone(),
        message,
    }
}

fn connect_error(probe: &TlsProbe, e: &std::io::Error) -> EvidenceError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let cause = if e.kind() == std::io::ErrorKind::ConnectionRefused {
        UnreachableCause::Refused
    } else if e.kind() == std::io::ErrorKind::TimedOut {
        UnreachableCause::Timeout
    } else if lower.contains("lookup") || lower.contains("name or service not known") {
        UnreachableCause::Dns
    } else {
        UnreachableCause::Other
    };
    EvidenceError::Unreachable {
        cause,
        server: probe.address.clone(),
        message: format!("cannot connect to {}: {text}", probe.address),
    }
}

/// Accepts every chain, remembering what the real verifier said about it.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    verdict: Mutex<Option<rustls::Error>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .err();
        *self.verdict.lock().expect("verdict lock") = verdict;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
