use async_trait::async_trait;

use super::{Ownership, SecretCert, judge_platform_secret, tls_not_requested};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The Secret `registry/registry-tls` exists and its certificate (`tls.crt` only) covers the public
    /// registry host and the MCP host (`registry.<domain>` and `mcp.<domain>`, or the explicit
    /// `MCP_REGISTRY_INGRESS_HOST` / `MCP_MCP_INGRESS_HOST`); it is valid now (under 14 days left warns) and
    /// not from a Let's Encrypt staging CA. It is written by the Certificate `registry/registry-cert` and by
    /// no other Certificate (unless `--provided-tls-secrets` says it was created by hand).
    ///
    /// ### Why it matters
    /// Nodes, build machines and MCP clients reach both `registry.<domain>` and `mcp.<domain>` through this
    /// one certificate. A name it lacks fails image pulls and MCP calls with `x509: certificate is valid for
    /// registry.example.com, not mcp.example.com`. A second Certificate claiming the Secret (ingress-shim,
    /// from a `cert-manager.io/cluster-issuer` annotation on the registry Ingress) makes cert-manager issue
    /// for each in turn, and setup refuses to apply TLS while it exists.
    ///
    /// ### What a failure looks like
    /// `Secret registry/registry-tls (Certificate registry/registry-cert) covers DNS:registry.example.com but
    /// not mcp.example.com; it should cover registry.example.com and mcp.example.com`
    ///
    /// ### How to fix
    /// Rerun setup with `MCP_PLATFORM_DOMAIN` (or both ingress host variables) set, so it rewrites
    /// `registry-cert` with both names, or patch `spec.dnsNames` of `registry/registry-cert`; cert-manager
    /// reissues. Delete a stale second Certificate (remediation `rem.tls-secret-double-owner`).
    pub struct RegistryCert {
        id: "tls.registry-cert",
        title: "registry-tls covers the registry and MCP hosts",
        category: "tls",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::SECRETS, kinds::CERTIFICATES, kinds::CUSTOM_RESOURCE_DEFINITIONS],
    }
}

#[async_trait]
impl Check for RegistryCert {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        tls_not_requested(ctx).or_else(|| {
            ctx.config.public_hosts().registry.is_none().then(|| {
                "no public registry host is configured (MCP_PLATFORM_DOMAIN or MCP_REGISTRY_INGRESS_HOST)"
                    .into()
            })
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = ctx.config.public_hosts();
        let should_cover: Vec<String> = [hosts.registry, hosts.mcp]
            .into_iter()
            .flatten()
            .map(|s| s.value.trim().to_ascii_lowercase())
            .collect();
        let spec = SecretCert {
            namespace: "registry",
            secret: "registry-tls",
            owner: "Certificate registry/registry-cert".into(),
            should_cover,
            names_remediation: "rem.registry-cert-names",
        };
        judge_platform_secret(
            ctx,
            &spec,
            Ownership {
                certificate: Some("registry-cert"),
                provided: ctx.config.flag("provided_tls_secrets"),
            },
        )
        .await
    }
}
