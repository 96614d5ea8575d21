use async_trait::async_trait;

use super::{Finding, misread_bool, setting_name, shown, vars, verdict};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The TLS flags of the setup run agree with each other, as setup's own flag validation requires:
    ///
    /// - `--acme-email` (Let's Encrypt HTTP-01) and `--tls-cluster-issuer` (your own ClusterIssuer) are
    ///   mutually exclusive, and `--provided-tls-secrets` combines with neither.
    /// - `--acme-email`, `--tls-cluster-issuer`, `--acme-staging`, `--provided-tls-secrets`,
    ///   `--skip-cert-manager-install` and `--registry-mode bundled-https` all need `--with-tls`.
    /// - Boolean settings (`MCP_SETUP_WITH_TLS` ...) hold `1` or `true`: setup reads anything else, such as
    ///   `yes`, as false (warning).
    ///
    /// Each flag's env fallback counts the same as the flag (`MCP_ACME_EMAIL`, `MCP_SETUP_TLS_CLUSTER_ISSUER`
    /// / `MCP_TLS_CLUSTER_ISSUER`, `MCP_SETUP_SKIP_CERT_MANAGER_INSTALL`, `MCP_SETUP_REGISTRY_MODE` ...).
    ///
    /// ### Why it matters
    /// Setup refuses these combinations, so the run stops before doing anything. The env fallbacks make
    /// it easy to inherit, say, `MCP_ACME_EMAIL` from a deployment env file while passing
    /// `--tls-cluster-issuer` on the command line, or to set `MCP_SETUP_WITH_TLS=yes` and get a plain HTTP
    /// install.
    ///
    /// ### What a failure looks like
    /// `--acme-email ops@example.com and MCP_TLS_CLUSTER_ISSUER=corp-ca are mutually exclusive: keep
    /// --acme-email for Let's Encrypt HTTP-01 or --tls-cluster-issuer for your own ClusterIssuer, and unset
    /// the other`
    ///
    /// `--registry-mode bundled-https needs --with-tls; add --with-tls (or MCP_SETUP_WITH_TLS=true)`
    ///
    /// ### How to fix
    /// Pick one certificate source and pass `--with-tls` with it (remediation `rem.tls-flags`):
    ///
    /// ```sh
    /// mcp-runtime setup --with-tls --acme-email ops@example.com ...                           # public Let's Encrypt
    /// mcp-runtime setup --with-tls --tls-cluster-issuer corp-ca --skip-cert-manager-install ...  # enterprise PKI
    /// ```
    ///
    /// and `unset` the env fallback of the flag you dropped (`MCP_ACME_EMAIL`, `MCP_TLS_CLUSTER_ISSUER`).
    pub struct TlsFlags {
        id: "config.tls-flags",
        title: "TLS flags are consistent and come with --with-tls",
        category: "config",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

/// Boolean settings setup reads as true only for `1`/`true`.
const BOOLS: [&str; 4] = [
    "with_tls",
    "skip_cert_manager_install",
    "acme_staging",
    "provided_tls_secrets",
];

#[async_trait]
impl Check for TlsFlags {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let mut findings = Vec::new();
        let acme = shown(cfg, "acme_email");
        let issuer = shown(cfg, "tls_cluster_issuer");
        let provided = cfg
            .flag("provided_tls_secrets")
            .then(|| shown(cfg, "provided_tls_secrets"))
            .flatten();

        if let (Some(a), Some(i)) = (&acme, &issuer) {
            findings.push(Finding::fail(
                format!(
                    "{a} and {i} are mutually exclusive: keep --acme-email for Let's Encrypt HTTP-01 or \
                     --tls-cluster-issuer for your own ClusterIssuer, and unset the other"
                ),
                "rem.tls-flags",
                vars([("flag", "--tls-cluster-issuer".into())]),
            ));
        }
        if let Some(p) = &provided {
            for other in [&acme, &issuer].into_iter().flatten() {
                findings.push(Finding::fail(
                    format!("{p} cannot be combined with {other}: pre-created TLS Secrets replace cert-manager issuance; drop one of them"),
                    "rem.tls-flags",
                    vars([("flag", "--provided-tls-secrets".into())]),
                ));
            }
        }

        let mut needs_tls: Vec<String> = [acme.clone(), issuer.clone(), provided.clone()]
            .into_iter()
            .flatten()
            .collect();
        for key in ["acme_staging", "skip_cert_manager_install"] {
            if cfg.flag(key) {
                needs_tls.extend(shown(cfg, key));
            }
        }
        if cfg.value("registry_mode") == Some("bundled-https") {
            needs_tls.extend(shown(cfg, "registry_mode"));
        }
        if !cfg.flag("with_tls") && !needs_tls.is_empty() {
            let verb = if needs_tls.len() == 1 {
                "needs"
            } else {
                "need"
            };
            findings.push(Finding::fail(
                format!(
                    "{} {verb} --with-tls; add --with-tls (or MCP_SETUP_WITH_TLS=true)",
                    needs_tls.join(", ")
                ),
                "rem.tls-flags",
                vars([("flag", "--with-tls".into())]),
            ));
        }
        for key in BOOLS {
            if let Some(given) = misread_bool(cfg, key) {
                findings.push(Finding::warn(
                    format!(
                        "{given} is read as false: setup accepts only 1 or true for {}; set it to true or 1",
                        setting_name(key)
                    ),
                    "rem.tls-flags",
                    vars([("flag", setting_name(key).into())]),
                ));
            }
        }

        let pass = if cfg.flag("with_tls") {
            let source = match (&acme, &issuer, &provided) {
                (Some(a), _, _) => format!("Let's Encrypt HTTP-01 ({a})"),
                (_, Some(i), _) => format!("ClusterIssuer ({i})"),
                (_, _, Some(p)) => format!("pre-created TLS Secrets ({p})"),
                _ => "setup's default issuer".into(),
            };
            format!("TLS flags are consistent: --with-tls with {source}")
        } else {
            "TLS is not requested and no TLS flag needs --with-tls".into()
        };
        verdict(findings, pass)
            .detail("with_tls", cfg.flag("with_tls"))
            .detail("needs_with_tls", needs_tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect};

    #[tokio::test]
    async fn acme_with_tls_passes() {
        let o = Case::new()
            .flag("with_tls", "true")
            .flag("acme_email", "ops@example.com")
            .run(&TlsFlags)
            .await;
        expect(
            &o,
            Status::Pass,
            &["--with-tls with Let's Encrypt HTTP-01 (--acme-email ops@example.com)"],
        );
        let o = Case::new().run(&TlsFlags).await;
        expect(&o, Status::Pass, &["TLS is not requested"]);
    }

    #[tokio::test]
    async fn acme_and_issuer_from_env_are_exclusive() {
        let o = Case::new()
            .flag("with_tls", "true")
            .flag("acme_email", "ops@example.com")
            .env("MCP_TLS_CLUSTER_ISSUER", "corp-ca")
            .run(&TlsFlags)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "--acme-email ops@example.com and MCP_TLS_CLUSTER_ISSUER=corp-ca are mutually exclusive",
                "unset the other",
            ],
        );
        assert_eq!(rem, "rem.tls-flags");
    }

    #[tokio::test]
    async fn tls_dependent_flags_need_with_tls() {
        let o = Case::new()
            .flag("registry_mode", "bundled-https")
            .flag("skip_cert_manager_install", "true")
            .run(&TlsFlags)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "--skip-cert-manager-install, --registry-mode bundled-https need --with-tls",
                "add --with-tls",
            ],
        );
    }

    #[tokio::test]
    async fn yes_is_false_for_setup() {
        let o = Case::new()
            .env("MCP_SETUP_WITH_TLS", "yes")
            .env("MCP_ACME_EMAIL", "ops@example.com")
            .run(&TlsFlags)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "MCP_ACME_EMAIL=ops@example.com needs --with-tls",
                "and 1 more",
            ],
        );
        let problems = o.details["problems"].to_string();
        assert!(
            problems.contains("MCP_SETUP_WITH_TLS=yes is read as false"),
            "{problems}"
        );
    }
}
