//! The live HTTP source: reqwest over rustls (ring), shaped like Let's Encrypt's validator.
//!
//! - redirects are never followed (a check walks them by the validator's rules, hop by hop);
//! - `connect_to` pins the connection to one IP while the Host header and SNI stay the URL's host, so every
//!   A and AAAA of a name is probed on its own;
//! - one connection per request (no keep-alive), a per-connection timeout (10 s like the validator, less when
//!   the check's own timeout is shorter), certificates of `https` hops not verified (the validator does not
//!   verify them either);
//! - the body is read up to 8 KiB and only its first [`KEPT_BODY_BYTES`] are kept, with the status and the
//!   headers that tell what answered ([`IDENTIFYING_HEADERS`]);
//! - no answer is an [`EvidenceError::Probe`] whose cause tells refused, timeout, TLS and protocol apart.
//!
//! Every answer and error is memoized per probe and journaled under `keys::http`, so replay gives the same.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::journal::keys;
use super::{EvidenceError, HttpAnswer, HttpProbe, HttpSource, Journal, ProbeFailure};

/// The most of a body read from the wire (the validator reads at most this much too).
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// The first bytes of a body kept as evidence; checks judge only what is kept, so replay judges the same.
pub const KEPT_BODY_BYTES: usize = 2048;
/// The validator's per-connection bound.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers kept in the evidence: the ones that identify what answered (Traefik, a CDN, a cache, a registry).
pub const IDENTIFYING_HEADERS: &[&str] = &[
    "server",
    "location",
    "content-type",
    "age",
    "via",
    "x-cache",
    "cf-ray",
    "cf-cache-status",
    "www-authenticate",
    "docker-distribution-api-version",
];

type Slot = Arc<OnceCell<Result<HttpAnswer, EvidenceError>>>;

/// Live HTTP probes, memoized and journaled.
pub struct LiveHttp {
    journal: Arc<Journal>,
    timeout: Duration,
    memo: Mutex<HashMap<HttpProbe, Slot>>,
}

impl LiveHttp {
    /// `timeout` bounds each connection (connect, TLS, and the answer); use [`DEFAULT_CONNECTION_TIMEOUT`]
    /// unless the check timeout is shorter.
    pub fn new(journal: Arc<Journal>, timeout: Duration) -> LiveHttp {
        // reqwest is built without a provider: ring is the only one in the tree. Err = already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        LiveHttp {
            journal,
            timeout,
            memo: Mutex::new(HashMap::new()),
        }
    }

    async fn fetch_uncached(&self, probe: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        let url = reqwest::Url::parse(&probe.url).map_err(|e| EvidenceError::Probe {
            cause: ProbeFailure::Other,
            address: probe.connect_to.clone().unwrap_or_default(),
            url: probe.url.clone(),
            message: format!("{} is not a URL: {e}", probe.url),
        })?;
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .http1_only()
            .pool_max_idle_per_host(0)
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .tls_danger_accept_invalid_certs(true);
        let address = match &probe.connect_to {
            Some(ip) => {
                let ip: IpAddr = ip
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|e| EvidenceError::Probe {
                        cause: ProbeFailure::Other,
                        address: ip.clone(),
                        url: probe.url.clone(),
                        message: format!("{ip} is not an IP address: {e}"),
                    })?;
                // reqwest takes the port from the URL; the one given here is ignored.
                builder = builder.resolve(&host, SocketAddr::new(ip, port));
                SocketAddr::new(ip, port).to_string()
            }
            None => format!("{host}:{port}"),
        };
        let client = builder.build().map_err(|e| EvidenceError::Probe {
            cause: ProbeFailure::Other,
            address: address.clone(),
            url: probe.url.clone(),
            message: format!("cannot build an HTTP client: {e}"),
        })?;
        let method = reqwest::Method::from_bytes(probe.method.as_bytes()).unwrap_or_default();
        let mut request = client.request(method, url);
        for (k, v) in &probe.headers {
            request = request.header(k, v);
        }
        let fail = |e: reqwest::Error| probe_error(&e, &address, &probe.url, self.timeout);
        let mut response = request.send().await.map_err(fail)?;
        let status = response.status().as_u16();
        let remote_addr = response.remote_addr().map(|a| a.to_string());
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| IDENTIFYING_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_BODY_BYTES {
                truncated = true;
                break;
            }
        }
        if body.len() > KEPT_BODY_BYTES {
            body.truncate(KEPT_BODY_BYTES);
            truncated = true;
        }
        Ok(HttpAnswer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            body_truncated: truncated,
            remote_addr,
        })
    }
}

#[async_trait]
impl HttpSource for LiveHttp {
    async fn fetch(&self, probe: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        let slot = self
            .memo
            .lock()
            .expect("http memo lock")
            .entry(probe.clone())
            .or_default()
            .clone();
        slot.get_or_init(|| async {
            let result = self.fetch_uncached(probe).await;
            self.journal.record(&keys::http(probe), &result);
            result
        })
        .await
        .clone()
    }
}

/// Sorts a reqwest error into refused / timeout / TLS / protocol, with the innermost cause as the message.
fn probe_error(e: &reqwest::Error, address: &str, url: &str, timeout: Duration) -> EvidenceError {
    let chain = error_chain(e);
    let io_kind = find_io_kind(e);
    let has_rustls = contains_rustls(e);
    let timed_out = e.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut);
    let cause = if timed_out && e.is_connect() {
        ProbeFailure::ConnectTimeout
    } else if timed_out {
        ProbeFailure::Timeout
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        ProbeFailure::Refused
    } else if has_rustls {
        ProbeFailure::Tls
    } else if e.is_connect() {
        match io_kind {
            Some(std::io::ErrorKind::ConnectionReset) | Some(std::io::ErrorKind::UnexpectedEof) => {
                ProbeFailure::Protocol
            }
            _ => ProbeFailure::Other,
        }
    } else {
        ProbeFailure::Protocol
    };
    let message = match cause {
        ProbeFailure::ConnectTimeout => format!(
            "no connection to {address} within {}s",
            timeout.as_secs_f64()
        ),
        ProbeFailure::Timeout => format!(
            "connected to {address}, but no answer within {}s",
            timeout.as_secs_f64()
        ),
        ProbeFailure::Refused => format!("connection to {address} refused"),
        ProbeFailure::Tls => format!("TLS handshake with {address} failed: {chain}"),
        ProbeFailure::Protocol => format!("{address} did not answer in HTTP: {chain}"),
        ProbeFailure::Other => format!("cannot fetch {url} from {address}: {chain}"),
    };
    EvidenceError::Probe {
        cause,
        address: address.to_string(),
        url: url.to_string(),
        message,
    }
}

fn sources<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

/// Whether a rustls error is anywhere in the chain, including inside io::Errors (whose `source()` skips the
/// error they wrap).
fn contains_rustls(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && contains_rustls(inner)
    {
        return true;
    }
    e.source().is_some_and(contains_rustls)
}

fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    sources(e).find_map(|e| e.downcast_ref::<T>())
}

fn find_io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    find::<std::io::Error>(e).map(|io| io.kind())
}

/// `outer: inner: innermost`, without repeating a message a wrapper already contains.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for s in sources(e) {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot raw HTTP server: returns its port and a handle yielding the request it read.
    async fn serve(reply: Vec<u8>) -> (u16, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let _ = s.write_all(&reply).await;
            let _ = s.shutdown().await;
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (port, h)
    }

    fn probe(url: String) -> HttpProbe {
        HttpProbe {
            method: "GET".into(),
            url,
            connect_to: Some("127.0.0.1".into()),
            headers: vec![("user-agent".into(), "t".into())],
        }
    }

    fn cause(r: &Result<HttpAnswer, EvidenceError>) -> Option<ProbeFailure> {
        match r {
            Err(EvidenceError::Probe { cause, .. }) => Some(*cause),
            _ => None,
        }
    }

    #[tokio::test]
    async fn keeps_status_identifying_headers_and_the_first_bytes_with_the_real_host() {
        let mut reply = b"HTTP/1.1 200 OK\r\nServer: cloudflare\r\nCF-Ray: 1-AMS\r\nSet-Cookie: a=b\r\nContent-Length: 100000\r\n\r\n".to_vec();
        reply.extend(std::iter::repeat_n(b'x', 100_000));
        let (port, seen) = serve(reply).await;
        let journal = Journal::new();
        let http = LiveHttp::new(journal.clone(), Duration::from_secs(5));
        let p = probe(format!(
            "http://platform.example.com:{port}/.well-known/acme-challenge/t"
        ));
        let a = http.fetch(&p).await.unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(
            a.headers,
            vec![
                ("server".to_string(), "cloudflare".to_string()),
                ("cf-ray".to_string(), "1-AMS".to_string())
            ]
        );
        assert_eq!(a.body.len(), KEPT_BODY_BYTES);
        assert!(a.body_truncated);
        let request = seen.await.unwrap();
        assert!(
            request.contains(&format!("host: platform.example.com:{port}")),
            "{request}"
        );
        // Memoized: the one-shot server would refuse a second request.
        assert_eq!(http.fetch(&p).await.unwrap(), a);
        assert!(!journal.is_empty());
    }

    #[tokio::test]
    async fn refused_timeout_tls_and_protocol_errors_stay_apart() {
        let http = LiveHttp::new(Journal::new(), Duration::from_millis(700));
        let closed = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = http
            .fetch(&probe(format!("http://a.example.com:{closed}/")))
            .await;
        assert_eq!(cause(&r), Some(ProbeFailure::Refused), "{r:?}");

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let _hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let r = http
            .fetch(&probe(format!("http://a.example.com:{port}/")))
            .await;
        assert_eq!(cause(&r), Some(ProbeFailure::Timeout), "{r:?}");

        let (port, _) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
        let r = http
            .fetch(&probe(format!("https://a.example.com:{port}/")))
            .await;
        assert_eq!(cause(&r), Some(ProbeFailure::Tls), "{r:?}");

        let (port, _) = serve(b"\x15\x03\x01\x00\x02\x02\x50garbage".to_vec()).await;
        let r = http
            .fetch(&probe(format!("http://a.example.com:{port}/")))
            .await;
        assert_eq!(cause(&r), Some(ProbeFailure::Protocol), "{r:?}");
    }
}
