use async_trait::async_trait;

use super::registry_url::dev_reason;
use super::{Finding, misread_bool, shown, vars, verdict};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};
use crate::settings::{RequestedRegistryMode, ResolvedConfig};

declare_check! {
    /// ### What it checks
    /// Only when `--strict-prod` (`MCP_STRICT_PROD=true`) is set and `--test-mode` is not (setup ignores
    /// strict mode in test mode): the run satisfies setup's production guardrails.
    ///
    /// - `--with-tls` is set.
    /// - The registry is either `--registry-mode external` with an external registry URL that is not
    ///   dev-only, or `--registry-mode bundled-https`. `bundled-http` and `auto` falling back to the bundled
    ///   registry are rejected. (`auto` with `PROVISIONED_REGISTRY_URL` set counts as external.)
    /// - An explicit `MCP_REGISTRY_ENDPOINT` is not dev-only.
    ///
    /// Dev-only means: `http://`, `localhost`, `registry.local`, any `*.local` (including
    /// `*.svc.cluster.local`), or an IP literal.
    ///
    /// ### Why it matters
    /// `--strict-prod` is how an operator says "this must be production-shaped"; setup stops on the first
    /// violated guardrail. Knowing every violation up front saves a round of reruns, and a dev-only registry
    /// endpoint in production means image pulls depend on `/etc/hosts` edits, insecure mirrors or IP
    /// certificates that break on the next node.
    ///
    /// ### What a failure looks like
    /// `--strict-prod rejects --registry-mode bundled-http (a plain HTTP registry); use --registry-mode
    /// bundled-https, or --registry-mode external with --external-registry-url`
    ///
    /// `--external-registry-url http://10.0.0.5:5000 is dev-only (it uses plain http://): --strict-prod
    /// rejects it; use the registry's HTTPS DNS name, e.g. --external-registry-url registry.example.com/mcp-runtime`
    ///
    /// ### How to fix
    /// Use one of the production shapes from the k3s guide (remediation `rem.strict-prod`):
    ///
    /// ```sh
    /// export MCP_REGISTRY_ENDPOINT=registry.example.com
    /// mcp-runtime setup --with-tls --acme-email ops@example.com --registry-mode bundled-https --strict-prod ...
    /// mcp-runtime setup --with-tls --acme-email ops@example.com --registry-mode external \
    ///   --external-registry-url registry.example.com/mcp-runtime --strict-prod ...
    /// ```
    pub struct StrictProd {
        id: "config.strict-prod",
        title: "--strict-prod guardrails are met",
        category: "config",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

#[async_trait]
impl Check for StrictProd {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        let cfg = &ctx.config;
        if !cfg.flag("strict_prod") {
            return Some(match misread_bool(cfg, "strict_prod") {
                Some(given) => format!(
                    "--strict-prod is not in effect: setup reads {given} as false (only 1 or true)"
                ),
                None => "--strict-prod is not set".into(),
            });
        }
        cfg.flag("test_mode")
            .then(|| "--test-mode is set: setup ignores --strict-prod".into())
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let rem = vars([("registry_host", registry_host(cfg))]);
        let mut findings = Vec::new();
        if !cfg.flag("with_tls") {
            findings.push(Finding::fail(
                "--strict-prod requires --with-tls; add --with-tls with --acme-email or --tls-cluster-issuer",
                "rem.strict-prod",
                rem.clone(),
            ));
        }

        let mode = cfg.value("registry_mode").unwrap_or("auto");
        let external_url = shown(cfg, "external_registry_url");
        let shape = match cfg.registry_mode() {
            RequestedRegistryMode::External => {
                match (&external_url, cfg.value("external_registry_url")) {
                    (Some(given), Some(url)) => {
                        if let Some(reason) = dev_reason(url) {
                            findings.push(Finding::fail(
                            format!(
                                "{given} is dev-only ({reason}): --strict-prod rejects it; use the registry's HTTPS DNS name, \
                                 e.g. --external-registry-url {}/mcp-runtime",
                                registry_host(cfg)
                            ),
                            "rem.strict-prod",
                            rem.clone(),
                        ));
                        }
                        format!("external registry {url}")
                    }
                    _ => {
                        findings.push(Finding::fail(
                        "--registry-mode external has no registry URL: set --external-registry-url (or PROVISIONED_REGISTRY_URL) \
                         to the registry's HTTPS DNS name",
                        "rem.strict-prod",
                        rem.clone(),
                    ));
                        "external registry without URL".into()
                    }
                }
            }
            RequestedRegistryMode::BundledHttps => {
                endpoint_findings(cfg, &mut findings, &rem);
                "bundled HTTPS registry".into()
            }
            RequestedRegistryMode::BundledHttp => {
                findings.push(Finding::fail(
                    "--strict-prod rejects --registry-mode bundled-http (a plain HTTP registry); use --registry-mode \
                     bundled-https, or --registry-mode external with --external-registry-url",
                    "rem.strict-prod",
                    rem.clone(),
                ));
                "bundled HTTP registry".into()
            }
            RequestedRegistryMode::AutoBundled => {
                findings.push(Finding::fail(
                    "--strict-prod rejects --registry-mode auto without an external registry (it installs the bundled \
                     registry over plain HTTP); use --registry-mode bundled-https, or --registry-mode external with \
                     --external-registry-url",
                    "rem.strict-prod",
                    rem.clone(),
                ));
                "implicit bundled registry".into()
            }
            RequestedRegistryMode::Unknown(other) => {
                let given = shown(cfg, "registry_mode").unwrap_or_else(|| other.clone());
                findings.push(Finding::fail(
                    format!("{given} is not a registry mode: setup accepts auto, bundled-http, bundled-https or external; use --registry-mode bundled-https"),
                    "rem.strict-prod",
                    rem.clone(),
                ));
                format!("unknown registry mode {other}")
            }
        };
        verdict(
            findings,
            format!("--strict-prod guardrails met: --with-tls and {shape}"),
        )
        .detail("registry_mode", mode)
        .detail("registry", shape)
    }
}

/// The explicit internal endpoint must not be dev-only; without one, bundled HTTPS pulls from the in-cluster
/// service name, which nodes do not resolve on their own.
fn endpoint_findings(
    cfg: &ResolvedConfig,
    findings: &mut Vec<Finding>,
    rem: &mcp_doctor_remediations::Vars,
) {
    let host = registry_host(cfg);
    match (cfg.value("registry_endpoint"), shown(cfg, "registry_endpoint")) {
        (Some(endpoint), Some(given)) => {
            if let Some(reason) = dev_reason(endpoint) {
                findings.push(Finding::fail(
                    format!("{given} is dev-only ({reason}): --strict-prod rejects a dev-like internal endpoint; set MCP_REGISTRY_ENDPOINT={host}"),
                    "rem.strict-prod",
                    rem.clone(),
                ));
            }
        }
        _ => findings.push(Finding::warn(
            format!(
                "MCP_REGISTRY_ENDPOINT is not set: bundled HTTPS renders platform images as \
                 registry.registry.svc.cluster.local:5000/..., a dev-only in-cluster name nodes do not resolve by default; \
                 set MCP_REGISTRY_ENDPOINT={host}"
            ),
            "rem.strict-prod",
            rem.clone(),
        )),
    }
}

/// The public registry host the fix should name: `registry.<domain>` or the explicit ingress host.
fn registry_host(cfg: &ResolvedConfig) -> String {
    cfg.public_hosts()
        .registry
        .map(|s| s.value.trim().to_string())
        .unwrap_or_else(|| "registry.example.com".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect};

    fn strict() -> Case {
        Case::new()
            .flag("strict_prod", "true")
            .flag("with_tls", "true")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
    }

    #[tokio::test]
    async fn not_applicable_without_strict_prod_or_in_test_mode() {
        let o = Case::new().run(&StrictProd).await;
        expect(&o, Status::Skip, &["--strict-prod is not set"]);
        let o = Case::new()
            .env("MCP_STRICT_PROD", "yes")
            .run(&StrictProd)
            .await;
        expect(&o, Status::Skip, &["MCP_STRICT_PROD=yes as false"]);
        let o = strict().flag("test_mode", "true").run(&StrictProd).await;
        expect(&o, Status::Skip, &["setup ignores --strict-prod"]);
    }

    #[tokio::test]
    async fn production_shapes_pass() {
        let o = strict()
            .flag("registry_mode", "bundled-https")
            .env("MCP_REGISTRY_ENDPOINT", "registry.example.com")
            .run(&StrictProd)
            .await;
        expect(&o, Status::Pass, &["guardrails met", "bundled HTTPS"]);
        let o = strict()
            .flag("registry_mode", "external")
            .flag("external_registry_url", "registry.example.com/mcp-runtime")
            .run(&StrictProd)
            .await;
        expect(
            &o,
            Status::Pass,
            &["external registry registry.example.com/mcp-runtime"],
        );
    }

    #[tokio::test]
    async fn dev_shapes_fail() {
        let o = strict().run(&StrictProd).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "rejects --registry-mode auto",
                "use --registry-mode bundled-https",
            ],
        );
        assert_eq!(rem, "rem.strict-prod");
        let o = strict()
            .flag("registry_mode", "external")
            .flag("external_registry_url", "http://10.0.0.5:5000")
            .run(&StrictProd)
            .await;
        expect(
            &o,
            Status::Fail,
            &["--external-registry-url http://10.0.0.5:5000 is dev-only (it uses plain http://)"],
        );
        let o = Case::new()
            .flag("strict_prod", "true")
            .flag("registry_mode", "bundled-http")
            .run(&StrictProd)
            .await;
        expect(
            &o,
            Status::Fail,
            &["--strict-prod requires --with-tls", "and 1 more"],
        );
        let o = strict()
            .flag("registry_mode", "bundled-https")
            .env("MCP_REGISTRY_ENDPOINT", "registry.local:5000")
            .run(&StrictProd)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "MCP_REGISTRY_ENDPOINT=registry.local:5000 is dev-only",
                "MCP_REGISTRY_ENDPOINT=registry.example.com",
            ],
        );
    }
}
