use async_trait::async_trait;

use super::{shown, vars};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The password-bootstrap admin settings `PLATFORM_ADMIN_EMAIL` and `PLATFORM_ADMIN_PASSWORD` are both
    /// set or both unset in the setup environment. (They are separate from the OIDC admin allowlist
    /// `MCP_PLATFORM_ADMIN_EMAIL` / `ADMIN_USERS`, which `config.platform-mode` checks.)
    ///
    /// ### Why it matters
    /// Setup copies both into the `mcp-sentinel-secrets` Secret. With only one of them the API crash-loops on
    /// a clean database, which looks like a database or auth bug rather than a missing variable.
    ///
    /// ### What a failure looks like
    /// `PLATFORM_ADMIN_EMAIL=root@example.com is set but PLATFORM_ADMIN_PASSWORD is not: the API would crash-loop
    /// with "failed to seed platform admin: PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD must both be set";
    /// set PLATFORM_ADMIN_PASSWORD too, or unset PLATFORM_ADMIN_EMAIL`
    ///
    /// ### How to fix
    /// Set both, or neither (remediation `rem.admin-password-pair`):
    ///
    /// ```sh
    /// export PLATFORM_ADMIN_EMAIL=root@example.com
    /// export PLATFORM_ADMIN_PASSWORD="$(openssl rand -base64 24)"
    /// ```
    ///
    /// On an existing install, compare `kubectl -n mcp-sentinel get secret mcp-sentinel-secrets -o yaml` with
    /// the `mcp-sentinel-api` Deployment env. Remove or rotate the bootstrap credentials after the first
    /// successful bring-up.
    pub struct AdminPasswordPair {
        id: "config.admin-password-pair",
        title: "PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD are set together",
        category: "config",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

/// The API's own error when only one half of the pair is present.
pub const SEED_ERROR: &str = "failed to seed platform admin: PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD must both be set";

#[async_trait]
impl Check for AdminPasswordPair {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let (set, missing, unset) = match (
            shown(cfg, "password_admin_email"),
            shown(cfg, "password_admin_password"),
        ) {
            (Some(_), Some(_)) => {
                return Outcome::pass(
                    "PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD are both set: the password admin will be seeded",
                );
            }
            (None, None) => {
                return Outcome::pass(
                    "no password-bootstrap admin (PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD are both unset)",
                );
            }
            (Some(email), None) => (email, "PLATFORM_ADMIN_PASSWORD", "PLATFORM_ADMIN_EMAIL"),
            (None, Some(password)) => (password, "PLATFORM_ADMIN_EMAIL", "PLATFORM_ADMIN_PASSWORD"),
        };
        Outcome::fail(format!(
            "{set} is set but {missing} is not: the API would crash-loop with \"{SEED_ERROR}\"; set {missing} too, or unset {unset}"
        ))
        .detail("missing", missing)
        .remediate("rem.admin-password-pair", None, &vars([("missing", missing.into())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect};

    #[tokio::test]
    async fn both_or_neither_passes() {
        let o = Case::new().run(&AdminPasswordPair).await;
        expect(&o, Status::Pass, &["both unset"]);
        let o = Case::new()
            .envs(&[
                ("PLATFORM_ADMIN_EMAIL", "root@example.com"),
                ("PLATFORM_ADMIN_PASSWORD", "s3cret"),
            ])
            .run(&AdminPasswordPair)
            .await;
        expect(&o, Status::Pass, &["both set"]);
    }

    #[tokio::test]
    async fn one_half_fails_with_the_crash_loop_error() {
        let o = Case::new()
            .env("PLATFORM_ADMIN_EMAIL", "root@example.com")
            .run(&AdminPasswordPair)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "PLATFORM_ADMIN_EMAIL=root@example.com is set but PLATFORM_ADMIN_PASSWORD is not",
                SEED_ERROR,
                "set PLATFORM_ADMIN_PASSWORD too",
            ],
        );
        assert_eq!(rem, "rem.admin-password-pair");
        let o = Case::new()
            .env("PLATFORM_ADMIN_PASSWORD", "s3cret")
            .run(&AdminPasswordPair)
            .await;
        expect(
            &o,
            Status::Fail,
            &["PLATFORM_ADMIN_PASSWORD=<set> is set but PLATFORM_ADMIN_EMAIL is not"],
        );
        assert!(!o.message.contains("s3cret"));
    }
}
