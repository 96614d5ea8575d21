//! What a certificate says, read with x509-parser: names (DNS and IP SANs), validity, issuer and subject,
//! key usage, whether it is self-signed; and the judgements every TLS check shares (does it cover a host,
//! how long is it valid, is it Traefik's default or a Let's Encrypt staging certificate).
//!
//! Secrets reach this module already reduced to `tls.crt` and `ca.crt` (see `live_kube::sanitize`); PEM
//! text is read block by block and only `CERTIFICATE` blocks are decoded.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::Value;
use x509_parser::prelude::*;

use crate::facts;

/// The subject CN of the certificate Traefik serves when no TLS Secret matches the host.
pub const TRAEFIK_DEFAULT_CN: &str = "TRAEFIK DEFAULT CERT";
/// Expiry closer than this many days warns.
pub const WARN_DAYS: i64 = 14;
const DAY: i64 = 86_400;

/// One parsed certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub self_signed: bool,
    pub is_ca: bool,
    pub key_usage: Vec<String>,
    pub serial: String,
}

/// Where a certificate stands in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid { days_left: i64 },
    ExpiresSoon { days_left: i64 },
    Expired { days_ago: i64 },
    NotYetValid { days_until: i64 },
}

impl CertInfo {
    pub fn from_der(der: &[u8]) -> Result<CertInfo, String> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => dns_names.push(d.to_ascii_lowercase()),
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            ip_addresses.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut key_usage = Vec::new();
        if let Ok(Some(ku)) = cert.key_usage() {
            let ku = ku.value;
            for (on, name) in [
                (ku.digital_signature(), "digitalSignature"),
                (ku.key_encipherment(), "keyEncipherment"),
                (ku.key_cert_sign(), "keyCertSign"),
                (ku.crl_sign(), "cRLSign"),
            ] {
                if on {
                    key_usage.push(name.to_string());
                }
            }
        }
        let cn = |name: &X509Name| {
            name.iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok())
                .map(str::to_string)
        };
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            subject_cn: cn(cert.subject()),
            issuer_cn: cn(cert.issuer()),
            dns_names,
            ip_addresses,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            is_ca: cert.is_ca(),
            key_usage,
            serial: cert.raw_serial_as_string(),
        })
    }

    /// Every `CERTIFICATE` block of a PEM text, leaf first as written.
    pub fn chain_from_pem(pem: &[u8]) -> Result<Vec<CertInfo>, String> {
        let mut out = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
            let block = block.map_err(|e| format!("not PEM: {e}"))?;
            if block.label == "CERTIFICATE" {
                out.push(CertInfo::from_der(&block.contents)?);
            }
        }
        if out.is_empty() {
            return Err("holds no PEM certificate".into());
        }
        Ok(out)
    }

    /// The chain of a TLS answer (DER in base64).
    pub fn chain_from_base64_der(chain: &[String]) -> Result<Vec<CertInfo>, String> {
        chain
            .iter()
            .map(|b| {
                STANDARD
                    .decode(b)
                    .map_err(|e| format!("certificate is not base64: {e}"))
                    .and_then(|der| CertInfo::from_der(&der))
            })
            .collect()
    }

    /// Whether the certificate is valid for `host` (a DNS name, with one-label wildcards, or an IP).
    pub fn covers(&self, host: &str) -> bool {
        let host = host_only(host).to_ascii_lowercase();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self
                .ip_addresses
                .iter()
                .any(|a| a.parse::<IpAddr>().ok() == Some(ip));
        }
        self.dns_names.iter().any(|n| dns_matches(n, &host))
    }

    /// `DNS:registry.example.com, DNS:mcp.example.com, IP:10.0.0.5`, or what stands in for names.
    pub fn names(&self) -> String {
        let mut names: Vec<String> = self
            .dns_names
            .iter()
            .map(|d| format!("DNS:{d}"))
            .chain(self.ip_addresses.iter().map(|i| format!("IP:{i}")))
            .collect();
        if names.is_empty() {
            names.push(match &self.subject_cn {
                Some(cn) => format!("no SANs (only CN={cn})"),
                None => "no names at all".into(),
            });
        }
        names.join(", ")
    }

    /// The subject as people read it: `CN=...` when there is one.
    pub fn who(&self) -> String {
        match &self.subject_cn {
            Some(cn) => format!("CN={cn}"),
            None => self.subject.clone(),
        }
    }

    pub fn issued_by(&self) -> String {
        match &self.issuer_cn {
            Some(cn) => format!("CN={cn}"),
            None => self.issuer.clone(),
        }
    }

    pub fn is_traefik_default(&self) -> bool {
        self.subject_cn.as_deref() == Some(TRAEFIK_DEFAULT_CN)
    }

    /// Issued by a Let's Encrypt staging CA (`(STAGING) Ersatz Edamame E1`, `Fake LE Intermediate X1`).
    pub fn is_staging(&self) -> bool {
        let issuer = self.issuer.to_ascii_uppercase();
        issuer.contains("(STAGING)") || issuer.contains("FAKE LE ")
    }

    pub fn validity(&self, now: i64) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid {
                days_until: ceil_days(self.not_before - now),
            }
        } else if now > self.not_after {
            Validity::Expired {
                days_ago: (now - self.not_after) / DAY,
            }
        } else {
            let days_left = (self.not_after - now) / DAY;
            if days_left < WARN_DAYS {
                Validity::ExpiresSoon { days_left }
            } else {
                Validity::Valid { days_left }
            }
        }
    }

    pub fn not_after_text(&self) -> String {
        date(self.not_after)
    }

    pub fn not_before_text(&self) -> String {
        date(self.not_before)
    }
}

fn ceil_days(secs: i64) -> i64 {
    (secs + DAY - 1) / DAY
}

/// `2026-11-19T10:00:00Z`.
pub fn date(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| unix.to_string())
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// `registry.example.com:5000` -> `registry.example.com`; `[::1]:5000` -> `::1`; an IP stays whole.
pub fn host_only(host: &str) -> &str {
    let h = host.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    if h.parse::<IpAddr>().is_ok() {
        return h;
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => h,
    }
}

/// Whether `host` is an IP address literal (after removing a port).
pub fn is_ip(host: &str) -> bool {
    host_only(host).parse::<IpAddr>().is_ok()
}

fn dns_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    let host = host.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// The certificate chain a Secret holds in `tls.crt` (base64 of PEM, as the API returns `data`). Only
/// `tls.crt` is read.
pub fn secret_chain(secret: &Value) -> Result<Vec<CertInfo>, String> {
    let Some(b64) = secret.pointer("/data/tls.crt").and_then(Value::as_str) else {
        return Err("has no tls.crt".into());
    };
    let pem = STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("tls.crt is not base64: {e}"))?;
    CertInfo::chain_from_pem(&pem).map_err(|e| format!("tls.crt {e}"))
}

/// The DNS names a CertificateRequest asks for: the SAN extension of its CSR (`spec.request`, base64 PEM).
pub fn csr_dns_names(request_b64: &str) -> Option<Vec<String>> {
    let pem = STANDARD.decode(request_b64.trim()).ok()?;
    let block = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .filter_map(Result::ok)
        .find(|b| b.label.contains("CERTIFICATE REQUEST"))?;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
            .ok()?;
    let mut names = Vec::new();
    for ext in csr.requested_extensions()? {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for n in &san.general_names {
                if let GeneralName::DNSName(d) = n {
                    names.push(d.to_ascii_lowercase());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Some(names)
}

/// `a`, `a and b`, `a, b and c`; past ten items, the first ten `and N more` (as [`facts::listed`]).
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        many if many.len() > facts::LISTED_IN_A_MESSAGE => format!(
            "{} and {} more",
            many[..facts::LISTED_IN_A_MESSAGE].join(", "),
            many.len() - facts::LISTED_IN_A_MESSAGE
        ),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_list_names_ten_and_counts_the_rest() {
        let names = |n: usize| (1..=n).map(|i| format!("n{i}")).collect::<Vec<_>>();
        assert_eq!(and_list(&names(0)), "");
        assert_eq!(and_list(&names(1)), "n1");
        assert_eq!(and_list(&names(3)), "n1, n2 and n3");
        assert_eq!(
            and_list(&names(10)),
            "n1, n2, n3, n4, n5, n6, n7, n8, n9 and n10"
        );
        assert_eq!(
            and_list(&names(5000)),
            "n1, n2, n3, n4, n5, n6, n7, n8, n9, n10 and 4990 more"
        );
        assert_eq!(
            facts::listed(&names(11), "; "),
            "n1; n2; n3; n4; n5; n6; n7; n8; n9; n10; and 1 more"
        );
        assert_eq!(facts::listed(&names(2), ", "), "n1, n2");
        assert_eq!(
            facts::listed_at_most(&names(3), ", ", 2),
            "n1, n2, and 1 more"
        );
        assert_eq!(facts::listed_at_most(&names(3), ", ", 0), "n1, and 2 more");
    }

    #[test]
    fn wildcards_cover_one_label_and_ports_are_ignored() {
        let c = CertInfo {
            subject: String::new(),
            issuer: String::new(),
            subject_cn: None,
            issuer_cn: None,
            dns_names: vec![
                "*.example.com".into(),
                "registry.registry.svc.cluster.local".into(),
            ],
            ip_addresses: vec!["10.43.0.20".into()],
            not_before: 0,
            not_after: 10 * DAY,
            self_signed: false,
            is_ca: false,
            key_usage: vec![],
            serial: String::new(),
        };
        assert!(c.covers("mcp.example.com"));
        assert!(!c.covers("a.b.example.com"));
        assert!(!c.covers("example.com"));
        assert!(c.covers("registry.registry.svc.cluster.local:5000"));
        assert!(c.covers("10.43.0.20:5000"));
        assert!(!c.covers("10.43.0.21"));
        assert_eq!(c.validity(DAY), Validity::ExpiresSoon { days_left: 9 });
        assert_eq!(c.validity(12 * DAY), Validity::Expired { days_ago: 2 });
        assert_eq!(host_only("[::1]:5000"), "::1");
        assert!(is_ip("10.43.12.34:5000"));
        assert_eq!(date(0), "1970-01-01T00:00:00Z");
    }
}
