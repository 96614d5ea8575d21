use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use super::{INTERNAL_TLS_SECRET, NAMESPACE, mode_in_effect};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Which registry mode is in effect: `external` (`--registry-mode external`, or `auto` with an external
    /// registry URL such as `PROVISIONED_REGISTRY_URL`), or the bundled registry over HTTP (`bundled-http`)
    /// or HTTPS (`bundled-https`). Before setup the configured mode decides (`auto` without an external URL
    /// installs the bundled registry over HTTP). After install the cluster decides for the bundled registry:
    /// it serves HTTPS exactly when Secret `registry/registry-internal-tls` exists, the signal setup and
    /// `cluster doctor` use too. The other `registry.*` checks key on this mode.
    ///
    /// ### Why it matters
    /// The mode decides how nodes pull (insecure mirror for HTTP, trusted CA for HTTPS, external credentials)
    /// and which scheme `/v2/` answers on. A configuration that says `bundled-https` while the cluster has no
    /// internal certificate (or the reverse) means setup did not finish what was asked, and every node-side
    /// fix aimed at the configured mode misses.
    ///
    /// ### What a failure looks like
    /// `MCP_SETUP_REGISTRY_MODE=bundled-https asks for bundled-https, but Secret
    /// registry/registry-internal-tls does not exist, so the registry serves HTTP` (warn), or
    /// `--registry-mode bundle-https is not a registry mode` (fail).
    ///
    /// ### How to fix
    /// Rerun setup with the mode you mean (remediation `rem.registry-mode`): `--registry-mode bundled-https
    /// --with-tls` creates the internal certificate and restarts the registry on HTTPS.
    pub struct RegistryModeCheck {
        id: "registry.mode",
        title: "Registry mode in effect",
        category: "registry",
        modes: Both,
        depends_on: [],
        // The one Secret read (doctor only) is declared by the registry checks that run after this one:
        // before setup this check reads nothing, so it must not be counted among the Secret readers.
        reads: [],
    }
}

#[async_trait]
impl Check for RegistryModeCheck {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let found = match mode_in_effect(ctx).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let outcome = match &found.conflict {
            Some(conflict) => Outcome::warn(format!(
                "{conflict}: the cluster does not match the configured registry mode"
            ))
            .remediate("rem.registry-mode", ctx.distribution().await, &Vars::new())
            .subject(format!("secret/{NAMESPACE}/{INTERNAL_TLS_SECRET}")),
            None => Outcome::pass(format!(
                "registry mode {} ({})",
                found.mode.as_str(),
                found.because
            )),
        };
        outcome
            .detail("mode", found.mode)
            .detail("because", &found.because)
    }
}
