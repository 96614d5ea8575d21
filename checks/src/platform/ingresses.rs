use async_trait::async_trait;
use k8s_openapi::api::networking::v1::Ingress;
use mcp_doctor_remediations::Vars;

use super::list_in;
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The Ingresses in the platform namespaces have a load-balancer address in their status, and the
    /// configured public hosts (`platform.<domain>`, `registry.<domain>`, `mcp.<domain>` or the
    /// `MCP_*_INGRESS_HOST` overrides) each have a rule in one of them.
    ///
    /// ### Why it matters
    /// An Ingress without an address was never picked up by Traefik (wrong class, Traefik down or its
    /// Service `<pending>`); a host without a rule answers 404 however healthy the rest is. Both look like
    /// DNS or TLS problems from outside.
    ///
    /// ### What a failure looks like
    /// `Ingress mcp-sentinel/mcp-sentinel-platform-ui has no load-balancer address` or `no platform Ingress
    /// serves platform.example.com (hosts: platform.old.example.com)`.
    ///
    /// ### How to fix
    /// For a missing address see `ingress.exposure` and the Ingress's class (`kubectl -n <ns> describe ingress
    /// <name>`); for a host mismatch re-run setup with the domain the config names.
    pub struct Ingresses {
        id: "platform.ingresses",
        title: "Platform Ingresses have an address and the configured hosts",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::INGRESSES],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for Ingresses {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
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
        let mut findings = Vec::new();
        let mut subjects = Vec::new();
        let mut served: Vec<String> = Vec::new();
        for ing in &ingresses {
            let ns = ing.metadata.namespace.clone().unwrap_or_default();
            let name = ing.metadata.name.clone().unwrap_or_default();
            served.extend(
                ing.spec
                    .as_ref()
                    .and_then(|s| s.rules.as_ref())
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.host.clone()),
            );
            let has_address = ing
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|v| v.iter().any(|a| a.ip.is_some() || a.hostname.is_some()));
            if !has_address {
                let class = ing
                    .spec
                    .as_ref()
                    .and_then(|s| s.ingress_class_name.clone())
                    .map(|c| format!("class {c}"))
                    .unwrap_or_else(|| "no class".into());
                findings.push(format!(
                    "Ingress {ns}/{name} ({class}) has no load-balancer address"
                ));
                subjects.push(format!("ingress/{ns}/{name}"));
            }
        }
        let address_findings = findings.len();
        let hosts = ctx.config.public_hosts();
        for setting in [&hosts.platform, &hosts.registry, &hosts.mcp]
            .into_iter()
            .flatten()
        {
            let host = crate::settings::normalize_domain(&setting.value);
            // An address (an IP endpoint) is not an Ingress host.
            if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            if !served.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
                findings.push(format!(
                    "no platform Ingress serves {host} (hosts: {})",
                    if served.is_empty() {
                        "none".to_string()
                    } else {
                        served.join(", ")
                    }
                ));
                subjects.push(format!("host/{host}"));
            }
        }
        if findings.is_empty() {
            return Outcome::pass(format!(
                "{} platform Ingress(es) have an address and serve {}",
                ingresses.len(),
                served.join(", ")
            ));
        }
        let mut vars = Vars::new();
        vars.insert("namespace", layout.sentinel[0].clone());
        let rem = if address_findings > 0 {
            "rem.platform-ingress-no-address"
        } else {
            "rem.platform-rerun-setup"
        };
        Outcome::fail(findings.join("; "))
            .remediate(rem, ctx.distribution().await, &vars)
            .subjects(subjects)
    }
}
