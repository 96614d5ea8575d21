//! http01 checks: can Let's Encrypt reach `http://<host>/.well-known/acme-challenge/<token>` of each public
//! host. The probes follow the validator's rules (`shared/reference/anchor-tools.md` section 3): port 80,
//! every A and AAAA probed on its own, redirects walked by hand (at most 10; only 301/302/307/308; only
//! http/https on ports 80/443; no fallback to IPv4 after the first request), about 10 s per connection.

mod challenge_path;
mod reachable;
mod self_test;

use std::net::IpAddr;

use serde::Serialize;

pub use challenge_path::ChallengePath;
pub use reachable::Reachable;
pub use self_test::SelfTest;

use crate::Check;
use crate::check::Context;
use crate::dns::dns_name_problem;
use crate::evidence::{DnsQuery, EvidenceError, HttpAnswer, HttpProbe, ProbeFailure};
use crate::settings::{ResolvedConfig, normalize_domain};

pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(Reachable),
        Box::new(ChallengePath),
        Box::new(SelfTest),
    ]
}

/// The token the probes ask for. Fixed (like letsdebug's), so a recording replays under the same keys; no
/// real challenge ever uses it, so a correct route answers it with a 404.
pub const PROBE_TOKEN: &str = "mcp-doctor-http01-probe";
/// Let's Encrypt follows at most this many redirects.
pub const MAX_REDIRECTS: usize = 10;
const USER_AGENT: &str =
    "mcp-doctor (HTTP-01 reachability; requests shaped like Let's Encrypt's validator)";

/// Why the http01 checks do not apply: Let's Encrypt not requested, or no public hosts.
pub fn not_applicable(ctx: &Context) -> Option<String> {
    if ctx.config.value("acme_email").is_none() {
        return Some(
            "Let's Encrypt is not requested (no --acme-email / MCP_ACME_EMAIL), so HTTP-01 is not used".into(),
        );
    }
    if hosts(&ctx.config).is_empty() {
        return Some(
            "no public hosts are configured (MCP_PLATFORM_DOMAIN or MCP_*_INGRESS_HOST)".into(),
        );
    }
    None
}

/// The public hosts a certificate is requested for: valid names only (`dns.hosts-config` reports the rest),
/// each once, in platform, registry, mcp order.
pub fn hosts(cfg: &ResolvedConfig) -> Vec<String> {
    let h = cfg.public_hosts();
    let mut out: Vec<String> = Vec::new();
    for s in [h.platform, h.registry, h.mcp].into_iter().flatten() {
        let name = normalize_domain(&s.value);
        if dns_name_problem(&name).is_none() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `front_door` (direct, proxy or internal), direct when unset.
pub fn front_door(cfg: &ResolvedConfig) -> &str {
    cfg.value("front_door").unwrap_or("direct")
}

/// The challenge URL the probes ask for on a host.
pub fn challenge_url(host: &str) -> String {
    format!("http://{host}/.well-known/acme-challenge/{PROBE_TOKEN}")
}

/// An IP as it appears in a URL authority or a message: IPv6 in brackets.
pub fn show_ip(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The AAAA and A addresses of a name, AAAA first as the validator tries them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Addresses {
    pub aaaa: Vec<IpAddr>,
    pub a: Vec<IpAddr>,
    /// The response code of each lookup that did not answer NOERROR (`AAAA NXDOMAIN`).
    pub notes: Vec<String>,
}

impl Addresses {
    pub fn all(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.aaaa.iter().chain(&self.a).copied()
    }
    pub fn is_empty(&self) -> bool {
        self.aaaa.is_empty() && self.a.is_empty()
    }
}

/// Looks up AAAA and A through the evidence layer. An absent DNS source (not configured, not collected) or
/// a failed lookup of both types is an error; one type failing alone is noted and treated as empty.
pub async fn addresses(ctx: &Context, host: &str) -> Result<Addresses, EvidenceError> {
    let ask = |rt: &str| DnsQuery {
        name: host.to_string(),
        record_type: rt.to_string(),
        server: None,
    };
    let (q6, q4) = (ask("AAAA"), ask("A"));
    let (aaaa, a) = futures::join!(ctx.evidence.dns.resolve(&q6), ctx.evidence.dns.resolve(&q4));
    let mut out = Addresses::default();
    match (&aaaa, &a) {
        (Err(e), _) | (_, Err(e)) if e.is_absent() => return Err(e.clone()),
        (Err(e), Err(_)) => return Err(e.clone()),
        _ => {}
    }
    for (rt, answer, into) in [("AAAA", aaaa, &mut out.aaaa), ("A", a, &mut out.a)] {
        match answer {
            Ok(ans) => {
                if !ans.rcode.eq_ignore_ascii_case("NOERROR") {
                    out.notes.push(format!("{rt} {}", ans.rcode));
                }
                into.extend(
                    ans.records
                        .iter()
                        .filter_map(|r| r.trim().parse::<IpAddr>().ok()),
                );
            }
            Err(e) => out.notes.push(format!("{rt} lookup failed: {e}")),
        }
    }
    Ok(out)
}

/// [`addresses`] of every host, looked up at once: with a resolver that never answers, the run waits one
/// DNS timeout for all of them, not one per host.
pub async fn addresses_of_each(
    ctx: &Context,
    hosts: &[String],
) -> Vec<Result<Addresses, EvidenceError>> {
    futures::future::join_all(hosts.iter().map(|host| addresses(ctx, host))).await
}

/// The GET the validator would send, pinned to one address.
pub fn probe(url: &str, ip: &IpAddr) -> HttpProbe {
    HttpProbe {
        method: "GET".into(),
        url: url.to_string(),
        connect_to: Some(ip.to_string()),
        headers: vec![
            ("user-agent".into(), USER_AGENT.into()),
            ("accept".into(), "*/*".into()),
        ],
    }
}

/// One request of a walk and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub url: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What answered the challenge path, when it is what cert-manager needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Healthy {
    /// Traefik's plain `404 page not found`: routed to the ingress, no solver for this token (as expected).
    Traefik404,
    /// A cert-manager solver answering with a key authorization for the probe token.
    Solver,
}

/// Why the validator would fail on this path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    Refused,
    /// No connection in time (a dial failure).
    ConnectTimeout,
    /// Connected, no answer in time.
    Timeout,
    Tls,
    Protocol,
    Unreachable,
    HttpOnHttpsPort,
    FirewallBlock,
    Cached,
    Auth,
    ProxyErrorPage,
    ServerError,
    NotRouted,
    StaleToken,
    Unexpected,
    BadRedirect,
    RedirectLoop,
    TooManyRedirects,
}

impl Problem {
    /// The remediation each kind of problem points at. Nothing listening or answering on port 80 shares
    /// `rem.http01-port80` with `http01.reachable`, so the report shows one root cause for both.
    pub fn remediation(self, first_hop: bool) -> &'static str {
        match self {
            Problem::Refused
            | Problem::ConnectTimeout
            | Problem::Timeout
            | Problem::Unreachable
                if first_hop =>
            {
                "rem.http01-port80"
            }
            Problem::BadRedirect
            | Problem::RedirectLoop
            | Problem::TooManyRedirects
            | Problem::HttpOnHttpsPort => "rem.http01-redirect",
            _ => "rem.http01-front-door",
        }
    }
}

/// How one walk ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Verdict {
    Healthy { kind: Healthy, text: String },
    Problem { kind: Problem, text: String },
}

/// A walk from one starting address through the redirects, as the validator would make it.
#[derive(Debug, Clone, Serialize)]
pub struct Walk {
    pub host: String,
    pub start: String,
    pub family: &'static str,
    pub hops: Vec<Hop>,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The last answer, when the walk ended on one.
    #[serde(skip)]
    pub last: Option<HttpAnswer>,
}

impl Walk {
    pub fn problem(&self) -> Option<(Problem, &str)> {
        match &self.verdict {
            Verdict::Problem { kind, text } => Some((*kind, text)),
            Verdict::Healthy { .. } => None,
        }
    }

    /// Failed at dial level on the first request: the only case the validator falls back from AAAA to A.
    pub fn dial_failed(&self) -> bool {
        self.hops.len() == 1
            && matches!(
                self.problem(),
                Some((
                    Problem::Refused | Problem::ConnectTimeout | Problem::Unreachable,
                    _
                ))
            )
    }

    /// `http://a/... (127.0.0.1) -> https://a/...`
    pub fn trail(&self) -> String {
        self.hops
            .iter()
            .map(|h| match h.status {
                Some(s) => format!("{} {}", h.url, s),
                None => h.url.clone(),
            })
            .collect::<Vec<_>>()
            .join(" -> ")
    }
}

fn header_values<'a>(a: &'a HttpAnswer, name: &str) -> Vec<&'a str> {
    a.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

pub fn header<'a>(a: &'a HttpAnswer, name: &str) -> Option<&'a str> {
    header_values(a, name).into_iter().next()
}

/// `Server: nginx` or `no Server header`, for messages.
pub fn served_by(a: &HttpAnswer) -> String {
    let servers = header_values(a, "server");
    if servers.is_empty() {
        "no Server header".into()
    } else {
        format!("Server: {}", servers.join(", "))
    }
}

/// The header that shows a CDN or reverse proxy answered (`CF-Ray: ...`, `Via: ...`), if any.
pub fn proxy_signature(a: &HttpAnswer) -> Option<String> {
    if let Some(ray) = header(a, "cf-ray") {
        return Some(format!("CF-Ray: {ray}"));
    }
    if let Some(s) = header_values(a, "server")
        .into_iter()
        .find(|s| s.to_ascii_lowercase().contains("cloudflare"))
    {
        return Some(format!("Server: {s}"));
    }
    header(a, "via").map(|v| format!("Via: {v}"))
}

/// True for `<token>.<thumbprint>`, the shape of a key authorization (base64url without padding).
fn key_authorization_shape(body: &str) -> bool {
    let body = body.trim_end();
    let Some((token, thumb)) = body.split_once('.') else {
        return false;
    };
    let b64 = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    b64(token) && b64(thumb) && body.len() <= 256
}

/// Judges the final answer of a walk: what answered the challenge path.
pub fn classify(a: &HttpAnswer) -> Verdict {
    let lower = a.body.to_ascii_lowercase();
    let by = served_by(a);
    let cloudflare = header_values(a, "server")
        .iter()
        .any(|s| s.to_ascii_lowercase().contains("cloudflare"))
        || header(a, "cf-ray").is_some();
    let problem = |kind: Problem, text: String| Verdict::Problem { kind, text };
    if lower.contains("the plain http request was sent to https port")
        || lower.contains("speaking plain http to an ssl-enabled server port")
    {
        return problem(
            Problem::HttpOnHttpsPort,
            format!(
                "plain HTTP reached an HTTPS port: the answer is {} \"The plain HTTP request was sent to HTTPS port\" ({by})",
                a.status
            ),
        );
    }
    if lower.contains("acme-protocol") {
        return problem(
            Problem::FirewallBlock,
            format!(
                "a firewall block page answered ({} with \"acme-protocol\" in the body, {by}): the firewall's application filter blocks ACME",
                a.status
            ),
        );
    }
    if lower.contains("testcookie") && lower.contains("__test") {
        return problem(
            Problem::FirewallBlock,
            format!(
                "nginx's testcookie module answered ({}, {by}): it demands a JavaScript cookie the validator cannot set",
                a.status
            ),
        );
    }
    let age = header(a, "age").and_then(|v| v.trim().parse::<u64>().ok());
    let cache_hit = header_values(a, "x-cache")
        .iter()
        .chain(header_values(a, "cf-cache-status").iter())
        .find(|v| v.to_ascii_lowercase().contains("hit"))
        .copied();
    if age.is_some_and(|n| n > 0) || cache_hit.is_some() {
        let mut why = Vec::new();
        if let Some(n) = age.filter(|n| *n > 0) {
            why.push(format!("Age: {n}"));
        }
        if let Some(h) = cache_hit {
            why.push(format!("cache status {h}"));
        }
        return problem(
            Problem::Cached,
            format!(
                "a cache answered ({} with {}, {by}): a cached answer never reaches the solver, so a fresh token is not seen",
                a.status,
                why.join(", ")
            ),
        );
    }
    match a.status {
        401 | 403 => {
            let what = if a.status == 401 {
                "authentication is required"
            } else {
                "access is forbidden"
            };
            let auth = header(a, "www-authenticate")
                .map(|v| format!(", WWW-Authenticate: {v}"))
                .unwrap_or_default();
            let cf = if cloudflare { " (Cloudflare)" } else { "" };
            problem(
                Problem::Auth,
                format!(
                    "answered {}: {what} on the challenge path{cf} ({by}{auth}); the validator sends no credentials",
                    a.status
                ),
            )
        }
        404 if a.body.trim_end() == "404 page not found" => Verdict::Healthy {
            kind: Healthy::Traefik404,
            text: "Traefik answers (404 page not found: routed, no solver for this token yet)"
                .into(),
        },
        200 if key_authorization_shape(&a.body)
            && a.body.starts_with(&format!("{PROBE_TOKEN}.")) =>
        {
            Verdict::Healthy {
                kind: Healthy::Solver,
                text: "a cert-manager solver answers with the key authorization".into(),
            }
        }
        200 if key_authorization_shape(&a.body) => problem(
            Problem::StaleToken,
            format!(
                "answered 200 with the key authorization of another token ({by}): a static or cached challenge response, not the solver"
            ),
        ),
        s if cloudflare && s >= 400 => problem(
            Problem::ProxyErrorPage,
            format!(
                "Cloudflare answered with its own error page ({s}, {by}{}): the proxy does not pass the challenge path to Traefik",
                header(a, "cf-ray")
                    .map(|r| format!(", CF-Ray: {r}"))
                    .unwrap_or_default()
            ),
        ),
        s @ 500..=599 => problem(
            Problem::ServerError,
            format!("answered {s}, a server error ({by}): the validator needs the token with 200"),
        ),
        404 => problem(
            Problem::NotRouted,
            format!(
                "answered 404 with a page that is not Traefik's ({by}, {}): the challenge path ends before Traefik",
                header(a, "content-type").unwrap_or("no Content-Type")
            ),
        ),
        s => problem(
            Problem::Unexpected,
            format!(
                "answered {s} ({by}, {}): neither Traefik's 404 nor a solver's token",
                header(a, "content-type").unwrap_or("no Content-Type")
            ),
        ),
    }
}

/// A walk that could not be made because evidence is missing (replay gap, DNS not configured).
pub struct Absent(pub EvidenceError);

/// Walks the challenge URL of `host` from `start` the way the validator does.
pub async fn walk(ctx: &Context, host: &str, start: IpAddr) -> Result<Walk, Absent> {
    walk_url(ctx, host, start, challenge_url(host)).await
}

/// Walks `url` (on `host`) from `start` the way the validator does.
pub async fn walk_url(
    ctx: &Context,
    host: &str,
    start: IpAddr,
    mut url: String,
) -> Result<Walk, Absent> {
    let family = if start.is_ipv6() { "AAAA" } else { "A" };
    let mut ip = start;
    let mut hops: Vec<Hop> = Vec::new();
    let done = |hops: Vec<Hop>, verdict: Verdict, last: Option<HttpAnswer>| {
        Ok(Walk {
            host: host.to_string(),
            start: start.to_string(),
            family,
            hops,
            verdict,
            last,
        })
    };
    loop {
        let answer = ctx.evidence.http.fetch(&probe(&url, &ip)).await;
        let mut hop = Hop {
            url: url.clone(),
            address: ip.to_string(),
            status: None,
            server: None,
            location: None,
            error: None,
        };
        let a = match answer {
            Err(e) if e.is_absent() => return Err(Absent(e)),
            Err(e) => {
                hop.error = Some(e.to_string());
                hops.push(hop);
                let kind = match &e {
                    EvidenceError::Probe { cause, .. } => match cause {
                        ProbeFailure::Refused => Problem::Refused,
                        ProbeFailure::ConnectTimeout => Problem::ConnectTimeout,
                        ProbeFailure::Timeout => Problem::Timeout,
                        ProbeFailure::Tls => Problem::Tls,
                        ProbeFailure::Protocol => Problem::Protocol,
                        ProbeFailure::Other => Problem::Unreachable,
                    },
                    EvidenceError::Timeout { .. } => Problem::Timeout,
                    _ => Problem::Unreachable,
                };
                let text = match kind {
                    Problem::Refused => format!("port {} refused the connection", port_of(&url)),
                    Problem::Timeout | Problem::ConnectTimeout => match &e {
                        EvidenceError::Probe { message, .. } => message.clone(),
                        _ => format!("no answer on port {} in time ({e})", port_of(&url)),
                    },
                    Problem::Tls => format!("the TLS handshake failed ({e})"),
                    Problem::Protocol => format!("the answer is not HTTP ({e})"),
                    _ => format!("cannot be fetched ({e})"),
                };
                return done(hops, Verdict::Problem { kind, text }, None);
            }
            Ok(a) => a,
        };
        hop.status = Some(a.status);
        hop.server = header(&a, "server").map(str::to_string);
        hop.location = header(&a, "location").map(str::to_string);
        hops.push(hop);
        let location = header(&a, "location").map(str::to_string);
        let last = Some(a.clone());
        let Some(location) = location.filter(|_| (300..400).contains(&a.status)) else {
            return done(hops, classify(&a), last);
        };
        let bad = |kind: Problem, text: String| Verdict::Problem { kind, text };
        if !matches!(a.status, 301 | 302 | 307 | 308) {
            let text = format!(
                "redirects with {} to {location}: Let's Encrypt follows only 301, 302, 307 and 308",
                a.status
            );
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        let redirects = hops.len();
        if redirects > MAX_REDIRECTS {
            let text = format!(
                "more than {MAX_REDIRECTS} redirects: Let's Encrypt gives up after {MAX_REDIRECTS}"
            );
            return done(hops, bad(Problem::TooManyRedirects, text), last);
        }
        let next = match reqwest::Url::parse(&url).and_then(|base| base.join(&location)) {
            Ok(n) => n,
            Err(e) => {
                let text = format!("redirects to {location:?}, which is not a URL ({e})");
                return done(hops, bad(Problem::BadRedirect, text), last);
            }
        };
        if !matches!(next.scheme(), "http" | "https") {
            let text = format!(
                "redirects to {next}, a {} URL: Let's Encrypt follows only http and https",
                next.scheme()
            );
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        if let Some(port) = next.port().filter(|p| !matches!(p, 80 | 443)) {
            let text = format!(
                "redirects to {next}, on port {port}: Let's Encrypt follows redirects only to ports 80 and 443"
            );
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        let next_host = next.host_str().unwrap_or_default().to_string();
        if next_host.ends_with(".well-known") {
            let text = format!(
                "redirects to {next}, whose host ends in .well-known: a slash is missing between the host and the path in the redirect rule"
            );
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        if let Some(why) = redirect_host_problem(&next_host) {
            let text = format!("redirects to {next}: {why}");
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        if next.path().len() > 2000 {
            let text = format!(
                "redirects to a path of {} bytes: Let's Encrypt accepts at most 2000",
                next.path().len()
            );
            return done(hops, bad(Problem::BadRedirect, text), last);
        }
        let next_url = next.to_string();
        if hops.iter().any(|h| h.url == next_url) {
            let text = format!("redirect loop: {} -> {next_url}", trail_urls(&hops));
            return done(hops, bad(Problem::RedirectLoop, text), last);
        }
        // The redirect target is resolved afresh, AAAA first, with no fallback to A after the first request.
        ip = match next_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(literal) => literal,
            Err(_) => match addresses(ctx, &next_host).await {
                Ok(addrs) => match addrs.all().next() {
                    Some(first) => first,
                    None => {
                        let text = format!(
                            "redirects to {next_url}, but {next_host} has no A or AAAA record{}",
                            notes(&addrs)
                        );
                        return done(hops, bad(Problem::BadRedirect, text), last);
                    }
                },
                Err(e) if e.is_absent() => return Err(Absent(e)),
                Err(e) => {
                    let text = format!(
                        "redirects to {next_url}, but {next_host} cannot be resolved ({e})"
                    );
                    return done(hops, bad(Problem::BadRedirect, text), last);
                }
            },
        };
        url = next_url;
    }
}

/// Why Let's Encrypt refuses a redirect target host, if it does: a reserved IP literal (a public IP is
/// accepted by current Boulder), or a name that does not end in a public top-level domain.
pub fn redirect_host_problem(host: &str) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return is_reserved(&ip).then(|| {
            format!("{ip} is a reserved address, which Let's Encrypt does not follow a redirect to")
        });
    }
    const NOT_PUBLIC: [&str; 8] = [
        "localhost",
        "local",
        "internal",
        "lan",
        "test",
        "invalid",
        "example",
        "home",
    ];
    let tld = bare
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or_default();
    if !bare.contains('.') || NOT_PUBLIC.contains(&tld) {
        return Some(format!(
            "{bare} does not end in a public top-level domain, which Let's Encrypt requires of a redirect target"
        ));
    }
    None
}

/// Loopback, private, link-local, CGNAT, documentation, multicast, unspecified, ULA and the like.
pub fn is_reserved(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || s[0] == 0x2002
                || v6.to_ipv4_mapped().is_some()
        }
    }
}

fn notes(a: &Addresses) -> String {
    if a.notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", a.notes.join(", "))
    }
}

fn trail_urls(hops: &[Hop]) -> String {
    hops.iter()
        .map(|h| h.url.as_str())
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn port_of(url: &str) -> u16 {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(80)
}

/// Walks every address of every host concurrently. Hosts without addresses come back in the second list.
pub async fn walk_all(
    ctx: &Context,
    hosts: &[String],
) -> Result<(Vec<(String, Addresses, Vec<Walk>)>, Vec<EvidenceError>), EvidenceError> {
    let per_host = futures::future::join_all(hosts.iter().map(|host| async move {
        let addrs = match addresses(ctx, host).await {
            Ok(a) => a,
            Err(e) => return Err(e),
        };
        let walks = futures::future::join_all(addrs.all().map(|ip| walk(ctx, host, ip))).await;
        let mut out = Vec::new();
        for w in walks {
            match w {
                Ok(w) => out.push(w),
                Err(Absent(e)) => return Err(e),
            }
        }
        Ok((host.clone(), addrs, out))
    }))
    .await;
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in per_host {
        match r {
            Ok(x) => ok.push(x),
            Err(e) if e.is_absent() => return Err(e),
            Err(e) => errors.push(e),
        }
    }
    Ok((ok, errors))
}

#[cfg(test)]
pub(crate) mod test_support;
