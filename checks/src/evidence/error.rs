//! What can go wrong when asking for evidence. Errors are data: they are journaled and replayed like answers,
//! so an offline analysis sees the same 403 or timeout the live run saw.

use serde::{Deserialize, Serialize};

/// Why the API server could not be talked to at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreachableCause {
    /// No kubeconfig was found and the tool is not running in a pod.
    NoKubeconfig,
    /// The kubeconfig exists but cannot be used (parse error, unknown context, missing CA file).
    BadKubeconfig,
    /// The server's host name does not resolve.
    Dns,
    /// Nothing listens at the server address.
    Refused,
    /// No answer within the timeout: the TCP connection was not established (a firewall dropping packets,
    /// a wrong address), or, for older recordings, any timeout.
    Timeout,
    /// The TCP connection was accepted but the TLS handshake got no answer within the timeout: something
    /// listens there and stays silent (a hung or starting API server, a proxy without a backend).
    Silent,
    /// The TLS handshake failed on the certificate: wrong CA, name mismatch, expired certificate.
    Tls,
    /// The TLS handshake failed for another reason: the peer does not speak TLS (plain HTTP, another
    /// protocol) or closed the connection during the handshake.
    TlsProtocol,
    Other,
}

/// Why an HTTP probe got no HTTP answer: kept apart so a refused port, a silent one, a TLS failure and a
/// server that does not speak HTTP each read (and replay) as what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeFailure {
    /// The address answered the TCP connection attempt with a reset: nothing listens on that port.
    Refused,
    /// No TCP connection within the per-connection timeout (a dial failure: the validator falls back from
    /// AAAA to A on this, on the first request).
    ConnectTimeout,
    /// Connected, but no answer within the per-connection timeout.
    Timeout,
    /// The TLS handshake of an `https` hop failed (including plain HTTP spoken on the HTTPS hop).
    Tls,
    /// Something answered, but not in HTTP (garbage, TLS bytes on a plain port, a reset mid-answer).
    Protocol,
    /// Anything else (no route, address family unavailable, a bad URL).
    Other,
}

impl ProbeFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeFailure::Refused => "refused",
            ProbeFailure::ConnectTimeout => "connect-timeout",
            ProbeFailure::Timeout => "timeout",
            ProbeFailure::Tls => "tls",
            ProbeFailure::Protocol => "protocol",
            ProbeFailure::Other => "other",
        }
    }
}

/// An evidence request that produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EvidenceError {
    /// Replay: the bundle does not hold this answer. Checks that needed it are `skip`.
    #[error("not collected: {what}")]
    NotCollected { what: String },
    /// The source was not configured for this run (e.g. no `--host-root` or `--host-facts`).
    #[error("{message}")]
    NotConfigured { message: String },
    /// RBAC denied the request (HTTP 403); `message` is the API server's own sentence.
    #[error("{message}")]
    Forbidden { message: String },
    /// The credentials were rejected (HTTP 401).
    #[error("the API server rejected the credentials (401 {message})")]
    Unauthorized { message: String },
    /// The resource type is not served, or the object does not exist (HTTP 404).
    #[error("{message}")]
    NotFound { message: String },
    #[error("no answer from {what} within {secs}s")]
    Timeout { what: String, secs: u64 },
    #[error("{message}")]
    Unreachable {
        cause: UnreachableCause,
        server: String,
        message: String,
    },
    /// Any other non-success HTTP status, with the `Status` reason and message.
    #[error("API error {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// An HTTP probe (`address` is the IP connected to, the URL what was asked) got no HTTP answer.
    #[error("{message}")]
    Probe {
        cause: ProbeFailure,
        address: String,
        url: String,
        message: String,
    },
    /// An answer arrived but is not what the API promises (e.g. a field of the wrong type).
    #[error("unexpected answer from {what}: {message}")]
    Decode { what: String, message: String },
}

impl EvidenceError {
    /// True when the evidence simply is not there (replay gap, source not configured): checks `skip`.
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            EvidenceError::NotCollected { .. } | EvidenceError::NotConfigured { .. }
        )
    }
}
