use async_trait::async_trait;
use serde_json::Value;

use super::registry_url::{RegistryAddress, dev_reason};
use super::{Finding, shown, vars, verdict};
use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// When the run uses an external registry (`--registry-mode external`, or any of
    /// `--external-registry-url/-username/-password` / `PROVISIONED_REGISTRY_URL/_USERNAME/_PASSWORD` is set):
    ///
    /// - the external settings are not combined with `--registry-mode bundled-http` or `bundled-https`;
    /// - a registry URL is given;
    /// - username and password are given together, or neither;
    /// - the URL is not dev-only (`http://`, `localhost`, `*.local`, an IP literal): a warning, since setup
    ///   only warns unless `--strict-prod`;
    /// - when `MCP_PLATFORM_IMAGE_PULL_SECRET` is set, that Secret already exists in `mcp-runtime` (for the
    ///   operator) and in `mcp-sentinel` (for Sentinel workloads), and is a docker-registry Secret. This reads
    ///   the cluster; a Secret that cannot be read (403, timeout) is an error, never a pass.
    ///
    /// Runs with the bundled registry and no external settings are not applicable.
    ///
    /// ### Why it matters
    /// Setup stops with `external registry url is required` or on the bundled/external conflict; a missing
    /// password makes the pushes fail after the build; and a pull secret that exists in only one of the two
    /// namespaces leaves either the operator or every Sentinel pod in `ImagePullBackOff` with a 401.
    ///
    /// ### What a failure looks like
    /// `Secret mcp-sentinel/ghcr-pull (MCP_PLATFORM_IMAGE_PULL_SECRET=ghcr-pull) does not exist: Sentinel pods
    /// would pull unauthenticated; create it in mcp-sentinel before setup`
    ///
    /// `PROVISIONED_REGISTRY_USERNAME=ci is set but no password: set --external-registry-password (or
    /// PROVISIONED_REGISTRY_PASSWORD) too, or drop the username for an anonymous registry`
    ///
    /// ### How to fix
    /// Give the registry URL and both credentials, or pre-create the pull Secret in both namespaces
    /// (remediations `rem.external-registry`, `rem.platform-pull-secret`):
    ///
    /// ```sh
    /// for ns in mcp-runtime mcp-sentinel; do
    ///   kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
    ///   kubectl -n "$ns" create secret docker-registry ghcr-pull --docker-server=ghcr.io \
    ///     --docker-username=<user> --docker-password=<token>
    /// done
    /// ```
    pub struct ExternalRegistry {
        id: "config.external-registry",
        title: "The external registry settings are complete and its pull Secret exists",
        category: "config",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::SECRETS],
    }
}

/// Where the platform pull Secret must exist: the operator's and Sentinel's namespaces.
const PULL_SECRET_NAMESPACES: [&str; 2] = ["mcp-runtime", "mcp-sentinel"];
const EXTERNAL_KEYS: [&str; 3] = [
    "external_registry_url",
    "external_registry_username",
    "external_registry_password",
];

#[async_trait]
impl Check for ExternalRegistry {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        let cfg = &ctx.config;
        let mode = cfg.value("registry_mode").unwrap_or("auto");
        let any_external = EXTERNAL_KEYS.iter().any(|k| cfg.value(k).is_some());
        (mode != "external" && !any_external)
            .then(|| format!("registry mode {mode} without external registry settings: no external registry is used"))
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let mode = cfg.value("registry_mode").unwrap_or("auto");
        let given: Vec<String> = EXTERNAL_KEYS.iter().filter_map(|k| shown(cfg, k)).collect();
        let url = cfg.value("external_registry_url");
        let registry_host = url
            .map(|u| RegistryAddress::parse(u).host_port())
            .unwrap_or_else(|| "registry.example.com".into());
        let rem = vars([
            (
                "registry_url",
                url.unwrap_or("registry.example.com/mcp-runtime")
                    .to_string(),
            ),
            ("registry_host", registry_host.clone()),
        ]);
        let mut findings = Vec::new();

        if mode.starts_with("bundled") {
            let mode_shown = shown(cfg, "registry_mode").unwrap_or_else(|| mode.into());
            findings.push(Finding::fail(
                format!(
                    "{} cannot be combined with {mode_shown}: use --registry-mode external, or unset the external registry settings \
                     to keep the bundled registry",
                    given.join(", ")
                ),
                "rem.external-registry",
                rem,
            ));
            return verdict(findings, "").detail("registry_mode", mode);
        }
        match url {
            None => findings.push(Finding::fail(
                format!(
                    "external registry url is required: {} has no --external-registry-url; set --external-registry-url \
                     registry.example.com/mcp-runtime (or PROVISIONED_REGISTRY_URL)",
                    if given.is_empty() { format!("--registry-mode {mode}") } else { given.join(", ") }
                ),
                "rem.external-registry",
                rem.clone(),
            )),
            Some(u) => {
                if let Some(reason) = dev_reason(u) {
                    findings.push(Finding::warn(
                        format!(
                            "{} is dev-only ({reason}): nodes need insecure or hosts-file workarounds to pull from it, and \
                             --strict-prod rejects it; use the registry's HTTPS DNS name",
                            shown(cfg, "external_registry_url").unwrap_or_default()
                        ),
                        "rem.external-registry",
                        rem.clone(),
                    ));
                }
            }
        }
        match (shown(cfg, "external_registry_username"), shown(cfg, "external_registry_password")) {
            (Some(user), None) => findings.push(Finding::fail(
                format!(
                    "{user} is set but no password: set --external-registry-password (or PROVISIONED_REGISTRY_PASSWORD) too, \
                     or drop the username for an anonymous registry"
                ),
                "rem.external-registry",
                rem.clone(),
            )),
            (None, Some(password)) => findings.push(Finding::fail(
                format!(
                    "{password} is set but no username: set --external-registry-username (or PROVISIONED_REGISTRY_USERNAME) \
                     too, or drop the password"
                ),
                "rem.external-registry",
                rem.clone(),
            )),
            _ => {}
        }

        let mut unread = None;
        let mut found = Vec::new();
        if let (Some(name), Some(secret_shown)) = (
            cfg.value("platform_image_pull_secret"),
            shown(cfg, "platform_image_pull_secret"),
        ) {
            for ns in PULL_SECRET_NAMESPACES {
                let who = if ns == "mcp-runtime" {
                    "the operator"
                } else {
                    "Sentinel pods"
                };
                let secret_vars = vars([
                    ("secret", name.to_string()),
                    ("namespace", ns.to_string()),
                    ("registry_host", registry_host.clone()),
                ]);
                match ctx.evidence.kube.get(&kinds::SECRETS, Some(ns), name).await {
                    Ok(None) => findings.push(Finding::fail(
                        format!(
                            "Secret {ns}/{name} ({secret_shown}) does not exist: {who} would pull unauthenticated; create it in \
                             {ns} before setup"
                        ),
                        "rem.platform-pull-secret",
                        secret_vars,
                    )),
                    Ok(Some(secret)) => {
                        let type_ = secret.get("type").and_then(Value::as_str).unwrap_or("Opaque").to_string();
                        if !matches!(type_.as_str(), "kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg") {
                            findings.push(Finding::warn(
                                format!(
                                    "Secret {ns}/{name} ({secret_shown}) has type {type_}: kubelet only uses \
                                     kubernetes.io/dockerconfigjson pull secrets; recreate it with kubectl create secret docker-registry"
                                ),
                                "rem.platform-pull-secret",
                                secret_vars,
                            ));
                        }
                        found.push(format!("{ns}/{name}"));
                    }
                    Err(e) => {
                        unread.get_or_insert((format!("Secret {ns}/{name} ({secret_shown})"), e));
                    }
                }
            }
        }

        let has_fail = findings.iter().any(|f| f.status == Status::Fail);
        if let (false, Some((what, err))) = (has_fail, &unread) {
            let problems: Vec<_> = findings.iter().map(|f| f.message.clone()).collect();
            return unreadable(what, err)
                .detail("problems", problems)
                .detail("pull_secrets_found", found);
        }
        let pass = format!(
            "external registry {} configured{}{}",
            url.unwrap_or(""),
            if cfg.value("external_registry_username").is_some() {
                " with credentials"
            } else {
                " without credentials"
            },
            if found.is_empty() {
                String::new()
            } else {
                format!("; pull Secret present in {}", found.join(", "))
            }
        );
        let mut outcome = verdict(findings, pass).detail("pull_secrets_found", found);
        if let Some((what, err)) = unread {
            outcome = outcome.detail("unreadable", format!("{what}: {err}"));
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Scope;
    use crate::test_support::{Case, expect, forbidden, secret};

    fn external() -> Case {
        Case::new()
            .flag("registry_mode", "external")
            .flag("external_registry_url", "ghcr.io/acme")
            .env("MCP_PLATFORM_IMAGE_PULL_SECRET", "ghcr-pull")
    }

    fn both_secrets() -> Vec<Value> {
        vec![
            secret("mcp-runtime", "ghcr-pull", "kubernetes.io/dockerconfigjson"),
            secret(
                "mcp-sentinel",
                "ghcr-pull",
                "kubernetes.io/dockerconfigjson",
            ),
        ]
    }

    #[tokio::test]
    async fn complete_config_with_both_secrets_passes() {
        let o = external()
            .objects(&kinds::SECRETS, Scope::AllNamespaces, both_secrets())
            .run(&ExternalRegistry)
            .await;
        expect(
            &o,
            Status::Pass,
            &[
                "external registry ghcr.io/acme",
                "mcp-runtime/ghcr-pull, mcp-sentinel/ghcr-pull",
            ],
        );
    }

    #[tokio::test]
    async fn missing_secret_names_the_namespace() {
        let o = external()
            .objects(
                &kinds::SECRETS,
                Scope::AllNamespaces,
                vec![both_secrets().remove(0)],
            )
            .run(&ExternalRegistry)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Secret mcp-sentinel/ghcr-pull (MCP_PLATFORM_IMAGE_PULL_SECRET=ghcr-pull) does not exist",
                "create it in mcp-sentinel",
            ],
        );
        assert_eq!(rem, "rem.platform-pull-secret");
    }

    #[tokio::test]
    async fn forbidden_secrets_never_pass() {
        let o = external()
            .list_error(
                &kinds::SECRETS,
                Scope::AllNamespaces,
                forbidden(&kinds::SECRETS, &Scope::AllNamespaces),
            )
            .run(&ExternalRegistry)
            .await;
        assert_eq!(o.status, Status::Error, "{o:#?}");
        assert!(
            o.message.contains("permission denied") && o.message.contains("mcp-runtime/ghcr-pull"),
            "{}",
            o.message
        );
        // Not collected at all is a skip, still not a pass.
        let o = external().run(&ExternalRegistry).await;
        assert_eq!(o.status, Status::Skip, "{o:#?}");
        // A configuration failure is still reported when the Secrets cannot be read.
        let o = external()
            .flag("external_registry_username", "ci")
            .list_error(
                &kinds::SECRETS,
                Scope::AllNamespaces,
                forbidden(&kinds::SECRETS, &Scope::AllNamespaces),
            )
            .run(&ExternalRegistry)
            .await;
        expect(
            &o,
            Status::Fail,
            &["--external-registry-username ci is set but no password"],
        );
        assert!(
            o.details["unreadable"]
                .as_str()
                .unwrap()
                .contains("forbidden")
        );
    }

    #[tokio::test]
    async fn config_mistakes_fail() {
        let o = Case::new()
            .flag("registry_mode", "external")
            .run(&ExternalRegistry)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "external registry url is required",
                "--external-registry-url",
            ],
        );
        assert_eq!(rem, "rem.external-registry");
        let o = Case::new()
            .flag("registry_mode", "bundled-https")
            .env("PROVISIONED_REGISTRY_URL", "registry.example.com")
            .run(&ExternalRegistry)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "PROVISIONED_REGISTRY_URL=registry.example.com cannot be combined with --registry-mode bundled-https",
            ],
        );
        let o = Case::new()
            .env("PROVISIONED_REGISTRY_URL", "registry.local:5000")
            .run(&ExternalRegistry)
            .await;
        expect(&o, Status::Warn, &["is dev-only (it is a .local name)"]);
        let o = Case::new().run(&ExternalRegistry).await;
        expect(&o, Status::Skip, &["no external registry is used"]);
    }
}
