//! registry checks: the bundled (or external) image registry after install: which mode is in effect, its
//! Service and storage, whether `/v2/` answers over the scheme the install implies, its public route, the
//! registry Ingress's hosts, and the pull secrets workloads reference. (`registry.image-refs` lives with the
//! containerd checks, whose image-reference parser it shares.)
//!
//! What several of these checks share lives here: the names setup gives the bundled registry's objects, the
//! mode in effect ([`mode_in_effect`]), and how a `/v2/` answer is read ([`V2Answer`]).

mod ingress_hosts;
mod mode;
mod public_route;
mod pull_secrets;
mod reachable;
mod service;

pub use ingress_hosts::RegistryIngressHosts;
pub use mode::RegistryModeCheck;
pub use public_route::RegistryPublicRoute;
pub use pull_secrets::RegistryPullSecrets;
pub use reachable::RegistryReachable;
pub use service::RegistryService;

use serde::Serialize;
use serde_json::Value;

use crate::Check;
use crate::check::{Context, unreadable};
use crate::config::shown;
use crate::evidence::{HttpAnswer, kinds};
use crate::model::{Mode, Outcome};
use crate::settings::RequestedRegistryMode;

/// The registry checks in CHECKS.md row order (`registry.image-refs` is registered by `containerd`).
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(RegistryModeCheck),
        Box::new(RegistryService),
        Box::new(RegistryReachable),
        Box::new(RegistryPublicRoute),
        Box::new(RegistryIngressHosts),
        Box::new(RegistryPullSecrets),
    ]
}

/// The namespace, Service, Ingress and storage PVC setup gives the bundled registry.
pub const NAMESPACE: &str = "registry";
pub const SERVICE: &str = "registry";
pub const INGRESS: &str = "registry";
pub const STORAGE_PVC: &str = "registry-storage";
/// The Secret whose presence makes the registry pod serve HTTPS (setup's and `cluster doctor`'s signal).
pub const INTERNAL_TLS_SECRET: &str = "registry-internal-tls";
/// The registry Service's port and the NodePort the dev path's mirrors and hosts entries point at.
pub const SERVICE_PORT: i64 = 5000;
pub const NODE_PORT: i64 = 32000;

/// The registry mode in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryMode {
    BundledHttp,
    BundledHttps,
    External,
}

impl RegistryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryMode::BundledHttp => "bundled-http",
            RegistryMode::BundledHttps => "bundled-https",
            RegistryMode::External => "external",
        }
    }

    /// The scheme the bundled registry serves `/v2/` over; None for an external registry.
    pub fn scheme(self) -> Option<&'static str> {
        match self {
            RegistryMode::BundledHttp => Some("http"),
            RegistryMode::BundledHttps => Some("https"),
            RegistryMode::External => None,
        }
    }
}

/// The mode in effect, why, and where the configuration says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeInEffect {
    pub mode: RegistryMode,
    /// What decided it, for messages: `--registry-mode external`, `Secret registry/registry-internal-tls
    /// exists`.
    pub because: String,
    /// The configured mode disagrees with the cluster (doctor only): what a rerun of setup would change.
    pub conflict: Option<String>,
}

/// The registry mode in effect. Setup (and preflight) use the configured mode: `external` (or `auto` with an
/// external registry URL), else the bundled registry, served over HTTP unless `bundled-https` is asked for.
/// After install the cluster decides for the bundled registry: it serves HTTPS exactly when Secret
/// `registry/registry-internal-tls` exists. Err is the outcome of a check that cannot tell: an unknown mode
/// (`fail`) or an unreadable Secret (`error`/`skip`, never a guess).
pub async fn mode_in_effect(ctx: &Context) -> Result<ModeInEffect, Outcome> {
    let cfg = &ctx.config;
    let given = || shown(cfg, "registry_mode").unwrap_or_else(|| "registry mode auto".into());
    let requested = cfg.registry_mode();
    let configured = match &requested {
        RequestedRegistryMode::External => {
            let because = match shown(cfg, "external_registry_url") {
                Some(url) if cfg.value("registry_mode").unwrap_or("auto") == "auto" => {
                    format!("{url} (registry mode auto uses the external registry)")
                }
                _ => given(),
            };
            return Ok(ModeInEffect {
                mode: RegistryMode::External,
                because,
                conflict: None,
            });
        }
        RequestedRegistryMode::Unknown(value) => {
            return Err(Outcome::fail(format!(
                "{} is not a registry mode: setup accepts auto, bundled-http, bundled-https or external",
                shown(cfg, "registry_mode").unwrap_or_else(|| value.clone())
            ))
            .remediate("rem.registry-mode", None, &Default::default()));
        }
        RequestedRegistryMode::BundledHttps => Some(RegistryMode::BundledHttps),
        RequestedRegistryMode::BundledHttp => Some(RegistryMode::BundledHttp),
        RequestedRegistryMode::AutoBundled => None,
    };
    if ctx.mode == Mode::Setup {
        return Ok(ModeInEffect {
            mode: configured.unwrap_or(RegistryMode::BundledHttp),
            because: match configured {
                Some(_) => given(),
                None => "registry mode auto without an external registry URL (setup installs the bundled registry over HTTP)".into(),
            },
            conflict: None,
        });
    }
    let (mode, because) = installed_bundled_mode(ctx).await?;
    let conflict = configured.filter(|c| *c != mode).map(|c| {
        format!(
            "{} asks for {}, but {because}, so the registry serves {}",
            given(),
            c.as_str(),
            mode.scheme().unwrap_or_default().to_uppercase()
        )
    });
    Ok(ModeInEffect {
        mode,
        because,
        conflict,
    })
}

/// What the bundled registry speaks, as the cluster says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedScheme {
    pub https: bool,
    /// What says so: `Secret registry/registry-internal-tls exists`, or the `/v2/` answer of
    /// `registry.reachable`'s probe.
    pub because: String,
}

/// The scheme the bundled registry serves now, whatever a rerun of setup would install: `registry.reachable`'s
/// `/v2/` answer when its probe got one, else the installed mode (HTTPS exactly when Secret
/// `registry/registry-internal-tls` exists). Ok(None) for an external registry; Err when the Secret cannot
/// be read.
pub async fn served_scheme(ctx: &Context) -> Result<Option<ServedScheme>, Outcome> {
    if ctx.config.registry_mode() == RequestedRegistryMode::External {
        return Ok(None);
    }
    let (mode, because) = installed_bundled_mode(ctx).await?;
    let found = ModeInEffect {
        mode,
        because,
        conflict: None,
    };
    let (scheme, because) = match reachable::answered_scheme(ctx, &found).await {
        Some(answered) => answered,
        None => (mode.scheme().unwrap_or("http"), found.because),
    };
    Ok(Some(ServedScheme {
        https: scheme == "https",
        because,
    }))
}

/// The bundled registry as installed: it serves HTTPS exactly when Secret `registry/registry-internal-tls`
/// exists, and why; Err (`error`/`skip`) when the Secret cannot be read.
async fn installed_bundled_mode(ctx: &Context) -> Result<(RegistryMode, String), Outcome> {
    let secret = format!("Secret {NAMESPACE}/{INTERNAL_TLS_SECRET}");
    let exists = ctx
        .evidence
        .kube
        .get(&kinds::SECRETS, Some(NAMESPACE), INTERNAL_TLS_SECRET)
        .await
        .map_err(|e| unreadable(&secret, &e))?
        .is_some();
    Ok(if exists {
        (RegistryMode::BundledHttps, format!("{secret} exists"))
    } else {
        (
            RegistryMode::BundledHttp,
            format!("{secret} does not exist"),
        )
    })
}

/// The bundled registry's mode, for a check that judges the bundled registry's objects: `Err` is its
/// outcome when the mode cannot be read, or `skip` for an external registry (the bundled objects are not
/// installed).
pub async fn bundled_mode(ctx: &Context) -> Result<ModeInEffect, Outcome> {
    let found = mode_in_effect(ctx).await?;
    if found.mode == RegistryMode::External {
        return Err(Outcome::skip(format!(
            "the registry is external ({}): its Service, storage and routes belong to the external registry platform",
            found.because
        )));
    }
    Ok(found)
}

/// How a `/v2/` answer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V2Answer {
    /// The registry answered (200 or 401, with or without its `docker-distribution-api-version` header).
    Registry {
        status: u16,
        api_header: bool,
    },
    /// 401 or 403 that is not the registry's own: an auth guard in front of it (Traefik middleware).
    AuthGuard {
        status: u16,
    },
    /// Traefik's own `404 page not found` (text/plain): no router matches the host and path.
    TraefikNotFound,
    /// A Go server's answer to plain HTTP on its TLS port.
    HttpToHttpsPort,
    /// An HTML page (a proxy's or CDN's error or login page), with the server header if any.
    HtmlPage {
        status: u16,
        server: Option<String>,
    },
    /// 413: something in front refuses request bodies (registry pushes need large ones).
    BodyTooLarge {
        server: Option<String>,
    },
    Other {
        status: u16,
    },
}

/// The registry's API version header value.
pub const REGISTRY_API_VERSION: &str = "registry/2.0";

/// A header of an answer, by lower-case name.
pub fn header<'a>(answer: &'a HttpAnswer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl V2Answer {
    pub fn read(answer: &HttpAnswer) -> V2Answer {
        let api_header = header(answer, "docker-distribution-api-version")
            .is_some_and(|v| v.trim() == REGISTRY_API_VERSION);
        let content_type = header(answer, "content-type").unwrap_or_default();
        let server = header(answer, "server").map(str::to_string);
        let body = answer.body.trim_start();
        let html = content_type.starts_with("text/html")
            || body.starts_with("<!DOCTYPE")
            || body.starts_with("<!doctype")
            || body.starts_with("<html");
        match answer.status {
            200 | 401 if api_header => V2Answer::Registry {
                status: answer.status,
                api_header,
            },
            404 if answer.body == "404 page not found\n"
                && content_type.starts_with("text/plain") =>
            {
                V2Answer::TraefikNotFound
            }
            400 if answer
                .body
                .contains("Client sent an HTTP request to an HTTPS server") =>
            {
                V2Answer::HttpToHttpsPort
            }
            413 => V2Answer::BodyTooLarge { server },
            status if html => V2Answer::HtmlPage { status, server },
            401 | 403 => V2Answer::AuthGuard {
                status: answer.status,
            },
            200 => V2Answer::Registry {
                status: 200,
                api_header: false,
            },
            status => V2Answer::Other { status },
        }
    }
}

/// The text of a header-less answer, for messages: `404 (text/plain, "404 page not found")`.
pub fn describe_answer(answer: &HttpAnswer) -> String {
    let first_line = answer.body.lines().next().unwrap_or_default().trim();
    let shown: String = first_line.chars().take(80).collect();
    let content_type = header(answer, "content-type").unwrap_or("no content-type");
    match (shown.is_empty(), header(answer, "server")) {
        (true, None) => format!("{} ({content_type})", answer.status),
        (true, Some(s)) => format!("{} ({content_type}, server {s})", answer.status),
        (false, None) => format!("{} ({content_type}, {shown:?})", answer.status),
        (false, Some(s)) => format!("{} ({content_type}, server {s}, {shown:?})", answer.status),
    }
}

/// The registry port (5000) of the registry Service, if it has one.
fn registry_port(svc: &Value) -> Option<&Value> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| p.get("port").and_then(Value::as_i64) == Some(SERVICE_PORT))
}

/// A string field of an object by JSON pointer.
fn str_at<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer).and_then(Value::as_str)
}

/// The user agent of the registry probes.
const USER_AGENT: (&str, &str) = ("user-agent", "mcp-doctor");

#[cfg(test)]
mod tests;
