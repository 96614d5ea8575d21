use async_trait::async_trait;

use super::{Finding, shown, vars, verdict};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome, Status};
use crate::settings::ResolvedConfig;

declare_check! {
    /// ### What it checks
    /// The platform mode (`--platform-mode`, `MCP_SETUP_PLATFORM_MODE`, `MCP_PLATFORM_MODE`; default
    /// `tenant`) is one of `tenant`, `org`, `public`, and the identity settings that mode needs are present:
    ///
    /// - `public` needs browser login: `GOOGLE_CLIENT_ID` / `MCP_GOOGLE_CLIENT_ID`, or all three of
    ///   `OIDC_ISSUER`, `OIDC_AUDIENCE` and `OIDC_JWKS_URL`.
    /// - `public` mode, and any install with `--with-tls` or public host names (`MCP_PLATFORM_DOMAIN`,
    ///   `MCP_*_INGRESS_HOST`), needs an OIDC admin allowlist: `MCP_PLATFORM_ADMIN_EMAIL`, or `ADMIN_USERS` /
    ///   `MCP_ADMIN_USERS`. `--acme-email` is not an admin: it is only the certificate contact.
    ///
    /// Under `--test-mode` setup does not enforce these, so they are reported as warnings.
    /// Only the environment is judged: on a rerun setup may also fall back to login settings already in
    /// the platform ConfigMap of a previous install.
    ///
    /// ### Why it matters
    /// Setup rejects a public or TLS install without an admin identity, and a public install without a
    /// login provider, but only after the operator has typed the whole command. A public catalog without
    /// browser login cannot be published to, and an install without an allowlist has no way to promote anyone
    /// to platform admin: the API checks the allowlist on Google/OIDC login. The usual mistake is to believe
    /// `--acme-email ops@example.com` made that address an admin.
    ///
    /// ### What a failure looks like
    /// `public mode needs an admin allowlist: neither MCP_PLATFORM_ADMIN_EMAIL nor ADMIN_USERS is set
    /// (--acme-email ops@example.com is only the certificate contact); set MCP_PLATFORM_ADMIN_EMAIL=admin@example.com`
    ///
    /// `public mode needs browser login: neither GOOGLE_CLIENT_ID nor OIDC_ISSUER, OIDC_AUDIENCE and
    /// OIDC_JWKS_URL is set; set GOOGLE_CLIENT_ID=<client-id>.apps.googleusercontent.com`
    ///
    /// ### How to fix
    /// Export the missing settings before setup (remediations `rem.public-mode-login`,
    /// `rem.admin-allowlist`, `rem.platform-mode`):
    ///
    /// ```sh
    /// export GOOGLE_CLIENT_ID=<client-id>.apps.googleusercontent.com   # or OIDC_ISSUER + OIDC_AUDIENCE + OIDC_JWKS_URL
    /// export MCP_PLATFORM_ADMIN_EMAIL=admin@example.com                # or ADMIN_USERS=a@example.com,b@example.com
    /// ```
    ///
    /// Use `--platform-mode tenant` for private team-isolated installs or `org` for a shared internal catalog.
    pub struct PlatformMode {
        id: "config.platform-mode",
        title: "The platform mode has the login and admin settings it needs",
        category: "config",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

const MODES: [&str; 3] = ["tenant", "org", "public"];
const OIDC: [(&str, &str); 3] = [
    ("oidc_issuer", "OIDC_ISSUER"),
    ("oidc_audience", "OIDC_AUDIENCE"),
    ("oidc_jwks_url", "OIDC_JWKS_URL"),
];

#[async_trait]
impl Check for PlatformMode {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let mode = cfg.value("platform_mode").unwrap_or("tenant");
        let mode_shown =
            shown(cfg, "platform_mode").unwrap_or_else(|| format!("--platform-mode {mode}"));
        if !MODES.contains(&mode) {
            let suggestion =
                Some(mode.to_ascii_lowercase()).filter(|m| MODES.contains(&m.as_str()));
            let fix = suggestion.clone().unwrap_or_else(|| "tenant".into());
            return Outcome::fail(format!(
                "{mode_shown} is not a platform mode: setup accepts only tenant, org or public; use --platform-mode {fix}"
            ))
            .detail("platform_mode", mode)
            .remediate("rem.platform-mode", None, &vars([("mode", fix)]));
        }

        let test_mode = cfg.flag("test_mode");
        let mut findings = Vec::new();
        let login = login_provider(cfg);
        if mode == "public"
            && let Err(missing) = &login
        {
            findings.push(Finding::fail(
                format!("public mode needs browser login: {missing}; set GOOGLE_CLIENT_ID=<client-id>.apps.googleusercontent.com"),
                "rem.public-mode-login",
                vars([("admin_email", admin_example(cfg))]),
            ));
        }
        let admins: Vec<String> = ["platform_admin_email", "admin_users"]
            .iter()
            .filter_map(|k| shown(cfg, k))
            .collect();
        if let (true, Some(why)) = (admins.is_empty(), allowlist_required(cfg, mode)) {
            let admin = admin_example(cfg);
            let rem_vars = vars([("admin_email", admin.clone())]);
            match shown(cfg, "password_admin_email") {
                Some(password_admin) => findings.push(Finding::warn(
                    format!(
                        "{why} has no OIDC admin allowlist: only the password-bootstrap admin {password_admin} is set, \
                         so nobody who logs in with Google/OIDC becomes platform admin; set MCP_PLATFORM_ADMIN_EMAIL={admin}"
                    ),
                    "rem.admin-allowlist",
                    rem_vars,
                )),
                None => {
                    let acme = shown(cfg, "acme_email")
                        .map(|a| format!(" ({a} is only the certificate contact)"))
                        .unwrap_or_default();
                    findings.push(Finding::fail(
                        format!(
                            "{why} needs an admin allowlist: neither MCP_PLATFORM_ADMIN_EMAIL nor ADMIN_USERS is set{acme}; \
                             set MCP_PLATFORM_ADMIN_EMAIL={admin}"
                        ),
                        "rem.admin-allowlist",
                        rem_vars,
                    ));
                }
            }
        }
        if test_mode {
            for f in &mut findings {
                f.status = Status::Warn;
                f.message
                    .push_str(" (--test-mode: setup does not enforce this)");
            }
        }

        let login_text = match &login {
            Ok(p) => format!("browser login via {p}"),
            Err(_) => "no browser login".into(),
        };
        let admin_text = if admins.is_empty() {
            "no admin allowlist".into()
        } else {
            format!("admins from {}", admins.join(", "))
        };
        let pass = format!("platform mode {mode} ({mode_shown}): {login_text}, {admin_text}");
        verdict(findings, pass)
            .detail("platform_mode", mode)
            .detail("platform_mode_source", mode_shown)
            .detail("login", login.as_ref().ok())
            .detail("admin_allowlist", admins)
    }
}

/// The browser login provider configured, or what is missing.
fn login_provider(cfg: &ResolvedConfig) -> Result<String, String> {
    if let Some(google) = shown(cfg, "google_client_id") {
        return Ok(format!("Google ({google})"));
    }
    let (set, unset): (Vec<_>, Vec<_>) = OIDC.iter().partition(|(key, _)| cfg.value(key).is_some());
    let names = |v: &[&(&str, &str)]| v.iter().map(|(_, env)| *env).collect::<Vec<_>>().join(", ");
    match (set.is_empty(), unset.is_empty()) {
        (_, true) => Ok("OIDC (OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL)".into()),
        (true, _) => Err(
            "neither GOOGLE_CLIENT_ID nor OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL is set"
                .into(),
        ),
        _ => Err(format!(
            "GOOGLE_CLIENT_ID is not set and the OIDC login is incomplete ({} set, {} missing)",
            names(&set),
            names(&unset)
        )),
    }
}

/// Why setup requires an admin allowlist for this run, as the subject of a message; None when it does not.
fn allowlist_required(cfg: &ResolvedConfig, mode: &str) -> Option<String> {
    if mode == "public" {
        return Some("public mode".into());
    }
    if cfg.flag("with_tls") {
        let tls = shown(cfg, "with_tls").unwrap_or_else(|| "--with-tls".into());
        return Some(format!("a TLS install ({tls})"));
    }
    [
        "platform_domain",
        "platform_ingress_host",
        "registry_ingress_host",
        "mcp_ingress_host",
    ]
    .iter()
    .find_map(|k| shown(cfg, k))
    .map(|host| format!("an install with public hosts ({host})"))
}

fn admin_example(cfg: &ResolvedConfig) -> String {
    format!(
        "admin@{}",
        cfg.platform_domain()
            .unwrap_or_else(|| "example.com".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Case, expect};

    fn public() -> Case {
        Case::new()
            .flag("platform_mode", "public")
            .flag("with_tls", "true")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
    }

    #[tokio::test]
    async fn public_with_google_and_admin_passes() {
        let o = public()
            .env("GOOGLE_CLIENT_ID", "123.apps.googleusercontent.com")
            .env("MCP_PLATFORM_ADMIN_EMAIL", "admin@example.com")
            .run(&PlatformMode)
            .await;
        expect(
            &o,
            Status::Pass,
            &[
                "platform mode public",
                "Google",
                "MCP_PLATFORM_ADMIN_EMAIL=admin@example.com",
            ],
        );
    }

    #[tokio::test]
    async fn acme_email_is_not_an_admin() {
        let o = public()
            .flag("acme_email", "ops@example.com")
            .env("MCP_GOOGLE_CLIENT_ID", "123.apps.googleusercontent.com")
            .run(&PlatformMode)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "public mode needs an admin allowlist: neither MCP_PLATFORM_ADMIN_EMAIL nor ADMIN_USERS is set",
                "(--acme-email ops@example.com is only the certificate contact)",
                "set MCP_PLATFORM_ADMIN_EMAIL=admin@example.com",
            ],
        );
        assert_eq!(rem, "rem.admin-allowlist");
    }

    #[tokio::test]
    async fn public_without_login_fails_and_names_partial_oidc() {
        let o = public()
            .env("ADMIN_USERS", "a@example.com")
            .env("OIDC_ISSUER", "https://login.example.com")
            .run(&PlatformMode)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "public mode needs browser login",
                "OIDC_ISSUER set, OIDC_AUDIENCE, OIDC_JWKS_URL missing",
                "GOOGLE_CLIENT_ID=",
            ],
        );
        assert_eq!(rem, "rem.public-mode-login");
        let o = public()
            .envs(&[
                ("MCP_ADMIN_USERS", "a@example.com"),
                ("OIDC_ISSUER", "https://login.example.com"),
                ("OIDC_AUDIENCE", "mcp"),
                ("OIDC_JWKS_URL", "https://login.example.com/jwks"),
            ])
            .run(&PlatformMode)
            .await;
        expect(&o, Status::Pass, &["OIDC"]);
    }

    #[tokio::test]
    async fn invalid_mode_fails_with_the_fix() {
        let o = Case::new()
            .env("MCP_PLATFORM_MODE", "Public")
            .run(&PlatformMode)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "MCP_PLATFORM_MODE=Public is not a platform mode",
                "use --platform-mode public",
            ],
        );
        assert_eq!(rem, "rem.platform-mode");
    }

    #[tokio::test]
    async fn tenant_needs_an_admin_only_with_tls() {
        let o = Case::new().run(&PlatformMode).await;
        expect(&o, Status::Pass, &["platform mode tenant"]);
        let o = Case::new()
            .flag("with_tls", "true")
            .run(&PlatformMode)
            .await;
        expect(
            &o,
            Status::Fail,
            &["a TLS install (--with-tls) needs an admin allowlist"],
        );
        let o = Case::new()
            .flag("with_tls", "true")
            .flag("test_mode", "true")
            .run(&PlatformMode)
            .await;
        expect(
            &o,
            Status::Warn,
            &["--test-mode: setup does not enforce this"],
        );
    }

    #[tokio::test]
    async fn password_admin_alone_is_a_warning() {
        let o = public()
            .env("GOOGLE_CLIENT_ID", "x")
            .env("PLATFORM_ADMIN_EMAIL", "root@example.com")
            .run(&PlatformMode)
            .await;
        expect(
            &o,
            Status::Warn,
            &["only the password-bootstrap admin PLATFORM_ADMIN_EMAIL=root@example.com"],
        );
    }
}
