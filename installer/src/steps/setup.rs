//! ### What it does
//! `setup` (optional `binary`, default `./bin/mcp-runtime`; optional `extra_args`, `env`, `timeout`): runs
//! `mcp-runtime setup` with the flags built from the resolved configuration, the same flags and env file
//! `mcp-doctor preflight` judges: `--kubeconfig`, `--platform-mode`, `--registry-mode`, `--storage-mode`,
//! `--ingress`, `--with-tls`, `--acme-email`, `--tls-cluster-issuer`, `--skip-cert-manager-install`,
//! `--external-registry-url`, `--external-registry-username`, `--strict-prod`, `--test-mode`,
//! `--acme-staging`, `--provided-tls-secrets`.
//!
//! ### Requires / verifies
//! Requires the whole preflight: every check `mcp-doctor preflight` runs, with the same configuration, must
//! not fail or error. Verifies nothing by default (add `wait-for platform.operator ...` after it).
//!
//! ### What it changes
//! `run ./bin/mcp-runtime setup --kubeconfig ... --platform-mode public ...`: what setup installs. Its output
//! is streamed and its exit code checked, as the `run` step does.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::run_command::{run_argv, run_change, shell_words};
use crate::step::{Change, Env, Step, StepPlan};

/// setup's flags that take a value, by setting key.
const VALUE_FLAGS: [(&str, &str); 8] = [
    ("platform_mode", "--platform-mode"),
    ("registry_mode", "--registry-mode"),
    ("storage_mode", "--storage-mode"),
    ("ingress", "--ingress"),
    ("acme_email", "--acme-email"),
    ("tls_cluster_issuer", "--tls-cluster-issuer"),
    ("external_registry_url", "--external-registry-url"),
    ("external_registry_username", "--external-registry-username"),
];

/// setup's switches, by setting key.
const SWITCHES: [(&str, &str); 6] = [
    ("with_tls", "--with-tls"),
    ("strict_prod", "--strict-prod"),
    ("skip_cert_manager_install", "--skip-cert-manager-install"),
    ("test_mode", "--test-mode"),
    ("acme_staging", "--acme-staging"),
    ("provided_tls_secrets", "--provided-tls-secrets"),
];

pub struct Setup {
    pub binary: String,
    pub extra_args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
    /// Every preflight check id (the registry's setup-mode checks), given when the plan is read.
    pub preflight: Vec<String>,
}

impl Setup {
    pub fn argv(&self, env: &Env) -> Vec<String> {
        let mut argv = vec![self.binary.clone(), "setup".into()];
        if let Some(k) = &env.kubeconfig {
            argv.push("--kubeconfig".into());
            argv.push(k.display().to_string());
        }
        for (key, flag) in VALUE_FLAGS {
            if let Some(v) = env.config.value(key) {
                argv.push(flag.into());
                argv.push(v.into());
            }
        }
        for (key, flag) in SWITCHES {
            if env.config.flag(key) {
                argv.push(flag.into());
            }
        }
        argv.extend(self.extra_args.iter().cloned());
        argv
    }
}

#[async_trait]
impl Step for Setup {
    fn kind(&self) -> &'static str {
        "setup"
    }

    fn describe(&self) -> String {
        format!(
            "{} setup with the flags of the resolved configuration, once the whole preflight passes",
            self.binary
        )
    }

    fn requires(&self) -> Vec<String> {
        self.preflight.clone()
    }

    fn verifies(&self) -> Vec<String> {
        Vec::new()
    }

    async fn plan(&self, env: &Env) -> Result<StepPlan, String> {
        Ok(StepPlan {
            changes: vec![run_change(&self.argv(env), &self.env)],
            notes: Vec::new(),
        })
    }

    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String> {
        let argv = self.argv(env);
        run_argv(&argv, &self.env, self.timeout)
            .await
            .map_err(|e| format!("setup failed: {e} ({})", shell_words(&argv)))?;
        Ok(vec![run_change(&argv, &self.env)])
    }
}
