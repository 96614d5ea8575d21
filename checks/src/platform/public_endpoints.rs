use async_trait::async_trait;
use futures::future::join_all;
use k8s_openapi::api::networking::v1::Ingress;
use mcp_doctor_remediations::Vars;
use serde::Serialize;
use serde_json::Value;

use super::list_in;
use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{EvidenceError, HttpAnswer, HttpProbe, kinds};
use crate::http01::{addresses, served_by};
use crate::model::{CheckMeta, Outcome};
use crate::settings::normalize_domain;

declare_check! {
    /// ### What it checks
    /// The public routes answer as the seed's validation curls say a healthy platform does, asked at the
    /// first address the host resolves to (`http01.reachable` covers every address):
    /// `platform.<domain>/` 200; `/api/health` 401 without credentials; `/grafana/api/health` 401 without
    /// credentials and, with `--api-key` / `MCP_ADMIN_API_KEY`, 200; and `mcp.<domain>/<server>/mcp` 400 or
    /// 401 (405/406 too: the MCP server itself answered) for one MCPServer of the cluster. `https` is used for
    /// a host that a platform Ingress lists under `tls`, plain `http` otherwise; certificates are not judged
    /// here (`tls.public-endpoints` does that). The key is sent only as an `x-api-key` header: never in a URL,
    /// a pod or the journal (a recording names the header, not its value). An MCP host with no address to
    /// ask makes the check `warn` (never `pass`); a platform host with none makes it `skip`.
    ///
    /// ### Why it matters
    /// Objects can all be ready while the outside view is broken: Traefik without a route (`404 page not
    /// found`), a route to a backend with no endpoints (502/503), Grafana reachable without the
    /// `sentinel-admin-auth@file` guard, or a proxy in front of the platform answering with its own page.
    ///
    /// ### What a failure looks like
    /// `https://platform.example.com/api/health (via 203.0.113.10) answered 404 "404 page not found": Traefik
    /// has no route for this host and path` or `.../grafana/api/health answered 200 without credentials: the
    /// admin guard (sentinel-admin-auth@file) is not in front of Grafana`.
    ///
    /// ### How to fix
    /// The remediation follows the first problem: the Ingress and Traefik for a missing route, the backend's
    /// pods for a 5xx, the admin middleware for an open Grafana, the key for a rejected key, the proxy or
    /// DNS for a page that is not the platform's.
    pub struct PublicEndpoints {
        id: "platform.public-endpoints",
        title: "Public platform routes give the healthy answers",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::NAMESPACES, kinds::INGRESSES, kinds::MCP_SERVERS],
        read_scope: PlatformNamespaces,
    }
}

/// The header the platform reads an admin API key from (the seed's `curl -H "x-api-key: ..."`).
pub const API_KEY_HEADER: &str = "x-api-key";
const USER_AGENT: &str = "mcp-doctor (platform.public-endpoints)";
const GRAFANA_HEALTH: &str = "/grafana/api/health";

/// One request and the answers that mean healthy.
struct Expectation {
    url: String,
    address: String,
    with_key: bool,
    healthy: &'static [u16],
}

/// Why an answer is not the healthy one; each kind has its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    NoRoute,
    Backend,
    Unguarded,
    KeyRejected,
    NotThePlatform,
    NoAnswer,
}

impl Problem {
    fn remediation(self) -> &'static str {
        match self {
            Problem::NoRoute => "rem.platform-public-route",
            Problem::Backend => "rem.platform-endpoint-backend",
            Problem::Unguarded => "rem.platform-admin-guard",
            Problem::KeyRejected => "rem.platform-api-key",
            Problem::NotThePlatform | Problem::NoAnswer => "rem.platform-front-door",
        }
    }
}

/// What was asked and what came back, for the report's details (never a header value).
#[derive(Debug, Serialize)]
struct Row {
    url: String,
    address: String,
    with_api_key: bool,
    expected: &'static [u16],
    answer: String,
    healthy: bool,
}

#[async_trait]
impl Check for PublicEndpoints {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        ctx.config.public_hosts().platform.is_none().then(|| {
            "no platform host is configured (MCP_PLATFORM_DOMAIN or MCP_PLATFORM_INGRESS_HOST)"
                .into()
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let ingresses: Vec<Ingress> = match list_in(ctx, &kinds::INGRESSES, &layout.all).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        let servers: Vec<Value> = match list_in(ctx, &kinds::MCP_SERVERS, &layout.all).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let hosts = ctx.config.public_hosts();
        let Some(platform) = hosts.platform.map(|s| normalize_domain(&s.value)) else {
            return Outcome::skip("no platform host is configured");
        };
        let key = ctx.config.value("api_key");

        let mut expectations = Vec::new();
        let mut notes = Vec::new();
        let mut unasked: Option<String> = None;
        let (platform_url, platform_ip) = match base_url(ctx, &platform, &ingresses).await {
            Ok(b) => b,
            Err(o) => return o,
        };
        for (path, healthy) in [
            ("/", &[200][..]),
            ("/api/health", &[401][..]),
            (GRAFANA_HEALTH, &[401][..]),
        ] {
            expectations.push(Expectation {
                url: format!("{platform_url}{path}"),
                address: platform_ip.clone(),
                with_key: false,
                healthy,
            });
        }
        if key.is_some() {
            expectations.push(Expectation {
                url: format!("{platform_url}{GRAFANA_HEALTH}"),
                address: platform_ip.clone(),
                with_key: true,
                healthy: &[200],
            });
        } else {
            notes.push(
                "/grafana/api/health with a key not asked (no --api-key / MCP_ADMIN_API_KEY)"
                    .to_string(),
            );
        }
        let mcp = hosts.mcp.map(|s| normalize_domain(&s.value));
        match (first_route(&servers), mcp) {
            (Some(route), Some(mcp)) => match base_url(ctx, &mcp, &ingresses).await {
                Ok((mcp_url, mcp_ip)) => expectations.push(Expectation {
                    url: format!("{mcp_url}/{route}/mcp"),
                    address: mcp_ip,
                    with_key: false,
                    healthy: &[400, 401, 405, 406],
                }),
                // The platform host's answers still count; the route not asked keeps the check from a pass.
                Err(o) => {
                    unasked = Some(format!("the MCP route was not asked: {}", o.message));
                }
            },
            (None, _) => notes.push("no MCPServer yet, so no MCP route to ask".into()),
            (Some(_), None) => notes.push("no mcp host is configured".into()),
        }

        let answers = join_all(expectations.iter().map(|e| {
            let probe = probe(e, key);
            async move { ctx.evidence.http.fetch(&probe).await }
        }))
        .await;

        let mut rows = Vec::new();
        let mut findings: Vec<(Problem, String)> = Vec::new();
        let mut fine = Vec::new();
        let mut subjects: Vec<String> = Vec::new();
        for (e, answer) in expectations.iter().zip(&answers) {
            if let Err(err) = answer
                && err.is_absent()
            {
                return unreadable(&format!("the answer of {}", e.url), err);
            }
            let shown = shown_url(e);
            let verdict = judge(e, answer);
            rows.push(Row {
                url: e.url.clone(),
                address: e.address.clone(),
                with_api_key: e.with_key,
                expected: e.healthy,
                answer: match answer {
                    Ok(a) => format!("{} ({})", a.status, served_by(a)),
                    Err(err) => err.to_string(),
                },
                healthy: verdict.is_ok(),
            });
            match verdict {
                Ok(status) => fine.push(format!("{shown} {status}")),
                Err((problem, text)) => {
                    let subject = format!("host/{}", host_of(&e.url));
                    if !subjects.contains(&subject) {
                        subjects.push(subject);
                    }
                    findings.push((problem, format!("{shown} (via {}) {text}", e.address)))
                }
            }
        }
        if findings.is_empty() {
            let mut message = format!("{} (via {platform_ip})", fine.join(", "));
            if !notes.is_empty() {
                message.push_str(&format!("; {}", notes.join("; ")));
            }
            return match unasked {
                Some(why) => Outcome::warn(format!("{why}; {message}")),
                None => Outcome::pass(message),
            }
            .detail("probes", rows);
        }
        let first = findings[0].0;
        let mut vars = Vars::new();
        vars.insert("host", subjects[0].trim_start_matches("host/").to_string());
        vars.insert("namespace", layout.sentinel[0].clone());
        Outcome::fail(
            findings
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join("; "),
        )
        .detail("probes", rows)
        .remediate(first.remediation(), ctx.distribution().await, &vars)
        .subjects(subjects)
    }
}

/// `scheme://host` for a public host (https when a platform Ingress lists it under `tls`) and the address
/// it resolves to first; a host that does not resolve ends the check (`dns.resolve` says why).
async fn base_url(
    ctx: &Context,
    host: &str,
    ingresses: &[Ingress],
) -> Result<(String, String), Outcome> {
    let found = addresses(ctx, host)
        .await
        .map_err(|e| unreadable(&format!("the addresses of {host}"), &e))?;
    let Some(ip) = found.all().next() else {
        return Err(Outcome::skip(format!(
            "{host} has no address to ask{}; dns.resolve says why",
            if found.notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", found.notes.join(", "))
            }
        )));
    };
    let tls = ingresses.iter().any(|i| {
        i.spec
            .as_ref()
            .and_then(|s| s.tls.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|t| t.hosts.iter().flatten())
            .any(|h| h.eq_ignore_ascii_case(host))
    });
    let scheme = if tls { "https" } else { "http" };
    Ok((format!("{scheme}://{host}"), ip.to_string()))
}

/// The path prefix of the first MCPServer (by namespace and name) not being deleted: its
/// `spec.publicPathPrefix`, else its name.
fn first_route(servers: &[Value]) -> Option<String> {
    let mut live: Vec<&Value> = servers
        .iter()
        .filter(|s| s["metadata"]["deletionTimestamp"].is_null())
        .collect();
    live.sort_by_key(|s| {
        (
            s["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            s["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    });
    live.first().and_then(|s| {
        s["spec"]["publicPathPrefix"]
            .as_str()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .or_else(|| s["metadata"]["name"].as_str())
            .map(str::to_string)
    })
}

fn probe(e: &Expectation, key: Option<&str>) -> HttpProbe {
    let mut headers = vec![
        ("user-agent".to_string(), USER_AGENT.to_string()),
        ("accept".to_string(), "*/*".to_string()),
    ];
    if let (true, Some(key)) = (e.with_key, key) {
        headers.push((API_KEY_HEADER.to_string(), key.to_string()));
    }
    HttpProbe {
        method: "GET".into(),
        url: e.url.clone(),
        connect_to: Some(e.address.clone()),
        headers,
    }
}

fn shown_url(e: &Expectation) -> String {
    if e.with_key {
        format!("{} with {API_KEY_HEADER}", e.url)
    } else {
        e.url.clone()
    }
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url)
        .to_string()
}

/// The healthy status, or the problem and a sentence saying what answered instead.
fn judge(
    e: &Expectation,
    answer: &Result<HttpAnswer, EvidenceError>,
) -> Result<u16, (Problem, String)> {
    let a = match answer {
        Ok(a) => a,
        Err(err) => return Err((Problem::NoAnswer, format!("gave no answer: {err}"))),
    };
    if e.healthy.contains(&a.status) {
        return Ok(a.status);
    }
    let expected = e
        .healthy
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let by = served_by(a);
    let html = crate::http01::header(a, "content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("text/html"));
    let body = a.body.trim();
    if a.status == 404 && body == "404 page not found" {
        return Err((
            Problem::NoRoute,
            "answered 404 \"404 page not found\": Traefik has no route for this host and path"
                .into(),
        ));
    }
    if matches!(a.status, 502..=504) && !html {
        return Err((
            Problem::Backend,
            format!(
                "answered {} ({by}): the route exists but nothing healthy answers behind it",
                a.status
            ),
        ));
    }
    if !e.with_key && a.status == 200 && e.healthy.contains(&401) {
        let missing = if e.url.ends_with(GRAFANA_HEALTH) {
            "the admin guard (sentinel-admin-auth@file) is not in front of Grafana"
        } else {
            "the API does not ask for credentials"
        };
        return Err((
            Problem::Unguarded,
            format!("answered 200 without credentials: {missing}"),
        ));
    }
    if html {
        let title = html_title(body)
            .map(|t| format!(" \"{t}\""))
            .unwrap_or_default();
        return Err((
            Problem::NotThePlatform,
            format!(
                "answered {} with an HTML page{title} ({by}), expected {expected}: something in front of the platform answered, not the platform",
                a.status
            ),
        ));
    }
    if e.with_key && matches!(a.status, 401 | 403) {
        return Err((
            Problem::KeyRejected,
            format!(
                "answered {} with the API key: the key is not an admin key of this platform",
                a.status
            ),
        ));
    }
    if a.status == 404 {
        return Err((
            Problem::NoRoute,
            format!("answered 404 ({by}), expected {expected}: no route for this host and path"),
        ));
    }
    Err((
        Problem::NoRoute,
        format!("answered {} ({by}), expected {expected}", a.status),
    ))
}

/// The `<title>` of an HTML page, trimmed.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(body[start..end].trim().to_string()).filter(|t| !t.is_empty())
}
