use async_trait::async_trait;

use super::{Ownership, SecretCert, judge_platform_secret, tls_not_requested};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The Secret `mcp-sentinel/mcp-sentinel-platform-tls` (`mcp-platform/...` in the split layout) exists and its certificate (`tls.crt` only)
    /// covers the platform host (`platform.<domain>` or `MCP_PLATFORM_INGRESS_HOST`), is valid now (under 14
    /// days left warns, expired fails, with the days shown) and not from a Let's Encrypt staging CA. The
    /// Secret is owned by the `mcp-sentinel-platform-ui` Ingress, whose ingress-shim Certificate writes it;
    /// exactly one Certificate may claim it. `registry-cert` is not expected to cover the platform host.
    ///
    /// ### Why it matters
    /// The dashboard, the API and Grafana are all served on the platform host: an expired or wrong
    /// certificate there locks every browser and API client out.
    ///
    /// ### What a failure looks like
    /// `the certificate in Secret mcp-sentinel/mcp-sentinel-platform-tls (covers DNS:platform.example.com)
    /// expired 12 days ago (notAfter 2026-11-19T10:00:00Z)`
    ///
    /// ### How to fix
    /// Find out why cert-manager did not renew (`certmanager.certificates` names the failing Challenge or
    /// Order), fix that, then have cert-manager reissue: `cmctl renew -n mcp-sentinel
    /// mcp-sentinel-platform-tls`, or delete the Secret so it is issued again.
    pub struct PlatformCert {
        id: "tls.platform-cert",
        title: "mcp-sentinel-platform-tls covers the platform host",
        category: "tls",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::SECRETS, kinds::CERTIFICATES, kinds::CUSTOM_RESOURCE_DEFINITIONS],
    }
}

#[async_trait]
impl Check for PlatformCert {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        tls_not_requested(ctx).or_else(|| {
            ctx.config.public_hosts().platform.is_none().then(|| {
                "no platform host is configured (MCP_PLATFORM_DOMAIN or MCP_PLATFORM_INGRESS_HOST)"
                    .into()
            })
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let host = ctx
            .config
            .public_hosts()
            .platform
            .map(|s| s.value.trim().to_ascii_lowercase())
            .unwrap_or_default();
        // The platform UI lives in the first Sentinel namespace of the layout (mcp-sentinel, or mcp-platform
        // in the split layout).
        let (layout, _) = match crate::platform::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let namespace = layout.sentinel[0].as_str();
        let spec = SecretCert {
            namespace,
            secret: "mcp-sentinel-platform-tls",
            owner: format!("Ingress {namespace}/mcp-sentinel-platform-ui"),
            should_cover: vec![host],
            names_remediation: "rem.platform-cert-names",
        };
        judge_platform_secret(
            ctx,
            &spec,
            Ownership {
                certificate: None,
                provided: ctx.config.flag("provided_tls_secrets"),
            },
        )
        .await
    }
}
