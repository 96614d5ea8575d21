use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use super::{
    INGRESS, NAMESPACE, REGISTRY_API_VERSION, USER_AGENT, V2Answer, bundled_mode, describe_answer,
    header,
};
use crate::check::{Check, Context, unreadable};
use crate::config::registry_url::RegistryAddress;
use crate::declare_check;
use crate::evidence::{EvidenceError, HttpAnswer, HttpProbe, ProbeFailure, kinds};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// `GET https://registry.<domain>/v2/` (the configured public registry host; `--tls-connect ADDR` pins
    /// the connection to the ingress address while the host stays the URL's):
    ///
    /// - without credentials, 401 or 403 is healthy: the route reaches the registry or its admin guard
    ///   (`registry-admin-auth@file`); 200 from the registry warns (anyone can push and pull), and a 200
    ///   without its `docker-distribution-api-version` header is something else answering;
    /// - with the admin API key (`--api-key`, or `MCP_ADMIN_API_KEY`; sent only as the `x-api-key` header,
    ///   never recorded), 200 with `docker-distribution-api-version: registry/2.0` is healthy;
    /// - Traefik's own `404 page not found` (text/plain) means no router matches: misrouted;
    /// - an HTML page, a 413, a 5xx or a timeout means something in front (a proxy, CDN or WAF) answers
    ///   instead of the registry.
    ///
    /// It runs after `registry.service` and `registry.ingress-hosts`: a missing Service or a wrong rule host
    /// also ends in Traefik's 404, and is reported once, by those checks.
    ///
    /// ### Why it matters
    /// Developers push and nodes on the public TLS path pull through this route. A route that Traefik does
    /// not match, or a proxy that caps body sizes or rewrites answers, breaks `docker push` and image pulls
    /// while everything inside the cluster looks healthy.
    ///
    /// ### What a failure looks like
    /// `https://registry.example.com/v2/ is answered by Traefik's 404 page not found: no Ingress route
    /// matches registry.example.com/v2/` or `https://registry.example.com/v2/ answers an HTML page (403,
    /// server cloudflare): a proxy in front answers instead of the registry`.
    ///
    /// ### How to fix
    /// Fix the registry Ingress's host, class and middleware (`rem.registry-public-route-misrouted`), let
    /// the proxy pass `/v2/` with large bodies and auth headers (`rem.registry-public-route-proxy`), or use
    /// an admin API key the platform accepts (`rem.registry-api-key-rejected`).
    pub struct RegistryPublicRoute {
        id: "registry.public-route",
        title: "Public registry route reaches the registry",
        category: "registry",
        modes: Doctor,
        depends_on: ["registry.mode", "registry.service", "registry.ingress-hosts"],
        reads: [kinds::SECRETS],
        // Every namespaced read is of the bundled registry's own objects in namespace `registry`.
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for RegistryPublicRoute {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        ctx.config.public_hosts().registry.is_none().then(|| {
            "no public registry host is configured (MCP_PLATFORM_DOMAIN or MCP_REGISTRY_INGRESS_HOST)"
                .into()
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        if let Err(outcome) = bundled_mode(ctx).await {
            return outcome;
        }
        let host = ctx
            .config
            .public_hosts()
            .registry
            .map(|s| s.value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let (url, connect_to) = route(ctx, &host);
        let rem = Vars::from([
            ("host", host.clone()),
            ("namespace", NAMESPACE.to_string()),
            ("ingress", INGRESS.to_string()),
        ]);
        let route = Route {
            url: &url,
            host: &host,
            rem: &rem,
            distribution: ctx.distribution().await,
        };
        let mut probe = HttpProbe {
            method: "GET".into(),
            url: url.clone(),
            connect_to,
            headers: vec![(USER_AGENT.0.into(), USER_AGENT.1.into())],
        };
        let anonymous = match ctx.evidence.http.fetch(&probe).await {
            Ok(answer) => answer,
            Err(e) => return route.no_answer(&e),
        };
        let without = match V2Answer::read(&anonymous) {
            V2Answer::AuthGuard { status }
            | V2Answer::Registry {
                status: status @ 401,
                ..
            } => format!("{status} without credentials"),
            V2Answer::Registry {
                status: 200,
                api_header: true,
            } => {
                return Outcome::warn(format!(
                    "{url} answers 200 without credentials: anyone can push to and pull from the registry (the \
                     registry-admin-auth@file middleware is not applied)"
                ))
                .remediate(
                    "rem.registry-public-route-open",
                    route.distribution,
                    &rem,
                )
                .subject(format!("ingress/{NAMESPACE}/{INGRESS}"));
            }
            _ => return route.wrong_answer(&anonymous, "without credentials"),
        };
        let Some(key) = ctx.config.value("api_key") else {
            return Outcome::pass(format!(
                "{url} answers {without} (routed, auth required); the admin answer was not checked: no \
                 --api-key or MCP_ADMIN_API_KEY"
            ));
        };
        probe.headers.push(("x-api-key".into(), key.to_string()));
        let admin = match ctx.evidence.http.fetch(&probe).await {
            Ok(answer) => answer,
            Err(e) => return route.no_answer(&e),
        };
        match V2Answer::read(&admin) {
            V2Answer::Registry {
                status: 200,
                api_header: true,
            } => Outcome::pass(format!(
                "{url} answers {without}, and 200 with docker-distribution-api-version: {REGISTRY_API_VERSION} \
                 with the admin API key"
            )),
            V2Answer::Registry { status: 200, .. } => Outcome::fail(format!(
                "{url} answers 200 with the admin API key but without docker-distribution-api-version: \
                 {REGISTRY_API_VERSION} (got {}): something other than the registry answers",
                header(&admin, "docker-distribution-api-version").unwrap_or("none")
            ))
            .remediate("rem.registry-public-route-proxy", route.distribution, &rem)
            .subject(format!("host/{host}")),
            V2Answer::AuthGuard { status }
            | V2Answer::Registry {
                status: status @ 401,
                ..
            } => Outcome::fail(format!(
                "{url} answers {status} with the admin API key (x-api-key): the key is not accepted"
            ))
            .remediate("rem.registry-api-key-rejected", route.distribution, &rem)
            .subject(format!("host/{host}")),
            _ => route.wrong_answer(&admin, "with the admin API key"),
        }
    }
}

/// `https://<host>/v2/`, and the address `--tls-connect` pins the connection to (its port, when not 443,
/// goes into the URL: the probe takes the port from the URL).
fn route(ctx: &Context, host: &str) -> (String, Option<String>) {
    match ctx.config.value("tls_connect").map(RegistryAddress::parse) {
        Some(addr) => {
            let port = addr
                .port
                .filter(|p| *p != 443)
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            (format!("https://{host}{port}/v2/"), Some(addr.host))
        }
        None => (format!("https://{host}/v2/"), None),
    }
}

/// What the findings of one route share.
struct Route<'a> {
    url: &'a str,
    host: &'a str,
    rem: &'a Vars,
    distribution: Option<mcp_doctor_remediations::Distribution>,
}

impl Route<'_> {
    fn proxy(&self, message: String) -> Outcome {
        Outcome::fail(message)
            .remediate(
                "rem.registry-public-route-proxy",
                self.distribution,
                self.rem,
            )
            .subject(format!("host/{}", self.host))
    }

    /// An answer that is neither the registry nor its guard.
    fn wrong_answer(&self, answer: &HttpAnswer, how: &str) -> Outcome {
        let url = self.url;
        let seen = describe_answer(answer);
        match V2Answer::read(answer) {
            V2Answer::TraefikNotFound => Outcome::fail(format!(
                "{url} is answered by Traefik's 404 page not found {how}: no Ingress route matches {}/v2/ (misrouted)",
                self.host
            ))
            .remediate(
                "rem.registry-public-route-misrouted",
                self.distribution,
                self.rem,
            )
            .subject(format!("ingress/{NAMESPACE}/{INGRESS}")),
            V2Answer::HtmlPage { .. } => self.proxy(format!(
                "{url} answers an HTML page {how}: {seen}: a proxy, CDN or WAF in front answers instead of the registry"
            )),
            V2Answer::BodyTooLarge { .. } => self.proxy(format!(
                "{url} answers 413 {how}: {seen}: a proxy in front limits request bodies, so image pushes fail"
            )),
            _ => self.proxy(format!(
                "{url} answers {seen} {how}: neither the registry nor its auth guard (401/403) answers"
            )),
        }
    }

    fn no_answer(&self, e: &EvidenceError) -> Outcome {
        match e {
            EvidenceError::Probe {
                cause: ProbeFailure::Timeout | ProbeFailure::ConnectTimeout,
                message,
                ..
            } => self.proxy(format!(
                "{}: {message}: a proxy or firewall in front holds the connection",
                self.url
            )),
            EvidenceError::Probe { message, .. } => {
                self.proxy(format!("no answer from {}: {message}", self.url))
            }
            e => unreadable(&format!("the registry route {}", self.url), e),
        }
    }
}
