use async_trait::async_trait;
use serde_json::Value;

use super::{INGRESS, NAMESPACE, bundled_mode};
use crate::check::{Check, Context, unreadable};
use crate::config::{Finding, shown, vars, verdict};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The registry Ingress `registry/registry` agrees with the configuration: the configured registry host
    /// (`MCP_REGISTRY_INGRESS_HOST`, else `registry.<domain>`) is one of its rule hosts; with TLS (`--with-tls`
    /// or any `spec.tls`) every rule host is among its TLS hosts; and no rule host is a stale name that is
    /// neither the registry nor the mcp host (left from an earlier domain; warns).
    ///
    /// ### Why it matters
    /// Traefik routes by the rule host: a registry Ingress still on an old or placeholder host answers
    /// `registry.<domain>/v2/` with its own `404 page not found`, and a rule host missing from the TLS hosts
    /// is served Traefik's self-signed default certificate, which nodes and `docker login` refuse.
    ///
    /// ### What a failure looks like
    /// `Ingress registry/registry routes registry.local, but the configured registry host is
    /// registry.example.com: Traefik answers registry.example.com/v2/ with 404 page not found`.
    ///
    /// ### How to fix
    /// Patch the rule (and TLS) host to the configured one, or rerun setup with the right
    /// `MCP_PLATFORM_DOMAIN` / `MCP_REGISTRY_INGRESS_HOST` (`rem.registry-ingress-hosts`).
    pub struct RegistryIngressHosts {
        id: "registry.ingress-hosts",
        title: "Registry Ingress hosts match the configured registry host",
        category: "registry",
        modes: Doctor,
        depends_on: ["cluster.api-reachable", "registry.mode"],
        reads: [kinds::INGRESSES, kinds::SECRETS],
        // Every namespaced read is of the bundled registry's own objects in namespace `registry`.
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for RegistryIngressHosts {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        ctx.config.public_hosts().registry.is_none().then(|| {
            "no public registry host is configured (MCP_PLATFORM_DOMAIN or MCP_REGISTRY_INGRESS_HOST): the registry has no Ingress to judge"
                .into()
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        if let Err(outcome) = bundled_mode(ctx).await {
            return outcome;
        }
        let hosts = ctx.config.public_hosts();
        let lower = |s: &crate::settings::Setting| s.value.trim().to_ascii_lowercase();
        let expected = hosts.registry.as_ref().map(lower).unwrap_or_default();
        let configured = shown(ctx.config.as_ref(), "registry_ingress_host")
            .or_else(|| shown(ctx.config.as_ref(), "registry_host"))
            .unwrap_or_else(|| expected.clone());
        let known: Vec<String> = [hosts.registry.as_ref(), hosts.mcp.as_ref()]
            .into_iter()
            .flatten()
            .map(lower)
            .collect();
        let shown_ingress = format!("Ingress {NAMESPACE}/{INGRESS}");
        let ingress = match ctx
            .evidence
            .kube
            .get(&kinds::INGRESSES, Some(NAMESPACE), INGRESS)
            .await
        {
            Ok(i) => i,
            Err(e) => return unreadable(&shown_ingress, &e),
        };
        let subject = format!("ingress/{NAMESPACE}/{INGRESS}");
        let Some(ingress) = ingress else {
            return verdict(
                vec![Finding::fail(
                    format!(
                        "{shown_ingress} does not exist: Traefik answers {expected}/v2/ with 404 page not found"
                    ),
                    "rem.registry-ingress-hosts",
                    vars([("host", expected.clone()), ("rule", "0".into())]),
                )],
                "",
            )
            .subject(subject);
        };
        let rule_hosts = strings(&ingress, "/spec/rules", |r| {
            r.get("host").and_then(Value::as_str).map(|h| vec![h])
        });
        let tls_hosts = strings(&ingress, "/spec/tls", |t| {
            t.get("hosts")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
        });
        let mut findings = Vec::new();
        if !rule_hosts.contains(&expected) {
            findings.push(Finding::fail(
                format!(
                    "{shown_ingress} routes {}, but the configured registry host is {configured}: Traefik answers \
                     {expected}/v2/ with 404 page not found",
                    listed(&rule_hosts)
                ),
                "rem.registry-ingress-hosts",
                vars([("host", expected.clone()), ("rule", "0".into())]),
            ));
        }
        if ctx.config.flag("with_tls") || !tls_hosts.is_empty() {
            for (i, host) in rule_hosts.iter().enumerate() {
                if !tls_hosts.contains(host) {
                    findings.push(Finding::fail(
                        format!(
                            "{shown_ingress} routes {host} but its TLS hosts are {}: Traefik serves its self-signed \
                             default certificate for {host}",
                            listed(&tls_hosts)
                        ),
                        "rem.registry-ingress-hosts",
                        vars([("host", host.clone()), ("rule", i.to_string())]),
                    ));
                }
            }
        }
        for (i, host) in rule_hosts.iter().enumerate() {
            if !known.contains(host) {
                findings.push(Finding::warn(
                    format!(
                        "{shown_ingress} also routes {host}, which is neither the registry host {expected} nor the mcp \
                         host: a stale rule from an earlier configuration"
                    ),
                    "rem.registry-ingress-hosts",
                    vars([("host", expected.clone()), ("rule", i.to_string())]),
                ));
            }
        }
        let problems = !findings.is_empty();
        let out = verdict(
            findings,
            format!(
                "{shown_ingress} routes {} with TLS hosts {}; the configured registry host {expected} is among them",
                listed(&rule_hosts),
                listed(&tls_hosts)
            ),
        )
        .detail("rule_hosts", &rule_hosts)
        .detail("tls_hosts", &tls_hosts)
        .detail("expected", &expected);
        if problems { out.subject(subject) } else { out }
    }
}

/// The lower-cased strings `pick` finds in each element of an array field.
fn strings(o: &Value, pointer: &str, pick: impl Fn(&Value) -> Option<Vec<&str>>) -> Vec<String> {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(pick)
        .flatten()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

fn listed(hosts: &[String]) -> String {
    if hosts.is_empty() {
        "no host".into()
    } else {
        hosts.join(", ")
    }
}
