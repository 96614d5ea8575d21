use async_trait::async_trait;

use super::registry_url::{RegistryAddress, dev_reason};
use super::{Finding, shown, vars, verdict};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome, Status};
use crate::settings::RequestedRegistryMode;

declare_check! {
    /// ### What it checks
    /// On the public TLS path (`--with-tls` with `MCP_PLATFORM_DOMAIN` or `MCP_REGISTRY_INGRESS_HOST`, and the
    /// bundled registry: `--registry-mode bundled-https`, or `auto` without an external registry URL), that
    /// `MCP_REGISTRY_ENDPOINT` is set to the public registry host, `registry.<domain>`:
    ///
    /// - unset: fail. Setup's `auto` mode refuses to start without it, and without it kubelet pulls platform
    ///   images from `registry.registry.svc.cluster.local:5000`, a name the public certificate does not cover
    ///   and nodes do not resolve.
    /// - an IP literal such as the registry Service ClusterIP (`10.43.x.x:5000`): fail. The certificate has
    ///   no IP SANs.
    /// - a scheme (`https://...`) or a dev-only name (`registry.local`, `*.svc.cluster.local`, `localhost`):
    ///   fail.
    /// - another DNS name, or the right host on a port other than 443: warning, since a private internal
    ///   endpoint is allowed but must resolve and be trusted on every node.
    ///
    /// Other runs (no TLS, no public domain, external registry) are not applicable.
    ///
    /// ### Why it matters
    /// `MCP_REGISTRY_ENDPOINT` is the exact host kubelet pulls the operator, gateway proxy and Sentinel images
    /// from. It must match the certificate's names: containerd verifies the pull host against the SANs, and
    /// the Let's Encrypt or enterprise certificate for `registry.<domain>` covers neither the ClusterIP nor
    /// the in-cluster service name. The mistake surfaces only after setup has pushed every image, as
    /// `ErrImagePull` on the platform pods.
    ///
    /// ### What a failure looks like
    /// `MCP_REGISTRY_ENDPOINT=10.43.12.7:5000 is an IP address: kubelet pulls fail with "x509: cannot validate
    /// certificate for 10.43.12.7 because it doesn't contain any IP SANs"; set MCP_REGISTRY_ENDPOINT=registry.example.com`
    ///
    /// ### How to fix
    /// Before setup (remediation `rem.registry-endpoint`):
    ///
    /// ```sh
    /// export MCP_REGISTRY_ENDPOINT=registry.example.com
    /// ```
    ///
    /// and make sure `registry.example.com` resolves from every node to the ingress address.
    pub struct RegistryEndpoint {
        id: "config.registry-endpoint",
        title: "MCP_REGISTRY_ENDPOINT is the public registry host on the public TLS path",
        category: "config",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

const SERVICE_DNS: &str = "registry.registry.svc.cluster.local:5000";

#[async_trait]
impl Check for RegistryEndpoint {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        let cfg = &ctx.config;
        if !cfg.flag("with_tls") {
            return Some("TLS is not requested (--with-tls): the registry endpoint only has to match a certificate on the public TLS path".into());
        }
        if cfg.platform_domain().is_none() && cfg.value("registry_ingress_host").is_none() {
            return Some("no public registry host: neither MCP_PLATFORM_DOMAIN nor MCP_REGISTRY_INGRESS_HOST is set".into());
        }
        match cfg.registry_mode() {
            RequestedRegistryMode::BundledHttps | RequestedRegistryMode::AutoBundled => None,
            RequestedRegistryMode::External if cfg.value("registry_mode").unwrap_or("auto") == "auto" => Some(
                "registry mode auto uses the external registry (PROVISIONED_REGISTRY_URL is set)"
                    .into(),
            ),
            _ => Some(format!(
                "registry mode {} does not pull platform images from the bundled registry's public host",
                cfg.value("registry_mode").unwrap_or("auto")
            )),
        }
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let expected = cfg
            .public_hosts()
            .registry
            .map(|s| s.value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let rem = |endpoint: &str| {
            vars([
                ("registry_host", expected.clone()),
                ("endpoint", endpoint.to_string()),
            ])
        };
        let mut findings = Vec::new();
        let fix = format!("set MCP_REGISTRY_ENDPOINT={expected}");

        let (Some(endpoint), Some(given)) = (
            cfg.value("registry_endpoint"),
            shown(cfg, "registry_endpoint"),
        ) else {
            let why = if cfg.value("registry_mode").unwrap_or("auto") == "auto" {
                "setup's auto registry mode refuses a TLS install without it, and "
            } else {
                ""
            };
            let mut f = Finding::fail(
                format!(
                    "MCP_REGISTRY_ENDPOINT is not set: {why}kubelet would pull platform images from {SERVICE_DNS}, which the \
                     {expected} certificate does not cover and nodes do not resolve; {fix}"
                ),
                "rem.registry-endpoint",
                rem(&format!("not set (kubelet pulls from {SERVICE_DNS})")),
            );
            if cfg.flag("test_mode") {
                f.status = Status::Warn;
            }
            findings.push(f);
            return verdict(findings, "").detail("expected", &expected);
        };

        let addr = RegistryAddress::parse(endpoint);
        if addr.scheme.is_some() {
            findings.push(Finding::fail(
                format!(
                    "{given} has a scheme: image references are host[:port]/path without one; {fix}"
                ),
                "rem.registry-endpoint",
                rem(endpoint),
            ));
        } else if addr.is_ip_literal() {
            findings.push(Finding::fail(
                format!(
                    "{given} is an IP address: kubelet pulls fail with \"x509: cannot validate certificate for {} because it \
                     doesn't contain any IP SANs\"; {fix}",
                    addr.host
                ),
                "rem.registry-endpoint",
                rem(endpoint),
            ));
        } else if addr.host == expected {
            if let Some(port) = addr.port.filter(|p| *p != 443) {
                findings.push(Finding::warn(
                    format!("{given} uses port {port}, but the public ingress serves {expected} on 443; {fix}"),
                    "rem.registry-endpoint",
                    rem(endpoint),
                ));
            }
        } else if let Some(reason) = dev_reason(endpoint) {
            findings.push(Finding::fail(
                format!(
                    "{given} is dev-only ({reason}): nodes do not resolve it through host DNS and the {expected} certificate \
                     does not cover it; {fix}"
                ),
                "rem.registry-endpoint",
                rem(endpoint),
            ));
        } else {
            findings.push(Finding::warn(
                format!(
                    "{given} differs from the public registry host {expected}: kubelet will pull from {}, so it must resolve \
                     from every node and serve a certificate the nodes trust; on the public TLS path {fix}",
                    addr.host_port()
                ),
                "rem.registry-endpoint",
                rem(endpoint),
            ));
        }
        verdict(
            findings,
            format!("{given} matches the public registry host {expected}"),
        )
        .detail("endpoint", endpoint)
        .detail("expected", &expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Case, expect};

    fn public_tls() -> Case {
        Case::new()
            .flag("with_tls", "true")
            .flag("registry_mode", "bundled-https")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
    }

    #[tokio::test]
    async fn public_host_passes() {
        let o = public_tls()
            .env("MCP_REGISTRY_ENDPOINT", "registry.example.com")
            .run(&RegistryEndpoint)
            .await;
        expect(
            &o,
            Status::Pass,
            &["matches the public registry host registry.example.com"],
        );
    }

    #[tokio::test]
    async fn cluster_ip_fails_with_the_ip_san_symptom() {
        let o = public_tls()
            .env("MCP_REGISTRY_ENDPOINT", "10.43.12.7:5000")
            .run(&RegistryEndpoint)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "MCP_REGISTRY_ENDPOINT=10.43.12.7:5000 is an IP address",
                "doesn't contain any IP SANs",
                "set MCP_REGISTRY_ENDPOINT=registry.example.com",
            ],
        );
        assert_eq!(rem, "rem.registry-endpoint");
    }

    #[tokio::test]
    async fn unset_in_auto_mode_fails() {
        let o = Case::new()
            .flag("with_tls", "true")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .run(&RegistryEndpoint)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "MCP_REGISTRY_ENDPOINT is not set",
                "auto registry mode",
                "set MCP_REGISTRY_ENDPOINT=registry.example.com",
            ],
        );
    }

    #[tokio::test]
    async fn dev_and_other_hosts() {
        let o = public_tls()
            .env("MCP_REGISTRY_ENDPOINT", "registry.local")
            .run(&RegistryEndpoint)
            .await;
        expect(&o, Status::Fail, &["is dev-only (it is a .local name)"]);
        let o = public_tls()
            .env("MCP_REGISTRY_ENDPOINT", "harbor.corp.example.net:8443")
            .run(&RegistryEndpoint)
            .await;
        expect(
            &o,
            Status::Warn,
            &["differs from the public registry host registry.example.com"],
        );
    }

    #[tokio::test]
    async fn not_applicable_off_the_public_tls_path() {
        let o = Case::new()
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .run(&RegistryEndpoint)
            .await;
        expect(&o, Status::Skip, &["TLS is not requested"]);
        let o = Case::new()
            .flag("with_tls", "true")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .flag("registry_mode", "external")
            .run(&RegistryEndpoint)
            .await;
        expect(&o, Status::Skip, &["registry mode external"]);
    }
}
