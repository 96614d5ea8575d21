use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;
use mcp_doctor_remediations::Vars;

use super::{
    INTERNAL_TLS_SECRET, ModeInEffect, NAMESPACE, SERVICE, USER_AGENT, V2Answer, bundled_mode,
    describe_answer, registry_port,
};
use crate::check::{Check, Context, unreadable};
use crate::config::registry_url::RegistryAddress;
use crate::declare_check;
use crate::evidence::{EvidenceError, HttpProbe, ProbeFailure, kinds};
use crate::facts::{node_condition, node_name, nodes_to_judge};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The bundled registry answers `GET /v2/` with 200 (open) or 401 (auth required) over the scheme the
    /// install implies: HTTPS exactly when Secret `registry/registry-internal-tls` exists (see
    /// `registry.mode`), else plain HTTP. Certificates are not verified here (`tls.registry-internal-cert`
    /// and the nodes' CA trust judge them); only the scheme and the answer are.
    ///
    /// Where it probes: from where mcp-doctor runs, the registry Service's ClusterIP and cluster DNS are
    /// usually unreachable, but its NodePort (32000) answers on every node address, the same path the dev
    /// mirrors (`http://127.0.0.1:32000`) take on the nodes. So the probe goes to the NodePort on the
    /// InternalIP of the first Ready node (by name). When that address is not reachable from here (a
    /// workstation outside the node network), `--registry-url URL` (or `MCP_DOCTOR_REGISTRY_URL`) names
    /// another `host:port` that reaches the registry, such as a port-forward; only its host and port are
    /// used, the scheme is still the one the install implies.
    ///
    /// ### Why it matters
    /// A registry that speaks HTTP while `registry-internal-tls` exists (or HTTPS without it) breaks every
    /// pull configured for the other scheme (`http: server gave HTTP response to HTTPS client`), and a
    /// registry that does not answer at all fails every push and pull of platform and MCP server images.
    ///
    /// ### What a failure looks like
    /// `Secret registry/registry-internal-tls exists, but 10.0.0.11:32000 (NodePort 32000 on node mcp-cp-1)
    /// answers plain HTTP (401) instead of HTTPS` or `no answer from the registry at
    /// http://10.0.0.11:32000/v2/: connection to 10.0.0.11:32000 refused`.
    ///
    /// ### How to fix
    /// Restart the registry so it picks up (or drops) the internal certificate, or rerun setup with the
    /// intended `--registry-mode` (`rem.registry-scheme-mismatch`); for no answer, look at the registry pod
    /// and the NodePort path (`rem.registry-unreachable`).
    pub struct RegistryReachable {
        id: "registry.reachable",
        title: "Bundled registry answers /v2/ over the scheme the install implies",
        category: "registry",
        modes: Doctor,
        depends_on: ["registry.mode", "registry.service"],
        reads: [kinds::SERVICES, kinds::NODES, kinds::SECRETS],
        // Every namespaced read is of the bundled registry's own objects in namespace `registry`.
        read_scope: PlatformNamespaces,
    }
}

/// Where the registry is reached from here: `host:port` and how it was chosen.
struct Target {
    authority: String,
    via: String,
}

#[async_trait]
impl Check for RegistryReachable {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let found = match bundled_mode(ctx).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let target = match target(ctx).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let scheme = found.mode.scheme().unwrap_or("http");
        let url = format!("{scheme}://{}/v2/", target.authority);
        judge(ctx, &found, &target, &url)
            .await
            .detail("url", &url)
            .detail("via", &target.via)
            .detail("mode", found.mode)
    }
}

/// The scheme the registry answered this check's `/v2/` probe over, and the answer that says so: `https`
/// when the HTTPS probe answered 200/401 or plain HTTP got the 400 of an HTTPS port, `http` when the HTTP
/// probe answered 200/401 or the HTTPS probe failed its handshake and plain HTTP answered. None without such
/// an answer (not probed, not recorded, unreachable, not a registry).
pub(super) async fn answered_scheme(
    ctx: &Context,
    found: &ModeInEffect,
) -> Option<(&'static str, String)> {
    let scheme = found.mode.scheme()?;
    let target = target(ctx).await.ok()?;
    let url = format!("{scheme}://{}/v2/", target.authority);
    match ctx.evidence.http.fetch(&probe(&url)).await {
        Ok(a) if matches!(a.status, 200 | 401) => {
            Some((scheme, format!("{url} answered {}", a.status)))
        }
        Ok(a) if V2Answer::read(&a) == V2Answer::HttpToHttpsPort => {
            Some(("https", format!("{url} answered {}", describe_answer(&a))))
        }
        Err(EvidenceError::Probe {
            cause: ProbeFailure::Tls | ProbeFailure::Protocol,
            ..
        }) if scheme == "https" => {
            let plain = format!("http://{}/v2/", target.authority);
            let a = ctx.evidence.http.fetch(&probe(&plain)).await.ok()?;
            matches!(a.status, 200 | 401)
                .then(|| ("http", format!("{plain} answered {} (no TLS)", a.status)))
        }
        _ => None,
    }
}

fn probe(url: &str) -> HttpProbe {
    HttpProbe {
        method: "GET".into(),
        url: url.to_string(),
        connect_to: None,
        headers: vec![(USER_AGENT.0.into(), USER_AGENT.1.into())],
    }
}

async fn judge(ctx: &Context, found: &ModeInEffect, target: &Target, url: &str) -> Outcome {
    let at = format!("{} ({})", target.authority, target.via);
    let rem = Vars::from([
        ("address", target.authority.clone()),
        ("namespace", NAMESPACE.to_string()),
        ("mode", found.mode.as_str().to_string()),
    ]);
    let distribution = ctx.distribution().await;
    let scheme_mismatch = |message: String| {
        Outcome::fail(message)
            .remediate("rem.registry-scheme-mismatch", distribution, &rem)
            .subject(format!("service/{NAMESPACE}/{SERVICE}"))
    };
    let unreachable = |message: String| {
        Outcome::fail(message)
            .remediate("rem.registry-unreachable", distribution, &rem)
            .subject(format!("service/{NAMESPACE}/{SERVICE}"))
    };
    let https = found.mode.scheme() == Some("https");
    match ctx.evidence.http.fetch(&probe(url)).await {
        Ok(answer) if matches!(answer.status, 200 | 401) => Outcome::pass(format!(
            "{url} answers {} over {} ({}; {})",
            answer.status,
            if https { "HTTPS" } else { "HTTP" },
            found.because,
            target.via
        )),
        Ok(answer) if V2Answer::read(&answer) == V2Answer::HttpToHttpsPort => {
            scheme_mismatch(format!(
                "{at} serves HTTPS, but {}: the install implies plain HTTP, so pulls configured for HTTP fail",
                found.because
            ))
        }
        Ok(answer) => unreachable(format!(
            "{url} answers {}: not a registry's /v2/ (200 or 401)",
            describe_answer(&answer)
        )),
        Err(EvidenceError::Probe {
            cause: ProbeFailure::Tls | ProbeFailure::Protocol,
            message,
            ..
        }) if https => {
            let plain = format!("http://{}/v2/", target.authority);
            match ctx.evidence.http.fetch(&probe(&plain)).await {
                Ok(answer) => scheme_mismatch(format!(
                    "Secret {NAMESPACE}/{INTERNAL_TLS_SECRET} exists, but {at} answers plain HTTP ({}) instead of HTTPS: \
                     the registry pod does not serve the internal certificate",
                    answer.status
                )),
                Err(_) => unreachable(format!(
                    "no HTTPS answer from the registry at {url}: {message}"
                )),
            }
        }
        Err(EvidenceError::Probe { message, .. }) => {
            unreachable(format!("no answer from the registry at {url}: {message}"))
        }
        Err(e) => unreadable(&format!("the registry's /v2/ at {url}"), &e),
    }
}

/// `--registry-url`'s host and port, else the registry Service's NodePort on the first Ready node's
/// InternalIP.
async fn target(ctx: &Context) -> Result<Target, Outcome> {
    if let Some(raw) = ctx.config.value("registry_url") {
        let addr = RegistryAddress::parse(raw);
        if addr.host.is_empty() || addr.port.is_none() {
            return Err(Outcome::error(format!(
                "--registry-url {raw} has no host:port to probe (e.g. http://127.0.0.1:5000)"
            )));
        }
        return Ok(Target {
            authority: addr.host_port(),
            via: format!("--registry-url {raw}"),
        });
    }
    let shown = format!("Service {NAMESPACE}/{SERVICE}");
    let svc = ctx
        .evidence
        .kube
        .get(&kinds::SERVICES, Some(NAMESPACE), SERVICE)
        .await
        .map_err(|e| unreadable(&shown, &e))?
        .ok_or_else(|| Outcome::skip(format!("{shown} does not exist (registry.service)")))?;
    let node_port = registry_port(&svc)
        .and_then(|p| p.get("nodePort"))
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| {
            Outcome::skip(format!(
                "{shown} has no NodePort to probe from here (registry.service); pass --registry-url to probe another address"
            ))
        })?;
    let judged = nodes_to_judge(ctx).await?;
    let mut nodes: Vec<&Node> = judged.iter().collect();
    nodes.sort_by(|a, b| node_name(a).cmp(node_name(b)));
    let (node, ip) = nodes
        .iter()
        .filter(|n| node_condition(n, "Ready").is_some_and(|c| c.status == "True"))
        .find_map(|n| internal_ip(n).map(|ip| (node_name(n).to_string(), ip)))
        .ok_or_else(|| {
            Outcome::skip(
                "no Ready node with an InternalIP to reach the NodePort on (nodes.ready); pass --registry-url to probe another address",
            )
        })?;
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.clone()
    };
    Ok(Target {
        authority: format!("{host}:{node_port}"),
        via: format!("NodePort {node_port} on node {node}"),
    })
}

fn internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}
